//! The wall clock the pages must show, computed independently of the daemon's code: the
//! civil date and time of a Unix instant at a UTC offset. Include with
//! `#[path = "support/wall.rs"] mod wall;`.
#![allow(dead_code)]

/// The wall time at `ms` (Unix milliseconds) shifted by `offset_min`.
pub struct Wall {
    /// 0 = Sunday.
    pub weekday: usize,
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
}

pub fn wall(ms: i64, offset_min: i64) -> Wall {
    let s = (ms + offset_min * 60_000).div_euclid(1000);
    let days = s.div_euclid(86_400);
    let secs = s.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    Wall {
        // 1970-01-01 was a Thursday.
        weekday: usize::try_from((days + 4).rem_euclid(7)).unwrap_or(0),
        year: y,
        month: m,
        day: d,
        hour: secs / 3600,
        minute: (secs / 60) % 60,
    }
}

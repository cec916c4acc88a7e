//! The print job handed to the printer adapter, and the local date/time arithmetic the
//! ticket needs (fixed UTC offset, no time-zone database).

use serde::{Deserialize, Serialize};

/// One ticket to print.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintJob {
    /// Center name, printed under the configured header lines.
    pub site_name: String,
    /// Service name (Vietnamese).
    pub service_name: String,
    /// Ticket number as shown, e.g. "A012".
    pub ticket: String,
    /// Priority ticket (elderly, disabled, pregnant).
    pub priority: bool,
    /// Issue time, Unix milliseconds.
    pub issued_at_ms: i64,
    /// Local offset from UTC in minutes (Vietnam: 420).
    pub utc_offset_minutes: i32,
    /// People waiting ahead in the same queue.
    pub waiting_ahead: u32,
    /// QR content; `None` lets the layout's template decide (or no QR code).
    pub qr: Option<String>,
    /// Unix milliseconds after which the job is dropped instead of printed late.
    pub deadline_ms: i64,
}

/// Local calendar date and time of day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl LocalTime {
    /// Local time of `unix_ms` at `offset_minutes` from UTC.
    pub fn from_unix_ms(unix_ms: i64, offset_minutes: i32) -> Self {
        let local = unix_ms.saturating_add(i64::from(offset_minutes) * 60_000);
        let days = local.div_euclid(86_400_000);
        let ms_of_day = local.rem_euclid(86_400_000);
        let (year, month, day) = civil_from_days(days);
        let secs = (ms_of_day / 1000) as u32;
        LocalTime {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
        }
    }

    /// "24/11/2026" (Vietnamese order).
    pub fn date_vn(&self) -> String {
        format!("{:02}/{:02}/{:04}", self.day, self.month, self.year)
    }

    /// "08:15".
    pub fn hm(&self) -> String {
        format!("{:02}:{:02}", self.hour, self.minute)
    }

    /// "20261124".
    pub fn ymd_compact(&self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_time() {
        // 2026-11-24T01:15:30Z is 08:15:30 in Vietnam
        let t = LocalTime::from_unix_ms(1_795_482_930_000, 420);
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second),
            (2026, 11, 24, 8, 15, 30)
        );
        assert_eq!(t.date_vn(), "24/11/2026");
        assert_eq!(t.ymd_compact(), "20261124");
        let epoch = LocalTime::from_unix_ms(0, 0);
        assert_eq!((epoch.year, epoch.month, epoch.day), (1970, 1, 1));
        let before = LocalTime::from_unix_ms(-1, 0);
        assert_eq!(
            (before.year, before.month, before.day, before.hour),
            (1969, 12, 31, 23)
        );
        let leap = LocalTime::from_unix_ms(951_782_400_000, 0);
        assert_eq!((leap.year, leap.month, leap.day), (2000, 2, 29));
    }
}

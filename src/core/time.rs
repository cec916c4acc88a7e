//! Business days and the clock rule: pure arithmetic on wall-clock milliseconds.
//!
//! Vietnam has one fixed offset (UTC+07:00, no daylight saving), so a business day is
//! computed from a configured offset and the local time at which the day starts. No
//! time-zone database, no clock reads.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

const MS_PER_MINUTE: i64 = 60_000;
const MS_PER_DAY: i64 = 86_400_000;

/// A business day, stored as days since 1970-01-01 and written as `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i32);

/// The wall clock as the shell read it: milliseconds since the Unix epoch (UTC), and
/// whether the kernel reports the clock as synchronized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    pub wall_ms: i64,
    pub clock_ok: bool,
}

/// How a site turns instants into business days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRule {
    /// Offset of local time from UTC, in minutes (+420 for Vietnam).
    pub utc_offset_minutes: i32,
    /// Local minutes after midnight at which a business day begins (0 = midnight).
    pub day_start_minutes: u32,
}

impl DayRule {
    pub const VIETNAM: DayRule = DayRule {
        utc_offset_minutes: 420,
        day_start_minutes: 0,
    };

    /// The business day an instant belongs to.
    pub fn day_of(&self, at_ms: i64) -> Day {
        let local = at_ms + i64::from(self.utc_offset_minutes) * MS_PER_MINUTE
            - i64::from(self.day_start_minutes) * MS_PER_MINUTE;
        Day(local.div_euclid(MS_PER_DAY) as i32)
    }

    /// Local wall time `(hour, minute, second)` of an instant.
    pub(crate) fn local_hms(&self, at_ms: i64) -> (u32, u32, u32) {
        let local = at_ms + i64::from(self.utc_offset_minutes) * MS_PER_MINUTE;
        let secs = local.div_euclid(1000).rem_euclid(86_400) as u32;
        (secs / 3600, (secs / 60) % 60, secs % 60)
    }

    /// Local calendar date of an instant (not shifted by the day start).
    pub(crate) fn local_date(&self, at_ms: i64) -> Day {
        let local = at_ms + i64::from(self.utc_offset_minutes) * MS_PER_MINUTE;
        Day(local.div_euclid(MS_PER_DAY) as i32)
    }
}

/// The clock rule (docs/architecture.md §5): effective time never goes backwards relative to the
/// last logged event.
pub(crate) fn effective_time(now: Now, last_at: i64) -> i64 {
    now.wall_ms.max(last_at)
}

impl Day {
    pub(crate) fn from_ymd(y: i32, m: u32, d: u32) -> Option<Day> {
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
            return None;
        }
        Some(Day(days_from_civil(y, m, d)))
    }

    pub(crate) fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.0)
    }

    #[cfg(any(test, feature = "province"))]
    pub(crate) fn next(self) -> Day {
        Day(self.0 + 1)
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

// Howard Hinnant's civil-date algorithms.
fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy as i32;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl FromStr for Day {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("'{s}' is not a date; expected YYYY-MM-DD such as 2025-07-01");
        let mut parts = s.splitn(3, '-');
        let y: i32 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let m: u32 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let d: u32 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        Day::from_ymd(y, m, d).ok_or_else(bad)
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The two numbers of `HH:MM` (exactly two characters each side of the colon), unchecked.
fn hh_mm<T: std::str::FromStr>(s: &str) -> Option<(T, T)> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    Some((h.parse().ok()?, m.parse().ok()?))
}

/// Parse a UTC offset such as `+07:00` into minutes.
pub(crate) fn parse_utc_offset(s: &str) -> Result<i32, String> {
    let bad = || format!("'{s}' is not a UTC offset; expected +HH:MM such as +07:00 (Vietnam)");
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => return Err(bad()),
    };
    let (h, m): (i32, i32) = hh_mm(rest).ok_or_else(bad)?;
    if h > 14 || m > 59 {
        return Err(bad());
    }
    Ok(sign * (h * 60 + m))
}

/// Parse a local time of day `HH:MM` into minutes after midnight.
pub(crate) fn parse_time_of_day(s: &str) -> Result<u32, String> {
    let bad = || format!("'{s}' is not a time of day; expected HH:MM between 00:00 and 23:59");
    let (h, m): (u32, u32) = hh_mm(s).ok_or_else(bad)?;
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for z in -800_000..800_000 {
            if z % 997 != 0 {
                continue;
            }
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(Day(0).to_string(), "1970-01-01");
        assert_eq!(
            "2025-07-01"
                .parse::<Day>()
                .map(|d| d.to_string())
                .as_deref(),
            Ok("2025-07-01")
        );
        assert!("2025-02-29".parse::<Day>().is_err());
        assert!("2024-02-29".parse::<Day>().is_ok());
    }

    #[test]
    fn vietnam_day_boundary() {
        // 2025-06-30T17:00:00Z is 2025-07-01 00:00 in Vietnam.
        let midnight_vn = 1_751_302_800_000;
        let rule = DayRule::VIETNAM;
        assert_eq!(rule.day_of(midnight_vn).to_string(), "2025-07-01");
        assert_eq!(rule.day_of(midnight_vn - 1).to_string(), "2025-06-30");
        let rule5 = DayRule {
            utc_offset_minutes: 420,
            day_start_minutes: 5 * 60,
        };
        assert_eq!(
            rule5.day_of(midnight_vn + 4 * 3_600_000).to_string(),
            "2025-06-30"
        );
        assert_eq!(
            rule5.day_of(midnight_vn + 5 * 3_600_000).to_string(),
            "2025-07-01"
        );
        assert_eq!(rule.local_hms(midnight_vn + 3_723_000), (1, 2, 3));
    }

    #[test]
    fn offsets_and_times() {
        assert_eq!(parse_utc_offset("+07:00"), Ok(420));
        assert_eq!(parse_utc_offset("-03:30"), Ok(-210));
        assert!(parse_utc_offset("7").is_err());
        assert!(parse_utc_offset("+7:00").is_err());
        assert!(parse_utc_offset("+15:00").is_err());
        assert_eq!(parse_time_of_day("05:30"), Ok(330));
        assert!(parse_time_of_day("24:00").is_err());
    }

    #[test]
    fn effective_time_never_goes_back() {
        let now = Now {
            wall_ms: 5,
            clock_ok: false,
        };
        assert_eq!(effective_time(now, 10), 10);
        assert_eq!(
            effective_time(
                Now {
                    wall_ms: 20,
                    clock_ok: true
                },
                10
            ),
            20
        );
    }
}

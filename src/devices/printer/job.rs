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
pub(crate) struct LocalTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl LocalTime {
    /// Local time of `unix_ms` at `offset_minutes` from UTC (the calendar arithmetic is
    /// core's, shared with business days).
    pub(crate) fn from_unix_ms(unix_ms: i64, offset_minutes: i32) -> Self {
        let rule = crate::core::DayRule {
            utc_offset_minutes: offset_minutes,
            day_start_minutes: 0,
        };
        let (year, month, day) = rule.local_date(unix_ms).ymd();
        let (hour, minute, second) = rule.local_hms(unix_ms);
        LocalTime {
            year: i64::from(year),
            month,
            day,
            hour,
            minute,
            second,
        }
    }

    /// "24/11/2026" (Vietnamese order).
    pub(crate) fn date_vn(&self) -> String {
        format!("{:02}/{:02}/{:04}", self.day, self.month, self.year)
    }

    /// "08:15".
    pub(crate) fn hm(&self) -> String {
        format!("{:02}:{:02}", self.hour, self.minute)
    }

    /// "20261124".
    pub(crate) fn ymd_compact(&self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }
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

//! Printer health (pure): `DLE EOT n` real-time status queries, a stray-byte-tolerant reply
//! scanner and the mapping of status bytes to a [`PrinterState`].
//!
//! Replies to `DLE EOT 1/2/4` all match the bit pattern `0xx1xx10`. Printers may send them in
//! the middle of other traffic, XON/XOFF (0x11/0x13) may appear, and Automatic Status Back
//! blocks may arrive unasked: the scanner skips every byte that does not match the pattern.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The queries sent, in order: printer status, offline cause, roll paper sensor.
pub const QUERIES: [u8; 3] = [1, 2, 4];

/// What the adapter knows about the printer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterState {
    Ok,
    PaperNearEnd,
    PaperOut,
    CoverOpen,
    Offline,
    Error,
    /// No connection, or no answer to status queries.
    Unreachable,
}

impl PrinterState {
    /// Every state, in declaration order (for tests that go through all of them).
    pub const ALL: [PrinterState; 7] = [
        PrinterState::Ok,
        PrinterState::PaperNearEnd,
        PrinterState::PaperOut,
        PrinterState::CoverOpen,
        PrinterState::Offline,
        PrinterState::Error,
        PrinterState::Unreachable,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PrinterState::Ok => "ok",
            PrinterState::PaperNearEnd => "paper_near_end",
            PrinterState::PaperOut => "paper_out",
            PrinterState::CoverOpen => "cover_open",
            PrinterState::Offline => "offline",
            PrinterState::Error => "error",
            PrinterState::Unreachable => "unreachable",
        }
    }

    /// Whether a ticket sent now would print now.
    pub(crate) fn can_print(self) -> bool {
        matches!(self, PrinterState::Ok | PrinterState::PaperNearEnd)
    }
}

impl fmt::Display for PrinterState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Does `b` look like a real-time status reply (`0xx1xx10`)?
pub fn is_status_byte(b: u8) -> bool {
    b & 0b1001_0011 == 0b0001_0010
}

/// Scans incoming bytes for the next status reply, skipping anything else.
#[derive(Debug, Default)]
pub struct ReplyScanner {
    skipped: usize,
}

impl ReplyScanner {
    /// The first status byte in `bytes` and how many bytes were consumed up to and
    /// including it; `None` (all consumed and skipped) if there is none.
    pub fn scan(&mut self, bytes: &[u8]) -> Option<(u8, usize)> {
        match bytes.iter().position(|&b| is_status_byte(b)) {
            Some(i) => {
                self.skipped += i;
                Some((bytes[i], i + 1))
            }
            None => {
                self.skipped += bytes.len();
                None
            }
        }
    }

    /// Bytes skipped so far (strays, XON/XOFF, ASB blocks).
    #[cfg(test)]
    fn skipped(&self) -> usize {
        self.skipped
    }
}

/// Every status reply byte in `bytes`, in order.
pub fn parse_replies(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .copied()
        .filter(|&b| is_status_byte(b))
        .collect()
}

/// The replies collected for one poll (`None`: no reply within the timeout).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusReplies {
    pub printer: Option<u8>,
    pub offline_cause: Option<u8>,
    pub paper: Option<u8>,
}

impl StatusReplies {
    /// Record the reply to query `n` (1, 2 or 4); other `n` are ignored.
    pub fn set(&mut self, n: u8, reply: u8) {
        match n {
            1 => self.printer = Some(reply),
            2 => self.offline_cause = Some(reply),
            4 => self.paper = Some(reply),
            _ => {}
        }
    }

    /// The state these replies mean, and a detail line for people.
    pub fn classify(&self) -> (PrinterState, String) {
        let hex = |r: Option<u8>| r.map_or("none".to_string(), |b| format!("0x{b:02X}"));
        let raw = format!(
            "DLE EOT 1={} 2={} 4={}",
            hex(self.printer),
            hex(self.offline_cause),
            hex(self.paper)
        );
        let Some(p) = self.printer else {
            return (
                PrinterState::Unreachable,
                format!("no reply to status query ({raw})"),
            );
        };
        let o = self.offline_cause.unwrap_or(0x12);
        let r = self.paper.unwrap_or(0x12);
        let (state, why) = if o & 0x40 != 0 {
            (
                PrinterState::Error,
                "printer reports an error (cutter jam, head overheat or similar)",
            )
        } else if o & 0x04 != 0 {
            (PrinterState::CoverOpen, "cover open")
        } else if r & 0x60 != 0 || o & 0x20 != 0 {
            (PrinterState::PaperOut, "paper out")
        } else if p & 0x08 != 0 {
            (PrinterState::Offline, "printer offline")
        } else if r & 0x0C != 0 {
            (PrinterState::PaperNearEnd, "paper near end")
        } else {
            (PrinterState::Ok, "ready")
        };
        (state, format!("{why} ({raw})"))
    }
}

/// The status byte a printer in `state` answers to query `n` (the inverse of
/// [`StatusReplies::classify`]); used by emulators and tests.
pub fn reply_for(state: PrinterState, n: u8) -> u8 {
    let base = 0x12;
    match (state, n) {
        (
            PrinterState::Offline
            | PrinterState::CoverOpen
            | PrinterState::PaperOut
            | PrinterState::Error,
            1,
        ) => base | 0x08,
        (PrinterState::CoverOpen, 2) => base | 0x04,
        (PrinterState::PaperOut, 2) => base | 0x20,
        (PrinterState::Error, 2) => base | 0x40,
        (PrinterState::PaperOut, 4) => base | 0x6C,
        (PrinterState::PaperNearEnd, 4) => base | 0x0C,
        _ => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask() {
        assert!(is_status_byte(0x12) && is_status_byte(0x16) && is_status_byte(0x7E));
        assert!(!is_status_byte(0x11) && !is_status_byte(0x13) && !is_status_byte(0x00));
        assert!(!is_status_byte(0xFF) && !is_status_byte(0x92));
    }

    #[test]
    fn scanner_skips_xon_xoff_and_strays() {
        let mut s = ReplyScanner::default();
        assert_eq!(
            s.scan(&[0x11, 0x13, 0x00, 0x1B, 0x12, 0x16]),
            Some((0x12, 5))
        );
        assert_eq!(s.skipped(), 4);
        assert_eq!(s.scan(&[0x11]), None);
        assert_eq!(parse_replies(&[0x11, 0x16, 0x13, 0x72]), vec![0x16, 0x72]);
    }

    #[test]
    fn state_names_match_serde() {
        for st in [
            PrinterState::Ok,
            PrinterState::PaperNearEnd,
            PrinterState::Unreachable,
        ] {
            assert_eq!(
                serde_json::to_string(&st).ok(),
                Some(format!("\"{}\"", st.as_str()))
            );
        }
    }

    #[test]
    fn classify_roundtrip() {
        // Every state a status reply can give (unreachable is no reply at all).
        for st in PrinterState::ALL
            .into_iter()
            .filter(|s| *s != PrinterState::Unreachable)
        {
            let mut r = StatusReplies::default();
            for n in QUERIES {
                r.set(n, reply_for(st, n));
            }
            assert_eq!(r.classify().0, st, "{st}");
        }
        assert_eq!(
            StatusReplies::default().classify().0,
            PrinterState::Unreachable
        );
    }
}

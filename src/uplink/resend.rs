//! Re-send requests from the province, sans I/O: the collector that finds a gap in a
//! site's seqs publishes `{"from": F, "to": T}` on `{topic_root}/resend`; the uplink
//! answers by publishing the stored entries `F..=T` again on its `events` topic. This
//! module parses and bounds the request and tracks how far the answer has gone; the
//! shell (`uplink/mod.rs`) reads the log and publishes. Nothing here touches the
//! network, the store or a clock.
//!
//! Bounds: one request covers at most [`MAX_SPAN`] seqs; while an answer is under way a
//! new request is merged only if it starts inside or right after it (a collector repeats
//! its request until the gap closes, so nothing is lost by refusing the rest), and never
//! beyond [`MAX_SPAN`] past the current position. Entries the site no longer has (pruned
//! or in a quarantined store) are simply not sent.

use serde::Deserialize;

/// Largest number of seqs one request may cover.
pub(crate) const MAX_SPAN: u64 = 20_000;

/// A checked request: resend the entries with `from <= seq <= to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Request {
    pub from: u64,
    pub to: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    from: u64,
    to: u64,
}

/// Parse a request payload. The error says what was wrong and what is expected.
pub(crate) fn parse(payload: &[u8]) -> Result<Request, String> {
    let w: Wire = serde_json::from_slice(payload).map_err(|e| {
        format!("resend request is not {{\"from\": <seq>, \"to\": <seq>}} JSON: {e}")
    })?;
    if w.from == 0 || w.to < w.from {
        return Err(format!(
            "resend request from {} to {}: expected 1 <= from <= to",
            w.from, w.to
        ));
    }
    if w.to - w.from >= MAX_SPAN {
        return Err(format!(
            "resend request from {} to {} covers {} seqs; at most {MAX_SPAN} per request",
            w.from,
            w.to,
            w.to - w.from + 1
        ));
    }
    Ok(Request {
        from: w.from,
        to: w.to,
    })
}

/// The answer under way, if any.
#[derive(Debug, Clone, Default)]
pub(crate) struct Resender {
    /// Next seq to send and the last one wanted.
    pending: Option<(u64, u64)>,
}

impl Resender {
    /// Take a request. Returns false when it was ignored (another answer is under way
    /// and the request does not continue it).
    pub(crate) fn request(&mut self, r: Request) -> bool {
        match self.pending {
            None => {
                self.pending = Some((r.from, r.to));
                true
            }
            Some((next, to)) if r.from <= to.saturating_add(1) && r.to >= next => {
                let from = next.min(r.from).max(next.saturating_sub(MAX_SPAN));
                let new_to = to.max(r.to).min(from.saturating_add(MAX_SPAN - 1));
                self.pending = Some((from, new_to));
                true
            }
            Some(_) => false,
        }
    }

    /// What to read next: entries after `.0`, up to and including `.1`.
    pub(crate) fn next_read(&self) -> Option<(u64, u64)> {
        self.pending.map(|(next, to)| (next - 1, to))
    }

    /// Entries up to `upto` were handed to the client (or do not exist).
    pub(crate) fn sent_upto(&mut self, upto: u64) {
        if let Some((_, to)) = self.pending {
            self.pending = (upto < to).then_some((upto + 1, to));
        }
    }

    /// Nothing more can be sent (the log has no entry in the rest of the range).
    pub(crate) fn finish(&mut self) {
        self.pending = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_checks_bounds() {
        assert_eq!(
            parse(br#"{"from":5,"to":9}"#),
            Ok(Request { from: 5, to: 9 })
        );
        assert!(parse(br#"{"from":0,"to":9}"#).is_err());
        assert!(parse(br#"{"from":9,"to":5}"#).is_err());
        let e = parse(br#"{"from":1,"to":20001}"#).unwrap_err();
        assert!(e.contains("at most 20000"), "{e}");
        assert!(parse(br#"{"from":1,"to":20000}"#).is_ok());
        assert!(parse(br#"{"from":1,"to":2,"x":1}"#).is_err());
        assert!(parse(b"garbage").unwrap_err().contains("JSON"));
    }

    #[test]
    fn resender_walks_and_merges() {
        let mut r = Resender::default();
        assert!(r.request(Request { from: 10, to: 20 }));
        assert_eq!(r.next_read(), Some((9, 20)));
        r.sent_upto(14);
        assert_eq!(r.next_read(), Some((14, 20)));
        // A repeat of the same request continues from where the answer is.
        assert!(r.request(Request { from: 10, to: 25 }));
        assert_eq!(r.next_read(), Some((9, 25)));
        // Unrelated ranges wait for the next round.
        assert!(!r.request(Request { from: 100, to: 120 }));
        r.sent_upto(25);
        assert!(r.pending.is_none(), "nothing left to resend");
        assert!(r.request(Request { from: 100, to: 120 }));
        r.finish();
        assert_eq!(r.next_read(), None);
    }

    #[test]
    fn merged_requests_stay_bounded() {
        let mut r = Resender::default();
        assert!(r.request(Request {
            from: 1,
            to: MAX_SPAN
        }));
        assert!(r.request(Request {
            from: MAX_SPAN,
            to: 2 * MAX_SPAN - 1
        }));
        let (after, to) = r.next_read().unwrap();
        assert!(to - after <= MAX_SPAN, "{after}..{to}");
    }
}

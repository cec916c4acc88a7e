//! Gap bookkeeping, pure: from a site's contiguous mark and the seqs stored above it,
//! where the mark can move, and when to ask the site to send a missing range again.
//! A gap is normal for a moment (batches in flight, shared between collectors); only
//! one that outlives `grace` is requested, then again with delays growing by half (at
//! most every 10 minutes) while it stays open. Time is an argument.

use crate::uplink::resend::MAX_SPAN;
use std::collections::HashMap;

/// Walk from `contiguous` over `rows` (seq ascending, whether the entry is a
/// `store_recovered`, which explains a gap right before it). Returns the new mark and,
/// if a gap remains, the range to ask for: from the first missing seq up to the last
/// stored one (at most `MAX_SPAN` seqs), so that one request covers every gap at once
/// (what is already stored comes again and is ignored).
///
/// `max_seq`: the highest seq known to exist (stored, or acknowledged by the broker
/// per the site's metrics): a missing tail up to it is a gap too.
pub(crate) fn advance(
    contiguous: i64,
    rows: &[(i64, bool)],
    max_seq: i64,
) -> (i64, Option<(i64, i64)>) {
    let mut c = contiguous;
    for &(seq, recovered) in rows {
        if seq <= c {
            continue;
        }
        if seq == c + 1 || recovered {
            c = seq;
        } else {
            let last = rows.last().map_or(seq, |r| r.0).max(max_seq);
            let to = last.min(c + MAX_SPAN as i64);
            return (c, Some((c + 1, to)));
        }
    }
    if max_seq > c {
        return (c, Some((c + 1, max_seq.min(c + MAX_SPAN as i64))));
    }
    (c, None)
}

#[derive(Debug, Clone)]
struct Open {
    from: i64,
    next_ask: i64,
    delay: i64,
}

/// Open gaps per site and when to ask again.
#[derive(Debug, Default)]
pub(crate) struct Gaps {
    open: HashMap<String, Open>,
}

impl Gaps {
    /// The site's first gap is `gap` (None: closed). Returns the range to request now.
    pub(crate) fn observe(
        &mut self,
        site: &str,
        gap: Option<(i64, i64)>,
        now: i64,
        grace_ms: i64,
    ) -> Option<(i64, i64)> {
        let Some((from, to)) = gap else {
            self.open.remove(site);
            return None;
        };
        let o = self.open.entry(site.to_string()).or_insert(Open {
            from,
            next_ask: now + grace_ms,
            delay: grace_ms,
        });
        if o.from != from {
            *o = Open {
                from,
                next_ask: now + grace_ms,
                delay: grace_ms,
            };
        }
        if now < o.next_ask {
            return None;
        }
        o.delay = (o.delay * 3 / 2).min(600_000);
        o.next_ask = now + o.delay;
        Some((from, to))
    }

    /// Forget gaps of sites not in `seen` (their marks caught up).
    pub(crate) fn retain_sites(&mut self, seen: &std::collections::HashSet<String>) {
        self.open.retain(|s, _| seen.contains(s));
    }

    /// How many sites have a gap open (the tests read it).
    #[cfg(test)]
    fn open_count(&self) -> usize {
        self.open.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_over_runs_and_recoveries() {
        assert_eq!(
            advance(0, &[(1, false), (2, false), (3, false)], 0),
            (3, None)
        );
        assert_eq!(advance(0, &[(1, false), (4, false)], 0), (1, Some((2, 4))));
        assert_eq!(
            advance(0, &[(1, false), (3, false), (5, false)], 0),
            (1, Some((2, 5)))
        );
        // A quarantined store: the gap before store_recovered is not missing data.
        assert_eq!(advance(2, &[(10, true), (11, false)], 0), (11, None));
        assert_eq!(advance(5, &[], 0), (5, None));
        // A missing tail, known from the site's published cursor.
        assert_eq!(advance(3, &[], 5), (3, Some((4, 5))));
        assert_eq!(advance(0, &[(1, false)], 1), (1, None));
        // Bounded request size.
        let (_, g) = advance(0, &[(100_000, false)], 0);
        assert_eq!(g, Some((1, MAX_SPAN as i64)));
    }

    #[test]
    fn asks_after_grace_then_backs_off() {
        let mut g = Gaps::default();
        let gap = Some((5, 9));
        assert_eq!(g.observe("a", gap, 0, 1000), None);
        assert_eq!(g.observe("a", gap, 999, 1000), None);
        assert_eq!(g.observe("a", gap, 1000, 1000), Some((5, 9)));
        assert_eq!(g.observe("a", gap, 2000, 1000), None);
        assert_eq!(g.observe("a", gap, 2500, 1000), Some((5, 9)));
        assert_eq!(g.observe("a", gap, 4000, 1000), None);
        assert_eq!(g.observe("a", gap, 4750, 1000), Some((5, 9)));
        assert_eq!(g.open_count(), 1);
        assert_eq!(g.observe("a", None, 5000, 1000), None);
        assert_eq!(g.open_count(), 0);
        // A new gap starts a new grace period.
        assert_eq!(g.observe("a", Some((20, 21)), 4000, 1000), None);
    }
}

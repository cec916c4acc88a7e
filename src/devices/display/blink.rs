//! Calls and blinking on a counter display: the pure model of which slot shows what.

use std::collections::BTreeMap;

// ---------------------------------------------------------------------------------------------
// Calls and blinking (pure)
// ---------------------------------------------------------------------------------------------

/// What one counter's display position shows at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub counter: u16,
    /// Current ticket label ("A012"), `None` when the counter serves nobody.
    pub label: Option<String>,
    /// `false` during the dark half of a blink.
    pub visible: bool,
}

/// Tracks the counters' current tickets and turns a change (a new call) into a blink schedule.
/// Pure: time is passed in as milliseconds on any monotonic scale.
#[derive(Debug, Clone)]
pub(crate) struct CallBlinker {
    counters: Vec<u16>,
    current: Vec<Option<String>>,
    blink_start: Vec<Option<u64>>,
    blink_ms: u64,
    period_ms: u64,
    primed: bool,
}

impl CallBlinker {
    pub(crate) fn new(counters: Vec<u16>, blink_ms: u64, period_ms: u64) -> Self {
        let n = counters.len();
        CallBlinker {
            counters,
            current: vec![None; n],
            blink_start: vec![None; n],
            blink_ms,
            period_ms: period_ms.max(1),
            primed: false,
        }
    }

    /// Takes the latest `counter -> ticket` map. A counter whose ticket changed to a new one
    /// starts blinking at `now_ms`; the very first map is the starting state and never blinks.
    /// Returns the counters that started blinking.
    pub(crate) fn update(
        &mut self,
        calls: &BTreeMap<u16, Option<String>>,
        now_ms: u64,
    ) -> Vec<u16> {
        let mut started = Vec::new();
        for (i, c) in self.counters.iter().enumerate() {
            let new = calls.get(c).cloned().flatten();
            if new != self.current[i] {
                if self.primed && new.is_some() && self.blink_ms > 0 {
                    self.blink_start[i] = Some(now_ms);
                    started.push(*c);
                } else {
                    self.blink_start[i] = None;
                }
                self.current[i] = new;
            }
        }
        self.primed = true;
        started
    }

    fn visible(&self, i: usize, now_ms: u64) -> bool {
        match self.blink_start[i] {
            Some(s) if now_ms >= s && now_ms - s < self.blink_ms => {
                ((now_ms - s) / self.period_ms) % 2 == 0
            }
            _ => true,
        }
    }

    pub(crate) fn slots(&self, now_ms: u64) -> Vec<Slot> {
        self.counters
            .iter()
            .enumerate()
            .map(|(i, c)| Slot {
                counter: *c,
                label: self.current[i].clone(),
                visible: self.visible(i, now_ms),
            })
            .collect()
    }

    /// When the picture changes next without a new map (a blink edge or the blink's end).
    pub(crate) fn next_change(&self, now_ms: u64) -> Option<u64> {
        self.blink_start
            .iter()
            .flatten()
            .filter_map(|s| {
                let end = s.saturating_add(self.blink_ms);
                if now_ms >= end || now_ms < *s {
                    return None;
                }
                let next_edge = s + ((now_ms - s) / self.period_ms + 1) * self.period_ms;
                Some(next_edge.min(end))
            })
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(u16, Option<&str>)]) -> BTreeMap<u16, Option<String>> {
        entries
            .iter()
            .map(|(c, l)| (*c, l.map(str::to_string)))
            .collect()
    }

    #[test]
    fn first_map_does_not_blink_then_new_call_blinks() {
        let mut b = CallBlinker::new(vec![1, 2], 1000, 250);
        assert!(b
            .update(&map(&[(1, Some("A001")), (2, None)]), 0)
            .is_empty());
        assert!(b.slots(10).iter().all(|s| s.visible));
        assert_eq!(
            b.update(&map(&[(1, Some("A001")), (2, Some("B001"))]), 100),
            vec![2]
        );
        let vis = |b: &CallBlinker, t| b.slots(t)[1].visible;
        assert!(vis(&b, 100));
        assert!(vis(&b, 349));
        assert!(!vis(&b, 350));
        assert!(!vis(&b, 599));
        assert!(vis(&b, 600));
        assert!(!vis(&b, 850));
        assert!(vis(&b, 1100)); // blink over
        assert!(b.slots(350)[0].visible, "counter 1 did not change");
        assert_eq!(b.next_change(100), Some(350));
        assert_eq!(b.next_change(1000), Some(1100));
        assert_eq!(b.next_change(1100), None);
    }

    #[test]
    fn clearing_a_counter_does_not_blink() {
        let mut b = CallBlinker::new(vec![1], 1000, 250);
        b.update(&map(&[(1, Some("A001"))]), 0);
        assert!(b.update(&map(&[(1, None)]), 10).is_empty());
        assert_eq!(
            b.slots(300)[0],
            Slot {
                counter: 1,
                label: None,
                visible: true
            }
        );
    }
}

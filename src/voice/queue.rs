//! The announcement queue (pure, time passed in): one announcement at a time, a recall of
//! the same ticket within a few seconds merged, anything older than 60 s dropped.

use std::collections::VecDeque;

/// An announcement is never played later than this after its call.
pub(crate) const MAX_AGE_MS: i64 = 60_000;
/// A call of a ticket already queued, playing, or started this recently is merged.
pub(crate) const MERGE_MS: i64 = 5_000;

/// A call to announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Call {
    /// The log entry's seq (names the announcement for the display page).
    pub seq: u64,
    pub ticket: String,
    pub counter: u16,
    /// When the call was made (entry time), ms.
    pub at: i64,
}

/// What happened to an offered call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offered {
    Queued,
    /// Same ticket already waiting, playing or just played: not said again.
    Merged,
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Next {
    /// Something is playing: wait for it.
    Busy,
    /// Nothing to play.
    Idle,
    /// Play this now; `dropped` calls were too old and are never played.
    Play { call: Call, dropped: Vec<Call> },
    /// Nothing to play; these were too old and are never played.
    Dropped(Vec<Call>),
}

#[derive(Debug, Default)]
pub(crate) struct Queue {
    waiting: VecDeque<Call>,
    playing: Option<Call>,
    /// The last call started: (ticket, when it started).
    last_started: Option<(String, i64)>,
}

impl Queue {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Offer a call made at `call.at`, seen at `now`.
    pub(crate) fn offer(&mut self, call: Call, now: i64) -> Offered {
        if let Some(w) = self.waiting.iter_mut().find(|w| w.ticket == call.ticket) {
            // A recall while still waiting: say it once, to the latest counter.
            w.counter = call.counter;
            return Offered::Merged;
        }
        // Playing or just started (a different ticket playing means it was not this one).
        let recently = self
            .last_started
            .as_ref()
            .is_some_and(|(t, at)| *t == call.ticket && now - at < MERGE_MS);
        if recently {
            return Offered::Merged;
        }
        self.waiting.push_back(call);
        Offered::Queued
    }

    /// The next call to play at `now`, if nothing is playing.
    pub(crate) fn next(&mut self, now: i64) -> Next {
        if self.playing.is_some() {
            return Next::Busy;
        }
        let mut dropped = Vec::new();
        while let Some(c) = self.waiting.pop_front() {
            if now - c.at > MAX_AGE_MS {
                dropped.push(c);
                continue;
            }
            self.playing = Some(c.clone());
            self.last_started = Some((c.ticket.clone(), now));
            return Next::Play { call: c, dropped };
        }
        if dropped.is_empty() {
            Next::Idle
        } else {
            Next::Dropped(dropped)
        }
    }

    /// The playing announcement ended (or failed).
    pub(crate) fn finished(&mut self) {
        self.playing = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(seq: u64, ticket: &str, counter: u16, at: i64) -> Call {
        Call {
            seq,
            ticket: ticket.into(),
            counter,
            at,
        }
    }

    #[test]
    fn one_at_a_time_in_order() {
        let mut q = Queue::new();
        assert_eq!(q.next(0), Next::Idle);
        assert_eq!(q.offer(call(1, "A001", 1, 0), 0), Offered::Queued);
        assert_eq!(q.offer(call(2, "B001", 2, 10), 10), Offered::Queued);
        assert!(matches!(q.next(20), Next::Play { call, .. } if call.seq == 1));
        // No overlap: the second waits while the first plays, however long.
        assert_eq!(q.next(3_000), Next::Busy);
        assert_eq!(q.next(9_000), Next::Busy);
        q.finished();
        assert!(matches!(q.next(9_001), Next::Play { call, .. } if call.seq == 2));
        q.finished();
        assert_eq!(q.next(9_002), Next::Idle);
    }

    #[test]
    fn recall_within_seconds_is_merged() {
        let mut q = Queue::new();
        q.offer(call(1, "A001", 1, 0), 0);
        // Recall while still waiting: merged, said once to the latest counter.
        assert_eq!(q.offer(call(2, "A001", 3, 100), 100), Offered::Merged);
        let Next::Play { call: c, .. } = q.next(200) else {
            panic!("expected a call to play")
        };
        assert_eq!((c.seq, c.counter), (1, 3));
        // Recall while it is being said: merged.
        assert_eq!(q.offer(call(3, "A001", 3, 1_000), 1_000), Offered::Merged);
        q.finished();
        // Recall just after: still merged; a few seconds later: said again.
        assert_eq!(q.offer(call(4, "A001", 3, 4_000), 4_000), Offered::Merged);
        assert_eq!(q.offer(call(5, "A001", 3, 5_300), 5_300), Offered::Queued);
        // Another ticket is never merged.
        assert_eq!(q.offer(call(6, "A002", 1, 5_300), 5_300), Offered::Queued);
        assert_eq!(q.waiting.len(), 2);
    }

    #[test]
    fn older_than_a_minute_is_dropped_never_played_late() {
        let mut q = Queue::new();
        q.offer(call(1, "A001", 1, 0), 0);
        q.offer(call(2, "A002", 1, 1_000), 1_000);
        q.offer(call(3, "A003", 1, 50_000), 50_000);
        // Long after (a stuck speaker, a slow start): the first two are stale.
        let Next::Play { call: c, dropped } = q.next(61_500) else {
            panic!("expected a call to play")
        };
        assert_eq!(c.seq, 3);
        assert_eq!(
            dropped.iter().map(|d| d.seq).collect::<Vec<_>>(),
            vec![1, 2]
        );
        q.finished();
        q.offer(call(4, "A004", 1, 0), 70_000);
        assert_eq!(q.next(70_001), Next::Dropped(vec![call(4, "A004", 1, 0)]));
        // Exactly 60 s old is still played.
        q.offer(call(5, "A005", 1, 10_000), 70_000);
        assert!(matches!(q.next(70_000), Next::Play { .. }));
    }
}

//! The press queue: presses wait here, numbered, until the bus master acknowledges them.
//!
//! A press leaves the queue only when the master writes its sequence number to the ACK register,
//! so a press is never lost to a corrupted or dropped frame; the master, in turn, remembers the
//! last `(epoch, seq)` it applied, so reading the same head twice never applies it twice.

use crate::regs::KeyCode;

/// One queued press.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Press {
    /// Sequence number, never 0.
    pub seq: u16,
    /// The key pressed.
    pub key: KeyCode,
}

/// The queue is full; the press was not recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueFull;

/// A bounded FIFO of presses holding at most `N` unacknowledged presses.
#[derive(Clone, Debug)]
pub struct PressQueue<const N: usize> {
    items: [Option<Press>; N],
    head: usize,
    len: usize,
    next_seq: u16,
    dropped: u16,
}

/// The sequence number after `seq`, skipping 0 (0 means "no press" on the wire).
pub fn next_seq(seq: u16) -> u16 {
    match seq.wrapping_add(1) {
        0 => 1,
        s => s,
    }
}

impl<const N: usize> PressQueue<N> {
    /// An empty queue whose first press gets `first_seq` (0 is taken as 1).
    pub fn new(first_seq: u16) -> Self {
        PressQueue {
            items: [None; N],
            head: 0,
            len: 0,
            next_seq: if first_seq == 0 { 1 } else { first_seq },
            dropped: 0,
        }
    }

    /// Record a press; returns its sequence number, or [`QueueFull`] (the press is counted as
    /// dropped: older unacknowledged presses are never overwritten).
    pub fn push(&mut self, key: KeyCode) -> Result<u16, QueueFull> {
        if self.len == N {
            self.dropped = self.dropped.saturating_add(1);
            return Err(QueueFull);
        }
        let seq = self.next_seq;
        self.next_seq = next_seq(seq);
        self.items[(self.head + self.len) % N] = Some(Press { seq, key });
        self.len += 1;
        Ok(seq)
    }

    /// The oldest unacknowledged press.
    pub fn head(&self) -> Option<Press> {
        if self.len == 0 {
            None
        } else {
            self.items[self.head]
        }
    }

    /// Acknowledge `seq`: drops the head if and only if it carries `seq`. Returns whether it did.
    pub fn ack(&mut self, seq: u16) -> bool {
        match self.head() {
            Some(p) if p.seq == seq && seq != 0 => {
                self.items[self.head] = None;
                self.head = (self.head + 1) % N;
                self.len -= 1;
                true
            }
            _ => false,
        }
    }

    /// Number of unacknowledged presses.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing waits for an acknowledgement.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Presses dropped because the queue was full.
    pub fn dropped(&self) -> u16 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_and_ack_only_matching_head() {
        let mut q = PressQueue::<4>::new(7);
        assert_eq!(q.push(KeyCode::Next), Ok(7));
        assert_eq!(q.push(KeyCode::Recall), Ok(8));
        assert!(!q.ack(8), "acking a non-head press must not drop anything");
        assert!(!q.ack(0));
        assert_eq!(q.len(), 2);
        assert!(q.ack(7));
        assert!(!q.ack(7), "a repeated ack is a no-op");
        assert_eq!(
            q.head(),
            Some(Press {
                seq: 8,
                key: KeyCode::Recall
            })
        );
        assert!(q.ack(8));
        assert!(q.is_empty());
        assert_eq!(q.head(), None);
    }

    #[test]
    fn full_queue_keeps_old_presses() {
        let mut q = PressQueue::<2>::new(1);
        q.push(KeyCode::Next).unwrap();
        q.push(KeyCode::Skip).unwrap();
        assert_eq!(q.push(KeyCode::Pause), Err(QueueFull));
        assert_eq!(q.dropped(), 1);
        assert_eq!(q.head().map(|p| p.key), Some(KeyCode::Next));
        assert!(q.ack(1));
        assert_eq!(q.push(KeyCode::Open), Ok(3));
    }

    #[test]
    fn sequence_wraps_skipping_zero() {
        let mut q = PressQueue::<2>::new(u16::MAX);
        assert_eq!(q.push(KeyCode::Next), Ok(u16::MAX));
        assert_eq!(q.push(KeyCode::Next), Ok(1));
        assert_eq!(PressQueue::<1>::new(0).push(KeyCode::Next), Ok(1));
    }
}

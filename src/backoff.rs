//! The one retry backoff used by every adapter and the uplink: a pure value that says how
//! long to wait before the next attempt (exponential, capped, optionally jittered); the caller
//! owns the clock and the randomness.

use std::time::Duration;

/// Exponential retry delay: step `n` is `initial * 2^n`, capped at `max`; `reset` after a
/// success. `next_delay` waits the whole step; `next_delay_jittered` draws it uniformly from
/// the upper half of the step ("equal jitter"), never below `initial`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    /// A backoff starting at `initial` and never waiting longer than `max`.
    pub(crate) const fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            attempt: 0,
        }
    }

    /// The current step (before jitter) and move on to the next one.
    fn step(&mut self) -> Duration {
        let factor = 1u32 << self.attempt.min(20);
        let step = self.initial.saturating_mul(factor).min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        step.max(self.initial.min(self.max))
    }

    /// The delay to wait now; the following one is twice as long (capped).
    pub(crate) fn next_delay(&mut self) -> Duration {
        self.step()
    }

    /// The delay to wait now, drawn from the upper half of the step; `random` is any uniformly
    /// random u64 (the caller's generator, so this stays deterministic under test).
    pub(crate) fn next_delay_jittered(&mut self, random: u64) -> Duration {
        let step_ms = self.step().as_millis() as u64;
        let low = (step_ms / 2).max(self.initial.as_millis() as u64);
        let span = step_ms.saturating_sub(low);
        let jitter = if span == 0 { 0 } else { random % (span + 1) };
        Duration::from_millis(low + jitter)
    }

    /// Start again from `initial` (after a success).
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_and_caps_then_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(350));
        let v: Vec<u128> = (0..4).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(v, [100, 200, 350, 350]);
        b.reset();
        assert_eq!(b.next_delay().as_millis(), 100);
    }

    #[test]
    fn many_attempts_do_not_overflow() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        for _ in 0..200 {
            assert!(b.next_delay() <= Duration::from_secs(60));
        }
        assert_eq!(b.next_delay(), Duration::from_secs(60));
    }

    #[test]
    fn jitter_stays_in_the_upper_half_of_each_step() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        for attempt in 0..12u32 {
            let d = b.next_delay_jittered(u64::from(attempt) * 7919).as_millis() as u64;
            let step = (1000u64 << attempt).min(60_000);
            assert!(
                d >= (step / 2).max(1000) && d <= step,
                "attempt {attempt}: {d}"
            );
        }
        let mut x = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let mut y = x.clone();
        x.next_delay_jittered(0);
        y.next_delay_jittered(0);
        assert_ne!(
            x.next_delay_jittered(0),
            y.next_delay_jittered(u64::MAX - 1)
        );
    }
}

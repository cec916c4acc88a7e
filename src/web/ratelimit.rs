//! Per-address token buckets for the kiosk endpoint (pure: time is passed in).

use std::collections::HashMap;
use std::net::IpAddr;

const MAX_TRACKED: usize = 10_000;

pub struct RateLimiter {
    per_minute: u32,
    buckets: HashMap<IpAddr, (f64, i64)>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute,
            buckets: HashMap::new(),
        }
    }

    /// Whether a request from `ip` at `now_ms` may go ahead. Loopback is exempt: a kiosk
    /// screen attached to the board is local. `per_minute = 0` disables the limit.
    pub(crate) fn allow(&mut self, ip: IpAddr, now_ms: i64) -> bool {
        if ip.is_loopback() || self.per_minute == 0 {
            return true;
        }
        let cap = f64::from(self.per_minute);
        let rate = cap / 60_000.0;
        if self.buckets.len() >= MAX_TRACKED && !self.buckets.contains_key(&ip) {
            // Forget buckets that have refilled completely; they carry no information.
            self.buckets
                .retain(|_, (tokens, at)| *tokens + (now_ms - *at) as f64 * rate < cap);
            if self.buckets.len() >= MAX_TRACKED {
                return false;
            }
        }
        let (tokens, at) = self.buckets.entry(ip).or_insert((cap, now_ms));
        let elapsed = (now_ms - *at).max(0) as f64;
        *tokens = (*tokens + elapsed * rate).min(cap);
        *at = now_ms;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_address_and_refills() {
        let mut r = RateLimiter::new(30);
        let a: IpAddr = [192, 0, 2, 1].into();
        let b: IpAddr = [192, 0, 2, 2].into();
        assert_eq!((0..40).filter(|_| r.allow(a, 0)).count(), 30);
        assert!(r.allow(b, 0));
        assert!(!r.allow(a, 1_000));
        assert!(r.allow(a, 2_000), "one token back after two seconds");
        assert!((0..100).all(|_| r.allow(IpAddr::from([127, 0, 0, 1]), 0)));
    }
}

//! Button debouncing: raw levels sampled at any rate, time passed in as milliseconds.

/// Debounces up to 8 buttons (bit i = button i, 1 = pressed).
///
/// A button changes state only after its raw level has differed from the stable state for
/// `debounce_ms` without interruption; a press is reported on the debounced down edge.
#[derive(Clone, Debug)]
pub struct Debouncer {
    debounce_ms: u32,
    stable: u8,
    pending: [Option<u32>; 8],
}

impl Debouncer {
    /// A debouncer with every button released.
    pub fn new(debounce_ms: u32) -> Self {
        Debouncer {
            debounce_ms,
            stable: 0,
            pending: [None; 8],
        }
    }

    /// Feed the raw levels sampled at `now_ms` (wrapping); returns the buttons newly pressed.
    pub fn update(&mut self, raw: u8, now_ms: u32) -> u8 {
        let mut pressed = 0u8;
        for i in 0..8 {
            let bit = 1u8 << i;
            if (raw ^ self.stable) & bit == 0 {
                self.pending[i] = None;
                continue;
            }
            let since = *self.pending[i].get_or_insert(now_ms);
            if now_ms.wrapping_sub(since) >= self.debounce_ms {
                self.pending[i] = None;
                self.stable ^= bit;
                if self.stable & bit != 0 {
                    pressed |= bit;
                }
            }
        }
        pressed
    }

    /// The debounced state of all buttons.
    pub fn state(&self) -> u8 {
        self.stable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounce_is_filtered_and_press_reported_once() {
        let mut d = Debouncer::new(10);
        // Contact bounce: on/off every ms for 6 ms, then held.
        let mut presses = 0;
        for t in 0..6u32 {
            presses += d.update((t % 2) as u8, t).count_ones();
        }
        for t in 6..40u32 {
            presses += d.update(1, t).count_ones();
        }
        assert_eq!(presses, 1);
        assert_eq!(d.state(), 1);
        // Release with bounce, then press again.
        for t in 40..44u32 {
            d.update((t % 2) as u8, t);
        }
        for t in 44..60u32 {
            assert_eq!(d.update(0, t), 0);
        }
        assert_eq!(d.state(), 0);
        let mut again = 0;
        for t in 60..80u32 {
            again += d.update(1, t).count_ones();
        }
        assert_eq!(again, 1);
    }

    #[test]
    fn short_glitch_is_not_a_press() {
        let mut d = Debouncer::new(10);
        for t in 0..9u32 {
            assert_eq!(d.update(0b100, t), 0);
        }
        for t in 9..30u32 {
            assert_eq!(d.update(0, t), 0);
        }
        assert_eq!(d.state(), 0);
    }

    #[test]
    fn works_across_timer_wrap_and_several_buttons() {
        let mut d = Debouncer::new(5);
        let start = u32::MAX - 2;
        let mut got = 0u8;
        for i in 0..10u32 {
            got |= d.update(0b101, start.wrapping_add(i));
        }
        assert_eq!(got, 0b101);
    }
}

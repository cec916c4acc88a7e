//! What a counter display driver implements, and the timing of the runner's retries.

use std::time::Duration;

use super::blink::Slot;

// ---------------------------------------------------------------------------------------------
// Counter display runner
// ---------------------------------------------------------------------------------------------

/// Something that can show counter slots: the MAX7219 chain or the LCD, already initialised.
pub trait CounterSurface: Send {
    /// Shows the slots; an error means the device is gone or failing and will be reopened.
    fn show(&mut self, slots: &[Slot]) -> Result<(), String>;

    /// Rewrites the device's configuration without a visible blank and makes the next `show`
    /// rewrite everything, repairing registers scrambled by interference. Called every
    /// [`RetryPolicy::refresh`] ([`REFRESH_EVERY`] by default).
    fn refresh(&mut self) -> Result<(), String> {
        Ok(())
    }
}

/// How often a running display gets [`CounterSurface::refresh`].
pub(crate) const REFRESH_EVERY: Duration = Duration::from_secs(60);

/// Timing of the runner's retries (tests shorten it).
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// First retry delay, doubled after each failure.
    pub initial: Duration,
    /// Longest retry delay.
    pub max: Duration,
    /// Counter displays: period of [`CounterSurface::refresh`].
    pub refresh: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
            refresh: REFRESH_EVERY,
        }
    }
}

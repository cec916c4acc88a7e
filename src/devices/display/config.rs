//! Board device configuration: `[[buttons]]`, `[[counter_displays]]`, and `DevicesConfig`, which
//! also holds the `[[led_boards]]` (their entry type lives with the frame format in `devices::ledboard`).

use serde::Deserialize;
use toml::Spanned;

use crate::config::defaults::{written_or, yes};

/// `[[led_boards]]` entries are checked with their frame format, in `devices::ledboard`.
pub use crate::devices::ledboard::{LedBoardConfig, DEFAULT_LED_TEXT};

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/// One `[[buttons]]` entry: a GPIO line and what pressing it does.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ButtonConfig {
    /// Name used in health reports; defaults to `button <chip>:<line>`.
    pub name: Option<String>,
    /// GPIO character device: `gpiochip0` or `/dev/gpiochip0`.
    pub chip: Spanned<String>,
    /// Line offset on that chip (on a Raspberry Pi: the BCM GPIO number).
    pub line: Spanned<u32>,
    /// `true` (default) when the button pulls the line to ground (pull-up, pressed = low).
    #[serde(default = "yes")]
    pub active_low: bool,
    /// A level must hold this long before it counts (default 30 ms, 1..=500).
    pub debounce_ms: Option<Spanned<u64>>,
    /// A press counts only if no press was recognised in the preceding interval (default 1500 ms).
    pub min_interval_ms: Option<Spanned<u64>>,
    /// `{ kind = "issue", service = "A", priority = false }`, `{ kind = "next", counter = 3 }`
    /// or `{ kind = "recall", counter = 3 }`.
    pub action: Spanned<ButtonActionConfig>,
}

pub use crate::devices::button_action::ButtonActionConfig;

pub(crate) const DEFAULT_DEBOUNCE_MS: u64 = 30;
pub(crate) const DEFAULT_MIN_INTERVAL_MS: u64 = 1500;

impl ButtonConfig {
    pub fn debounce_ms(&self) -> u64 {
        written_or(&self.debounce_ms, DEFAULT_DEBOUNCE_MS)
    }
    pub fn min_interval_ms(&self) -> u64 {
        written_or(&self.min_interval_ms, DEFAULT_MIN_INTERVAL_MS)
    }
    /// The chip as a device path (`gpiochip0` -> `/dev/gpiochip0`).
    pub fn chip_path(&self) -> String {
        chip_path(self.chip.get_ref())
    }
    pub(crate) fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("button {}:{}", self.chip.get_ref(), self.line.get_ref()))
    }
}

pub(crate) fn chip_path(chip: &str) -> String {
    if chip.starts_with('/') {
        chip.to_string()
    } else {
        format!("/dev/{chip}")
    }
}

/// Which driver a counter display uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DisplayKind {
    /// MAX7219 8-digit 7-segment modules over SPI, daisy-chained.
    Max7219,
    /// HD44780 character LCD through a PCF8574 I2C backpack.
    Hd44780,
}

/// One `[[counter_displays]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterDisplayConfig {
    /// Unique name, used in health reports.
    pub name: Spanned<String>,
    pub kind: Spanned<DisplayKind>,
    /// `/dev/spidev0.0` (max7219) or `/dev/i2c-1` (hd44780).
    pub device: Spanned<String>,
    /// Counters shown: max7219 one digit group each (chip nearest the Pi first);
    /// hd44780 one row each.
    pub counters: Spanned<Vec<Spanned<u16>>>,
    /// max7219: digits per counter, 8 (one module each, default) or 4 (two counters per module).
    pub group_digits: Option<Spanned<u8>>,
    /// max7219: brightness 0..=15 (default 8).
    pub intensity: Option<Spanned<u8>>,
    /// max7219: SPI clock (default 1 MHz, at most 10 MHz).
    pub spi_hz: Option<Spanned<u32>>,
    /// hd44780: 7-bit I2C address of the PCF8574 backpack (default 0x27).
    pub address: Option<Spanned<u16>>,
    /// hd44780: 16 or 20 (default 16).
    pub columns: Option<Spanned<u8>>,
    /// hd44780: 2 or 4 (default 2).
    pub rows: Option<Spanned<u8>>,
    /// hd44780: row caption before the counter number (default "Quầy", shown as "Quay").
    pub label: Option<String>,
    /// How long a new call blinks (default 3000 ms; 0 disables blinking).
    pub blink_ms: Option<Spanned<u64>>,
    /// Blink half-period: on for this long, off for this long (default 250 ms).
    pub blink_period_ms: Option<Spanned<u64>>,
}

pub(crate) const DEFAULT_BLINK_MS: u64 = 3000;
pub(crate) const DEFAULT_BLINK_PERIOD_MS: u64 = 250;

impl CounterDisplayConfig {
    pub(crate) fn counter_list(&self) -> Vec<u16> {
        self.counters
            .get_ref()
            .iter()
            .map(|c| *c.get_ref())
            .collect()
    }
    pub(crate) fn group_digits(&self) -> usize {
        usize::from(written_or(&self.group_digits, 8))
    }
    pub(crate) fn intensity(&self) -> u8 {
        written_or(&self.intensity, 8)
    }
    pub(crate) fn spi_hz(&self) -> u32 {
        written_or(&self.spi_hz, 1_000_000)
    }
    pub(crate) fn address(&self) -> u16 {
        written_or(&self.address, 0x27)
    }
    pub(crate) fn columns(&self) -> usize {
        usize::from(written_or(&self.columns, 16))
    }
    pub(crate) fn rows(&self) -> usize {
        usize::from(written_or(&self.rows, 2))
    }
    pub(crate) fn label(&self) -> &str {
        self.label.as_deref().unwrap_or("Quầy")
    }
    pub(crate) fn blink_ms(&self) -> u64 {
        written_or(&self.blink_ms, DEFAULT_BLINK_MS)
    }
    pub(crate) fn blink_period_ms(&self) -> u64 {
        written_or(&self.blink_period_ms, DEFAULT_BLINK_PERIOD_MS)
    }
    /// Number of chained MAX7219 modules needed for the configured counters.
    pub fn chips(&self) -> usize {
        (self.counters.get_ref().len() * self.group_digits()).div_ceil(8)
    }
}

/// The three device sections together, for callers that parse them as one unit.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevicesConfig {
    #[serde(default)]
    pub buttons: Vec<ButtonConfig>,
    #[serde(default)]
    pub counter_displays: Vec<CounterDisplayConfig>,
    #[serde(default)]
    pub led_boards: Vec<LedBoardConfig>,
}

//! Board device configuration: `[[buttons]]`, `[[counter_displays]]`, and `DevicesConfig`, which
//! also holds the `[[led_boards]]` (their entry type lives with the frame format in `devices::ledboard`).

use serde::Deserialize;
use toml::Spanned;

use crate::config::defaults::yes;

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
        self.debounce_ms
            .as_ref()
            .map_or(DEFAULT_DEBOUNCE_MS, |v| *v.get_ref())
    }
    pub fn min_interval_ms(&self) -> u64 {
        self.min_interval_ms
            .as_ref()
            .map_or(DEFAULT_MIN_INTERVAL_MS, |v| *v.get_ref())
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
        self.group_digits
            .as_ref()
            .map_or(8, |g| usize::from(*g.get_ref()))
    }
    pub(crate) fn intensity(&self) -> u8 {
        self.intensity.as_ref().map_or(8, |v| *v.get_ref())
    }
    pub(crate) fn spi_hz(&self) -> u32 {
        self.spi_hz.as_ref().map_or(1_000_000, |v| *v.get_ref())
    }
    pub(crate) fn address(&self) -> u16 {
        self.address.as_ref().map_or(0x27, |v| *v.get_ref())
    }
    pub(crate) fn columns(&self) -> usize {
        self.columns
            .as_ref()
            .map_or(16, |v| usize::from(*v.get_ref()))
    }
    pub(crate) fn rows(&self) -> usize {
        self.rows.as_ref().map_or(2, |v| usize::from(*v.get_ref()))
    }
    pub(crate) fn label(&self) -> &str {
        self.label.as_deref().unwrap_or("Quầy")
    }
    pub(crate) fn blink_ms(&self) -> u64 {
        self.blink_ms
            .as_ref()
            .map_or(DEFAULT_BLINK_MS, |v| *v.get_ref())
    }
    pub(crate) fn blink_period_ms(&self) -> u64 {
        self.blink_period_ms
            .as_ref()
            .map_or(DEFAULT_BLINK_PERIOD_MS, |v| *v.get_ref())
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

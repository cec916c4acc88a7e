//! Board device configuration (`[[buttons]]`, `[[counter_displays]]`, `[[led_boards]]`), its
//! semantic validation with byte spans, and what every device adapter shares: health reports,
//! retry backoff, the pure call/blink model and the counter-display runner thread.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::watch;
use toml::Spanned;

use super::ledboard::{self, FrameConfig};

/// Health callback: `(device name, ok, detail)`. The lead turns these into `DeviceStatus` events.
pub type Report = Arc<dyn Fn(String, bool, String) + Send + Sync>;

/// Wraps any `Fn(String, bool, String)` as a shareable [`Report`].
pub fn report_fn<F>(f: F) -> Report
where
    F: Fn(String, bool, String) + Send + Sync + 'static,
{
    Arc::new(f)
}

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/// One `[[buttons]]` entry: a GPIO line and what pressing it does.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ButtonConfig {
    /// Name used in health reports; defaults to `button <chip>:<line>`.
    #[serde(default)]
    pub name: Option<String>,
    /// GPIO character device: `gpiochip0` or `/dev/gpiochip0`.
    pub chip: Spanned<String>,
    /// Line offset on that chip (on a Raspberry Pi: the BCM GPIO number).
    pub line: Spanned<u32>,
    /// `true` (default) when the button pulls the line to ground (pull-up, pressed = low).
    #[serde(default = "default_true")]
    pub active_low: bool,
    /// A level must hold this long before it counts (default 30 ms, 1..=500).
    #[serde(default)]
    pub debounce_ms: Option<Spanned<u64>>,
    /// A press counts only if no press was recognised in the preceding interval (default 1500 ms).
    #[serde(default)]
    pub min_interval_ms: Option<Spanned<u64>>,
    /// `{ kind = "issue", service = "A", priority = false }`, `{ kind = "next", counter = 3 }`
    /// or `{ kind = "recall", counter = 3 }`.
    pub action: Spanned<ButtonActionConfig>,
}

pub use super::button_action::ButtonActionConfig;

pub const DEFAULT_DEBOUNCE_MS: u64 = 30;
pub const DEFAULT_MIN_INTERVAL_MS: u64 = 1500;

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
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("button {}:{}", self.chip.get_ref(), self.line.get_ref()))
    }
}

fn chip_path(chip: &str) -> String {
    if chip.starts_with('/') {
        chip.to_string()
    } else {
        format!("/dev/{chip}")
    }
}

fn default_true() -> bool {
    true
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
    #[serde(default)]
    pub group_digits: Option<Spanned<u8>>,
    /// max7219: brightness 0..=15 (default 8).
    #[serde(default)]
    pub intensity: Option<Spanned<u8>>,
    /// max7219: SPI clock (default 1 MHz, at most 10 MHz).
    #[serde(default)]
    pub spi_hz: Option<Spanned<u32>>,
    /// hd44780: 7-bit I2C address of the PCF8574 backpack (default 0x27).
    #[serde(default)]
    pub address: Option<Spanned<u16>>,
    /// hd44780: 16 or 20 (default 16).
    #[serde(default)]
    pub columns: Option<Spanned<u8>>,
    /// hd44780: 2 or 4 (default 2).
    #[serde(default)]
    pub rows: Option<Spanned<u8>>,
    /// hd44780: row caption before the counter number (default "Quầy", shown as "Quay").
    #[serde(default)]
    pub label: Option<String>,
    /// How long a new call blinks (default 3000 ms; 0 disables blinking).
    #[serde(default)]
    pub blink_ms: Option<Spanned<u64>>,
    /// Blink half-period: on for this long, off for this long (default 250 ms).
    #[serde(default)]
    pub blink_period_ms: Option<Spanned<u64>>,
}

pub const DEFAULT_BLINK_MS: u64 = 3000;
pub const DEFAULT_BLINK_PERIOD_MS: u64 = 250;

impl CounterDisplayConfig {
    pub fn counter_list(&self) -> Vec<u16> {
        self.counters
            .get_ref()
            .iter()
            .map(|c| *c.get_ref())
            .collect()
    }
    pub fn group_digits(&self) -> usize {
        self.group_digits
            .as_ref()
            .map_or(8, |g| usize::from(*g.get_ref()))
    }
    pub fn intensity(&self) -> u8 {
        self.intensity.as_ref().map_or(8, |v| *v.get_ref())
    }
    pub fn spi_hz(&self) -> u32 {
        self.spi_hz.as_ref().map_or(1_000_000, |v| *v.get_ref())
    }
    pub fn address(&self) -> u16 {
        self.address.as_ref().map_or(0x27, |v| *v.get_ref())
    }
    pub fn columns(&self) -> usize {
        self.columns
            .as_ref()
            .map_or(16, |v| usize::from(*v.get_ref()))
    }
    pub fn rows(&self) -> usize {
        self.rows.as_ref().map_or(2, |v| usize::from(*v.get_ref()))
    }
    pub fn label(&self) -> &str {
        self.label.as_deref().unwrap_or("Quầy")
    }
    pub fn blink_ms(&self) -> u64 {
        self.blink_ms
            .as_ref()
            .map_or(DEFAULT_BLINK_MS, |v| *v.get_ref())
    }
    pub fn blink_period_ms(&self) -> u64 {
        self.blink_period_ms
            .as_ref()
            .map_or(DEFAULT_BLINK_PERIOD_MS, |v| *v.get_ref())
    }
    /// Number of chained MAX7219 modules needed for the configured counters.
    pub fn chips(&self) -> usize {
        (self.counters.get_ref().len() * self.group_digits()).div_ceil(8)
    }
}

/// One `[[led_boards]]` entry: a serial LED board (hall board or per-counter boards on a bus).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedBoardConfig {
    /// Unique name, used in health reports.
    pub name: Spanned<String>,
    /// Serial device, preferably a udev name such as `/dev/layso-ledboard-hall`.
    pub port: Spanned<String>,
    /// Baud rate (default 9600).
    #[serde(default)]
    pub baud: Option<Spanned<u32>>,
    /// Board address put into the frame (default 1).
    #[serde(default)]
    pub address: Option<Spanned<u16>>,
    /// Per-counter boards on one bus: the board address is the counter number.
    #[serde(default)]
    pub address_is_counter: bool,
    /// Counters whose calls this board shows (default: all).
    #[serde(default)]
    pub counters: Option<Spanned<Vec<Spanned<u16>>>>,
    /// Text template with `{ticket}` and `{counter}` (default "Số {ticket} - Quầy {counter}").
    #[serde(default)]
    pub text: Option<Spanned<String>>,
    /// The vendor frame template.
    pub frame: Spanned<FrameConfig>,
}

pub const DEFAULT_LED_TEXT: &str = "Số {ticket} - Quầy {counter}";

impl LedBoardConfig {
    pub fn baud(&self) -> u32 {
        self.baud.as_ref().map_or(9600, |v| *v.get_ref())
    }
    pub fn text_template(&self) -> &str {
        self.text.as_ref().map_or(DEFAULT_LED_TEXT, |t| t.get_ref())
    }
    /// Whether calls at `counter` go to this board.
    pub fn shows(&self, counter: u16) -> bool {
        match &self.counters {
            None => true,
            Some(list) => list.get_ref().iter().any(|c| *c.get_ref() == counter),
        }
    }
    /// The board address for a call at `counter`.
    pub fn address_for(&self, counter: u16) -> u16 {
        if self.address_is_counter {
            counter
        } else {
            self.address.as_ref().map_or(1, |a| *a.get_ref())
        }
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

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

use super::serial::BAUD_RATES as STANDARD_BAUDS;

/// Semantic checks across all device sections. Returns byte spans into the TOML text and
/// messages that say what is wrong and what would be valid; empty when consistent.
pub fn validate(
    buttons: &[ButtonConfig],
    displays: &[CounterDisplayConfig],
    boards: &[LedBoardConfig],
    known_services: &[&str],
    known_counters: &[u16],
) -> Vec<(Range<usize>, String)> {
    let mut errs = Vec::new();
    let counters_list = || {
        let v: Vec<String> = known_counters.iter().map(|c| c.to_string()).collect();
        if v.is_empty() {
            "none are configured".to_string()
        } else {
            format!("configured counters: {}", v.join(", "))
        }
    };
    let check_counter =
        |errs: &mut Vec<(Range<usize>, String)>, span: Range<usize>, c: u16, what: &str| {
            if !known_counters.contains(&c) {
                errs.push((
                    span,
                    format!(
                        "{what} refers to counter {c}, which does not exist ({})",
                        counters_list()
                    ),
                ));
            }
        };

    // Buttons.
    let mut lines: BTreeMap<(String, u32), usize> = BTreeMap::new();
    for (i, b) in buttons.iter().enumerate() {
        let n = i + 1;
        let chip = b.chip.get_ref();
        let chip_name = chip.strip_prefix("/dev/").unwrap_or(chip);
        if !chip_name.starts_with("gpiochip") || chip_name.len() == "gpiochip".len() {
            errs.push((
                b.chip.span(),
                format!("button {n}: chip \"{chip}\" is not a GPIO character device; expected e.g. \"gpiochip0\" or \"/dev/gpiochip0\""),
            ));
        }
        let key = (chip_path(chip), *b.line.get_ref());
        if let Some(first) = lines.get(&key) {
            errs.push((
                b.line.span(),
                format!(
                    "button {n}: line {} on {} is already used by button {first}; each line can drive only one button",
                    key.1, key.0
                ),
            ));
        } else {
            lines.insert(key, n);
        }
        if let Some(d) = &b.debounce_ms {
            if !(1..=500).contains(d.get_ref()) {
                errs.push((
                    d.span(),
                    format!(
                        "button {n}: debounce_ms {} is out of range; use 1..=500 (typical 20..50)",
                        d.get_ref()
                    ),
                ));
            }
        }
        if let Some(m) = &b.min_interval_ms {
            let v = *m.get_ref();
            if v < b.debounce_ms() || v > 600_000 {
                errs.push((
                    m.span(),
                    format!("button {n}: min_interval_ms {v} must be at least debounce_ms ({}) and at most 600000", b.debounce_ms()),
                ));
            }
        }
        match b.action.get_ref() {
            ButtonActionConfig::Issue { service, .. } => {
                if !known_services.contains(&service.as_str()) {
                    let known = if known_services.is_empty() {
                        "none are configured".to_string()
                    } else {
                        format!("configured services: {}", known_services.join(", "))
                    };
                    errs.push((b.action.span(), format!("button {n}: action issues tickets for unknown service \"{service}\" ({known})")));
                }
            }
            ButtonActionConfig::Next { counter }
            | ButtonActionConfig::Recall { counter }
            | ButtonActionConfig::Rate { counter, .. } => {
                check_counter(
                    &mut errs,
                    b.action.span(),
                    *counter,
                    &format!("button {n}: action"),
                );
            }
        }
    }

    // Counter displays.
    let mut names: BTreeMap<String, ()> = BTreeMap::new();
    let mut devices: BTreeMap<String, String> = BTreeMap::new();
    for d in displays {
        let name = d.name.get_ref().clone();
        let what = format!("counter display \"{name}\"");
        if names.insert(name.clone(), ()).is_some() {
            errs.push((
                d.name.span(),
                format!("{what}: the name is used twice; display names must be unique"),
            ));
        }
        if d.device.get_ref().trim().is_empty() {
            errs.push((
                d.device.span(),
                format!(
                    "{what}: device is empty; expected e.g. \"/dev/spidev0.0\" or \"/dev/i2c-1\""
                ),
            ));
        } else if let Some(other) = devices.insert(d.device.get_ref().clone(), name.clone()) {
            errs.push((d.device.span(), format!("{what}: device {} is already driven by display \"{other}\"; chain the counters in one entry instead", d.device.get_ref())));
        }
        let list = d.counters.get_ref();
        if list.is_empty() {
            errs.push((
                d.counters.span(),
                format!("{what}: counters is empty; list the counters it shows, e.g. [1, 2]"),
            ));
        }
        let mut seen = BTreeSet::new();
        for c in list {
            check_counter(&mut errs, c.span(), *c.get_ref(), &what);
            if !seen.insert(*c.get_ref()) {
                errs.push((
                    c.span(),
                    format!("{what}: counter {} is listed twice", c.get_ref()),
                ));
            }
        }
        let wrong_kind = |errs: &mut Vec<(Range<usize>, String)>,
                          span: Option<Range<usize>>,
                          key: &str,
                          kind: &str| {
            if let Some(span) = span {
                errs.push((
                    span,
                    format!("{what}: `{key}` applies only to kind = \"{kind}\"; remove it"),
                ));
            }
        };
        match d.kind.get_ref() {
            DisplayKind::Max7219 => {
                wrong_kind(
                    &mut errs,
                    d.address.as_ref().map(|v| v.span()),
                    "address",
                    "hd44780",
                );
                wrong_kind(
                    &mut errs,
                    d.columns.as_ref().map(|v| v.span()),
                    "columns",
                    "hd44780",
                );
                wrong_kind(
                    &mut errs,
                    d.rows.as_ref().map(|v| v.span()),
                    "rows",
                    "hd44780",
                );
                if let Some(g) = &d.group_digits {
                    if !matches!(g.get_ref(), 4 | 8) {
                        errs.push((g.span(), format!("{what}: group_digits {} is not supported; use 8 (one module per counter) or 4 (two counters per module)", g.get_ref())));
                    }
                }
                if let Some(v) = &d.intensity {
                    if *v.get_ref() > 15 {
                        errs.push((
                            v.span(),
                            format!(
                                "{what}: intensity {} is out of range; use 0..=15",
                                v.get_ref()
                            ),
                        ));
                    }
                }
                if let Some(v) = &d.spi_hz {
                    if !(10_000..=10_000_000).contains(v.get_ref()) {
                        errs.push((v.span(), format!("{what}: spi_hz {} is out of range; the MAX7219 takes 10000..=10000000", v.get_ref())));
                    }
                }
                if d.chips() > super::max7219::MAX_CHIPS {
                    errs.push((
                        d.counters.span(),
                        format!(
                            "{what}: {} counters need {} chained modules; at most {} are supported",
                            list.len(),
                            d.chips(),
                            super::max7219::MAX_CHIPS
                        ),
                    ));
                }
            }
            DisplayKind::Hd44780 => {
                wrong_kind(
                    &mut errs,
                    d.group_digits.as_ref().map(|v| v.span()),
                    "group_digits",
                    "max7219",
                );
                wrong_kind(
                    &mut errs,
                    d.intensity.as_ref().map(|v| v.span()),
                    "intensity",
                    "max7219",
                );
                wrong_kind(
                    &mut errs,
                    d.spi_hz.as_ref().map(|v| v.span()),
                    "spi_hz",
                    "max7219",
                );
                if let Some(a) = &d.address {
                    if !(0x03..=0x77).contains(a.get_ref()) {
                        errs.push((a.span(), format!("{what}: I2C address {:#04x} is out of range; PCF8574 backpacks use 0x20..=0x27, PCF8574A 0x38..=0x3f", a.get_ref())));
                    }
                }
                if let Some(c) = &d.columns {
                    if !matches!(c.get_ref(), 16 | 20) {
                        errs.push((
                            c.span(),
                            format!(
                                "{what}: columns {} is not supported; use 16 or 20",
                                c.get_ref()
                            ),
                        ));
                    }
                }
                if let Some(r) = &d.rows {
                    if !matches!(r.get_ref(), 2 | 4) {
                        errs.push((
                            r.span(),
                            format!("{what}: rows {} is not supported; use 2 or 4", r.get_ref()),
                        ));
                    }
                }
                if list.len() > d.rows() {
                    errs.push((
                        d.counters.span(),
                        format!(
                            "{what}: {} counters do not fit on {} rows (one row per counter)",
                            list.len(),
                            d.rows()
                        ),
                    ));
                }
            }
        }
        if let Some(p) = &d.blink_period_ms {
            if !(50..=5000).contains(p.get_ref()) {
                errs.push((
                    p.span(),
                    format!(
                        "{what}: blink_period_ms {} is out of range; use 50..=5000",
                        p.get_ref()
                    ),
                ));
            }
        }
        if let Some(b) = &d.blink_ms {
            if *b.get_ref() > 600_000 {
                errs.push((
                    b.span(),
                    format!(
                        "{what}: blink_ms {} is too long; use 0..=600000",
                        b.get_ref()
                    ),
                ));
            }
        }
    }

    // LED boards.
    let mut board_names = BTreeSet::new();
    let mut ports: BTreeMap<String, String> = BTreeMap::new();
    for b in boards {
        let name = b.name.get_ref().clone();
        let what = format!("LED board \"{name}\"");
        if !board_names.insert(name.clone()) {
            errs.push((
                b.name.span(),
                format!("{what}: the name is used twice; board names must be unique"),
            ));
        }
        if b.port.get_ref().trim().is_empty() {
            errs.push((
                b.port.span(),
                format!("{what}: port is empty; expected e.g. \"/dev/layso-ledboard-hall\""),
            ));
        } else if let Some(other) = ports.insert(b.port.get_ref().clone(), name.clone()) {
            errs.push((b.port.span(), format!("{what}: port {} is already used by board \"{other}\"; boards on one bus share one entry (address_is_counter = true)", b.port.get_ref())));
        }
        if let Some(baud) = &b.baud {
            if !super::serial::is_supported_baud(*baud.get_ref()) {
                let list: Vec<String> = STANDARD_BAUDS.iter().map(|v| v.to_string()).collect();
                errs.push((
                    baud.span(),
                    format!(
                        "{what}: baud {} is not a standard rate; use one of {}",
                        baud.get_ref(),
                        list.join(", ")
                    ),
                ));
            }
        }
        let frame = b.frame.get_ref();
        let max_addr = frame.address.max_value();
        if let Some(a) = &b.address {
            if b.address_is_counter {
                errs.push((a.span(), format!("{what}: `address` and `address_is_counter = true` exclude each other; keep one")));
            } else if u32::from(*a.get_ref()) > max_addr {
                errs.push((a.span(), format!("{what}: address {} does not fit the frame's address format (max {max_addr})", a.get_ref())));
            }
        }
        if let Some(list) = &b.counters {
            if list.get_ref().is_empty() {
                errs.push((
                    list.span(),
                    format!(
                        "{what}: counters is empty; remove it to show every counter, or list some"
                    ),
                ));
            }
            for c in list.get_ref() {
                check_counter(&mut errs, c.span(), *c.get_ref(), &what);
            }
        }
        if b.address_is_counter {
            let shown: Vec<u16> = match &b.counters {
                Some(list) => list.get_ref().iter().map(|c| *c.get_ref()).collect(),
                None => known_counters.to_vec(),
            };
            if let Some(c) = shown.iter().find(|c| u32::from(**c) > max_addr) {
                errs.push((b.frame.span(), format!("{what}: counter {c} cannot be a board address in this frame format (max {max_addr})")));
            }
        }
        if let Some(t) = &b.text {
            if let Err(e) = ledboard::check_text_template(t.get_ref()) {
                errs.push((t.span(), format!("{what}: text: {e}")));
            }
        }
        for (span, msg) in ledboard::validate_frame(frame) {
            errs.push((
                span.unwrap_or_else(|| b.frame.span()),
                format!("{what}: frame: {msg}"),
            ));
        }
    }
    errs
}

// ---------------------------------------------------------------------------------------------
// Shared adapter helpers
// ---------------------------------------------------------------------------------------------

pub use crate::backoff::Backoff;

/// Sends a health report only when the state or the detail changes, so a device that keeps
/// failing the same way does not flood the log.
pub struct Health {
    name: String,
    report: Report,
    last: Option<(bool, String)>,
}

impl Health {
    pub fn new(name: String, report: Report) -> Self {
        Health {
            name,
            report,
            last: None,
        }
    }
    pub fn set(&mut self, ok: bool, detail: impl Into<String>) {
        let detail = detail.into();
        if self.last.as_ref() != Some(&(ok, detail.clone())) {
            (self.report)(self.name.clone(), ok, detail.clone());
            self.last = Some((ok, detail));
        }
    }
}

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
pub struct CallBlinker {
    counters: Vec<u16>,
    current: Vec<Option<String>>,
    blink_start: Vec<Option<u64>>,
    blink_ms: u64,
    period_ms: u64,
    primed: bool,
}

impl CallBlinker {
    pub fn new(counters: Vec<u16>, blink_ms: u64, period_ms: u64) -> Self {
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
    pub fn update(&mut self, calls: &BTreeMap<u16, Option<String>>, now_ms: u64) -> Vec<u16> {
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

    pub fn slots(&self, now_ms: u64) -> Vec<Slot> {
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
    pub fn next_change(&self, now_ms: u64) -> Option<u64> {
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
pub const REFRESH_EVERY: Duration = Duration::from_secs(60);

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

/// Opens the real device for a counter display on linux-embedded-hal.
pub fn open_surface(cfg: &CounterDisplayConfig) -> Result<Box<dyn CounterSurface>, String> {
    match cfg.kind.get_ref() {
        DisplayKind::Max7219 => {
            super::max7219::open_linux(cfg).map(|s| Box::new(s) as Box<dyn CounterSurface>)
        }
        DisplayKind::Hd44780 => {
            super::hd44780::open_linux(cfg).map(|s| Box::new(s) as Box<dyn CounterSurface>)
        }
    }
}

/// Starts a counter display on its own thread (blocking bus calls stay off the runtime).
/// Must be called from inside a tokio runtime. The thread ends when the watch sender is dropped.
pub fn spawn_counter_display<F>(
    cfg: CounterDisplayConfig,
    calls: watch::Receiver<BTreeMap<u16, Option<String>>>,
    report: F,
) -> std::io::Result<std::thread::JoinHandle<()>>
where
    F: Fn(String, bool, String) + Send + Sync + 'static,
{
    let report = report_fn(report);
    let name = cfg.name.get_ref().clone();
    let handle = tokio::runtime::Handle::current();
    std::thread::Builder::new()
        .name(format!("display-{name}"))
        .spawn(move || {
            let open_cfg = cfg.clone();
            run_counter_display(
                &cfg,
                calls,
                report,
                RetryPolicy::default(),
                &handle,
                move || open_surface(&open_cfg),
            )
        })
}

/// The body of a counter display's thread (what [`spawn_counter_display`] runs), for a
/// supervisor that runs it on a blocking thread. Call from inside a tokio runtime.
pub fn counter_display_thread<F>(
    cfg: CounterDisplayConfig,
    calls: watch::Receiver<BTreeMap<u16, Option<String>>>,
    report: F,
) -> impl FnOnce() + Send + 'static
where
    F: Fn(String, bool, String) + Send + Sync + 'static,
{
    let report = report_fn(report);
    let handle = tokio::runtime::Handle::current();
    move || {
        let open_cfg = cfg.clone();
        run_counter_display(
            &cfg,
            calls,
            report,
            RetryPolicy::default(),
            &handle,
            move || open_surface(&open_cfg),
        )
    }
}

/// The runner loop, generic over how the device is opened. Blocking; run it on its own thread.
/// `handle` is a tokio runtime handle used to wait on the watch channel.
pub fn run_counter_display<O>(
    cfg: &CounterDisplayConfig,
    mut calls: watch::Receiver<BTreeMap<u16, Option<String>>>,
    report: Report,
    retry: RetryPolicy,
    handle: &tokio::runtime::Handle,
    mut open: O,
) where
    O: FnMut() -> Result<Box<dyn CounterSurface>, String>,
{
    let start = Instant::now();
    let now_ms = || u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut health = Health::new(cfg.name.get_ref().clone(), report);
    let mut blinker = CallBlinker::new(cfg.counter_list(), cfg.blink_ms(), cfg.blink_period_ms());
    let initial = calls.borrow_and_update().clone();
    blinker.update(&initial, now_ms());
    let mut backoff = Backoff::new(retry.initial, retry.max);
    let mut surface: Option<Box<dyn CounterSurface>> = None;
    let mut shown: Option<Vec<Slot>> = None;
    let mut retry_at = 0u64;
    let refresh_ms = u64::try_from(retry.refresh.as_millis())
        .unwrap_or(u64::MAX / 2)
        .max(1);
    let mut refresh_at = refresh_ms;
    // `changed()` below marks the value seen, so remember that it changed.
    let mut dirty = false;
    loop {
        match calls.has_changed() {
            Err(_) => return,
            Ok(changed) => {
                if changed || dirty {
                    let map = calls.borrow_and_update().clone();
                    blinker.update(&map, now_ms());
                    dirty = false;
                }
            }
        }
        let now = now_ms();
        if surface.is_none() && now >= retry_at {
            match open() {
                Ok(s) => {
                    surface = Some(s);
                    shown = None;
                    backoff.reset();
                    health.set(true, "ok");
                }
                Err(e) => {
                    let d = backoff.next_delay();
                    retry_at = now + u64::try_from(d.as_millis()).unwrap_or(u64::MAX / 2);
                    health.set(false, format!("{e}; retrying"));
                }
            }
        }
        if let Some(s) = surface.as_mut() {
            let slots = blinker.slots(now);
            let mut result = Ok(());
            if now >= refresh_at {
                refresh_at = now + refresh_ms;
                result = s.refresh();
                shown = None;
            }
            if result.is_ok() && shown.as_ref() != Some(&slots) {
                result = s.show(&slots);
            }
            if shown.as_ref() != Some(&slots) {
                match result {
                    Ok(()) => {
                        shown = Some(slots);
                        health.set(true, "ok");
                    }
                    Err(e) => {
                        surface = None;
                        let d = backoff.next_delay();
                        retry_at = now + u64::try_from(d.as_millis()).unwrap_or(u64::MAX / 2);
                        health.set(false, format!("{e}; retrying"));
                    }
                }
            }
        }
        // Sleep until the next blink edge, retry or change; at most 1 s per round.
        let mut wake = (now + 1000).min(refresh_at);
        if let Some(t) = blinker.next_change(now) {
            wake = wake.min(t);
        }
        if surface.is_none() {
            wake = wake.min(retry_at.max(now));
        }
        let wait = Duration::from_millis(wake.saturating_sub(now_ms()));
        match handle.block_on(async { tokio::time::timeout(wait, calls.changed()).await }) {
            Ok(Err(_)) => return, // sender dropped: the daemon is shutting down
            Ok(Ok(())) => dirty = true,
            Err(_) => {} // timed out: a blink edge or a retry is due
        }
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

//! Semantic validation of the board device sections, with byte spans into the TOML text.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use super::config::*;
use crate::devices::ledboard;

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

use crate::devices::serial::BAUD_RATES as STANDARD_BAUDS;

/// When `field` is set and `refused` says its value is wrong, a problem at its place with
/// `message` (what was wrong and what would be right).
fn refuse<T>(
    errs: &mut Vec<(Range<usize>, String)>,
    field: &Option<toml::Spanned<T>>,
    refused: impl FnOnce(&T) -> bool,
    message: impl FnOnce(&T) -> String,
) {
    if let Some(f) = field {
        if refused(f.get_ref()) {
            errs.push((f.span(), message(f.get_ref())));
        }
    }
}

/// How the messages about one section's named entries read.
struct Section {
    /// What an entry is called: `counter display "hall"`.
    label: &'static str,
    /// In "{things} names must be unique".
    things: &'static str,
    /// The key holding the entry's device path.
    path_key: &'static str,
    /// Device paths to suggest when it is empty.
    example: &'static str,
    /// Said of a path another entry has: `is already driven by display`.
    claimed: &'static str,
    /// What to do instead of claiming it twice.
    advice: &'static str,
}

const DISPLAYS: Section = Section {
    label: "counter display",
    things: "display",
    path_key: "device",
    example: "\"/dev/spidev0.0\" or \"/dev/i2c-1\"",
    claimed: "is already driven by display",
    advice: "chain the counters in one entry instead",
};

const BOARDS: Section = Section {
    label: "LED board",
    things: "board",
    path_key: "port",
    example: "\"/dev/layso-ledboard-hall\"",
    claimed: "is already used by board",
    advice: "boards on one bus share one entry (address_is_counter = true)",
};

/// The names and device paths the entries of one section have taken so far.
#[derive(Default)]
struct Taken {
    names: BTreeSet<String>,
    /// Device path → the entry that has it.
    paths: BTreeMap<String, String>,
}

impl Section {
    /// Refuses an entry whose name an earlier entry has, or whose device path is empty or
    /// taken; returns how messages name the entry.
    fn entry(
        &self,
        errs: &mut Vec<(Range<usize>, String)>,
        taken: &mut Taken,
        name: &toml::Spanned<String>,
        path: &toml::Spanned<String>,
    ) -> String {
        let what = format!("{} \"{}\"", self.label, name.get_ref());
        if !taken.names.insert(name.get_ref().clone()) {
            let things = self.things;
            errs.push((
                name.span(),
                format!("{what}: the name is used twice; {things} names must be unique"),
            ));
        }
        let (key, p) = (self.path_key, path.get_ref());
        if p.trim().is_empty() {
            let example = self.example;
            let message = format!("{what}: {key} is empty; expected e.g. {example}");
            errs.push((path.span(), message));
        } else if let Some(other) = taken.paths.insert(p.clone(), name.get_ref().clone()) {
            let (claimed, advice) = (self.claimed, self.advice);
            let message = format!("{what}: {key} {p} {claimed} \"{other}\"; {advice}");
            errs.push((path.span(), message));
        }
        what
    }
}

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
        refuse(
            &mut errs,
            &b.debounce_ms,
            |v| !(1..=500).contains(v),
            |v| {
                format!("button {n}: debounce_ms {v} is out of range; use 1..=500 (typical 20..50)")
            },
        );
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
    let mut taken = Taken::default();
    for d in displays {
        let what = DISPLAYS.entry(&mut errs, &mut taken, &d.name, &d.device);
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
        // Keys of one driver set on a display of the other.
        let (lcd, segments) = (DisplayKind::Hd44780, DisplayKind::Max7219);
        for (span, key, owner) in [
            (d.address.as_ref().map(|v| v.span()), "address", lcd),
            (d.columns.as_ref().map(|v| v.span()), "columns", lcd),
            (d.rows.as_ref().map(|v| v.span()), "rows", lcd),
            (
                d.group_digits.as_ref().map(|v| v.span()),
                "group_digits",
                segments,
            ),
            (
                d.intensity.as_ref().map(|v| v.span()),
                "intensity",
                segments,
            ),
            (d.spi_hz.as_ref().map(|v| v.span()), "spi_hz", segments),
        ] {
            let kind = match owner {
                DisplayKind::Hd44780 => "hd44780",
                DisplayKind::Max7219 => "max7219",
            };
            if let Some(span) = span.filter(|_| owner != *d.kind.get_ref()) {
                errs.push((
                    span,
                    format!("{what}: `{key}` applies only to kind = \"{kind}\"; remove it"),
                ));
            }
        }
        match d.kind.get_ref() {
            DisplayKind::Max7219 => {
                refuse(
                    &mut errs,
                    &d.group_digits,
                    |v| !matches!(v, 4 | 8),
                    |v| {
                        format!("{what}: group_digits {v} is not supported; use 8 (one module per counter) or 4 (two counters per module)")
                    },
                );
                refuse(
                    &mut errs,
                    &d.intensity,
                    |v| *v > 15,
                    |v| format!("{what}: intensity {v} is out of range; use 0..=15"),
                );
                refuse(
                    &mut errs,
                    &d.spi_hz,
                    |v| !(10_000..=10_000_000).contains(v),
                    |v| {
                        format!("{what}: spi_hz {v} is out of range; the MAX7219 takes 10000..=10000000")
                    },
                );
                if d.chips() > crate::devices::max7219::MAX_CHIPS {
                    errs.push((
                        d.counters.span(),
                        format!(
                            "{what}: {} counters need {} chained modules; at most {} are supported",
                            list.len(),
                            d.chips(),
                            crate::devices::max7219::MAX_CHIPS
                        ),
                    ));
                }
            }
            DisplayKind::Hd44780 => {
                refuse(
                    &mut errs,
                    &d.address,
                    |v| !(0x03..=0x77).contains(v),
                    |v| {
                        format!("{what}: I2C address {v:#04x} is out of range; PCF8574 backpacks use 0x20..=0x27, PCF8574A 0x38..=0x3f")
                    },
                );
                refuse(
                    &mut errs,
                    &d.columns,
                    |v| !matches!(v, 16 | 20),
                    |v| format!("{what}: columns {v} is not supported; use 16 or 20"),
                );
                refuse(
                    &mut errs,
                    &d.rows,
                    |v| !matches!(v, 2 | 4),
                    |v| format!("{what}: rows {v} is not supported; use 2 or 4"),
                );
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
        refuse(
            &mut errs,
            &d.blink_period_ms,
            |v| !(50..=5000).contains(v),
            |v| format!("{what}: blink_period_ms {v} is out of range; use 50..=5000"),
        );
        refuse(
            &mut errs,
            &d.blink_ms,
            |v| *v > 600_000,
            |v| format!("{what}: blink_ms {v} is too long; use 0..=600000"),
        );
    }

    // LED boards.
    let mut taken = Taken::default();
    for b in boards {
        let what = BOARDS.entry(&mut errs, &mut taken, &b.name, &b.port);
        if let Some(baud) = &b.baud {
            if !crate::devices::serial::is_supported_baud(*baud.get_ref()) {
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

#[cfg(test)]
mod tests;

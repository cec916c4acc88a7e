//! The `[keypads]` bus configuration and its validation.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use layso_keypad::regs::{char_time_us, master_gap_us};
use serde::Deserialize;
use toml::Spanned;

use crate::config::defaults::unwritten_defaults;

/// Parity of the bus characters (8 data bits; 1 stop bit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BusParity {
    /// 8N1, 10 bits a character (the keypad firmware's default).
    #[default]
    None,
    /// 8E1, 11 bits a character (the Modbus specification's default).
    Even,
    /// 8O1.
    Odd,
}

/// One keypad on the bus.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeypadEntry {
    /// Its Modbus address (address switches), 1..=247.
    pub address: Spanned<u8>,
    /// The counter whose presses and number it carries.
    pub counter: Spanned<u16>,
}

/// `[keypads]` in the config: one RS-485 bus of counter keypads.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeypadBusConfig {
    /// Serial device, e.g. `/dev/ttyAMA0` or `/dev/ttyUSB0`.
    pub path: String,
    /// Bus speed (default 19200).
    #[serde(default = "default_baud")]
    pub baud: Spanned<u32>,
    /// Character parity (default none).
    #[serde(default)]
    pub parity: BusParity,
    /// The keypads on this bus.
    pub keypads: Vec<KeypadEntry>,
    /// Minimum time between the starts of two poll cycles (default 0: poll back to back).
    #[serde(default = "default_poll")]
    pub poll_interval_ms: Spanned<u64>,
    /// How long to wait for a reply after the request has left (default 50).
    #[serde(default = "default_timeout")]
    pub timeout_ms: Spanned<u64>,
    /// Let the kernel drive the transceiver's DE pin from RTS (serial RS-485 mode), for a
    /// board UART wired to a plain MAX485-style transceiver. Leave false (default) for USB
    /// adapters with automatic direction control. If the port refuses, a warning is logged
    /// and the bus runs without it.
    #[serde(default)]
    pub rs485_rts: bool,
}

unwritten_defaults! {
    default_baud: u32 = 19_200,
    default_poll: u64 = 0,
    default_timeout: u64 = 50,
}

use crate::devices::serial::BAUD_RATES as STANDARD_BAUDS;

impl KeypadBusConfig {
    /// Semantic checks: byte spans in the config text and what would be valid.
    pub fn validate(&self) -> Vec<(Range<usize>, String)> {
        let mut errs = Vec::new();
        let baud = *self.baud.get_ref();
        if !crate::devices::serial::is_supported_baud(baud) {
            errs.push((self.baud.span(), format!("baud {baud} is not a standard serial speed; use one of {STANDARD_BAUDS:?} (keypads default to 19200)")));
        }
        let timeout = *self.timeout_ms.get_ref();
        if !(5..=2000).contains(&timeout) {
            errs.push((
                self.timeout_ms.span(),
                format!("timeout_ms {timeout} is out of range; use 5..=2000 (default 50)"),
            ));
        }
        let poll = *self.poll_interval_ms.get_ref();
        if poll > 10_000 {
            errs.push((self.poll_interval_ms.span(), format!("poll_interval_ms {poll} would leave presses waiting over 10 s; use 0..=10000 (default 0)")));
        }
        let mut seen: BTreeMap<u8, ()> = BTreeMap::new();
        for k in &self.keypads {
            let a = *k.address.get_ref();
            if !(1..=247).contains(&a) {
                errs.push((k.address.span(), format!("keypad address {a} is invalid; use 1..=247 (the keypad's address switches give 1..=31)")));
            } else if seen.insert(a, ()).is_some() {
                errs.push((k.address.span(), format!("keypad address {a} appears twice; every keypad on a bus needs its own address")));
            }
            if *k.counter.get_ref() == 0 {
                errs.push((
                    k.counter.span(),
                    "counter 0 does not exist; counters are numbered from 1".to_string(),
                ));
            }
        }
        errs
    }

    /// Bits per character on the wire.
    pub(crate) fn bits_per_char(&self) -> u32 {
        match self.parity {
            BusParity::None => 10,
            BusParity::Even | BusParity::Odd => 11,
        }
    }

    /// Estimated poll cycle with every keypad idle and answering (request, reply, t3.5 gaps).
    pub(crate) fn estimated_cycle(&self) -> Duration {
        let baud = *self.baud.get_ref();
        let ch = char_time_us(baud, self.bits_per_char());
        let per_pad = ch * (8 + 9) + master_gap_us(baud, self.bits_per_char()) + 300;
        Duration::from_micros(per_pad * self.keypads.len() as u64)
    }
}

//! One `[[led_boards]]` entry: the serial port, the board address, the text template and the
//! vendor frame template (`FrameConfig`, in `format.rs`).

use serde::Deserialize;
use toml::Spanned;

use crate::config::defaults::written_or;

use super::FrameConfig;

/// One `[[led_boards]]` entry: a serial LED board (hall board or per-counter boards on a bus).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedBoardConfig {
    /// Unique name, used in health reports.
    pub name: Spanned<String>,
    /// Serial device, preferably a udev name such as `/dev/layso-ledboard-hall`.
    pub port: Spanned<String>,
    /// Baud rate (default 9600).
    pub baud: Option<Spanned<u32>>,
    /// Board address put into the frame (default 1).
    pub address: Option<Spanned<u16>>,
    /// Per-counter boards on one bus: the board address is the counter number.
    #[serde(default)]
    pub address_is_counter: bool,
    /// Counters whose calls this board shows (default: all).
    pub counters: Option<Spanned<Vec<Spanned<u16>>>>,
    /// Text template with `{ticket}` and `{counter}` (default "Số {ticket} - Quầy {counter}").
    pub text: Option<Spanned<String>>,
    /// The vendor frame template.
    pub frame: Spanned<FrameConfig>,
}

pub const DEFAULT_LED_TEXT: &str = "Số {ticket} - Quầy {counter}";

impl LedBoardConfig {
    pub(crate) fn baud(&self) -> u32 {
        written_or(&self.baud, 9600)
    }
    pub(crate) fn text_template(&self) -> &str {
        self.text.as_ref().map_or(DEFAULT_LED_TEXT, |t| t.get_ref())
    }
    /// Whether calls at `counter` go to this board.
    pub(crate) fn shows(&self, counter: u16) -> bool {
        match &self.counters {
            None => true,
            Some(list) => list.get_ref().iter().any(|c| *c.get_ref() == counter),
        }
    }
    /// The board address for a call at `counter`.
    pub(crate) fn address_for(&self, counter: u16) -> u16 {
        if self.address_is_counter {
            counter
        } else {
            written_or(&self.address, 1)
        }
    }
}

//! What a `[[buttons]]` entry does (`action = { kind = … }`), including the citizen rating
//! buttons, and the engine command each press becomes.

use crate::core::rating::RatingLevel;
use crate::core::Command;
use serde::Deserialize;

/// What a button does, as written in the config.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ButtonActionConfig {
    Issue {
        service: String,
        #[serde(default)]
        priority: bool,
    },
    Next {
        counter: u16,
    },
    Recall {
        counter: u16,
    },
    /// One of a counter's three rating buttons: `{ kind = "rate", counter = 1,
    /// level = "very_satisfied" | "satisfied" | "unsatisfied" }`.
    Rate {
        counter: u16,
        level: RatingLevel,
    },
}

/// The command a rating button sends (reasons and dossier need the tablet).
pub fn rate_command(counter: u16, level: RatingLevel) -> Command {
    Command::Rate {
        counter,
        level,
        reasons: Vec::new(),
        dossier: String::new(),
    }
}

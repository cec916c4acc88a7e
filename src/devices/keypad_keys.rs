//! What a keypad key asks of a counter: the seven counter keys and the three rating keys
//! (codes 8-10, sent only by keypads in the rating layout), and the command each becomes.

use crate::core::rating::RatingLevel;
use crate::core::Command;
use layso_keypad::regs::KeyCode;

/// What a key press asks of a counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyAction {
    /// Call the next ticket.
    Next,
    /// Repeat the call of the current ticket.
    Recall,
    /// Mark the current ticket as a no-show.
    Skip,
    /// Mark the current ticket as served.
    Complete,
    /// Transfer the current ticket to another service.
    Transfer,
    /// Pause the counter.
    Pause,
    /// Open (resume) the counter.
    Open,
    /// A citizen's rating of the ticket just finished at the counter (rating layout).
    Rate(RatingLevel),
}

impl From<KeyCode> for KeyAction {
    fn from(k: KeyCode) -> Self {
        match k {
            KeyCode::Next => KeyAction::Next,
            KeyCode::Recall => KeyAction::Recall,
            KeyCode::Skip => KeyAction::Skip,
            KeyCode::Complete => KeyAction::Complete,
            KeyCode::Transfer => KeyAction::Transfer,
            KeyCode::Pause => KeyAction::Pause,
            KeyCode::Open => KeyAction::Open,
            KeyCode::RateVerySatisfied => KeyAction::Rate(RatingLevel::VerySatisfied),
            KeyCode::RateSatisfied => KeyAction::Rate(RatingLevel::Satisfied),
            KeyCode::RateUnsatisfied => KeyAction::Rate(RatingLevel::Unsatisfied),
        }
    }
}

impl KeyAction {
    /// The engine command for a rating key (None for the counter keys, which the
    /// adapter maps itself).
    pub(crate) fn rating_command(self, counter: u16) -> Option<Command> {
        match self {
            KeyAction::Rate(level) => Some(Command::Rate {
                counter,
                level,
                reasons: Vec::new(),
                dossier: String::new(),
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_code_has_its_own_action() {
        let all: std::collections::HashSet<KeyAction> = KeyCode::ALL
            .iter()
            .chain(KeyCode::RATING.iter())
            .map(|&k| KeyAction::from(k))
            .collect();
        assert_eq!(all.len(), 10);
        assert_eq!(
            KeyAction::from(KeyCode::RateUnsatisfied).rating_command(2),
            Some(Command::Rate {
                counter: 2,
                level: RatingLevel::Unsatisfied,
                reasons: vec![],
                dossier: String::new()
            })
        );
        assert_eq!(KeyAction::Next.rating_command(2), None);
    }
}

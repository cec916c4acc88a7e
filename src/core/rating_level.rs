//! The three official levels of a citizen's rating (the national satisfaction index), as
//! commands and events carry them.

use serde::{Deserialize, Serialize};

/// The three official levels of the national satisfaction index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RatingLevel {
    /// Rất hài lòng.
    VerySatisfied,
    /// Hài lòng.
    Satisfied,
    /// Chưa hài lòng.
    Unsatisfied,
}

impl RatingLevel {
    pub const ALL: [RatingLevel; 3] = [
        RatingLevel::VerySatisfied,
        RatingLevel::Satisfied,
        RatingLevel::Unsatisfied,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            RatingLevel::VerySatisfied => "very_satisfied",
            RatingLevel::Satisfied => "satisfied",
            RatingLevel::Unsatisfied => "unsatisfied",
        }
    }
    pub fn vi(self) -> &'static str {
        match self {
            RatingLevel::VerySatisfied => "Rất hài lòng",
            RatingLevel::Satisfied => "Hài lòng",
            RatingLevel::Unsatisfied => "Chưa hài lòng",
        }
    }
    /// The compact on-disk code.
    pub fn code(self) -> u8 {
        match self {
            RatingLevel::VerySatisfied => 0,
            RatingLevel::Satisfied => 1,
            RatingLevel::Unsatisfied => 2,
        }
    }
    pub fn from_code(c: u8) -> Option<RatingLevel> {
        RatingLevel::ALL.into_iter().find(|l| l.code() == c)
    }
    pub fn parse(s: &str) -> Option<RatingLevel> {
        RatingLevel::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

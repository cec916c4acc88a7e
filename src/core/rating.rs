//! Officers and citizen ratings: who is signed in at which counter, and the binding rules
//! of a rating (one per ticket, only the ticket just finished at that counter, within
//! the window). Pure: `decide` and `apply` call in here.

use super::command::{RejectCode, Rejection};
use super::event::{Entry, Event};
use super::state::State;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet, VecDeque};

/// How many unsatisfied ratings the state keeps for the alert panels.
pub const ALERTS_KEPT: usize = 20;

/// Longest dossier code a rating may carry.
pub const DOSSIER_MAX: usize = 64;

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

/// The rating and sign-in rules of a site, from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingRules {
    /// Officer ids that may sign in.
    pub officers: Vec<String>,
    /// Whether a counter with nobody signed in may call (attributed to no officer).
    pub allow_anonymous: bool,
    /// How long after a ticket is finished its rating is accepted, in ms.
    pub window_ms: i64,
    /// Whether a skipped ticket may be rated too.
    pub rate_on_skip: bool,
    /// Reason codes an unsatisfied rating may carry.
    pub reasons: Vec<String>,
}

impl Default for RatingRules {
    fn default() -> Self {
        RatingRules {
            officers: Vec::new(),
            allow_anonymous: true,
            window_ms: 120_000,
            rate_on_skip: false,
            reasons: Vec::new(),
        }
    }
}

/// The ticket a counter finished last: the one its rating device may rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub ticket: String,
    pub officer: String,
    pub at: i64,
    pub skipped: bool,
}

/// An unsatisfied rating, kept for the alert panels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub seq: u64,
    pub at: i64,
    pub counter: u16,
    pub ticket: String,
    pub officer: String,
    pub reasons: Vec<String>,
    pub dossier: String,
}

/// The day's officer and rating state. Reset with the day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RatingDay {
    /// Who is signed in at each counter.
    pub signed_in: BTreeMap<u16, String>,
    pub last_finished: BTreeMap<u16, Finished>,
    pub rated: HashSet<String>,
    /// Newest first.
    pub alerts: VecDeque<Alert>,
}

impl RatingDay {
    /// The officer signed in at `counter` ("" for nobody).
    pub fn officer_at(&self, counter: u16) -> String {
        self.signed_in.get(&counter).cloned().unwrap_or_default()
    }
    /// The counter `officer` is signed in at.
    pub fn counter_of(&self, officer: &str) -> Option<u16> {
        self.signed_in
            .iter()
            .find(|(_, o)| o.as_str() == officer)
            .map(|(c, _)| *c)
    }
}

/// A ticket a counter's rating device may rate, until `until` (ms).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ratable {
    pub counter: u16,
    pub ticket: String,
    pub officer: String,
    pub finished_at: i64,
    pub until: i64,
}

/// Tickets that are finished and not rated yet, whatever the time (see `until`).
pub fn ratable(st: &State) -> Vec<Ratable> {
    st.ratings
        .last_finished
        .iter()
        .filter(|(_, f)| !st.ratings.rated.contains(&f.ticket))
        .filter(|(_, f)| !f.skipped || st.site.ratings.rate_on_skip)
        .map(|(c, f)| Ratable {
            counter: *c,
            ticket: f.ticket.clone(),
            officer: f.officer.clone(),
            finished_at: f.at,
            until: f.at.saturating_add(st.site.ratings.window_ms),
        })
        .collect()
}

fn reject(code: RejectCode, vi: String, en: String) -> Rejection {
    Rejection::new(code, vi, en)
}

/// Sign `officer` in at `counter`: signs them out where they were, and whoever was
/// signed in here. Nothing happens when they already are signed in here.
pub fn sign_in(st: &State, counter: u16, officer: &str) -> Result<Vec<Event>, Rejection> {
    let rules = &st.site.ratings;
    if !rules.officers.iter().any(|o| o == officer) {
        return Err(reject(
            RejectCode::UnknownOfficer,
            format!("Không có cán bộ mã '{officer}'."),
            format!("There is no officer '{officer}'; officers are listed in [[officers]] of the configuration."),
        ));
    }
    let r = &st.ratings;
    if r.signed_in.get(&counter).is_some_and(|o| o == officer) {
        return Ok(vec![]);
    }
    let mut out = Vec::new();
    if let Some(elsewhere) = r.counter_of(officer) {
        out.push(Event::OfficerSignedOut {
            counter: elsewhere,
            officer: officer.to_string(),
        });
    }
    if let Some(here) = r.signed_in.get(&counter) {
        out.push(Event::OfficerSignedOut {
            counter,
            officer: here.clone(),
        });
    }
    out.push(Event::OfficerSignedIn {
        counter,
        officer: officer.to_string(),
    });
    Ok(out)
}

pub fn sign_out(st: &State, counter: u16) -> Vec<Event> {
    match st.ratings.signed_in.get(&counter) {
        Some(o) => vec![Event::OfficerSignedOut {
            counter,
            officer: o.clone(),
        }],
        None => vec![],
    }
}

/// Refuses a counter action when nobody is signed in and the site does not allow it.
pub fn require_officer(st: &State, counter: u16) -> Result<String, Rejection> {
    let officer = st.ratings.officer_at(counter);
    if officer.is_empty() && !st.site.ratings.allow_anonymous {
        return Err(reject(
            RejectCode::NotSignedIn,
            format!("Chưa có cán bộ đăng nhập tại quầy {counter}. Hãy đăng nhập bằng mã cán bộ và mã PIN."),
            format!("Nobody is signed in at counter {counter}; sign in with an officer id and PIN first."),
        ));
    }
    Ok(officer)
}

/// A citizen's rating of the ticket just finished at `counter`, at time `at`.
pub fn rate(
    st: &State,
    counter: u16,
    level: RatingLevel,
    reasons: &[String],
    dossier: &str,
    at: i64,
) -> Result<Vec<Event>, Rejection> {
    let rules = &st.site.ratings;
    let nothing = || {
        reject(
            RejectCode::NothingToRate,
            format!("Quầy {counter} chưa phục vụ hồ sơ nào để đánh giá."),
            format!("Counter {counter} has not finished a ticket that can be rated."),
        )
    };
    let f = st.ratings.last_finished.get(&counter).ok_or_else(nothing)?;
    if f.skipped && !rules.rate_on_skip {
        return Err(nothing());
    }
    if st.ratings.rated.contains(&f.ticket) {
        return Err(reject(
            RejectCode::AlreadyRated,
            format!("Số {} đã được đánh giá.", f.ticket),
            format!(
                "{} has already been rated; each ticket is rated once.",
                f.ticket
            ),
        ));
    }
    if at.saturating_sub(f.at) > rules.window_ms {
        return Err(reject(
            RejectCode::RatingWindowClosed,
            format!("Đã quá thời gian đánh giá số {}.", f.ticket),
            format!(
                "The rating window for {} closed {} s after it was finished.",
                f.ticket,
                rules.window_ms / 1000
            ),
        ));
    }
    if level != RatingLevel::Unsatisfied && !reasons.is_empty() {
        return Err(reject(
            RejectCode::BadRating,
            "Chỉ chọn lý do khi chưa hài lòng.".into(),
            "Reasons go only with an \"unsatisfied\" rating.".into(),
        ));
    }
    let mut seen = HashSet::new();
    for r in reasons {
        if !rules.reasons.contains(r) || !seen.insert(r) {
            return Err(reject(
                RejectCode::BadRating,
                format!("Lý do '{r}' không hợp lệ."),
                format!(
                    "Reason '{r}' is unknown or repeated; known reasons: {}.",
                    rules.reasons.join(", ")
                ),
            ));
        }
    }
    let dossier = dossier.trim();
    if dossier.chars().count() > DOSSIER_MAX || dossier.chars().any(char::is_control) {
        return Err(reject(
            RejectCode::BadRating,
            "Mã hồ sơ không hợp lệ.".into(),
            format!("The dossier code must be at most {DOSSIER_MAX} printable characters."),
        ));
    }
    Ok(vec![Event::Rated {
        counter,
        ticket: f.ticket.clone(),
        officer: f.officer.clone(),
        level,
        reasons: reasons.to_vec(),
        dossier: dossier.to_string(),
    }])
}

/// Fold the officer and rating parts of an entry.
pub fn apply(st: &mut RatingDay, entry: &Entry) {
    match &entry.event {
        Event::OfficerSignedIn { counter, officer } => {
            st.signed_in.insert(*counter, officer.clone());
        }
        Event::OfficerSignedOut { counter, officer }
            if st.signed_in.get(counter) == Some(officer) =>
        {
            st.signed_in.remove(counter);
        }
        Event::TicketServed {
            ticket,
            counter,
            officer,
            ..
        }
        | Event::TicketSkipped {
            ticket,
            counter,
            officer,
            ..
        } => {
            st.last_finished.insert(
                *counter,
                Finished {
                    ticket: ticket.clone(),
                    officer: officer.clone(),
                    at: entry.at,
                    skipped: matches!(entry.event, Event::TicketSkipped { .. }),
                },
            );
        }
        Event::Rated {
            counter,
            ticket,
            officer,
            level,
            reasons,
            dossier,
        } => {
            st.rated.insert(ticket.clone());
            if *level == RatingLevel::Unsatisfied {
                st.alerts.push_front(Alert {
                    seq: entry.seq,
                    at: entry.at,
                    counter: *counter,
                    ticket: ticket.clone(),
                    officer: officer.clone(),
                    reasons: reasons.clone(),
                    dossier: dossier.clone(),
                });
                st.alerts.truncate(ALERTS_KEPT);
            }
        }
        _ => {}
    }
}

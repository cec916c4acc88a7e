//! Officers and citizen ratings: signing in and out at a counter, and the binding rules of a
//! rating (one per ticket, only the ticket just finished at that counter, within the window).
//! Pure: `decide` calls in here. The day's rating state and its fold (`apply`) are in
//! `rating_day.rs`, the levels in `rating_level.rs`; both are re-exported here.

use super::command::{RejectCode, Rejection};
use super::event::Event;
use super::state::State;
use serde::Serialize;
use std::collections::HashSet;

pub use super::rating_day::{apply, Alert, Finished, RatingDay, RatingRules, ALERTS_KEPT};
pub use super::rating_level::RatingLevel;

/// Longest dossier code a rating may carry.
pub const DOSSIER_MAX: usize = 64;

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

//! The day's officer and rating state (who is signed in where, the ticket each counter
//! finished last, what was rated, the unsatisfied alerts), the site's rating rules, and the
//! fold of an entry into that state. Pure.

use super::event::{Entry, Event};
use super::rating_level::RatingLevel;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet, VecDeque};

/// How many unsatisfied ratings the state keeps for the alert panels.
pub const ALERTS_KEPT: usize = 20;

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

impl Alert {
    /// The alert `entry` raises: one for an unsatisfied rating, none for anything else.
    fn raised_by(entry: &Entry) -> Option<Alert> {
        match &entry.event {
            Event::Rated {
                counter,
                ticket,
                officer,
                level: RatingLevel::Unsatisfied,
                reasons,
                dossier,
            } => Some(Alert {
                seq: entry.seq,
                at: entry.at,
                counter: *counter,
                ticket: ticket.clone(),
                officer: officer.clone(),
                reasons: reasons.clone(),
                dossier: dossier.clone(),
            }),
            _ => None,
        }
    }
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
    pub(crate) fn officer_at(&self, counter: u16) -> String {
        self.signed_in.get(&counter).cloned().unwrap_or_default()
    }
    /// The counter `officer` is signed in at.
    pub(crate) fn counter_of(&self, officer: &str) -> Option<u16> {
        self.signed_in
            .iter()
            .find(|(_, o)| o.as_str() == officer)
            .map(|(c, _)| *c)
    }
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
        Event::Rated { ticket, .. } => {
            st.rated.insert(ticket.clone());
            if let Some(alert) = Alert::raised_by(entry) {
                st.alerts.push_front(alert);
                st.alerts.truncate(ALERTS_KEPT);
            }
        }
        _ => {}
    }
}

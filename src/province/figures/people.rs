//! Citizens' ratings and per-officer figures of a site-day, pure, with the definitions
//! of the board's daily report (`crate::report::day`) so that the province and the
//! center's head read the same numbers: folded from the site's log entries (parsed with
//! the board's own `Entry` type), kept with their raw durations so that a week's medians
//! can be taken over the whole week, and turned into the board's `Figures` shape.

use super::{AtCounter, Dip, Ev, Kind};
use crate::core::rating::RatingLevel;
use crate::core::{Day, Entry, Event};
use crate::report::day::{Figures, LevelCount, Ratings, Times};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Ratings counted per level, and the reasons given with them (code → count).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RatingCounts {
    pub very_satisfied: i64,
    pub satisfied: i64,
    pub unsatisfied: i64,
    #[serde(default)]
    pub reasons: BTreeMap<String, i64>,
}

impl RatingCounts {
    pub(crate) fn total(&self) -> i64 {
        self.very_satisfied + self.satisfied + self.unsatisfied
    }

    pub(crate) fn count(&self, level: RatingLevel) -> i64 {
        match level {
            RatingLevel::VerySatisfied => self.very_satisfied,
            RatingLevel::Satisfied => self.satisfied,
            RatingLevel::Unsatisfied => self.unsatisfied,
        }
    }

    /// Share of all ratings at `level`, 0.0 to 1.0 (`None` without ratings).
    pub(crate) fn share(&self, level: RatingLevel) -> Option<f64> {
        let t = self.total();
        (t > 0).then(|| self.count(level) as f64 / t as f64)
    }

    /// Share rated "Rất hài lòng" or "Hài lòng" (`None` without ratings).
    pub(crate) fn satisfied_share(&self) -> Option<f64> {
        let t = self.total();
        (t > 0).then(|| (self.very_satisfied + self.satisfied) as f64 / t as f64)
    }

    fn rate(&mut self, level: RatingLevel, reasons: &[String]) {
        match level {
            RatingLevel::VerySatisfied => self.very_satisfied += 1,
            RatingLevel::Satisfied => self.satisfied += 1,
            RatingLevel::Unsatisfied => self.unsatisfied += 1,
        }
        for r in reasons {
            *self.reasons.entry(r.clone()).or_insert(0) += 1;
        }
    }

    pub(crate) fn add(&mut self, o: &RatingCounts) {
        self.very_satisfied += o.very_satisfied;
        self.satisfied += o.satisfied;
        self.unsatisfied += o.unsatisfied;
        for (k, n) in &o.reasons {
            *self.reasons.entry(k.clone()).or_insert(0) += n;
        }
    }

    /// The board's report shape: `{total, levels: [{level, label_vi, count, share}], reasons}`.
    pub(crate) fn to_board(&self) -> Ratings {
        let total = self.total().max(0) as u64;
        Ratings {
            total,
            levels: RatingLevel::ALL
                .into_iter()
                .map(|l| LevelCount {
                    level: l,
                    label_vi: l.vi(),
                    count: self.count(l).max(0) as u64,
                    share: self.share(l).unwrap_or(0.0),
                })
                .collect(),
            reasons: self
                .reasons
                .iter()
                .map(|(k, n)| (k.clone(), (*n).max(0) as u64))
                .collect(),
        }
    }
}

/// One officer's work on a site-day (or a span of days). The officer is the id the
/// daemon records; "" is work done with nobody signed in ("no officer").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OfficerWork {
    /// Tickets called for the first time.
    pub called: i64,
    pub served: i64,
    /// Tickets skipped because the citizen did not come.
    pub no_shows: i64,
    /// Issue → first call of the tickets this officer called first, ms.
    pub waits_ms: Vec<i64>,
    /// Call → served at the same counter, ms.
    pub service_ms: Vec<i64>,
    pub ratings: RatingCounts,
}

impl OfficerWork {
    pub(crate) fn add(&mut self, o: &OfficerWork) {
        self.called += o.called;
        self.served += o.served;
        self.no_shows += o.no_shows;
        self.waits_ms.extend_from_slice(&o.waits_ms);
        self.service_ms.extend_from_slice(&o.service_ms);
        self.ratings.add(&o.ratings);
    }

    /// The board's `Figures` of an officer (`issued` is 0 for officers there too).
    pub(crate) fn to_board(&self) -> Figures {
        let n = |x: i64| x.max(0) as u64;
        Figures {
            issued: 0,
            called: n(self.called),
            served: n(self.served),
            no_shows: n(self.no_shows),
            waiting: times(&self.waits_ms),
            service: times(&self.service_ms),
            ratings: self.ratings.to_board(),
        }
    }
}

/// Nearest-rank median and p90 in whole seconds: the board's report's own rounding.
pub(crate) fn times(ms: &[i64]) -> Times {
    Times::of(ms)
}

/// Ratings and officers of one site over a day or a span of days.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct People {
    /// Every rating of the site.
    pub ratings: RatingCounts,
    /// By officer id; "" is "no officer".
    pub officers: BTreeMap<String, OfficerWork>,
}

impl People {
    /// Fold the entries of `day` (others are ignored), in seq order. Definitions as the
    /// board's daily report: a ticket's wait (issue → its first call) goes to the officer
    /// who called it first; its service time (its latest first-time call → served, when
    /// served at the counter that called it) to the officer who served it; recalls do
    /// not count; a rating goes to the officer the `rated` entry names.
    pub(crate) fn fold<'a>(day: Day, entries: impl IntoIterator<Item = &'a Entry>) -> People {
        let mut p = People::default();
        let mut issued_at: HashMap<&str, i64> = HashMap::new();
        let mut first_called: HashSet<&str> = HashSet::new();
        // ticket -> (counter, called at)
        let mut calls: HashMap<&str, (u16, i64)> = HashMap::new();
        for e in entries {
            if e.day != day {
                continue;
            }
            match &e.event {
                Event::TicketIssued { ticket, .. } => {
                    issued_at.insert(ticket, e.at);
                }
                Event::TicketCalled {
                    ticket,
                    counter,
                    recall: 0,
                    officer,
                    ..
                } => {
                    calls.insert(ticket, (*counter, e.at));
                    if first_called.insert(ticket) {
                        let o = p.officer(officer);
                        o.called += 1;
                        if let Some(i) = issued_at.get(ticket.as_str()) {
                            o.waits_ms.push((e.at - i).max(0));
                        }
                    }
                }
                Event::TicketServed {
                    ticket,
                    counter,
                    officer,
                    ..
                } => {
                    let took = calls
                        .remove(ticket.as_str())
                        .filter(|(c, _)| c == counter)
                        .map(|(_, at)| (e.at - at).max(0));
                    let o = p.officer(officer);
                    o.served += 1;
                    o.service_ms.extend(took);
                }
                Event::TicketSkipped {
                    ticket, officer, ..
                } => {
                    calls.remove(ticket.as_str());
                    p.officer(officer).no_shows += 1;
                }
                Event::TicketTransferred { ticket, .. } => {
                    calls.remove(ticket.as_str());
                }
                Event::Rated {
                    officer,
                    level,
                    reasons,
                    ..
                } => {
                    p.ratings.rate(*level, reasons);
                    p.officer(officer).ratings.rate(*level, reasons);
                }
                _ => {}
            }
        }
        p
    }

    fn officer(&mut self, id: &str) -> &mut OfficerWork {
        self.officers.entry(id.to_string()).or_default()
    }

    pub(crate) fn add(&mut self, o: &People) {
        self.ratings.add(&o.ratings);
        for (k, w) in &o.officers {
            self.officer(k).add(w);
        }
    }

    /// Per officer, the board's `Figures`.
    pub(crate) fn officer_figures(&self) -> BTreeMap<String, Figures> {
        self.officers
            .iter()
            .map(|(k, w)| (k.clone(), w.to_board()))
            .collect()
    }
}

/// Parse a stored entry (the JSON a site sent: `{site, seq, at, clock_ok, day, event}`)
/// with the board's own types; `None` for a kind this layso does not know.
pub(crate) fn parse_entry(body: &str) -> Option<Entry> {
    serde_json::from_str(body).ok()
}

/// A stored entry parsed once for both folds: the board's `Entry` (when this layso knows
/// its kind) and the availability figures' `Ev` (from the `Entry`, or — unknown kind or
/// missing fields — parsed leniently by `figures::parse_entry`).
pub(crate) fn parse_both(body: &str) -> (Option<Ev>, Option<Entry>) {
    match parse_entry(body) {
        Some(e) => (Some(ev_of(&e)), Some(e)),
        None => (super::parse_entry(body), None),
    }
}

/// What `figures::parse_entry` makes of the same entry.
pub(crate) fn ev_of(e: &Entry) -> Ev {
    let at = |ticket: &String, service: &String, counter: &u16| AtCounter {
        ticket: ticket.clone(),
        service: service.clone(),
        counter: i64::from(*counter),
    };
    let kind = match &e.event {
        Event::TicketIssued {
            ticket, service, ..
        } => Kind::Issued {
            ticket: ticket.clone(),
            service: service.clone(),
        },
        Event::TicketCalled {
            ticket,
            service,
            counter,
            recall,
            ..
        } => Kind::Called {
            at: at(ticket, service, counter),
            recall: i64::from(*recall),
        },
        Event::TicketServed {
            ticket,
            service,
            counter,
            ..
        } => Kind::Served(at(ticket, service, counter)),
        Event::TicketSkipped {
            ticket,
            service,
            counter,
            ..
        } => Kind::Skipped(at(ticket, service, counter)),
        Event::TicketTransferred { ticket, from, .. } => Kind::Transferred {
            ticket: ticket.clone(),
            from: from.clone(),
        },
        Event::DeviceStatus { device, state, .. } => Kind::Device {
            device: device.clone(),
            state: state.clone(),
        },
        Event::PowerRestored { down_from, down_to } => Kind::Restored {
            dip: Dip::Power,
            from: *down_from,
            to: *down_to,
        },
        Event::UplinkRestored { down_from, down_to } => Kind::Restored {
            dip: Dip::Uplink,
            from: *down_from,
            to: *down_to,
        },
        _ => Kind::Other,
    };
    Ev {
        seq: i64::try_from(e.seq).unwrap_or(i64::MAX),
        at: e.at,
        clock_ok: e.clock_ok,
        kind,
    }
}

#[cfg(test)]
#[path = "people_tests.rs"]
mod tests;

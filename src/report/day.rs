//! The daily report, pure: fold one business day's log entries into the figures the
//! center's head reads (tickets per service, served, no-shows, waiting and service
//! times, per counter and per officer, ratings per level with shares, reasons).

use crate::core::rating::RatingLevel;
use crate::core::{Entry, Event};
use crate::uplink::metrics::Percentiles;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Median and 90th percentile of a set of durations, in whole seconds (nearest rank).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Times {
    pub count: u64,
    pub median_s: Option<i64>,
    pub p90_s: Option<i64>,
}

impl Times {
    /// Nearest-rank median and p90 in whole seconds (the province uses the same rounding).
    pub(crate) fn of(ms: &[i64]) -> Times {
        let p = Percentiles::of(ms);
        let s = |v: Option<i64>| v.map(|x| (x + 500) / 1000);
        Times {
            count: p.count,
            median_s: s(p.p50),
            p90_s: s(p.p90),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LevelCount {
    pub level: RatingLevel,
    pub label_vi: &'static str,
    pub count: u64,
    /// Share of all ratings, 0.0 to 1.0 (0 when there are none).
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ratings {
    pub total: u64,
    pub levels: Vec<LevelCount>,
    /// Reasons given with unsatisfied ratings: code → count.
    pub reasons: BTreeMap<String, u64>,
}

impl Ratings {
    fn of(levels: &[RatingLevel], reasons: &[String]) -> Ratings {
        let total = levels.len() as u64;
        let mut by_reason = BTreeMap::new();
        for r in reasons {
            *by_reason.entry(r.clone()).or_insert(0) += 1;
        }
        Ratings {
            total,
            levels: RatingLevel::ALL
                .into_iter()
                .map(|l| {
                    let count = levels.iter().filter(|x| **x == l).count() as u64;
                    LevelCount {
                        level: l,
                        label_vi: l.vi(),
                        count,
                        share: if total == 0 {
                            0.0
                        } else {
                            count as f64 / total as f64
                        },
                    }
                })
                .collect(),
            reasons: by_reason,
        }
    }
}

/// Figures for one group: the whole day, a service, a counter or an officer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    /// Tickets issued (per service and for the day; 0 for counters and officers).
    pub issued: u64,
    /// Tickets called for the first time.
    pub called: u64,
    pub served: u64,
    /// Tickets skipped because the citizen did not come.
    pub no_shows: u64,
    /// From issue to first call.
    pub waiting: Times,
    /// From call to served.
    pub service: Times,
    pub ratings: Ratings,
}

/// The report of one business day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayReport {
    pub day: String,
    pub entries: u64,
    pub total: Figures,
    pub services: BTreeMap<String, Figures>,
    pub counters: BTreeMap<u16, Figures>,
    /// By officer id; "" is work done with nobody signed in.
    pub officers: BTreeMap<String, Figures>,
}

#[derive(Default)]
struct Acc {
    issued: u64,
    called: u64,
    served: u64,
    no_shows: u64,
    waiting: Vec<i64>,
    service: Vec<i64>,
    levels: Vec<RatingLevel>,
    reasons: Vec<String>,
}

impl Acc {
    fn done(&self) -> Figures {
        Figures {
            issued: self.issued,
            called: self.called,
            served: self.served,
            no_shows: self.no_shows,
            waiting: Times::of(&self.waiting),
            service: Times::of(&self.service),
            ratings: Ratings::of(&self.levels, &self.reasons),
        }
    }
}

#[derive(Default)]
struct Groups {
    total: Acc,
    services: BTreeMap<String, Acc>,
    counters: BTreeMap<u16, Acc>,
    officers: BTreeMap<String, Acc>,
}

impl Groups {
    /// Apply `f` to the total and the groups named.
    fn each(
        &mut self,
        service: Option<&str>,
        counter: Option<u16>,
        officer: Option<&str>,
        f: impl Fn(&mut Acc),
    ) {
        f(&mut self.total);
        if let Some(s) = service {
            f(self.services.entry(s.to_string()).or_default());
        }
        if let Some(c) = counter {
            f(self.counters.entry(c).or_default());
        }
        if let Some(o) = officer {
            f(self.officers.entry(o.to_string()).or_default());
        }
    }
}

/// Fold the entries of `day` (others are ignored) into its report.
pub fn fold<'a>(day: &str, entries: impl IntoIterator<Item = &'a Entry>) -> DayReport {
    let mut g = Groups::default();
    let mut issued_at: HashMap<String, i64> = HashMap::new();
    let mut first_called: HashSet<String> = HashSet::new();
    let mut service_of: HashMap<String, String> = HashMap::new();
    // ticket -> (counter, called at)
    let mut calls: HashMap<String, (u16, i64)> = HashMap::new();
    let mut n = 0;
    for e in entries {
        if e.day.to_string() != day {
            continue;
        }
        n += 1;
        match &e.event {
            Event::TicketIssued {
                ticket, service, ..
            } => {
                issued_at.insert(ticket.clone(), e.at);
                service_of.insert(ticket.clone(), service.clone());
                g.each(Some(service), None, None, |a| a.issued += 1);
            }
            Event::TicketCalled {
                ticket,
                service,
                counter,
                recall: 0,
                officer,
            } => {
                calls.insert(ticket.clone(), (*counter, e.at));
                if first_called.insert(ticket.clone()) {
                    let wait = issued_at.get(ticket).map(|i| (e.at - i).max(0));
                    g.each(Some(service), Some(*counter), Some(officer), |a| {
                        a.called += 1;
                        a.waiting.extend(wait);
                    });
                }
            }
            Event::TicketServed {
                ticket,
                service,
                counter,
                officer,
            }
            | Event::TicketSkipped {
                ticket,
                service,
                counter,
                officer,
            } => {
                let call = calls.remove(ticket);
                let served = matches!(e.event, Event::TicketServed { .. });
                // Service time: from the call at this counter to the end.
                let took = call
                    .filter(|(c, _)| served && c == counter)
                    .map(|(_, at)| (e.at - at).max(0));
                g.each(Some(service), Some(*counter), Some(officer), |a| {
                    if served {
                        a.served += 1;
                        a.service.extend(took);
                    } else {
                        a.no_shows += 1;
                    }
                });
            }
            Event::TicketTransferred { ticket, to, .. } => {
                calls.remove(ticket);
                service_of.insert(ticket.clone(), to.clone());
            }
            Event::Rated {
                counter,
                ticket,
                officer,
                level,
                reasons,
                ..
            } => {
                let service = service_of.get(ticket).map(String::as_str);
                g.each(service, Some(*counter), Some(officer), |a| {
                    a.levels.push(*level);
                    a.reasons.extend(reasons.iter().cloned());
                });
            }
            _ => {}
        }
    }
    DayReport {
        day: day.to_string(),
        entries: n,
        total: g.total.done(),
        services: g
            .services
            .iter()
            .map(|(k, a)| (k.clone(), a.done()))
            .collect(),
        counters: g.counters.iter().map(|(k, a)| (*k, a.done())).collect(),
        officers: g
            .officers
            .iter()
            .map(|(k, a)| (k.clone(), a.done()))
            .collect(),
    }
}

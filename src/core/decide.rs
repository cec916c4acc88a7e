//! `decide`: the queue rules. Given the state, a command and the time, say what happens.

use super::command::{Command, RejectCode, Rejection};
use super::event::{Entry, Event};
use super::rating;
use super::state::{CounterDef, CounterStatus, State};
use super::time::{effective_time, Day, Now};
use std::collections::BTreeMap;

/// What a command produces: the events, stamped with the effective time and day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub at: i64,
    pub day: Day,
    pub clock_ok: bool,
    /// Events in order; may be empty (an idempotent command) and starts with
    /// `DayStarted` when the command is the first of a new business day.
    pub events: Vec<Event>,
}

impl Decision {
    /// The decision as log entries: its events numbered from `first_seq` on, each
    /// carrying the decision's time, clock flag and day. The only place seqs are stamped.
    pub(crate) fn entries(self, first_seq: u64) -> Vec<Entry> {
        let (at, clock_ok, day) = (self.at, self.clock_ok, self.day);
        (first_seq..)
            .zip(self.events)
            .map(|(seq, event)| Entry {
                seq,
                at,
                clock_ok,
                day,
                event,
            })
            .collect()
    }
}

/// The time stamp a command made `now` gets: effective time never goes backwards, and
/// the business day never goes back to a closed one.
pub fn stamp(state: &State, now: Now) -> (i64, Day) {
    let at = effective_time(now, state.last_at);
    let day = state.site.rule.day_of(at);
    let day = state.day.map_or(day, |d| d.max(day));
    (at, day)
}

pub fn decide(state: &State, command: &Command, now: Now) -> Result<Decision, Rejection> {
    let (at, day) = stamp(state, now);
    let fresh;
    let mut events = Vec::new();
    let st = if state.day != Some(day) {
        events.push(Event::DayStarted {});
        fresh = state.fresh_day(day);
        &fresh
    } else {
        state
    };
    events.extend(rule(st, command, day, at)?);
    Ok(Decision {
        at,
        day,
        clock_ok: now.clock_ok,
        events,
    })
}

fn counter(st: &State, n: u16) -> Result<&CounterDef, Rejection> {
    st.site
        .counter(n)
        .ok_or_else(|| Rejection::unknown_counter(n, &st.site.counter_numbers()))
}

fn rule(st: &State, command: &Command, day: Day, at: i64) -> Result<Vec<Event>, Rejection> {
    let site = &st.site;
    let current = |n: u16| st.counters.get(&n).and_then(|c| c.current.clone());
    let status = |n: u16| {
        st.counters
            .get(&n)
            .map_or(CounterStatus::Closed, |c| c.status)
    };
    match command {
        Command::Issue {
            service,
            priority,
            source,
        } => {
            let def = site
                .service(service)
                .ok_or_else(|| Rejection::unknown_service(service, &site.service_ids()))?;
            let number = st.next_number_of(def);
            let (waiting, waiting_priority) = st.waiting(&def.id);
            let ahead = if *priority { waiting_priority } else { waiting };
            Ok(vec![Event::TicketIssued {
                ticket: format!(
                    "{}{:0width$}",
                    def.prefix,
                    number,
                    width = def.digits as usize
                ),
                service: def.id.clone(),
                number,
                priority: *priority,
                source: source.clone(),
                ahead: u32::try_from(ahead).unwrap_or(u32::MAX),
            }])
        }
        Command::Next { counter: n } => {
            let c = counter(st, *n)?;
            let officer = rating::require_officer(st, *n)?;
            match status(*n) {
                CounterStatus::Paused => return Err(Rejection::paused(*n)),
                CounterStatus::Closed => return Err(Rejection::closed(*n)),
                CounterStatus::Open => {}
            }
            let next = st
                .candidate_for(c)
                .ok_or_else(|| Rejection::empty_queue(*n))?;
            let mut out = Vec::with_capacity(2);
            if let Some(cur) = current(*n) {
                out.push(Event::TicketServed {
                    ticket: cur.ticket,
                    service: cur.service,
                    counter: *n,
                    officer: officer.clone(),
                });
            }
            out.push(Event::TicketCalled {
                ticket: next.label.clone(),
                service: next.service.clone(),
                counter: *n,
                recall: 0,
                officer,
            });
            Ok(out)
        }
        // What a counter does with the ticket it is serving.
        Command::Recall { counter: n }
        | Command::Skip { counter: n }
        | Command::Complete { counter: n } => {
            counter(st, *n)?;
            let officer = rating::require_officer(st, *n)?;
            let cur = current(*n).ok_or_else(|| Rejection::no_current(*n))?;
            let (ticket, service) = (cur.ticket, cur.service);
            Ok(vec![match command {
                Command::Recall { .. } => Event::TicketCalled {
                    ticket,
                    service,
                    counter: *n,
                    recall: cur.recall.saturating_add(1),
                    officer,
                },
                Command::Skip { .. } => Event::TicketSkipped {
                    ticket,
                    service,
                    counter: *n,
                    officer,
                },
                // Complete.
                _ => Event::TicketServed {
                    ticket,
                    service,
                    counter: *n,
                    officer,
                },
            }])
        }
        Command::Transfer {
            counter: n,
            service,
        } => {
            let c = counter(st, *n)?;
            let officer = rating::require_officer(st, *n)?;
            let service = match service {
                Some(s) => s.clone(),
                None => {
                    let cur = current(*n).ok_or_else(|| Rejection::no_current(*n))?;
                    c.other_service(&cur.service)
                        .ok_or_else(|| Rejection::no_other_service(*n, &cur.ticket))?
                        .to_string()
                }
            };
            let def = site
                .service(&service)
                .ok_or_else(|| Rejection::unknown_service(&service, &site.service_ids()))?;
            let cur = current(*n).ok_or_else(|| Rejection::no_current(*n))?;
            if cur.service == def.id {
                return Err(Rejection::new(
                    RejectCode::SameService,
                    format!("Số {} đã thuộc dịch vụ {}.", cur.ticket, def.id),
                    format!("{} already belongs to service {}.", cur.ticket, def.id),
                ));
            }
            Ok(vec![Event::TicketTransferred {
                ticket: cur.ticket,
                from: cur.service,
                to: def.id.clone(),
                counter: Some(*n),
                officer,
            }])
        }
        Command::Open { counter: n } => {
            counter(st, *n)?;
            Ok(match status(*n) {
                CounterStatus::Open => vec![],
                _ => vec![Event::CounterOpened { counter: *n }],
            })
        }
        Command::Pause { counter: n } => {
            counter(st, *n)?;
            Ok(match status(*n) {
                CounterStatus::Paused => vec![],
                _ => vec![Event::CounterPaused { counter: *n }],
            })
        }
        Command::Close { counter: n } => {
            counter(st, *n)?;
            if let Some(cur) = current(*n) {
                return Err(Rejection::busy(*n, &cur.ticket));
            }
            Ok(match status(*n) {
                CounterStatus::Closed => vec![],
                _ => vec![Event::CounterClosed { counter: *n }],
            })
        }
        Command::ReportDevice {
            device,
            state,
            detail,
        } => {
            let unchanged = st
                .devices
                .get(device)
                .is_some_and(|d| d.state == *state && d.detail == *detail);
            Ok(if unchanged {
                vec![]
            } else {
                vec![Event::DeviceStatus {
                    device: device.clone(),
                    state: state.clone(),
                    detail: detail.clone(),
                }]
            })
        }
        Command::PowerRestored { down_from, down_to } => Ok(vec![Event::PowerRestored {
            down_from: *down_from,
            down_to: *down_to,
        }]),
        Command::UplinkRestored { down_from, down_to } => Ok(vec![Event::UplinkRestored {
            down_from: *down_from,
            down_to: *down_to,
        }]),
        Command::StoreRecovered {
            quarantined,
            day: floors_day,
            next_numbers,
            loss,
        } => Ok(vec![Event::StoreRecovered {
            quarantined: quarantined.clone(),
            next_numbers: if Day(*floors_day) == day {
                next_numbers.clone()
            } else {
                BTreeMap::new()
            },
            cause: loss.cause.clone(),
            recovered: loss.recovered,
            lost_from_seq: loss.lost_seq.map(|l| l.0),
            lost_to_seq: loss.lost_seq.map(|l| l.1),
            lost_tickets: loss
                .lost_numbers
                .iter()
                .map(|(service, (a, b))| {
                    let (prefix, width) =
                        site.service(service).map_or((service.as_str(), 3), |d| {
                            (d.prefix.as_str(), d.digits as usize)
                        });
                    format!("{prefix}{a:0width$}–{prefix}{b:0width$}")
                })
                .collect(),
        }]),
        Command::SignIn {
            counter: n,
            officer,
        } => {
            counter(st, *n)?;
            rating::sign_in(st, *n, officer)
        }
        Command::SignOut { counter: n } => {
            counter(st, *n)?;
            Ok(rating::sign_out(st, *n))
        }
        Command::Rate {
            counter: n,
            level,
            reasons,
            dossier,
        } => {
            counter(st, *n)?;
            rating::rate(st, *n, *level, reasons, dossier, at)
        }
    }
}

//! The site's state for the current business day and `apply`, the fold over entries.

use super::event::{Entry, Event};
use super::rating_day::{RatingDay, RatingRules};
use super::time::{Day, DayRule};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

/// How many recent calls the state remembers for the hall display.
pub(crate) const LAST_CALLS: usize = 10;

/// A service as core needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceDef {
    pub id: String,
    pub prefix: String,
    pub first_number: u32,
    pub digits: u8,
}

/// A counter as core needs it: its number and the services it serves, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterDef {
    pub number: u16,
    pub services: Vec<String>,
}

impl CounterDef {
    /// Where a transfer without a chosen service goes: the first service this counter
    /// serves other than `than`.
    pub(crate) fn other_service(&self, than: &str) -> Option<&str> {
        self.services
            .iter()
            .map(String::as_str)
            .find(|s| *s != than)
    }
}

/// The fixed shape of a site: what core needs from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub rule: DayRule,
    pub services: Vec<ServiceDef>,
    pub counters: Vec<CounterDef>,
    /// Officers and rating rules.
    pub ratings: RatingRules,
}

impl Site {
    pub(crate) fn service(&self, id: &str) -> Option<&ServiceDef> {
        self.services.iter().find(|s| s.id == id)
    }
    pub(crate) fn counter(&self, n: u16) -> Option<&CounterDef> {
        self.counters.iter().find(|c| c.number == n)
    }
    pub(crate) fn service_ids(&self) -> Vec<String> {
        self.services.iter().map(|s| s.id.clone()).collect()
    }
    pub(crate) fn counter_numbers(&self) -> Vec<u16> {
        self.counters.iter().map(|c| c.number).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TicketStatus {
    Waiting,
    Called { counter: u16 },
    Served,
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ticket {
    pub label: String,
    pub service: String,
    pub number: u32,
    pub priority: bool,
    pub issued_at: i64,
    /// Sequence number of the issuing entry: a tie-breaker that never changes.
    pub issue_seq: u64,
    pub status: TicketStatus,
}

impl Ticket {
    fn key(&self) -> QueueKey {
        (self.issued_at, self.issue_seq, self.label.clone())
    }
}

type QueueKey = (i64, u64, String);

/// Waiting tickets of one service, oldest first, priority apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Queue {
    pub priority: BTreeSet<QueueKey>,
    pub normal: BTreeSet<QueueKey>,
}

impl Queue {
    pub(crate) fn len(&self) -> usize {
        self.priority.len() + self.normal.len()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CounterStatus {
    Open,
    Paused,
    Closed,
}

impl CounterStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CounterStatus::Open => "open",
            CounterStatus::Paused => "paused",
            CounterStatus::Closed => "closed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    pub ticket: String,
    pub service: String,
    pub called_at: i64,
    pub recall: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CounterState {
    pub status: CounterStatus,
    pub current: Option<Current>,
    pub served_today: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Call {
    pub ticket: String,
    pub counter: u16,
    pub at: i64,
    pub recall: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Device {
    pub state: String,
    pub detail: String,
    pub since: i64,
}

/// Everything core knows. Only `apply` changes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub(in crate::core) site: Arc<Site>,
    pub(in crate::core) day: Option<Day>,
    pub(in crate::core) last_at: i64,
    pub(in crate::core) last_seq: u64,
    /// Next number to issue per service for the day (absent: the service's first number).
    pub(in crate::core) next_number: BTreeMap<String, u32>,
    pub(in crate::core) tickets: HashMap<String, Ticket>,
    pub(in crate::core) queues: BTreeMap<String, Queue>,
    pub(in crate::core) counters: BTreeMap<u16, CounterState>,
    pub(in crate::core) last_calls: VecDeque<Call>,
    /// Device health; unlike the rest it carries over from day to day.
    pub(in crate::core) devices: BTreeMap<String, Device>,
    /// Who is signed in where, what may be rated, the day's unsatisfied alerts.
    pub(in crate::core) ratings: RatingDay,
}

impl State {
    pub(crate) fn site(&self) -> &Arc<Site> {
        &self.site
    }
    /// The business day of the last entry (none before the first).
    pub(crate) fn day(&self) -> Option<Day> {
        self.day
    }
    pub(crate) fn last_seq(&self) -> u64 {
        self.last_seq
    }
    pub(crate) fn counter_state(&self, n: u16) -> Option<&CounterState> {
        self.counters.get(&n)
    }
    pub(crate) fn last_calls(&self) -> &VecDeque<Call> {
        &self.last_calls
    }
    pub(crate) fn devices(&self) -> &BTreeMap<String, Device> {
        &self.devices
    }
    pub(crate) fn ratings(&self) -> &RatingDay {
        &self.ratings
    }

    /// Raise the time and day floors to what a damaged store's open found (its
    /// high-water mark), so the next stamp never goes back below them. The only change
    /// to a state besides `apply`.
    pub(crate) fn raise_floors(&mut self, last_at: i64, day: Option<Day>) {
        self.last_at = self.last_at.max(last_at);
        if self.day.is_none() {
            self.day = day;
        }
    }

    pub(crate) fn new(site: Arc<Site>) -> State {
        let mut s = State {
            site,
            day: None,
            last_at: i64::MIN,
            last_seq: 0,
            next_number: BTreeMap::new(),
            tickets: HashMap::new(),
            queues: BTreeMap::new(),
            counters: BTreeMap::new(),
            last_calls: VecDeque::new(),
            devices: BTreeMap::new(),
            ratings: RatingDay::default(),
        };
        s.reset_day(None);
        s
    }

    /// The state as it is at the start of `day`: no tickets, every counter open.
    pub(crate) fn fresh_day(&self, day: Day) -> State {
        let mut s = State {
            site: self.site.clone(),
            day: self.day,
            last_at: self.last_at,
            last_seq: self.last_seq,
            next_number: BTreeMap::new(),
            tickets: HashMap::new(),
            queues: BTreeMap::new(),
            counters: BTreeMap::new(),
            last_calls: VecDeque::new(),
            devices: self.devices.clone(),
            ratings: RatingDay::default(),
        };
        s.reset_day(Some(day));
        s
    }

    fn reset_day(&mut self, day: Option<Day>) {
        self.day = day;
        self.next_number.clear();
        self.tickets.clear();
        self.last_calls.clear();
        self.ratings = RatingDay::default();
        self.queues = self
            .site
            .services
            .iter()
            .map(|s| (s.id.clone(), Queue::default()))
            .collect();
        self.counters = self
            .site
            .counters
            .iter()
            .map(|c| {
                (
                    c.number,
                    CounterState {
                        status: CounterStatus::Open,
                        current: None,
                        served_today: 0,
                    },
                )
            })
            .collect();
    }

    /// The number the next ticket of `service` gets.
    pub(crate) fn next_number_of(&self, service: &ServiceDef) -> u32 {
        self.next_number
            .get(&service.id)
            .copied()
            .unwrap_or(service.first_number)
            .max(service.first_number)
    }

    pub(crate) fn waiting(&self, service: &str) -> (usize, usize) {
        self.queues
            .get(service)
            .map(|q| (q.len(), q.priority.len()))
            .unwrap_or((0, 0))
    }

    /// How many tickets of the same service will be called before `label`.
    /// The tests' oracle for the `ahead` that `decide` computes.
    #[cfg(test)]
    pub(crate) fn waiting_ahead(&self, label: &str) -> u32 {
        let Some(t) = self.tickets.get(label) else {
            return 0;
        };
        let Some(q) = self.queues.get(&t.service) else {
            return 0;
        };
        let key = t.key();
        let ahead = if t.priority {
            q.priority.range(..key).count()
        } else {
            q.priority.len() + q.normal.range(..key).count()
        };
        u32::try_from(ahead).unwrap_or(u32::MAX)
    }

    /// The ticket a counter would call next: priority first, then the oldest among
    /// its services; ties go to the service listed first.
    pub(crate) fn candidate_for(&self, counter: &CounterDef) -> Option<&Ticket> {
        let pick = |priority: bool| {
            counter
                .services
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    let q = self.queues.get(s)?;
                    let set = if priority { &q.priority } else { &q.normal };
                    set.first().map(|k| ((k.0, k.1, i), k.2.clone()))
                })
                .min()
        };
        let (_, label) = pick(true).or_else(|| pick(false))?;
        self.tickets.get(&label)
    }

    fn dequeue(&mut self, label: &str) {
        if let Some(t) = self.tickets.get(label) {
            let key = t.key();
            if let Some(q) = self.queues.get_mut(&t.service) {
                q.priority.remove(&key);
                q.normal.remove(&key);
            }
        }
    }

    fn enqueue(&mut self, label: &str) {
        if let Some(t) = self.tickets.get(label) {
            let key = t.key();
            let q = self.queues.entry(t.service.clone()).or_default();
            if t.priority {
                q.priority.insert(key);
            } else {
                q.normal.insert(key);
            }
        }
    }

    fn finish_current(&mut self, label: &str, status: TicketStatus) {
        if let Some(t) = self.tickets.get_mut(label) {
            if let TicketStatus::Called { counter } = t.status {
                if let Some(c) = self.counters.get_mut(&counter) {
                    if c.current.as_ref().is_some_and(|cur| cur.ticket == label) {
                        c.current = None;
                        if status == TicketStatus::Served {
                            c.served_today += 1;
                        }
                    }
                }
            }
            t.status = status;
        }
    }
}

/// Fold one entry into the state. Total: an entry that does not fit (unknown ticket,
/// counter or service) changes nothing it cannot.
pub fn apply(state: &mut State, entry: &Entry) {
    if state.day.is_none_or(|d| entry.day > d) {
        state.reset_day(Some(entry.day));
    }
    state.last_at = state.last_at.max(entry.at);
    state.last_seq = state.last_seq.max(entry.seq);
    super::rating_day::apply(&mut state.ratings, entry);
    match &entry.event {
        Event::DayStarted {}
        | Event::PowerRestored { .. }
        | Event::UplinkRestored { .. }
        | Event::OfficerSignedIn { .. }
        | Event::OfficerSignedOut { .. }
        | Event::Rated { .. } => {}
        Event::TicketIssued {
            ticket,
            service,
            number,
            priority,
            ..
        } => {
            let next = state.next_number.entry(service.clone()).or_insert(0);
            *next = (*next).max(number.saturating_add(1));
            state.tickets.insert(
                ticket.clone(),
                Ticket {
                    label: ticket.clone(),
                    service: service.clone(),
                    number: *number,
                    priority: *priority,
                    issued_at: entry.at,
                    issue_seq: entry.seq,
                    status: TicketStatus::Waiting,
                },
            );
            state.enqueue(ticket);
        }
        Event::TicketCalled {
            ticket,
            service,
            counter,
            recall,
            ..
        } => {
            state.dequeue(ticket);
            if let Some(t) = state.tickets.get_mut(ticket) {
                t.status = TicketStatus::Called { counter: *counter };
            }
            if let Some(c) = state.counters.get_mut(counter) {
                let called_at = match &c.current {
                    Some(cur) if cur.ticket == *ticket && *recall > 0 => cur.called_at,
                    _ => entry.at,
                };
                c.current = Some(Current {
                    ticket: ticket.clone(),
                    service: service.clone(),
                    called_at,
                    recall: *recall,
                });
            }
            state.last_calls.push_front(Call {
                ticket: ticket.clone(),
                counter: *counter,
                at: entry.at,
                recall: *recall,
            });
            state.last_calls.truncate(LAST_CALLS);
        }
        Event::TicketServed { ticket, .. } => state.finish_current(ticket, TicketStatus::Served),
        Event::TicketSkipped { ticket, .. } => state.finish_current(ticket, TicketStatus::Skipped),
        Event::TicketTransferred { ticket, to, .. } => {
            state.dequeue(ticket);
            state.finish_current(ticket, TicketStatus::Waiting);
            if let Some(t) = state.tickets.get_mut(ticket) {
                t.service = to.clone();
                t.status = TicketStatus::Waiting;
            }
            state.enqueue(ticket);
        }
        Event::CounterOpened { counter } => set_status(state, *counter, CounterStatus::Open),
        Event::CounterPaused { counter } => set_status(state, *counter, CounterStatus::Paused),
        Event::CounterClosed { counter } => set_status(state, *counter, CounterStatus::Closed),
        Event::DeviceStatus {
            device,
            state: s,
            detail,
        } => {
            state.devices.insert(
                device.clone(),
                Device {
                    state: s.clone(),
                    detail: detail.clone(),
                    since: entry.at,
                },
            );
        }
        Event::StoreRecovered { next_numbers, .. } => {
            for (service, n) in next_numbers {
                let next = state.next_number.entry(service.clone()).or_insert(0);
                *next = (*next).max(*n);
            }
        }
    }
}

fn set_status(state: &mut State, counter: u16, status: CounterStatus) {
    if let Some(c) = state.counters.get_mut(&counter) {
        c.status = status;
    }
}

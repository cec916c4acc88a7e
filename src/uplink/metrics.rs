//! Metrics computed from the log entries themselves, sans I/O: per-service counts in
//! the interval and the business day, wait time (issue → first call) and service time
//! (call → served) percentiles over the interval, and availability since the day
//! started from `power_restored` / `uplink_restored` records. The shell feeds entries
//! in seq order and passes the time and the figures it reads elsewhere (uptimes,
//! backlog, printer state) to [`DayStats::report`].

use crate::core::{Day, DayRule, Entry, Event};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

const MS_PER_DAY: i64 = 86_400_000;

/// First instant (ms) of a business day under `rule`.
pub fn day_start_ms(rule: &DayRule, day: Day) -> i64 {
    i64::from(day.0) * MS_PER_DAY - i64::from(rule.utc_offset_minutes) * 60_000
        + i64::from(rule.day_start_minutes) * 60_000
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub issued: u64,
    pub served: u64,
    pub skipped: u64,
}

/// p50 / p90 / max of a set of durations in milliseconds (nearest rank); `null`s when
/// there were none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: Option<i64>,
    pub p90: Option<i64>,
    pub max: Option<i64>,
}

impl Percentiles {
    pub(crate) fn of(samples: &[i64]) -> Percentiles {
        let mut v = samples.to_vec();
        v.sort_unstable();
        let rank = |q: f64| -> Option<i64> {
            if v.is_empty() {
                return None;
            }
            let idx = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
            v.get(idx).copied()
        };
        Percentiles {
            count: v.len() as u64,
            p50: rank(0.5),
            p90: rank(0.9),
            max: v.last().copied(),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct ServiceStats {
    day: Counts,
    interval: Counts,
    wait_ms: Vec<i64>,
    service_ms: Vec<i64>,
}

/// Running figures of the current business day.
#[derive(Debug, Clone)]
pub(crate) struct DayStats {
    rule: DayRule,
    day: Option<Day>,
    services: BTreeMap<String, ServiceStats>,
    issued_at: HashMap<String, i64>,
    /// Per counter: the ticket being served and when it was first called.
    calls: HashMap<u16, (String, i64)>,
    power_down: Vec<(i64, i64)>,
    uplink_down: Vec<(i64, i64)>,
    interval_from: i64,
}

/// Figures the shell reads outside the log.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outside {
    pub site: String,
    pub province: String,
    pub version: String,
    pub boot_count: u64,
    /// Per service id: (waiting, of which priority), from the engine's view.
    pub waiting: BTreeMap<String, (u64, u64)>,
    /// Counters and their state (`open`, `paused`, `closed`).
    pub counters: Vec<(u16, String)>,
    pub printer_state: String,
    pub printer_detail: String,
    pub process_uptime_s: u64,
    pub host_uptime_s: Option<u64>,
    pub backlog_count: u64,
    pub backlog_oldest_at: Option<i64>,
    /// The uplink cursor: every seq up to it was acknowledged by the broker.
    pub published_seq: u64,
    pub store_size_bytes: u64,
    /// The broker connection has been down since then (normally `None` when reporting).
    pub uplink_down_since: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub site: String,
    pub province: String,
    pub version: String,
    pub at: i64,
    pub day: String,
    pub day_start: i64,
    pub interval: Interval,
    pub services: Vec<ServiceReport>,
    pub totals: TotalsReport,
    pub counters_open: u64,
    pub counters: Vec<CounterReport>,
    pub uptime: Uptime,
    pub boot_count: u64,
    pub availability: Availability,
    pub printer: Printer,
    pub backlog: Backlog,
    pub store: Store,
}

#[derive(Debug, Clone, Serialize)]
pub struct Interval {
    pub from: i64,
    pub to: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceReport {
    pub id: String,
    pub interval: Counts,
    pub day: Counts,
    pub waiting: u64,
    pub waiting_priority: u64,
    pub wait_ms: Percentiles,
    pub service_ms: Percentiles,
}

#[derive(Debug, Clone, Serialize)]
pub struct TotalsReport {
    pub interval: Counts,
    pub day: Counts,
    pub waiting: u64,
    pub wait_ms: Percentiles,
    pub service_ms: Percentiles,
}

#[derive(Debug, Clone, Serialize)]
pub struct CounterReport {
    pub number: u16,
    pub state: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Uptime {
    pub process_s: u64,
    pub host_s: Option<u64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Availability {
    pub since: i64,
    pub span_ms: i64,
    pub power_down_ms: i64,
    pub uplink_down_ms: i64,
    /// Share of the span the site was running (1 − power down / span).
    pub power: f64,
    /// Share of the span the site was running and connected to the province.
    pub uplink: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Printer {
    pub state: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Backlog {
    pub count: u64,
    pub oldest_at: Option<i64>,
    pub oldest_age_s: Option<u64>,
    pub published_seq: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Store {
    pub size_bytes: u64,
}

/// Total length of the union of `intervals` clipped to `[from, to]`.
pub(crate) fn covered_ms(intervals: &[(i64, i64)], from: i64, to: i64) -> i64 {
    let mut v: Vec<(i64, i64)> = intervals
        .iter()
        .map(|&(a, b)| (a.max(from), b.min(to)))
        .filter(|(a, b)| a < b)
        .collect();
    v.sort_unstable();
    let mut total = 0;
    let mut cur: Option<(i64, i64)> = None;
    for (a, b) in v {
        cur = match cur {
            Some((ca, cb)) if a <= cb => Some((ca, cb.max(b))),
            Some((ca, cb)) => {
                total += cb - ca;
                Some((a, b))
            }
            None => Some((a, b)),
        };
    }
    if let Some((a, b)) = cur {
        total += b - a;
    }
    total
}

impl DayStats {
    /// `now_ms` starts the first interval.
    pub(crate) fn new(rule: DayRule, now_ms: i64) -> DayStats {
        DayStats {
            rule,
            day: None,
            services: BTreeMap::new(),
            issued_at: HashMap::new(),
            calls: HashMap::new(),
            power_down: Vec::new(),
            uplink_down: Vec::new(),
            interval_from: now_ms,
        }
    }

    fn roll_to(&mut self, day: Day) {
        if self.day.is_some_and(|d| d >= day) {
            return;
        }
        self.day = Some(day);
        for s in self.services.values_mut() {
            s.day = Counts::default();
        }
        self.issued_at.clear();
        self.calls.clear();
        self.power_down.clear();
        self.uplink_down.clear();
    }

    /// Entries that happened before this process started reporting: they count for the
    /// day but not for the interval.
    pub(crate) fn seed(&mut self, e: &Entry) {
        self.apply(e, false);
    }

    /// A new durable entry.
    pub(crate) fn observe(&mut self, e: &Entry) {
        self.apply(e, true);
    }

    fn apply(&mut self, e: &Entry, live: bool) {
        self.roll_to(e.day);
        if self.day.is_some_and(|d| e.day < d) {
            return; // an old day's entry: not today's figures
        }
        match &e.event {
            Event::TicketIssued {
                ticket, service, ..
            } => {
                self.issued_at.insert(ticket.clone(), e.at);
                let s = self.services.entry(service.clone()).or_default();
                s.day.issued += 1;
                if live {
                    s.interval.issued += 1;
                }
            }
            Event::TicketCalled {
                ticket,
                service,
                counter,
                recall: 0,
                ..
            } => {
                self.calls.insert(*counter, (ticket.clone(), e.at));
                if let Some(issued) = self.issued_at.get(ticket).filter(|_| live) {
                    let wait = (e.at - issued).max(0);
                    self.services
                        .entry(service.clone())
                        .or_default()
                        .wait_ms
                        .push(wait);
                }
            }
            Event::TicketServed {
                ticket,
                service,
                counter,
                ..
            } => {
                let s = self.services.entry(service.clone()).or_default();
                s.day.served += 1;
                if live {
                    s.interval.served += 1;
                }
                if let Some((t, called)) = self.calls.remove(counter) {
                    if &t == ticket && live {
                        s.service_ms.push((e.at - called).max(0));
                    }
                }
            }
            Event::TicketSkipped {
                service, counter, ..
            } => {
                let s = self.services.entry(service.clone()).or_default();
                s.day.skipped += 1;
                if live {
                    s.interval.skipped += 1;
                }
                self.calls.remove(counter);
            }
            Event::TicketTransferred {
                counter: Some(c), ..
            } => {
                self.calls.remove(c);
            }
            Event::PowerRestored { down_from, down_to } => {
                self.power_down.push((*down_from, *down_to));
            }
            Event::UplinkRestored { down_from, down_to } => {
                self.uplink_down.push((*down_from, *down_to));
            }
            _ => {}
        }
    }

    /// The metrics message at `now_ms`; starts the next interval.
    pub(crate) fn report(&mut self, now_ms: i64, outside: &Outside) -> Report {
        let today = self.rule.day_of(now_ms);
        self.roll_to(today);
        let day = self.day.unwrap_or(today);
        let day_start = day_start_ms(&self.rule, day);
        let mut ids: Vec<String> = self.services.keys().cloned().collect();
        for id in outside.waiting.keys() {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        ids.sort();
        let mut services = Vec::new();
        let (mut ti, mut td, mut tw) = (Counts::default(), Counts::default(), 0u64);
        let (mut all_wait, mut all_service) = (Vec::new(), Vec::new());
        for id in ids {
            let st = self.services.entry(id.clone()).or_default();
            let (waiting, waiting_priority) = outside.waiting.get(&id).copied().unwrap_or((0, 0));
            add(&mut ti, &st.interval);
            add(&mut td, &st.day);
            tw += waiting;
            all_wait.extend_from_slice(&st.wait_ms);
            all_service.extend_from_slice(&st.service_ms);
            services.push(ServiceReport {
                id,
                interval: st.interval,
                day: st.day,
                waiting,
                waiting_priority,
                wait_ms: Percentiles::of(&st.wait_ms),
                service_ms: Percentiles::of(&st.service_ms),
            });
            st.interval = Counts::default();
            st.wait_ms.clear();
            st.service_ms.clear();
        }
        let span = (now_ms - day_start).max(0);
        let power_down = covered_ms(&self.power_down, day_start, now_ms);
        let mut offline: Vec<(i64, i64)> = self.power_down.clone();
        offline.extend_from_slice(&self.uplink_down);
        if let Some(since) = outside.uplink_down_since {
            offline.push((since, now_ms));
        }
        let offline_ms = covered_ms(&offline, day_start, now_ms);
        let share = |down: i64| {
            if span == 0 {
                1.0
            } else {
                ((span - down) as f64 / span as f64 * 1e6).round() / 1e6
            }
        };
        let report = Report {
            site: outside.site.clone(),
            province: outside.province.clone(),
            version: outside.version.clone(),
            at: now_ms,
            day: day.to_string(),
            day_start,
            interval: Interval {
                from: self.interval_from,
                to: now_ms,
            },
            services,
            totals: TotalsReport {
                interval: ti,
                day: td,
                waiting: tw,
                wait_ms: Percentiles::of(&all_wait),
                service_ms: Percentiles::of(&all_service),
            },
            counters_open: outside.counters.iter().filter(|(_, s)| s == "open").count() as u64,
            counters: outside
                .counters
                .iter()
                .map(|(n, s)| CounterReport {
                    number: *n,
                    state: s.clone(),
                })
                .collect(),
            uptime: Uptime {
                process_s: outside.process_uptime_s,
                host_s: outside.host_uptime_s,
            },
            boot_count: outside.boot_count,
            availability: Availability {
                since: day_start,
                span_ms: span,
                power_down_ms: power_down,
                uplink_down_ms: offline_ms,
                power: share(power_down),
                uplink: share(offline_ms),
            },
            printer: Printer {
                state: outside.printer_state.clone(),
                detail: outside.printer_detail.clone(),
            },
            backlog: Backlog {
                count: outside.backlog_count,
                oldest_at: outside.backlog_oldest_at,
                oldest_age_s: outside
                    .backlog_oldest_at
                    .map(|t| ((now_ms - t).max(0) / 1000) as u64),
                published_seq: outside.published_seq,
            },
            store: Store {
                size_bytes: outside.store_size_bytes,
            },
        };
        self.interval_from = now_ms;
        report
    }
}

fn add(a: &mut Counts, b: &Counts) {
    a.issued += b.issued;
    a.served += b.served;
    a.skipped += b.skipped;
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;

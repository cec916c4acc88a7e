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
    pub fn of(samples: &[i64]) -> Percentiles {
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
pub struct DayStats {
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
pub struct Outside {
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
pub fn covered_ms(intervals: &[(i64, i64)], from: i64, to: i64) -> i64 {
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
    pub fn new(rule: DayRule, now_ms: i64) -> DayStats {
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
    pub fn seed(&mut self, e: &Entry) {
        self.apply(e, false);
    }

    /// A new durable entry.
    pub fn observe(&mut self, e: &Entry) {
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
    pub fn report(&mut self, now_ms: i64, outside: &Outside) -> Report {
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
mod tests {
    use super::*;

    const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z = 07:00 local

    fn e(seq: u64, at: i64, event: Event) -> Entry {
        Entry {
            seq,
            at,
            clock_ok: true,
            day: DayRule::VIETNAM.day_of(at),
            event,
        }
    }
    fn issued(t: &str, s: &str) -> Event {
        Event::TicketIssued {
            ticket: t.into(),
            service: s.into(),
            number: 1,
            priority: false,
            source: "kiosk".into(),
            ahead: 0,
        }
    }
    fn called(t: &str, s: &str, c: u16, recall: u32) -> Event {
        Event::TicketCalled {
            ticket: t.into(),
            service: s.into(),
            counter: c,
            recall,
            officer: String::new(),
        }
    }
    fn served(t: &str, s: &str, c: u16) -> Event {
        Event::TicketServed {
            ticket: t.into(),
            service: s.into(),
            counter: c,
            officer: String::new(),
        }
    }

    #[test]
    fn percentiles_nearest_rank() {
        let p = Percentiles::of(&[5, 1, 4, 2, 3, 6, 7, 8, 9, 10]);
        assert_eq!(
            (p.count, p.p50, p.p90, p.max),
            (10, Some(5), Some(9), Some(10))
        );
        let p = Percentiles::of(&[42]);
        assert_eq!((p.p50, p.p90, p.max), (Some(42), Some(42), Some(42)));
        assert_eq!(Percentiles::of(&[]).p50, None);
    }

    #[test]
    fn counts_waits_and_service_times() {
        let mut m = DayStats::new(DayRule::VIETNAM, T0);
        // Seeded (before this process): counts for the day only.
        m.seed(&e(1, T0 - 10_000, issued("A001", "A")));
        let mut seq = 2;
        let mut next = |at: i64, ev: Event, m: &mut DayStats| {
            m.observe(&e(seq, at, ev));
            seq += 1;
        };
        next(T0 + 1_000, issued("A002", "A"), &mut m);
        next(T0 + 2_000, issued("B001", "B"), &mut m);
        next(T0 + 5_000, called("A001", "A", 1, 0), &mut m); // wait 15 s
        next(T0 + 6_000, called("A001", "A", 1, 1), &mut m); // recall: no new sample
        next(T0 + 9_000, called("B001", "B", 2, 0), &mut m); // wait 7 s
        next(T0 + 35_000, served("A001", "A", 1), &mut m); // service 30 s
        next(T0 + 40_000, called("A002", "A", 1, 0), &mut m); // wait 39 s
        next(
            T0 + 41_000,
            Event::TicketSkipped {
                ticket: "B001".into(),
                service: "B".into(),
                counter: 2,
                officer: String::new(),
            },
            &mut m,
        );
        let mut out = Outside::default();
        out.waiting.insert("A".into(), (0, 0));
        out.waiting.insert("C".into(), (3, 1));
        out.counters = vec![(1, "open".into()), (2, "paused".into())];
        let r = m.report(T0 + 60_000, &out);
        let a = &r.services[0];
        assert_eq!(a.id, "A");
        assert_eq!(
            a.day,
            Counts {
                issued: 2,
                served: 1,
                skipped: 0
            }
        );
        assert_eq!(
            a.interval,
            Counts {
                issued: 1,
                served: 1,
                skipped: 0
            }
        );
        assert_eq!(
            (a.wait_ms.count, a.wait_ms.p50, a.wait_ms.max),
            (2, Some(15_000), Some(39_000))
        );
        assert_eq!((a.service_ms.count, a.service_ms.max), (1, Some(30_000)));
        let b = &r.services[1];
        assert_eq!(b.day.skipped, 1);
        assert_eq!(b.service_ms.count, 0, "a no-show has no service time");
        assert_eq!(r.services[2].id, "C");
        assert_eq!(r.totals.waiting, 3);
        assert_eq!(r.totals.day.issued, 3);
        assert_eq!(r.totals.wait_ms.count, 3);
        assert_eq!(r.counters_open, 1);
        assert_eq!((r.interval.from, r.interval.to), (T0, T0 + 60_000));
        // The next interval starts empty; the day keeps counting.
        let r2 = m.report(T0 + 120_000, &out);
        assert_eq!(r2.totals.interval, Counts::default());
        assert_eq!(r2.totals.day.issued, 3);
        assert_eq!(r2.interval.from, T0 + 60_000);
    }

    #[test]
    fn availability_from_outage_records_clipped_to_the_day() {
        let rule = DayRule::VIETNAM;
        let day = rule.day_of(T0);
        let start = day_start_ms(&rule, day);
        assert_eq!(rule.day_of(start), day);
        assert_eq!(rule.day_of(start - 1), Day(day.0 - 1));
        let mut m = DayStats::new(rule, T0);
        // Power down from before the day started until 10 min into it.
        m.observe(&e(
            1,
            start + 600_000,
            Event::PowerRestored {
                down_from: start - 3_600_000,
                down_to: start + 600_000,
            },
        ));
        // Uplink down 5 min, overlapping nothing.
        m.observe(&e(
            2,
            start + 3_600_000,
            Event::UplinkRestored {
                down_from: start + 3_300_000,
                down_to: start + 3_600_000,
            },
        ));
        let now = start + 10 * 3_600_000;
        let r = m.report(now, &Outside::default());
        let a = r.availability;
        assert_eq!(a.span_ms, 36_000_000);
        assert_eq!(a.power_down_ms, 600_000);
        assert_eq!(a.uplink_down_ms, 900_000);
        assert!((a.power - (1.0 - 600_000.0 / 36e6)).abs() < 1e-6);
        assert!((a.uplink - 0.975).abs() < 1e-6);
        assert_eq!(covered_ms(&[(0, 10), (5, 20), (30, 40)], 0, 35), 25);
    }

    #[test]
    fn a_new_day_resets_day_figures() {
        let rule = DayRule::VIETNAM;
        let mut m = DayStats::new(rule, T0);
        m.observe(&e(1, T0, issued("A001", "A")));
        let tomorrow = day_start_ms(&rule, rule.day_of(T0).next()) + 1000;
        let r = m.report(tomorrow, &Outside::default());
        assert_eq!(r.totals.day.issued, 0);
        assert_eq!(r.totals.interval.issued, 1, "the interval still saw it");
    }
}

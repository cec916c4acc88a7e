//! The province's figures, pure: from a site's stored entries of one business day (and
//! its outage records and status history) compute tickets issued/served/no-shows/
//! transfers per service and per counter, waiting time (issue → first call) and service
//! time (first call → served) percentiles, and availability over the opening hours.
//! No I/O and no clock reads: `now` is an argument.

pub(crate) mod people;

use super::config::Hours;
use crate::core::time::Day;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

const DAY_MS: i64 = 86_400_000;

/// One stored entry, parsed once from its JSON.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ev {
    pub seq: i64,
    pub at: i64,
    pub clock_ok: bool,
    pub kind: Kind,
}

/// A ticket at a counter: what a call, a serve and a skip (no-show) say of it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AtCounter {
    pub ticket: String,
    pub service: String,
    pub counter: i64,
}

/// What came back at the end of a dip (`power_restored` / `uplink_restored`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dip {
    Power,
    Uplink,
}

impl Dip {
    /// The outage kind in the figures' JSON.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Dip::Power => "power",
            Dip::Uplink => "uplink",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Issued {
        ticket: String,
        service: String,
    },
    Called {
        at: AtCounter,
        recall: i64,
    },
    Served(AtCounter),
    Skipped(AtCounter),
    Transferred {
        ticket: String,
        from: String,
    },
    Device {
        device: String,
        state: String,
    },
    /// A dip `from..to` (ms) that has ended.
    Restored {
        dip: Dip,
        from: i64,
        to: i64,
    },
    Other,
}

/// Parse an entry's JSON (`{seq, at, clock_ok, day, event: {kind, ...}}`).
pub(crate) fn parse_entry(body: &str) -> Option<Ev> {
    let v: Value = serde_json::from_str(body).ok()?;
    let e = v.get("event")?;
    let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let n = |k: &str| e.get(k).and_then(Value::as_i64).unwrap_or(0);
    let at = || AtCounter {
        ticket: s("ticket"),
        service: s("service"),
        counter: n("counter"),
    };
    let restored = |dip| Kind::Restored {
        dip,
        from: n("down_from"),
        to: n("down_to"),
    };
    let kind = match e.get("kind").and_then(Value::as_str)? {
        "ticket_issued" => Kind::Issued {
            ticket: s("ticket"),
            service: s("service"),
        },
        "ticket_called" => Kind::Called {
            at: at(),
            recall: n("recall"),
        },
        "ticket_served" => Kind::Served(at()),
        "ticket_skipped" => Kind::Skipped(at()),
        "ticket_transferred" => Kind::Transferred {
            ticket: s("ticket"),
            from: s("from"),
        },
        "device_status" => Kind::Device {
            device: s("device"),
            state: s("state"),
        },
        "power_restored" => restored(Dip::Power),
        "uplink_restored" => restored(Dip::Uplink),
        _ => Kind::Other,
    };
    Some(Ev {
        seq: v.get("seq").and_then(Value::as_i64).unwrap_or(0),
        at: v.get("at").and_then(Value::as_i64).unwrap_or(0),
        clock_ok: v.get("clock_ok").and_then(Value::as_bool).unwrap_or(true),
        kind,
    })
}

/// What a site's figures add up to over days: the counts, the raw durations (so that
/// medians can be taken over a span) and the availability over the opening hours.
/// `DayFigures` (which derefs to them) and `store::Span` are these and what each alone has.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Sums {
    pub issued: i64,
    pub served: i64,
    pub skipped: i64,
    pub transferred: i64,
    /// Waiting times (issue → first call), ms, sorted.
    pub waits_ms: Vec<i64>,
    /// Service times (first call → served), ms, sorted.
    pub service_ms: Vec<i64>,
    /// Opening time elapsed (up to `now`), and how much of it the daemon was up and
    /// connected to the province.
    pub open_ms: i64,
    pub up_ms: i64,
    pub connected_ms: i64,
    pub power_dips: i64,
    pub power_dip_ms: i64,
    pub uplink_dips: i64,
    pub uplink_dip_ms: i64,
    pub printer_trouble_ms: i64,
}

impl Sums {
    /// Add another day's (or span's) figures; the durations are kept unsorted.
    pub(crate) fn add(&mut self, o: &Sums) {
        self.issued += o.issued;
        self.served += o.served;
        self.skipped += o.skipped;
        self.transferred += o.transferred;
        self.waits_ms.extend_from_slice(&o.waits_ms);
        self.service_ms.extend_from_slice(&o.service_ms);
        self.open_ms += o.open_ms;
        self.up_ms += o.up_ms;
        self.connected_ms += o.connected_ms;
        self.power_dips += o.power_dips;
        self.power_dip_ms += o.power_dip_ms;
        self.uplink_dips += o.uplink_dips;
        self.uplink_dip_ms += o.uplink_dip_ms;
        self.printer_trouble_ms += o.printer_trouble_ms;
    }

    /// Share of the opening hours the daemon was up (1 when there were no hours).
    pub(crate) fn up_share(&self) -> f64 {
        if self.open_ms > 0 {
            self.up_ms as f64 / self.open_ms as f64
        } else {
            1.0
        }
    }

    pub(crate) fn connected_share(&self) -> f64 {
        if self.open_ms > 0 {
            self.connected_ms as f64 / self.open_ms as f64
        } else {
            1.0
        }
    }
}

/// Figures of one site on one business day.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct DayFigures {
    pub sums: Sums,
    pub per_service: Value,
    pub per_counter: Value,
    pub clock_unsync_share: f64,
    /// Outages overlapping the day: `[{kind, from, to}]`.
    pub outages: Value,
}

impl std::ops::Deref for DayFigures {
    type Target = Sums;
    fn deref(&self) -> &Sums {
        &self.sums
    }
}

impl std::ops::DerefMut for DayFigures {
    fn deref_mut(&mut self) -> &mut Sums {
        &mut self.sums
    }
}

/// Nearest-rank percentile of sorted values (`None` when empty).
pub(crate) fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// UTC ms of local midnight starting `day`.
pub(crate) fn day_start_ms(day: Day, hours: &Hours) -> i64 {
    i64::from(day.0) * DAY_MS - i64::from(hours.utc_offset_min) * 60_000
}

/// Monday = 0 … Sunday = 6.
pub(crate) fn weekday(day: Day) -> i32 {
    (day.0 + 3).rem_euclid(7)
}

/// Opening windows of `day` as UTC ms intervals.
pub(crate) fn open_windows(day: Day, hours: &Hours) -> Vec<(i64, i64)> {
    let base = day_start_ms(day, hours);
    let w = match weekday(day) {
        0..=4 => &hours.weekday,
        5 => &hours.saturday,
        _ => return Vec::new(),
    };
    w.iter()
        .map(|(a, b)| (base + i64::from(*a) * 60_000, base + i64::from(*b) * 60_000))
        .collect()
}

/// Merge intervals into a sorted union.
pub(crate) fn union(mut v: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    v.retain(|(a, b)| b > a);
    v.sort();
    let mut out: Vec<(i64, i64)> = Vec::new();
    for (a, b) in v {
        match out.last_mut() {
            Some(l) if a <= l.1 => l.1 = l.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// Total overlap of (unioned) `iv` with `windows`.
pub(crate) fn overlap(iv: &[(i64, i64)], windows: &[(i64, i64)]) -> i64 {
    let mut t = 0;
    for (a, b) in iv {
        for (wa, wb) in windows {
            t += (b.min(wb) - a.max(wa)).max(0);
        }
    }
    t
}

/// Compute one site-day. `entries`: the day's entries in seq order; `outages`: power
/// and uplink outage records of the site that may overlap the day (any day's entries);
/// `offline`: spans the site's status said it was offline (Last Will until back online,
/// or until `now`).
pub(crate) fn compute(
    day: Day,
    hours: &Hours,
    entries: &[Ev],
    outages: &[Ev],
    offline: &[(i64, i64)],
    now: i64,
) -> DayFigures {
    let mut f = DayFigures::default();
    let mut issued_at: HashMap<&str, i64> = HashMap::new();
    let mut called_at: HashMap<&str, i64> = HashMap::new();
    #[derive(Default)]
    struct Svc {
        issued: i64,
        served: i64,
        skipped: i64,
        transferred: i64,
        waits: Vec<i64>,
        services: Vec<i64>,
    }
    let mut svc: BTreeMap<String, Svc> = BTreeMap::new();
    let mut ctr: BTreeMap<i64, Svc> = BTreeMap::new();
    let mut unsync = 0usize;
    let mut printer_bad_since: Option<i64> = None;
    let mut printer_bad: Vec<(i64, i64)> = Vec::new();
    for e in entries {
        if !e.clock_ok {
            unsync += 1;
        }
        match &e.kind {
            Kind::Issued { ticket, service } => {
                f.issued += 1;
                svc.entry(service.clone()).or_default().issued += 1;
                issued_at.insert(ticket, e.at);
            }
            Kind::Called {
                at:
                    AtCounter {
                        ticket,
                        service,
                        counter,
                    },
                recall,
            } => {
                if *recall == 0 && !called_at.contains_key(ticket.as_str()) {
                    called_at.insert(ticket, e.at);
                    if let Some(i) = issued_at.get(ticket.as_str()) {
                        let w = (e.at - i).max(0);
                        f.waits_ms.push(w);
                        svc.entry(service.clone()).or_default().waits.push(w);
                    }
                }
                ctr.entry(*counter).or_default();
            }
            Kind::Served(AtCounter {
                ticket,
                service,
                counter,
            }) => {
                f.served += 1;
                let s = svc.entry(service.clone()).or_default();
                s.served += 1;
                let c = ctr.entry(*counter).or_default();
                c.served += 1;
                if let Some(c0) = called_at.get(ticket.as_str()) {
                    let d = (e.at - c0).max(0);
                    f.service_ms.push(d);
                    s.services.push(d);
                    c.services.push(d);
                }
            }
            Kind::Skipped(AtCounter {
                service, counter, ..
            }) => {
                f.skipped += 1;
                svc.entry(service.clone()).or_default().skipped += 1;
                ctr.entry(*counter).or_default().skipped += 1;
            }
            Kind::Transferred { from, .. } => {
                f.transferred += 1;
                svc.entry(from.clone()).or_default().transferred += 1;
            }
            Kind::Device { device, state } if device == "printer" => {
                let bad = state != "ok" && state != "none";
                match (bad, printer_bad_since) {
                    (true, None) => printer_bad_since = Some(e.at),
                    (false, Some(s)) => {
                        printer_bad.push((s, e.at));
                        printer_bad_since = None;
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    let start = day_start_ms(day, hours);
    let end = (start + DAY_MS).min(now.max(start));
    if let Some(s) = printer_bad_since {
        printer_bad.push((s, end));
    }
    f.waits_ms.sort_unstable();
    f.service_ms.sort_unstable();
    f.clock_unsync_share = if entries.is_empty() {
        0.0
    } else {
        unsync as f64 / entries.len() as f64
    };
    let pct = |v: &mut Vec<i64>| {
        v.sort_unstable();
        json!({"p50": percentile(v, 50.0), "p90": percentile(v, 90.0)})
    };
    f.per_service = Value::Object(
        svc.iter_mut()
            .map(|(k, s)| {
                (k.clone(), json!({"issued": s.issued, "served": s.served, "skipped": s.skipped,
                    "transferred": s.transferred, "wait_ms": pct(&mut s.waits), "service_ms": pct(&mut s.services)}))
            })
            .collect(),
    );
    f.per_counter = Value::Object(
        ctr.iter_mut()
            .map(|(k, c)| (k.to_string(), json!({"served": c.served, "skipped": c.skipped, "service_ms": pct(&mut c.services)})))
            .collect(),
    );
    // Availability over the opening hours elapsed so far.
    let windows: Vec<(i64, i64)> = open_windows(day, hours)
        .into_iter()
        .map(|(a, b)| (a, b.min(end)))
        .filter(|(a, b)| b > a)
        .collect();
    f.open_ms = windows.iter().map(|(a, b)| b - a).sum();
    let mut power = Vec::new();
    let mut uplink = Vec::new();
    let mut list = Vec::new();
    for o in outages {
        let Kind::Restored {
            dip,
            from: a,
            to: b,
        } = o.kind
        else {
            continue;
        };
        if b <= start || a >= start + DAY_MS || b <= a {
            continue;
        }
        let in_hours = overlap(&[(a, b)], &windows);
        if dip == Dip::Power {
            power.push((a, b));
            if in_hours > 0 {
                f.power_dips += 1;
            }
        } else {
            uplink.push((a, b));
            if in_hours > 0 {
                f.uplink_dips += 1;
            }
        }
        list.push(json!({"kind": dip.name(), "from": a, "to": b, "in_hours_ms": in_hours}));
    }
    let power_u = union(power.clone());
    f.power_dip_ms = overlap(&power_u, &windows);
    f.uplink_dip_ms = overlap(&union(uplink.clone()), &windows);
    f.up_ms = f.open_ms - f.power_dip_ms;
    let mut all = power;
    all.extend(uplink);
    all.extend(offline.iter().copied());
    f.connected_ms = f.open_ms - overlap(&union(all), &windows);
    f.printer_trouble_ms = overlap(&union(printer_bad), &windows);
    f.outages = Value::Array(list);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: i64, at: i64, kind: Kind) -> Ev {
        Ev {
            seq,
            at,
            clock_ok: true,
            kind,
        }
    }

    // 2026-12-01 is a Tuesday.
    fn tue() -> Day {
        Day::from_ymd(2026, 12, 1).unwrap()
    }

    fn local(day: Day, h: i64, m: i64) -> i64 {
        day_start_ms(day, &Hours::default()) + (h * 60 + m) * 60_000
    }

    #[test]
    fn weekdays_and_windows() {
        let h = Hours::default();
        assert_eq!(weekday(tue()), 1);
        let w = open_windows(tue(), &h);
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].0, local(tue(), 7, 30));
        assert_eq!(w[1].1, local(tue(), 17, 0));
        let sat = Day::from_ymd(2026, 12, 5).unwrap();
        assert!(open_windows(sat, &h).is_empty());
        let h2 = Hours {
            saturday: vec![(450, 690)],
            ..Hours::default()
        };
        assert_eq!(open_windows(sat, &h2).len(), 1);
    }

    #[test]
    fn waits_and_counts() {
        let d = tue();
        let t = |h, m| local(d, h, m);
        let s = |x: &str| x.to_string();
        let at = |ticket: &str| AtCounter {
            ticket: s(ticket),
            service: s("A"),
            counter: 1,
        };
        let issued = |ticket: &str| Kind::Issued {
            ticket: s(ticket),
            service: s("A"),
        };
        let called = |ticket: &str, recall| Kind::Called {
            at: at(ticket),
            recall,
        };
        let es = vec![
            ev(1, t(8, 0), issued("A001")),
            ev(2, t(8, 1), issued("A002")),
            ev(3, t(8, 10), called("A001", 0)),
            ev(4, t(8, 12), called("A001", 1)),
            ev(5, t(8, 20), Kind::Served(at("A001"))),
            ev(6, t(8, 21), called("A002", 0)),
            ev(7, t(8, 25), Kind::Skipped(at("A002"))),
        ];
        let f = compute(d, &Hours::default(), &es, &[], &[], t(23, 0));
        assert_eq!((f.issued, f.served, f.skipped), (2, 1, 1));
        assert_eq!(f.waits_ms, vec![10 * 60_000, 20 * 60_000]);
        assert_eq!(f.service_ms, vec![10 * 60_000]);
        assert_eq!(f.per_counter["1"]["served"], 1);
        assert_eq!(f.per_service["A"]["wait_ms"]["p90"], 20 * 60_000);
        assert_eq!(f.open_ms, (4 * 60 + 3 * 60 + 30) * 60_000);
        assert_eq!(f.up_ms, f.open_ms);
    }

    #[test]
    fn availability_from_outages() {
        let d = tue();
        let t = |h, m| local(d, h, m);
        let restored = |dip, from, to| Kind::Restored { dip, from, to };
        let outages = vec![
            // 30 min power cut in the morning, 20 min of it over lunch-free hours.
            ev(1, t(9, 0), restored(Dip::Power, t(8, 30), t(9, 0))),
            // Uplink down 11:00–14:00: 30 min morning + 30 min afternoon.
            ev(2, t(14, 0), restored(Dip::Uplink, t(11, 0), t(14, 0))),
            // Outside the hours: does not count as a dip.
            ev(3, t(20, 0), restored(Dip::Power, t(19, 0), t(20, 0))),
        ];
        let f = compute(d, &Hours::default(), &[], &outages, &[], t(23, 0));
        assert_eq!(f.power_dips, 1);
        assert_eq!(f.power_dip_ms, 30 * 60_000);
        assert_eq!(f.uplink_dips, 1);
        assert_eq!(f.uplink_dip_ms, 60 * 60_000);
        assert_eq!(f.up_ms, f.open_ms - 30 * 60_000);
        assert_eq!(f.connected_ms, f.open_ms - 90 * 60_000);
        // Half-way through the morning only the elapsed hours count.
        let g = compute(
            d,
            &Hours::default(),
            &[],
            &[],
            &[(t(9, 0), t(9, 30))],
            t(9, 30),
        );
        assert_eq!(g.open_ms, 2 * 60 * 60_000);
        assert_eq!(g.connected_ms, 90 * 60_000);
    }

    #[test]
    fn printer_trouble_and_parse() {
        let d = tue();
        let t = |h, m| local(d, h, m);
        let dev = |st: &str| Kind::Device {
            device: "printer".into(),
            state: st.into(),
        };
        let es = vec![
            ev(1, t(10, 0), dev("paper_out")),
            ev(2, t(10, 15), dev("ok")),
        ];
        let f = compute(d, &Hours::default(), &es, &[], &[], t(23, 0));
        assert_eq!(f.printer_trouble_ms, 15 * 60_000);
        let e = parse_entry(r#"{"seq":4,"at":5,"clock_ok":false,"day":"2026-12-01","event":{"kind":"ticket_called","ticket":"A1","service":"A","counter":2,"recall":0}}"#).unwrap();
        assert_eq!(e.seq, 4);
        assert!(!e.clock_ok);
        assert!(matches!(
            e.kind,
            Kind::Called {
                at: AtCounter { counter: 2, .. },
                ..
            }
        ));
        assert_eq!(percentile(&[1, 2, 3, 4], 50.0), Some(2));
        assert_eq!(percentile(&[], 50.0), None);
    }
}

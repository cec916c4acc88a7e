//! Tests of the day figures and the metrics report.

use super::*;
use crate::core::test_events::{self, entry as e, issued};

const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z = 07:00 local

/// Calls and services in these tests have no officer.
fn called(t: &str, s: &str, c: u16, recall: u32) -> Event {
    test_events::called(t, s, c, recall, "")
}
fn served(t: &str, s: &str, c: u16) -> Event {
    test_events::served(t, s, c, "")
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

//! Ratings and officers of a site-day against a day computed by hand, a week merged
//! from two days, and — on days played through the real queue rules — the same figures
//! as the board's daily report.

use super::*;
use crate::core::{test_events, DayRule};
use crate::report::tests::rated;

// 2026-12-01 08:00 in Vietnam.
const T: i64 = 1_796_086_800_000;

fn day() -> Day {
    DayRule::VIETNAM.day_of(T)
}

/// An entry `s` seconds after `T`.
fn e(seq: u64, s: i64, event: Event) -> Entry {
    test_events::entry(seq, T + s * 1000, event)
}

// Tickets of service A.
fn issued(t: &str) -> Event {
    test_events::issued(t, "A")
}
fn called(t: &str, c: u16, recall: u32, o: &str) -> Event {
    test_events::called(t, "A", c, recall, o)
}
fn served(t: &str, c: u16, o: &str) -> Event {
    test_events::served(t, "A", c, o)
}
fn skipped(t: &str, c: u16, o: &str) -> Event {
    Event::TicketSkipped {
        ticket: t.into(),
        service: "A".into(),
        counter: c,
        officer: o.into(),
    }
}

/// Seconds after 08:00. lan serves A001 (wait 60, service 240) and A003 (wait 300,
/// service 120, recalled once) and skips A004; minh serves A002 (wait 150, service 90);
/// nobody signed in skips A005. Ratings: A001 very satisfied, A002 unsatisfied (slow),
/// A003 unsatisfied (slow, rude).
fn the_day() -> Vec<Entry> {
    use RatingLevel::*;
    vec![
        e(1, -86_400, issued("A009")), // yesterday: ignored
        e(2, 0, issued("A001")),
        e(3, 30, issued("A002")),
        e(4, 60, called("A001", 1, 0, "lan")),
        e(5, 90, issued("A003")),
        e(6, 180, called("A002", 2, 0, "minh")),
        e(7, 270, served("A002", 2, "minh")),
        e(8, 280, rated("A002", 2, "minh", Unsatisfied, &["slow"])),
        e(9, 300, served("A001", 1, "lan")),
        e(10, 310, rated("A001", 1, "lan", VerySatisfied, &[])),
        e(11, 320, issued("A004")),
        e(12, 390, called("A003", 1, 0, "lan")),
        e(13, 420, called("A003", 1, 1, "lan")), // recall: no new wait
        e(14, 510, served("A003", 1, "lan")),
        e(
            15,
            515,
            rated("A003", 1, "lan", Unsatisfied, &["slow", "rude"]),
        ),
        e(16, 520, issued("A005")),
        e(17, 600, called("A004", 1, 0, "lan")),
        e(18, 660, skipped("A004", 1, "lan")),
        e(19, 700, called("A005", 3, 0, "")),
        e(20, 760, skipped("A005", 3, "")),
        e(21, 86_400, rated("A001", 1, "lan", Satisfied, &[])), // tomorrow: ignored
    ]
}

fn t(count: u64, median: i64, p90: i64) -> Times {
    Times {
        count,
        median_s: Some(median),
        p90_s: Some(p90),
    }
}

#[test]
fn the_hand_computed_day() {
    let p = People::fold(day(), &the_day());
    assert_eq!(
        (
            p.ratings.very_satisfied,
            p.ratings.satisfied,
            p.ratings.unsatisfied
        ),
        (1, 0, 2)
    );
    let reasons = BTreeMap::from([("rude".to_string(), 1), ("slow".to_string(), 2)]);
    assert_eq!(p.ratings.reasons, reasons);
    assert_eq!(p.ratings.share(RatingLevel::Unsatisfied), Some(2.0 / 3.0));
    assert_eq!(p.ratings.satisfied_share(), Some(1.0 / 3.0));
    let f = p.officer_figures();
    assert_eq!(f.keys().collect::<Vec<_>>(), vec!["", "lan", "minh"]);
    let lan = &f["lan"];
    assert_eq!((lan.called, lan.served, lan.no_shows), (3, 2, 1));
    // Waits 60, 300, 520 (A004 issued 320, called 600 → 280): 60, 280, 300.
    assert_eq!(lan.waiting, t(3, 280, 300));
    // Service 240 and 120: nearest-rank median 120, p90 240.
    assert_eq!(lan.service, t(2, 120, 240));
    assert_eq!(lan.ratings.total, 2);
    assert_eq!(lan.ratings.levels[0].count, 1);
    assert_eq!(lan.ratings.levels[2].count, 1);
    assert_eq!(lan.ratings.levels[2].share, 0.5);
    let minh = &f["minh"];
    assert_eq!((minh.called, minh.served, minh.no_shows), (1, 1, 0));
    assert_eq!(
        (minh.waiting.clone(), minh.service.clone()),
        (t(1, 150, 150), t(1, 90, 90))
    );
    let nobody = &f[""];
    assert_eq!((nobody.called, nobody.served, nobody.no_shows), (1, 0, 1));
    assert_eq!(nobody.waiting, t(1, 180, 180));
    assert_eq!(nobody.service.median_s, None);
    assert_eq!(nobody.ratings.total, 0);
    // The board's report of the same entries says the same.
    let board = crate::report::day::fold(&day().to_string(), &the_day());
    assert_eq!(board.officers, f);
    assert_eq!(board.total.ratings, p.ratings.to_board());
}

#[test]
fn a_week_takes_medians_over_all_its_tickets_and_survives_storage() {
    let d1 = People::fold(day(), &the_day());
    // The next day: lan serves one ticket in 600 s, rated satisfied.
    let next = Day(day().0 + 1);
    let at = |s: i64| T + 86_400_000 + s * 1000;
    let x = |seq, s, event| Entry {
        seq,
        at: at(s),
        clock_ok: true,
        day: next,
        event,
    };
    let d2 = People::fold(
        next,
        &[
            x(30, 0, issued("A001")),
            x(31, 100, called("A001", 1, 0, "lan")),
            x(32, 700, served("A001", 1, "lan")),
            x(
                33,
                710,
                rated("A001", 1, "lan", RatingLevel::Satisfied, &[]),
            ),
        ],
    );
    let mut week = People::default();
    for d in [&d1, &d2] {
        // Through the JSON the site_day row keeps.
        let text = serde_json::to_string(d).unwrap_or_default();
        let back: People = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(&back, d);
        week.add(&back);
    }
    let lan = &week.officer_figures()["lan"];
    assert_eq!((lan.called, lan.served, lan.no_shows), (4, 3, 1));
    // Service 120, 240, 600 over the week: median 240 (no median of medians).
    assert_eq!(lan.service, t(3, 240, 600));
    assert_eq!(lan.waiting, t(4, 100, 300));
    assert_eq!(
        (
            week.ratings.very_satisfied,
            week.ratings.satisfied,
            week.ratings.unsatisfied
        ),
        (1, 1, 2)
    );
    assert_eq!(week.ratings.reasons["slow"], 2);
}

/// Every kind of entry the daemon makes, one of each.
fn every_kind() -> Vec<Event> {
    vec![
        Event::DayStarted {},
        Event::TicketTransferred {
            ticket: "A001".into(),
            from: "A".into(),
            to: "B".into(),
            counter: Some(1),
            officer: "lan".into(),
        },
        Event::CounterOpened { counter: 1 },
        Event::DeviceStatus {
            device: "printer".into(),
            state: "paper_out".into(),
            detail: "x".into(),
        },
        Event::PowerRestored {
            down_from: 5,
            down_to: 9,
        },
        Event::UplinkRestored {
            down_from: 7,
            down_to: 8,
        },
        Event::OfficerSignedIn {
            counter: 1,
            officer: "lan".into(),
        },
    ]
}

#[test]
fn entries_are_parsed_as_the_site_sends_them() {
    let more = every_kind()
        .into_iter()
        .enumerate()
        .map(|(i, ev)| e(100 + i as u64, i as i64, ev));
    for entry in the_day().into_iter().chain(more) {
        let mut v = serde_json::to_value(&entry).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("site".into(), "bt".into());
        }
        let body = v.to_string();
        assert_eq!(parse_entry(&body), Some(entry.clone()));
        // Parsed once for both folds: the same `Ev` as the figures' own parser makes.
        let (ev, board) = parse_both(&body);
        assert_eq!(board, Some(entry));
        assert_eq!(ev, crate::province::figures::parse_entry(&body));
    }
    // A kind this layso does not know: only the lenient parse.
    let future =
        r#"{"seq":9,"at":1,"clock_ok":true,"day":"2026-12-01","event":{"kind":"from_the_future"}}"#;
    let (ev, board) = parse_both(future);
    assert_eq!(board, None);
    assert_eq!(ev.map(|e| (e.seq, e.kind)), Some((9, Kind::Other)));
    // An old site: no officer field at all → "no officer".
    let old = r#"{"site":"x","seq":3,"at":5,"clock_ok":true,"day":"2026-12-01","event":{"kind":"ticket_served","ticket":"A1","service":"A","counter":2}}"#;
    let p = People::fold(day(), parse_entry(old).as_slice());
    assert_eq!(p.officers[""].served, 1);
    assert_eq!(
        parse_entry(r#"{"seq":1,"event":{"kind":"from_the_future"}}"#),
        None
    );
}

mod agreement {
    use super::super::People;
    use crate::core::Entry;
    use crate::report::tests::properties::play;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        /// Whatever the day was (played through the real queue rules, across midnight,
        /// sent over the wire as JSON), the province's officers and ratings are exactly
        /// the board's daily report's.
        #[test]
        fn province_and_board_agree(ops in proptest::collection::vec((0u8..12, 1u16..=2, any::<u8>(), 0i64..900_000), 1..200)) {
            let log = play(&ops);
            let wire: Vec<Entry> = log
                .iter()
                .filter_map(|e| super::super::parse_entry(&serde_json::to_string(e).unwrap_or_default()))
                .collect();
            prop_assert_eq!(wire.len(), log.len());
            let day = super::day();
            let board = crate::report::day::fold(&day.to_string(), &log);
            let p = People::fold(day, &wire);
            prop_assert_eq!(&board.officers, &p.officer_figures());
            prop_assert_eq!(&board.total.ratings, &p.ratings.to_board());
        }
    }
}

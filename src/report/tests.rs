//! The daily report against a day computed by hand, and reading one day out of a
//! real store that holds three.

use super::day::{fold, Times};
use crate::core::rating::RatingLevel;
use crate::core::test_events::{called, entry, issued, served};
use crate::core::{Day, DayRule, Entry, Event};

// 2026-12-01 08:00 in Vietnam.
const T: i64 = 1_796_086_800_000;

fn day() -> Day {
    DayRule::VIETNAM.day_of(T)
}

/// An entry `s` seconds after `T`.
fn e(seq: u64, s: i64, event: Event) -> Entry {
    entry(seq, T + s * 1000, event)
}

/// Ticket `t` rated at counter `c` (officer `o`), with `reasons`.
pub(crate) fn rated(t: &str, c: u16, o: &str, level: RatingLevel, reasons: &[&str]) -> Event {
    Event::Rated {
        counter: c,
        ticket: t.into(),
        officer: o.into(),
        level,
        reasons: reasons.iter().map(|s| s.to_string()).collect(),
        dossier: String::new(),
    }
}

/// The hand-computed day (times in seconds after 08:00).
fn the_day() -> Vec<Entry> {
    vec![
        e(1, -86_400, issued("A001", "A")), // yesterday: ignored
        e(2, 0, Event::DayStarted {}),
        e(3, 0, issued("A001", "A")),
        e(4, 60, issued("A002", "A")),
        e(
            5,
            100,
            Event::OfficerSignedIn {
                counter: 1,
                officer: "lan".into(),
            },
        ),
        e(6, 120, issued("B001", "B")),
        e(7, 180, called("A001", "A", 1, 0, "lan")), // waited 180
        e(8, 200, called("A001", "A", 1, 1, "lan")), // recall: no new wait
        e(9, 240, called("B001", "B", 2, 0, "")),    // waited 120, nobody signed in
        e(10, 480, served("A001", "A", 1, "lan")),   // served in 300
        e(
            11,
            500,
            rated("A001", 1, "lan", RatingLevel::VerySatisfied, &[]),
        ),
        e(12, 540, called("A002", "A", 1, 0, "lan")), // waited 480
        e(
            13,
            600,
            Event::TicketSkipped {
                ticket: "B001".into(),
                service: "B".into(),
                counter: 2,
                officer: String::new(),
            },
        ),
        e(14, 660, served("A002", "A", 1, "lan")), // served in 120
        e(
            15,
            700,
            rated(
                "A002",
                1,
                "lan",
                RatingLevel::Unsatisfied,
                &["slow", "rude"],
            ),
        ),
        e(16, 86_400, issued("A001", "A")), // tomorrow: ignored
    ]
}

fn times(count: u64, median: i64, p90: i64) -> Times {
    Times {
        count,
        median_s: Some(median),
        p90_s: Some(p90),
    }
}

#[test]
fn figures_match_the_hand_computed_day() {
    let log = the_day();
    let r = fold(&day().to_string(), &log);
    assert_eq!(r.day, "2026-12-01");
    assert_eq!(r.entries, 14);
    let t = &r.total;
    assert_eq!(
        (t.issued, t.called, t.served, t.no_shows),
        (3, 3, 2, 1),
        "{t:?}"
    );
    // Waits 120, 180, 480: nearest-rank median 180, p90 480.
    assert_eq!(t.waiting, times(3, 180, 480));
    // Service 120, 300.
    assert_eq!(t.service, times(2, 120, 300));
    assert_eq!(t.ratings.total, 2);
    let counts: Vec<_> = t
        .ratings
        .levels
        .iter()
        .map(|l| (l.count, l.share))
        .collect();
    assert_eq!(counts, vec![(1, 0.5), (0, 0.0), (1, 0.5)]);
    let reasons: Vec<_> = t
        .ratings
        .reasons
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(reasons, vec![("rude", 1), ("slow", 1)]);

    let a = &r.services["A"];
    assert_eq!((a.issued, a.called, a.served, a.no_shows), (2, 2, 2, 0));
    assert_eq!(a.waiting, times(2, 180, 480));
    assert_eq!(a.ratings.total, 2);
    let b = &r.services["B"];
    assert_eq!((b.issued, b.called, b.served, b.no_shows), (1, 1, 0, 1));
    assert_eq!(b.waiting, times(1, 120, 120));
    assert_eq!(b.service.count, 0);
    assert_eq!(b.ratings.total, 0);

    let c1 = &r.counters[&1];
    assert_eq!((c1.called, c1.served, c1.no_shows), (2, 2, 0));
    assert_eq!(c1.service, times(2, 120, 300));
    let c2 = &r.counters[&2];
    assert_eq!((c2.called, c2.served, c2.no_shows), (1, 0, 1));

    let lan = &r.officers["lan"];
    assert_eq!((lan.called, lan.served, lan.ratings.total), (2, 2, 2));
    let nobody = &r.officers[""];
    assert_eq!((nobody.called, nobody.no_shows), (1, 1));

    let csv = super::csv::render(&r, |g, k| format!("{g}:{k}"));
    let lines: Vec<_> = csv.lines().collect();
    assert_eq!(
        lines.get(1).copied(),
        Some("day,2026-12-01,,3,3,2,1,180,480,120,300,2,1,0,1,0.500")
    );
    assert!(csv.contains("\nofficer,lan,officer:lan,0,2,2,0,180,480,120,300,2,1,0,1,0.500\n"));
    assert!(csv.contains("\nslow,reason:slow,1\n"), "{csv}");
}

#[test]
fn one_day_is_read_out_of_a_store_of_three() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let (mut log, _) = crate::log::EventLog::open(&dir.path().join("store"), "s", T)?;
    let mut seq = log.next_seq();
    let mut all = Vec::new();
    for d in -1i64..=1 {
        for i in 0..2_500i64 {
            all.push(Entry {
                seq,
                at: T + d * 86_400_000 + i,
                clock_ok: true,
                day: DayRule::VIETNAM.day_of(T + d * 86_400_000),
                event: issued(&format!("A{i:04}"), "A"),
            });
            seq += 1;
        }
    }
    log.append(&all)?;
    log.flush()?;
    let got = super::day_entries(&log.reader(), day())?;
    let want: Vec<_> = all.iter().filter(|e| e.day == day()).cloned().collect();
    assert_eq!(got.len(), 2_500);
    assert_eq!(got, want);
    let none = super::day_entries(&log.reader(), Day(day().0 + 10))?;
    assert!(none.is_empty());
    Ok(())
}

/// Days played through the real queue rules; the province's agreement test
/// (`province::figures::people`) plays the same days.
pub(crate) mod properties {
    use super::super::day::fold;
    use crate::core::rating::{RatingLevel, RatingRules};
    use crate::core::{apply, decide, Command, Entry, Now};
    use crate::core::{Site, State};
    use proptest::prelude::*;
    use std::sync::Arc;

    /// Services A and B, counter 1 serving both and 2 serving B, officers lan and minh,
    /// reasons slow and rude, a rating asked after a no-show too.
    pub(crate) fn site() -> Arc<Site> {
        crate::core::test_events::site(
            &[("A", 1), ("B", 1)],
            &[(1, &["A", "B"]), (2, &["B"])],
            RatingRules {
                officers: vec!["lan".into(), "minh".into()],
                rate_on_skip: true,
                reasons: vec!["slow".into(), "rude".into()],
                ..RatingRules::default()
            },
        )
    }

    pub(crate) fn command(op: u8, c: u16, x: u8) -> Command {
        match op {
            0 | 8 => Command::Issue {
                service: if x % 2 == 0 { "A" } else { "B" }.into(),
                priority: x % 5 == 0,
                source: "t".into(),
            },
            1 | 9 => Command::Next { counter: c },
            2 => Command::Complete { counter: c },
            3 => Command::Skip { counter: c },
            4 => Command::Transfer {
                counter: c,
                service: Some("B".into()),
            },
            5 => Command::SignIn {
                counter: c,
                officer: if x % 2 == 0 { "lan" } else { "minh" }.into(),
            },
            6 => Command::SignOut { counter: c },
            10 => Command::Recall { counter: c },
            _ => Command::Rate {
                counter: c,
                level: RatingLevel::ALL[usize::from(x % 3)],
                reasons: match x % 6 {
                    2 => vec!["slow".into()],
                    5 => vec!["slow".into(), "rude".into()],
                    _ => vec![],
                },
                dossier: String::new(),
            },
        }
    }

    /// Play `(op, counter, x, ms since the previous)` from `T` on `site()`: the log
    /// of what the queue rules decided (a command they refuse is passed over).
    pub(crate) fn play(ops: &[(u8, u16, u8, i64)]) -> Vec<Entry> {
        let mut state = State::new(site());
        let mut log: Vec<Entry> = Vec::new();
        let mut t = super::T;
        for &(op, c, x, dt) in ops {
            t += dt;
            let now = Now {
                wall_ms: t,
                clock_ok: true,
            };
            let Ok(d) = decide(&state, &command(op, c, x), now) else {
                continue;
            };
            for e in d.entries(log.len() as u64 + 1) {
                apply(&mut state, &e);
                log.push(e);
            }
        }
        log
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        /// Whatever the day was, the groups add up to the day: every served ticket, no-show
        /// and rating is counted once per service, per counter and per officer; shares sum
        /// to one; no-shows and served never exceed the tickets called.
        #[test]
        fn groups_add_up_to_the_day(ops in proptest::collection::vec((0u8..8, 1u16..=2, any::<u8>(), 0i64..200_000), 1..150)) {
            let log = play(&ops);
            let day = super::day().to_string();
            let r = fold(&day, &log);
            let t = &r.total;
            let sum = |f: &dyn Fn(&super::super::day::Figures) -> u64| {
                (
                    r.services.values().map(f).sum::<u64>(),
                    r.counters.values().map(f).sum::<u64>(),
                    r.officers.values().map(f).sum::<u64>(),
                )
            };
            prop_assert_eq!(sum(&|f| f.served), (t.served, t.served, t.served));
            prop_assert_eq!(sum(&|f| f.no_shows), (t.no_shows, t.no_shows, t.no_shows));
            prop_assert_eq!(sum(&|f| f.called), (t.called, t.called, t.called));
            prop_assert_eq!(r.services.values().map(|f| f.issued).sum::<u64>(), t.issued);
            let rated = t.ratings.total;
            prop_assert_eq!(sum(&|f| f.ratings.total), (rated, rated, rated));
            prop_assert!(t.served + t.no_shows <= t.called, "finished {} + {} of {} called", t.served, t.no_shows, t.called);
            prop_assert!(t.called <= t.issued);
            if rated > 0 {
                let shares: f64 = t.ratings.levels.iter().map(|l| l.share).sum();
                prop_assert!((shares - 1.0).abs() < 1e-9, "shares {}", shares);
            }
            let live_rated = log.iter().filter(|e| matches!(e.event, crate::core::Event::Rated { .. }) && e.day.to_string() == day).count() as u64;
            prop_assert_eq!(rated, live_rated);
        }
    }
}

//! Properties of the officer and rating rules: no ticket rated twice, no rating without
//! a ticket just finished at that counter, the window, attribution, one counter per
//! officer, and replay equals live.

use super::rating::{RatingLevel, RatingRules};
use super::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

const T0: i64 = 1_764_032_400_000; // 2025-11-25T01:00Z, 08:00 in Vietnam
const WINDOW: i64 = 120_000;
const OFFICERS: [&str; 3] = ["lan", "minh", "hoa"];

fn site(allow_anonymous: bool, rate_on_skip: bool) -> Arc<Site> {
    test_events::site(
        &[("A", 1)],
        &[(1, &["A"]), (2, &["A"]), (3, &["A"])],
        RatingRules {
            officers: OFFICERS.iter().map(|s| s.to_string()).collect(),
            allow_anonymous,
            window_ms: WINDOW,
            rate_on_skip,
            reasons: vec!["slow".into(), "rude".into()],
        },
    )
}

struct Live {
    state: State,
    log: Vec<Entry>,
}

impl Live {
    fn new(site: Arc<Site>) -> Live {
        Live {
            state: State::new(site),
            log: vec![],
        }
    }
    fn run(&mut self, cmd: &Command, wall_ms: i64) -> Result<Vec<Event>, Rejection> {
        let now = Now {
            wall_ms,
            clock_ok: true,
        };
        let d = decide(&self.state, cmd, now)?;
        let mut out = vec![];
        for e in d.entries(self.log.len() as u64 + 1) {
            apply(&mut self.state, &e);
            out.push(e.event.clone());
            self.log.push(e);
        }
        Ok(out)
    }
}

fn rate(counter: u16, level: RatingLevel, reasons: &[&str]) -> Command {
    Command::Rate {
        counter,
        level,
        reasons: reasons.iter().map(|s| s.to_string()).collect(),
        dossier: String::new(),
    }
}

fn code(r: Result<Vec<Event>, Rejection>) -> Option<RejectCode> {
    r.err().map(|r| r.code)
}

/// The command a kiosk sends for an ordinary ticket of service A.
fn issue() -> Command {
    Command::Issue {
        service: "A".into(),
        priority: false,
        source: "t".into(),
    }
}

#[test]
fn served_ticket_is_rated_once_with_its_officer() {
    let mut l = Live::new(site(true, false));
    let sign_in = Command::SignIn {
        counter: 1,
        officer: "lan".into(),
    };
    assert!(l.run(&sign_in, T0).is_ok());
    let issue = issue();
    assert!(l.run(&issue, T0 + 1).is_ok());
    let called = l.run(&Command::Next { counter: 1 }, T0 + 2);
    assert!(
        matches!(&called.as_deref(), Ok([Event::TicketCalled { officer, .. }]) if officer == "lan")
    );
    // Nothing finished yet.
    assert_eq!(
        code(l.run(&rate(1, RatingLevel::Satisfied, &[]), T0 + 3)),
        Some(RejectCode::NothingToRate)
    );
    assert!(l.run(&Command::Complete { counter: 1 }, T0 + 4).is_ok());
    // Reasons only with unsatisfied; unknown reasons refused.
    assert_eq!(
        code(l.run(&rate(1, RatingLevel::Satisfied, &["slow"]), T0 + 5)),
        Some(RejectCode::BadRating)
    );
    assert_eq!(
        code(l.run(&rate(1, RatingLevel::Unsatisfied, &["late"]), T0 + 5)),
        Some(RejectCode::BadRating)
    );
    let rated = l.run(&rate(1, RatingLevel::Unsatisfied, &["slow"]), T0 + 6);
    assert!(
        matches!(&rated.as_deref(), Ok([Event::Rated { ticket, officer, level: RatingLevel::Unsatisfied, .. }]) if ticket == "A001" && officer == "lan"),
        "{rated:?}"
    );
    assert_eq!(l.state.ratings.alerts.len(), 1);
    // Counter 1's ticket is rated already; counter 2 finished nothing.
    for (counter, refusal) in [
        (1, RejectCode::AlreadyRated),
        (2, RejectCode::NothingToRate),
    ] {
        let again = rate(counter, RatingLevel::VerySatisfied, &[]);
        assert_eq!(
            code(l.run(&again, T0 + 7)),
            Some(refusal),
            "counter {counter}"
        );
    }
}

#[test]
fn window_and_skips() {
    let mut l = Live::new(site(true, false));
    let issue = issue();
    for i in 0..2 {
        assert!(l.run(&issue, T0 + i).is_ok());
    }
    assert!(l.run(&Command::Next { counter: 1 }, T0 + 10).is_ok());
    assert!(l.run(&Command::Complete { counter: 1 }, T0 + 20).is_ok());
    assert_eq!(
        code(l.run(&rate(1, RatingLevel::Satisfied, &[]), T0 + 20 + WINDOW + 1)),
        Some(RejectCode::RatingWindowClosed)
    );
    assert!(l.run(&Command::Next { counter: 1 }, T0 + 200_000).is_ok());
    assert!(l.run(&Command::Skip { counter: 1 }, T0 + 200_010).is_ok());
    // Skipped tickets are not rated unless configured, and the served one before is
    // no longer "just finished".
    assert_eq!(
        code(l.run(&rate(1, RatingLevel::Satisfied, &[]), T0 + 200_020)),
        Some(RejectCode::NothingToRate)
    );
}

#[test]
fn no_anonymous_counters_when_the_site_says_so() {
    let mut l = Live::new(site(false, false));
    let issue = issue();
    assert!(l.run(&issue, T0).is_ok());
    assert_eq!(
        code(l.run(&Command::Next { counter: 1 }, T0 + 1)),
        Some(RejectCode::NotSignedIn)
    );
    let unknown = Command::SignIn {
        counter: 1,
        officer: "ghost".into(),
    };
    assert_eq!(
        code(l.run(&unknown, T0 + 2)),
        Some(RejectCode::UnknownOfficer)
    );
    let at = |counter| Command::SignIn {
        counter,
        officer: "minh".into(),
    };
    assert!(l.run(&at(1), T0 + 3).is_ok());
    assert!(l.run(&Command::Next { counter: 1 }, T0 + 4).is_ok());
    // Signing in at counter 2 signs minh out at counter 1.
    let moved = l.run(&at(2), T0 + 5);
    assert!(
        matches!(
            &moved.as_deref(),
            Ok([
                Event::OfficerSignedOut { counter: 1, .. },
                Event::OfficerSignedIn { counter: 2, .. }
            ])
        ),
        "{moved:?}"
    );
    assert_eq!(
        code(l.run(&Command::Complete { counter: 1 }, T0 + 6)),
        Some(RejectCode::NotSignedIn)
    );
    assert_eq!(l.run(&at(2), T0 + 7).map(|e| e.len()), Ok(0));
    assert!(l.run(&Command::SignOut { counter: 2 }, T0 + 8).is_ok());
    assert_eq!(
        l.run(&Command::SignOut { counter: 2 }, T0 + 9)
            .map(|e| e.len()),
        Ok(0)
    );
}

#[derive(Debug, Clone)]
enum Op {
    Issue,
    Next(u16),
    Complete(u16),
    Skip(u16),
    SignIn(u16, usize),
    SignOut(u16),
    Rate(u16, u8, bool),
}

fn op() -> impl Strategy<Value = Op> {
    let c = 1u16..=4; // 4 is not a counter
    prop_oneof![
        3 => Just(Op::Issue),
        3 => c.clone().prop_map(Op::Next),
        2 => c.clone().prop_map(Op::Complete),
        1 => c.clone().prop_map(Op::Skip),
        1 => (c.clone(), 0usize..4).prop_map(|(c, o)| Op::SignIn(c, o)),
        1 => c.clone().prop_map(Op::SignOut),
        4 => (c, 0u8..3, any::<bool>()).prop_map(|(c, l, r)| Op::Rate(c, l, r)),
    ]
}

fn to_cmd(o: &Op) -> Command {
    match o {
        Op::Issue => issue(),
        Op::Next(c) => Command::Next { counter: *c },
        Op::Complete(c) => Command::Complete { counter: *c },
        Op::Skip(c) => Command::Skip { counter: *c },
        Op::SignIn(c, o) => Command::SignIn {
            counter: *c,
            officer: OFFICERS.get(*o).copied().unwrap_or("ghost").into(),
        },
        Op::SignOut(c) => Command::SignOut { counter: *c },
        Op::Rate(c, l, with_reason) => {
            let level = RatingLevel::from_code(*l).unwrap_or(RatingLevel::Satisfied);
            let reasons = if *with_reason && level == RatingLevel::Unsatisfied {
                vec!["rude".into()]
            } else {
                vec![]
            };
            Command::Rate {
                counter: *c,
                level,
                reasons,
                dossier: String::new(),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Whatever happens: a ticket is rated at most once; every rating is of the ticket
    /// the counter finished last (served, or skipped where allowed), within the window,
    /// attributed to the officer who finished it; an officer is signed in at one counter
    /// at most; the counter actions carry the officer signed in; replay equals live.
    #[test]
    fn rating_binding_rules(ops in proptest::collection::vec((op(), 0i64..90_000), 1..120),
                            anonymous in any::<bool>(), on_skip in any::<bool>()) {
        let site = site(anonymous, on_skip);
        let mut l = Live::new(site.clone());
        let mut t = T0;
        let mut rated = HashSet::new();
        // counter -> (ticket, officer, at, skipped) of the last finished ticket.
        let mut finished: HashMap<u16, (String, String, i64, bool)> = HashMap::new();
        let mut at_counter: BTreeMap<u16, String> = BTreeMap::new();
        for (o, dt) in &ops {
            t += dt;
            let before = at_counter.clone();
            let Ok(evs) = l.run(&to_cmd(o), t) else { continue };
            for ev in evs {
                match ev {
                    Event::OfficerSignedIn { counter, officer } => {
                        at_counter.insert(counter, officer);
                    }
                    Event::OfficerSignedOut { counter, officer } => {
                        prop_assert_eq!(at_counter.remove(&counter), Some(officer));
                    }
                    Event::TicketCalled { counter, officer, .. } => {
                        prop_assert_eq!(&officer, &before.get(&counter).cloned().unwrap_or_default());
                        prop_assert!(anonymous || !officer.is_empty());
                    }
                    Event::TicketServed { ticket, counter, officer, .. } => {
                        prop_assert_eq!(&officer, &before.get(&counter).cloned().unwrap_or_default());
                        finished.insert(counter, (ticket, officer, t, false));
                    }
                    Event::TicketSkipped { ticket, counter, officer, .. } => {
                        finished.insert(counter, (ticket, officer, t, true));
                    }
                    Event::Rated { counter, ticket, officer, .. } => {
                        prop_assert!(rated.insert(ticket.clone()), "{} rated twice", ticket);
                        let f = finished.get(&counter);
                        prop_assert!(f.is_some(), "rating without a finished ticket");
                        if let Some((ft, fo, fat, skipped)) = f {
                            prop_assert_eq!(ft, &ticket);
                            prop_assert_eq!(fo, &officer);
                            prop_assert!(t - fat <= WINDOW, "rated outside the window");
                            prop_assert!(on_skip || !skipped, "skipped ticket rated");
                        }
                    }
                    _ => {}
                }
            }
            let officers: Vec<_> = at_counter.values().collect();
            let unique: HashSet<_> = officers.iter().collect();
            prop_assert_eq!(officers.len(), unique.len(), "an officer at two counters");
            prop_assert_eq!(&at_counter, &l.state.ratings.signed_in);
        }
        let mut replayed = State::new(site);
        for e in &l.log {
            apply(&mut replayed, e);
        }
        prop_assert_eq!(replayed, l.state);
    }
}

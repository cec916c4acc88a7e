//! Unit and property tests of the queue rules (no duplicate numbers, FIFO
//! within priority, nothing lost, replay equals live).

use super::state::TicketStatus;
use super::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

const T0: i64 = 1_764_000_000_000; // 2025-11-24T16:00Z, 23:00 in Vietnam

fn site() -> Arc<Site> {
    test_events::site(
        &[("A", 1), ("B", 1), ("C", 100)],
        &[(1, &["A", "B"]), (2, &["B"]), (3, &["C", "A"])],
        rating::RatingRules::default(),
    )
}

/// A live site: decide, stamp with seq, apply — what the engine does minus I/O.
struct Live {
    state: State,
    log: Vec<Entry>,
}

impl Live {
    fn new() -> Live {
        Live {
            state: State::new(site()),
            log: vec![],
        }
    }
    fn run(&mut self, cmd: Command, wall_ms: i64) -> Result<Vec<Entry>, Rejection> {
        let d = decide(
            &self.state,
            &cmd,
            Now {
                wall_ms,
                clock_ok: true,
            },
        )?;
        let out = d.entries(self.log.len() as u64 + 1);
        for e in &out {
            apply(&mut self.state, e);
            self.log.push(e.clone());
        }
        Ok(out)
    }
    /// The ticket counter `n` is serving, if any.
    fn current_ticket(&self, n: u16) -> Option<String> {
        let current = self.state.counters[&n].current.as_ref();
        current.map(|c| c.ticket.clone())
    }
    fn issue(&mut self, service: &str, priority: bool, t: i64) -> String {
        let evs = self
            .run(
                Command::Issue {
                    service: service.into(),
                    priority,
                    source: "test".into(),
                },
                t,
            )
            .unwrap_or_default();
        evs.into_iter()
            .find_map(|e| match e.event {
                Event::TicketIssued { ticket, .. } => Some(ticket),
                _ => None,
            })
            .unwrap_or_default()
    }
    fn next(&mut self, counter: u16, t: i64) -> Result<String, Rejection> {
        let evs = self.run(Command::Next { counter }, t)?;
        Ok(evs
            .into_iter()
            .find_map(|e| match e.event {
                Event::TicketCalled { ticket, .. } => Some(ticket),
                _ => None,
            })
            .unwrap_or_default())
    }
}

/// Every issued ticket is in exactly one place, and queues, tickets and counters agree.
fn check_consistent(s: &State) {
    let mut queued = HashSet::new();
    for (svc, q) in &s.queues {
        for k in q.priority.iter().chain(q.normal.iter()) {
            assert!(queued.insert(k.2.clone()), "{} queued twice", k.2);
            let t = &s.tickets[&k.2];
            assert_eq!(&t.service, svc);
            assert_eq!(t.status, TicketStatus::Waiting);
            assert_eq!(q.priority.contains(k), t.priority);
        }
    }
    for (label, t) in &s.tickets {
        match t.status {
            TicketStatus::Waiting => {
                assert!(queued.contains(label), "{label} waiting but not queued")
            }
            TicketStatus::Called { counter } => {
                let cur = s.counters[&counter]
                    .current
                    .as_ref()
                    .map(|c| c.ticket.clone());
                assert_eq!(
                    cur.as_deref(),
                    Some(label.as_str()),
                    "{label} called but not current"
                );
            }
            TicketStatus::Served | TicketStatus::Skipped => assert!(!queued.contains(label)),
        }
    }
    for (n, c) in &s.counters {
        if let Some(cur) = &c.current {
            assert_eq!(
                s.tickets[&cur.ticket].status,
                TicketStatus::Called { counter: *n }
            );
        }
    }
}

#[test]
fn numbering_prefix_and_digits() {
    let mut l = Live::new();
    assert_eq!(l.issue("A", false, T0), "A001");
    assert_eq!(l.issue("A", false, T0 + 1), "A002");
    assert_eq!(l.issue("C", false, T0 + 2), "C100");
    assert_eq!(l.log[0].event, Event::DayStarted {});
}

#[test]
fn priority_first_then_oldest_across_services() {
    let mut l = Live::new();
    let b1 = l.issue("B", false, T0);
    let a1 = l.issue("A", false, T0 + 10);
    let a2p = l.issue("A", true, T0 + 20);
    // Issued "earlier" by a clock that stepped back: effective time makes it later.
    let b2p = l.issue("B", true, T0 + 15);
    assert_eq!(l.state.tickets[&b2p].issued_at, T0 + 20);
    assert_eq!(l.next(1, T0 + 30).as_deref(), Ok(a2p.as_str()));
    assert_eq!(l.next(1, T0 + 31).as_deref(), Ok(b2p.as_str()));
    assert_eq!(l.next(1, T0 + 32).as_deref(), Ok(b1.as_str()));
    assert_eq!(l.next(1, T0 + 33).as_deref(), Ok(a1.as_str()));
    let err = l.next(1, T0 + 34).err().map(|r| r.code);
    assert_eq!(err, Some(RejectCode::EmptyQueue));
    check_consistent(&l.state);
    // The last ticket is still current at counter 1 after an empty-queue answer.
    assert_eq!(l.current_ticket(1), Some(a1));
}

#[test]
fn next_completes_current_and_recall_skip_transfer() {
    let mut l = Live::new();
    let a1 = l.issue("A", false, T0);
    let a2 = l.issue("A", false, T0 + 1);
    l.next(1, T0 + 2).ok();
    let evs = l
        .run(Command::Recall { counter: 1 }, T0 + 3)
        .unwrap_or_default();
    assert!(matches!(
        evs[0].event,
        Event::TicketCalled { recall: 1, .. }
    ));
    // Transfer A001 to C: it keeps its issue time, so counter 3 (C first) gets it before C's own.
    let c = l.issue("C", false, T0 + 4);
    let evs = l
        .run(
            Command::Transfer {
                counter: 1,
                service: Some("C".into()),
            },
            T0 + 5,
        )
        .unwrap_or_default();
    assert!(matches!(&evs[0].event, Event::TicketTransferred { ticket, .. } if *ticket == a1));
    assert_eq!(l.state.tickets[&a1].issued_at, T0);
    assert_eq!(l.next(3, T0 + 6).as_deref(), Ok(a1.as_str()));
    assert_eq!(l.next(3, T0 + 7).as_deref(), Ok(a2.as_str()));
    assert_eq!(l.next(3, T0 + 8).as_deref(), Ok(c.as_str()));
    assert_eq!(l.state.tickets[&a1].status, TicketStatus::Served);
    let evs = l
        .run(Command::Skip { counter: 3 }, T0 + 9)
        .unwrap_or_default();
    assert!(matches!(evs[0].event, Event::TicketSkipped { .. }));
    assert_eq!(l.state.tickets[&c].status, TicketStatus::Skipped);
    check_consistent(&l.state);
}

#[test]
fn a_decision_stamps_consecutive_seqs_with_its_time_and_day() {
    let state = State::new(site());
    let now = Now {
        wall_ms: T0,
        clock_ok: false,
    };
    let issue = Command::Issue {
        service: "A".into(),
        priority: false,
        source: "t".into(),
    };
    let d = decide(&state, &issue, now).unwrap_or_else(|r| panic!("{r:?}"));
    let (at, day) = (d.at, d.day);
    assert_eq!(d.events.len(), 2, "DayStarted then TicketIssued");
    let entries = d.entries(41);
    assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [41, 42]);
    assert!(entries
        .iter()
        .all(|e| e.at == at && e.day == day && !e.clock_ok));
    assert!(matches!(entries[0].event, Event::DayStarted {}));
}

#[test]
fn transfer_without_a_target_goes_to_the_counters_next_other_service() {
    let transfer = |counter| Command::Transfer {
        counter,
        service: None,
    };
    let mut l = Live::new();
    // Nothing called yet: nothing to transfer.
    let err = l.run(transfer(1), T0).err().map(|r| r.code);
    assert_eq!(err, Some(RejectCode::NoCurrentTicket));
    // Counter 1 serves A then B: an A ticket goes to B, a B ticket to A.
    let a = l.issue("A", false, T0 + 1);
    assert_eq!(l.next(1, T0 + 2).ok(), Some(a.clone()));
    let evs = l.run(transfer(1), T0 + 3).unwrap_or_default();
    assert!(
        matches!(&evs[..], [Entry { event: Event::TicketTransferred { ticket, from, to, .. }, .. }]
        if *ticket == a && from == "A" && to == "B")
    );
    let b = l.issue("B", false, T0 + 4);
    assert_eq!(
        l.next(1, T0 + 5).ok(),
        Some(a.clone()),
        "A keeps its place, now in B"
    );
    l.run(Command::Complete { counter: 1 }, T0 + 6)
        .unwrap_or_default();
    assert_eq!(l.next(1, T0 + 7).ok(), Some(b.clone()));
    let evs = l.run(transfer(1), T0 + 8).unwrap_or_default();
    assert!(
        matches!(&evs[..], [Entry { event: Event::TicketTransferred { from, to, .. }, .. }]
        if from == "B" && to == "A")
    );
    // Counter 2 serves B only: refused, the ticket stays.
    let b2 = l.issue("B", false, T0 + 9);
    assert_eq!(l.next(2, T0 + 10).ok(), Some(b2.clone()));
    let err = l.run(transfer(2), T0 + 11).err().map(|r| r.code);
    assert_eq!(err, Some(RejectCode::SameService));
    assert_eq!(l.current_ticket(2), Some(b2));
    check_consistent(&l.state);
}

#[test]
fn pause_close_and_rejections() {
    let mut l = Live::new();
    l.issue("A", false, T0);
    l.run(Command::Pause { counter: 1 }, T0 + 1).ok();
    let code = |r: Result<String, Rejection>| r.err().map(|r| r.code);
    assert_eq!(code(l.next(1, T0 + 2)), Some(RejectCode::CounterPaused));
    l.run(Command::Open { counter: 1 }, T0 + 3).ok();
    assert!(l.next(1, T0 + 4).is_ok());
    let r = l.run(Command::Close { counter: 1 }, T0 + 5);
    assert_eq!(r.err().map(|r| r.code), Some(RejectCode::CounterBusy));
    l.run(Command::Complete { counter: 1 }, T0 + 6).ok();
    l.run(Command::Close { counter: 1 }, T0 + 7).ok();
    assert_eq!(code(l.next(1, T0 + 8)), Some(RejectCode::CounterClosed));
    assert_eq!(code(l.next(9, T0 + 8)), Some(RejectCode::UnknownCounter));
    let r = l.run(
        Command::Issue {
            service: "Z".into(),
            priority: false,
            source: "t".into(),
        },
        T0,
    );
    let rej = r.err();
    assert_eq!(
        rej.as_ref().map(|r| r.code),
        Some(RejectCode::UnknownService)
    );
    assert!(rej.is_some_and(|r| r.message_vi.contains("Không có dịch vụ")));
    // Idempotent open produces no event.
    l.run(Command::Open { counter: 2 }, T0 + 9).ok();
    assert_eq!(
        l.run(Command::Open { counter: 2 }, T0 + 10)
            .map(|e| e.len()),
        Ok(0)
    );
}

#[test]
fn rollover_restarts_numbering_and_keeps_history() {
    let mut l = Live::new();
    assert_eq!(l.issue("A", false, T0), "A001");
    assert_eq!(l.issue("A", false, T0 + 1), "A002");
    // One hour later it is past midnight in Vietnam: a new day.
    let t1 = T0 + 3_600_000;
    assert_eq!(l.issue("A", false, t1), "A001");
    let days: Vec<_> = l.log.iter().map(|e| e.day.to_string()).collect();
    assert_eq!(days.first().map(String::as_str), Some("2025-11-24"));
    assert_eq!(days.last().map(String::as_str), Some("2025-11-25"));
    assert_eq!(
        l.log.len(),
        5,
        "history kept: two DayStarted + three issues"
    );
    assert_eq!(l.state.tickets.len(), 1);
}

#[test]
fn clock_backwards_never_reopens_day_or_reuses_numbers() {
    let mut l = Live::new();
    let t1 = T0 + 3_600_000; // next day
    l.issue("A", false, T0);
    l.issue("A", false, t1);
    // Power cut: the clock restarts an hour behind, back in the previous day.
    let evs = l
        .run(
            Command::Issue {
                service: "A".into(),
                priority: false,
                source: "t".into(),
            },
            T0 - 5_000,
        )
        .unwrap_or_default();
    assert_eq!(evs[0].day.to_string(), "2025-11-25");
    assert!(evs[0].at >= t1, "effective time never goes backwards");
    assert!(matches!(&evs[0].event, Event::TicketIssued { ticket, .. } if ticket == "A002"));
}

#[test]
fn store_recovered_floors_numbering() {
    let mut l = Live::new();
    let day = DayRule::VIETNAM.day_of(T0).0;
    let floors: BTreeMap<String, u32> = [("A".to_string(), 51)].into();
    l.run(
        Command::StoreRecovered {
            quarantined: "x".into(),
            day,
            next_numbers: floors.clone(),
            loss: Default::default(),
        },
        T0,
    )
    .ok();
    assert_eq!(l.issue("A", false, T0 + 1), "A051");
    assert_eq!(l.issue("B", false, T0 + 1), "B001");
    // Floors from another day are ignored.
    let mut l2 = Live::new();
    l2.run(
        Command::StoreRecovered {
            quarantined: "x".into(),
            day: day - 1,
            next_numbers: floors,
            loss: Default::default(),
        },
        T0,
    )
    .ok();
    assert_eq!(l2.issue("A", false, T0 + 1), "A001");
}

#[test]
fn device_status_recorded_only_on_change() {
    let mut l = Live::new();
    let rep = |s: &str| Command::ReportDevice {
        device: "printer".into(),
        state: s.into(),
        detail: String::new(),
    };
    assert_eq!(l.run(rep("ok"), T0).map(|e| e.len()), Ok(2)); // DayStarted + status
    assert_eq!(l.run(rep("ok"), T0 + 1).map(|e| e.len()), Ok(0));
    assert_eq!(l.run(rep("paper_out"), T0 + 2).map(|e| e.len()), Ok(1));
}

#[derive(Debug, Clone)]
enum Op {
    Issue(u8, bool),
    Next(u16),
    Recall(u16),
    Skip(u16),
    Complete(u16),
    Transfer(u16, u8),
    Pause(u16),
    Open(u16),
    Close(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..3, any::<bool>()).prop_map(|(s, p)| Op::Issue(s, p)),
        3 => (1u16..4).prop_map(Op::Next),
        1 => (1u16..4).prop_map(Op::Recall),
        1 => (1u16..4).prop_map(Op::Skip),
        1 => (1u16..4).prop_map(Op::Complete),
        1 => (1u16..4, 0u8..3).prop_map(|(c, s)| Op::Transfer(c, s)),
        1 => (1u16..4).prop_map(Op::Pause),
        1 => (1u16..4).prop_map(Op::Open),
        1 => (1u16..4).prop_map(Op::Close),
    ]
}

fn to_cmd(op: &Op) -> Command {
    let svc = |s: u8| ["A", "B", "C"][s as usize % 3].to_string();
    match op {
        Op::Issue(s, p) => Command::Issue {
            service: svc(*s),
            priority: *p,
            source: "p".into(),
        },
        Op::Next(c) => Command::Next { counter: *c },
        Op::Recall(c) => Command::Recall { counter: *c },
        Op::Skip(c) => Command::Skip { counter: *c },
        Op::Complete(c) => Command::Complete { counter: *c },
        Op::Transfer(c, s) => Command::Transfer {
            counter: *c,
            service: Some(svc(*s)),
        },
        Op::Pause(c) => Command::Pause { counter: *c },
        Op::Open(c) => Command::Open { counter: *c },
        Op::Close(c) => Command::Close { counter: *c },
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Random operations with a clock that jumps around (including backwards and over
    /// midnight): numbers never repeat within a day, state stays consistent, calls follow
    /// the rule, and replaying the log gives the live state.
    #[test]
    fn queue_invariants(ops in proptest::collection::vec((op(), -7_200_000i64..7_200_000), 1..150)) {
        let mut l = Live::new();
        let mut t = T0;
        let mut seen: HashSet<(Day, String)> = HashSet::new();
        let mut last_day = None;
        for (o, dt) in &ops {
            t += dt / 10;
            let cmd = to_cmd(o);
            let expected = if let Command::Next { counter } = &cmd {
                // What the rule says should be called, computed independently.
                let (_, day) = stamp(&l.state, Now { wall_ms: t, clock_ok: true });
                if l.state.day == Some(day) {
                    let c = l.state.site.counter(*counter).cloned();
                    c.and_then(|c| {
                        let mut w: Vec<_> = l.state.tickets.values()
                            .filter(|tk| tk.status == TicketStatus::Waiting && c.services.contains(&tk.service))
                            .collect();
                        w.sort_by_key(|tk| (!tk.priority, tk.issued_at, tk.issue_seq));
                        w.first().map(|tk| tk.label.clone())
                    })
                } else { None }
            } else { None };
            if let Ok(evs) = l.run(cmd, t) {
                for e in &evs {
                    if let Some(d) = last_day { prop_assert!(e.day >= d, "day went backwards"); }
                    last_day = Some(e.day);
                    if let Event::TicketIssued { ticket, ahead, .. } = &e.event {
                        prop_assert!(seen.insert((e.day, ticket.clone())), "number {} repeated on {}", ticket, e.day);
                        prop_assert_eq!(*ahead, l.state.waiting_ahead(ticket), "tickets ahead of {}", ticket);
                    }
                    if let (Event::TicketCalled { ticket, recall: 0, .. }, Some(exp)) = (&e.event, &expected) {
                        prop_assert_eq!(ticket, exp);
                    }
                }
            }
            check_consistent(&l.state);
        }
        // Replay: the fold of the last day's entries equals the live state.
        let mut replayed = State::new(site());
        let day = l.state.day;
        for e in l.log.iter().filter(|e| Some(e.day) == day) {
            apply(&mut replayed, e);
        }
        let mut live = l.state.clone();
        live.last_at = replayed.last_at;
        live.last_seq = replayed.last_seq;
        prop_assert_eq!(live, replayed);
        // Full replay also equals live.
        let mut full = State::new(site());
        for e in &l.log { apply(&mut full, e); }
        prop_assert_eq!(&full, &l.state);
    }
}

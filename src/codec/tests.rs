//! Tests of the store encoding: round trips of every event, old versions still read.

use super::*;
use proptest::prelude::*;

fn arb_event() -> impl Strategy<Value = Event> {
    let s = "[A-Z]{0,2}[0-9]{0,4}";
    let o = "(|[a-z]{1,6}[0-9]{0,2})";
    prop_oneof![
        Just(Event::DayStarted {}),
        (s, s, any::<u32>(), any::<bool>(), ".{0,8}", any::<u32>()).prop_map(
            |(t, v, n, p, src, a)| Event::TicketIssued {
                ticket: t,
                service: v,
                number: n,
                priority: p,
                source: src,
                ahead: a,
            }
        ),
        (s, s, any::<u16>(), any::<u32>(), o).prop_map(|(t, v, c, r, o)| {
            Event::TicketCalled {
                ticket: t,
                service: v,
                counter: c,
                recall: r,
                officer: o,
            }
        }),
        (s, s, any::<u16>(), o).prop_map(|(t, v, c, o)| Event::TicketServed {
            ticket: t,
            service: v,
            counter: c,
            officer: o,
        }),
        (s, s, any::<u16>(), o).prop_map(|(t, v, c, o)| Event::TicketSkipped {
            ticket: t,
            service: v,
            counter: c,
            officer: o,
        }),
        (s, s, s, any::<Option<u16>>(), o).prop_map(|(t, f, to, c, o)| {
            Event::TicketTransferred {
                ticket: t,
                from: f,
                to,
                counter: c,
                officer: o,
            }
        }),
        (any::<u16>(), o)
            .prop_map(|(counter, officer)| Event::OfficerSignedIn { counter, officer }),
        (any::<u16>(), o)
            .prop_map(|(counter, officer)| Event::OfficerSignedOut { counter, officer }),
        (
            any::<u16>(),
            s,
            o,
            0u8..3,
            proptest::collection::vec(s, 0..3),
            ".{0,12}"
        )
            .prop_map(|(counter, ticket, officer, l, reasons, dossier)| {
                Event::Rated {
                    counter,
                    ticket,
                    officer,
                    level: RatingLevel::from_code(l).unwrap_or(RatingLevel::Satisfied),
                    reasons,
                    dossier,
                }
            }),
        any::<u16>().prop_map(|c| Event::CounterOpened { counter: c }),
        any::<u16>().prop_map(|c| Event::CounterPaused { counter: c }),
        any::<u16>().prop_map(|c| Event::CounterClosed { counter: c }),
        (".{0,10}", ".{0,10}", ".{0,20}").prop_map(|(d, s, x)| Event::DeviceStatus {
            device: d,
            state: s,
            detail: x
        }),
        (any::<i64>(), any::<i64>()).prop_map(|(a, b)| Event::PowerRestored {
            down_from: a,
            down_to: b
        }),
        (any::<i64>(), any::<i64>()).prop_map(|(a, b)| Event::UplinkRestored {
            down_from: a,
            down_to: b
        }),
        (
            ".{0,10}",
            proptest::collection::btree_map(s, any::<u32>(), 0..4),
            ".{0,20}",
            any::<u64>(),
            any::<Option<u64>>(),
            proptest::collection::vec(s, 0..3)
        )
            .prop_map(|(q, n, c, r, l, t)| {
                Event::StoreRecovered {
                    quarantined: q,
                    next_numbers: n,
                    cause: c,
                    recovered: r,
                    lost_from_seq: l,
                    lost_to_seq: l.map(|x| x / 2),
                    lost_tickets: t,
                }
            }),
    ]
}

proptest! {
    #[test]
    fn both_versions_round_trip(seq in any::<u64>(), at in any::<i64>(), ok in any::<bool>(),
                                day in -100_000i32..100_000, event in arb_event()) {
        let e = Entry { seq, at, clock_ok: ok, day: Day(day), event };
        prop_assert_eq!(decode(seq, &encode(&e)), Ok(e.clone()));
        prop_assert_eq!(decode(seq, &encode_v1(&e)), Ok(e.clone()));
        let json = json_of(seq, &encode(&e)).map(|c| c.into_owned());
        prop_assert_eq!(json, serde_json::to_vec(&e).map_err(|e| e.to_string()));
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = decode(1, &bytes);
        let _ = json_of(1, &bytes);
    }
}

#[test]
fn compact_is_small() {
    let e = Entry {
        seq: 123_456,
        at: 1_795_503_887_999,
        clock_ok: true,
        day: Day(20_416),
        event: Event::TicketIssued {
            ticket: "A012".into(),
            service: "A".into(),
            number: 12,
            priority: false,
            source: "kiosk".into(),
            ahead: 3,
        },
    };
    let (v2, v1) = (encode(&e).len(), encode_v1(&e).len());
    assert!(v2 * 4 < v1, "v2 {v2} bytes vs v1 {v1} bytes");
}

/// Records written before officers existed (bytes captured from that encoder)
/// still decode, with no officer.
#[test]
fn records_from_before_officers_still_read() {
    let head = [
        0x02, 0xfe, 0xd9, 0xf8, 0xc5, 0xc1, 0x68, 0x01, 0x80, 0xbf, 0x02,
    ];
    let a012 = [0x04, 0x41, 0x30, 0x31, 0x32, 0x01, 0x41];
    let rec = |variant: u8, tail: &[u8]| {
        let mut v = head.to_vec();
        v.push(variant);
        v.extend_from_slice(&a012);
        v.extend_from_slice(tail);
        v
    };
    let want = |event| Entry {
        seq: 7,
        at: 1_795_503_887_999,
        clock_ok: true,
        day: Day(20_416),
        event,
    };
    let (t, v) = (String::from("A012"), String::from("A"));
    let none = String::new();
    let cases = [
        (
            rec(2, &[0x02, 0x00]),
            Event::TicketCalled {
                ticket: t.clone(),
                service: v.clone(),
                counter: 2,
                recall: 0,
                officer: none.clone(),
            },
        ),
        (
            rec(3, &[0x02]),
            Event::TicketServed {
                ticket: t.clone(),
                service: v.clone(),
                counter: 2,
                officer: none.clone(),
            },
        ),
        (
            rec(4, &[0x02]),
            Event::TicketSkipped {
                ticket: t.clone(),
                service: v.clone(),
                counter: 2,
                officer: none.clone(),
            },
        ),
        (
            rec(5, &[0x01, 0x42, 0x01, 0x02]),
            Event::TicketTransferred {
                ticket: t.clone(),
                from: v.clone(),
                to: "B".into(),
                counter: Some(2),
                officer: none.clone(),
            },
        ),
    ];
    for (bytes, event) in cases {
        let e = want(event);
        assert_eq!(decode(7, &bytes), Ok(e.clone()));
        // And without an officer the new encoder writes the very same bytes.
        assert_eq!(encode(&e), bytes);
    }
    // Old JSON (version 1) without the officer field.
    let json = br#"{"seq":7,"at":5,"clock_ok":true,"day":"2025-11-25","event":{"kind":"ticket_served","ticket":"A012","service":"A","counter":2}}"#;
    let mut v1 = vec![V1_JSON];
    v1.extend_from_slice(json);
    let e = decode(7, &v1).map(|e| e.event);
    assert_eq!(
        e,
        Ok(Event::TicketServed {
            ticket: t,
            service: v,
            counter: 2,
            officer: none
        })
    );
}

#[test]
fn unknown_rating_level_is_an_error() {
    let e = Entry {
        seq: 1,
        at: 1,
        clock_ok: true,
        day: Day(1),
        event: Event::Rated {
            counter: 1,
            ticket: "A001".into(),
            officer: "lan".into(),
            level: RatingLevel::Unsatisfied,
            reasons: vec![],
            dossier: String::new(),
        },
    };
    let mut b = encode(&e);
    // The level code sits after counter, ticket and officer.
    let pos = b.len() - 3;
    assert_eq!(b[pos], 2);
    b[pos] = 9;
    let err = decode(1, &b).err().unwrap_or_default();
    assert!(err.contains("unknown level code 9"), "{err}");
}

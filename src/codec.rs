//! How entries are stored in sled: a version byte, then the body. Version 2 (written
//! now) is a compact binary form; version 1 (JSON, written by 0.1 development builds) is
//! still read, so a newer daemon reads an older log. The seq is the sled key and is not
//! repeated in the body.
//!
//! Compactness matters on a Pi: sled keeps per-page bookkeeping in memory, so smaller
//! records mean fewer pages, less resident memory and less SD-card wear.

use crate::core::rating::RatingLevel;
use crate::core::{Day, Entry, Event};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

pub const V1_JSON: u8 = 1;
pub const V2_COMPACT: u8 = 2;

#[derive(Serialize, Deserialize)]
struct V2 {
    at: i64,
    clock_ok: bool,
    day: i32,
    event: V2Event,
}

/// Mirror of [`Event`] in postcard's externally tagged form. Variants are only ever
/// appended, never reordered: the variant index is on disk.
#[derive(Serialize, Deserialize)]
enum V2Event {
    DayStarted,
    TicketIssued(String, String, u32, bool, String, u32),
    TicketCalled(String, String, u16, u32),
    TicketServed(String, String, u16),
    TicketSkipped(String, String, u16),
    TicketTransferred(String, String, String, Option<u16>),
    CounterOpened(u16),
    CounterPaused(u16),
    CounterClosed(u16),
    DeviceStatus(String, String, String),
    PowerRestored(i64, i64),
    UplinkRestored(i64, i64),
    StoreRecovered(String, BTreeMap<String, u32>),
    // The same four with the signed-in officer; written only when there is one, so a
    // record without an officer stays byte-identical to what older daemons wrote.
    TicketCalledBy(String, String, u16, u32, String),
    TicketServedBy(String, String, u16, String),
    TicketSkippedBy(String, String, u16, String),
    TicketTransferredBy(String, String, String, Option<u16>, String),
    OfficerSignedIn(u16, String),
    OfficerSignedOut(u16, String),
    /// counter, ticket, officer, level code, reasons, dossier.
    Rated(u16, String, String, u8, Vec<String>, String),
    /// `StoreRecovered` with the loss report (quarantined, next numbers, cause,
    /// recovered, lost from seq, lost to seq, lost tickets).
    StoreRecoveredV2(
        String,
        BTreeMap<String, u32>,
        String,
        u64,
        Option<u64>,
        Option<u64>,
        Vec<String>,
    ),
}

impl From<&Event> for V2Event {
    fn from(e: &Event) -> Self {
        use Event as E;
        let s = |v: &String| v.clone();
        match e {
            E::DayStarted {} => V2Event::DayStarted,
            E::TicketIssued {
                ticket,
                service,
                number,
                priority,
                source,
                ahead,
            } => {
                V2Event::TicketIssued(s(ticket), s(service), *number, *priority, s(source), *ahead)
            }
            E::TicketCalled {
                ticket,
                service,
                counter,
                recall,
                officer,
            } if officer.is_empty() => {
                V2Event::TicketCalled(s(ticket), s(service), *counter, *recall)
            }
            E::TicketCalled {
                ticket,
                service,
                counter,
                recall,
                officer,
            } => V2Event::TicketCalledBy(s(ticket), s(service), *counter, *recall, s(officer)),
            E::TicketServed {
                ticket,
                service,
                counter,
                officer,
            } if officer.is_empty() => V2Event::TicketServed(s(ticket), s(service), *counter),
            E::TicketServed {
                ticket,
                service,
                counter,
                officer,
            } => V2Event::TicketServedBy(s(ticket), s(service), *counter, s(officer)),
            E::TicketSkipped {
                ticket,
                service,
                counter,
                officer,
            } if officer.is_empty() => V2Event::TicketSkipped(s(ticket), s(service), *counter),
            E::TicketSkipped {
                ticket,
                service,
                counter,
                officer,
            } => V2Event::TicketSkippedBy(s(ticket), s(service), *counter, s(officer)),
            E::TicketTransferred {
                ticket,
                from,
                to,
                counter,
                officer,
            } if officer.is_empty() => {
                V2Event::TicketTransferred(s(ticket), s(from), s(to), *counter)
            }
            E::TicketTransferred {
                ticket,
                from,
                to,
                counter,
                officer,
            } => V2Event::TicketTransferredBy(s(ticket), s(from), s(to), *counter, s(officer)),
            E::OfficerSignedIn { counter, officer } => {
                V2Event::OfficerSignedIn(*counter, s(officer))
            }
            E::OfficerSignedOut { counter, officer } => {
                V2Event::OfficerSignedOut(*counter, s(officer))
            }
            E::Rated {
                counter,
                ticket,
                officer,
                level,
                reasons,
                dossier,
            } => V2Event::Rated(
                *counter,
                s(ticket),
                s(officer),
                level.code(),
                reasons.clone(),
                s(dossier),
            ),
            E::CounterOpened { counter } => V2Event::CounterOpened(*counter),
            E::CounterPaused { counter } => V2Event::CounterPaused(*counter),
            E::CounterClosed { counter } => V2Event::CounterClosed(*counter),
            E::DeviceStatus {
                device,
                state,
                detail,
            } => V2Event::DeviceStatus(s(device), s(state), s(detail)),
            E::PowerRestored { down_from, down_to } => V2Event::PowerRestored(*down_from, *down_to),
            E::UplinkRestored { down_from, down_to } => {
                V2Event::UplinkRestored(*down_from, *down_to)
            }
            E::StoreRecovered {
                quarantined,
                next_numbers,
                cause,
                recovered,
                lost_from_seq,
                lost_to_seq,
                lost_tickets,
            } => V2Event::StoreRecoveredV2(
                s(quarantined),
                next_numbers.clone(),
                s(cause),
                *recovered,
                *lost_from_seq,
                *lost_to_seq,
                lost_tickets.clone(),
            ),
        }
    }
}

impl From<V2Event> for Event {
    fn from(e: V2Event) -> Self {
        use V2Event as V;
        match e {
            V::DayStarted => Event::DayStarted {},
            V::TicketIssued(ticket, service, number, priority, source, ahead) => {
                Event::TicketIssued {
                    ticket,
                    service,
                    number,
                    priority,
                    source,
                    ahead,
                }
            }
            V::TicketCalled(ticket, service, counter, recall) => Event::TicketCalled {
                ticket,
                service,
                counter,
                recall,
                officer: String::new(),
            },
            V::TicketServed(ticket, service, counter) => Event::TicketServed {
                ticket,
                service,
                counter,
                officer: String::new(),
            },
            V::TicketSkipped(ticket, service, counter) => Event::TicketSkipped {
                ticket,
                service,
                counter,
                officer: String::new(),
            },
            V::TicketTransferred(ticket, from, to, counter) => Event::TicketTransferred {
                ticket,
                from,
                to,
                counter,
                officer: String::new(),
            },
            V::TicketCalledBy(ticket, service, counter, recall, officer) => Event::TicketCalled {
                ticket,
                service,
                counter,
                recall,
                officer,
            },
            V::TicketServedBy(ticket, service, counter, officer) => Event::TicketServed {
                ticket,
                service,
                counter,
                officer,
            },
            V::TicketSkippedBy(ticket, service, counter, officer) => Event::TicketSkipped {
                ticket,
                service,
                counter,
                officer,
            },
            V::TicketTransferredBy(ticket, from, to, counter, officer) => {
                Event::TicketTransferred {
                    ticket,
                    from,
                    to,
                    counter,
                    officer,
                }
            }
            V::OfficerSignedIn(counter, officer) => Event::OfficerSignedIn { counter, officer },
            V::OfficerSignedOut(counter, officer) => Event::OfficerSignedOut { counter, officer },
            V::Rated(counter, ticket, officer, level, reasons, dossier) => Event::Rated {
                counter,
                ticket,
                officer,
                // An unknown level code (a newer writer) reads as the neutral level.
                level: RatingLevel::from_code(level).unwrap_or(RatingLevel::Satisfied),
                reasons,
                dossier,
            },
            V::CounterOpened(counter) => Event::CounterOpened { counter },
            V::CounterPaused(counter) => Event::CounterPaused { counter },
            V::CounterClosed(counter) => Event::CounterClosed { counter },
            V::DeviceStatus(device, state, detail) => Event::DeviceStatus {
                device,
                state,
                detail,
            },
            V::PowerRestored(down_from, down_to) => Event::PowerRestored { down_from, down_to },
            V::UplinkRestored(down_from, down_to) => Event::UplinkRestored { down_from, down_to },
            V::StoreRecovered(quarantined, next_numbers) => Event::StoreRecovered {
                quarantined,
                next_numbers,
                cause: String::new(),
                recovered: 0,
                lost_from_seq: None,
                lost_to_seq: None,
                lost_tickets: Vec::new(),
            },
            V::StoreRecoveredV2(
                quarantined,
                next_numbers,
                cause,
                recovered,
                lost_from_seq,
                lost_to_seq,
                lost_tickets,
            ) => Event::StoreRecovered {
                quarantined,
                next_numbers,
                cause,
                recovered,
                lost_from_seq,
                lost_to_seq,
                lost_tickets,
            },
        }
    }
}

/// Encode an entry for the store (current version).
pub fn encode(entry: &Entry) -> Vec<u8> {
    let body = V2 {
        at: entry.at,
        clock_ok: entry.clock_ok,
        day: entry.day.0,
        event: (&entry.event).into(),
    };
    let mut out = vec![V2_COMPACT];
    // Serializing plain data into a Vec cannot fail.
    if let Ok(v) = postcard::to_allocvec(&body) {
        out.extend_from_slice(&v);
    }
    out
}

/// Decode a stored entry, whatever version wrote it.
pub fn decode(seq: u64, bytes: &[u8]) -> Result<Entry, String> {
    match bytes.split_first() {
        Some((&V2_COMPACT, body)) => {
            let v: V2 = postcard::from_bytes(body).map_err(|e| format!("version 2 record: {e}"))?;
            if let V2Event::Rated(_, _, _, level, ..) = &v.event {
                if RatingLevel::from_code(*level).is_none() {
                    return Err(format!(
                        "version 2 rating with unknown level code {level}; known codes are 0, 1, 2"
                    ));
                }
            }
            Ok(Entry {
                seq,
                at: v.at,
                clock_ok: v.clock_ok,
                day: Day(v.day),
                event: v.event.into(),
            })
        }
        Some((&V1_JSON, json)) => {
            let mut e: Entry =
                serde_json::from_slice(json).map_err(|e| format!("version 1 record: {e}"))?;
            e.seq = seq;
            Ok(e)
        }
        Some((v, _)) => Err(format!(
            "unknown record version {v}; this daemon reads versions {V1_JSON} and {V2_COMPACT} (is the store from a newer layso?)"
        )),
        None => Err("empty record".into()),
    }
}

/// The entry as JSON (the wire form for the province and the event stream).
pub fn json_of(seq: u64, bytes: &[u8]) -> Result<Cow<'_, [u8]>, String> {
    match bytes.split_first() {
        Some((&V1_JSON, json)) => Ok(Cow::Borrowed(json)),
        _ => {
            let e = decode(seq, bytes)?;
            serde_json::to_vec(&e)
                .map(Cow::Owned)
                .map_err(|e| e.to_string())
        }
    }
}

/// Version 1 encoding, kept so tests can prove old logs still read.
pub fn encode_v1(entry: &Entry) -> Vec<u8> {
    let mut v = vec![V1_JSON];
    let _ = serde_json::to_writer(&mut v, entry);
    v
}

#[cfg(test)]
mod tests {
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
}

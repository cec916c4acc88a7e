//! How entries are stored in sled: a version byte, then the body. Version 2 (written
//! now) is a compact binary form; version 1 (JSON, written by 0.1 development builds) is
//! still read, so a newer daemon reads an older log. The seq is the sled key and is not
//! repeated in the body.
//!
//! Compactness matters on a Pi: sled keeps per-page bookkeeping in memory, so smaller
//! records mean fewer pages, less resident memory and less SD-card wear.

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
            } => V2Event::TicketCalled(s(ticket), s(service), *counter, *recall),
            E::TicketServed {
                ticket,
                service,
                counter,
            } => V2Event::TicketServed(s(ticket), s(service), *counter),
            E::TicketSkipped {
                ticket,
                service,
                counter,
            } => V2Event::TicketSkipped(s(ticket), s(service), *counter),
            E::TicketTransferred {
                ticket,
                from,
                to,
                counter,
            } => V2Event::TicketTransferred(s(ticket), s(from), s(to), *counter),
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
            },
            V::TicketServed(ticket, service, counter) => Event::TicketServed {
                ticket,
                service,
                counter,
            },
            V::TicketSkipped(ticket, service, counter) => Event::TicketSkipped {
                ticket,
                service,
                counter,
            },
            V::TicketTransferred(ticket, from, to, counter) => Event::TicketTransferred {
                ticket,
                from,
                to,
                counter,
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
            (s, s, any::<u16>(), any::<u32>()).prop_map(|(t, v, c, r)| Event::TicketCalled {
                ticket: t,
                service: v,
                counter: c,
                recall: r
            }),
            (s, s, any::<u16>()).prop_map(|(t, v, c)| Event::TicketServed {
                ticket: t,
                service: v,
                counter: c
            }),
            (s, s, any::<u16>()).prop_map(|(t, v, c)| Event::TicketSkipped {
                ticket: t,
                service: v,
                counter: c
            }),
            (s, s, s, any::<Option<u16>>()).prop_map(|(t, f, to, c)| Event::TicketTransferred {
                ticket: t,
                from: f,
                to,
                counter: c
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
}

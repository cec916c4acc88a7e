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
#[cfg(test)]
pub(crate) fn encode_v1(entry: &Entry) -> Vec<u8> {
    let mut v = vec![V1_JSON];
    let _ = serde_json::to_writer(&mut v, entry);
    v
}

#[cfg(test)]
mod tests;

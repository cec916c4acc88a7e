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

pub(crate) const V1_JSON: u8 = 1;
pub(crate) const V2_COMPACT: u8 = 2;

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
    Rated(u16, String, String, LevelCode, Vec<String>, String),
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

/// A rating level as stored: its code. An unknown code (a newer writer) reads as the
/// neutral level; [`decode`] refuses it before that.
#[derive(Serialize, Deserialize)]
struct LevelCode(u8);

impl From<RatingLevel> for LevelCode {
    fn from(level: RatingLevel) -> Self {
        LevelCode(level.code())
    }
}

impl From<LevelCode> for RatingLevel {
    fn from(code: LevelCode) -> Self {
        RatingLevel::from_code(code.0).unwrap_or(RatingLevel::Satisfied)
    }
}

/// Writes both directions of the mirror from one table: each [`Event`] variant maps field
/// by field, in order, onto the [`V2Event`] tuple variant after `=>` (`same`), each field
/// converted with `From` (the identity but for the rating level). `older` holds the arms
/// that read variants only older daemons wrote.
macro_rules! mirror {
    (
        same { $($event:ident { $($field:ident),* } => $v2:ident,)* }
        older { $($older:tt)* }
    ) => {
        impl From<&Event> for V2Event {
            fn from(e: &Event) -> Self {
                without_officer(match e {
                    Event::DayStarted {} => V2Event::DayStarted,
                    $(Event::$event { $($field),* } => {
                        V2Event::$v2($(From::from(Clone::clone($field))),*)
                    })*
                })
            }
        }

        impl From<V2Event> for Event {
            fn from(v: V2Event) -> Self {
                match v {
                    V2Event::DayStarted => Event::DayStarted {},
                    $(V2Event::$v2($($field),*) => {
                        Event::$event { $($field: From::from($field)),* }
                    })*
                    $($older)*
                }
            }
        }
    };
}

mirror! {
    same {
        TicketIssued { ticket, service, number, priority, source, ahead } => TicketIssued,
        TicketCalled { ticket, service, counter, recall, officer } => TicketCalledBy,
        TicketServed { ticket, service, counter, officer } => TicketServedBy,
        TicketSkipped { ticket, service, counter, officer } => TicketSkippedBy,
        TicketTransferred { ticket, from, to, counter, officer } => TicketTransferredBy,
        OfficerSignedIn { counter, officer } => OfficerSignedIn,
        OfficerSignedOut { counter, officer } => OfficerSignedOut,
        Rated { counter, ticket, officer, level, reasons, dossier } => Rated,
        CounterOpened { counter } => CounterOpened,
        CounterPaused { counter } => CounterPaused,
        CounterClosed { counter } => CounterClosed,
        DeviceStatus { device, state, detail } => DeviceStatus,
        PowerRestored { down_from, down_to } => PowerRestored,
        UplinkRestored { down_from, down_to } => UplinkRestored,
        StoreRecovered {
            quarantined, next_numbers, cause, recovered, lost_from_seq, lost_to_seq, lost_tickets
        } => StoreRecoveredV2,
    }
    older {
        // Before officers, and before the loss report: the current variant with those empty.
        V2Event::TicketCalled(t, s, c, r) => {
            V2Event::TicketCalledBy(t, s, c, r, String::new()).into()
        }
        V2Event::TicketServed(t, s, c) => {
            V2Event::TicketServedBy(t, s, c, String::new()).into()
        }
        V2Event::TicketSkipped(t, s, c) => {
            V2Event::TicketSkippedBy(t, s, c, String::new()).into()
        }
        V2Event::TicketTransferred(t, f, to, c) => {
            V2Event::TicketTransferredBy(t, f, to, c, String::new()).into()
        }
        V2Event::StoreRecovered(q, n) => {
            V2Event::StoreRecoveredV2(q, n, String::new(), 0, None, None, Vec::new()).into()
        }
    }
}

/// A ticket event without an officer is written in the variant without one, so its record
/// stays byte-identical to what daemons from before officers wrote.
fn without_officer(v: V2Event) -> V2Event {
    use V2Event as V;
    match v {
        V::TicketCalledBy(t, s, c, r, o) if o.is_empty() => V::TicketCalled(t, s, c, r),
        V::TicketServedBy(t, s, c, o) if o.is_empty() => V::TicketServed(t, s, c),
        V::TicketSkippedBy(t, s, c, o) if o.is_empty() => V::TicketSkipped(t, s, c),
        V::TicketTransferredBy(t, f, to, c, o) if o.is_empty() => V::TicketTransferred(t, f, to, c),
        v => v,
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
            if let V2Event::Rated(_, _, _, LevelCode(level), ..) = &v.event {
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

//! Log entries and the events they carry: the record format (docs/architecture.md §6).

use super::rating_level::RatingLevel;
use super::time::Day;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One durable record. `seq` only grows and is the sled key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    /// Effective wall-clock time, milliseconds since the Unix epoch (UTC).
    pub at: i64,
    /// Whether the kernel reported the clock as synchronized when the entry was made.
    pub clock_ok: bool,
    /// The business day the entry belongs to.
    pub day: Day,
    pub event: Event,
}

/// What happened. Serialized with a `kind` tag in snake case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// First entry of a business day: numbering restarts.
    DayStarted {},
    TicketIssued {
        ticket: String,
        service: String,
        number: u32,
        priority: bool,
        source: String,
        /// Tickets of the same service that will be called before this one.
        #[serde(default)]
        ahead: u32,
    },
    TicketCalled {
        ticket: String,
        service: String,
        counter: u16,
        recall: u32,
        /// The officer signed in at the counter ("" for nobody); absent in old records.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        officer: String,
    },
    TicketServed {
        ticket: String,
        service: String,
        counter: u16,
        /// The officer signed in at the counter ("" for nobody); absent in old records.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        officer: String,
    },
    TicketSkipped {
        ticket: String,
        service: String,
        counter: u16,
        /// The officer signed in at the counter ("" for nobody); absent in old records.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        officer: String,
    },
    TicketTransferred {
        ticket: String,
        from: String,
        to: String,
        counter: Option<u16>,
        /// The officer signed in at the counter ("" for nobody); absent in old records.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        officer: String,
    },
    CounterOpened {
        counter: u16,
    },
    CounterPaused {
        counter: u16,
    },
    CounterClosed {
        counter: u16,
    },
    DeviceStatus {
        device: String,
        state: String,
        detail: String,
    },
    PowerRestored {
        down_from: i64,
        down_to: i64,
    },
    UplinkRestored {
        down_from: i64,
        down_to: i64,
    },
    /// The store was found damaged at start (or quarantined and a new one started);
    /// numbering of the day continues at or above `next_numbers`. `recovered` entries
    /// came back from the other copy; `lost_*` say what neither copy held (empty: none).
    StoreRecovered {
        quarantined: String,
        next_numbers: BTreeMap<String, u32>,
        #[serde(default)]
        cause: String,
        #[serde(default)]
        recovered: u64,
        #[serde(default)]
        lost_from_seq: Option<u64>,
        #[serde(default)]
        lost_to_seq: Option<u64>,
        /// Ticket ranges that may have been issued and are gone, e.g. `A059–A107`.
        #[serde(default)]
        lost_tickets: Vec<String>,
    },
    /// An officer signed in at a counter; later counter actions carry their id.
    OfficerSignedIn {
        counter: u16,
        officer: String,
    },
    OfficerSignedOut {
        counter: u16,
        officer: String,
    },
    /// A citizen rated the ticket just finished at a counter.
    Rated {
        counter: u16,
        ticket: String,
        /// The officer who served the ticket ("" for nobody).
        officer: String,
        level: RatingLevel,
        reasons: Vec<String>,
        dossier: String,
    },
}

impl Event {
    /// The `kind` tag, as it appears in JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::DayStarted {} => "day_started",
            Event::TicketIssued { .. } => "ticket_issued",
            Event::TicketCalled { .. } => "ticket_called",
            Event::TicketServed { .. } => "ticket_served",
            Event::TicketSkipped { .. } => "ticket_skipped",
            Event::TicketTransferred { .. } => "ticket_transferred",
            Event::CounterOpened { .. } => "counter_opened",
            Event::CounterPaused { .. } => "counter_paused",
            Event::CounterClosed { .. } => "counter_closed",
            Event::DeviceStatus { .. } => "device_status",
            Event::PowerRestored { .. } => "power_restored",
            Event::UplinkRestored { .. } => "uplink_restored",
            Event::StoreRecovered { .. } => "store_recovered",
            Event::OfficerSignedIn { .. } => "officer_signed_in",
            Event::OfficerSignedOut { .. } => "officer_signed_out",
            Event::Rated { .. } => "rated",
        }
    }
}

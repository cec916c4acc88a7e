//! Commands the engine accepts and the rejections core gives, with bilingual messages.

use super::rating_level::RatingLevel;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Issue {
        service: String,
        priority: bool,
        source: String,
    },
    Next {
        counter: u16,
    },
    Recall {
        counter: u16,
    },
    Skip {
        counter: u16,
    },
    Complete {
        counter: u16,
    },
    /// Send the counter's current ticket to `service`; `None` (a keypad's one key, no
    /// picker) means the first service the counter serves other than the ticket's.
    Transfer {
        counter: u16,
        service: Option<String>,
    },
    Open {
        counter: u16,
    },
    Pause {
        counter: u16,
    },
    Close {
        counter: u16,
    },
    /// An adapter reports its device's health; recorded only when it changes.
    ReportDevice {
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
    StoreRecovered {
        quarantined: String,
        /// The business day the floors belong to, as `Day.0`.
        day: i32,
        next_numbers: BTreeMap<String, u32>,
        /// What was damaged and how much came back (see [`StoreLoss`]).
        loss: StoreLoss,
    },
    /// The officer's PIN was checked at the boundary.
    SignIn {
        counter: u16,
        officer: String,
    },
    SignOut {
        counter: u16,
    },
    Rate {
        counter: u16,
        level: RatingLevel,
        reasons: Vec<String>,
        dossier: String,
    },
}

/// What a checked store open found: the cause, entries restored from the other copy,
/// and what neither copy held (seq range, and per service the numbers `(first, last)`
/// that may have been issued and are gone).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreLoss {
    pub cause: String,
    pub recovered: u64,
    pub lost_seq: Option<(u64, u64)>,
    pub lost_numbers: BTreeMap<String, (u32, u32)>,
}

/// Why a command was refused. Carries a stable machine code and messages for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub code: RejectCode,
    pub message_vi: String,
    pub message_en: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    EmptyQueue,
    UnknownService,
    UnknownCounter,
    CounterPaused,
    CounterClosed,
    CounterBusy,
    NoCurrentTicket,
    SameService,
    UnknownOfficer,
    NotSignedIn,
    NothingToRate,
    AlreadyRated,
    RatingWindowClosed,
    BadRating,
}

impl RejectCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectCode::EmptyQueue => "empty_queue",
            RejectCode::UnknownService => "unknown_service",
            RejectCode::UnknownCounter => "unknown_counter",
            RejectCode::CounterPaused => "counter_paused",
            RejectCode::CounterClosed => "counter_closed",
            RejectCode::CounterBusy => "counter_busy",
            RejectCode::NoCurrentTicket => "no_current_ticket",
            RejectCode::SameService => "same_service",
            RejectCode::UnknownOfficer => "unknown_officer",
            RejectCode::NotSignedIn => "not_signed_in",
            RejectCode::NothingToRate => "nothing_to_rate",
            RejectCode::AlreadyRated => "already_rated",
            RejectCode::RatingWindowClosed => "rating_window_closed",
            RejectCode::BadRating => "bad_rating",
        }
    }
}

impl Rejection {
    pub fn new(code: RejectCode, vi: impl Into<String>, en: impl Into<String>) -> Self {
        Rejection {
            code,
            message_vi: vi.into(),
            message_en: en.into(),
        }
    }

    pub fn empty_queue(counter: u16) -> Self {
        Self::new(
            RejectCode::EmptyQueue,
            format!("Không có khách đang chờ cho quầy {counter}."),
            format!("Nobody is waiting for counter {counter}."),
        )
    }
    pub fn unknown_service(id: &str, known: &[String]) -> Self {
        Self::new(
            RejectCode::UnknownService,
            format!(
                "Không có dịch vụ '{id}'. Các dịch vụ: {}.",
                known.join(", ")
            ),
            format!(
                "There is no service '{id}'. Services: {}.",
                known.join(", ")
            ),
        )
    }
    pub fn unknown_counter(n: u16, known: &[u16]) -> Self {
        let list = known
            .iter()
            .map(|k| k.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        Self::new(
            RejectCode::UnknownCounter,
            format!("Không có quầy số {n}. Các quầy: {list}."),
            format!("There is no counter {n}. Counters: {list}."),
        )
    }
    pub fn paused(n: u16) -> Self {
        Self::new(
            RejectCode::CounterPaused,
            format!("Quầy {n} đang tạm dừng. Bấm Mở để tiếp tục gọi số."),
            format!("Counter {n} is paused. Press Open to resume calling."),
        )
    }
    pub fn closed(n: u16) -> Self {
        Self::new(
            RejectCode::CounterClosed,
            format!("Quầy {n} đã đóng. Bấm Mở để mở quầy."),
            format!("Counter {n} is closed. Press Open to open it."),
        )
    }
    pub fn busy(n: u16, ticket: &str) -> Self {
        Self::new(
            RejectCode::CounterBusy,
            format!("Quầy {n} đang phục vụ số {ticket}. Hãy hoàn thành hoặc bỏ qua trước."),
            format!("Counter {n} is serving {ticket}. Complete or skip it first."),
        )
    }
    pub fn no_other_service(n: u16, ticket: &str) -> Self {
        Self::new(
            RejectCode::SameService,
            format!("Quầy {n} chỉ phục vụ một dịch vụ; hãy chuyển số {ticket} từ trang quầy."),
            format!(
                "Counter {n} serves one service only; transfer {ticket} from the counter page."
            ),
        )
    }
    pub fn no_current(n: u16) -> Self {
        Self::new(
            RejectCode::NoCurrentTicket,
            format!("Quầy {n} chưa gọi số nào."),
            format!("Counter {n} has no ticket being served."),
        )
    }
}

//! `POST /api/v1/printer/reprint-last` and the `print` part of the kiosk's issue answer.

use super::printing::{ReprintRefusal, REPRINT_WINDOW_MS};
use super::{ApiError, Shared};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReprintRequest {
    token: String,
}

/// What the kiosk tells the citizen about the paper ticket.
pub(super) fn print_outcome(queued: Option<bool>) -> Value {
    match queued {
        Some(true) => json!({"queued": true}),
        Some(false) => json!({
            "queued": false,
            "message_vi": "Vé chưa được in vì máy in đang quá tải. Số của bạn vẫn giữ chỗ — vui lòng ghi nhớ số.",
            "message_en": "The ticket was not printed: the printer's queue is full. Your number still holds your place — please remember it.",
        }),
        None => json!({"queued": null}),
    }
}

/// Reprint the ticket whose single-use token (from its issue answer) is given.
pub(super) async fn reprint_last(
    State(state): State<Shared>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let Some(desk) = &state.reprint else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_printer",
            "Không có máy in được cấu hình.",
            "No printer is configured.",
        ));
    };
    let req: ReprintRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "reprint needs a body like {{\"token\":\"…\"}} with the reprint_token of the ticket's issue answer: {e}"
        ))
    })?;
    let minutes = REPRINT_WINDOW_MS / 60_000;
    match desk.reprint(&req.token, crate::sys::wall_ms()) {
        Ok(ticket) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({"reprint": "queued", "ticket": ticket})),
        )
            .into_response()),
        Err(ReprintRefusal::UnknownToken) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "reprint_refused",
            "Không in lại được: mã in lại không hợp lệ.",
            "Unknown reprint token; only the kiosk that issued a ticket can reprint it, with the reprint_token of its issue answer.",
        )),
        Err(ReprintRefusal::Used(t)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "reprint_used",
            format!("Vé {t} đã được in lại một lần."),
            format!("Ticket {t} was already reprinted once."),
        )),
        Err(ReprintRefusal::Expired(t)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "reprint_expired",
            format!("Vé {t} đã cấp quá {minutes} phút, không in lại được."),
            format!("Ticket {t} was issued more than {minutes} minutes ago; it can no longer be reprinted."),
        )),
        Err(ReprintRefusal::QueueFull(t)) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "print_queue_full",
            format!("Máy in đang bận, chưa in lại được vé {t}; vui lòng thử lại."),
            format!("The printer's queue is full; ticket {t} was not reprinted, try again."),
        )),
    }
}

//! `GET /api/v1/announcements/{seq}.wav`: the announcement of call `seq` for the hall
//! display page (when `[voice] where = "display"`), assembled on demand from the pack.

use crate::core::Event;
use crate::voice::config::Place;
use crate::voice::queue::MAX_AGE_MS;
use crate::voice::Voice;
use crate::web::{ApiError, Shared};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

/// Loaded voices by pack directory: a pack is read once per process.
fn cache() -> &'static Mutex<HashMap<PathBuf, Arc<Voice>>> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Arc<Voice>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Where the site plays announcements ("board", "display", "none") for `/api/v1/state`.
pub fn place(state: &Shared) -> &'static str {
    state
        .config
        .voice
        .as_ref()
        .map_or(Place::None, |v| v.place())
        .as_str()
}

fn unavailable(en: String) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "voice_unavailable",
        format!("Không phát được lời gọi: {en}"),
        en,
    )
}

pub async fn announcement(State(state): State<Shared>, Path(file): Path<String>) -> Response {
    match serve(&state, &file).await {
        Ok(wav) => (
            [
                (header::CONTENT_TYPE, "audio/wav"),
                (header::CACHE_CONTROL, "private, max-age=60"),
            ],
            wav,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn serve(state: &Shared, file: &str) -> Result<Vec<u8>, ApiError> {
    let seq: u64 = file
        .strip_suffix(".wav")
        .and_then(|s| s.parse().ok())
        .filter(|s| *s > 0)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "'{file}' is not an announcement; ask for /api/v1/announcements/<seq>.wav with the seq of a ticket_called event"
            ))
        })?;
    let vc = state
        .config
        .voice
        .clone()
        .filter(|v| v.place() == Place::Display)
        .ok_or_else(|| {
            ApiError::not_found(
                "announcements are played by the display only with [voice] where = \"display\"; this site plays them elsewhere or not at all",
            )
        })?;
    let reader = state.handle.reader().clone();
    let entry = tokio::task::spawn_blocking(move || reader.entries_after(seq - 1, 1))
        .await
        .map_err(|e| unavailable(format!("log read task failed: {e}")))?
        .map_err(|e| unavailable(format!("cannot read the log: {e}")))?
        .into_iter()
        .find(|e| e.seq == seq);
    let Some(entry) = entry else {
        return Err(ApiError::not_found(format!("no log entry {seq}")));
    };
    let Event::TicketCalled {
        ticket, counter, ..
    } = &entry.event
    else {
        return Err(ApiError::not_found(format!(
            "entry {seq} is a {}, not a ticket_called: nothing to announce",
            entry.event.kind()
        )));
    };
    if crate::sys::wall_ms() - entry.at > MAX_AGE_MS {
        return Err(ApiError::new(
            StatusCode::GONE,
            "too_late",
            "Lời gọi đã quá 60 giây, không phát muộn.",
            "The call is more than 60 s old; announcements are never played late.",
        ));
    }
    let dir = vc.pack_dir();
    let cached = cache().lock().ok().and_then(|c| c.get(&dir).cloned());
    let voice = match cached {
        Some(v) => v,
        None => {
            let config = state.config.clone();
            let v = tokio::task::spawn_blocking(move || Voice::load(&vc, &config))
                .await
                .map_err(|e| unavailable(format!("pack load task failed: {e}")))?
                .map_err(|p| unavailable(p.join("; ")))?;
            let v = Arc::new(v);
            if let Ok(mut c) = cache().lock() {
                c.insert(dir, v.clone());
            }
            v
        }
    };
    tracing::info!(seq, %ticket, counter, "announcement served to the display");
    Ok(voice.render_wav(ticket, *counter))
}

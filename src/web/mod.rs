//! The HTTP side: the JSON API under `/api/v1`, the event stream, and the pages.
//!
//! Kiosk endpoints can only issue tickets; counter actions need that counter's (or the
//! admin) credential, compared in constant time. Bodies are small and checked once here.

mod error;
mod guard;
mod pages;
pub mod printing;
pub mod ratelimit;
mod ratings;
mod reprint;
pub(crate) mod serve;
mod voice;

pub use error::ApiError;

use crate::config::Config;
use crate::core::{Command, Entry};
use crate::engine::{CurrentView, Handle};
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream::{self, Stream};
use ratelimit::RateLimiter;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::sync::{broadcast, watch};

/// What the HTTP side needs, shared by all handlers.
pub struct AppState {
    pub handle: Handle,
    pub config: Arc<Config>,
    pub started_at: i64,
    pub rate: Mutex<RateLimiter>,
    /// The uplink's status for `GET /api/v1/state` (None: no uplink configured).
    pub uplink: watch::Receiver<Option<Value>>,
    /// Print outcomes and single-use reprints of recent tickets (None: no printer).
    pub reprint: Option<Arc<printing::PrintDesk>>,
}

pub(crate) type Shared = Arc<AppState>;

/// Build the router.
pub fn router(state: Shared) -> Router {
    let limit = state.config.web.max_body_bytes;
    Router::new()
        .route("/api/v1/tickets", post(issue_ticket))
        .route("/api/v1/printer/reprint-last", post(reprint::reprint_last))
        .route("/api/v1/counters/{n}/whoami", get(counter_whoami))
        .route("/api/v1/counters/{n}/{action}", post(counter_action))
        .route("/api/v1/admin/whoami", get(admin_whoami))
        .route("/api/v1/state", get(get_state))
        .route("/api/v1/events", get(events))
        .route("/api/v1/announcements/{file}", get(voice::announcement))
        .merge(pages::routes())
        .merge(ratings::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn(guard::same_origin_json))
        .layer(axum::middleware::map_response(guard::json_errors))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such page or endpoint; the API lives under /api/v1 (see docs/api.md)")
}

// ---------------------------------------------------------------- JSON bodies

/// A JSON body checked once: size, syntax, types and unknown fields, with a clear error.
pub(crate) struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes =
            axum::body::Bytes::from_request(req, state)
                .await
                .map_err(|e: BytesRejection| {
                    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        ApiError::new(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "payload_too_large",
                            "Nội dung yêu cầu quá lớn.",
                            "The request body is too large; send a small JSON object.",
                        )
                    } else {
                        ApiError::bad_request(format!("could not read the body: {e}"))
                    }
                })?;
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
    }
}

// ---------------------------------------------------------------- auth

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

fn is_admin(state: &AppState, headers: &HeaderMap) -> bool {
    match (bearer(headers), &state.config.web.admin_credential) {
        (Some(given), Some(admin)) => same(given, admin),
        _ => false,
    }
}

/// The counter number of a path, once the request carries a credential at all (401
/// first, so that nobody learns which counters exist without one).
fn counter_number(headers: &HeaderMap, n: &str) -> Result<u16, ApiError> {
    bearer(headers).ok_or_else(ApiError::unauthorized)?;
    n.parse()
        .map_err(|_| ApiError::bad_request(format!("'{n}' is not a counter number")))
}

/// The counter's own credential or the admin's. Whether an unknown counter exists is
/// told to the admin only; anyone else gets 403 as for a wrong credential.
fn authorize_counter(state: &AppState, headers: &HeaderMap, n: u16) -> Result<(), ApiError> {
    let given = bearer(headers).ok_or_else(ApiError::unauthorized)?;
    let counter = state.config.counters.iter().find(|c| c.number == n);
    let admin = is_admin(state, headers);
    if counter.is_none() && admin {
        let known: Vec<u16> = state.config.counters.iter().map(|c| c.number).collect();
        return Err(crate::core::Rejection::unknown_counter(n, &known).into());
    }
    if counter.is_some_and(|c| same(given, &c.credential)) || admin {
        return Ok(());
    }
    Err(ApiError::forbidden(&format!("quầy {n} / counter {n}")))
}

fn authorize_admin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    if state.config.web.admin_credential.is_none() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Chưa cấu hình mã quản trị (web.admin_credential).",
            "No admin credential is configured (web.admin_credential).",
        ));
    }
    bearer(headers).ok_or_else(ApiError::unauthorized)?;
    if is_admin(state, headers) {
        Ok(())
    } else {
        Err(ApiError::forbidden("quản trị / admin"))
    }
}

// ---------------------------------------------------------------- kiosk

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueRequest {
    service: String,
    #[serde(default)]
    priority: bool,
}

#[derive(Serialize)]
struct IssuedTicket {
    ticket: String,
    service: String,
    number: u32,
    priority: bool,
    issued_at: i64,
    day: String,
    waiting_ahead: u32,
    seq: u64,
}

fn printer_state(state: &AppState) -> Value {
    let view = state.handle.view();
    match view.devices.iter().find(|d| d.device == "printer") {
        Some(d) => json!({"state": d.state, "detail": d.detail}),
        None => json!({"state": "none", "detail": ""}),
    }
}

async fn issue_ticket(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    conn: Option<axum::Extension<Arc<serve::ClientConn>>>,
    ApiJson(req): ApiJson<IssueRequest>,
) -> Result<Response, ApiError> {
    // A kiosk that gave up waiting (its request sat unread) would never show the number.
    if conn.is_some_and(|c| c.gone()) {
        tracing::warn!(%peer, "kiosk closed the connection before its request was read; no ticket issued");
        return Err(ApiError::client_gone());
    }
    let allowed = state
        .rate
        .lock()
        .map(|mut r| r.allow(peer.ip(), crate::sys::wall_ms()))
        .unwrap_or(true);
    if !allowed {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Lấy số quá nhanh, vui lòng đợi một chút.",
            format!(
                "Too many tickets from {}; the limit is {} per minute.",
                peer.ip(),
                state.config.web.kiosk_rate_per_minute
            ),
        ));
    }
    let source = if peer.ip().is_loopback() {
        "kiosk".to_string()
    } else {
        format!("kiosk:{}", peer.ip())
    };
    let out = state
        .handle
        .execute(Command::Issue {
            service: req.service,
            priority: req.priority,
            source,
        })
        .await?;
    let ticket = out.entries.iter().find_map(|e| match &e.event {
        crate::core::Event::TicketIssued {
            ticket,
            service,
            number,
            priority,
            ahead,
            ..
        } => Some(IssuedTicket {
            ticket: ticket.clone(),
            service: service.clone(),
            number: *number,
            priority: *priority,
            issued_at: e.at,
            day: e.day.to_string(),
            waiting_ahead: *ahead,
            seq: e.seq,
        }),
        _ => None,
    });
    let ticket = ticket.ok_or_else(|| ApiError::bad_request("no ticket was issued"))?;
    let (print, token) = match &state.reprint {
        Some(desk) => (
            reprint::print_outcome(desk.outcome(ticket.seq).await),
            desk.token(ticket.seq),
        ),
        None => (Value::Null, None),
    };
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "ticket": ticket,
            "printer": printer_state(&state),
            "print": print,
            "reprint_token": token,
        })),
    )
        .into_response())
}

// ---------------------------------------------------------------- counters

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferRequest {
    service: String,
}

async fn counter_whoami(
    State(state): State<Shared>,
    Path(n): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let n = counter_number(&headers, &n)?;
    authorize_counter(&state, &headers, n)?;
    let name = state
        .config
        .counters
        .iter()
        .find(|c| c.number == n)
        .map(|c| c.name.clone());
    Ok(Json(
        json!({"counter": n, "name": name, "admin": is_admin(&state, &headers)}),
    ))
}

async fn counter_action(
    State(state): State<Shared>,
    Path((n, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let n = counter_number(&headers, &n)?;
    authorize_counter(&state, &headers, n)?;
    let command = match action.as_str() {
        "next" => Command::Next { counter: n },
        "recall" => Command::Recall { counter: n },
        "skip" => Command::Skip { counter: n },
        "complete" => Command::Complete { counter: n },
        "open" => Command::Open { counter: n },
        "pause" => Command::Pause { counter: n },
        "close" => Command::Close { counter: n },
        "transfer" => {
            let req: TransferRequest = serde_json::from_slice(&body).map_err(|e| {
                ApiError::bad_request(format!(
                    "transfer needs a body like {{\"service\":\"B\"}}: {e}"
                ))
            })?;
            Command::Transfer {
                counter: n,
                service: Some(req.service),
            }
        }
        other => {
            return Err(ApiError::not_found(format!(
                "unknown counter action '{other}'; use next, recall, skip, complete, transfer, open, pause or close"
            )))
        }
    };
    let out = state.handle.execute(command).await?;
    let current = out.current.as_ref().map(CurrentView::from);
    Ok(Json(json!({"events": out.entries, "current": current})))
}

async fn admin_whoami(
    State(state): State<Shared>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    authorize_admin(&state, &headers)?;
    Ok(Json(json!({"admin": true})))
}

// ---------------------------------------------------------------- state

async fn get_state(State(state): State<Shared>) -> Json<Value> {
    let view = state.handle.view();
    let reader = state.handle.reader().clone();
    let (unpublished, oldest) = tokio::task::spawn_blocking(move || {
        let b = reader.backlog().unwrap_or((0, None));
        (b.0, b.1)
    })
    .await
    .unwrap_or((0, None));
    let now = crate::engine::SystemClock;
    let now = crate::engine::Clock::now(&now);
    let c = &state.config;
    let mut doc = json!({
        "site": {"id": c.site.id, "name": c.site.name, "province": c.site.province},
        "day": view.day,
        "now": now.wall_ms,
        "clock_ok": now.clock_ok,
        "version": env!("CARGO_PKG_VERSION"),
        "started_at": state.started_at,
        "services": view.services,
        "counters": view.counters,
        "last_calls": view.last_calls,
        "devices": view.devices,
        "ratings_alerts": view.ratings_alerts,
        "store": {
            "ok": view.alarms.is_empty(),
            "writable": view.store.writable,
            "error": view.store.error,
            "since": view.store.since,
            "alarms": view.alarms,
            "path": c.store.path.display().to_string(),
            "last_seq": view.last_seq,
            "unpublished": unpublished,
            "oldest_unpublished_at": oldest,
            "size_bytes": state.handle.reader().size_on_disk(),
        },
        "uplink": state.uplink.borrow().clone(),
        "voice": voice::place(&state),
    });
    // Plain-language fields for the status page, the counter page and `layso status`.
    crate::status::add_site_fields(&mut doc, c);
    let kind_of = |name: &str| crate::status::kind_of(c, name);
    let cx = crate::status::report::Context {
        now_ms: now.wall_ms,
        kind_of: &kind_of,
    };
    crate::status::report::enrich(&mut doc, &cx);
    Json(doc)
}

// ---------------------------------------------------------------- event stream

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    after: Option<u64>,
}

struct Feed {
    after: u64,
    rx: broadcast::Receiver<Arc<Entry>>,
    buffer: VecDeque<Entry>,
    catching_up: bool,
    handle: Handle,
}

fn sse_event(e: &Entry) -> SseEvent {
    SseEvent::default()
        .id(e.seq.to_string())
        .event(e.event.kind())
        .json_data(e)
        .unwrap_or_else(|_| SseEvent::default().comment("unencodable entry"))
}

async fn events(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    // Subscribe before reading the log, so nothing falls between the two.
    let rx = state.handle.subscribe();
    let last_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| ApiError::bad_request("Last-Event-ID must be a seq number"))
        })
        .transpose()?;
    let after = last_id.or(q.after);
    let feed = Feed {
        after: after.unwrap_or_else(|| state.handle.view().last_seq),
        rx,
        buffer: VecDeque::new(),
        catching_up: after.is_some(),
        handle: state.handle.clone(),
    };
    let s = stream::unfold(feed, |mut f| async move {
        loop {
            if let Some(e) = f.buffer.pop_front() {
                f.after = e.seq;
                return Some((Ok(sse_event(&e)), f));
            }
            if f.catching_up {
                let reader = f.handle.reader().clone();
                let after = f.after;
                let batch = tokio::task::spawn_blocking(move || reader.entries_after(after, 500))
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or_default();
                if batch.is_empty() {
                    f.catching_up = false;
                } else {
                    f.buffer.extend(batch);
                }
                continue;
            }
            match f.rx.recv().await {
                Ok(e) if e.seq > f.after => {
                    f.after = e.seq;
                    return Some((Ok(sse_event(&e)), f));
                }
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(_)) => f.catching_up = true,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(s).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

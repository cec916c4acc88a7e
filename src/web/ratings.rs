//! Officers and ratings over HTTP: sign-in/out at a counter (officer id + PIN, compared
//! in constant time), the rating device's endpoints, the unsatisfied alerts, and the
//! daily report (JSON and CSV) computed from the log.

use super::{authorize_admin, authorize_counter, bearer, same, ApiError, ApiJson, Shared};
use crate::core::rating::RatingLevel;
use crate::core::{Command, Day};
use crate::report::day::DayReport;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/counters/{n}/signin", post(sign_in))
        .route("/api/v1/counters/{n}/signout", post(sign_out))
        .route("/api/v1/counters/{n}/rating", post(rate).get(rating_target))
        .route("/api/v1/ratings/alerts", get(alerts))
        .route("/api/v1/reports/day", get(report_json))
        .route("/api/v1/reports/day.csv", get(report_csv))
}

fn counter_number(n: &str) -> Result<u16, ApiError> {
    n.parse()
        .map_err(|_| ApiError::bad_request(format!("'{n}' is not a counter number")))
}

/// The counter number of the path, once the caller is known to act for it: with
/// `DEVICE = false` the counter's own credential or the admin's, with `DEVICE = true`
/// the counter's rating device. An extractor for the handlers without a body; those with
/// one call [`CounterFor::check`] after reading it, so a malformed body is still told
/// before a missing credential.
struct CounterFor<const DEVICE: bool>(u16);

impl<const DEVICE: bool> CounterFor<DEVICE> {
    fn check(state: &Shared, headers: &HeaderMap, n: &str) -> Result<u16, ApiError> {
        let n = counter_number(n)?;
        if DEVICE {
            authorize_device(state, headers, n)?;
        } else {
            authorize_counter(state, headers, n)?;
        }
        Ok(n)
    }
}

impl<const DEVICE: bool> FromRequestParts<Shared> for CounterFor<DEVICE> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        let Path(n) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        Self::check(state, &parts.headers, &n).map(Self)
    }
}

/// Acts for the counter: its own credential or the admin's.
type StaffCounter = CounterFor<false>;
/// The counter's rating device.
type DeviceCounter = CounterFor<true>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignInRequest {
    officer: String,
    pin: String,
}

/// Wrong PINs tolerated at one counter before it must wait.
const PIN_TRIES: u32 = 5;
/// How long a counter waits after too many wrong PINs.
const PIN_LOCK: Duration = Duration::from_secs(60);

/// Wrong PIN attempts per counter: (count, first in the current window). Process-wide,
/// like the daemon itself (one site per process); a 4-digit PIN must not be guessable
/// by someone who holds a counter credential.
static PIN_FAILS: Mutex<BTreeMap<u16, (u32, Instant)>> = Mutex::new(BTreeMap::new());

fn pin_locked(counter: u16) -> bool {
    let Ok(mut f) = PIN_FAILS.lock() else {
        return false;
    };
    match f.get(&counter) {
        Some((_, since)) if since.elapsed() >= PIN_LOCK => {
            f.remove(&counter);
            false
        }
        Some((count, _)) => *count >= PIN_TRIES,
        None => false,
    }
}

fn pin_failed(counter: u16) {
    if let Ok(mut f) = PIN_FAILS.lock() {
        let e = f.entry(counter).or_insert((0, Instant::now()));
        e.0 = e.0.saturating_add(1);
    }
}

async fn sign_in(
    State(state): State<Shared>,
    Path(n): Path<String>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SignInRequest>,
) -> Result<Json<Value>, ApiError> {
    let n = StaffCounter::check(&state, &headers, &n)?;
    if pin_locked(n) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "Nhập sai mã PIN quá nhiều lần. Vui lòng đợi 1 phút rồi thử lại.",
            format!(
                "{PIN_TRIES} wrong PINs at counter {n}; wait {} s and try again.",
                PIN_LOCK.as_secs()
            ),
        ));
    }
    let officer = state.config.ratings.officer(req.officer.trim());
    // Compare a PIN even for an unknown id, so timing does not tell ids apart.
    let pin_ok = same(
        &req.pin,
        officer.map_or("\u{0}no officer\u{0}", |o| o.pin.as_str()),
    );
    let Some(officer) = officer.filter(|_| pin_ok) else {
        pin_failed(n);
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_pin",
            "Mã cán bộ hoặc mã PIN không đúng.",
            "Wrong officer id or PIN; officers and their PINs are in [[officers]] of the configuration.",
        ));
    };
    let out = state
        .handle
        .execute(Command::SignIn {
            counter: n,
            officer: officer.id.clone(),
        })
        .await?;
    Ok(Json(json!({
        "counter": n,
        "officer": {"id": officer.id, "name": officer.name},
        "events": out.entries,
    })))
}

async fn sign_out(
    State(state): State<Shared>,
    CounterFor(n): StaffCounter,
) -> Result<Json<Value>, ApiError> {
    let out = state
        .handle
        .execute(Command::SignOut { counter: n })
        .await?;
    Ok(Json(json!({"counter": n, "events": out.entries})))
}

/// Only the counter's own rating device may rate (not the counter, not the admin: the
/// officer must not rate themselves).
fn authorize_device(state: &Shared, headers: &HeaderMap, n: u16) -> Result<(), ApiError> {
    let given = bearer(headers).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Cần mã của thiết bị đánh giá tại quầy (Authorization: Bearer …).",
            "The counter's rating device credential is required (Authorization: Bearer …).",
        )
    })?;
    match state.config.ratings.device_credential(n) {
        Some(cred) if same(given, cred) => Ok(()),
        Some(_) => Err(ApiError::forbidden(&format!(
            "thiết bị đánh giá quầy {n} / rating device of counter {n}"
        ))),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_rating_device",
            format!("Quầy {n} chưa có thiết bị đánh giá."),
            format!("Counter {n} has no rating device; add a [[ratings.devices]] entry with counter = {n}."),
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RateRequest {
    level: String,
    #[serde(default)]
    reasons: Vec<String>,
    #[serde(default)]
    dossier: String,
}

async fn rate(
    State(state): State<Shared>,
    Path(n): Path<String>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<RateRequest>,
) -> Result<Response, ApiError> {
    let n = DeviceCounter::check(&state, &headers, &n)?;
    let level = RatingLevel::parse(&req.level).ok_or_else(|| {
        ApiError::bad_request(format!(
            "level '{}' is not one of very_satisfied, satisfied, unsatisfied",
            req.level
        ))
    })?;
    let out = state
        .handle
        .execute(Command::Rate {
            counter: n,
            level,
            reasons: req.reasons,
            dossier: req.dossier,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"events": out.entries}))).into_response())
}

/// What the rating device shows: the counter, the reasons, and the ticket it may rate
/// now (null when none).
async fn rating_target(
    State(state): State<Shared>,
    CounterFor(n): DeviceCounter,
) -> Result<Json<Value>, ApiError> {
    let view = state.handle.view();
    let c = &state.config;
    let name = c
        .counters
        .iter()
        .find(|x| x.number == n)
        .map(|x| x.name.clone());
    Ok(Json(json!({
        "counter": n,
        "name": name,
        "now": crate::sys::wall_ms(),
        "window_seconds": c.ratings.window_seconds,
        "reasons": c.ratings.reasons,
        "ratable": view.ratable.iter().find(|r| r.counter == n),
    })))
}

async fn alerts(State(state): State<Shared>) -> Json<Value> {
    let view = state.handle.view();
    Json(json!({"alerts": view.ratings_alerts, "head_counter": state.config.ratings.head_counter}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DayQuery {
    day: Option<String>,
}

async fn build_report(state: &Shared, q: DayQuery) -> Result<DayReport, ApiError> {
    let day: Day = match q.day {
        Some(d) => d
            .parse()
            .map_err(|e| ApiError::bad_request(format!("day '{d}': {e}; give it as YYYY-MM-DD")))?,
        None => {
            let now = crate::sys::wall_ms();
            state.config.site.rule.day_of(now)
        }
    };
    let reader = state.handle.reader().clone();
    let entries = tokio::task::spawn_blocking(move || crate::report::day_entries(&reader, day))
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Không lập được báo cáo, vui lòng thử lại.",
                format!("The report could not be built ({e}); try again."),
            )
        })?
        .map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_failed",
                "Không đọc được dữ liệu để lập báo cáo.",
                format!("The log could not be read for the report: {e}"),
            )
        })?;
    Ok(crate::report::day::fold(&day.to_string(), &entries))
}

/// Display names for the report's groups.
fn namer(state: &Shared) -> impl Fn(&str, &str) -> String + '_ {
    move |group, key| {
        let c = &state.config;
        match group {
            "service" => c.service(key).map(|s| s.name_vi.clone()),
            "counter" => c
                .counters
                .iter()
                .find(|x| x.number.to_string() == key)
                .map(|x| x.name.clone()),
            "officer" if key.is_empty() => Some("(không có cán bộ)".to_string()),
            "officer" => c.ratings.officer(key).map(|o| o.name.clone()),
            "reason" => c
                .ratings
                .reasons
                .iter()
                .find(|r| r.code == key)
                .map(|r| r.vi.clone()),
            _ => None,
        }
        .unwrap_or_default()
    }
}

async fn report_json(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<DayQuery>,
) -> Result<Json<Value>, ApiError> {
    authorize_report(&state, &headers)?;
    let r = build_report(&state, q).await?;
    let name = namer(&state);
    let names = |group: &str, keys: Vec<String>| -> BTreeMap<String, String> {
        keys.into_iter()
            .map(|k| {
                let v = name(group, &k);
                (k, v)
            })
            .collect()
    };
    let names = json!({
        "services": names("service", r.services.keys().cloned().collect()),
        "counters": names("counter", r.counters.keys().map(u16::to_string).collect()),
        "officers": names("officer", r.officers.keys().cloned().collect()),
        "reasons": names("reason", r.total.ratings.reasons.keys().cloned().collect()),
    });
    let c = &state.config;
    Ok(Json(json!({
        "site": {"id": c.site.id, "name": c.site.name},
        "report": r,
        "names": names,
    })))
}

async fn report_csv(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<DayQuery>,
) -> Result<Response, ApiError> {
    authorize_report(&state, &headers)?;
    let r = build_report(&state, q).await?;
    let body = crate::report::csv::render(&r, namer(&state));
    let disposition = format!(
        "attachment; filename=\"layso-{}-{}.csv\"",
        state.config.site.id, r.day
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// The report names officers: the admin, or the center's head at their counter.
fn authorize_report(state: &Shared, headers: &HeaderMap) -> Result<(), ApiError> {
    if let Some(head) = state.config.ratings.head_counter {
        if authorize_counter(state, headers, head).is_ok() {
            return Ok(());
        }
    }
    authorize_admin(state, headers)
}

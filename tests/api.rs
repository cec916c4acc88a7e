//! The HTTP API in process: the happy path and every documented error.

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode};
use layso::engine::{self, Options, SystemClock};
use layso::web::{self, ratelimit::RateLimiter, AppState};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

struct Api {
    router: axum::Router,
    _dir: tempfile::TempDir,
}

fn api(peer: [u8; 4], extra: &str) -> Api {
    let dir = tempfile::tempdir().expect("tmp");
    let text = include_str!("../config/dev.toml").to_string() + extra;
    let mut config = layso::config::parse(&text, "dev.toml", None).expect("dev config");
    config.store.path = dir.path().join("store");
    let config = Arc::new(config);
    let (log, report) =
        layso::log::EventLog::open(&config.store.path, &config.site.id, 0).expect("store");
    let opts = Options {
        clock: Box::new(SystemClock),
        watchdog: None,
        stall_after: None,
        quota_bytes: None,
    };
    let handle = engine::start(config.clone(), log, report, opts).expect("engine");
    let (_tx, rx) = tokio::sync::watch::channel(None);
    let state = Arc::new(AppState {
        handle,
        config: config.clone(),
        started_at: 0,
        rate: Mutex::new(RateLimiter::new(config.web.kiosk_rate_per_minute)),
        uplink: rx,
        reprint: None,
    });
    let router = web::router(state).layer(MockConnectInfo(SocketAddr::from((peer, 40000))));
    Api { router, _dir: dir }
}

impl Api {
    async fn call(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: &str,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(a) = auth {
            req = req.header("authorization", format!("Bearer {a}"));
        }
        let req = req
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .expect("request");
        let resp = self.router.clone().oneshot(req).await.expect("response");
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .expect("body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

fn assert_error(got: &(StatusCode, Value), status: u16, code: &str) {
    assert_eq!(got.0.as_u16(), status, "{}", got.1);
    assert_eq!(got.1["error"], code, "{}", got.1);
    assert!(
        got.1["message_vi"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        got.1
    );
    assert!(
        got.1["message_en"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        got.1
    );
}

#[tokio::test]
async fn happy_path() {
    let a = api([127, 0, 0, 1], "");
    let (s, v) = a
        .call(
            "POST",
            "/api/v1/tickets",
            None,
            r#"{"service":"A","priority":false}"#,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["ticket"]["ticket"], "A001");
    assert_eq!(v["ticket"]["waiting_ahead"], 0);
    assert_eq!(v["printer"]["state"], "none");
    let (_, v) = a
        .call("POST", "/api/v1/tickets", None, r#"{"service":"A"}"#)
        .await;
    assert_eq!(v["ticket"]["waiting_ahead"], 1);
    let (s, v) = a
        .call("POST", "/api/v1/counters/1/next", Some("counter1-dev"), "")
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["current"]["ticket"], "A001");
    let (s, v) = a
        .call(
            "POST",
            "/api/v1/counters/1/recall",
            Some("counter1-dev"),
            "",
        )
        .await;
    assert_eq!(
        (s, v["current"]["recall"].clone()),
        (StatusCode::OK, json!(1))
    );
    let (s, v) = a
        .call(
            "POST",
            "/api/v1/counters/1/transfer",
            Some("counter1-dev"),
            r#"{"service":"C"}"#,
        )
        .await;
    assert_eq!((s, v["current"].clone()), (StatusCode::OK, Value::Null));
    let (_, v) = a
        .call("POST", "/api/v1/counters/3/next", Some("admin-dev"), "")
        .await;
    assert_eq!(
        v["current"]["ticket"], "A001",
        "admin may act for any counter; transfer kept the ticket"
    );
    let (s, _) = a
        .call(
            "POST",
            "/api/v1/counters/3/complete",
            Some("counter3-dev"),
            "",
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = a.call("GET", "/api/v1/state", None, "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["services"][0]["waiting"], 1);
    assert_eq!(v["counters"][2]["served_today"], 1);
    assert_eq!(v["last_calls"][0]["ticket"], "A001");
    assert_eq!(v["store"]["ok"], true);
    let (s, _) = a
        .call("GET", "/api/v1/counters/2/whoami", Some("counter2-dev"), "")
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = a
        .call("GET", "/api/v1/admin/whoami", Some("admin-dev"), "")
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn documented_errors() {
    let a = api([127, 0, 0, 1], "");
    let t = "/api/v1/tickets";
    assert_error(
        &a.call("POST", t, None, r#"{"service":"Z"}"#).await,
        404,
        "unknown_service",
    );
    assert_error(
        &a.call("POST", t, None, r#"{"service":"A""#).await,
        400,
        "bad_request",
    );
    assert_error(
        &a.call("POST", t, None, r#"{"service":"A","colour":1}"#)
            .await,
        400,
        "bad_request",
    );
    assert_error(
        &a.call("POST", t, None, r#"{"service":7}"#).await,
        400,
        "bad_request",
    );
    let big = format!(r#"{{"service":"{}"}}"#, "A".repeat(10_000));
    assert_error(
        &a.call("POST", t, None, &big).await,
        413,
        "payload_too_large",
    );
    let n = "/api/v1/counters/1/next";
    assert_error(&a.call("POST", n, None, "").await, 401, "unauthorized");
    assert_error(
        &a.call("POST", n, Some("counter2-dev"), "").await,
        403,
        "forbidden",
    );
    assert_error(
        &a.call("POST", "/api/v1/counters/9/next", Some("counter1-dev"), "")
            .await,
        403,
        "forbidden",
    );
    assert_error(
        &a.call("POST", "/api/v1/counters/9/next", Some("admin-dev"), "")
            .await,
        404,
        "unknown_counter",
    );
    assert_error(
        &a.call("POST", "/api/v1/counters/x/next", Some("counter1-dev"), "")
            .await,
        400,
        "bad_request",
    );
    assert_error(
        &a.call("POST", "/api/v1/counters/1/dance", Some("counter1-dev"), "")
            .await,
        404,
        "not_found",
    );
    let empty = a.call("POST", n, Some("counter1-dev"), "").await;
    assert_error(&empty, 409, "empty_queue");
    assert!(empty.1["message_vi"]
        .as_str()
        .unwrap_or("")
        .contains("Không có khách đang chờ"));
    assert_error(
        &a.call(
            "POST",
            "/api/v1/counters/1/recall",
            Some("counter1-dev"),
            "",
        )
        .await,
        409,
        "no_current_ticket",
    );
    assert_error(
        &a.call(
            "POST",
            "/api/v1/counters/1/transfer",
            Some("counter1-dev"),
            "{}",
        )
        .await,
        400,
        "bad_request",
    );
    a.call("POST", "/api/v1/counters/1/pause", Some("counter1-dev"), "")
        .await;
    a.call("POST", t, None, r#"{"service":"A"}"#).await;
    assert_error(
        &a.call("POST", n, Some("counter1-dev"), "").await,
        409,
        "counter_paused",
    );
    assert_error(
        &a.call("GET", "/api/v1/admin/whoami", Some("counter1-dev"), "")
            .await,
        403,
        "forbidden",
    );
    assert_error(
        &a.call("GET", "/api/v1/nothing", None, "").await,
        404,
        "not_found",
    );
    assert_error(
        &a.call("POST", "/api/v1/printer/reprint-last", None, "")
            .await,
        409,
        "no_printer",
    );
}

#[tokio::test]
async fn kiosk_rate_limit_per_address_but_not_loopback() {
    let remote = api([192, 0, 2, 10], "");
    let mut codes = Vec::new();
    for _ in 0..31 {
        codes.push(
            remote
                .call("POST", "/api/v1/tickets", None, r#"{"service":"B"}"#)
                .await,
        );
    }
    assert!(codes[..30].iter().all(|c| c.0 == StatusCode::CREATED));
    assert_error(&codes[30], 429, "rate_limited");
    let local = api([127, 0, 0, 1], "");
    for _ in 0..40 {
        let (s, _) = local
            .call("POST", "/api/v1/tickets", None, r#"{"service":"B"}"#)
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
}

/// Read your own writes: once a command is answered, `/api/v1/state` already shows it,
/// whoever else is writing at the same time. (The view used to be published after the
/// replies, so a quick reader saw the state before its own command now and then.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn state_shows_a_command_once_it_is_answered() {
    let a = Arc::new(api([127, 0, 0, 1], ""));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let a = a.clone();
        tasks.push(tokio::spawn(async move {
            let mut stale = Vec::new();
            for _ in 0..60 {
                let (s, v) = a
                    .call("POST", "/api/v1/tickets", None, r#"{"service":"B"}"#)
                    .await;
                assert_eq!(s, StatusCode::CREATED, "{v}");
                let seq = v["ticket"]["seq"].as_u64().unwrap_or(u64::MAX);
                let (_, st) = a.call("GET", "/api/v1/state", None, "").await;
                let shown = st["store"]["last_seq"].as_u64().unwrap_or(0);
                if shown < seq {
                    stale.push((seq, shown));
                }
            }
            stale
        }));
    }
    for t in tasks {
        let stale = t.await.expect("task");
        assert!(
            stale.is_empty(),
            "answered, then read a state without it (seq, shown): {stale:?}"
        );
    }
}

//! The HTTP API in process: the happy path and every documented error.

#[macro_use]
#[path = "support/api.rs"]
mod api;

use api::{assert_error, Api, Setup};
use axum::http::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;

fn api(peer: [u8; 4]) -> Api {
    Api::start(Setup {
        peer,
        ..Setup::default()
    })
}

#[tokio::test]
async fn happy_path() {
    let a = api([127, 0, 0, 1]);
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
    let a = api([127, 0, 0, 1]);
    let t = "/api/v1/tickets";
    let big = format!(r#"{{"service":"{}"}}"#, "A".repeat(10_000));
    a.assert_refused(&rows! {
        "POST", t, None, r#"{"service":"Z"}"#, 404, "unknown_service";
        "POST", t, None, r#"{"service":"A""#, 400, "bad_request";
        "POST", t, None, r#"{"service":"A","colour":1}"#, 400, "bad_request";
        "POST", t, None, r#"{"service":7}"#, 400, "bad_request";
        "POST", t, None, &big, 413, "payload_too_large";
    })
    .await;
    let n = "/api/v1/counters/1/next";
    a.assert_refused(&rows! {
        "POST", n, None, "", 401, "unauthorized";
        "POST", n, Some("counter2-dev"), "", 403, "forbidden";
        "POST", "/api/v1/counters/9/next", Some("counter1-dev"), "", 403, "forbidden";
        "POST", "/api/v1/counters/9/next", Some("admin-dev"), "", 404, "unknown_counter";
        "POST", "/api/v1/counters/x/next", Some("counter1-dev"), "", 400, "bad_request";
        "POST", "/api/v1/counters/1/dance", Some("counter1-dev"), "", 404, "not_found";
    })
    .await;
    let empty = a.call("POST", n, Some("counter1-dev"), "").await;
    assert_error(&empty, 409, "empty_queue");
    assert!(empty.1["message_vi"]
        .as_str()
        .unwrap_or("")
        .contains("Không có khách đang chờ"));
    a.assert_refused(&rows! {
        "POST", "/api/v1/counters/1/recall", Some("counter1-dev"), "", 409, "no_current_ticket";
        "POST", "/api/v1/counters/1/transfer", Some("counter1-dev"), "{}", 400, "bad_request";
    })
    .await;
    a.call("POST", "/api/v1/counters/1/pause", Some("counter1-dev"), "")
        .await;
    a.call("POST", t, None, r#"{"service":"A"}"#).await;
    a.assert_refused(&rows! {
        "POST", n, Some("counter1-dev"), "", 409, "counter_paused";
        "GET", "/api/v1/admin/whoami", Some("counter1-dev"), "", 403, "forbidden";
        "GET", "/api/v1/nothing", None, "", 404, "not_found";
        "POST", "/api/v1/printer/reprint-last", None, "", 409, "no_printer";
    })
    .await;
}

#[tokio::test]
async fn kiosk_rate_limit_per_address_but_not_loopback() {
    let remote = api([192, 0, 2, 10]);
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
    let local = api([127, 0, 0, 1]);
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
    let a = Arc::new(api([127, 0, 0, 1]));
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

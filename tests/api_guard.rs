//! The HTTP API's guards, in process: cross-site and non-JSON requests are refused, every
//! error (axum's own rejections too) has the documented JSON body, counters are not
//! enumerable without a credential, and the kiosk's print outcome and single-use reprint.

#[macro_use]
#[path = "support/api.rs"]
mod api;

use api::{assert_error, Api, Setup};
use axum::http::StatusCode;
use layso::web::printing::PrintDesk;
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::mpsc;

fn api(reprint: Option<Arc<PrintDesk>>) -> Guarded {
    Guarded(Api::start(Setup {
        reprint,
        ..Setup::default()
    }))
}

/// The in-process API with the guards' own requests: a Host header as a browser sends,
/// these headers and nothing else; a body that is not JSON comes back as a string saying so.
struct Guarded(Api);

impl std::ops::Deref for Guarded {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.0
    }
}

/// A request (method, path, headers, body) and the status and error code it must get.
type SentRefused<'a> = (
    &'a str,
    &'a str,
    &'a [(&'a str, &'a str)],
    &'a str,
    u16,
    &'a str,
);

/// A request (method, path, headers, body) and the success status it must get.
type SentAccepted<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a str, u16);

impl Guarded {
    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (StatusCode, Value) {
        let mut all = vec![("host", "127.0.0.1:8080")];
        all.extend_from_slice(headers);
        let (status, ct, bytes) = self.request(method, path, &all, body).await;
        let v = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            Value::String(format!(
                "not JSON ({ct}): {}",
                String::from_utf8_lossy(&bytes)
            ))
        });
        (status, v)
    }

    async fn waiting(&self) -> u64 {
        let (_, v) = self.send("GET", "/api/v1/state", &[], "").await;
        v["services"][0]["waiting"].as_u64().unwrap_or(u64::MAX)
    }

    /// Sends the rows in order; each must get the documented error body.
    async fn assert_sent_refused(&self, rows: &[SentRefused<'_>]) {
        for &(method, path, headers, body, status, code) in rows {
            assert_error(&self.send(method, path, headers, body).await, status, code);
        }
    }
}

const JSON: (&str, &str) = ("content-type", "application/json");

#[tokio::test]
async fn cross_site_and_non_json_requests_change_nothing() {
    let a = api(None);
    let t = "/api/v1/tickets";
    let body = r#"{"service":"A"}"#;
    // A form or a text/plain fetch from another page.
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        a.assert_sent_refused(&rows! {
            "POST", t, &[("content-type", ct)], body, 415, "unsupported_media_type";
        })
        .await;
    }
    a.assert_sent_refused(&rows! {
        "POST", t, &[], body, 415, "unsupported_media_type";
        "POST", t, &[JSON, ("origin", "http://evil.example")], body, 403, "cross_site";
        "POST", t, &[JSON, ("origin", "null")], body, 403, "cross_site";
    })
    .await;
    for site in ["cross-site", "same-site"] {
        a.assert_sent_refused(&rows! {
            "POST", t, &[JSON, ("sec-fetch-site", site)], body, 403, "cross_site";
        })
        .await;
    }
    // Counter actions and reprints are guarded the same way.
    let counter_from_evil = [
        ("authorization", "Bearer counter1-dev"),
        ("origin", "http://evil.example"),
    ];
    let text_plain = [("content-type", "text/plain")];
    a.assert_sent_refused(&rows! {
        "POST", "/api/v1/counters/1/next", &counter_from_evil, "", 403, "cross_site";
        "POST", "/api/v1/printer/reprint-last", &text_plain, r#"{"token":"x"}"#, 415, "unsupported_media_type";
    })
    .await;
    assert_eq!(a.waiting().await, 0, "nothing was issued");
    // The daemon's own pages: same origin, JSON.
    let own = [
        JSON,
        ("origin", "http://127.0.0.1:8080"),
        ("sec-fetch-site", "same-origin"),
    ];
    let charset = [("content-type", "application/json; charset=utf-8")];
    let accepted: [SentAccepted; 4] = rows! {
        "POST", t, &own, body, 201;
        "POST", t, &charset, body, 201;
        // Reads stay open to everyone (displays, status).
        "GET", "/api/v1/state", &[("origin", "http://evil.example")], "", 200;
        // A counter action without a body needs no Content-Type.
        "POST", "/api/v1/counters/1/next", &[("authorization", "Bearer counter1-dev")], "", 200;
    };
    for (method, path, headers, body, status) in accepted {
        let (s, v) = a.send(method, path, headers, body).await;
        assert_eq!(s, status, "{method} {path}: {v}");
    }
}

#[tokio::test]
async fn every_error_has_the_json_body() {
    let a = api(None);
    // 405 on a known path, with the Allow header kept.
    a.assert_sent_refused(&rows! {
        "GET", "/api/v1/tickets", &[], "", 405, "method_not_allowed";
        "DELETE", "/api/v1/state", &[], "", 405, "method_not_allowed";
        // Unknown routes.
        "GET", "/nope", &[], "", 404, "not_found";
        "POST", "/api/v1/nope", &[JSON], "{}", 404, "not_found";
        // Bad query strings.
        "GET", "/api/v1/events?after=abc", &[], "", 400, "bad_request";
        "GET", "/api/v1/events?colour=red", &[], "", 400, "bad_request";
    })
    .await;
    // Bad path segments (with a credential; without one it is 401 first).
    let auth = ("authorization", "Bearer counter1-dev");
    a.assert_sent_refused(&rows! {
        "GET", "/api/v1/counters/x/whoami", &[auth], "", 400, "bad_request";
        "GET", "/api/v1/counters/99999999/whoami", &[auth], "", 400, "bad_request";
        "POST", "/api/v1/counters/%FF/next", &[auth], "", 400, "bad_request";
    })
    .await;
    // Bodies over the limit, on every kind of handler.
    let big = "x".repeat(a.config.web.max_body_bytes + 1);
    a.assert_sent_refused(&rows! {
        "POST", "/api/v1/counters/1/transfer", &[auth, JSON], &big, 413, "payload_too_large";
        "POST", "/api/v1/tickets", &[JSON], &big, 413, "payload_too_large";
        "POST", "/api/v1/printer/reprint-last", &[JSON], &big, 413, "payload_too_large";
        // Bad JSON.
        "POST", "/api/v1/tickets", &[JSON], "{", 400, "bad_request";
    })
    .await;
}

#[tokio::test]
async fn counters_are_not_enumerable_without_a_credential() {
    let a = api(None);
    // Without a credential: 401 for a counter that does not exist (9), one that does (1) and
    // a path that is not a counter number (x) alike.
    for (method, action) in [("GET", "whoami"), ("POST", "next")] {
        for counter in ["9", "1", "x"] {
            let path = format!("/api/v1/counters/{counter}/{action}");
            assert_error(&a.send(method, &path, &[], "").await, 401, "unauthorized");
        }
    }
    // A wrong credential: the same 403 whether the counter exists or not.
    let wrong = ("authorization", "Bearer not-a-credential");
    let known = a
        .send("POST", "/api/v1/counters/1/next", &[wrong], "")
        .await;
    let unknown = a
        .send("POST", "/api/v1/counters/9/next", &[wrong], "")
        .await;
    assert_error(&known, 403, "forbidden");
    assert_error(&unknown, 403, "forbidden");
    // Only the admin learns that a counter does not exist.
    assert_error(
        &a.send(
            "GET",
            "/api/v1/counters/9/whoami",
            &[("authorization", "Bearer admin-dev")],
            "",
        )
        .await,
        404,
        "unknown_counter",
    );
}

/// Feeds the desk from the engine, as the daemon's printer feed does.
fn feed(a: &Api, desk: Arc<PrintDesk>) {
    let mut rx = a.handle.subscribe();
    let config = a.config.clone();
    tokio::spawn(async move {
        while let Ok(e) = rx.recv().await {
            desk.feed(&config, &e);
        }
    });
}

#[tokio::test]
async fn kiosk_is_told_when_the_ticket_was_not_printed_and_reprints_once() {
    let (tx, mut jobs) = mpsc::channel(1);
    let desk = Arc::new(PrintDesk::new(tx));
    let a = api(Some(desk.clone()));
    feed(&a, desk);
    let t = "/api/v1/tickets";
    let body = r#"{"service":"A"}"#;
    let (s, first) = a.send("POST", t, &[JSON], body).await;
    assert_eq!(s, 201, "{first}");
    assert_eq!(first["print"]["queued"], true, "{first}");
    // The printer's queue (of one here) is full: the number is valid, not printed.
    let (s, second) = a.send("POST", t, &[JSON], body).await;
    assert_eq!(s, 201, "{second}");
    assert_eq!(second["ticket"]["ticket"], "A002");
    assert_eq!(second["print"]["queued"], false, "{second}");
    assert!(
        second["print"]["message_vi"]
            .as_str()
            .is_some_and(|m| m.contains("chưa được in") && m.contains("giữ chỗ")),
        "{second}"
    );
    assert_eq!(a.waiting().await, 2, "both numbers hold their place");
    assert_eq!(jobs.recv().await.map(|j| j.ticket), Some("A001".into()));

    // The kiosk reprints A002 with its token, once.
    let token = second["reprint_token"].as_str().unwrap_or("").to_string();
    assert_eq!(token.len(), 32, "{second}");
    let r = "/api/v1/printer/reprint-last";
    let ask = format!(r#"{{"token":"{token}"}}"#);
    let (s, v) = a.send("POST", r, &[JSON], &ask).await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(v["ticket"], "A002");
    assert_eq!(jobs.recv().await.map(|j| j.ticket), Some("A002".into()));
    a.assert_sent_refused(&rows! {
        "POST", r, &[JSON], &ask, 409, "reprint_used";
        // No token, a guessed one, or another page: refused.
        "POST", r, &[JSON], "", 400, "bad_request";
    })
    .await;
    assert_error(
        &a.send(
            "POST",
            r,
            &[JSON],
            r#"{"token":"00000000000000000000000000000000"}"#,
        )
        .await,
        403,
        "reprint_refused",
    );
    let other = first["reprint_token"].as_str().unwrap_or("").to_string();
    assert_error(
        &a.send(
            "POST",
            r,
            &[JSON, ("origin", "http://evil.example")],
            &format!(r#"{{"token":"{other}"}}"#),
        )
        .await,
        403,
        "cross_site",
    );
}

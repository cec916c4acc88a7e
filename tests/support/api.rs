//! In-process API harness: the dev config (plus extra TOML) on a store of the test's
//! choosing, a real engine, and the real router behind a mocked peer address; requests go
//! through `tower::ServiceExt::oneshot`, no socket. Include with
//! `#[macro_use] #[path = "support/api.rs"] mod api;`.
#![allow(dead_code)]

/// A table literal, one row a line: `rows! { a, b, c; d, e, f; }` is `[(a, b, c), (d, e, f)]`
/// (rustfmt leaves a braced macro alone, so each row stays on its line).
#[allow(unused_macros)]
macro_rules! rows {
    ($($($col:expr),+;)*) => {
        [$(($($col),+)),*]
    };
}

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode};
use layso::config::Config;
use layso::engine::{self, Handle, Options, SystemClock};
use layso::web::printing::PrintDesk;
use layso::web::{self, ratelimit::RateLimiter, AppState};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

/// `config/dev.toml` with `extra` appended, parsed, its store moved to `store`.
pub fn dev_config(extra: &str, store: &Path) -> Arc<Config> {
    let text = include_str!("../../config/dev.toml").to_string() + extra;
    let mut config = layso::config::parse(&text, "dev.toml", None).expect("dev config");
    config.store.path = store.to_path_buf();
    Arc::new(config)
}

/// Opens the config's store and starts the real engine on the system clock, with no
/// watchdog, stall detection or quota.
pub fn start_engine(config: &Arc<Config>) -> Handle {
    let (log, report) =
        layso::log::EventLog::open(&config.store.path, &config.site.id, 0).expect("store");
    let opts = Options {
        clock: Box::new(SystemClock),
        watchdog: None,
        stall_after: None,
        quota_bytes: None,
    };
    engine::start(config.clone(), log, report, opts).expect("engine")
}

/// What differs between the API tests' set-ups.
pub struct Setup {
    /// TOML appended to `config/dev.toml`.
    pub extra: &'static str,
    /// The store; a fresh temp dir (owned by the `Api`) when `None`.
    pub store: Option<PathBuf>,
    /// The address every request seems to come from.
    pub peer: [u8; 4],
    /// Kiosk requests a minute per address; the config's `web.kiosk_rate_per_minute`
    /// when `None`.
    pub rate_per_minute: Option<u32>,
    /// The printer's reprint desk, when the test has one.
    pub reprint: Option<Arc<PrintDesk>>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            extra: "",
            store: None,
            peer: [127, 0, 0, 1],
            rate_per_minute: None,
            reprint: None,
        }
    }
}

pub struct Api {
    pub router: axum::Router,
    pub handle: Handle,
    pub config: Arc<Config>,
    _dir: Option<tempfile::TempDir>,
}

/// The API on the dev config with a fresh store, from 127.0.0.1.
pub fn api() -> Api {
    Api::start(Setup::default())
}

impl Api {
    pub fn start(setup: Setup) -> Api {
        let (dir, store) = match setup.store {
            Some(store) => (None, store),
            None => {
                let dir = tempfile::tempdir().expect("tmp");
                let store = dir.path().join("store");
                (Some(dir), store)
            }
        };
        let config = dev_config(setup.extra, &store);
        let handle = start_engine(&config);
        let (_tx, rx) = tokio::sync::watch::channel(None);
        let rate = setup
            .rate_per_minute
            .unwrap_or(config.web.kiosk_rate_per_minute);
        let state = Arc::new(AppState {
            handle: handle.clone(),
            config: config.clone(),
            started_at: 0,
            rate: Mutex::new(RateLimiter::new(rate)),
            uplink: rx,
            reprint: setup.reprint,
        });
        let peer = SocketAddr::from((setup.peer, 40000));
        let router = web::router(state).layer(MockConnectInfo(peer));
        Api {
            router,
            handle,
            config,
            _dir: dir,
        }
    }

    /// One request with exactly these headers: status, content type and body.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (StatusCode, String, Vec<u8>) {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Body::from(body.to_string())).expect("request");
        let resp = self.router.clone().oneshot(req).await.expect("response");
        let status = resp.status();
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, ctype, bytes.to_vec())
    }

    /// A JSON request with an optional bearer credential: status, content type and the
    /// body as text.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: &str,
    ) -> (StatusCode, String, String) {
        let bearer = auth.map(|a| format!("Bearer {a}"));
        let mut headers = Vec::new();
        if let Some(b) = &bearer {
            headers.push(("authorization", b.as_str()));
        }
        headers.push(("content-type", "application/json"));
        let (s, ctype, bytes) = self.request(method, path, &headers, body).await;
        (s, ctype, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// As `raw`, the body parsed as JSON (`Null` when it is not JSON).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: &str,
    ) -> (StatusCode, Value) {
        let (s, _, b) = self.raw(method, path, auth, body).await;
        (s, serde_json::from_str(&b).unwrap_or(Value::Null))
    }
}

/// The documented error body: this status, this code, and a message in both languages.
#[track_caller]
pub fn assert_error(got: &(StatusCode, Value), status: u16, code: &str) {
    assert_error_in("", got, status, code);
}

/// As [`assert_error`], a failure prefixed with `context`.
#[track_caller]
fn assert_error_in(context: &str, got: &(StatusCode, Value), status: u16, code: &str) {
    assert_eq!(got.0.as_u16(), status, "{context}{}", got.1);
    assert_eq!(got.1["error"], code, "{context}{}", got.1);
    for k in ["message_vi", "message_en"] {
        assert!(
            got.1[k].as_str().is_some_and(|m| !m.is_empty()),
            "{context}{k} missing: {}",
            got.1
        );
    }
}

/// A request the table expects to be refused: method, path, credential, body, and the
/// status and error code it must answer.
pub type Refused<'a> = (&'a str, &'a str, Option<&'a str>, &'a str, u16, &'a str);

impl Api {
    /// Sends the rows in order; each must be refused with its status, its code and a
    /// message in both languages. A failure names the row.
    pub async fn assert_refused(&self, rows: &[Refused<'_>]) {
        for (i, &(method, path, auth, body, status, code)) in rows.iter().enumerate() {
            let got = self.call(method, path, auth, body).await;
            let row = format!("row {i}: {method} {path} {body}: ");
            assert_error_in(&row, &got, status, code);
        }
    }
}

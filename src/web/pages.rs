//! The pages people use (kiosk, counter, hall display, status), embedded in the binary.

use super::Shared;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// Every asset, by name: (file name, content type, bytes).
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "kiosk.html",
        "text/html; charset=utf-8",
        include_bytes!("assets/kiosk.html"),
    ),
    (
        "counter.html",
        "text/html; charset=utf-8",
        include_bytes!("assets/counter.html"),
    ),
    (
        "display.html",
        "text/html; charset=utf-8",
        include_bytes!("assets/display.html"),
    ),
    (
        "status.html",
        "text/html; charset=utf-8",
        include_bytes!("assets/status.html"),
    ),
    (
        "common.css",
        "text/css; charset=utf-8",
        include_bytes!("assets/common.css"),
    ),
    (
        "kiosk.css",
        "text/css; charset=utf-8",
        include_bytes!("assets/kiosk.css"),
    ),
    (
        "counter.css",
        "text/css; charset=utf-8",
        include_bytes!("assets/counter.css"),
    ),
    (
        "display.css",
        "text/css; charset=utf-8",
        include_bytes!("assets/display.css"),
    ),
    (
        "status.css",
        "text/css; charset=utf-8",
        include_bytes!("assets/status.css"),
    ),
    (
        "common.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/common.js"),
    ),
    (
        "kiosk.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/kiosk.js"),
    ),
    (
        "counter.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/counter.js"),
    ),
    (
        "display.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/display.js"),
    ),
    (
        "status.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/status.js"),
    ),
];

fn asset(name: &str) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, ctype, body)) => (
            [
                (header::CONTENT_TYPE, *ctype),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/",
            get(|| async { axum::response::Redirect::to("/kiosk") }),
        )
        .route("/kiosk", get(|| async { asset("kiosk.html") }))
        .route(
            "/counter/{n}",
            get(|_: Path<String>| async { asset("counter.html") }),
        )
        .route("/display", get(|| async { asset("display.html") }))
        .route("/status", get(|| async { asset("status.html") }))
        .route(
            "/assets/{file}",
            get(|Path(f): Path<String>| async move { asset(&f) }),
        )
}

//! The rating tablet page (`/rate/{counter}`), the printable daily report (`/report`),
//! and the scripts that add officers and unsatisfied alerts to the counter and status
//! pages; embedded in the binary.

use super::Shared;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

fn page(ctype: &'static str, body: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/rate/{n}",
            get(|_: Path<String>| async { page(HTML, include_bytes!("assets/rate.html")) }),
        )
        .route(
            "/report",
            get(|| async { page(HTML, include_bytes!("assets/report.html")) }),
        )
        .route(
            "/assets/rate.css",
            get(|| async { page(CSS, include_bytes!("assets/rate.css")) }),
        )
        .route(
            "/assets/rate.js",
            get(|| async { page(JS, include_bytes!("assets/rate.js")) }),
        )
        .route(
            "/assets/report.css",
            get(|| async { page(CSS, include_bytes!("assets/report.css")) }),
        )
        .route(
            "/assets/report.js",
            get(|| async { page(JS, include_bytes!("assets/report.js")) }),
        )
        .route(
            "/assets/officer.js",
            get(|| async { page(JS, include_bytes!("assets/officer.js")) }),
        )
        .route(
            "/assets/ratings-alerts.js",
            get(|| async { page(JS, include_bytes!("assets/ratings-alerts.js")) }),
        )
}

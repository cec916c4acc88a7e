//! The pages people use (kiosk, counter, hall display, status, rating tablet, daily report)
//! and their styles and scripts, embedded in the binary: each page's own body markup
//! (`assets/<page>.html`) inside the one head and foot every page shares.

use super::Shared;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The viewport of every page but the kiosk's.
macro_rules! viewport {
    () => {
        "width=device-width, initial-scale=1"
    };
}

/// A whole page as (file name, markup), built at compile time: the shared head (charset,
/// viewport, title, `common.css` and the page's own `<page>.css`), `<body class="<page>">`,
/// the page's body markup from `assets/<page>.html`, then `common.js`, `<page>.js` and any
/// further scripts.
macro_rules! page {
    ($page:literal, $title:literal, viewport: $viewport:expr, scripts: [$($js:literal),*]) => {
        (concat!($page, ".html"), concat!(
            "<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n",
            "<meta name=\"viewport\" content=\"", $viewport, "\">\n",
            "<title>", $title, "</title>\n",
            "<link rel=\"stylesheet\" href=\"/assets/common.css\">\n",
            "<link rel=\"stylesheet\" href=\"/assets/", $page, ".css\">\n",
            "</head>\n<body class=\"", $page, "\">\n",
            include_str!(concat!("assets/", $page, ".html")),
            "<script src=\"/assets/common.js\"></script>\n",
            "<script src=\"/assets/", $page, ".js\"></script>\n",
            $("<script src=\"/assets/", $js, "\"></script>\n",)*
            "</body>\n</html>\n"
        ))
    };
    ($page:literal, $title:literal, scripts: [$($js:literal),*]) => {
        page!($page, $title, viewport: viewport!(), scripts: [$($js),*])
    };
}

/// The pages by file name, also served whole at `/assets/<page>.html`.
const PAGES: &[(&str, &str)] = &[
    page!(
        "kiosk",
        "Lấy số thứ tự",
        viewport: concat!(viewport!(), ", maximum-scale=1, user-scalable=no"),
        scripts: []
    ),
    page!("counter", "Quầy giao dịch", scripts: ["officer.js"]),
    page!("display", "Màn hình gọi số", scripts: []),
    page!("status", "Trạng thái hệ thống", scripts: ["ratings-alerts.js"]),
    page!("rate", "Đánh giá sự hài lòng", scripts: []),
    page!("report", "Báo cáo ngày", scripts: []),
];

/// The files under `assets/` served as they are, by name.
macro_rules! files {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_bytes!(concat!("assets/", $name)))),*]
    };
}

/// Every stylesheet and script.
const FILES: &[(&str, &[u8])] = files![
    "common.css",
    "kiosk.css",
    "counter.css",
    "display.css",
    "status.css",
    "rate.css",
    "report.css",
    "common.js",
    "kiosk.js",
    "counter.js",
    "display.js",
    "status.js",
    "rate.js",
    "report.js",
    "officer.js",
    "ratings-alerts.js",
];

/// The content type of an asset, from its name's ending (None: not an asset kind we serve).
fn content_type(name: &str) -> Option<&'static str> {
    match name.rsplit_once('.')?.1 {
        "html" => Some("text/html; charset=utf-8"),
        "css" => Some("text/css; charset=utf-8"),
        "js" => Some("text/javascript; charset=utf-8"),
        _ => None,
    }
}

fn body(name: &str) -> Option<&'static [u8]> {
    let page = PAGES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| p.as_bytes());
    page.or_else(|| FILES.iter().find(|(n, _)| *n == name).map(|(_, b)| *b))
}

fn asset(name: &str) -> Response {
    match (body(name), content_type(name)) {
        (Some(body), Some(ctype)) => (
            [
                (header::CONTENT_TYPE, ctype),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            body,
        )
            .into_response(),
        _ => (StatusCode::NOT_FOUND, "no such asset").into_response(),
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
            "/rate/{n}",
            get(|_: Path<String>| async { asset("rate.html") }),
        )
        .route("/report", get(|| async { asset("report.html") }))
        .route(
            "/assets/{file}",
            get(|Path(f): Path<String>| async move { asset(&f) }),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_content_type() {
        for name in PAGES.iter().map(|p| p.0).chain(FILES.iter().map(|f| f.0)) {
            assert!(content_type(name).is_some(), "{name} has no content type");
        }
        assert_eq!(content_type("kiosk.png"), None);
        assert_eq!(content_type("kiosk"), None);
    }

    #[test]
    fn every_page_is_whole_and_loads_only_served_files() {
        for (name, page) in PAGES {
            let stem = name.trim_end_matches(".html");
            assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n"));
            assert!(page.ends_with("</body>\n</html>\n"), "{name}");
            assert!(page.contains(&format!("<body class=\"{stem}\">\n<!-- The body of /")));
            assert_eq!(page.matches("<head>").count(), 1, "{name}");
            assert_eq!(page.matches("<body").count(), 1, "{name}");
            for part in page.split("/assets/").skip(1) {
                let file = part.split('"').next().unwrap_or_default();
                assert!(
                    body(file).is_some(),
                    "{name} loads {file}, which is not served"
                );
            }
        }
        assert!(
            body("kiosk.html").is_some_and(|p| p.windows(17).any(|w| w == b"user-scalable=no\""))
        );
    }
}

//! Request guards in front of every route: state-changing requests must be same-origin
//! (no web page elsewhere can issue tickets or reprints) and carry JSON; and every error
//! answer, axum's own rejections included, has the documented JSON error body.

use super::ApiError;
use axum::extract::Request;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, ORIGIN, TRANSFER_ENCODING};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Refuse cross-site browser requests (403) and non-JSON bodies (415) on anything that
/// is not a read (GET, HEAD, OPTIONS). Clients without `Origin`/`Sec-Fetch-Site`
/// (curl, scripts, the daemon's own devices) are not browsers being tricked and pass.
pub(crate) async fn same_origin_json(req: Request, next: Next) -> Response {
    let m = req.method();
    if m == Method::GET || m == Method::HEAD || m == Method::OPTIONS {
        return next.run(req).await;
    }
    let has_body = !hyper::body::Body::is_end_stream(req.body());
    if let Err(e) = check(req.headers(), has_body) {
        return e.into_response();
    }
    next.run(req).await
}

fn check(h: &HeaderMap, has_body: bool) -> Result<(), ApiError> {
    if let Some(site) = h.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("");
        if !matches!(site, "same-origin" | "none") {
            return Err(cross_site(format!(
                "Sec-Fetch-Site: {site}; only the daemon's own pages (same-origin) may change anything"
            )));
        }
    }
    if let Some(origin) = h.get(ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let host = h.get(HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !same_origin(origin, host) {
            return Err(cross_site(format!(
                "Origin {origin} is not this server ({host}); only the daemon's own pages may change anything"
            )));
        }
    }
    let has_body = has_body
        || h.get(CONTENT_LENGTH)
            .is_some_and(|v| v.to_str().map_or(true, |v| v.trim() != "0"))
        || h.contains_key(TRANSFER_ENCODING);
    match h.get(CONTENT_TYPE) {
        Some(ct) if !is_json(ct.to_str().unwrap_or("")) => Err(unsupported(ct.to_str().ok())),
        None if has_body => Err(unsupported(None)),
        _ => Ok(()),
    }
}

fn is_json(ct: &str) -> bool {
    let essence = ct.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// `Origin` (scheme://host[:port]) names the same host and port as `Host`.
fn same_origin(origin: &str, host: &str) -> bool {
    let (authority, default_port) = if let Some(a) = origin.strip_prefix("http://") {
        (a, ":80")
    } else if let Some(a) = origin.strip_prefix("https://") {
        (a, ":443")
    } else {
        return false; // "null" (sandboxed or file: pages) and anything else
    };
    let norm = |s: &str| {
        let s = s.trim().trim_end_matches('/').to_ascii_lowercase();
        match s.strip_suffix(default_port) {
            Some(bare) => bare.to_string(),
            None => s,
        }
    };
    !host.is_empty() && norm(authority) == norm(host)
}

fn cross_site(en: String) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "cross_site",
        "Yêu cầu từ trang web khác bị từ chối; hãy dùng trang của hệ thống.",
        en,
    )
}

fn unsupported(got: Option<&str>) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "Nội dung yêu cầu phải là JSON (Content-Type: application/json).",
        format!(
            "The body must be JSON with Content-Type: application/json (got {}).",
            got.unwrap_or("no Content-Type")
        ),
    )
}

/// Any error answer that is not JSON yet (an extractor's plain-text rejection, a
/// layer's status) gets the documented body, keeping its status and headers.
pub(crate) async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_json);
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let reason = status.canonical_reason().unwrap_or("error");
    let en = if status == StatusCode::METHOD_NOT_ALLOWED {
        let allow = parts
            .headers
            .get(axum::http::header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("another method");
        format!("This method is not allowed here; use {allow} (see docs/api.md).")
    } else if text.is_empty() {
        format!("{reason} (HTTP {})", status.as_u16())
    } else {
        text
    };
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let vi = match status {
        StatusCode::METHOD_NOT_ALLOWED => "Phương thức không dùng được ở đây.".to_string(),
        StatusCode::NOT_FOUND => format!("Không tìm thấy: {en}"),
        StatusCode::PAYLOAD_TOO_LARGE => "Nội dung yêu cầu quá lớn.".to_string(),
        s if s.is_server_error() => "Lỗi máy chủ. Vui lòng báo cán bộ kỹ thuật.".to_string(),
        _ => format!("Yêu cầu không hợp lệ: {en}"),
    };
    let fresh = ApiError::new(status, code, vi, en).into_response();
    parts.headers.remove(CONTENT_LENGTH);
    parts.headers.insert(
        CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, fresh.into_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_matches_host_with_default_ports() {
        assert!(same_origin("http://127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(same_origin("http://Kiosk.local", "kiosk.local:80"));
        assert!(same_origin("https://a.b:443", "a.b"));
        assert!(!same_origin("http://evil.example", "127.0.0.1:8080"));
        assert!(!same_origin("http://127.0.0.1:8081", "127.0.0.1:8080"));
        assert!(!same_origin("null", "127.0.0.1:8080"));
        assert!(!same_origin("http://127.0.0.1:8080", ""));
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
        assert!(!is_json("application/jsonp"));
    }
}

//! API errors: a status code and `{"error", "message_vi", "message_en"}`.

use crate::core::Rejection;
use crate::engine::ExecError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    pub error: String,
    pub message_vi: String,
    pub message_en: String,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        code: &str,
        vi: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            error: code.into(),
            message_vi: vi.into(),
            message_en: en.into(),
        }
    }
    pub(crate) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Cần mã đăng nhập của quầy hoặc quản trị (Authorization: Bearer …).",
            "A counter or admin credential is required (Authorization: Bearer …).",
        )
    }
    pub(crate) fn forbidden(what: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("Mã đăng nhập không đúng cho {what}."),
            format!("Wrong credential for {what}."),
        )
    }
    pub(crate) fn bad_request(en: impl Into<String>) -> Self {
        let en = en.into();
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("Yêu cầu không hợp lệ: {en}"),
            en,
        )
    }
    pub(crate) fn client_gone() -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "client_gone",
            "Yêu cầu đã bị hủy trước khi được xử lý; không có số nào được cấp.",
            "The client closed the connection before the request was handled; nothing was issued.",
        )
    }
    pub(crate) fn not_found(en: impl Into<String>) -> Self {
        let en = en.into();
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("Không tìm thấy: {en}"),
            en,
        )
    }
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        use crate::core::RejectCode::*;
        let status = match r.code {
            UnknownService | UnknownCounter => StatusCode::NOT_FOUND,
            _ => StatusCode::CONFLICT,
        };
        ApiError {
            status,
            error: r.code.as_str().into(),
            message_vi: r.message_vi,
            message_en: r.message_en,
        }
    }
}

impl From<ExecError> for ApiError {
    fn from(e: ExecError) -> Self {
        match e {
            ExecError::Rejected(r) => r.into(),
            ExecError::Store(why) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_failed",
                "Tạm thời không thể cấp số: không ghi được dữ liệu. Vui lòng báo cán bộ kỹ thuật.",
                format!("The record could not be stored ({why}); nothing was acknowledged."),
            ),
            ExecError::Busy => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Hệ thống đang bận, vui lòng thử lại.",
                "The daemon is busy or stopping; try again.",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self)).into_response()
    }
}

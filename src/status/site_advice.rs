//! What to do about the site's own problems — the uplink (broker unreachable, refused,
//! certificate, ACL), the clock, the store — and durations in words. Pure; uses the types
//! of `advice` (`Problem`, `Severity`).

use super::advice::{Problem, Severity};

/// Why the uplink cannot deliver, from the connection error text (rumqttc's wording).
pub fn uplink_error(message: &str, at: Option<i64>) -> Problem {
    let m = message.to_ascii_lowercase();
    let (code, what_vi, what_en, action_vi, action_en) = if m
        .contains("connection refused, return code")
    {
        (
            "UPL-BROKER-REFUSED",
            "Máy chủ tỉnh từ chối kết nối (tài khoản hoặc quyền của trung tâm)",
            "The province's broker refused the connection (the center's account or rights)",
            "Báo kỹ thuật viên tỉnh kiểm tra tài khoản của trung tâm; số liệu vẫn được giữ và gửi sau.",
            "Ask the province's technician to check the center's account; records are kept and sent later.",
        )
    } else if m.contains("tls") || m.contains("certificate") || m.contains("pki") {
        (
            "UPL-CERT-REJECTED",
            "Chứng chỉ bảo mật bị từ chối khi kết nối lên tỉnh",
            "The security certificate was rejected when connecting to the province",
            "Kiểm tra ngày giờ của máy rồi báo kỹ thuật viên tỉnh cấp lại chứng chỉ; số liệu vẫn được giữ.",
            "Check the board's date and time, then ask the province for a new certificate; records are kept.",
        )
    } else {
        (
            "UPL-UNREACHABLE",
            "Không kết nối được máy chủ tỉnh",
            "Cannot reach the province's broker",
            "Kiểm tra đường truyền Internet; hệ thống giữ mọi số liệu và tự gửi khi có mạng.",
            "Check the internet line; the daemon keeps everything and sends it when the line is back.",
        )
    };
    Problem {
        code,
        severity: Severity::Warning,
        source: "uplink".into(),
        what_vi: what_vi.into(),
        what_en: what_en.into(),
        action_vi,
        action_en,
        detail: message.to_string(),
        since: at,
    }
}

/// The broker accepted the connection but refuses what is published (PUBACK reason).
pub fn uplink_refusal(reason: &str, at: Option<i64>) -> Problem {
    Problem {
        code: "UPL-PUBLISH-REFUSED",
        severity: Severity::Warning,
        source: "uplink".into(),
        what_vi: "Máy chủ tỉnh không cho trung tâm gửi số liệu (quyền ACL)".into(),
        what_en: "The province's broker refuses the center's messages (ACL)".into(),
        action_vi: "Báo kỹ thuật viên tỉnh cấp quyền gửi cho trung tâm; số liệu vẫn được giữ.",
        action_en: "Ask the province's technician to allow the center's topics; records are kept.",
        detail: reason.to_string(),
        since: at,
    }
}

/// The kernel does not call the clock synchronized.
pub fn clock_not_synced() -> Problem {
    Problem {
        code: "CLK-NOT-SYNCED",
        severity: Severity::Warning,
        source: "clock".into(),
        what_vi: "Đồng hồ chưa được đồng bộ: giờ trên phiếu và trong báo cáo có thể sai".into(),
        what_en: "The clock is not synchronized: times on tickets and in reports may be wrong"
            .into(),
        action_vi: "Kiểm tra đường truyền Internet; không tự chỉnh giờ bằng tay.",
        action_en: "Check the internet line; do not set the time by hand.",
        detail: String::new(),
        since: None,
    }
}

const CALL_PROVINCE_VI: &str = "Gọi kỹ thuật viên tỉnh; không tắt nguồn máy.";
const CALL_PROVINCE_EN: &str = "Call the province's technician; do not switch the board off.";

/// A store alarm (as the engine and the store word them) in words.
pub fn store_alarm(alarm: &str) -> Problem {
    let a = alarm.to_ascii_lowercase();
    let (code, severity, vi, en) =
        if a.starts_with("store write failed") || a.contains("not writable") {
            (
                "STO-WRITE-FAILED",
                Severity::Fault,
                "Không ghi được dữ liệu vào bộ nhớ",
                "Records cannot be written to the store",
            )
        } else if a.starts_with("disk quota reached")
            || a.contains("disk full")
            || a.contains("no space")
        {
            (
                "STO-DISK-FULL",
                Severity::Fault,
                "Bộ nhớ dữ liệu đã đầy (vẫn lấy số được)",
                "The store is full (tickets are still issued)",
            )
        } else if a.contains("would not open") || a.contains("quarantine") {
            (
                "STO-REPLACED",
                Severity::Warning,
                "Kho dữ liệu bị hỏng nên đã được thay mới; số thứ tự vẫn tiếp tục",
                "The store was damaged and replaced by a new one; numbering continues",
            )
        } else if a.contains("belongs to site") {
            (
                "STO-WRONG-SITE",
                Severity::Warning,
                "Kho dữ liệu thuộc về trung tâm khác (site.id sai?)",
                "The store belongs to another center (wrong site.id?)",
            )
        } else {
            (
                "STO-ALARM",
                Severity::Warning,
                "Kho dữ liệu có cảnh báo",
                "The store has an alarm",
            )
        };
    Problem {
        code,
        severity,
        source: "store".into(),
        what_vi: vi.into(),
        what_en: en.into(),
        action_vi: CALL_PROVINCE_VI,
        action_en: CALL_PROVINCE_EN,
        detail: alarm.to_string(),
        since: None,
    }
}

/// Little free disk space left under the store.
pub fn disk_low(free_bytes: u64) -> Problem {
    Problem {
        code: "STO-DISK-LOW",
        severity: Severity::Warning,
        source: "store".into(),
        what_vi: format!("Ổ đĩa sắp đầy: chỉ còn {} MB", free_bytes / 1_048_576),
        what_en: format!(
            "The disk is nearly full: {} MB left",
            free_bytes / 1_048_576
        ),
        action_vi: CALL_PROVINCE_VI,
        action_en: CALL_PROVINCE_EN,
        detail: String::new(),
        since: None,
    }
}

/// A duration in words: "2 giờ 15 phút" / "2 h 15 min"; under a minute "dưới 1 phút".
pub fn duration_words(ms: i64, en: bool) -> String {
    let s = ms.max(0) / 1000;
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60);
    let (dw, hw, mw) = if en {
        ("d", "h", "min")
    } else {
        ("ngày", "giờ", "phút")
    };
    if d > 0 {
        format!("{d} {dw} {h} {hw}")
    } else if h > 0 {
        format!("{h} {hw} {m} {mw}")
    } else if m > 0 {
        format!("{m} {mw}")
    } else if en {
        "under a minute".into()
    } else {
        "dưới 1 phút".into()
    }
}

//! What each problem means and what to do about it, in plain Vietnamese and English: a
//! pure classifier from a device state, an uplink error, a store alarm or the clock to a
//! stable code the province can look up, a short sentence and one action a clerk can follow.
//! No I/O: the texts the daemon recorded (device details, error messages) are passed in.

use serde::Serialize;

/// How urgent a problem is: `fault` stops something citizens see, `warning` does not yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Severity {
    Warning,
    Fault,
}

/// One problem: a stable code, what is wrong and what to do, both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Problem {
    /// Stable code, e.g. `PRN-PAPER-OUT`; listed in docs/pages.md.
    pub code: &'static str,
    pub severity: Severity,
    /// What it is about: `printer`, `uplink`, `store`, `clock` or a device name.
    pub source: String,
    pub what_vi: String,
    pub what_en: String,
    pub action_vi: &'static str,
    pub action_en: &'static str,
    /// The original technical text (OS error, status bytes) for the technician; may be empty.
    pub detail: String,
    /// Since when, ms since the Unix epoch, when known.
    pub since: Option<i64>,
}

// One enum of device kinds for the health reports and their words here.
pub(crate) use crate::devices::health::DeviceKind;

impl DeviceKind {
    /// The kind's name, Vietnamese and English.
    pub(crate) fn names(self) -> (&'static str, &'static str) {
        match self {
            DeviceKind::Printer => ("Máy in phiếu", "Ticket printer"),
            DeviceKind::CounterDisplay => ("Màn hình quầy", "Counter display"),
            DeviceKind::LedBoard => ("Bảng LED", "LED board"),
            DeviceKind::Keypad => ("Bàn phím quầy", "Counter keypad"),
            DeviceKind::Button => ("Nút bấm", "Button"),
            DeviceKind::Speaker => ("Loa gọi số", "Speaker"),
            DeviceKind::Feed | DeviceKind::Other => ("Thiết bị", "Device"),
        }
    }

    /// The kind a device name implies when the configuration does not say
    /// (`printer`, `keypad-3`, `speaker`…).
    pub(crate) fn from_device_name(name: &str) -> DeviceKind {
        if name.starts_with("printer") {
            DeviceKind::Printer
        } else if name.starts_with("keypad") {
            DeviceKind::Keypad
        } else if name.starts_with("speaker") || name.starts_with("voice") {
            DeviceKind::Speaker
        } else if name.starts_with("button") {
            DeviceKind::Button
        } else {
            DeviceKind::Other
        }
    }
}

/// A device's state and detail in words, plus the problem it is, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct DeviceWords {
    pub kind: DeviceKind,
    /// "Máy in phiếu", "Màn hình quầy «Quầy 1»".
    pub label_vi: String,
    pub label_en: String,
    pub ok: bool,
    pub state_vi: String,
    pub state_en: String,
    /// The detail translated (a sentence, no technical text).
    pub detail_vi: String,
    pub detail_en: String,
    /// The technical part of the detail kept for the technician (may be empty).
    pub detail_tech: String,
    pub code: Option<&'static str>,
}

fn label(kind: DeviceKind, name: &str) -> (String, String) {
    let (vi, en) = kind.names();
    let own = match kind {
        DeviceKind::Printer | DeviceKind::Speaker => {
            if name == "printer" || name == "speaker" {
                None
            } else {
                Some(name.to_string())
            }
        }
        DeviceKind::Keypad => name
            .strip_prefix("keypad-")
            .map(|a| format!("#{a}"))
            .or_else(|| Some(name.to_string())),
        _ => Some(name.to_string()),
    };
    match own {
        Some(o) => (format!("{vi} «{o}»"), format!("{en} «{o}»")),
        None => (vi.to_string(), en.to_string()),
    }
}

/// Splits `"paper out (DLE EOT 1=0x16 …)"` into the words and the parenthesised tail.
fn split_tail(detail: &str) -> (&str, &str) {
    let d = detail.trim();
    if d.ends_with(')') {
        if let Some(i) = d.rfind(" (") {
            return (&d[..i], &d[i + 2..d.len() - 1]);
        }
    }
    (d, "")
}

/// Detail sentences the adapters write, translated. `None`: unknown, kept as technical text.
fn known_detail(words: &str) -> Option<(&'static str, &'static str)> {
    Some(match words {
        "ok" | "ready" => ("Sẵn sàng", "Ready"),
        "answering" => ("Đang trả lời", "Answering"),
        "connected" => ("Đã kết nối", "Connected"),
        "paper out" => ("Hết giấy", "Out of paper"),
        "paper near end" => ("Sắp hết giấy", "Paper running low"),
        "cover open" => ("Nắp máy in đang mở", "The cover is open"),
        "printer offline" => ("Máy in đang ngoại tuyến", "The printer is offline"),
        "printer reports an error" => (
            "Máy in báo lỗi (kẹt dao cắt, đầu in quá nóng…)",
            "The printer reports an error (cutter jam, overheated head…)",
        ),
        "no reply to status query" => (
            "Máy in không trả lời khi được hỏi trạng thái",
            "The printer does not answer status queries",
        ),
        _ => return None,
    })
}

/// A failure sentence by its shape (`cannot open …`, `… closed; reopening`, timeouts).
fn failure_words(detail: &str) -> (&'static str, &'static str) {
    let d = detail.to_ascii_lowercase();
    if d.contains("timed out") || d.contains("timeout") || d.contains("no reply") {
        ("Thiết bị không phản hồi", "The device does not answer")
    } else if d.contains("closed") || d.contains("no such file") || d.contains("no such device") {
        (
            "Mất kết nối với thiết bị (cáp bị rút?)",
            "Lost the connection to the device (cable unplugged?)",
        )
    } else if d.contains("permission denied") {
        (
            "Không có quyền mở thiết bị",
            "No permission to open the device",
        )
    } else if d.contains("refused") || d.contains("unreachable") {
        (
            "Không kết nối được thiết bị",
            "Cannot connect to the device",
        )
    } else if d.contains("cannot open") || d.contains("cannot configure") {
        ("Không mở được thiết bị", "Cannot open the device")
    } else {
        ("Thiết bị gặp lỗi", "The device has a fault")
    }
}

struct StateWords {
    ok: bool,
    vi: &'static str,
    en: &'static str,
    code: Option<(&'static str, Severity, &'static str, &'static str)>,
}

const CHECK_CABLE_VI: &str = "Kiểm tra dây cáp và nguồn điện của thiết bị.";
const CHECK_CABLE_EN: &str = "Check the device's cable and power.";

fn printer_state(state: &str) -> StateWords {
    let w = |ok, vi, en, code| StateWords { ok, vi, en, code };
    match state {
        "ok" => w(true, "Bình thường", "OK", None),
        "paper_near_end" => w(
            true,
            "Sắp hết giấy",
            "Paper low",
            Some((
                "PRN-PAPER-LOW",
                Severity::Warning,
                "Chuẩn bị sẵn cuộn giấy mới.",
                "Have a new paper roll ready.",
            )),
        ),
        "paper_out" => w(
            false,
            "Hết giấy",
            "Out of paper",
            Some((
                "PRN-PAPER-OUT",
                Severity::Fault,
                "Thay cuộn giấy.",
                "Put in a new paper roll.",
            )),
        ),
        "cover_open" => w(
            false,
            "Nắp đang mở",
            "Cover open",
            Some((
                "PRN-COVER-OPEN",
                Severity::Fault,
                "Đóng chặt nắp máy in.",
                "Close the printer's cover firmly.",
            )),
        ),
        "offline" => w(
            false,
            "Ngoại tuyến",
            "Offline",
            Some((
                "PRN-OFFLINE",
                Severity::Fault,
                "Kiểm tra giấy và nắp, rồi tắt và bật lại máy in.",
                "Check the paper and the cover, then switch the printer off and on.",
            )),
        ),
        "error" => w(
            false,
            "Lỗi",
            "Error",
            Some((
                "PRN-ERROR",
                Severity::Fault,
                "Tắt máy in, gỡ giấy kẹt, đợi vài phút rồi bật lại.",
                "Switch the printer off, clear any jammed paper, wait a few minutes, switch it on.",
            )),
        ),
        "unreachable" => w(
            false,
            "Không kết nối được",
            "Unreachable",
            Some((
                "PRN-UNREACHABLE",
                Severity::Fault,
                "Kiểm tra dây cáp và nguồn điện của máy in.",
                "Check the printer's cable and power.",
            )),
        ),
        _ => other_state(state, "PRN-UNKNOWN"),
    }
}

/// The speaker's states (the voice announcer reports ok / missing / error).
fn speaker_state(state: &str) -> StateWords {
    match state {
        "missing" => StateWords {
            ok: false,
            vi: "Không có loa hoặc gói giọng nói",
            en: "No speaker or voice pack",
            code: Some((
                "SPK-MISSING",
                Severity::Warning,
                "Cắm loa vào bộ điều khiển; nếu vẫn báo, gọi kỹ thuật cài gói giọng nói.",
                "Plug the speaker into the board; if it persists, call IT to install the voice pack.",
            )),
        },
        "error" | "failed" => StateWords {
            ok: false,
            vi: "Không phát được tiếng",
            en: "Cannot play sound",
            code: Some((
                "SPK-ERROR",
                Severity::Fault,
                "Kiểm tra dây loa, nguồn và âm lượng; số vẫn hiện trên màn hình.",
                "Check the speaker's cable, power and volume; numbers still show on the displays.",
            )),
        },
        _ => other_state(state, "SPK-FAILED"),
    }
}

fn other_state(state: &str, code: &'static str) -> StateWords {
    match state {
        "ok" => StateWords {
            ok: true,
            vi: "Bình thường",
            en: "OK",
            code: None,
        },
        "unreachable" => StateWords {
            ok: false,
            vi: "Không kết nối được",
            en: "Unreachable",
            code: Some((code, Severity::Fault, CHECK_CABLE_VI, CHECK_CABLE_EN)),
        },
        "failed" | "error" => StateWords {
            ok: false,
            vi: "Có lỗi",
            en: "Failed",
            code: Some((code, Severity::Fault, CHECK_CABLE_VI, CHECK_CABLE_EN)),
        },
        // A state this version does not know (a newer adapter): a warning, never hidden.
        _ => StateWords {
            ok: false,
            vi: "Trạng thái chưa rõ",
            en: "Unrecognized state",
            code: Some((code, Severity::Warning, CHECK_CABLE_VI, CHECK_CABLE_EN)),
        },
    }
}

/// States `device` has words for; another state is shown to the technician as is.
fn known_state(state: &str) -> bool {
    matches!(
        state,
        "ok" | "failed"
            | "error"
            | "unreachable"
            | "paper_near_end"
            | "paper_out"
            | "cover_open"
            | "offline"
            | "missing"
    )
}

fn device_code(kind: DeviceKind) -> &'static str {
    match kind {
        DeviceKind::Printer => "PRN-UNKNOWN",
        DeviceKind::CounterDisplay => "DSP-FAILED",
        DeviceKind::LedBoard => "LED-FAILED",
        DeviceKind::Keypad => "KPD-UNREACHABLE",
        DeviceKind::Button => "BTN-FAILED",
        DeviceKind::Speaker => "SPK-FAILED",
        DeviceKind::Feed | DeviceKind::Other => "DEV-FAILED",
    }
}

/// A device's report in words. `state` and `detail` are as the adapter recorded them.
pub(crate) fn device(
    kind: DeviceKind,
    name: &str,
    state: &str,
    detail: &str,
    since: i64,
) -> (DeviceWords, Option<Problem>) {
    let sw = match kind {
        DeviceKind::Printer => printer_state(state),
        DeviceKind::Speaker => speaker_state(state),
        _ => other_state(state, device_code(kind)),
    };
    let (label_vi, label_en) = label(kind, name);
    // Drop the adapter's own prefixes ("keypad 3: …") and "; retrying" tails.
    let mut d = detail.trim();
    if let Some((head, rest)) = d.split_once(": ") {
        if head.starts_with("keypad ") {
            d = rest;
        }
    }
    let (words, tail) = split_tail(d);
    let words_l = words.to_ascii_lowercase();
    let (detail_vi, detail_en, tech) = if words_l.starts_with("connected") && tail.contains("off") {
        (
            "Đã kết nối (không hỏi trạng thái máy in)".to_string(),
            "Connected (status queries off)".to_string(),
            String::new(),
        )
    } else if let Some((vi, en)) = known_detail(&words_l).or_else(|| {
        // "printer reports an error (cutter jam, …) (DLE EOT …)": the known head.
        words_l
            .strip_prefix("printer reports an error")
            .and_then(|_| known_detail("printer reports an error"))
    }) {
        (vi.to_string(), en.to_string(), tail.to_string())
    } else if d.is_empty() {
        (String::new(), String::new(), String::new())
    } else if sw.ok {
        (sw.vi.to_string(), sw.en.to_string(), d.to_string())
    } else {
        let (vi, en) = failure_words(d);
        let retrying = words_l.contains("retrying") || words_l.contains("reopening");
        let (vi, en) = if retrying {
            (format!("{vi}; đang thử lại"), format!("{en}; retrying"))
        } else {
            (vi.to_string(), en.to_string())
        };
        (vi, en, d.to_string())
    };
    let tech = if known_state(state) {
        tech
    } else if tech.is_empty() {
        format!("state={state}")
    } else {
        format!("state={state}; {tech}")
    };
    let problem = sw
        .code
        .map(|(code, severity, action_vi, action_en)| Problem {
            code,
            severity,
            source: name.to_string(),
            what_vi: format!("{label_vi}: {}", lower_first(sw.vi)),
            what_en: format!("{label_en}: {}", lower_first(sw.en)),
            action_vi,
            action_en,
            detail: if tech.is_empty() {
                detail.trim().to_string()
            } else {
                tech.clone()
            },
            since: Some(since),
        });
    let words = DeviceWords {
        kind,
        label_vi,
        label_en,
        ok: sw.ok,
        state_vi: sw.vi.to_string(),
        state_en: sw.en.to_string(),
        detail_vi,
        detail_en,
        detail_tech: tech,
        code: sw.code.map(|c| c.0),
    };
    (words, problem)
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
#[path = "advice_tests.rs"]
mod tests;

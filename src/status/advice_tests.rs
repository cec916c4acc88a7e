//! Tests of the advice classifier: codes, translations, kept technical detail.

use super::*;
use crate::status::site_advice::{duration_words, store_alarm, uplink_error, uplink_refusal};

#[test]
fn paper_out_says_change_the_roll_and_keeps_the_status_bytes() {
    let (w, p) = device(
        DeviceKind::Printer,
        "printer",
        "paper_out",
        "paper out (DLE EOT 1=0x16 2=0x12 4=0x72)",
        5,
    );
    let p = p.expect("paper out is a problem");
    assert_eq!(p.code, "PRN-PAPER-OUT");
    assert_eq!(p.severity, Severity::Fault);
    assert_eq!(p.action_vi, "Thay cuộn giấy.");
    assert_eq!(p.detail, "DLE EOT 1=0x16 2=0x12 4=0x72");
    assert_eq!(p.since, Some(5));
    assert_eq!(w.label_vi, "Máy in phiếu");
    assert_eq!(w.state_vi, "Hết giấy");
    assert_eq!(w.detail_vi, "Hết giấy");
    assert_eq!(w.detail_tech, "DLE EOT 1=0x16 2=0x12 4=0x72");
    assert!(!w.ok);
}

#[test]
fn status_queries_off_is_translated_not_shown_raw() {
    let (w, p) = device(
        DeviceKind::Printer,
        "printer",
        "ok",
        "connected (status queries off)",
        1,
    );
    assert!(p.is_none());
    assert!(w.ok);
    assert_eq!(w.detail_vi, "Đã kết nối (không hỏi trạng thái máy in)");
    assert_eq!(w.detail_tech, "");
}

#[test]
fn unreachable_printer_keeps_the_os_error_after_the_sentence() {
    let os = "cannot open /dev/usb/lp0: No such file or directory (os error 2)";
    let (w, p) = device(DeviceKind::Printer, "printer", "unreachable", os, 1);
    let p = p.expect("a problem");
    assert_eq!(p.code, "PRN-UNREACHABLE");
    assert!(p.action_vi.contains("dây cáp"), "{}", p.action_vi);
    assert_eq!(p.detail, os);
    assert_eq!(w.detail_tech, os);
    assert!(w.detail_vi.starts_with("Mất kết nối"), "{}", w.detail_vi);
}

#[test]
fn board_devices_and_unknown_kinds_render_in_words() {
    let (w, p) = device(
        DeviceKind::LedBoard,
        "hall",
        "failed",
        "/dev/ttyUSB0 closed; reopening",
        1,
    );
    assert_eq!(w.label_vi, "Bảng LED «hall»");
    assert_eq!(w.state_vi, "Có lỗi");
    assert_eq!(
        w.detail_vi,
        "Mất kết nối với thiết bị (cáp bị rút?); đang thử lại"
    );
    assert_eq!(p.map(|p| p.code), Some("LED-FAILED"));

    let (w, p) = device(DeviceKind::Keypad, "keypad-3", "ok", "answering", 1);
    assert_eq!(w.label_vi, "Bàn phím quầy «#3»");
    assert_eq!(w.detail_vi, "Đang trả lời");
    assert!(p.is_none());

    let kind = DeviceKind::from_device_name("speaker");
    assert_eq!(kind, DeviceKind::Speaker);
    let (w, p) = device(kind, "speaker", "unreachable", "ALSA: no card", 1);
    assert_eq!(w.label_vi, "Loa gọi số");
    assert_eq!(w.state_vi, "Không kết nối được");
    assert_eq!(p.map(|p| p.code), Some("SPK-FAILED"));

    let (w, p) = device(DeviceKind::Other, "thing", "weird_state", "", 1);
    assert_eq!(w.label_vi, "Thiết bị «thing»");
    assert_eq!(w.state_vi, "Trạng thái chưa rõ");
    assert_eq!(w.detail_tech, "state=weird_state");
    assert!(!w.ok);
    let p = p.expect("an unknown state is a problem");
    assert_eq!((p.code, p.severity), ("DEV-FAILED", Severity::Warning));
    assert_eq!(p.detail, "state=weird_state");
}

#[test]
fn uplink_errors_are_told_apart() {
    let unreach = uplink_error("I/O: Connection refused (os error 111)", Some(1));
    assert_eq!(unreach.code, "UPL-UNREACHABLE");
    assert!(unreach.action_vi.contains("Internet"));
    assert_eq!(unreach.detail, "I/O: Connection refused (os error 111)");
    for (error, code) in [
        (
            "Connection refused, return code: `NotAuthorized`",
            "UPL-BROKER-REFUSED",
        ),
        (
            "TLS: invalid peer certificate: UnknownIssuer",
            "UPL-CERT-REJECTED",
        ),
        ("Network timeout", "UPL-UNREACHABLE"),
    ] {
        assert_eq!(uplink_error(error, None).code, code, "{error}");
    }
    assert_eq!(
        uplink_refusal("not_authorized", None).code,
        "UPL-PUBLISH-REFUSED"
    );
}

#[test]
fn store_alarms_get_codes() {
    for (alarm, code) in [
        ("store write failed: io error", "STO-WRITE-FAILED"),
        (
            "disk quota reached: the store uses 9 MB of 8 MB",
            "STO-DISK-FULL",
        ),
        (
            "the store would not open (x); it was moved to y and a new one started",
            "STO-REPLACED",
        ),
        (
            "the store at /x belongs to site 'a', not 'b'",
            "STO-WRONG-SITE",
        ),
    ] {
        assert_eq!(store_alarm(alarm).code, code, "{alarm}");
    }
    let other = store_alarm("something new");
    assert_eq!(other.code, "STO-ALARM");
    assert!(other.action_vi.contains("kỹ thuật viên tỉnh"));
}

#[test]
fn durations_in_words() {
    let ms = (2 * 3600 + 15 * 60 + 7) * 1000;
    assert_eq!(duration_words(ms, false), "2 giờ 15 phút");
    assert_eq!(duration_words(ms, true), "2 h 15 min");
    assert_eq!(duration_words(30_000, false), "dưới 1 phút");
    assert_eq!(duration_words(26 * 3_600_000, false), "1 ngày 2 giờ");
    assert_eq!(duration_words(-5, true), "under a minute");
}

#[test]
fn a_missing_speaker_says_what_to_do() {
    let (w, p) = device(
        DeviceKind::Speaker,
        "speaker",
        "missing",
        "no voice pack at /x",
        1,
    );
    assert!(!w.ok);
    assert_eq!(w.state_vi, "Không có loa hoặc gói giọng nói");
    let p = p.map(|p| (p.code, p.severity));
    assert_eq!(p, Some(("SPK-MISSING", Severity::Warning)));
    let (_, p) = device(DeviceKind::Speaker, "speaker", "error", "aplay: no card", 1);
    assert_eq!(p.map(|p| p.code), Some("SPK-ERROR"));
}

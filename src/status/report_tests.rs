//! Tests of the plain-language state fields.

use super::*;
use serde_json::json;

fn kinds(name: &str) -> DeviceKind {
    if name == "hall" {
        DeviceKind::LedBoard
    } else {
        DeviceKind::from_device_name(name)
    }
}

/// The codes of the enriched status's problems, in order.
fn problem_codes(s: &serde_json::Value) -> Vec<&str> {
    s["health"]["problems"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["code"].as_str())
        .collect()
}

fn cx() -> Context<'static> {
    Context {
        now_ms: 10_000_000,
        kind_of: &kinds,
    }
}

#[test]
fn healthy_state_has_no_problems() {
    let mut s = json!({
        "clock_ok": true,
        "devices": [{"device": "printer", "state": "ok", "detail": "ready (DLE EOT 1=0x16)", "since": 1}],
        "store": {"ok": true, "alarms": [], "free_bytes": 5_000_000_000u64},
        "uplink": {"connected": true, "connected_since": 9_000_000, "broker": "b:1883",
                   "backlog": {"count": 0, "oldest_at": null}, "last_error": null, "refusing": false},
    });
    enrich(&mut s, &cx());
    assert_eq!(s["health"]["ok"], json!(true), "{s}");
    assert_eq!(s["devices"][0]["state_vi"], json!("Bình thường"));
    assert_eq!(s["devices"][0]["detail_vi"], json!("Sẵn sàng"));
    assert_eq!(s["uplink_summary"]["state_vi"], json!("Đã kết nối"));
    assert_eq!(s["uplink_summary"]["since"], json!(9_000_000));
    assert_eq!(s["uplink_summary"]["backlog_vi"], json!("Đã gửi hết"));
}

#[test]
fn broker_down_with_backlog_reads_as_a_sentence() {
    let now = 10_000_000i64;
    let oldest = now - (2 * 3600 + 15 * 60) * 1000;
    let mut s = json!({
        "clock_ok": true,
        "devices": [],
        "store": {"alarms": ["disk quota reached: the store uses 9 MB of 8 MB"], "free_bytes": 1000},
        "uplink": {"connected": false, "down_since": 5, "broker": "b:1883",
                   "backlog": {"count": 312, "oldest_at": oldest},
                   "last_error": {"at": 7, "message": "I/O: Connection refused (os error 111)"},
                   "refusing": false},
    });
    enrich(&mut s, &cx());
    assert_eq!(
        s["uplink_summary"]["backlog_vi"],
        json!("312 bản ghi chưa gửi, cũ nhất 2 giờ 15 phút trước")
    );
    assert_eq!(s["uplink_summary"]["state_vi"], json!("Mất kết nối"));
    let codes = problem_codes(&s);
    assert_eq!(codes, ["STO-DISK-FULL", "STO-DISK-LOW", "UPL-UNREACHABLE"]);
    assert_eq!(s["health"]["ok"], json!(false));
    assert_eq!(s["health"]["faults"], json!(1));
}

#[test]
fn store_not_writable_and_clock_and_acl_are_problems() {
    let mut s = json!({
        "clock_ok": false,
        "store": {"writable": false, "error": "Input/output error (os error 5)", "since": 3},
        "uplink": {"connected": true, "backlog": {"count": 1, "oldest_at": null},
                   "refusing": true, "last_refusal": {"at": 4, "reason": "not_authorized", "topic": "t/x"}},
        "devices": [{"device": "hall", "state": "failed", "detail": "x", "since": 2}],
    });
    enrich(&mut s, &cx());
    let codes = problem_codes(&s);
    assert_eq!(
        codes,
        [
            "CLK-NOT-SYNCED",
            "STO-WRITE-FAILED",
            "LED-FAILED",
            "UPL-PUBLISH-REFUSED"
        ]
    );
    assert_eq!(s["devices"][0]["label_vi"], json!("Bảng LED «hall»"));
    assert_eq!(
        s["uplink_summary"]["backlog_vi"],
        json!("1 bản ghi chưa gửi")
    );
}

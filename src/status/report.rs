//! Adds the plain-language fields to the `GET /api/v1/state` document: each device in
//! words, the uplink summary in sentences, and `health` (every problem with its code and
//! what to do). Pure: works on the JSON the handler built, with `now` passed in, so fields
//! other modules add (e.g. `store.writable`) are classified too.

use super::advice::{self, DeviceKind, Problem, Severity};
use super::site_advice;
use serde_json::{json, Map, Value};

/// Below this much free disk space under the store, a warning.
pub const DISK_LOW_BYTES: u64 = 200 * 1_048_576;

/// What the handler knows besides the state document.
pub struct Context<'a> {
    pub now_ms: i64,
    /// The kind of a device by its recorded name (from the configuration).
    pub kind_of: &'a dyn Fn(&str) -> DeviceKind,
}

fn problem_json(p: &Problem) -> Value {
    serde_json::to_value(p).unwrap_or(Value::Null)
}

fn int(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Adds `devices[].{kind,label_vi,…}`, `uplink_summary`, `health` to `state`.
pub fn enrich(state: &mut Value, cx: &Context<'_>) {
    let mut problems: Vec<Problem> = Vec::new();

    if state.get("clock_ok") == Some(&Value::Bool(false)) {
        problems.push(site_advice::clock_not_synced());
    }

    // The store: alarms (strings), a `writable: false` flag, low disk space.
    if let Some(store) = state.get("store") {
        let mut seen_write = false;
        for a in store
            .get("alarms")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let msg = match a {
                Value::String(s) => s.clone(),
                other => other
                    .get("message")
                    .and_then(Value::as_str)
                    .map_or_else(|| other.to_string(), str::to_string),
            };
            let p = site_advice::store_alarm(&msg);
            seen_write |= p.code == "STO-WRITE-FAILED";
            problems.push(p);
        }
        if store.get("writable") == Some(&Value::Bool(false)) && !seen_write {
            let mut p = site_advice::store_alarm("store not writable");
            p.detail = text(store, "error").to_string();
            p.since = int(store, "since");
            problems.push(p);
        }
        if let Some(free) = store.get("free_bytes").and_then(Value::as_u64) {
            if free < DISK_LOW_BYTES {
                problems.push(site_advice::disk_low(free));
            }
        }
    }

    // Devices.
    if let Some(devs) = state.get_mut("devices").and_then(Value::as_array_mut) {
        for d in devs.iter_mut() {
            let name = text(d, "device").to_string();
            let (words, problem) = advice::device(
                (cx.kind_of)(&name),
                &name,
                text(d, "state"),
                text(d, "detail"),
                int(d, "since").unwrap_or(0),
            );
            if let (Some(obj), Value::Object(add)) = (d.as_object_mut(), json!(words)) {
                obj.extend(add);
            }
            problems.extend(problem);
        }
    }

    // The uplink.
    let summary = state
        .get("uplink")
        .filter(|u| u.is_object())
        .map(|u| uplink_summary(u, cx.now_ms, &mut problems));
    if let Some(obj) = state.as_object_mut() {
        obj.insert("uplink_summary".into(), summary.unwrap_or(Value::Null));
        let faults = problems
            .iter()
            .filter(|p| p.severity == Severity::Fault)
            .count();
        obj.insert(
            "health".into(),
            json!({
                "ok": problems.is_empty(),
                "faults": faults,
                "problems": problems.iter().map(problem_json).collect::<Vec<_>>(),
            }),
        );
    }
}

fn uplink_summary(u: &Value, now_ms: i64, problems: &mut Vec<Problem>) -> Value {
    let connected = u.get("connected") == Some(&Value::Bool(true));
    let since = if connected {
        int(u, "connected_since")
    } else {
        int(u, "down_since")
    };
    let backlog = u.get("backlog").cloned().unwrap_or(Value::Null);
    let count = backlog.get("count").and_then(Value::as_u64).unwrap_or(0);
    let oldest = int(&backlog, "oldest_at");
    let error = u.get("last_error").filter(|e| e.is_object());
    let (state_vi, state_en) = match (connected, error) {
        (true, _) => ("Đã kết nối", "Connected"),
        (false, Some(_)) => ("Mất kết nối", "Not connected"),
        (false, None) => ("Đang kết nối", "Connecting"),
    };
    if !connected {
        if let Some(e) = error {
            problems.push(site_advice::uplink_error(text(e, "message"), int(e, "at")));
        }
    }
    if u.get("refusing") == Some(&Value::Bool(true)) {
        let r = u.get("last_refusal").cloned().unwrap_or(Value::Null);
        let detail = format!("{} {}", text(&r, "reason"), text(&r, "topic"));
        problems.push(site_advice::uplink_refusal(detail.trim(), int(&r, "at")));
    }
    let (backlog_vi, backlog_en) = if count == 0 {
        (
            "Đã gửi hết".to_string(),
            "Everything has been sent".to_string(),
        )
    } else {
        let age = oldest.map(|o| now_ms - o);
        match age {
            Some(a) => (
                format!(
                    "{count} bản ghi chưa gửi, cũ nhất {} trước",
                    site_advice::duration_words(a, false)
                ),
                format!(
                    "{count} records not yet sent, the oldest from {} ago",
                    site_advice::duration_words(a, true)
                ),
            ),
            None => (
                format!("{count} bản ghi chưa gửi"),
                format!("{count} records not yet sent"),
            ),
        }
    };
    let mut m = Map::new();
    m.insert("connected".into(), json!(connected));
    m.insert("since".into(), json!(since));
    m.insert(
        "broker".into(),
        u.get("broker").cloned().unwrap_or(Value::Null),
    );
    m.insert("tls".into(), u.get("tls").cloned().unwrap_or(Value::Null));
    m.insert("state_vi".into(), json!(state_vi));
    m.insert("state_en".into(), json!(state_en));
    m.insert("backlog_count".into(), json!(count));
    m.insert("backlog_oldest_at".into(), json!(oldest));
    m.insert("backlog_vi".into(), json!(backlog_vi));
    m.insert("backlog_en".into(), json!(backlog_en));
    Value::Object(m)
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;

//! `layso status` as text: the state document (parsed once into the types below) rendered
//! for a terminal, Vietnamese or English, times in the site's zone. Pure.

use super::site_advice::duration_words;
use crate::core::time::DayRule;
use serde::Deserialize;

/// The parts of `GET /api/v1/state` the terminal summary shows.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StateDoc {
    pub site: SiteDoc,
    pub day: Option<String>,
    pub now: i64,
    pub version: String,
    pub started_at: i64,
    pub utc_offset_minutes: i32,
    pub services: Vec<ServiceDoc>,
    pub counters: Vec<CounterDoc>,
    pub devices: Vec<DeviceDoc>,
    pub store: StoreDoc,
    pub uplink_summary: Option<UplinkDoc>,
    pub health: HealthDoc,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SiteDoc {
    pub id: String,
    pub name: String,
    pub province: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ServiceDoc {
    pub id: String,
    pub prefix: String,
    pub name_vi: String,
    pub name_en: String,
    pub waiting: u64,
    pub waiting_priority: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CurrentDoc {
    pub ticket: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CounterDoc {
    pub number: u16,
    pub name: String,
    pub state: String,
    pub current: Option<CurrentDoc>,
    pub served_today: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DeviceDoc {
    pub device: String,
    pub since: i64,
    pub label_vi: String,
    pub label_en: String,
    pub state_vi: String,
    pub state_en: String,
    pub detail_vi: String,
    pub detail_en: String,
    pub detail_tech: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StoreDoc {
    pub size_bytes: Option<u64>,
    pub free_bytes: Option<u64>,
    pub path: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UplinkDoc {
    pub connected: bool,
    pub since: Option<i64>,
    pub broker: Option<String>,
    pub state_vi: String,
    pub state_en: String,
    pub backlog_vi: String,
    pub backlog_en: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct HealthDoc {
    pub ok: bool,
    pub problems: Vec<ProblemDoc>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProblemDoc {
    pub code: String,
    pub severity: String,
    pub what_vi: String,
    pub what_en: String,
    pub action_vi: String,
    pub action_en: String,
    pub detail: String,
    pub since: Option<i64>,
}

/// `dd/mm HH:MM` in the site's zone.
pub fn site_time(ms: i64, utc_offset_minutes: i32) -> String {
    let rule = DayRule {
        utc_offset_minutes,
        day_start_minutes: 0,
    };
    let (_, mo, d) = rule.local_date(ms).ymd();
    let (h, mi, _) = rule.local_hms(ms);
    format!("{d:02}/{mo:02} {h:02}:{mi:02}")
}

fn offset_text(minutes: i32) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    let m = minutes.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", m / 60, m % 60)
}

fn bytes_text(b: u64) -> String {
    const MB: f64 = 1_048_576.0;
    let mb = b as f64 / MB;
    if mb >= 1024.0 {
        format!("{:.1} GB", mb / 1024.0)
    } else {
        format!("{mb:.1} MB")
    }
}

/// The whole summary. `en`: English, else Vietnamese.
pub fn render(s: &StateDoc, en: bool) -> String {
    let t = |vi: &str, e: &str| -> String { if en { e } else { vi }.to_string() };
    let pick =
        |vi: &str, e: &str| -> String { if en && !e.is_empty() { e } else { vi }.to_string() };
    let off = s.utc_offset_minutes;
    let at = |ms: i64| site_time(ms, off);
    let mut o = String::new();
    let mut line = |x: String| {
        o.push_str(&x);
        o.push('\n');
    };
    line(format!(
        "{}: {} — {} ({} {})",
        t("Trung tâm", "Site"),
        s.site.id,
        s.site.name,
        t("tỉnh", "province"),
        s.site.province
    ));
    line(format!(
        "{}: {}   {}: {} ({})",
        t("Ngày làm việc", "Business day"),
        s.day.as_deref().unwrap_or("—"),
        t("Giờ tại trung tâm", "Time at the site"),
        at(s.now),
        offset_text(off)
    ));
    line(format!(
        "{} {}, {} {} ({} {})",
        t("Phiên bản", "Version"),
        s.version,
        t("đã chạy", "running for"),
        duration_words(s.now - s.started_at, en),
        t("từ", "since"),
        at(s.started_at)
    ));
    line(String::new());
    if s.health.ok {
        line(t(
            "Tình trạng: TỐT — không có vấn đề nào.",
            "Health: OK — no problems.",
        ));
    } else {
        line(format!(
            "{} ({} {})",
            t("Tình trạng: CẦN XỬ LÝ", "Health: NEEDS ATTENTION"),
            s.health.problems.len(),
            t("vấn đề", "problem(s)")
        ));
        for p in &s.health.problems {
            let since = p
                .since
                .filter(|v| *v > 0)
                .map(|v| format!(" ({} {})", t("từ", "since"), at(v)))
                .unwrap_or_default();
            line(format!(
                "  [{}] {}{since}",
                p.code,
                pick(&p.what_vi, &p.what_en)
            ));
            line(format!(
                "      → {} {}",
                t("Cần làm:", "To do:"),
                pick(&p.action_vi, &p.action_en)
            ));
            if !p.detail.is_empty() {
                line(format!("      {}: {}", t("chi tiết", "detail"), p.detail));
            }
        }
    }
    line(String::new());
    line(t("Quầy:", "Counters:"));
    for c in &s.counters {
        let state = match c.state.as_str() {
            "open" => t("Đang mở", "Open"),
            "paused" => t("Tạm dừng", "Paused"),
            "closed" => t("Đóng", "Closed"),
            other => other.to_string(),
        };
        let serving = c.current.as_ref().map_or_else(
            || t("không phục vụ ai", "serving nobody"),
            |cur| format!("{} {}", t("đang phục vụ", "serving"), cur.ticket),
        );
        let name = if c.name.is_empty() {
            c.number.to_string()
        } else {
            c.name.clone()
        };
        line(format!(
            "  {name}: {state}, {serving}, {} {}",
            t("đã phục vụ hôm nay", "served today"),
            c.served_today
        ));
    }
    line(t("Hàng chờ:", "Queues:"));
    for v in &s.services {
        line(format!(
            "  {} · {}: {} {} ({} {})",
            if v.prefix.is_empty() {
                &v.id
            } else {
                &v.prefix
            },
            pick(&v.name_vi, &v.name_en),
            v.waiting,
            t("đang chờ", "waiting"),
            v.waiting_priority,
            t("ưu tiên", "priority")
        ));
    }
    line(t("Thiết bị:", "Devices:"));
    if s.devices.is_empty() {
        line(t(
            "  (chưa có thiết bị nào báo cáo)",
            "  (no device has reported)",
        ));
    }
    for d in &s.devices {
        let detail = pick(&d.detail_vi, &d.detail_en);
        let mut l = format!(
            "  {}: {}",
            pick(&d.label_vi, &d.label_en),
            pick(&d.state_vi, &d.state_en)
        );
        if !detail.is_empty() && detail != pick(&d.state_vi, &d.state_en) {
            l += &format!(" — {detail}");
        }
        if d.since > 0 {
            l += &format!(" ({} {})", t("từ", "since"), at(d.since));
        }
        if !d.detail_tech.is_empty() {
            l += &format!(" [{}]", d.detail_tech);
        }
        line(l);
    }
    line(t("Kho dữ liệu:", "Store:"));
    line(format!(
        "  {}: {}, {}: {}",
        t("dung lượng", "size"),
        s.store.size_bytes.map_or("—".into(), bytes_text),
        t("ổ đĩa còn trống", "free disk space"),
        s.store.free_bytes.map_or("—".into(), bytes_text)
    ));
    match &s.uplink_summary {
        None => line(t(
            "Kết nối lên tỉnh: không cấu hình",
            "Uplink to the province: not configured",
        )),
        Some(u) => {
            line(format!(
                "{} ({}):",
                t("Kết nối lên tỉnh", "Uplink to the province"),
                u.broker.as_deref().unwrap_or("—")
            ));
            let since = u
                .since
                .map(|v| format!(" {} {}", t("từ", "since"), at(v)))
                .unwrap_or_default();
            line(format!(
                "  {}{since}; {}",
                pick(&u.state_vi, &u.state_en),
                pick(&u.backlog_vi, &u.backlog_en)
            ));
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Result<StateDoc, serde_json::Error> {
        // 2026-12-01 03:00 UTC = 10:00 at +07:00.
        let now = 1_796_094_000_000i64;
        serde_json::from_value(json!({
            "site": {"id": "x", "name": "Phường X", "province": "hcm"},
            "day": "2026-12-01", "now": now, "version": "0.1.0",
            "started_at": now - 2 * 3_600_000 - 15 * 60_000,
            "utc_offset_minutes": 420,
            "counters": [{"number": 1, "name": "Quầy 1", "state": "open",
                          "current": {"ticket": "A001"}, "served_today": 3}],
            "services": [{"id": "A", "prefix": "A", "name_vi": "Hộ tịch", "name_en": "Civil status",
                          "waiting": 2, "waiting_priority": 1}],
            "devices": [{"device": "printer", "since": now, "label_vi": "Máy in phiếu",
                         "label_en": "Ticket printer", "state_vi": "Hết giấy", "state_en": "Out of paper",
                         "detail_vi": "Hết giấy", "detail_en": "Out of paper", "detail_tech": "DLE EOT"}],
            "store": {"size_bytes": 2_097_152, "free_bytes": 3_221_225_472u64},
            "uplink_summary": null,
            "health": {"ok": false, "problems": [{"code": "PRN-PAPER-OUT", "what_vi": "Máy in phiếu: hết giấy",
                "what_en": "Ticket printer: out of paper", "action_vi": "Thay cuộn giấy.",
                "action_en": "Put in a new paper roll.", "detail": "DLE EOT", "since": now}]},
            "extra_field_from_a_newer_daemon": 1
        }))
    }

    #[test]
    fn renders_vietnamese_with_site_times() -> Result<(), serde_json::Error> {
        let out = render(&doc()?, false);
        for want in [
            "Giờ tại trung tâm: 01/12 10:00 (UTC+07:00)",
            "đã chạy 2 giờ 15 phút (từ 01/12 07:45)",
            "Tình trạng: CẦN XỬ LÝ (1 vấn đề)",
            "  [PRN-PAPER-OUT] Máy in phiếu: hết giấy (từ 01/12 10:00)",
            "      → Cần làm: Thay cuộn giấy.",
            "      chi tiết: DLE EOT",
            "  Quầy 1: Đang mở, đang phục vụ A001, đã phục vụ hôm nay 3",
            "  A · Hộ tịch: 2 đang chờ (1 ưu tiên)",
            "  Máy in phiếu: Hết giấy (từ 01/12 10:00) [DLE EOT]",
            "  dung lượng: 2.0 MB, ổ đĩa còn trống: 3.0 GB",
            "Kết nối lên tỉnh: không cấu hình",
        ] {
            assert!(out.contains(want), "missing {want:?} in\n{out}");
        }
        Ok(())
    }

    #[test]
    fn renders_english() -> Result<(), serde_json::Error> {
        let out = render(&doc()?, true);
        assert!(
            out.contains("Health: NEEDS ATTENTION (1 problem(s))"),
            "{out}"
        );
        assert!(out.contains("→ To do: Put in a new paper roll."), "{out}");
        assert!(out.contains("A · Civil status: 2 waiting"), "{out}");
        assert!(!out.contains("Cần làm"), "{out}");
        Ok(())
    }

    #[test]
    fn site_time_crosses_midnight_and_negative_offsets() {
        // 2026-12-01 20:30 UTC is 02/12 03:30 at +07:00 and 01/12 15:30 at -05:00.
        let ms = 1_796_157_000_000i64;
        assert_eq!(site_time(ms, 420), "02/12 03:30");
        assert_eq!(site_time(ms, -300), "01/12 15:30");
        assert_eq!(offset_text(-300), "UTC-05:00");
    }
}

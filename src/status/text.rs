//! `layso status` as text: the state document (parsed once into the types below) rendered
//! for a terminal, Vietnamese or English, times in the site's zone. Pure.

use super::advice::duration_words;
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

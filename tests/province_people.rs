//! Citizens' ratings and officers on the province side, with real parts: a real
//! PostgreSQL, Mosquitto, the real collector and headless Chromium.
//!
//! - By hand: two days of one week of three centers (officer-attributed calls, serves,
//!   no-shows, recalls, work with nobody signed in, an old site that never names an
//!   officer, ratings with reasons) → the exact counts, shares and medians computed by
//!   hand in the dashboard JSON, the weekly CSV, and on the pages in Chromium.
//! - Agreement: a real `layso run` center with officers and rating tablets publishes
//!   through Mosquitto to the collector; the province's officers and ratings of the day
//!   are exactly the center's own daily report (`/api/v1/reports/day`).
#![cfg(feature = "province")]

#[path = "support/chromium.rs"]
mod chromium;
#[path = "support/mosquitto.rs"]
mod mosquitto;
#[path = "support/postgres.rs"]
mod postgres;
#[path = "support/province.rs"]
mod province;

use chromium::Driver;
use mosquitto::{free_port, now_ms, site_config, Broker, BrokerOptions, Daemon, SITE};
use province::check;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const H: i64 = 3_600_000;

/// Today's and another day of the same ISO week (day numbers since the epoch, local).
fn days() -> (i64, i64) {
    let today = (now_ms() + 7 * H) / 86_400_000;
    // 1970-01-01 was a Thursday: Monday = 0.
    let monday = (today + 3).rem_euclid(7) == 0;
    (today, if monday { today + 1 } else { today - 1 })
}

fn day_text(d: i64) -> String {
    layso::core::time::Day(d as i32).to_string()
}

/// Entries of one site on day `d`: (seconds after local 08:00, event JSON).
async fn seed_site(
    c: &tokio_postgres::Client,
    site: &str,
    name: &str,
    days_events: &[(i64, Vec<(i64, Value)>)],
) -> Result<(), String> {
    let now = now_ms();
    c.execute(
        "INSERT INTO sites (site, province, name, online, status_at, last_heard)
         VALUES ($1, 'hcm', $2, true, $3, $3)",
        &[&site, &name, &now],
    )
    .await
    .map_err(|e| e.to_string())?;
    let mut seq = 0i64;
    for (d, events) in days_events {
        let base = d * 86_400_000 - 7 * H + 8 * H;
        let day = day_text(*d);
        for (s, ev) in events {
            seq += 1;
            let at = base + s * 1000;
            let kind = ev["kind"].as_str().unwrap_or("").to_string();
            let body = json!({"site": site, "seq": seq, "at": at, "clock_ok": true, "day": day, "event": ev});
            c.execute(
                "INSERT INTO events (site, seq, at, day, kind, clock_ok, body, received_at)
                 VALUES ($1, $2, $3, $4, $5, true, $6, 0)",
                &[&site, &seq, &at, &day, &kind, &body.to_string()],
            )
            .await
            .map_err(|e| e.to_string())?;
        }
    }
    c.execute(
        "INSERT INTO dirty_days SELECT DISTINCT $1::text, day FROM events WHERE site = $1 ON CONFLICT DO NOTHING",
        &[&site],
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(())
}

fn issued(t: &str) -> Value {
    json!({"kind": "ticket_issued", "ticket": t, "service": "A", "number": 1, "priority": false, "source": "kiosk"})
}
fn called(t: &str, c: u16, recall: u32, o: &str) -> Value {
    let mut v = json!({"kind": "ticket_called", "ticket": t, "service": "A", "counter": c, "recall": recall});
    if !o.is_empty() {
        v["officer"] = json!(o);
    }
    v
}
fn served(t: &str, c: u16, o: &str) -> Value {
    let mut v = json!({"kind": "ticket_served", "ticket": t, "service": "A", "counter": c});
    if !o.is_empty() {
        v["officer"] = json!(o);
    }
    v
}
fn skipped(t: &str, c: u16, o: &str) -> Value {
    json!({"kind": "ticket_skipped", "ticket": t, "service": "A", "counter": c, "officer": o})
}
fn rated(t: &str, c: u16, o: &str, level: &str, reasons: &[&str]) -> Value {
    json!({"kind": "rated", "ticket": t, "counter": c, "officer": o, "level": level,
           "reasons": reasons, "dossier": ""})
}

/// bt, today (seconds after 08:00; waits and service times in brackets):
///   A001 lan   wait 60,  service 300, very satisfied
///   A002 minh  wait 180, service 120, satisfied
///   A003 lan   wait 300, service 150 (recalled once), unsatisfied [slow]
///   A004 minh  wait 300, no-show
///   A005 nobody signed in: wait 450, service 100, satisfied
/// bt, the other day: B001 lan wait 100, service 600, unsatisfied [slow, rude].
/// tđ (an old site that never names an officer), today: A001 wait 120, service 120,
/// unsatisfied [rude]. q7: nothing.
async fn seed(url: &str) -> Result<(), String> {
    let c = postgres::client(url).await;
    let (today, other) = days();
    let bt_today = vec![
        (0, issued("A001")),
        (30, issued("A002")),
        (60, called("A001", 1, 0, "lan")),
        (90, issued("A003")),
        (120, issued("A004")),
        (150, issued("A005")),
        (210, called("A002", 2, 0, "minh")),
        (330, served("A002", 2, "minh")),
        (335, rated("A002", 2, "minh", "satisfied", &[])),
        (360, served("A001", 1, "lan")),
        (365, rated("A001", 1, "lan", "very_satisfied", &[])),
        (390, called("A003", 1, 0, "lan")),
        (400, called("A003", 1, 1, "lan")),
        (420, called("A004", 2, 0, "minh")),
        (480, skipped("A004", 2, "minh")),
        (540, served("A003", 1, "lan")),
        (545, rated("A003", 1, "lan", "unsatisfied", &["slow"])),
        (600, called("A005", 3, 0, "")),
        (700, served("A005", 3, "")),
        (705, rated("A005", 3, "", "satisfied", &[])),
    ];
    let bt_other = vec![
        (0, issued("B001")),
        (100, called("B001", 1, 0, "lan")),
        (700, served("B001", 1, "lan")),
        (
            710,
            rated("B001", 1, "lan", "unsatisfied", &["slow", "rude"]),
        ),
    ];
    let mut bt = vec![(today, bt_today), (other, bt_other)];
    bt.sort_by_key(|(d, _)| *d);
    seed_site(&c, "bt", "Phường Bến Thành", &bt).await?;
    let td = vec![(
        today,
        vec![
            (0, issued("A001")),
            (120, called("A001", 1, 0, "")),
            (240, served("A001", 1, "")),
            (250, rated("A001", 1, "", "unsatisfied", &["rude"])),
        ],
    )];
    seed_site(&c, "tđ", "Phường Tân Định", &td).await?;
    seed_site(&c, "q7", "Phường Tân Phong", &[]).await
}

async fn get(http: &reqwest::Client, url: &str) -> Result<Value, String> {
    let r = http
        .get(url)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = r.status();
    let v: Value = r.json().await.map_err(|e| format!("GET {url}: {e}"))?;
    if !status.is_success() {
        return Err(format!("GET {url}: {status} {v}"));
    }
    Ok(v)
}

fn levels(r: &Value) -> Vec<(u64, f64)> {
    r["levels"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|l| {
                    (
                        l["count"].as_u64().unwrap_or(99),
                        l["share"].as_f64().unwrap_or(-1.0),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn times(v: &Value) -> (u64, Option<i64>, Option<i64>) {
    (
        v["count"].as_u64().unwrap_or(99),
        v["median_s"].as_i64(),
        v["p90_s"].as_i64(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ratings_and_officers_computed_by_hand() {
    if let Err(e) = by_hand().await {
        panic!("{e}");
    }
}

async fn by_hand() -> Result<(), String> {
    chromium::require_chromium()?;
    let stage = province::Stage::start("people").await?;
    let (pg, col) = (&stage.pg, &stage.col);
    seed(&pg.url()).await?;
    let http = reqwest::Client::new();
    let (today, other) = days();

    // The figures worker computes the seeded days within a few seconds.
    let deadline = Instant::now() + Duration::from_secs(30);
    let overview = loop {
        let v = get(&http, &col.url("/api/overview")).await?;
        if v["ratings_today"]["total"] == 5 {
            break v;
        }
        if Instant::now() > deadline {
            return Err(format!("figures not computed in 30 s: {v}\n{}", col.log()));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Province today: 1 very satisfied, 2 satisfied, 2 unsatisfied (bt 1, tđ 1).
    let p = &overview["ratings_today"];
    check(
        "province levels today",
        levels(p),
        vec![(1, 0.2), (2, 0.4), (2, 0.4)],
    )?;
    check(
        "province reasons today",
        p["reasons"].clone(),
        json!({"rude": 1, "slow": 1}),
    )?;
    check(
        "province satisfied share",
        overview["satisfied_share_today"].as_f64(),
        Some(0.6),
    )?;
    let site = |id: &str| {
        overview["sites"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["site"] == id).cloned())
            .unwrap_or(Value::Null)
    };
    let (bt, td, q7) = (site("bt"), site("tđ"), site("q7"));
    check(
        "bt today",
        bt["ratings_today"].clone(),
        json!({"very_satisfied": 1, "satisfied": 2, "unsatisfied": 1, "reasons": {"slow": 1}}),
    )?;
    check(
        "tđ today",
        td["ratings_today"].clone(),
        json!({"very_satisfied": 0, "satisfied": 0, "unsatisfied": 1, "reasons": {"rude": 1}}),
    )?;
    check(
        "q7 today (no ratings)",
        q7["ratings_today"].clone(),
        Value::Null,
    )?;

    // bt's drill-down, today.
    let day = get(
        &http,
        &col.url(&format!("/api/sites/bt/people?day={}", day_text(today))),
    )
    .await?;
    check(
        "bt day reasons",
        day["ratings"]["reasons"].clone(),
        json!({"slow": 1}),
    )?;
    let o = &day["officers"];
    check(
        "officers today",
        o.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["".into(), "lan".into(), "minh".into()]),
    )?;
    let counts = |f: &Value| {
        (
            f["called"].as_u64(),
            f["served"].as_u64(),
            f["no_shows"].as_u64(),
            f["ratings"]["total"].as_u64(),
        )
    };
    // An officer's (called, served, no-shows, ratings), then the waiting and service
    // times (count, median, p90), seconds.
    let work = |f: &Value| (counts(f), times(&f["waiting"]), times(&f["service"]));
    // lan waits 60, 300 → nearest-rank median 60, p90 300; service 300, 150 → 150, 300.
    for (who, want) in [
        (
            "lan",
            (
                (Some(2), Some(2), Some(0), Some(2)),
                (2, Some(60), Some(300)),
                (2, Some(150), Some(300)),
            ),
        ),
        (
            "minh",
            (
                (Some(2), Some(1), Some(1), Some(1)),
                (2, Some(180), Some(300)),
                (1, Some(120), Some(120)),
            ),
        ),
        (
            "",
            (
                (Some(1), Some(1), Some(0), Some(1)),
                (1, Some(450), Some(450)),
                (1, Some(100), Some(100)),
            ),
        ),
    ] {
        check(&format!("officer {who:?} today"), work(&o[who]), want)?;
    }
    check(
        "lan levels today",
        levels(&o["lan"]["ratings"]),
        vec![(1, 0.5), (0, 0.0), (1, 0.5)],
    )?;
    // The old site's work is "no officer".
    let td_day = get(
        &http,
        &col.url(&format!(
            "/api/sites/t%C4%91/people?day={}",
            day_text(today)
        )),
    )
    .await?;
    check(
        "tđ officers",
        counts(&td_day["officers"][""]),
        (Some(1), Some(1), Some(0), Some(1)),
    )?;

    // bt's week: medians over both days' tickets.
    let week = overview["week"].as_str().unwrap_or("").to_string();
    let w = get(
        &http,
        &col.url(&format!("/api/sites/bt/people?week={week}")),
    )
    .await?;
    check(
        "bt week levels",
        levels(&w["ratings"]),
        vec![(1, 0.2), (2, 0.4), (2, 0.4)],
    )?;
    check(
        "bt week reasons",
        w["ratings"]["reasons"].clone(),
        json!({"rude": 1, "slow": 2}),
    )?;
    // lan waits 60, 100, 300 → 100, 300; service 150, 300, 600 → 300, 600.
    check(
        "lan week",
        work(&w["officers"]["lan"]),
        (
            (Some(3), Some(3), Some(0), Some(3)),
            (3, Some(100), Some(300)),
            (3, Some(300), Some(600)),
        ),
    )?;
    // Refusals: a week that does not exist, a center that does not exist.
    for (what, path, want) in [
        ("bad week", "/api/sites/bt/people?week=2026-W99", 400),
        ("unknown center's people", "/api/sites/nope/people", 404),
        ("unknown center", "/api/sites/nope", 404),
    ] {
        let r = http
            .get(col.url(path))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        check(what, r.status().as_u16(), want)?;
    }
    let site_json = get(&http, &col.url("/api/sites/bt")).await?;
    let other_day = site_json["days"]
        .as_array()
        .and_then(|a| a.iter().find(|d| d["day"] == day_text(other)).cloned())
        .unwrap_or(Value::Null);
    check(
        "bt other day ratings",
        other_day["ratings"].clone(),
        json!({"very_satisfied": 0, "satisfied": 0, "unsatisfied": 1, "reasons": {"rude": 1, "slow": 1}}),
    )?;

    // The weekly report (CSV): the ratings, reasons and officers sections.
    let csv = http
        .get(col.url(&format!("/report?format=csv&week={week}")))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let sections: Vec<&str> = csv.split("\r\n\r\n").collect();
    check("report sections", sections.len(), 4)?;
    let want_ratings = "Đánh giá của người dân\r\n\
        Mã trung tâm,Tên trung tâm,Tỉnh,Số lượt đánh giá,Rất hài lòng,Rất hài lòng (%),Hài lòng,Hài lòng (%),Chưa hài lòng,Chưa hài lòng (%),Tỉ lệ hài lòng (%)\r\n\
        bt,Phường Bến Thành,hcm,5,1,20,2,40,2,40,60\r\n\
        q7,Phường Tân Phong,hcm,0,0,,0,,0,,\r\n\
        tđ,Phường Tân Định,hcm,1,0,0,0,0,1,100,0\r\n\
        3 trung tâm,Tổng cộng,,6,1,16.7,2,33.3,3,50,50";
    check("ratings section", sections[1], want_ratings)?;
    let want_reasons = "Lý do chưa hài lòng\r\n\
        Mã trung tâm,Tên trung tâm,Lý do (mã),Số lần\r\n\
        bt,Phường Bến Thành,rude,1\r\n\
        bt,Phường Bến Thành,slow,2\r\n\
        tđ,Phường Tân Định,rude,1\r\n\
        ,Tổng cộng,rude,2\r\n\
        ,Tổng cộng,slow,2";
    check("reasons section", sections[2], want_reasons)?;
    // Minutes with one decimal: 450 s = 7.5, 100 s = 1.7, 180 s = 3, 120 s = 2.
    let want_officers = "Cán bộ\r\n\
        Mã trung tâm,Tên trung tâm,Cán bộ,Đã gọi,Đã phục vụ,Vắng mặt,Chờ trung vị (phút),Chờ p90 (phút),Phục vụ trung vị (phút),Phục vụ p90 (phút),Số lượt đánh giá,Rất hài lòng,Hài lòng,Chưa hài lòng,Tỉ lệ hài lòng (%)\r\n\
        bt,Phường Bến Thành,(không có cán bộ),1,1,0,7.5,7.5,1.7,1.7,1,0,1,0,100\r\n\
        bt,Phường Bến Thành,lan,3,3,0,1.7,5,5,10,3,1,0,2,33.3\r\n\
        bt,Phường Bến Thành,minh,2,1,1,3,5,2,2,1,0,1,0,100\r\n\
        tđ,Phường Tân Định,(không có cán bộ),1,1,0,2,2,2,2,1,0,0,1,0\r\n";
    check("officers section", sections[3], want_officers)?;

    in_chromium(col).await
}

async fn in_chromium(col: &province::Collector) -> Result<(), String> {
    let secs = Duration::from_secs;
    let mut driver = Driver::start().await?;
    let page = driver.session(1400, 900).await?;
    page.goto(&col.url("/")).await?;
    page.wait_js(
        "3 rows with ratings",
        "return document.querySelectorAll('#sites tbody tr').length === 3 && document.querySelector('#ratings').textContent.includes('Chưa hài lòng')",
        secs(10),
    )
    .await?;
    let cell = |site: &str, class: &str| {
        format!("const c = document.querySelector('#sites tbody tr[data-site=\"{site}\"] td.{class}'); return [c.textContent, c.classList.contains('alert')]")
    };
    // Each cell's text and whether it is marked as an alert.
    for (site, class, want) in [
        ("bt", "unsat", json!(["1", true])),
        ("tđ", "unsat", json!(["1", true])),
        ("q7", "unsat", json!(["0", false])),
        ("bt", "sat", json!(["75.0 % (4)", false])),
        ("q7", "sat", json!(["—", false])),
    ] {
        check(
            &format!("{site} td.{class} cell"),
            page.eval(&cell(site, class)).await?,
            want,
        )?;
    }
    let summary = page.text("#ratings").await?;
    for want in [
        "Rất hài lòng: 1 (20.0 %)",
        "Hài lòng: 2 (40.0 %)",
        "Chưa hài lòng: 2 (40.0 %)",
        "rude 1, slow 1",
    ] {
        if !summary.contains(want) {
            return Err(format!("province ratings line {summary:?} lacks {want:?}"));
        }
    }
    // Sort by unsatisfied, ascending: q7 (none) first.
    page.click("th[data-k='unsatisfied_today']").await?;
    let top = page
        .eval("return document.querySelector('#sites tbody tr').dataset.site")
        .await?;
    check("fewest unsatisfied first", top, json!("q7"))?;
    page.click("#lang").await?;
    page.wait_js(
        "English",
        "return document.querySelector(\"th[data-k='unsatisfied_today']\").textContent === 'Unsatisfied today' && document.querySelector('#ratings').textContent.includes('Unsatisfied: 2 (40.0 %)')",
        secs(5),
    )
    .await?;

    // The drill-down: officers today, then this week (still in English).
    page.click("#sites tbody tr[data-site='bt'] td.unsat a")
        .await?;
    page.wait_js(
        "officers of today",
        "return document.querySelectorAll('#officers tbody tr[data-officer]').length === 3",
        secs(10),
    )
    .await?;
    check(
        "anchor",
        page.eval("return location.hash").await?,
        json!("#people"),
    )?;
    let row = |who: &str| {
        format!("return [...document.querySelectorAll('#officers tbody tr[data-officer=\"{who}\"] td')].map(c => c.textContent)")
    };
    // Officer, called, served, no-shows, median wait, median service, levels.
    for (who, want) in [
        (
            "lan",
            json!(["lan", "2", "2", "0", "1.0", "2.5", "1", "0", "1"]),
        ),
        (
            "",
            json!(["(no officer)", "1", "1", "0", "7.5", "1.7", "0", "1", "0"]),
        ),
    ] {
        check(
            &format!("officer {who:?} row today"),
            page.eval(&row(who)).await?,
            want,
        )?;
    }
    page.click("#span button[data-span='week']").await?;
    page.wait_js(
        "this week",
        "const c = document.querySelectorAll('#officers tbody tr[data-officer=\"lan\"] td'); return c.length > 2 && c[2].textContent === '3'",
        secs(10),
    )
    .await?;
    check(
        "lan this week",
        page.eval(&row("lan")).await?,
        json!(["lan", "3", "3", "0", "1.7", "5.0", "1", "0", "2"]),
    )?;
    let unsat = page
        .eval("const c = document.querySelector('#levels tbody tr[data-level=\"unsatisfied\"]').children; return [c[0].textContent, c[1].textContent, c[1].classList.contains('alert'), c[2].textContent]")
        .await?;
    check(
        "unsatisfied this week",
        unsat,
        json!(["Unsatisfied", "2", true, "40.0 %"]),
    )?;
    let reasons = page
        .eval("return [...document.querySelectorAll('#reasons tbody td')].map(c => c.textContent)")
        .await?;
    check(
        "reasons this week",
        reasons,
        json!(["rude", "1", "slow", "2"]),
    )?;
    page.close().await;
    Ok(())
}

/// The shared ratings fixture (officers lan and minh, the counter-1 tablet), with one
/// more reason and a tablet at counter 2.
const OFFICERS: &str = concat!(
    include_str!("fixtures/ratings.toml"),
    r#"
[[ratings.reasons]]
code = "rude"
vi = "Thái độ chưa tốt"

[[ratings.devices]]
counter = 2
credential = "tablet-2-secret"
"#
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_province_agrees_with_the_centers_daily_report() {
    if let Err(e) = agreement().await {
        panic!("{e}");
    }
}

async fn agreement() -> Result<(), String> {
    let stage = province::Stage::start("agree").await?;
    let col = &stage.col;
    let web = free_port();
    let uplink = format!(
        "host = \"127.0.0.1\"\nport = {}\nmetrics_interval_secs = 1\n",
        stage.broker.port
    );
    let site_dir = stage.tmp.path().join("site");
    std::fs::create_dir_all(&site_dir).map_err(|e| e.to_string())?;
    let text = site_config(SITE, &site_dir.join("store"), web, &uplink) + OFFICERS;
    let d = Daemon::start(&site_dir, &text, web).await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("http://127.0.0.1:{web}{p}");
    let post = |path: String, cred: &'static str, body: Value| {
        let r = http
            .post(url(&path))
            .bearer_auth(cred)
            .json(&body)
            .timeout(Duration::from_secs(5))
            .send();
        async move {
            r.await
                .map(|r| r.status().as_u16())
                .map_err(|e| format!("POST {path}: {e}"))
        }
    };
    let ok = |what: &str, got: u16, want: u16| check(what, got, want);
    for (n, cred, officer, pin) in [
        (1, "counter-1-secret", "lan", "4821"),
        (2, "counter-2-secret", "minh", "1357"),
    ] {
        ok(
            &format!("sign-in {officer}"),
            post(
                format!("/api/v1/counters/{n}/signin"),
                cred,
                json!({"officer": officer, "pin": pin}),
            )
            .await?,
            200,
        )?;
    }
    let issue = |s: &'static str| {
        let d = &d;
        async move {
            match d.issue(s).await {
                Some(_) => Ok(()),
                None => Err(format!("ticket {s} not issued; log:\n{}", d.log())),
            }
        }
    };
    let step = |n: u16, action: &'static str| {
        let d = &d;
        async move {
            match d.counter(n, action).await {
                Some(_) => Ok(()),
                None => Err(format!("counter {n} {action} failed; log:\n{}", d.log())),
            }
        }
    };
    let rate = |n: u16, level: &str, reasons: &[&str]| {
        let cred = if n == 1 {
            "tablet-1-secret"
        } else {
            "tablet-2-secret"
        };
        post(
            format!("/api/v1/counters/{n}/rating"),
            cred,
            json!({"level": level, "reasons": reasons, "dossier": ""}),
        )
    };
    // Each ticket is issued just before the counter meant to call it does.
    issue("A").await?;
    step(1, "next").await?;
    issue("B").await?;
    step(2, "next").await?;
    step(1, "recall").await?;
    step(1, "complete").await?;
    ok("rating 1", rate(1, "very_satisfied", &[]).await?, 201)?;
    step(2, "complete").await?;
    ok(
        "rating 2",
        rate(2, "unsatisfied", &["slow", "rude"]).await?,
        201,
    )?;
    issue("B").await?;
    step(2, "next").await?;
    step(2, "complete").await?;
    issue("A").await?;
    step(1, "next").await?;
    step(1, "skip").await?;
    // Nobody signed in at counter 1 any more: "no officer".
    ok(
        "sign-out lan",
        post(
            "/api/v1/counters/1/signout".into(),
            "counter-1-secret",
            json!({}),
        )
        .await?,
        200,
    )?;
    issue("A").await?;
    step(1, "next").await?;
    step(1, "complete").await?;
    ok("rating 3", rate(1, "satisfied", &[]).await?, 201)?;

    let board = http
        .get(url("/api/v1/reports/day"))
        .bearer_auth("admin-secret-1")
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json::<Value>()
        .await
        .map_err(|e| e.to_string())?;
    let report = &board["report"];
    check(
        "board ratings",
        report["total"]["ratings"]["total"].as_u64(),
        Some(3),
    )?;
    check(
        "board officers",
        report["officers"]
            .as_object()
            .map(|m| m.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["".into(), "lan".into(), "minh".into()]),
    )?;
    let day = report["day"].as_str().unwrap_or("").to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = Value::Null;
    while Instant::now() < deadline {
        if let Ok(p) = get(
            &http,
            &col.url(&format!("/api/sites/{SITE}/people?day={day}")),
        )
        .await
        {
            if p["officers"] == report["officers"] && p["ratings"] == report["total"]["ratings"] {
                let o = get(&http, &col.url("/api/overview")).await?;
                return check(
                    "overview ratings today",
                    o["ratings_today"].clone(),
                    report["total"]["ratings"].clone(),
                );
            }
            last = p;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(format!(
        "the province's officers and ratings of {day} differ from the center's report after 60 s:\nprovince {last}\nboard {report}\ncollector log:\n{}\nsite log:\n{}",
        col.log(),
        d.log()
    ))
}

/// A province database made by the previous layso (schema version 1): its site-days were
/// computed without ratings or officers. The new collector migrates it and computes
/// them again, so the dashboard shows the ratings of past days stored before the upgrade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn days_computed_before_the_upgrade_gain_their_ratings() {
    if let Err(e) = upgrade().await {
        panic!("{e}");
    }
}

async fn upgrade() -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let pg = postgres::Pg::start();
    let c = postgres::client(&pg.url()).await;
    c.batch_execute(concat!(
        "CREATE TABLE layso_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());",
        include_str!("../src/province/migrations/0001_init.sql"),
        "INSERT INTO layso_schema (version) VALUES (1);"
    ))
    .await
    .map_err(|e| format!("schema version 1: {e}"))?;
    seed(&pg.url()).await?;
    // What version 1 left: every site-day computed (no ratings columns), nothing dirty.
    c.batch_execute(
        "INSERT INTO site_day (site, day, issued, served, skipped, transferred, waits_ms, service_ms,
           per_service, per_counter, open_ms, up_ms, connected_ms, power_dips, power_dip_ms, uplink_dips,
           uplink_dip_ms, printer_trouble_ms, clock_unsync_share, outages, computed_at)
         SELECT DISTINCT site, day, 0, 0, 0, 0, '{}'::bigint[], '{}'::bigint[], '{}', '{}', 0, 0, 0, 0, 0, 0, 0, 0, 0, '[]', 1
           FROM events;
         DELETE FROM dirty_days;",
    )
    .await
    .map_err(|e| format!("version 1 figures: {e:?}"))?;
    let broker = Broker::start(&tmp.path().join("broker"), BrokerOptions::default());
    let col =
        province::Collector::start(&tmp.path().join("c"), "upgrade", broker.port, &pg.url()).await;
    let version: i32 = c
        .query_one("SELECT max(version) FROM layso_schema", &[])
        .await
        .map_err(|e| e.to_string())?
        .get(0);
    check("schema version after the upgrade", version, 2)?;
    let http = reqwest::Client::new();
    // Not today: the collector marks today dirty for every site on its own.
    let other = day_text(days().1);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = get(
            &http,
            &col.url(&format!("/api/sites/bt/people?day={other}")),
        )
        .await?;
        if v["ratings"]["total"] == 1 {
            return check(
                "bt's other day",
                (
                    levels(&v["ratings"]),
                    times(&v["officers"]["lan"]["service"]),
                ),
                (
                    vec![(0, 0.0), (0, 0.0), (1, 1.0)],
                    (1, Some(600), Some(600)),
                ),
            );
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the days stored before the upgrade were not computed again in 30 s: {v}\n{}",
                col.log()
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

//! The province dashboard in a real headless Chromium, served by the real collector over
//! a real PostgreSQL: every center in one table, filter, sort, the English toggle, a
//! center page with inline SVG charts and its outage list, the report link.
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
use mosquitto::now_ms;
use province::check;
use std::time::Duration;

/// Three centers: their status and latest metrics, and the events of today and the two
/// days before (tickets issued and called, a power cut); the collector's figures worker
/// computes the figures from them.
async fn seed(url: &str) {
    let c = postgres::client(url).await;
    let today = (now_ms() + 7 * 3_600_000) / 86_400_000;
    let now = now_ms();
    let sites = [
        ("bt", "Phường Bến Thành", true, 120i64, "ok"),
        ("tđ", "Phường Tân Định", false, 45, "paper_out"),
        ("q7", "Phường Tân Phong", true, 80, "ok"),
    ];
    for (i, (s, name, online, issued, printer)) in sites.iter().enumerate() {
        let metrics = format!(
            r#"{{"totals":{{"waiting":{}}},"printer":{{"state":"{printer}","detail":""}}}}"#,
            i + 3
        );
        c.execute(
            "INSERT INTO sites (site, province, name, online, status_at, last_heard, metrics, metrics_at)
             VALUES ($1, 'hcm', $2, $3, $4, $4, $5, $4)",
            &[s, name, online, &now, &metrics],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let (mut seqs, mut ats, mut days, mut kinds, mut bodies) =
            (vec![], vec![], vec![], vec![], vec![]);
        let mut seq = 0i64;
        for back in (0..3i64).rev() {
            let d = layso::core::time::Day((today - back) as i32).to_string();
            // Local 08:00 of that day.
            let base = (today - back) * 86_400_000 - 7 * 3_600_000 + 8 * 3_600_000;
            let mut push = |at: i64, kind: &str, ev: String| {
                seq += 1;
                seqs.push(seq);
                ats.push(at);
                days.push(d.clone());
                kinds.push(kind.to_string());
                bodies.push(format!(r#"{{"seq":{seq},"at":{at},"clock_ok":true,"day":"{d}","event":{{"kind":"{kind}"{ev}}}}}"#));
            };
            for k in 0..(issued - back * 10) {
                let t = format!("A{k:03}");
                push(
                    base + k * 10_000,
                    "ticket_issued",
                    format!(
                        r#","ticket":"{t}","service":"A","number":{k},"priority":false,"source":"kiosk""#
                    ),
                );
                push(
                    base + k * 10_000 + 300_000,
                    "ticket_called",
                    format!(r#","ticket":"{t}","service":"A","counter":1,"recall":0"#),
                );
            }
            if back == 1 && i == 1 {
                push(
                    base + 5_400_000,
                    "power_restored",
                    format!(
                        r#","down_from":{},"down_to":{}"#,
                        base + 3_600_000,
                        base + 5_400_000
                    ),
                );
            }
        }
        c.execute(
            "INSERT INTO events (site, seq, at, day, kind, clock_ok, body, received_at)
             SELECT $1, q, a, d, k, true, b, 0 FROM unnest($2::int8[], $3::int8[], $4::text[], $5::text[], $6::text[]) AS t(q, a, d, k, b)",
            &[s, &seqs, &ats, &days, &kinds, &bodies],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        c.execute(
            "INSERT INTO dirty_days SELECT DISTINCT $1::text, day FROM events WHERE site = $1 ON CONFLICT DO NOTHING",
            &[s],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_chromium() {
    if let Err(e) = run().await {
        panic!("{e}");
    }
}

async fn run() -> Result<(), String> {
    chromium::require_chromium()?;
    let stage = province::Stage::start("dash").await?;
    let (pg, col) = (&stage.pg, &stage.col);
    seed(&pg.url()).await;
    let secs = Duration::from_secs;
    let mut driver = Driver::start().await?;
    let page = driver.session(1280, 800).await?;
    // The figures worker computes within a few seconds; the page refreshes every 15 s.
    col.poll_json("/api/overview", 100, |v| {
        v["sites"].as_array().is_some_and(|a| {
            a.iter()
                .all(|s| s["tickets_today"].as_i64().unwrap_or(0) > 0)
        })
    })
    .await?;
    page.open(
        &col.url("/"),
        "3 rows",
        "return document.querySelectorAll('#sites tbody tr').length === 3",
        secs(10),
    )
    .await?;
    check(
        "first header, in Vietnamese",
        page.text("#sites thead th").await?,
        "Trung tâm",
    )?;
    check(
        "first center, sorted by name",
        page.text("#sites tbody tr td a").await?,
        "Phường Bến Thành",
    )?;
    check(
        "centers offline",
        page.eval("return [...document.querySelectorAll('#sites tbody tr')].filter(r => r.children[1].classList.contains('off')).length")
            .await?,
        1,
    )?;
    // Filter by name.
    page.type_into("#filter", "Tân").await?;
    page.wait_js(
        "2 rows after filtering",
        "return document.querySelectorAll('#sites tbody tr').length === 2",
        secs(5),
    )
    .await?;
    page.eval("const f = document.querySelector('#filter'); f.value = ''; f.dispatchEvent(new Event('input')); return true")
        .await?;
    // Sort by tickets today, twice: descending.
    page.click("th[data-k='tickets_today']").await?;
    page.click("th[data-k='tickets_today']").await?;
    check(
        "most tickets first after sorting descending",
        page.eval("return document.querySelector('#sites tbody tr').dataset.site")
            .await?,
        "bt",
    )?;
    check(
        "tickets today of bt",
        page.eval("return document.querySelector('#sites tbody tr').children[3].textContent")
            .await?,
        "120",
    )?;
    // English.
    page.click("#lang").await?;
    page.wait_js(
        "English headers",
        "return document.querySelector('#sites thead th').textContent === 'Center'",
        secs(5),
    )
    .await?;
    let href = page
        .eval("return document.querySelector('#xlsx').getAttribute('href')")
        .await?;
    if !href
        .as_str()
        .unwrap_or("")
        .starts_with("/report?format=xlsx&week=")
    {
        return Err(format!("report link: {href}"));
    }
    // The center page: inline SVG charts and the outage list (still in English).
    page.open(
        &col.url("/site/t%C4%91"),
        "charts",
        "return document.querySelectorAll('#c_tickets svg rect.bar').length === 3",
        secs(10),
    )
    .await?;
    check(
        "the power outage listed",
        page.text("#outages tbody td").await?,
        "Power",
    )?;
    check(
        "external assets",
        page.eval(
            "return [...document.querySelectorAll('script[src],link[href],img[src]')].length",
        )
        .await?,
        0,
    )?;
    page.close().await;
    Ok(())
}

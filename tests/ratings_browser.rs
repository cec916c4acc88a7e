//! End to end through headless Chromium: an officer signs in on the counter page, calls
//! and completes a ticket; the rating tablet wakes, the citizen taps "Chưa hài lòng" and
//! a reason; the status page shows the alert; the report page shows the rating and the
//! officer. Then: a tablet left unanswered for 30 s goes back to idle and records nothing.

#[path = "support/chromium.rs"]
mod chromium;
#[path = "support/pages_daemon.rs"]
mod daemon;

use chromium::{Driver, Page};
use daemon::Daemon;
use std::time::Duration;

/// Screenshots for review land next to the other pages' in target/screenshots/.
async fn shot(page: &Page, name: &str) -> Result<(), String> {
    page.shot(name).await
}

fn configure(cfg: &mut toml::Table) -> Result<(), String> {
    // Nobody works anonymously here; officers, reasons and the counter-1 tablet are the
    // shared ratings fixture.
    let extra: toml::Table = concat!(
        "[ratings]\nallow_anonymous_counters = false\nhead_counter = 3\n\n",
        include_str!("fixtures/ratings.toml")
    )
    .parse()
    .map_err(|e| format!("test TOML: {e}"))?;
    cfg.extend(extra);
    Ok(())
}

/// Send `req` and read its JSON body; the errors name `what`.
async fn json_of(req: reqwest::RequestBuilder, what: &str) -> Result<serde_json::Value, String> {
    let r = req.send().await.map_err(|e| format!("{what}: {e}"))?;
    r.json().await.map_err(|e| format!("{what} body: {e}"))
}

async fn issue(base: &str) -> Result<String, String> {
    let v = json_of(
        reqwest::Client::new()
            .post(format!("{base}/api/v1/tickets"))
            .json(&serde_json::json!({"service": "A"})),
        "issue",
    )
    .await?;
    Ok(v["ticket"]["ticket"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

async fn shown(page: &Page, id: &str, secs: u64) -> Result<(), String> {
    page.wait_js(
        &format!("#{id} to show"),
        &format!("const e = document.getElementById('{id}'); return e && !e.hidden;"),
        Duration::from_secs(secs),
    )
    .await
    .map(|_| ())
}

async fn run(base: &str) -> Result<(), String> {
    let mut driver = Driver::start().await?;
    let desk = driver.session(1280, 800).await?;
    let tablet = driver.session(1280, 800).await?;

    // The tablet: its own credential, then idle.
    tablet.goto(&format!("{base}/rate/1")).await?;
    shown(&tablet, "rate-login", 10).await?;
    tablet
        .type_into("#rate-credential", "tablet-1-secret")
        .await?;
    tablet.click("#rate-login-submit").await?;
    shown(&tablet, "idle", 10).await?;

    let first = issue(base).await?;
    let second = issue(base).await?;

    // The counter: counter credential, then the officer with id and PIN.
    desk.goto(&format!("{base}/counter/1")).await?;
    shown(&desk, "login-form", 10).await?;
    desk.type_into("#credential", "counter1-dev").await?;
    desk.click("#login-submit").await?;
    shown(&desk, "officer-form", 10).await?;
    desk.type_into("#officer-id", "lan").await?;
    desk.type_into("#officer-pin", "0000").await?;
    desk.click("#officer-signin").await?;
    shown(&desk, "officer-error", 10).await?;
    desk.type_into("#officer-pin", "4821").await?;
    desk.click("#officer-signin").await?;
    desk.wait_js(
        "the officer's name on the counter page",
        "return document.getElementById('officer-status').textContent.includes('Nguyễn Thị Lan')",
        Duration::from_secs(10),
    )
    .await?;

    // Call and complete from the page.
    desk.press_key('n').await?;
    desk.wait_js(
        "the first ticket called",
        &format!(
            "return document.getElementById('current-ticket').textContent.trim() === '{first}'"
        ),
        Duration::from_secs(10),
    )
    .await?;
    desk.click("#btn-complete").await?;

    // The tablet wakes on the completion and asks.
    shown(&tablet, "ask", 10).await?;
    shot(&tablet, "rate-ask-1280x800").await?;
    shot(&desk, "counter-officer-1280x800").await?;
    let asked = tablet.text("#ask-ticket").await?;
    if asked != first {
        return Err(format!("tablet asks about {asked:?}, expected {first}"));
    }
    let big = tablet
        .eval("const r = document.getElementById('rate-very_satisfied').getBoundingClientRect(); return [r.width, r.height];")
        .await?;
    if big[0].as_f64().unwrap_or(0.0) < 250.0 || big[1].as_f64().unwrap_or(0.0) < 250.0 {
        return Err(format!(
            "rating buttons should be large on a tablet, got {big}"
        ));
    }
    tablet.click("#rate-unsatisfied").await?;
    shown(&tablet, "why", 10).await?;
    shot(&tablet, "rate-reasons-1280x800").await?;
    tablet.click(".r-reason[data-code='slow']").await?;
    tablet.click("#why-send").await?;
    shown(&tablet, "thanks", 10).await?;
    shot(&tablet, "rate-thanks-1280x800").await?;
    let detail = tablet.text("#thanks-detail").await?;
    if !detail.is_empty() {
        return Err(format!("the rating was refused: {detail}"));
    }
    shown(&tablet, "idle", 10).await?;

    // The status page shows the unsatisfied alert, and so does the counter page of the
    // center's head (counter 3).
    for (path, credential, what, script) in [
        (
            "status",
            "admin-dev",
            "the unsatisfied alert on the status page",
            format!("const e = document.getElementById('ratings-alerts'); return e && !e.hidden && e.textContent.includes('{first}') && e.textContent.includes('slow');"),
        ),
        (
            "counter/3",
            "counter3-dev",
            "the unsatisfied alert on the head's counter page",
            format!("const e = document.getElementById('head-alerts'); return e && !e.hidden && e.textContent.includes('{first}');"),
        ),
    ] {
        desk.goto(&format!("{base}/{path}")).await?;
        shown(&desk, "login-form", 10).await?;
        desk.sign_in(credential, what, &script, Duration::from_secs(10))
            .await?;
    }

    // The report page shows it, per level and per officer.
    desk.goto(&format!("{base}/report")).await?;
    shown(&desk, "login-form", 10).await?;
    desk.type_into("#credential", "admin-dev").await?;
    desk.click("#login-submit").await?;
    shown(&desk, "panel", 10).await?;
    desk.wait_js(
        "the rating in the report",
        "const t = document.getElementById('ratings').textContent; \
         const o = document.getElementById('officers').textContent; \
         const r = document.getElementById('reasons').textContent; \
         return t.includes('Chưa hài lòng') && t.includes('100 %') && o.includes('Nguyễn Thị Lan') && r.includes('Chờ quá lâu');",
        Duration::from_secs(10),
    )
    .await?;
    shot(&desk, "report-1280x800").await?;

    // Nobody answers: after 30 s the tablet is idle again and nothing was recorded.
    desk.goto(&format!("{base}/counter/1")).await?;
    shown(&desk, "desk", 10).await?;
    desk.click("#btn-next").await?;
    let called = desk.wait_js(
        "the second ticket called",
        &format!("return document.getElementById('current-ticket').textContent.trim() === '{second}'"),
        Duration::from_secs(10),
    )
    .await;
    if let Err(e) = called {
        let why = desk.eval("return [document.getElementById('current-ticket').textContent, document.getElementById('message').textContent, document.getElementById('desk').hidden, location.href]").await?;
        let c = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| e.to_string())?;
        let st = c
            .get(format!("{base}/api/v1/state"))
            .send()
            .await
            .map(|r| r.status().to_string())
            .map_err(|e| e.to_string());
        let nx = c
            .post(format!("{base}/api/v1/counters/1/next"))
            .bearer_auth("counter1-dev")
            .send()
            .await;
        let nx = match nx {
            Ok(r) => r.text().await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        return Err(format!("{e}: page shows {why}; state {st:?}; next {nx:?}"));
    }
    desk.click("#btn-complete").await?;
    shown(&tablet, "ask", 10).await?;
    tokio::time::sleep(Duration::from_secs(29)).await;
    if !tablet.visible("#ask").await? {
        return Err("the tablet left the question before 30 s".into());
    }
    shown(&tablet, "idle", 5).await?;
    let v = json_of(
        reqwest::Client::new()
            .get(format!("{base}/api/v1/counters/1/rating"))
            .bearer_auth("tablet-1-secret"),
        "rating target",
    )
    .await?;
    if v["ratable"]["ticket"] != second.as_str() {
        return Err(format!(
            "{second} should still be unrated after the timeout: {v}"
        ));
    }
    desk.close().await;
    tablet.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officer_rating_and_report_in_headless_chromium() {
    if let Err(e) = chromium::require_chromium() {
        panic!("{e}");
    }
    let daemon = match Daemon::start(configure) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    if let Err(e) = run(&daemon.base).await {
        panic!("{e}\n--- daemon log ---\n{}", daemon.log());
    }
}

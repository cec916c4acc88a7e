//! The hall display speaks the call when `[voice] where = "display"`: headless Chromium
//! (autoplay allowed by its flag) fetches `/api/v1/announcements/{seq}.wav` from the real
//! daemon on a counter's call and plays it to the end; the board does not speak.

#[path = "support/chromium.rs"]
mod chromium;
#[path = "support/pages_daemon.rs"]
mod daemon;

use std::process::Command;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn display_page_plays_the_announcement() -> Result<(), String> {
    let packs = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let pack = packs.path().join("pack");
    let out = Command::new(env!("CARGO_BIN_EXE_layso"))
        .args(["voice", "build-pack", "--out"])
        .arg(&pack)
        .output()
        .map_err(|e| format!("run build-pack: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "build-pack failed (install espeak-ng: apt-get install espeak-ng): {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let pack_path = pack.display().to_string();
    let d = daemon::Daemon::start(move |root| {
        let mut v = toml::Table::new();
        v.insert("where".into(), "display".into());
        v.insert("pack".into(), pack_path.into());
        root.insert("voice".into(), v.into());
        Ok(())
    })?;
    let mut driver = chromium::Driver::start().await?;
    let page = driver.session(1280, 720).await?;
    page.open(
        &d.url("/display"),
        "the display to load the state",
        "return document.readyState === 'complete' && window.LaysoVoice !== undefined",
        Duration::from_secs(10),
    )
    .await?;
    // Let the snapshot and the event stream connect before the call.
    tokio::time::sleep(Duration::from_millis(800)).await;

    let client = reqwest::Client::new();
    d.issue(&client, "A").await?;
    let called = daemon::counter_at(&client, &d.base, 1, "next").await?;
    let seq = called["events"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["event"]["kind"] == "ticket_called"))
        .and_then(|e| e["seq"].as_u64())
        .ok_or_else(|| format!("no ticket_called in {called}"))?;

    // The page asked for that call's announcement and played it to its end.
    page.wait_js(
        "the announcement to play to the end",
        &format!("return window.LaysoVoice.ended.indexOf({seq}) >= 0 || (window.LaysoVoice.errors.length ? 'error' : false)"),
        Duration::from_secs(30),
    )
    .await
    .and_then(|v| if v == "error" { Err(format!("the page could not play it: {v}")) } else { Ok(v) })?;
    let voice = page.eval("return window.LaysoVoice").await?;
    if voice["requested"] != serde_json::json!([seq]) || voice["errors"] != serde_json::json!([]) {
        return Err(format!("expected exactly one request for {seq}: {voice}"));
    }
    // The server saw the fetch, and served a WAV for it.
    let log = d.plain_log();
    if !log.contains("announcement served to the display") || !log.contains(&format!("seq={seq}")) {
        return Err(format!(
            "the daemon did not serve announcement {seq}; log:\n{log}"
        ));
    }
    let r = client
        .get(d.url(&format!("/api/v1/announcements/{seq}.wav")))
        .send()
        .await
        .map_err(|e| format!("get wav: {e}"))?;
    let ct = r.headers().get("content-type").cloned();
    let body = r.bytes().await.map_err(|e| format!("wav body: {e}"))?;
    let is_wav = ct.as_ref().is_some_and(|v| v == "audio/wav");
    if !is_wav || !body.starts_with(b"RIFF") || body.len() < 50_000 {
        return Err(format!(
            "not a WAV announcement: {ct:?}, {} bytes",
            body.len()
        ));
    }
    // Not a call: a clear 404.
    let r = client
        .get(d.url("/api/v1/announcements/1.wav"))
        .send()
        .await
        .map_err(|e| format!("get: {e}"))?;
    if r.status() != 404 {
        return Err(format!("entry 1 is not a call; got {}", r.status()));
    }
    page.close().await;
    Ok(())
}

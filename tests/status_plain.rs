//! The status page (real headless Chromium, TZ=UTC) and `layso status` (the real binary)
//! in three states of a real daemon: healthy (printer emulator ready, real Mosquitto
//! connected), broker down with a backlog (Mosquitto killed, tickets issued), printer out
//! of paper (emulator reports it). Vietnamese mode shows no raw JSON and no English key
//! names; times are in the site's zone (+07:00), not the browser's (UTC); every problem
//! has its code and what to do; the CLI exits 0 healthy / 1 needs attention / 3 daemon down.

#[path = "support/chromium.rs"]
mod chromium;
#[path = "support/mosquitto.rs"]
mod mosquitto;
#[path = "support/pages_daemon.rs"]
mod pages_daemon;
#[path = "support/printer_emu/mod.rs"]
mod printer_emu;
#[path = "support/wall.rs"]
mod wall;

use chromium::{Driver, Page};
use layso::devices::printer::PrinterState;
use mosquitto::{Broker, BrokerOptions};
use pages_daemon::Daemon;
use printer_emu::Emulator;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// English words and internal key names that must not show in Vietnamese mode (technical
/// details in `.tech` elements are excluded: those are the OS's own words, kept on purpose;
/// so are the problem codes in `.code`, e.g. `UPL-UNREACHABLE`, which are look-up keys).
const NOT_IN_VIETNAMESE: &[&str] = &[
    "backlog",
    "client_id",
    "connected_since",
    "down_since",
    "in_flight",
    "published_seq",
    "refusing",
    "topic_root",
    "last_error",
    "paper_out",
    "paper",
    "printer",
    "connected",
    "error",
    "refused",
    "unreachable",
    "status",
    "ready",
    "true",
    "false",
    "null",
    "undefined",
    "NaN",
    "ok",
    "open",
    "closed",
];

const SITE_OFFSET_MIN: i64 = 7 * 60;

fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(msg())
    }
}

/// `dd/mm HH:MM` of `ms` shifted by `offset_min` (what the page must show for the site zone).
fn dd_mm_hh_mm(ms: i64, offset_min: i64) -> String {
    let w = wall::wall(ms, offset_min);
    format!("{:02}/{:02} {:02}:{:02}", w.day, w.month, w.hour, w.minute)
}

/// Runs `layso status` against the daemon's config: (exit code, stdout, stderr).
fn layso_status(config: &Path, extra: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_layso"))
        .arg("status")
        .arg("--config")
        .arg(config)
        .args(extra)
        .output();
    match out {
        Ok(o) => (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        ),
        Err(e) => (-1, String::new(), format!("cannot run layso status: {e}")),
    }
}

/// `layso status` exits with `code` and its output holds every line of `wants`
/// (`scenario` names the case in a failure).
fn status_says(config: &Path, code: i32, scenario: &str, wants: &[&str]) -> Result<(), String> {
    let (got, out, err) = layso_status(config, &[]);
    ensure(got == code, || {
        format!("{scenario}: layso status exit {got} (want {code})\n{out}{err}")
    })?;
    for want in wants {
        ensure(out.contains(want), || {
            format!("{scenario}: layso status lacks {want:?}:\n{out}")
        })?;
    }
    Ok(())
}

async fn state(client: &reqwest::Client, d: &Daemon) -> Result<Value, String> {
    client
        .get(d.url("/api/v1/state"))
        .send()
        .await
        .map_err(|e| format!("GET /api/v1/state: {e}"))?
        .json()
        .await
        .map_err(|e| format!("state is not JSON: {e}"))
}

/// The state must match docs/schemas/state.json (the documented plain-language fields).
fn check_schema(s: &Value, what: &str) -> Result<(), String> {
    let v = mosquitto::schema("state");
    let errors: Vec<String> = v
        .iter_errors(s)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    ensure(errors.is_empty(), || {
        format!("{what}: the state does not match docs/schemas/state.json: {errors:#?}\n{s}")
    })
}

fn codes(s: &Value) -> Vec<String> {
    s["health"]["problems"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["code"].as_str().map(str::to_string))
        .collect()
}

/// Polls the state until `ready` holds (bounded).
async fn wait_state(
    client: &reqwest::Client,
    d: &Daemon,
    what: &str,
    limit: Duration,
    ready: impl Fn(&Value) -> bool,
) -> Result<Value, String> {
    let deadline = Instant::now() + limit;
    loop {
        let s = state(client, d).await?;
        if ready(&s) {
            check_schema(&s, what)?;
            return Ok(s);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "timed out after {limit:?} waiting for {what}; last state: {s}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The visible words of the status panel, without the technical-detail elements.
const PANEL_WORDS: &str = r#"
const out = [];
const root = document.getElementById(arguments[0] || 'panel');
const w = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
while (w.nextNode()) {
  const n = w.currentNode;
  const el = n.parentElement;
  if (el.closest('.tech') || el.closest('.code') || el.closest('[hidden]')) continue;
  if (n.nodeValue.trim()) out.push(n.nodeValue.trim());
}
return out.join(' | ');
"#;

async fn words(page: &Page, root: &str) -> Result<String, String> {
    let v = page
        .client
        .execute(PANEL_WORDS, vec![Value::String(root.into())])
        .await
        .map_err(|e| format!("read the words of #{root}: {e}"))?;
    Ok(v.as_str().unwrap_or_default().to_string())
}

/// No raw JSON, no key names, no English words in the Vietnamese page.
fn check_plain(text: &str, where_: &str) -> Result<(), String> {
    ensure(!text.contains('{') && !text.contains('}'), || {
        format!("{where_} shows raw JSON: {text}")
    })?;
    let lower = text.to_lowercase();
    for w in NOT_IN_VIETNAMESE {
        let w = w.to_lowercase();
        let hit = lower.match_indices(&w).any(|(i, _)| {
            let before = lower[..i].chars().next_back();
            let after = lower[i + w.len()..].chars().next();
            let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric() && c != '_');
            boundary(before) && boundary(after)
        });
        ensure(!hit, || {
            format!("{where_} shows the English/internal word {w:?} in Vietnamese mode: {text}")
        })?;
    }
    Ok(())
}

async fn sign_in_status(page: &Page, d: &Daemon) -> Result<(), String> {
    page.open_sign_in(&d.url("/status"), Duration::from_secs(10))
        .await?;
    page.sign_in(
        "admin-dev",
        "the status panel",
        "return !document.getElementById('panel').hidden && document.querySelectorAll('#problems li').length > 0",
        Duration::from_secs(10),
    )
    .await?;
    Ok(())
}

/// Screenshots for review land next to the other pages' in target/screenshots/.
async fn shot(page: &Page, name: &str) -> Result<(), String> {
    page.shot(name).await
}

async fn wait_page(page: &Page, what: &str, script: &str) -> Result<(), String> {
    // The page refreshes on each event and every 10 s (uplink changes are not events).
    page.wait_js(what, script, Duration::from_secs(30))
        .await
        .map(|_| ())
}

/// Waits for the status page to show `script`, then checks its panel is plain
/// Vietnamese (as `name`) and takes screenshot `shot_name`; the panel's words.
async fn settled(
    page: &Page,
    what: &str,
    script: &str,
    name: &str,
    shot_name: &str,
    wants: &[&str],
) -> Result<String, String> {
    wait_page(page, what, script).await?;
    let text = words(page, "panel").await?;
    check_plain(&text, name)?;
    shot(page, shot_name).await?;
    for want in wants {
        ensure(text.contains(want), || {
            format!("{name} lacks {want:?}: {text}")
        })?;
    }
    Ok(text)
}

async fn healthy(
    client: &reqwest::Client,
    d: &Daemon,
    page: &Page,
    config: &Path,
) -> Result<(), String> {
    let s = wait_state(
        client,
        d,
        "a healthy daemon",
        Duration::from_secs(30),
        |s| {
            s["health"]["ok"] == Value::Bool(true)
                && s["devices"][0]["state"] == "ok"
                && s["uplink_summary"]["connected"] == Value::Bool(true)
        },
    )
    .await?;
    status_says(
        config,
        0,
        "healthy",
        &[
            "Tình trạng: TỐT",
            "Máy in phiếu: Bình thường — Sẵn sàng",
            "Đã kết nối",
            "Đã gửi hết",
            "Quầy 1: Đang mở",
        ],
    )?;
    let (code, out, _) = layso_status(config, &["--lang", "en"]);
    ensure(code == 0 && out.contains("Health: OK"), || {
        format!("healthy, English: exit {code}\n{out}")
    })?;

    sign_in_status(page, d).await?;
    let text = settled(
        page,
        "the healthy page",
        "return document.querySelector('#problems li.none') && document.getElementById('uplink').textContent.includes('Đã kết nối')",
        "healthy status page",
        "status-healthy",
        &["Mọi thứ bình thường"],
    )
    .await?;
    // The site's zone, not the browser's (Chromium runs with TZ=UTC).
    let tz = page
        .eval("return new Date().getTimezoneOffset()")
        .await?
        .as_i64();
    ensure(tz == Some(0), || {
        format!("Chromium should run in UTC, offset {tz:?}")
    })?;
    let started = s["started_at"].as_i64().unwrap_or(0);
    let site = dd_mm_hh_mm(started, SITE_OFFSET_MIN);
    let utc = dd_mm_hh_mm(started, 0);
    ensure(text.contains(&site) && !text.contains(&utc), || {
        format!("start time should read {site} (site zone), not {utc} (UTC): {text}")
    })?;
    ensure(text.contains("UTC+07:00"), || {
        format!("the site's zone should be shown: {text}")
    })
}

async fn broker_down(
    client: &reqwest::Client,
    d: &Daemon,
    page: &Page,
    config: &Path,
    broker: &mut Broker,
) -> Result<(), String> {
    broker.kill();
    for _ in 0..3 {
        d.issue(client, "A").await?;
    }
    wait_state(
        client,
        d,
        "the broker-down state",
        Duration::from_secs(30),
        |s| {
            codes(s).iter().any(|c| c == "UPL-UNREACHABLE")
                && s["uplink_summary"]["backlog_count"].as_u64() >= Some(3)
        },
    )
    .await?;
    status_says(
        config,
        1,
        "broker down",
        &[
            "Tình trạng: CẦN XỬ LÝ",
            "[UPL-UNREACHABLE] Không kết nối được máy chủ tỉnh",
            "Kiểm tra đường truyền Internet; hệ thống giữ mọi số liệu",
            "bản ghi chưa gửi, cũ nhất",
            "Mất kết nối từ",
            "chi tiết: I/O:",
        ],
    )?;
    let (code, out, _) = layso_status(config, &["--json"]);
    let doc: Value = serde_json::from_str(&out).map_err(|e| format!("--json: {e}\n{out}"))?;
    ensure(
        code == 1 && doc["health"]["ok"] == Value::Bool(false),
        || format!("--json: exit {code}, health {}", doc["health"]),
    )?;

    settled(
        page,
        "the broker-down page",
        "return document.querySelector('#problems li[data-code=\"UPL-UNREACHABLE\"]') && document.getElementById('uplink').textContent.includes('bản ghi chưa gửi')",
        "broker-down status page",
        "status-broker-down",
        &[
            "Không kết nối được máy chủ tỉnh",
            "Cần làm: Kiểm tra đường truyền Internet",
            "bản ghi chưa gửi, cũ nhất",
            "Mất kết nối",
        ],
    )
    .await?;
    // The OS's words are kept for the technician, after the sentence.
    let tech = page
        .eval("return Array.from(document.querySelectorAll('#uplink .tech')).map(e => e.textContent).join(' ')")
        .await?;
    ensure(
        tech.as_str()
            .unwrap_or_default()
            .contains("Connection refused"),
        || format!("the uplink's OS error should be kept: {tech}"),
    )
}

async fn paper_out(
    client: &reqwest::Client,
    d: &Daemon,
    page: &Page,
    config: &Path,
    broker: &mut Broker,
    emu: &Emulator,
) -> Result<(), String> {
    broker.restart();
    emu.set_state(PrinterState::PaperOut);
    wait_state(
        client,
        d,
        "paper out with the broker back",
        Duration::from_secs(90),
        |s| codes(s) == ["PRN-PAPER-OUT"],
    )
    .await?;
    status_says(
        config,
        1,
        "paper out",
        &[
            "[PRN-PAPER-OUT] Máy in phiếu: hết giấy",
            "→ Cần làm: Thay cuộn giấy.",
            "Máy in phiếu: Hết giấy",
        ],
    )?;
    let (_, out, _) = layso_status(config, &["--lang", "en"]);
    ensure(out.contains("To do: Put in a new paper roll."), || {
        format!("paper out, English:\n{out}")
    })?;

    // Live: the broker is back, so the uplink problem leaves the page without a reload.
    settled(
        page,
        "the paper-out page",
        "return document.querySelector('#problems li[data-code=\"PRN-PAPER-OUT\"]') && document.getElementById('devices').textContent.includes('Hết giấy') && !document.querySelector('#problems li[data-code=\"UPL-UNREACHABLE\"]') && document.getElementById('uplink').textContent.includes('Đã kết nối')",
        "paper-out status page",
        "status-paper-out",
        &["Cần làm: Thay cuộn giấy."],
    )
    .await?;
    // English with the toggle.
    page.click(".lang-toggle").await?;
    wait_page(
        page,
        "the English page",
        "return document.getElementById('problems').textContent.includes('Put in a new paper roll.') && document.getElementById('devices').textContent.includes('Out of paper')",
    )
    .await?;
    page.click(".lang-toggle").await?;

    // The counter page tells staff the same, in Vietnamese.
    page.open_sign_in(&d.url("/counter/1"), Duration::from_secs(10))
        .await?;
    page.type_into("#credential", "counter1-dev").await?;
    page.click("#login-submit").await?;
    wait_page(
        page,
        "the counter's printer line",
        "return document.getElementById('printer-state').textContent.includes('Hết giấy')",
    )
    .await?;
    let line = page.text("#printer-state").await?;
    check_plain(&line, "counter page printer line")?;
    ensure(line.contains("Thay cuộn giấy"), || {
        format!("counter page should say what to do: {line}")
    })
}

/// The tests here run one at a time: the three-state test sets environment variables for
/// its children, which must not race another test spawning processes.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_page_and_cli_speak_plainly_in_three_states() {
    let _one = ONE_AT_A_TIME.lock().await;
    // Set before any child starts: Chromium runs in UTC to prove the page uses the site's
    // zone; the daemon counts its clock as synchronized (containers often lack NTP), so
    // "healthy" really is healthy.
    std::env::set_var("TZ", "UTC");
    std::env::set_var("LAYSO_TEST_ASSUME_CLOCK_SYNCED", "1");
    if let Err(e) = chromium::require_chromium() {
        panic!("{e}");
    }
    // The schema check can fail: a state without the plain-language fields does.
    assert!(
        check_schema(&serde_json::json!({"health": {"ok": true}}), "self-check").is_err(),
        "docs/schemas/state.json should refuse a state without its required fields"
    );
    let tmp = match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => panic!("temp dir: {e}"),
    };
    let mut broker = Broker::start(&tmp.path().join("broker"), BrokerOptions::default());
    let emu = match Emulator::tcp(0, 576, "status-plain") {
        Ok(e) => e,
        Err(e) => panic!("printer emulator: {e}"),
    };
    let (emu_port, broker_port) = (emu.port(), broker.port);
    let mut daemon = match Daemon::start(move |cfg| {
        let printer = cfg
            .get_mut("printer")
            .and_then(|v| v.as_table_mut())
            .ok_or("config/dev.toml has no [printer]")?;
        printer.remove("path");
        printer.insert("transport".into(), "tcp".into());
        printer.insert("host".into(), "127.0.0.1".into());
        printer.insert("port".into(), i64::from(emu_port).into());
        printer.insert("poll_interval_ms".into(), 300.into());
        let uplink = cfg
            .get_mut("uplink")
            .and_then(|v| v.as_table_mut())
            .ok_or("config/dev.toml has no [uplink]")?;
        uplink.insert("port".into(), i64::from(broker_port).into());
        // No speaker on this test bench: a missing voice pack would (rightly) need attention.
        cfg.remove("voice");
        Ok(())
    }) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let config = daemon.dir.path().join("layso.toml");
    let client = reqwest::Client::new();
    let mut driver = match Driver::start().await {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let page = match driver.session(1280, 900).await {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    let mut result = healthy(&client, &daemon, &page, &config).await;
    if result.is_ok() {
        result = broker_down(&client, &daemon, &page, &config, &mut broker).await;
    }
    if result.is_ok() {
        result = paper_out(&client, &daemon, &page, &config, &mut broker, &emu).await;
    }
    page.close().await;
    if let Err(e) = result {
        panic!(
            "{e}\n--- daemon log ---\n{}\n--- broker log ---\n{}",
            daemon.log(),
            broker.log()
        );
    }
    // The daemon gone: exit 3 with a hint.
    daemon.kill();
    let (code, _, err) = layso_status(&config, &[]);
    assert_eq!(code, 3, "daemon down: exit {code}, {err}");
    assert!(err.contains("Is the daemon running?"), "{err}");
}

/// Bad usage or configuration: exit 2 with what is wrong.
#[test]
fn status_cli_bad_config_or_usage_exits_2() {
    let _one = ONE_AT_A_TIME.blocking_lock();
    let tmp = match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => panic!("temp dir: {e}"),
    };
    let missing = tmp.path().join("no-such.toml");
    let (code, _, err) = layso_status(&missing, &[]);
    assert_eq!(code, 2, "missing config: exit {code}, {err}");
    assert!(err.contains("cannot read the daemon's address"), "{err}");

    let port = match pages_daemon::free_port() {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    let text = match pages_daemon::dev_config(tmp.path(), port, |_| Ok(())) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    };
    let config = tmp.path().join("layso.toml");
    if let Err(e) = std::fs::write(&config, text) {
        panic!("write config: {e}");
    }
    let (code, _, err) = layso_status(&config, &["--lang", "fr"]);
    assert_eq!(code, 2, "unknown language: exit {code}, {err}");
    assert!(err.contains("use --lang vi or --lang en"), "{err}");
    // Nothing listens on that port: exit 3.
    let (code, _, err) = layso_status(&config, &[]);
    assert_eq!(code, 3, "no daemon: exit {code}, {err}");
}

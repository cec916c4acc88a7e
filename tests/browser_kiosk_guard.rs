//! In a real headless Chromium: the kiosk reprints its ticket once with the button on the
//! issued-number screen, and a page served from another origin can issue no ticket (a
//! form post, `no-cors` fetches and a JSON fetch that needs a CORS preflight).

#[path = "support/chromium.rs"]
mod chromium;
#[path = "support/pages_daemon.rs"]
mod daemon;

use chromium::Driver;
use daemon::Daemon;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

fn start() -> Daemon {
    if let Err(e) = chromium::require_chromium() {
        panic!("{e}");
    }
    match Daemon::start(|_| Ok(())) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    }
}

fn printed_bytes(d: &Daemon) -> u64 {
    std::fs::metadata(d.dir.path().join("printer.bin")).map_or(0, |m| m.len())
}

/// Waits until the printer file has grown past `above` and stopped growing.
async fn printed_past(d: &Daemon, above: u64, what: &str) -> Result<u64, String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = 0;
    while Instant::now() < deadline {
        let now = printed_bytes(d);
        if now > above && now == last {
            return Ok(now);
        }
        last = now;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("{what}: the printer file stayed at {last} bytes"))
}

async fn waiting(d: &Daemon) -> u64 {
    let v: serde_json::Value = match reqwest::get(d.url("/api/v1/state")).await {
        Ok(r) => r.json().await.unwrap_or_default(),
        Err(_) => serde_json::Value::Null,
    };
    v["services"]
        .as_array()
        .map(|s| s.iter().filter_map(|s| s["waiting"].as_u64()).sum())
        .unwrap_or(u64::MAX)
}

async fn reprint_flow(d: &Daemon) -> Result<(), String> {
    let secs = Duration::from_secs;
    let mut driver = Driver::start().await?;
    let kiosk = driver.session(800, 480).await?;
    kiosk.open_kiosk(&d.url("/kiosk")).await?;
    kiosk.issue_on_kiosk("A").await?;
    let reprint = "the reprint button on the issued-number screen";
    let label = kiosk.shown_text("issued-reprint", reprint, secs(5)).await?;
    if label != "In lại vé" {
        return Err(format!(
            "reprint button reads {label:?}, expected \"In lại vé\""
        ));
    }
    kiosk
        .eval_is(
            "const c = document.querySelector('.issued-card').getBoundingClientRect(); return c.top >= 0 && c.bottom <= window.innerHeight;",
            true.into(),
            "the issued-number card with its reprint button must fit 800x480",
        )
        .await?;
    let once = printed_past(d, 0, "the ticket").await?;
    kiosk.click("#issued-reprint").await?;
    let twice = printed_past(d, once, "the reprint").await?;
    if twice < once * 2 - once / 10 {
        return Err(format!(
            "reprint wrote {} bytes after a ticket of {once}",
            twice - once
        ));
    }
    kiosk
        .wait_js(
            "the reprint button to go away after one reprint",
            "return document.getElementById('issued-reprint').hidden && !document.getElementById('issued').hidden",
            secs(3),
        )
        .await?;
    // The same token again (as a second tap would send it): refused, nothing printed.
    kiosk
        .eval_is(
            "const r = await fetch('/api/v1/printer/reprint-last', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({token: 'x'.repeat(32)})}); return r.status;",
            403.into(),
            "a made-up token must be refused",
        )
        .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    if printed_bytes(d) != twice {
        return Err("something more was printed".into());
    }
    kiosk.close().await;
    Ok(())
}

/// Runs `flow` against a fresh daemon; the test fails with what went wrong and the daemon's log.
async fn on_a_daemon(flow: impl AsyncFnOnce(&Daemon) -> Result<(), String>) {
    let d = start();
    if let Err(e) = flow(&d).await {
        panic!("{e}\n--- daemon log ---\n{}", d.log());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kiosk_reprints_its_ticket_once() {
    on_a_daemon(reprint_flow).await;
}

/// Serves `html` to every request on a loopback port until the process ends.
fn serve_page(html: String) -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for s in l.incoming().take(50) {
            let Ok(mut s) = s else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{html}",
                html.len()
            );
        }
    });
    port
}

async fn cross_site_flow(d: &Daemon) -> Result<(), String> {
    let target = d.url("/api/v1/tickets");
    let html = format!(
        r#"<!doctype html><html><body>
<form id="f" method="POST" action="{target}" enctype="text/plain"><input name='{{"service":"A","x":"' value='"}}'></form>
<script>
const tries = [
  fetch('{target}', {{method: 'POST', mode: 'no-cors', headers: {{'Content-Type': 'text/plain'}}, body: '{{"service":"A"}}'}}),
  fetch('{target}', {{method: 'POST', mode: 'no-cors', body: '{{"service":"B"}}'}}),
  fetch('{target}', {{method: 'POST', headers: {{'Content-Type': 'application/json'}}, body: '{{"service":"C"}}'}}),
  fetch('{reprint}', {{method: 'POST', mode: 'no-cors', headers: {{'Content-Type': 'text/plain'}}, body: '{{"token":"x"}}'}}),
];
Promise.allSettled(tries).then(() => {{ document.title = 'tried'; }});
</script></body></html>"#,
        reprint = d.url("/api/v1/printer/reprint-last"),
    );
    let evil = serve_page(html);
    let mut driver = Driver::start().await?;
    let page = driver.session(800, 480).await?;
    // "localhost" is another site than "127.0.0.1", where the daemon is.
    page.open(
        &format!("http://localhost:{evil}/"),
        "the fetches",
        "return document.title === 'tried'",
        Duration::from_secs(10),
    )
    .await?;
    page.eval("document.getElementById('f').submit(); return true;")
        .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let body = page
        .eval("return document.body ? document.body.innerText : ''")
        .await?;
    page.close().await;
    let n = waiting(d).await;
    if n != 0 {
        return Err(format!("a page elsewhere issued {n} ticket(s)"));
    }
    let shown = body.as_str().unwrap_or("");
    if !shown.contains("cross_site") {
        return Err(format!(
            "the form post should get the cross_site error body, page shows {shown:?}"
        ));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_elsewhere_cannot_issue_tickets() {
    on_a_daemon(cross_site_flow).await;
}

//! The printer through the whole daemon: tickets issued over the HTTP API reach a printer
//! emulator (on a pseudo-terminal through tokio-serial, and on TCP), printer states show
//! in `GET /api/v1/state` and in the kiosk's answer, late jobs are dropped, and the
//! daemon reconnects after the printer restarts.

#[path = "support/printer_emu/mod.rs"]
mod printer_emu;
mod support;

use layso::devices::printer::PrinterState;
use printer_emu::Emulator;
use serde_json::Value;
use std::time::Duration;
use support::daemon::Site;

fn printer_toml(transport: &str, target: &str) -> String {
    format!(
        "\n[printer]\ntransport = \"{transport}\"\n{target}\npaper_mm = 80\nprint_timeout_s = 3\npoll_interval_ms = 200\nstatus_timeout_ms = 300\n"
    )
}

async fn issue(client: &reqwest::Client, site: &Site, service: &str) -> Value {
    site.issue(client, service).await
}

async fn wait_state(client: &reqwest::Client, site: &Site, want: &str) {
    site.wait_device(client, "printer", want, Duration::from_secs(10))
        .await;
}

fn texts(t: &printer_emu::Ticket) -> String {
    String::from_utf8_lossy(&t.bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_printer_over_a_pty() {
    let tmp = tempfile::tempdir().expect("tmp");
    let link = tmp.path().join("printer");
    let emu = Emulator::pty(&link, 576, "http-pty").expect("pty emulator");
    let site = Site::new(&printer_toml(
        "serial",
        &format!("path = {:?}\nbaud = 115200", link.display().to_string()),
    ));
    let d = tokio::task::block_in_place(|| site.start());
    let client = reqwest::Client::new();
    wait_state(&client, &site, "ok").await;

    let a = issue(&client, &site, "A").await;
    let b = issue(&client, &site, "C").await;
    assert_eq!(a["printer"]["state"], "ok");
    assert!(
        emu.wait_tickets(2, Duration::from_secs(10)).await,
        "two tickets printed"
    );
    let printed = emu.tickets();
    // The number is in the printer's own font (ASCII), Vietnamese lines are rasters.
    assert!(
        texts(&printed[0]).contains("A001"),
        "first ticket carries A001"
    );
    assert!(
        texts(&printed[1]).contains("C001"),
        "second ticket carries C001"
    );
    assert!(
        !printed[0].rasters.is_empty(),
        "Vietnamese lines are raster images"
    );
    assert!(
        printed[0].png.exists(),
        "emulator wrote {}",
        printed[0].png.display()
    );
    assert_eq!(b["ticket"]["ticket"], "C001");

    // Paper runs out: the state shows it, the kiosk's answer says so, the ticket is valid.
    emu.set_state(PrinterState::PaperOut);
    wait_state(&client, &site, "paper_out").await;
    let t = issue(&client, &site, "A").await;
    assert_eq!(t["printer"]["state"], "paper_out");
    assert_eq!(t["ticket"]["ticket"], "A002");
    // Paper back: printing resumes.
    emu.set_state(PrinterState::Ok);
    wait_state(&client, &site, "ok").await;
    d.kill9();
    emu.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_printer_drop_if_late_and_reconnect() {
    let emu = Emulator::tcp(0, 576, "http-tcp-1").expect("tcp emulator");
    let port = emu.port();
    let site = Site::new(&printer_toml(
        "tcp",
        &format!("host = \"127.0.0.1\"\nport = {port}"),
    ));
    let d = tokio::task::block_in_place(|| site.start());
    let client = reqwest::Client::new();
    wait_state(&client, &site, "ok").await;
    issue(&client, &site, "B").await;
    assert!(
        emu.wait_tickets(1, Duration::from_secs(10)).await,
        "first ticket printed"
    );

    // The printer reboots: it is gone for longer than print_timeout_s (3 s).
    emu.stop();
    wait_state(&client, &site, "unreachable").await;
    let late = issue(&client, &site, "B").await;
    assert_eq!(
        late["ticket"]["ticket"], "B002",
        "the number is valid without a printer"
    );
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let emu2 = Emulator::tcp(port, 576, "http-tcp-2").expect("tcp emulator again");
    wait_state(&client, &site, "ok").await;
    // B002 was not printed within 3 s of issue: dropped, not printed late.
    let b3 = issue(&client, &site, "B").await;
    assert_eq!(b3["print"]["queued"], true, "{b3}");
    assert!(
        emu2.wait_tickets(1, Duration::from_secs(10)).await,
        "printing resumes after the restart"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let printed = emu2.tickets();
    assert_eq!(printed.len(), 1, "only the fresh ticket prints");
    assert!(texts(&printed[0]).contains("B003"));
    assert!(
        !texts(&printed[0]).contains("B002"),
        "the late ticket was dropped"
    );
    assert!(
        site.daemon_log().contains("B002"),
        "the drop is logged: {}",
        site.daemon_log()
    );

    // Reprint, as the kiosk that issued the ticket asks with its single-use token.
    let token = b3["reprint_token"].as_str().unwrap_or("").to_string();
    let body = serde_json::json!({ "token": token });
    let r = site
        .post_json(&client, "/api/v1/printer/reprint-last", &body)
        .await;
    assert_eq!(r.status(), 202);
    assert!(
        emu2.wait_tickets(2, Duration::from_secs(10)).await,
        "reprinted"
    );
    assert!(texts(&emu2.tickets()[1]).contains("B003"));
    d.kill9();
    emu2.stop();
}

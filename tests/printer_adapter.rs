//! Adapter integration tests against the printer emulator: on a pseudo-terminal through
//! tokio-serial (like a USB-serial printer), on loopback TCP, and on a plain file.

#[path = "support/printer_emu/mod.rs"]
mod printer_emu;

use layso::devices::printer::{
    spawn, PrintJob, PrinterConfig, PrinterHandle, PrinterState, TicketEncoder, TransportKind,
};
use printer_emu::Emulator;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use toml::Spanned;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn job(ticket: &str) -> PrintJob {
    let now = now_ms();
    PrintJob {
        site_name: "Trung tâm phục vụ hành chính công phường Bến Thành".into(),
        service_name: "Đăng ký kinh doanh".into(),
        ticket: ticket.into(),
        priority: false,
        issued_at_ms: now,
        utc_offset_minutes: 420,
        waiting_ahead: 3,
        qr: None,
        deadline_ms: now + 30_000,
    }
}

fn fast(mut c: PrinterConfig) -> PrinterConfig {
    c.poll_interval_ms = Spanned::new(0..0, 150);
    c.status_timeout_ms = Spanned::new(0..0, 1000);
    c.baud = Spanned::new(0..0, 115_200);
    c
}

type States = Arc<Mutex<Vec<(PrinterState, String)>>>;

fn start(cfg: PrinterConfig) -> (mpsc::Sender<PrintJob>, PrinterHandle, States) {
    let (tx, rx) = mpsc::channel(16);
    let states: States = Arc::default();
    let s2 = states.clone();
    let handle = spawn(cfg, rx, move |st, detail| {
        if let Ok(mut v) = s2.lock() {
            v.push((st, detail));
        }
    });
    (tx, handle, states)
}

/// The details of the states reported so far, oldest first.
fn details(states: &States) -> Vec<String> {
    let v = states.lock().map(|v| v.clone()).unwrap_or_default();
    v.into_iter().map(|(_, d)| d).collect()
}

fn last_state(states: &States) -> Option<PrinterState> {
    states.lock().ok().and_then(|v| v.last().map(|(s, _)| *s))
}

/// Wait (bounded) for `cond`; panics with `what` when it does not happen.
async fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let end = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < end {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(cond(), "timed out after {limit:?} waiting for {what}");
}

async fn wait_state(states: &States, want: PrinterState) {
    let end = tokio::time::Instant::now() + Duration::from_secs(8);
    while tokio::time::Instant::now() < end {
        if last_state(states) == Some(want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seen = states.lock().map(|v| v.clone()).unwrap_or_default();
    panic!("timed out after 8 s waiting for state {want}; reported so far: {seen:?}");
}

/// Closes the job queue and waits (at most 5 s) for the adapter to end.
async fn stop(tx: mpsc::Sender<PrintJob>, handle: PrinterHandle) {
    drop(tx);
    let _ = tokio::time::timeout(Duration::from_secs(5), handle.task).await;
}

async fn send(tx: &mpsc::Sender<PrintJob>, j: PrintJob) {
    assert!(tx.send(j).await.is_ok(), "adapter stopped");
}

fn expected_bytes(cfg: &PrinterConfig, j: &PrintJob) -> Vec<u8> {
    TicketEncoder::new(cfg).expect("font").encode(j)
}

/// Sends the job for `ticket`; `emu` must hold its first ticket within 8 s, else the test
/// fails saying `what`. The job sent.
async fn print_one(
    tx: &mpsc::Sender<PrintJob>,
    emu: &Emulator,
    ticket: &str,
    what: &str,
) -> PrintJob {
    let j = job(ticket);
    send(tx, j.clone()).await;
    assert!(emu.wait_tickets(1, Duration::from_secs(8)).await, "{what}");
    j
}

/// [`print_one`], and the ticket's bytes on the wire are exactly the encoder's for `cfg`.
async fn print_exact(
    tx: &mpsc::Sender<PrintJob>,
    emu: &Emulator,
    cfg: &PrinterConfig,
    ticket: &str,
) {
    let j = print_one(tx, emu, ticket, "ticket not received").await;
    assert_eq!(
        emu.tickets()[0].bytes,
        expected_bytes(cfg, &j),
        "bytes on the wire differ from the encoder's"
    );
}

/// Sends the job for `ticket` with its deadline `ms` from now; the adapter must drop it
/// (its first drop) within 5 s, else the test fails waiting for `what`.
async fn send_too_late(
    tx: &mpsc::Sender<PrintJob>,
    handle: &PrinterHandle,
    ticket: &str,
    ms: i64,
    what: &str,
) {
    let mut j = job(ticket);
    j.deadline_ms = now_ms() + ms;
    send(tx, j).await;
    wait_for(what, Duration::from_secs(5), || handle.dropped() == 1).await;
}

/// Starts the adapter on `cfg` and waits until it reports the printer ready.
async fn start_ok(cfg: &PrinterConfig) -> (mpsc::Sender<PrintJob>, PrinterHandle, States) {
    let (tx, handle, states) = start(cfg.clone());
    wait_state(&states, PrinterState::Ok).await;
    (tx, handle, states)
}

/// A printer emulator (`paper_dots` wide, called `name`) on a pseudo-terminal behind the
/// link `file` in a new temp dir: (the dir, which must outlive the test, the link, it).
fn pty_printer(
    file: &str,
    paper_dots: usize,
    name: &str,
) -> (tempfile::TempDir, PathBuf, Emulator) {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join(file);
    let emu = Emulator::pty(&link, paper_dots, name).expect("pty emulator");
    (dir, link, emu)
}

fn serial_cfg(link: &Path) -> PrinterConfig {
    fast(PrinterConfig::with_path(
        TransportKind::Serial,
        link.to_string_lossy(),
    ))
}

#[tokio::test]
async fn serial_pty_prints_reports_states_and_drops_late_jobs() {
    let (_dir, link, emu) = pty_printer("printer", 576, "pty-states");
    let cfg = serial_cfg(&link);
    let (tx, handle, states) = start_ok(&cfg).await;

    print_exact(&tx, &emu, &cfg, "A001").await;
    assert!(emu.tickets()[0].png.exists());
    assert!(emu.status_queries() >= 3);

    // Paper out: state reported, a job with a short deadline is dropped, not printed late.
    emu.set_state(PrinterState::PaperOut);
    wait_state(&states, PrinterState::PaperOut).await;
    send_too_late(&tx, &handle, "A002", 600, "the late job to be dropped").await;
    emu.set_state(PrinterState::Ok);
    wait_state(&states, PrinterState::Ok).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(emu.tickets().len(), 1, "a dropped job was printed late");

    // Near end with stray XON/XOFF bytes around replies: still prints.
    emu.set_noisy(true);
    emu.set_state(PrinterState::PaperNearEnd);
    wait_state(&states, PrinterState::PaperNearEnd).await;
    let a003 = job("A003");
    send(&tx, a003.clone()).await;
    assert!(
        emu.wait_tickets(2, Duration::from_secs(8)).await,
        "ticket A003 not received"
    );

    // A reprint is the same job queued again (what `web::printing::PrintDesk` does).
    send(&tx, a003).await;
    assert!(
        emu.wait_tickets(3, Duration::from_secs(8)).await,
        "reprint not received"
    );
    let tickets = emu.tickets();
    assert_eq!(tickets[1].bytes, tickets[2].bytes);
    assert_eq!(handle.printed(), 3);

    // Cover open and error states
    emu.set_noisy(false);
    emu.set_state(PrinterState::CoverOpen);
    wait_state(&states, PrinterState::CoverOpen).await;
    emu.set_state(PrinterState::Error);
    wait_state(&states, PrinterState::Error).await;
    emu.set_state(PrinterState::Offline);
    wait_state(&states, PrinterState::Offline).await;

    // From the first Ok on (a loaded test machine may miss the very first poll).
    let seen: Vec<PrinterState> = states
        .lock()
        .map(|v| {
            v.iter()
                .map(|(s, _)| *s)
                .skip_while(|s| *s != PrinterState::Ok)
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        seen,
        vec![
            PrinterState::Ok,
            PrinterState::PaperOut,
            PrinterState::Ok,
            PrinterState::PaperNearEnd,
            PrinterState::CoverOpen,
            PrinterState::Error,
            PrinterState::Offline
        ]
    );
    stop(tx, handle).await;
}

#[tokio::test]
async fn serial_pty_reconnects_when_the_device_returns() {
    let (_dir, link, emu) = pty_printer("ttyPRINTER", 384, "pty-restart-1");
    let mut cfg = serial_cfg(&link);
    cfg.paper_mm = Spanned::new(0..0, 58);
    let (tx, handle, states) = start_ok(&cfg).await;
    print_one(&tx, &emu, "B001", "ticket not received").await;

    // Unplug: the device disappears.
    emu.stop();
    wait_state(&states, PrinterState::Unreachable).await;
    // A job while unplugged waits (deadline far away) ...
    let waiting = job("B002");
    send(&tx, waiting.clone()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // ... and prints when the device comes back at the same path (a new pty behind it).
    let emu2 = Emulator::pty(&link, 384, "pty-restart-2").expect("pty emulator again");
    wait_state(&states, PrinterState::Ok).await;
    assert!(
        emu2.wait_tickets(1, Duration::from_secs(8)).await,
        "job not printed after reconnect"
    );
    assert_eq!(emu2.tickets()[0].bytes, expected_bytes(&cfg, &waiting));
    assert_eq!(handle.dropped(), 0);
    stop(tx, handle).await;
}

#[tokio::test]
async fn silent_printer_is_unreachable_until_it_answers() {
    let (_dir, link, emu) = pty_printer("printer", 576, "pty-silent");
    let (tx, handle, states) = start_ok(&serial_cfg(&link)).await;
    emu.set_silent(true);
    wait_state(&states, PrinterState::Unreachable).await;
    let detail = details(&states).pop().unwrap_or_default();
    assert!(detail.contains("no reply"), "{detail}");
    emu.set_silent(false);
    wait_state(&states, PrinterState::Ok).await;
    print_one(&tx, &emu, "C001", "ticket not received").await;
    stop(tx, handle).await;
}

#[tokio::test]
async fn tcp_prints_and_reconnects_after_printer_reboot() {
    let emu = Emulator::tcp(0, 576, "tcp-1").expect("tcp emulator");
    let port = emu.port();
    let cfg = fast(PrinterConfig::tcp("127.0.0.1", port));
    let (tx, handle, states) = start_ok(&cfg).await;
    print_exact(&tx, &emu, &cfg, "D001").await;

    // The printer drops the connection: the adapter notices and connects again.
    emu.disconnect();
    wait_state(&states, PrinterState::Unreachable).await;
    wait_state(&states, PrinterState::Ok).await;
    assert!(emu.connections() >= 2);

    // Reboot: the listener goes away and comes back on the same port.
    emu.stop();
    wait_state(&states, PrinterState::Unreachable).await;
    let emu2 = Emulator::tcp(port, 576, "tcp-2").expect("tcp emulator again");
    wait_state(&states, PrinterState::Ok).await;
    print_one(&tx, &emu2, "D002", "job not printed after reboot").await;
    stop(tx, handle).await;
}

#[tokio::test]
async fn file_transport_writes_the_exact_bytes_and_reprints() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("var").join("printer.bin");
    let cfg = fast(PrinterConfig::with_path(
        TransportKind::File,
        path.to_string_lossy(),
    ));
    let (tx, handle, _states) = start_ok(&cfg).await;
    let j = job("E001");
    send(&tx, j.clone()).await;
    let want = expected_bytes(&cfg, &j);
    let p = path.clone();
    let n = want.len();
    wait_for(
        "the file to hold one ticket",
        Duration::from_secs(5),
        move || {
            std::fs::metadata(&p)
                .map(|m| m.len() as usize == n)
                .unwrap_or(false)
        },
    )
    .await;
    assert_eq!(std::fs::read(&path).expect("read"), want);
    // A reprint is the same job queued again (what `web::printing::PrintDesk` does).
    send(&tx, j.clone()).await;
    let p = path.clone();
    wait_for("the reprint", Duration::from_secs(5), move || {
        std::fs::metadata(&p)
            .map(|m| m.len() as usize == 2 * n)
            .unwrap_or(false)
    })
    .await;
    let all = std::fs::read(&path).expect("read");
    assert_eq!(&all[n..], &want[..]);
    // The adapter ends once the job channel is closed and nothing is queued.
    drop(tx);
    assert!(
        tokio::time::timeout(Duration::from_secs(5), handle.task)
            .await
            .is_ok(),
        "adapter did not stop"
    );
}

#[tokio::test]
async fn missing_device_is_unreachable_with_a_clear_detail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = serial_cfg(&dir.path().join("no-such-tty"));
    let (tx, handle, states) = start(cfg);
    wait_state(&states, PrinterState::Unreachable).await;
    let detail = details(&states).into_iter().next().unwrap_or_default();
    assert!(detail.contains("no-such-tty"), "{detail}");
    // A job that cannot be printed in time is dropped.
    send_too_late(&tx, &handle, "F001", 300, "the job to be dropped").await;
    stop(tx, handle).await;
}

#[tokio::test]
async fn serial_with_xon_xoff_flow_control_and_noisy_replies() {
    let (_dir, link, emu) = pty_printer("printer", 576, "pty-xonxoff");
    emu.set_noisy(true); // XOFF, XON and stray bytes before every status reply
    let mut cfg = serial_cfg(&link);
    cfg.flow_control = layso::devices::printer::FlowControl::Software;
    cfg.parity = layso::devices::printer::Parity::Even;
    cfg.baud = Spanned::new(0..0, 9600);
    let (tx, handle, _states) = start_ok(&cfg).await;
    print_exact(&tx, &emu, &cfg, "G001").await;
    stop(tx, handle).await;
}

#[tokio::test]
async fn printer_class_device_file_with_status() {
    // A character device behind the `file` transport, as /dev/usb/lp0 would be (here the
    // emulator's pseudo-terminal), with DLE EOT status read back through it.
    let (_dir, link, emu) = pty_printer("lp0", 576, "lp-device");
    let mut cfg = fast(PrinterConfig::with_path(
        TransportKind::File,
        link.to_string_lossy(),
    ));
    cfg.status = Some(true);
    let (tx, handle, states) = start_ok(&cfg).await;
    emu.set_state(PrinterState::PaperNearEnd);
    wait_state(&states, PrinterState::PaperNearEnd).await;
    print_exact(&tx, &emu, &cfg, "H001").await;
    // The device goes away and comes back.
    emu.stop();
    wait_state(&states, PrinterState::Unreachable).await;
    let emu2 = Emulator::pty(&link, 576, "lp-device-2").expect("pty emulator again");
    wait_state(&states, PrinterState::Ok).await;
    print_one(
        &tx,
        &emu2,
        "H002",
        "job not printed after the device returned",
    )
    .await;
    stop(tx, handle).await;
}

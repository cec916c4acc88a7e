//! Serial LED boards: golden frames of the shipped example formats, the frame builder's options,
//! and the adapter talking to a board emulator on a pseudo-terminal through tokio-serial,
//! including unplugging and replugging the board.

#[path = "support/ledboard_emu.rs"]
#[allow(dead_code)]
mod ledboard_emu;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use layso::devices::board::{LedBoardConfig, RetryPolicy};
use layso::devices::ledboard::{self, build_frame, decode_frame, Call, FrameConfig, FrameError};
use ledboard_emu::LedBoardEmu;
use tokio::sync::broadcast;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    led_boards: Vec<LedBoardConfig>,
}

fn example(name: &str) -> LedBoardConfig {
    let path = format!("{}/config/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let doc: Doc = toml::from_str(&text).unwrap_or_else(|e| panic!("{path} does not parse: {e}"));
    assert_eq!(doc.led_boards.len(), 1, "{path} has one board");
    let board = doc
        .led_boards
        .into_iter()
        .next()
        .unwrap_or_else(|| unreachable!());
    let errs = layso::devices::board::validate(
        &[],
        &[],
        std::slice::from_ref(&board),
        &[],
        &[1, 2, 3, 12],
    );
    assert!(errs.is_empty(), "{path} is not valid: {errs:?}");
    board
}

fn call(counter: u16, ticket: &str) -> Call {
    Call {
        counter,
        ticket: ticket.to_string(),
    }
}

fn frame(cfg: &LedBoardConfig, c: &Call) -> Vec<u8> {
    match ledboard::frame_for_call(cfg, c) {
        Some(Ok(f)) => f,
        other => panic!("no frame for {c:?}: {other:?}"),
    }
}

#[test]
fn golden_ascii_xor_frame() {
    let cfg = example("ledboard-ascii-xor.toml");
    let want: Vec<u8> = vec![
        0x02, b'0', b'1', b'D', b'A', b'0', b'1', b'2', b' ', b'-', b'>', b' ', b'Q', b'u', b'a',
        b'y', b' ', b'3', b' ', b' ', 0x03, 0x08,
    ];
    assert_eq!(frame(&cfg, &call(3, "A012")), want);
    // Counter 12 with a priority ticket: still board address 01.
    let f = frame(&cfg, &call(12, "UT007"));
    assert_eq!(&f[..4], &[0x02, b'0', b'1', b'D']);
    assert_eq!(&f[4..20], b"UT007 -> Quay 12");
    let bcc = f[1..21].iter().fold(0u8, |a, b| a ^ b);
    assert_eq!(f[21], bcc);
    assert_eq!(f.len(), 22);
}

#[test]
fn golden_modbus_write_multiple_registers_frame() {
    let cfg = example("ledboard-modbus.toml");
    let want = vec![
        0x03, 0x10, 0x00, 0x00, 0x00, 0x04, 0x08, 0x20, 0x20, 0x20, 0x20, 0x41, 0x30, 0x31, 0x32,
        0x11, 0x70,
    ];
    assert_eq!(frame(&cfg, &call(3, "A012")), want);
    // The slave id follows the counter.
    assert_eq!(frame(&cfg, &call(12, "B105"))[0], 12);
}

fn template(toml_text: &str) -> FrameConfig {
    toml::from_str(toml_text).unwrap_or_else(|e| panic!("template does not parse: {e}"))
}

#[test]
fn builder_options_round_trip() {
    // sum8 in ASCII hex before the suffix, binary address, u8 length, no width.
    let t = template(
        r#"
prefix = [0xAA, 0x55]
address = "u8"
header = [0x01]
length = "u8"
encoding = "utf8"
suffix = [0x0D, 0x0A]
checksum = "sum8"
checksum_from = "after_prefix"
checksum_at = "before_suffix"
checksum_format = "ascii_hex"
"#,
    );
    let f = build_frame(&t, 7, "Số 5").expect("frame");
    let text = "Số 5".as_bytes();
    let mut want = vec![0xAA, 0x55, 7, 0x01, text.len() as u8];
    want.extend_from_slice(text);
    let sum = want[2..].iter().fold(0u8, |a, b| a.wrapping_add(*b));
    want.extend(format!("{sum:02X}").into_bytes());
    want.extend([0x0D, 0x0A]);
    assert_eq!(f, want);
    let d = decode_frame(&t, &f).expect("decodes");
    assert_eq!(
        (d.address, d.text.as_slice(), d.consumed),
        (7, text, f.len())
    );

    // A corrupted byte is caught by the checksum.
    let mut bad = f.clone();
    bad[5] ^= 0x01;
    assert!(matches!(
        decode_frame(&t, &bad),
        Err(FrameError::BadChecksum { .. })
    ));
    // A short frame asks for more bytes.
    assert_eq!(
        decode_frame(&t, &f[..f.len() - 1]),
        Err(FrameError::Incomplete)
    );
}

#[test]
fn ascii_encoding_and_limits() {
    let t = template("address = \"ascii_hex2\"\nencoding = \"ascii\"\nsuffix = [0x03]\n");
    assert_eq!(
        build_frame(&t, 0xAB, "Quầy").expect("frame"),
        b"ABQu?y\x03".to_vec()
    );
    assert!(matches!(
        build_frame(&t, 300, "x"),
        Err(FrameError::AddressTooLarge { .. })
    ));
    let t = template("address = \"ascii_dec2\"\nwidth = 4\nalign = \"center\"\npad = 0x2E\nchecksum = \"crc16_modbus\"\nchecksum_format = \"ascii_hex\"\n");
    let f = build_frame(&t, 5, "AB").expect("frame");
    let crc = ledboard::crc16_modbus(b"05.AB.");
    assert_eq!(
        f,
        [b"05.AB.".to_vec(), format!("{crc:04X}").into_bytes()].concat()
    );
}

// ------------------------------------------------------------------------------------------
// Through tokio-serial to the emulator
// ------------------------------------------------------------------------------------------

type Reports = Arc<Mutex<Vec<(String, bool, String)>>>;

fn start_adapter(
    cfg: LedBoardConfig,
    rx: broadcast::Receiver<Call>,
) -> (Reports, tokio::task::JoinHandle<()>) {
    let reports: Reports = Arc::default();
    let r2 = reports.clone();
    let report = layso::devices::board::report_fn(move |name, ok, detail| {
        r2.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((name, ok, detail));
    });
    let retry = RetryPolicy {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(200),
        ..RetryPolicy::default()
    };
    (
        reports.clone(),
        tokio::spawn(ledboard::run(cfg, rx, report, retry)),
    )
}

async fn wait_report(reports: &Reports, ok: bool, after: usize) -> usize {
    for _ in 0..500 {
        {
            let r = reports.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(i) = r.iter().skip(after).position(|x| x.1 == ok) {
                return after + i + 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "no health report ok={ok} after #{after}: {:?}",
        reports.lock().map(|r| r.clone())
    );
}

fn with_port(mut cfg: LedBoardConfig, path: &std::path::Path) -> LedBoardConfig {
    cfg.port = toml::Spanned::new(0..0, path.to_string_lossy().into_owned());
    cfg
}

async fn wait_text(emu: &LedBoardEmu, text: &str) -> ledboard_emu::Received {
    let emu_frames = || {
        emu.frames()
            .into_iter()
            .find(|r| r.frame.text == text.as_bytes())
    };
    for _ in 0..500 {
        if let Some(r) = emu_frames() {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "board never showed {text:?}; got {:?}, errors {:?}",
        emu.frames(),
        emu.errors()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulated_board_receives_the_call() {
    let dir = tempfile::tempdir().expect("temp dir");
    let link = dir.path().join("layso-ledboard-hall");
    let cfg = example("ledboard-ascii-xor.toml");
    // This board answers each frame with ACK, which the adapter must take in its stride.
    let emu =
        LedBoardEmu::plug_with_reply(&link, cfg.frame.get_ref().clone(), vec![0x06]).expect("pty");
    let (tx, rx) = broadcast::channel(16);
    let (reports, task) = start_adapter(with_port(cfg.clone(), &link), rx);
    wait_report(&reports, true, 0).await;
    tx.send(call(3, "A012")).expect("adapter listens");
    let got = wait_text(&emu, "A012 -> Quay 3").await;
    assert_eq!(
        got.raw,
        frame(&cfg, &call(3, "A012")),
        "bytes on the wire are the golden frame"
    );
    assert_eq!(got.frame.address, 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    tx.send(call(2, "B004")).expect("adapter listens");
    wait_text(&emu, "B004 -> Quay 2").await;
    assert!(emu.errors().is_empty(), "{:?}", emu.errors());
    let r = reports.lock().map(|r| r.clone()).unwrap_or_default();
    let ok_only = vec![("hall".to_string(), true, "ok".to_string())];
    assert_eq!(r, ok_only, "replies are not mistaken for a hang-up");
    drop(tx);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("adapter ends when calls close")
        .expect("no panic");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modbus_bus_gets_each_call_at_its_counters_slave() {
    let dir = tempfile::tempdir().expect("temp dir");
    let link = dir.path().join("layso-ledboard-bus");
    let cfg = example("ledboard-modbus.toml");
    let emu = LedBoardEmu::plug(&link, cfg.frame.get_ref().clone()).expect("pty");
    let (tx, rx) = broadcast::channel(16);
    let (reports, _task) = start_adapter(with_port(cfg, &link), rx);
    wait_report(&reports, true, 0).await;
    tx.send(call(3, "A012")).expect("send");
    tx.send(call(12, "B105")).expect("send");
    let a = wait_text(&emu, "A012").await;
    let b = wait_text(&emu, "B105").await;
    assert_eq!((a.frame.address, b.frame.address), (3, 12));
    assert!(emu.errors().is_empty(), "{:?}", emu.errors());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unplugging_and_replugging_the_board_is_survived() {
    let dir = tempfile::tempdir().expect("temp dir");
    let link = dir.path().join("layso-ledboard-hall");
    let cfg = example("ledboard-ascii-xor.toml");
    let template = cfg.frame.get_ref().clone();
    let emu = LedBoardEmu::plug(&link, template.clone()).expect("pty");
    let (tx, rx) = broadcast::channel(16);
    let (reports, task) = start_adapter(with_port(cfg, &link), rx);
    let seen = wait_report(&reports, true, 0).await;
    tx.send(call(1, "A001")).expect("send");
    wait_text(&emu, "A001 -> Quay 1").await;

    // Unplug: the adapter notices the hang-up and reports the board as failing.
    emu.unplug();
    let seen = wait_report(&reports, false, seen).await;
    // A call while the board is away is kept and shown once it is back.
    tx.send(call(2, "A002")).expect("send");
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Replug: udev points the same name at a new device.
    let emu2 = LedBoardEmu::plug(&link, template).expect("pty");
    wait_report(&reports, true, seen).await;
    wait_text(&emu2, "A002 -> Quay 2").await;
    tx.send(call(3, "A003")).expect("send");
    wait_text(&emu2, "A003 -> Quay 3").await;
    assert!(emu2.errors().is_empty(), "{:?}", emu2.errors());
    assert!(!task.is_finished(), "adapter keeps running");
    let r = reports.lock().map(|r| r.clone()).unwrap_or_default();
    assert!(r.iter().all(|(name, _, _)| name == "hall"), "{r:?}");
    // Health went ok -> failing (hang-up, then the missing device) -> ok.
    assert!(
        r.first().is_some_and(|x| x.1) && r.last().is_some_and(|x| x.1),
        "{r:?}"
    );
    assert!(r.iter().any(|x| !x.1), "{r:?}");
}

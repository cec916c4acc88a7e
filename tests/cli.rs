//! `layso check`: bad configuration files each give line:column messages and exit 2;
//! the shipped configs pass.

#[path = "support/layso_cmd.rs"]
mod layso_cmd;

use layso_cmd::{dev, layso_on, line_of, BIN};
use std::process::Command;

fn check(text: &str) -> (i32, String, String) {
    layso_on("check", "bad.toml", text.as_bytes(), None)
}

/// `dev.toml` with `from` replaced by `to` fails `layso check` (exit 2) with
/// `bad.toml:<line of needle>:<column>: <message>`; returns stderr.
fn refused_at(from: &str, to: &str, needle: &str, column: usize, message: &str) -> String {
    let text = dev().replace(from, to);
    let (code, _, err) = check(&text);
    assert_eq!(code, 2);
    let line = line_of(&text, needle);
    assert!(
        err.contains(&format!("bad.toml:{line}:{column}: {message}")),
        "{err}"
    );
    err
}

/// Line (1-based) of the second line for which `pred` holds; 0 when there is none.
fn second_line_where(text: &str, pred: impl Fn(&str) -> bool) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| pred(l))
        .nth(1)
        .map_or(0, |(i, _)| i + 1)
}

#[test]
fn shipped_configs_pass() {
    for f in ["config/dev.toml", "config/layso.example.toml"] {
        let out = Command::new(BIN)
            .args(["check", "--config", f])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("run");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{f}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("OK") && stdout.contains("Hộ tịch"),
            "{stdout}"
        );
    }
}

#[test]
fn unknown_key() {
    let err = refused_at(
        "kiosk_rate_per_minute = 30",
        "kiosk_rate_per_minute = 30\nport = 80",
        "port = 80",
        1,
        "unknown field `port`",
    );
    assert!(err.contains("expected one of"), "says what is valid: {err}");
}

#[test]
fn wrong_type() {
    refused_at(
        "retention_days = 90",
        "retention_days = \"ninety\"",
        "ninety",
        18,
        "invalid type: string \"ninety\", expected u32",
    );
}

#[test]
fn duplicate_service_id() {
    let text = dev().replace("id = \"C\"", "id = \"B\"");
    let (code, _, err) = check(&text);
    assert_eq!(code, 2);
    let line = second_line_where(&text, |l| l.contains("id = \"B\""));
    assert!(
        err.contains(&format!("bad.toml:{line}:6: duplicate service id 'B'")),
        "{err}"
    );
    // Counter 3 now serves the vanished C: also reported, in the same run.
    assert!(err.contains("unknown service 'C'"), "{err}");
}

#[test]
fn counter_serving_unknown_service() {
    refused_at(
        "services = [\"C\"]",
        "services = [\"C\", \"X\"]",
        "\"X\"",
        18,
        "counter 3 serves unknown service 'X'; known services: A, B, C",
    );
}

#[test]
fn bad_offset() {
    refused_at(
        "utc_offset = \"+07:00\"",
        "utc_offset = \"UTC+7\"",
        "UTC+7",
        14,
        "'UTC+7' is not a UTC offset; expected +HH:MM such as +07:00",
    );
}

#[test]
fn missing_file_and_syntax_error() {
    let out = Command::new(BIN)
        .args(["check", "--config", "/nonexistent/layso.toml"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the configuration"));
    let (code, _, err) = check("[site\nid = 1");
    assert_eq!(code, 2);
    assert!(err.contains("bad.toml:1:"), "{err}");
}

#[test]
fn version() {
    let out = Command::new(BIN).arg("--version").output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("layso "));
}

#[test]
fn inconsistent_device_config() {
    // The consistent devices section of tests/devices_config.rs with three mistakes: an
    // unknown service, two buttons on one GPIO line, a display for a counter that is not there.
    let devices = include_str!("fixtures/devices.toml")
        .replacen(
            r#"action = { kind = "issue", service = "A" }"#,
            r#"action = { kind = "issue", service = "Z" }"#,
            1,
        )
        .replace("line = 27", "line = 17")
        .replace("counters = [1, 2, 3]", "counters = [9]");
    let text = dev() + "\n" + &devices;
    let (code, _, err) = check(&text);
    assert_eq!(code, 2, "{err}");
    let lines: Vec<&str> = err.lines().collect();
    // Each problem is reported as `<file>:<line>:<column>: <message>`.
    let has = |needle: &str, line: usize| {
        lines.iter().any(|l| {
            let mut parts = l.splitn(4, ':');
            let (_file, at) = (parts.next(), parts.next());
            at == Some(line.to_string().as_str()) && l.contains(needle)
        })
    };
    let unknown_service = line_of(&text, "service = \"Z\"");
    let second_line = second_line_where(&text, |l| l.starts_with("line = 17"));
    let counter9 = line_of(&text, "counters = [9]");
    assert!(
        has("Z", unknown_service),
        "unknown service at line {unknown_service}: {err}"
    );
    assert!(
        has("17", second_line),
        "two buttons on one line at {second_line}: {err}"
    );
    assert!(
        has("9", counter9),
        "display for a missing counter at {counter9}: {err}"
    );
}

fn print_test(cfg: &std::path::Path) -> std::process::Output {
    Command::new(BIN)
        .args(["print-test", "--config"])
        .arg(cfg)
        .output()
        .expect("run print-test")
}

#[test]
fn print_test_writes_a_ticket_through_the_configured_transport() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("printer.bin");
    let text = dev().replace("./var/printer.bin", &out.display().to_string());
    let cfg = dir.path().join("layso.toml");
    std::fs::write(&cfg, text).expect("write");
    let run = print_test(&cfg);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let bytes = std::fs::read(&out).expect("printer output");
    assert!(
        bytes.starts_with(&[0x1B, 0x40]),
        "starts with ESC @ (initialize)"
    );
    assert!(
        bytes.windows(3).any(|w| w == [0x1D, 0x76, 0x30]),
        "has raster lines (GS v 0)"
    );
    assert!(
        bytes.windows(3).any(|w| w == [0x1D, 0x28, 0x6B]),
        "has a QR code (GS ( k)"
    );
    assert!(
        bytes.windows(2).any(|w| w == [0x1D, 0x56]),
        "ends with a cut (GS V)"
    );
    let digits = String::from_utf8_lossy(&bytes);
    assert!(digits.contains("0123456789"), "digits in the printer font");

    // Without a [printer] section it says what to add.
    let no_printer = dev()
        .split("[printer]")
        .next()
        .map(|head| head.to_string() + &dev()[dev().find("[store]").unwrap_or(0)..])
        .unwrap_or_default();
    std::fs::write(&cfg, no_printer).expect("write");
    let run = print_test(&cfg);
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("no [printer] section"));
}

/// `layso check | head -0`: the reader is gone before the command prints; it ends quietly
/// (killed by SIGPIPE, as Unix tools are) instead of panicking on a broken pipe.
#[test]
fn check_into_a_closed_pipe_ends_quietly() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};
    let mut child = Command::new(BIN)
        .args(["check", "--config", "config/dev.toml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run layso");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait for layso");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        out.status.success() || out.status.signal() == Some(libc::SIGPIPE),
        "{:?}: {stderr}",
        out.status
    );
}

//! `layso check`: bad configuration files each give line:column messages and exit 2;
//! the shipped configs pass.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_layso");

fn check(text: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, text).expect("write");
    let out = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .expect("run layso check");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn dev() -> String {
    include_str!("../config/dev.toml").to_string()
}

/// Line (1-based) of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or(0)
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
    let text = dev().replace(
        "kiosk_rate_per_minute = 30",
        "kiosk_rate_per_minute = 30\nport = 80",
    );
    let (code, _, err) = check(&text);
    assert_eq!(code, 2);
    let line = line_of(&text, "port = 80");
    assert!(
        err.contains(&format!("bad.toml:{line}:1: unknown field `port`")),
        "{err}"
    );
    assert!(err.contains("expected one of"), "says what is valid: {err}");
}

#[test]
fn wrong_type() {
    let text = dev().replace("retention_days = 90", "retention_days = \"ninety\"");
    let (code, _, err) = check(&text);
    assert_eq!(code, 2);
    let line = line_of(&text, "ninety");
    assert!(
        err.contains(&format!(
            "bad.toml:{line}:18: invalid type: string \"ninety\", expected u32"
        )),
        "{err}"
    );
}

#[test]
fn duplicate_service_id() {
    let text = dev().replace("id = \"C\"", "id = \"B\"");
    let (code, _, err) = check(&text);
    assert_eq!(code, 2);
    let line = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("id = \"B\""))
        .nth(1)
        .map(|(i, _)| i + 1)
        .unwrap_or(0);
    assert!(
        err.contains(&format!("bad.toml:{line}:6: duplicate service id 'B'")),
        "{err}"
    );
    // Counter 3 now serves the vanished C: also reported, in the same run.
    assert!(err.contains("unknown service 'C'"), "{err}");
}

#[test]
fn counter_serving_unknown_service() {
    let text = dev().replace("services = [\"C\"]", "services = [\"C\", \"X\"]");
    let (code, _, err) = check(&text);
    assert_eq!(code, 2);
    let line = line_of(&text, "\"X\"");
    assert!(
        err.contains(&format!(
            "bad.toml:{line}:18: counter 3 serves unknown service 'X'; known services: A, B, C"
        )),
        "{err}"
    );
}

#[test]
fn bad_offset() {
    let text = dev().replace("utc_offset = \"+07:00\"", "utc_offset = \"UTC+7\"");
    let (code, _, err) = check(&text);
    assert_eq!(code, 2);
    let line = line_of(&text, "UTC+7");
    assert!(
        err.contains(&format!(
            "bad.toml:{line}:14: 'UTC+7' is not a UTC offset; expected +HH:MM such as +07:00"
        )),
        "{err}"
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
    let text = dev()
        + r#"
[[buttons]]
name = "kiosk-x"
chip = "/dev/gpiochip0"
line = 17
action = { kind = "issue", service = "Z" }

[[buttons]]
name = "kiosk-a"
chip = "/dev/gpiochip0"
line = 17
action = { kind = "issue", service = "A" }

[[counter_displays]]
name = "desk-9"
kind = "max7219"
device = "/dev/spidev0.0"
counters = [9]
"#;
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
    let second_line = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("line = 17"))
        .nth(1)
        .map(|(i, _)| i + 1)
        .unwrap_or(0);
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

#[test]
fn print_test_writes_a_ticket_through_the_configured_transport() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("printer.bin");
    let text = dev().replace("./var/printer.bin", &out.display().to_string());
    let cfg = dir.path().join("layso.toml");
    std::fs::write(&cfg, text).expect("write");
    let run = Command::new(BIN)
        .args(["print-test", "--config"])
        .arg(&cfg)
        .output()
        .expect("run print-test");
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
    let run = Command::new(BIN)
        .args(["print-test", "--config"])
        .arg(&cfg)
        .output()
        .expect("run print-test");
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

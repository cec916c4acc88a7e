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

//! `layso check` and `layso run` on configurations that are valid but unwise (warnings,
//! exit 0) or not UTF-8 (the byte offset of the first bad byte, exit 2); and the `[web]`
//! connection limits with line:column errors.

#[path = "support/layso_cmd.rs"]
mod layso_cmd;

use layso_cmd::{dev, layso_on, line_of};

fn layso(cmd: &str, bytes: &[u8]) -> (i32, String, String) {
    layso_on(cmd, "layso.toml", bytes, Some("warn"))
}

#[test]
fn service_without_counter_is_a_warning() {
    // Counter 3 serves C; give it A instead: nobody serves C.
    let text = dev().replace("services = [\"C\"]", "services = [\"A\"]");
    let (code, out, err) = layso("check", text.as_bytes());
    assert_eq!(code, 0, "{out}{err}");
    let line = line_of(&text, "id = \"C\"");
    assert!(
        out.contains(&format!(
            ":{line}:6: warning: no counter serves service 'C'"
        )),
        "{out}"
    );
    assert!(
        !out.contains("service 'A'") && !out.contains("service 'B'"),
        "{out}"
    );
}

#[test]
fn no_counters_is_a_warning() {
    let mut text = String::new();
    let mut skip = false;
    for l in dev().lines() {
        if l.starts_with('[') {
            skip = l == "[[counters]]";
        }
        if !skip {
            text += l;
            text.push('\n');
        }
    }
    let (code, out, err) = layso("check", text.as_bytes());
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(":1:1: warning: no [[counters]]"), "{out}");
}

#[test]
fn non_utf8_file_names_the_first_bad_byte_in_check_and_run() {
    let text = dev();
    let at = text.find("Hộ tịch").expect("service name") + "Hộ t".len();
    let mut bytes = text.as_bytes().to_vec();
    bytes[at] = 0xFF; // breaks "ị"
    let line = line_of(&text, "Hộ tịch");
    for cmd in ["check", "run"] {
        let (code, out, err) = layso(cmd, &bytes);
        assert_eq!(code, 2, "{cmd}: {out}{err}");
        assert!(
            err.contains(&format!(
                ":{line}:16: the file is not UTF-8: byte offset {at} is 0xFF"
            )),
            "{cmd}: {err}"
        );
    }
}

#[test]
fn connection_limits_are_checked_with_line_and_column() {
    let text = dev().replace(
        "kiosk_rate_per_minute = 30",
        "kiosk_rate_per_minute = 30\nmax_connections = 4\nidle_timeout_s = 30",
    );
    let (code, _, err) = layso("check", text.as_bytes());
    assert_eq!(code, 2, "{err}");
    let l = line_of(&text, "max_connections = 4");
    assert!(
        err.contains(&format!(":{l}:19: max_connections = 4: use 16 to 60000")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            ":{}:18: idle_timeout_s = 30 is longer than header_timeout_s = 10",
            l + 1
        )),
        "{err}"
    );
    let ok = dev().replace(
        "kiosk_rate_per_minute = 30",
        "kiosk_rate_per_minute = 30\nmax_connections = 2000\nkeepalive_soft_limit = 1000\nheader_timeout_s = 8\nidle_timeout_s = 4",
    );
    let (code, out, err) = layso("check", ok.as_bytes());
    assert_eq!(code, 0, "{out}{err}");
}

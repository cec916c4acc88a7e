//! `config/dev.toml` made runnable in a temp dir: its port, store and printer output
//! moved, extra TOML appended. Through `support::daemon` for the tests; the foundation
//! benchmark includes it with `#[path]`.

use std::path::Path;

/// The dev config with a port, the store and printer output in `dir`, and extra TOML
/// appended. When `extra` has its own `[printer]`, the dev printer section is left out.
pub fn config_text(port: u16, dir: &Path, extra: &str) -> String {
    let dev = include_str!("../../config/dev.toml");
    let own_printer = extra.contains("[printer]");
    let mut out = String::new();
    let mut in_dev_printer = false;
    for line in dev.lines() {
        if line.starts_with('[') {
            in_dev_printer = own_printer && line.starts_with("[printer");
        }
        if in_dev_printer {
            continue;
        }
        if line == "path = \"./var/store\"" {
            out += &format!("path = {:?}\n", dir.join("store").display().to_string());
        } else if line == "path = \"./var/printer.bin\"" {
            out += &format!(
                "path = {:?}\n",
                dir.join("printer.bin").display().to_string()
            );
        } else if line.starts_with("bind = ") {
            out += &format!("bind = \"127.0.0.1:{port}\"\n");
        } else {
            out += line;
            out.push('\n');
        }
    }
    out += extra;
    out
}

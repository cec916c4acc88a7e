//! Runs the `layso` binary's one-shot commands (`check`, `run`, …) on a configuration
//! written to a temp file, for the configuration-check tests. Include with
//! `#[path = "support/layso_cmd.rs"] mod layso_cmd;`.
#![allow(dead_code)]

use std::process::Command;

pub const BIN: &str = env!("CARGO_BIN_EXE_layso");

/// `layso <cmd> --config <tmp>/<file_name>` with the config holding `bytes`, `LAYSO_LOG`
/// set to `log` when given: (exit code, stdout, stderr).
pub fn layso_on(
    cmd: &str,
    file_name: &str,
    bytes: &[u8],
    log: Option<&str>,
) -> (i32, String, String) {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join(file_name);
    std::fs::write(&path, bytes).expect("write");
    let mut command = Command::new(BIN);
    command.args([cmd, "--config"]).arg(&path);
    if let Some(log) = log {
        command.env("LAYSO_LOG", log);
    }
    let out = command.output().expect("run layso");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `config/dev.toml`.
pub fn dev() -> String {
    include_str!("../../config/dev.toml").to_string()
}

/// Line (1-based) of the first line containing `needle`; 0 when none does.
pub fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map_or(0, |i| i + 1)
}

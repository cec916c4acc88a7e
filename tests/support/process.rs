//! Child processes for the test harnesses (the layso daemon, the province collector,
//! Mosquitto): a free loopback port, the `layso` command with its output appended to a
//! log file, waiting until a child listens, and SIGKILL/SIGTERM with the child reaped.
//! Included by the harnesses with `#[path = "process.rs"] mod process;`.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 (the OS picks it; the listener is closed again).
pub fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot bind a loopback port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no local address: {e}"))
}

/// `layso <cmd> --config <config>`, stdin closed, stdout and stderr appended to `log`;
/// the caller adds its environment and spawns it.
pub fn layso_command(cmd: &[&str], config: &Path, log: &Path) -> Result<Command, String> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("log file {}: {e}", log.display()))?;
    let err = out
        .try_clone()
        .map_err(|e| format!("log file {}: {e}", log.display()))?;
    let mut c = Command::new(env!("CARGO_BIN_EXE_layso"));
    c.args(cmd)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    Ok(c)
}

/// Waits (at most `limit`) until something accepts TCP connections on `port`; an error
/// if `child` (called `name`) exits first or the time runs out.
pub fn wait_listening(
    name: &str,
    port: u16,
    child: &mut Child,
    limit: Duration,
) -> Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{name} exited before listening: {status}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Err(format!("{name} did not listen on {port} within {limit:?}"))
}

/// Sends `signal` to the child, if there is one, and reaps it.
pub fn signal_and_reap(child: &mut Option<Child>, signal: libc::c_int) {
    if let Some(mut c) = child.take() {
        if let Ok(pid) = i32::try_from(c.id()) {
            // SAFETY: kill(2) on our own child's pid; no memory is involved.
            unsafe {
                libc::kill(pid, signal);
            }
        }
        let _ = c.wait();
    }
}

/// `text` (a log) without its terminal colour codes.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut esc = false;
    for c in text.chars() {
        match (esc, c) {
            (false, '\u{1b}') => esc = true,
            (true, 'm') => esc = false,
            (true, _) => {}
            (false, c) => out.push(c),
        }
    }
    out
}

/// Runs `cmd` (called `what`) to its end and returns its stdout; panics saying it could not
/// start (and `hint`, how to install it) or that it failed (and its stderr).
pub fn run_ok(what: &str, hint: &str, cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}; {hint}"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

//! Runs the real `layso` daemon for the page tests and the display benchmark: a temp config derived from
//! config/dev.toml (free loopback port, temp store), started as a child process.
#![allow(dead_code)]

// A test that uses several harnesses loads this file once per harness; each copy is private.
#[allow(clippy::duplicate_mod)]
#[path = "process.rs"]
mod process;

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

/// A running daemon; killed when dropped.
pub struct Daemon {
    child: Child,
    pub base: String,
    pub port: u16,
    pub dir: tempfile::TempDir,
    stderr_path: PathBuf,
    config_path: PathBuf,
}

pub use process::free_port;

fn table<'a>(root: &'a mut toml::Table, key: &str) -> Result<&'a mut toml::Table, String> {
    root.get_mut(key)
        .and_then(|v| v.as_table_mut())
        .ok_or_else(|| format!("config/dev.toml has no [{key}] table"))
}

/// config/dev.toml with `web.bind` on `port`, `store.path` (and the printer's file, if
/// any) under `dir`, then `edit` applied.
pub fn dev_config(
    dir: &Path,
    port: u16,
    edit: impl FnOnce(&mut toml::Table) -> Result<(), String>,
) -> Result<String, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/dev.toml");
    let text =
        std::fs::read_to_string(&src).map_err(|e| format!("cannot read {}: {e}", src.display()))?;
    let mut root: toml::Table = text
        .parse()
        .map_err(|e| format!("{} is not valid TOML: {e}", src.display()))?;
    table(&mut root, "web")?.insert("bind".into(), format!("127.0.0.1:{port}").into());
    table(&mut root, "store")?.insert(
        "path".into(),
        dir.join("store").display().to_string().into(),
    );
    // The dev printer writes into ./var: keep test output in the temp dir.
    if let Some(printer) = root.get_mut("printer").and_then(|v| v.as_table_mut()) {
        if printer.contains_key("path") {
            printer.insert(
                "path".into(),
                dir.join("printer.bin").display().to_string().into(),
            );
        }
    }
    edit(&mut root)?;
    toml::to_string(&root).map_err(|e| format!("cannot write the test config: {e}"))
}

impl Daemon {
    /// Starts `layso run` on a dev-derived config; waits until GET /api/v1/state answers.
    pub fn start(
        edit: impl FnOnce(&mut toml::Table) -> Result<(), String>,
    ) -> Result<Daemon, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let port = free_port()?;
        let config = dev_config(dir.path(), port, edit)?;
        let config_path = dir.path().join("layso.toml");
        std::fs::write(&config_path, config).map_err(|e| format!("write config: {e}"))?;
        let stderr_path = dir.path().join("daemon.log");
        let child = spawn(&config_path, &stderr_path)?;
        let mut d = Daemon {
            child,
            base: format!("http://127.0.0.1:{port}"),
            port,
            dir,
            stderr_path,
            config_path,
        };
        d.wait_ready(Duration::from_secs(30))?;
        Ok(d)
    }

    /// Kills the daemon (SIGKILL, like a power cut) and leaves it down.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the daemon again on the same config, port and store.
    pub fn restart(&mut self) -> Result<(), String> {
        self.kill();
        self.child = spawn(&self.config_path, &self.stderr_path)?;
        self.wait_ready(Duration::from_secs(30))
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "layso exited at start-up ({status}); its log:\n{}",
                    self.log()
                ));
            }
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::{Read, Write};
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let req =
                    "GET /api/v1/state HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
                if s.write_all(req.as_bytes()).is_ok() {
                    let mut head = [0u8; 12];
                    if s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200") {
                        return Ok(());
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "layso did not answer GET /api/v1/state within {timeout:?}; its log:\n{}",
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The daemon's stderr so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// [`Daemon::log`] without its terminal colour codes.
    pub fn plain_log(&self) -> String {
        process::strip_ansi(&self.log())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// [`issue_at`] on this daemon.
    pub async fn issue(
        &self,
        client: &reqwest::Client,
        service: &str,
    ) -> Result<serde_json::Value, String> {
        issue_at(client, &self.base, service).await
    }
}

fn spawn(config_path: &Path, log_path: &Path) -> Result<Child, String> {
    process::layso_command(&["run"], config_path, log_path)?
        .env("RUST_LOG", "info")
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", env!("CARGO_BIN_EXE_layso")))
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `POST {base}/api/v1/tickets` for `service`, which must answer 201; the answer.
pub async fn issue_at(
    client: &reqwest::Client,
    base: &str,
    service: &str,
) -> Result<serde_json::Value, String> {
    let r = client
        .post(format!("{base}/api/v1/tickets"))
        .json(&serde_json::json!({ "service": service }))
        .send()
        .await
        .map_err(|e| format!("issue: {e}"))?;
    if r.status() != 201 {
        return Err(format!("issue answered {}", r.status()));
    }
    r.json().await.map_err(|e| format!("issue reply: {e}"))
}

/// `POST {base}/api/v1/counters/{n}/{action}` with counter n's dev credential, which must
/// succeed; the answer.
pub async fn counter_at(
    client: &reqwest::Client,
    base: &str,
    n: u16,
    action: &str,
) -> Result<serde_json::Value, String> {
    let r = client
        .post(format!("{base}/api/v1/counters/{n}/{action}"))
        .bearer_auth(format!("counter{n}-dev"))
        .send()
        .await
        .map_err(|e| format!("{action}: {e}"))?;
    if !r.status().is_success() {
        return Err(format!("{action} answered {}", r.status()));
    }
    r.json().await.map_err(|e| format!("{action} body: {e}"))
}

//! Runs the real `layso` binary with a temporary config and store.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_layso");

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    super::process::free_port().unwrap_or(18080)
}

pub use super::dev_config::config_text;

pub struct Site {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub config: PathBuf,
}

impl Site {
    pub fn new(extra: &str) -> Site {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let config = dir.path().join("layso.toml");
        let text = config_text(port, dir.path(), extra);
        std::fs::File::create(&config)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .expect("write config");
        Site { dir, port, config }
    }

    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    /// Start the daemon and wait until it answers.
    pub fn start(&self) -> Daemon {
        self.start_with_env(&[])
    }

    pub fn start_with_env(&self, env: &[(&str, &str)]) -> Daemon {
        self.launch(self.command(env))
    }

    /// `layso run` on this site's config, its output appended to `daemon.log`, with
    /// `LAYSO_LOG=warn` and `env`; not started yet.
    pub fn command(&self, env: &[(&str, &str)]) -> Command {
        let log = self.dir.path().join("daemon.log");
        let mut cmd = super::process::layso_command(&["run"], &self.config, &log)
            .unwrap_or_else(|e| panic!("{e}"));
        cmd.env("LAYSO_LOG", "warn");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Spawns `cmd` and waits until the daemon listens; panics with its log otherwise.
    pub fn launch(&self, mut cmd: Command) -> Daemon {
        let child = cmd.spawn().expect("spawn layso");
        let mut d = Daemon {
            child,
            port: self.port,
        };
        if let Err(why) = d.wait_ready(Duration::from_secs(20)) {
            panic!("{why}\ndaemon log:\n{}", self.daemon_log());
        }
        d
    }

    pub fn daemon_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("daemon.log")).unwrap_or_default()
    }
}

pub struct Daemon {
    pub child: Child,
    pub port: u16,
}

impl Daemon {
    pub fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        super::process::wait_listening("layso", self.port, &mut self.child, limit)
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for a clean exit; returns the exit code.
    pub fn stop(mut self) -> Option<i32> {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(15) {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        None
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// HTTP helpers shared by the tests that drive the daemon's API.
impl Site {
    /// `GET /api/v1/state`.
    pub async fn state(&self, client: &reqwest::Client) -> serde_json::Value {
        client
            .get(self.url("/api/v1/state"))
            .send()
            .await
            .expect("GET /api/v1/state")
            .json()
            .await
            .expect("state is JSON")
    }

    /// `POST path` with `body` as JSON; the answer, whatever its status.
    pub async fn post_json(
        &self,
        client: &reqwest::Client,
        path: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        let sent = client.post(self.url(path)).json(body).send().await;
        sent.unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// `POST /api/v1/tickets`, which must answer 201.
    pub async fn issue(&self, client: &reqwest::Client, service: &str) -> serde_json::Value {
        let body = serde_json::json!({"service": service});
        let r = self.post_json(client, "/api/v1/tickets", &body).await;
        assert_eq!(
            r.status(),
            201,
            "a ticket is issued whatever the devices do"
        );
        r.json().await.expect("ticket is JSON")
    }

    /// `POST /api/v1/counters/{n}/{action}` with counter n's dev credential, which must
    /// answer 200; the answer's JSON.
    pub async fn counter(
        &self,
        client: &reqwest::Client,
        n: u16,
        action: &str,
    ) -> serde_json::Value {
        let r = client
            .post(self.url(&format!("/api/v1/counters/{n}/{action}")))
            .bearer_auth(format!("counter{n}-dev"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST counters/{n}/{action}: {e}"));
        assert_eq!(r.status(), 200, "counter {n} {action}");
        r.json().await.unwrap_or_default()
    }

    /// A device's state in `GET /api/v1/state` ("none" when not reported).
    pub async fn device_state(&self, client: &reqwest::Client, device: &str) -> String {
        let v = self.state(client).await;
        v["devices"]
            .as_array()
            .and_then(|d| d.iter().find(|d| d["device"] == device))
            .and_then(|d| d["state"].as_str())
            .unwrap_or("none")
            .to_string()
    }

    /// Wait until a device reports `want`; panics with the state and the daemon's log.
    pub async fn wait_device(
        &self,
        client: &reqwest::Client,
        device: &str,
        want: &str,
        limit: Duration,
    ) {
        let start = Instant::now();
        let mut last = String::new();
        while start.elapsed() < limit {
            last = self.device_state(client, device).await;
            if last == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let v = self.state(client).await;
        panic!(
            "{device} stayed '{last}', expected '{want}': devices {}\ndaemon log:\n{}",
            v["devices"],
            self.daemon_log()
        );
    }
}

//! Test harness for the province side: the real `layso province run` process (killable,
//! restartable), its configuration, and checks against PostgreSQL that every (site, seq)
//! a site logged is stored exactly once.
#![allow(dead_code)]

// A test that uses several harnesses loads this file once per harness; each copy is private.
#[allow(clippy::duplicate_mod)]
#[path = "process.rs"]
mod process;

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

pub fn collector_toml(
    broker_port: u16,
    db_url: &str,
    client_id: &str,
    web_port: u16,
    extra_broker: &str,
) -> String {
    format!(
        r#"[broker]
host = "127.0.0.1"
port = {broker_port}
client_id = "{client_id}"
share_group = "layso"
{extra_broker}

[database]
url = "{db_url}"

[web]
listen = "127.0.0.1:{web_port}"

[collector]
batch_max_messages = 200
batch_max_wait_ms = 20
resend_after_secs = 2
figures_every_secs = 1
figures_min_age_secs = 0
"#
    )
}

pub struct Collector {
    pub config: PathBuf,
    pub web_port: u16,
    log: PathBuf,
    child: Option<Child>,
}

impl Collector {
    pub async fn start(dir: &Path, name: &str, broker_port: u16, db_url: &str) -> Collector {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
        let web_port = super::mosquitto::free_port();
        let config = dir.join(format!("{name}.toml"));
        std::fs::write(
            &config,
            collector_toml(broker_port, db_url, name, web_port, ""),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut c = Collector {
            config,
            web_port,
            log: dir.join(format!("{name}.log")),
            child: None,
        };
        c.run().await;
        c
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.web_port)
    }

    /// Start the process and wait until its dashboard answers (the database is migrated
    /// and the MQTT session is being made).
    pub async fn run(&mut self) {
        let child = process::layso_command(&["province", "run"], &self.config, &self.log)
            .and_then(|mut c| {
                // NO_COLOR: plain log lines for the tests to read.
                c.env("LAYSO_LOG", "info,rumqttc=warn")
                    .env("NO_COLOR", "1")
                    .env_remove("DATABASE_URL")
                    .spawn()
                    .map_err(|e| e.to_string())
            })
            .unwrap_or_else(|e| panic!("cannot start layso province: {e}"));
        self.child = Some(child);
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(r) = http
                .get(self.url("/api/overview"))
                .timeout(Duration::from_secs(2))
                .send()
                .await
            {
                if r.status().is_success() {
                    // Give the MQTT session a moment to subscribe.
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    return;
                }
            }
            if let Some(Ok(Some(st))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!(
                    "layso province exited at start ({st}); log:\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "layso province did not answer within 30 s; log:\n{}",
            self.log()
        );
    }

    pub fn kill(&mut self) {
        process::signal_and_reap(&mut self.child, libc::SIGKILL);
    }

    /// SIGTERM and wait (at most 20 s, then SIGKILL): a clean stop.
    pub fn terminate(&mut self) {
        if let Some(mut c) = self.child.take() {
            unsafe {
                libc::kill(c.id() as i32, libc::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GET `path` from the collector's web server and read its JSON body, whatever the
    /// status (an error body is JSON too).
    pub async fn get_json(&self, path: &str) -> Result<serde_json::Value, String> {
        let url = self.url(path);
        let r = reqwest::Client::new()
            .get(&url)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        r.json().await.map_err(|e| format!("GET {url}: {e}"))
    }

    /// GET `path` until `ready` holds of its JSON, at most `tries` times 200 ms apart (the
    /// figures worker computes within a few seconds); the last answer.
    pub async fn poll_json(
        &self,
        path: &str,
        tries: u32,
        ready: impl Fn(&serde_json::Value) -> bool,
    ) -> Result<serde_json::Value, String> {
        let mut v = serde_json::Value::Null;
        for _ in 0..tries {
            v = self.get_json(path).await?;
            if ready(&v) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(v)
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A throw-away PostgreSQL, a Mosquitto and one collector on them, in a temp dir;
/// dropped in the order of the fields: the collector first, the directory last.
pub struct Stage {
    pub col: Collector,
    pub broker: super::mosquitto::Broker,
    pub pg: super::postgres::Pg,
    pub tmp: tempfile::TempDir,
}

impl Stage {
    /// Start them, the collector with client id `name`.
    pub async fn start(name: &str) -> Result<Stage, String> {
        let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
        let pg = super::postgres::Pg::start();
        let broker = super::mosquitto::Broker::start(
            &tmp.path().join("broker"),
            super::mosquitto::BrokerOptions::default(),
        );
        let col = Collector::start(&tmp.path().join("c"), name, broker.port, &pg.url()).await;
        Ok(Stage {
            col,
            broker,
            pg,
            tmp,
        })
    }
}

/// `Ok` when `got == want`, else an error naming `what` with both.
pub fn check<T, U>(what: &str, got: T, want: U) -> Result<(), String>
where
    T: PartialEq<U> + std::fmt::Debug,
    U: std::fmt::Debug,
{
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}"))
    }
}

/// The seqs stored for `site`, ascending, and how many rows (duplicates would differ).
pub async fn db_seqs(client: &tokio_postgres::Client, site: &str) -> Vec<u64> {
    client
        .query(
            "SELECT seq FROM events WHERE site = $1 ORDER BY seq",
            &[&site],
        )
        .await
        .map(|rows| rows.iter().map(|r| r.get::<_, i64>(0) as u64).collect())
        .unwrap_or_default()
}

/// Wait until PostgreSQL holds exactly `want` for `site`; the error shows the difference.
pub async fn wait_exactly(
    url: &str,
    site: &str,
    want: &[u64],
    timeout: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut have = Vec::new();
    while Instant::now() < deadline {
        if let Ok((c, conn)) = tokio_postgres::connect(url, tokio_postgres::NoTls).await {
            let task = tokio::spawn(conn);
            have = db_seqs(&c, site).await;
            drop(c);
            task.abort();
            if have == want {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let missing: Vec<u64> = want
        .iter()
        .filter(|s| have.binary_search(s).is_err())
        .copied()
        .collect();
    let extra: Vec<u64> = have
        .iter()
        .filter(|s| want.binary_search(s).is_err())
        .copied()
        .collect();
    let mut bodies = Vec::new();
    if let Ok((c, conn)) = tokio_postgres::connect(url, tokio_postgres::NoTls).await {
        let task = tokio::spawn(conn);
        for q in extra.iter().take(5) {
            if let Ok(r) = c
                .query_one(
                    "SELECT body FROM events WHERE site = $1 AND seq = $2",
                    &[&site, &(*q as i64)],
                )
                .await
            {
                bodies.push(r.get::<_, String>(0));
            }
        }
        task.abort();
    }
    Err(format!(
        "{site}: PostgreSQL has {} rows, the site logged {}; missing {:?}, not logged {:?} {bodies:?}",
        have.len(),
        want.len(),
        &missing[..missing.len().min(20)],
        &extra[..extra.len().min(20)]
    ))
}

/// A site's entries `from..=to` as an events message (what `layso run` publishes): each
/// ticket issued, called and served, all stamped `at`, on business day `day`.
pub fn events_message(site: &str, day: &str, from: u64, to: u64, at: i64) -> Vec<u8> {
    let mut s = format!(
        r#"{{"site":"{site}","from_seq":{from},"to_seq":{to},"count":{},"events":["#,
        to - from + 1
    );
    for seq in from..=to {
        if seq > from {
            s.push(',');
        }
        let t = (seq - 1) / 3;
        let ev = match seq % 3 {
            1 => format!(
                r#"{{"kind":"ticket_issued","ticket":"A{t:03}","service":"A","number":{t},"priority":false,"source":"kiosk","ahead":3}}"#
            ),
            2 => format!(
                r#"{{"kind":"ticket_called","ticket":"A{t:03}","service":"A","counter":1,"recall":0}}"#
            ),
            _ => format!(
                r#"{{"kind":"ticket_served","ticket":"A{t:03}","service":"A","counter":1}}"#
            ),
        };
        s.push_str(&format!(
            r#"{{"site":"{site}","seq":{seq},"at":{at},"clock_ok":true,"day":"{day}","event":{ev}}}"#
        ));
    }
    s.push_str("]}");
    s.into_bytes()
}

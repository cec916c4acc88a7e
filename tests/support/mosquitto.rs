//! Test harness for the uplink: a real Mosquitto on a free loopback port (with or without
//! persistence, killable and restartable, optionally TLS with certificates made here by
//! the openssl CLI, optionally an ACL file), an MQTT 5 subscriber that collects what the
//! province would see, the real `layso` binary run as a daemon, and an in-process
//! engine + uplink for tests that need speed.
#![allow(dead_code)]

// A test that uses several harnesses loads this file once per harness; each copy is private.
#[allow(clippy::duplicate_mod)]
#[path = "process.rs"]
mod process;

use layso::engine::{self, Handle, Options, SystemClock};
use layso::log::EventLog;
use layso::uplink::Uplink;
use rumqttc::v5::mqttbytes::v5::{Filter, Packet};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use rumqttc::{TlsConfiguration, Transport};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

pub const INSTALL_HINT: &str =
    "install it with `apt-get install -y mosquitto mosquitto-clients openssl` (scripts/test.sh does this)";

/// Find a program in PATH or the sbin directories (mosquitto lives in /usr/sbin).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from));
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

pub fn require(name: &str) -> PathBuf {
    match find_program(name) {
        Some(p) => p,
        None => panic!("`{name}` is not installed, and the uplink tests need it: {INSTALL_HINT}"),
    }
}

pub fn free_port() -> u16 {
    process::free_port().unwrap_or_else(|e| panic!("no free port: {e}"))
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

// ---------------------------------------------------------------- certificates

/// A CA, a server certificate for 127.0.0.1 and client certificates by common name.
pub struct Pki {
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let what = format!("openssl {args:?}");
    let mut cmd = Command::new(require("openssl"));
    process::run_ok(&what, INSTALL_HINT, cmd.args(args).current_dir(dir));
}

impl Pki {
    pub fn new(dir: &Path) -> Pki {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let mut ca_args = vec!["req", "-x509"];
        ca_args.extend(ec);
        ca_args.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=layso-test-ca",
        ]);
        openssl(dir, &ca_args);
        let pki = Pki {
            dir: dir.to_path_buf(),
            ca: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
        };
        pki.issue(
            "server",
            "127.0.0.1",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        );
        pki
    }

    fn issue(&self, name: &str, cn: &str, ext: &str) {
        let ext_file = format!("{name}.ext");
        std::fs::write(self.dir.join(&ext_file), ext).unwrap_or_else(|e| panic!("{e}"));
        let (key, csr, pem, subj) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
            format!("/CN={cn}"),
        );
        let mut req = vec!["req"];
        req.extend([
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ]);
        req.extend(["-keyout", &key, "-out", &csr, "-subj", &subj]);
        openssl(&self.dir, &req);
        openssl(
            &self.dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "2",
                "-extfile",
                &ext_file,
            ],
        );
    }

    /// A client certificate whose common name is `cn`: `(cert, key)`.
    pub fn client(&self, cn: &str) -> (PathBuf, PathBuf) {
        let name = format!("client-{cn}");
        self.issue(&name, cn, "extendedKeyUsage=clientAuth\n");
        (
            self.dir.join(format!("{name}.pem")),
            self.dir.join(format!("{name}.key")),
        )
    }
}

// ---------------------------------------------------------------- broker

#[derive(Default, Clone)]
pub struct BrokerOptions {
    pub persistence: bool,
    /// TLS listener requiring a client certificate; the CN becomes the username.
    pub tls: Option<(PathBuf, PathBuf, PathBuf)>,
    pub acl_file: Option<PathBuf>,
}

/// A Mosquitto process on a fixed loopback port, restartable on the same port.
pub struct Broker {
    pub port: u16,
    pub dir: PathBuf,
    conf: PathBuf,
    child: Option<Child>,
    starts: u32,
}

impl Broker {
    pub fn start(dir: &Path, opts: BrokerOptions) -> Broker {
        let port = free_port();
        Self::start_on(dir, port, opts)
    }

    /// Configure a broker for `port` without starting it (for "broker down" tests).
    pub fn configure(dir: &Path, port: u16, opts: BrokerOptions) -> Broker {
        require("mosquitto");
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
        let mut c = String::new();
        c += &format!("listener {port} 127.0.0.1\n");
        // Mosquitto drops root privileges to user `mosquitto` unless told not to; the
        // test's files are private to the test user.
        c += "user root\n";
        c += &format!("persistence {}\n", opts.persistence);
        c += &format!("persistence_location {}/\n", dir.display());
        c += "autosave_interval 1\n";
        // Room for everything queued for a subscriber (the default 1000 drops silently).
        // Not 0 ("no limit"): Mosquitto 2.0.11 then drops the connection of a client
        // whose publish was denied instead of answering it.
        c += "max_queued_messages 1000000\n";
        c += &format!("log_dest file {}/mosquitto.log\n", dir.display());
        c += "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n";
        match &opts.tls {
            Some((ca, cert, key)) => {
                c += &format!(
                    "cafile {}\ncertfile {}\nkeyfile {}\n",
                    ca.display(),
                    cert.display(),
                    key.display()
                );
                c += "require_certificate true\nuse_identity_as_username true\n";
            }
            None => c += "allow_anonymous true\n",
        }
        if let Some(acl) = &opts.acl_file {
            c += &format!("acl_file {}\n", acl.display());
        }
        Self::with_conf(dir, port, c)
    }

    /// A broker on `port` configured by `text` (written to `dir/mosquitto.conf`), not started.
    fn with_conf(dir: &Path, port: u16, text: String) -> Broker {
        let conf = dir.join("mosquitto.conf");
        std::fs::write(&conf, text).unwrap_or_else(|e| panic!("{e}"));
        Broker {
            port,
            dir: dir.to_path_buf(),
            conf,
            child: None,
            starts: 0,
        }
    }

    /// The province example `config/province/mosquitto.conf` and `acl`, with this test's
    /// port, certificates and directories put in.
    pub fn from_example(dir: &Path, pki: &Pki) -> Broker {
        require("mosquitto");
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/province");
        let read =
            |f: &str| std::fs::read_to_string(root.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        let acl = dir.join("layso.acl");
        std::fs::write(&acl, read("acl")).unwrap_or_else(|e| panic!("{e}"));
        let port = free_port();
        let mut c = String::from("user root\n");
        for line in read("mosquitto.conf").lines() {
            let key = line.split_whitespace().next().unwrap_or("");
            let line = match key {
                "listener" => format!("listener {port} 127.0.0.1"),
                "cafile" => format!("cafile {}", pki.ca.display()),
                "certfile" => format!("certfile {}", pki.server_cert.display()),
                "keyfile" => format!("keyfile {}", pki.server_key.display()),
                "acl_file" => format!("acl_file {}", acl.display()),
                "persistence_location" => format!("persistence_location {}/", dir.display()),
                "log_dest" => format!("log_dest file {}/mosquitto.log", dir.display()),
                _ => line.to_string(),
            };
            c += &line;
            c += "\n";
        }
        let mut b = Self::with_conf(dir, port, c);
        b.run();
        b
    }

    pub fn start_on(dir: &Path, port: u16, opts: BrokerOptions) -> Broker {
        let mut b = Self::configure(dir, port, opts);
        b.run();
        b
    }

    /// Start the process and wait until it accepts connections.
    pub fn run(&mut self) {
        assert!(self.child.is_none(), "broker already running");
        let bin = require("mosquitto");
        let mut child = Command::new(bin)
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start mosquitto: {e}; {INSTALL_HINT}"));
        self.starts += 1;
        let up =
            process::wait_listening("mosquitto", self.port, &mut child, Duration::from_secs(10));
        self.child = Some(child);
        if let Err(why) = up {
            panic!("{why}; log:\n{}", self.log());
        }
    }

    /// SIGKILL: no clean shutdown, no final persistence save.
    pub fn kill(&mut self) {
        process::signal_and_reap(&mut self.child, libc::SIGKILL);
    }

    pub fn restart(&mut self) {
        self.kill();
        self.run();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("mosquitto.log")).unwrap_or_default()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------- subscriber

/// What the province's collector received.
#[derive(Default)]
pub struct Collected {
    /// Every event received, in arrival order: (site, seq).
    pub arrivals: Vec<(String, u64)>,
    /// Deduplicated events by (site, seq).
    pub events: BTreeMap<(String, u64), Value>,
    pub batches: u64,
    /// The first 2000 batch payloads as received (for schema checks).
    pub raw_batches: Vec<Value>,
    pub metrics: Vec<Value>,
    pub statuses: Vec<Value>,
    pub connections: u32,
    pub bad_payloads: Vec<String>,
}

/// Every seq in a log, read through the library (the daemon must be stopped).
pub fn reader_seqs(reader: &layso::log::LogReader) -> Vec<u64> {
    let mut out = Vec::new();
    let mut after = 0;
    for _ in 0..100_000 {
        let rows = reader
            .raw_after(after, 10_000, usize::MAX)
            .unwrap_or_else(|e| panic!("reading the log: {e}"));
        let Some(last) = rows.last() else { break };
        after = last.0;
        out.extend(rows.iter().map(|(s, _)| *s));
    }
    out
}

pub fn store_seqs(store: &Path, site: &str) -> Vec<u64> {
    let (log, _) = EventLog::open(store, site, now_ms()).unwrap_or_else(|e| panic!("store: {e}"));
    reader_seqs(&log.reader())
}

impl Collected {
    /// Seqs of `wanted` that the collector does not have.
    pub fn missing_of(&self, site: &str, wanted: &[u64]) -> Vec<u64> {
        wanted
            .iter()
            .copied()
            .filter(|q| !self.events.contains_key(&(site.to_string(), *q)))
            .collect()
    }

    pub fn seqs(&self, site: &str) -> Vec<u64> {
        self.events
            .keys()
            .filter(|(s, _)| s == site)
            .map(|(_, q)| *q)
            .collect()
    }

    /// Every seq in 1..=last present (deduplicated)?
    pub fn missing(&self, site: &str, last: u64) -> Vec<u64> {
        (1..=last)
            .filter(|q| !self.events.contains_key(&(site.to_string(), *q)))
            .collect()
    }
}

pub struct Subscriber {
    pub data: Arc<Mutex<Collected>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub struct SubscriberTls {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Subscriber {
    /// Subscribe to `filter` (QoS 1, persistent session) and keep reconnecting.
    pub fn start(port: u16, filter: &str, tls: Option<SubscriberTls>) -> Subscriber {
        let data = Arc::new(Mutex::new(Collected::default()));
        let mut opts = MqttOptions::new(format!("collector-{port}"), "127.0.0.1", port);
        opts.set_keep_alive(Duration::from_secs(5));
        opts.set_clean_start(false);
        opts.set_session_expiry_interval(Some(3600));
        opts.set_receive_maximum(Some(1000));
        opts.set_max_packet_size(Some(64 * 1024 * 1024));
        if let Some(t) = tls {
            let cfg = layso::uplink::tls::client_config(&layso::uplink::config::TlsPaths {
                ca_file: t.ca,
                client: Some((t.cert, t.key)),
            })
            .unwrap_or_else(|e| panic!("subscriber TLS: {e}"));
            opts.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(cfg)));
        }
        let (client, mut el) = AsyncClient::new(opts, 100);
        let d = data.clone();
        let filter = filter.to_string();
        let task = tokio::spawn(async move {
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        if let Ok(mut g) = d.lock() {
                            g.connections += 1;
                        }
                        let _ = client
                            .subscribe_many(vec![Filter::new(filter.clone(), QoS::AtLeastOnce)])
                            .await;
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let topic = String::from_utf8_lossy(&p.topic).to_string();
                        record(&d, &topic, &p.payload);
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        });
        Subscriber { data, task }
    }

    pub fn with<R>(&self, f: impl FnOnce(&Collected) -> R) -> R {
        let g = self.data.lock().unwrap_or_else(|p| p.into_inner());
        f(&g)
    }

    /// Wait until `cond` holds (polling), at most `timeout`.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        mut cond: impl FnMut(&Collected) -> bool,
    ) -> bool {
        poll(timeout, || self.with(&mut cond)).await
    }
}

/// Checks `cond` every 50 ms until it holds (true) or `timeout` has passed (false).
pub async fn poll(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn record(d: &Arc<Mutex<Collected>>, topic: &str, payload: &[u8]) {
    let mut g = d.lock().unwrap_or_else(|p| p.into_inner());
    let v: Value = match serde_json::from_slice(payload) {
        Ok(v) => v,
        Err(e) => {
            g.bad_payloads.push(format!("{topic}: {e}"));
            return;
        }
    };
    if topic.ends_with("/events") {
        g.batches += 1;
        if g.raw_batches.len() < 2000 {
            g.raw_batches.push(v.clone());
        }
        let site = v["site"].as_str().unwrap_or("").to_string();
        for e in v["events"].as_array().cloned().unwrap_or_default() {
            let seq = e["seq"].as_u64().unwrap_or(0);
            let esite = e["site"].as_str().unwrap_or("").to_string();
            if esite != site {
                g.bad_payloads
                    .push(format!("event site {esite} in batch of {site}"));
            }
            g.arrivals.push((esite.clone(), seq));
            g.events.insert((esite, seq), e);
        }
    } else if topic.ends_with("/metrics") {
        g.metrics.push(v);
    } else if topic.ends_with("/status") {
        g.statuses.push(v);
    }
}

// ---------------------------------------------------------------- configs

pub const SITE: &str = "site-a";

/// A site configuration with services A and B, counters 1 (A, B) and 2 (B), and the
/// given `[uplink]` body.
pub fn site_config(site: &str, store: &Path, web_port: u16, uplink: &str) -> String {
    format!(
        r#"
[site]
id = "{site}"
name = "Trung tâm thử {site}"
province = "hcm"

[[services]]
id = "A"
name_vi = "Hộ tịch"

[[services]]
id = "B"
name_vi = "Đất đai"

[[counters]]
number = 1
services = ["A", "B"]
credential = "counter-1-secret"

[[counters]]
number = 2
services = ["B"]
credential = "counter-2-secret"

[store]
path = "{}"

[web]
bind = "127.0.0.1:{web_port}"
admin_credential = "admin-secret-1"

[uplink]
{uplink}
"#,
        store.display()
    )
}

// ---------------------------------------------------------------- the daemon binary

/// The daemon's HTTP API (cheap to clone; survives daemon restarts on the same port).
#[derive(Clone)]
pub struct Api {
    pub port: u16,
    pub http: reqwest::Client,
}

impl Api {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub async fn state(&self) -> Option<Value> {
        let r = self
            .http
            .get(self.url("/api/v1/state"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .ok()?;
        r.json().await.ok()
    }

    pub async fn issue(&self, service: &str) -> Option<Value> {
        let req = self
            .http
            .post(self.url("/api/v1/tickets"))
            .json(&serde_json::json!({"service": service}));
        success_json(req).await
    }

    pub async fn counter(&self, n: u16, action: &str) -> Option<Value> {
        let cred = if n == 1 {
            "counter-1-secret"
        } else {
            "counter-2-secret"
        };
        let req = self
            .http
            .post(self.url(&format!("/api/v1/counters/{n}/{action}")))
            .bearer_auth(cred);
        success_json(req).await
    }
}

/// Sends `req` (5 s at most); the answer's JSON when it succeeded.
async fn success_json(req: reqwest::RequestBuilder) -> Option<Value> {
    let r = req.timeout(Duration::from_secs(5)).send().await.ok()?;
    r.status().is_success().then_some(())?;
    r.json().await.ok()
}

/// The real `layso` binary, run with a config file; killable and restartable.
pub struct Daemon {
    pub config: PathBuf,
    pub api: Api,
    child: Option<Child>,
    log: PathBuf,
}

impl std::ops::Deref for Daemon {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

impl Daemon {
    /// `layso run` for [`SITE`] with its store at `dir/store`, on a free web port, with
    /// this `[uplink]` body.
    pub async fn for_site(dir: &Path, uplink: &str) -> Daemon {
        let web = free_port();
        let text = site_config(SITE, &dir.join("store"), web, uplink);
        Daemon::start(dir, &text, web).await
    }

    pub async fn start(dir: &Path, config_text: &str, port: u16) -> Daemon {
        let config = dir.join("layso.toml");
        std::fs::write(&config, config_text).unwrap_or_else(|e| panic!("{e}"));
        let mut d = Daemon {
            config,
            api: Api {
                port,
                http: reqwest::Client::new(),
            },
            child: None,
            log: dir.join("daemon.log"),
        };
        d.run().await;
        d
    }

    pub async fn run(&mut self) {
        let child = process::layso_command(&["run"], &self.config, &self.log)
            .and_then(|mut c| {
                c.env("LAYSO_LOG", "info,rumqttc=warn")
                    .spawn()
                    .map_err(|e| e.to_string())
            })
            .unwrap_or_else(|e| panic!("cannot start layso: {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.api.state().await.is_some() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("layso did not answer within 20 s; log:\n{}", self.log());
    }

    pub fn kill(&mut self) {
        process::signal_and_reap(&mut self.child, libc::SIGKILL);
    }

    /// SIGTERM and wait for a clean exit.
    pub fn terminate(&mut self) {
        process::signal_and_reap(&mut self.child, libc::SIGTERM);
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait until the uplink reports a connection made after `after_ms`.
    pub async fn wait_connected_after(&self, after_ms: i64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(s) = self.api.state().await {
                let u = &s["uplink"];
                if u["connected"] == true && u["connected_since"].as_i64().unwrap_or(0) > after_ms {
                    return true;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------- in process

/// The engine and the uplink in this process (for speed), over a store in `dir`.
pub struct InProcess {
    pub handle: Handle,
    pub uplink: Option<Uplink>,
    pub status: watch::Receiver<Option<Value>>,
    pub config: Arc<layso::config::Config>,
}

impl InProcess {
    /// Site `site` with its store at `store` and this `[uplink]` body (web port unused).
    pub fn for_site(site: &str, store: &Path, uplink: &str) -> InProcess {
        InProcess::start(&site_config(site, store, free_port(), uplink))
    }

    pub fn start(config_text: &str) -> InProcess {
        let config = layso::config::parse(config_text, "test.toml", None)
            .unwrap_or_else(|e| panic!("test config: {e}"));
        let config = Arc::new(config);
        let started = now_ms();
        let (log, report) = EventLog::open(&config.store.path, &config.site.id, started)
            .unwrap_or_else(|e| panic!("store: {e}"));
        let options = Options {
            clock: Box::new(SystemClock),
            watchdog: None,
            stall_after: None,
            quota_bytes: None,
        };
        let handle = engine::start(config.clone(), log, report, options)
            .unwrap_or_else(|e| panic!("engine: {e}"));
        let (tx, rx) = watch::channel(None);
        let uplink = layso::uplink::spawn(&config, handle.clone(), started, tx);
        InProcess {
            handle,
            uplink,
            status: rx,
            config,
        }
    }

    pub fn status(&self) -> Value {
        self.status.borrow().clone().unwrap_or(Value::Null)
    }

    pub async fn wait_status(
        &self,
        timeout: Duration,
        mut cond: impl FnMut(&Value) -> bool,
    ) -> bool {
        poll(timeout, || cond(&self.status())).await
    }

    /// [`InProcess::wait_status`]; if `cond` is not met in time, fails saying `what` and the status.
    pub async fn assert_status(
        &self,
        timeout: Duration,
        what: &str,
        cond: impl FnMut(&Value) -> bool,
    ) {
        let met = self.wait_status(timeout, cond).await;
        assert!(met, "{what}: {}", self.status());
    }

    pub async fn shutdown(mut self) {
        if let Some(u) = self.uplink.take() {
            u.stop().await;
        }
        self.handle.stop().await;
    }
}

// ---------------------------------------------------------------- schemas

/// The JSON Schema `docs/schemas/{name}.json`, compiled.
pub fn schema(name: &str) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("docs/schemas/{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    jsonschema::validator_for(&v).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Panic with every schema error of `instance`.
pub fn assert_valid(v: &jsonschema::Validator, what: &str, instance: &Value) {
    let errors: Vec<String> = v
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match its schema: {errors:#?}\n{instance}"
    );
}

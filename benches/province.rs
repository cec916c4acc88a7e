//! Province scale benchmark: a load generator plays many sites publishing a busy day
//! (3,321 sites × ~1,500 entries ≈ 5 million events by default) through a real Mosquitto
//! into one real collector (`layso province run`) and a throw-away PostgreSQL on this
//! machine. Prints ingest rate, the time for the whole day, lag publish → commit
//! (p50/p99), the figures for every site-day, the dashboard page and JSON latency
//! (p50/p99), the weekly report time, the collector's peak RSS and its hand-off peak.
//!
//! Run: `cargo bench --bench province` (LAYSO_BENCH_SITES, LAYSO_BENCH_ENTRIES to change
//! the size). Without `--bench` (under `cargo test --all-targets`) it is a smoke run with
//! small numbers.

#[path = "../tests/support/mosquitto.rs"]
mod mosquitto;
#[path = "../tests/support/postgres.rs"]
mod postgres;
#[path = "../tests/support/province.rs"]
mod province;

use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn now_ms() -> i64 {
    mosquitto::now_ms()
}

/// One site's entries `from..=to` as an events message, with `at` = now (the lag clock).
fn batch(site: &str, day: &str, from: u64, to: u64) -> Vec<u8> {
    province::events_message(site, day, from, to, now_ms())
}

async fn publisher(
    port: u16,
    id: usize,
    sites: Vec<String>,
    entries: u64,
    per_batch: u64,
    day: String,
) {
    let mut o = MqttOptions::new(format!("bench-pub-{id}"), "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_max_packet_size(Some(16 * 1024 * 1024));
    o.set_outgoing_inflight_upper_limit(200);
    let (client, mut el) = AsyncClient::new(o, 400);
    let total = (entries.div_ceil(per_batch) as usize) * sites.len();
    let driver = tokio::spawn(async move {
        let mut acks = 0usize;
        while acks < total {
            match el.poll().await {
                Ok(Event::Incoming(rumqttc::v5::mqttbytes::v5::Packet::PubAck(_))) => acks += 1,
                Ok(_) => {}
                Err(e) => {
                    eprintln!("publisher {id}: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    });
    let mut from = 1;
    while from <= entries {
        let to = (from + per_batch - 1).min(entries);
        for s in &sites {
            let topic = format!("layso/v1/bench/{s}/events");
            if let Err(e) = client
                .publish(topic, QoS::AtLeastOnce, false, batch(s, &day, from, to))
                .await
            {
                eprintln!("publish: {e}");
            }
        }
        from = to + 1;
    }
    let _ = driver.await;
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return 0.0;
    }
    v[(((v.len() - 1) as f64) * p).round() as usize]
}

/// The machine's 1-minute load average (the figures depend on what else runs).
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn rss_peak_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|x| x.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let full = std::env::args().any(|a| a == "--bench");
    if !full {
        println!(
            "smoke run (no --bench): small numbers; use `cargo bench --bench province` for figures"
        );
    }
    let sites_n = env_or("LAYSO_BENCH_SITES", if full { 3321 } else { 20 });
    let entries = env_or("LAYSO_BENCH_ENTRIES", if full { 1500 } else { 60 }) as u64;
    let per_batch = 30u64;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let tmp = tempfile::tempdir().expect("temp dir");
    let pg = postgres::Pg::start();
    let broker = mosquitto::Broker::start(
        &tmp.path().join("broker"),
        mosquitto::BrokerOptions::default(),
    );
    let web_port = mosquitto::free_port();
    let conf = tmp.path().join("province.toml");
    std::fs::write(
        &conf,
        format!(
            "[broker]\nhost = \"127.0.0.1\"\nport = {}\nclient_id = \"bench-collector\"\n[database]\nurl = \"{}\"\n[web]\nlisten = \"127.0.0.1:{web_port}\"\n[collector]\nbatch_max_messages = 1000\nbatch_max_wait_ms = 50\nfigures_every_secs = 2\nfigures_min_age_secs = 30\n",
            broker.port,
            pg.url()
        ),
    )
    .expect("config");
    let log = std::fs::File::create(tmp.path().join("collector.log")).expect("log");
    let mut collector = Command::new(env!("CARGO_BIN_EXE_layso"))
        .args(["province", "run", "--config"])
        .arg(&conf)
        .env("LAYSO_LOG", "warn,layso::province::collector=info")
        // Plain log lines, without colour codes: the hand-off figures are read back.
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start the collector");
    let pid = collector.id();
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{web_port}");
    rt.block_on(async {
        for _ in 0..300 {
            if http
                .get(format!("{base}/api/overview"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    });
    let db = rt.block_on(postgres::client(&pg.url()));
    let day = {
        let d = (now_ms() + 7 * 3_600_000) / 86_400_000;
        layso::core::time::Day(d as i32).to_string()
    };
    let total = sites_n as i64 * entries as i64;
    println!("== {sites_n} sites × {entries} entries = {total} events, {per_batch} per message, 4 publisher connections; load average {}", load());
    let t0 = Instant::now();
    let pubs: Vec<_> = (0..4)
        .map(|i| {
            let sites: Vec<String> = (0..sites_n)
                .filter(|s| s % 4 == i)
                .map(|s| format!("site-{s:05}"))
                .collect();
            rt.spawn(publisher(
                broker.port,
                i,
                sites,
                entries,
                per_batch,
                day.clone(),
            ))
        })
        .collect();
    let mut stored = 0i64;
    let deadline = Instant::now() + Duration::from_secs(if full { 900 } else { 120 });
    while Instant::now() < deadline {
        stored = rt
            .block_on(db.query_one("SELECT count(*) FROM events", &[]))
            .map(|r| r.get::<_, i64>(0))
            .unwrap_or(0);
        if stored >= total {
            break;
        }
        if full && t0.elapsed().as_secs() % 10 == 0 {
            println!("  {:>4.0} s: {stored} stored", t0.elapsed().as_secs_f64());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let ingest = t0.elapsed();
    for p in pubs {
        let _ = rt.block_on(p);
    }
    assert_eq!(
        stored, total,
        "not every event was stored within the time limit"
    );
    println!(
        "ingest: {total} events in {:.1} s = {:.0} events/s (target ≥ 50,000/s; the day ≤ 120 s)",
        ingest.as_secs_f64(),
        total as f64 / ingest.as_secs_f64()
    );
    let lag = rt
        .block_on(db.query_one(
            "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY received_at - at),
                    percentile_disc(0.99) WITHIN GROUP (ORDER BY received_at - at) FROM events",
            &[],
        ))
        .map(|r| (r.get::<_, i64>(0), r.get::<_, i64>(1)))
        .unwrap_or((0, 0));
    println!("lag publish → commit: p50 {} ms, p99 {} ms", lag.0, lag.1);
    println!("load average after the ingest: {}", load());
    println!(
        "collector peak RSS after ingest: {:.1} MB (target ≤ 64 MB)",
        rss_peak_kb(pid) as f64 / 1024.0
    );
    // Figures for every site-day.
    let t1 = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(600);
    while Instant::now() < deadline {
        let left = rt
            .block_on(db.query_one(
                "SELECT (SELECT count(*) FROM dirty_days) + (SELECT count(*) FROM sites) - (SELECT count(*) FROM site_day)",
                &[],
            ))
            .map(|r| r.get::<_, i64>(0))
            .unwrap_or(1);
        if left == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    println!(
        "figures of {sites_n} site-days ready {:.1} s after the ingest; collector peak RSS now {:.1} MB",
        t1.elapsed().as_secs_f64(),
        rss_peak_kb(pid) as f64 / 1024.0
    );
    // Dashboard page and JSON.
    let n = if full { 200 } else { 20 };
    for (path, what) in [("/", "page"), ("/api/overview", "JSON")] {
        let mut ms = Vec::new();
        let mut bytes = 0;
        for _ in 0..n {
            let t = Instant::now();
            let body = rt.block_on(async {
                http.get(format!("{base}{path}"))
                    .send()
                    .await
                    .expect("GET")
                    .bytes()
                    .await
                    .expect("body")
            });
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            bytes = body.len();
        }
        println!(
            "dashboard {what} ({bytes} bytes): p50 {:.1} ms, p99 {:.1} ms over {n} requests (target p99 ≤ 200 ms)",
            pct(&mut ms, 0.5),
            pct(&mut ms, 0.99)
        );
    }
    println!(
        "collector peak RSS after the dashboard: {:.1} MB",
        rss_peak_kb(pid) as f64 / 1024.0
    );
    let week = layso::province::report::week_of(day.parse().expect("day"));
    let out = tmp.path().join("report.xlsx");
    let t2 = Instant::now();
    let st = Command::new(env!("CARGO_BIN_EXE_layso"))
        .args(["province", "report", "--config"])
        .arg(&conf)
        .args(["--week", &week, "--out"])
        .arg(&out)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .status()
        .expect("report");
    assert!(st.success());
    println!(
        "weekly report {week} for {sites_n} sites: {:.2} s, {} bytes XLSX (target ≤ 10 s)",
        t2.elapsed().as_secs_f64(),
        std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0)
    );
    // The same report downloaded from the dashboard: made inside the collector.
    let t3 = Instant::now();
    let xlsx = rt.block_on(async {
        let r = http
            .get(format!("{base}/report?week={week}&format=xlsx"))
            .send()
            .await
            .expect("GET /report");
        assert!(r.status().is_success(), "GET /report: {}", r.status());
        r.bytes().await.expect("report body")
    });
    println!(
        "weekly report downloaded from the dashboard: {:.2} s, {} bytes",
        t3.elapsed().as_secs_f64(),
        xlsx.len()
    );
    println!(
        "collector peak RSS overall: {:.1} MB (target ≤ 64 MB)",
        rss_peak_kb(pid) as f64 / 1024.0
    );
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    let _ = collector.wait();
    // The collector's own account of its reader → writer hand-off (logged at shutdown).
    let log = std::fs::read_to_string(tmp.path().join("collector.log")).unwrap_or_default();
    match log
        .lines()
        .rfind(|l| l.contains("collector hand-off at shutdown"))
    {
        Some(l) => println!(
            "collector hand-off: {}",
            l.split_once("shutdown ").map_or(l, |x| x.1)
        ),
        None => println!("collector hand-off: no figures in its log"),
    }
}

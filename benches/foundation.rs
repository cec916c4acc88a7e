//! Foundation benchmark: durable issue latency and throughput through the engine (real
//! sled store on disk, one flush per batch), next to a baseline that flushes once per
//! ticket; then start-up time and resident memory of the real binary with 1,000,000
//! events in the log.
//!
//! Run: `cargo bench --bench foundation` (LAYSO_BENCH_EVENTS=N to change the log size).

#[path = "support/bench.rs"]
mod bench;
#[path = "../tests/support/dev_config.rs"]
mod dev_config;

use layso::core::{Command, Day, Entry, Event};
use layso::engine::{self, Handle, Options, SystemClock};
use layso::log::EventLog;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn pct(sorted: &[Duration], p: f64) -> f64 {
    bench::at(sorted, p).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// The dev config with the store at `store` (the printer's output next to it) and the
/// web server on `port`.
fn config(store: &std::path::Path, port: u16) -> (String, layso::config::Config) {
    let dir = store.parent().unwrap_or(store);
    let text = dev_config::config_text(port, dir, "");
    let c = layso::config::parse(&text, "bench.toml", None).expect("config");
    (text, c)
}

fn bench_dir(name: &str) -> std::path::PathBuf {
    // On the real disk (not tmpfs), so flushes cost what they cost.
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("bench dir");
    d
}

fn start_engine(dir: &std::path::Path) -> Handle {
    let (_, c) = config(&dir.join("store"), 0);
    let (log, report) = EventLog::open(&dir.join("store"), "bench", 0).expect("open");
    let opts = Options {
        clock: Box::new(SystemClock),
        watchdog: None,
        stall_after: None,
        quota_bytes: None,
    };
    engine::start(Arc::new(c), log, report, opts).expect("engine")
}

async fn issuers(
    handle: &Handle,
    concurrency: usize,
    per_task: usize,
) -> (Vec<Duration>, Duration) {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let h = handle.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_task);
            for i in 0..per_task {
                let s = ["A", "B", "C"][(t + i) % 3];
                let t0 = Instant::now();
                let r = h
                    .execute(Command::Issue {
                        service: s.into(),
                        priority: false,
                        source: "bench".into(),
                    })
                    .await;
                if r.is_ok() {
                    lat.push(t0.elapsed());
                }
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    let wall = start.elapsed();
    all.sort();
    (all, wall)
}

fn baseline_flush_per_ticket(n: usize) -> f64 {
    let dir = bench_dir("baseline");
    let (mut log, _) = EventLog::open(&dir.join("store"), "bench", 0).expect("open");
    let start = Instant::now();
    for i in 0..n {
        let seq = log.next_seq();
        let e = Entry {
            seq,
            at: i as i64,
            clock_ok: true,
            day: Day(20_000),
            event: Event::TicketIssued {
                ticket: format!("A{i:03}"),
                service: "A".into(),
                number: i as u32,
                priority: false,
                source: "bench".into(),
                ahead: 0,
            },
        };
        log.append(&[e]).expect("append");
        log.flush().expect("flush");
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn make_log(dir: &std::path::Path, events: u64) -> Duration {
    let start = Instant::now();
    let (mut log, _) = EventLog::open(&dir.join("store"), "dev-ben-thanh", 0).expect("open");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    // Spread over 100 past days so replay of "today" is a small part of the log.
    let per_day = events / 100;
    let mut batch = Vec::with_capacity(10_000);
    let first_seq = log.next_seq();
    for (seq, i) in (first_seq..).zip(0..events) {
        let day_idx = (i / per_day.max(1)) as i64;
        let at = now - (100 - day_idx) * 86_400_000 + (i % per_day.max(1)) as i64;
        let day = layso::core::DayRule::VIETNAM.day_of(at);
        let n = (i % per_day.max(1)) as u32 + 1;
        batch.push(Entry {
            seq,
            at,
            clock_ok: true,
            day,
            event: match i % 4 {
                0 | 1 => Event::TicketIssued {
                    ticket: format!("A{n:04}"),
                    service: "A".into(),
                    number: n,
                    priority: false,
                    source: "kiosk".into(),
                    ahead: 0,
                },
                2 => Event::TicketCalled {
                    ticket: format!("A{n:04}"),
                    service: "A".into(),
                    counter: 1,
                    recall: 0,
                    officer: String::new(),
                },
                _ => Event::TicketServed {
                    ticket: format!("A{n:04}"),
                    service: "A".into(),
                    counter: 1,
                    officer: String::new(),
                },
            },
        });
        if batch.len() == 10_000 {
            log.append(&batch).expect("append");
            batch.clear();
        }
    }
    log.append(&batch).expect("append");
    log.close_clean(now).expect("close");
    start.elapsed()
}

/// Day files the journal keeps (see src/log/journal.rs).
fn layso_journal_days() -> usize {
    3
}

fn rss_kb(pid: u32, key: &str) -> u64 {
    bench::status_kb(&pid.to_string(), key)
}

fn startup(dir: &std::path::Path, runs: usize) -> Vec<(f64, u64, u64)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(18999);
    let (text, _) = config(&dir.join("store"), port);
    let cfg = dir.join("layso.toml");
    std::fs::File::create(&cfg)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .expect("config");
    let mut out = Vec::new();
    for _ in 0..runs {
        let t0 = Instant::now();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_layso"))
            .args(["run", "--config"])
            .arg(&cfg)
            .env("LAYSO_LOG", "warn")
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        let mut ready = None;
        while t0.elapsed() < Duration::from_secs(30) {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                let _ = s.write_all(b"GET /api/v1/state HTTP/1.0\r\n\r\n");
                let mut buf = [0u8; 12];
                if std::io::Read::read(&mut s, &mut buf)
                    .map(|n| n > 0)
                    .unwrap_or(false)
                {
                    ready = Some(t0.elapsed());
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        // Let every adapter finish starting (the printer loads its font) before reading.
        std::thread::sleep(Duration::from_millis(1500));
        let rss = rss_kb(child.id(), "VmRSS:");
        let hwm = rss_kb(child.id(), "VmHWM:");
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let _ = child.wait();
        out.push((
            ready.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0),
            rss,
            hwm,
        ));
    }
    out
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // `cargo bench` passes --bench; under `cargo test --all-targets` this is a smoke run
    // of the same code with small counts.
    let full = std::env::args().any(|a| a == "--bench");
    if !full {
        println!("smoke run (no --bench): small counts; use `cargo bench --bench foundation` for figures");
    }
    let scale = if full { 1 } else { 20 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!("== durable issue latency through the engine (sled on disk, group commit)");
    println!(
        "{:>12} {:>9} {:>9} {:>9} {:>12}",
        "issuers", "p50 ms", "p99 ms", "max ms", "issues/s"
    );
    for (conc, per) in [
        (1usize, 2000usize / scale),
        (8, 500 / scale),
        (64, 100 / scale),
    ] {
        let dir = bench_dir(&format!("engine-{conc}"));
        let handle = start_engine(&dir);
        let (lat, wall) = rt.block_on(issuers(&handle, conc, per));
        println!(
            "{:>12} {:>9.3} {:>9.3} {:>9.3} {:>12.0}",
            conc,
            pct(&lat, 0.5),
            pct(&lat, 0.99),
            pct(&lat, 1.0),
            lat.len() as f64 / wall.as_secs_f64()
        );
        rt.block_on(handle.stop());
    }
    let base = baseline_flush_per_ticket(2000 / scale);
    println!("baseline, one flush per ticket (no group commit): {base:.0} issues/s");

    let events: u64 = std::env::var("LAYSO_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000 / scale as u64);
    let dir = bench_dir("startup");
    let made = make_log(&dir, events);
    let size = bench::dir_bytes(&dir.join("store"));
    let journal: u64 = bench::dir_bytes(&dir.join("store.journal"));
    println!(
        "second copy: journal of the newest {} days {:.2} MB, high-water mark {} bytes",
        layso_journal_days(),
        journal as f64 / 1_048_576.0,
        std::fs::metadata(dir.join("store.hwm")).map_or(0, |m| m.len())
    );
    println!(
        "== start-up with {events} events in the log ({:.0} MB on disk, written in {:.1} s)",
        size as f64 / 1e6,
        made.as_secs_f64()
    );
    let mut runs = startup(&dir, if full { 5 } else { 1 });
    for (i, (ms, rss, hwm)) in runs.iter().enumerate() {
        println!(
            "run {i}: ready in {ms:.1} ms, RSS {:.1} MB, peak RSS {:.1} MB",
            *rss as f64 / 1024.0,
            *hwm as f64 / 1024.0
        );
    }
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let med = runs[runs.len() / 2];
    let mut rss: Vec<u64> = runs.iter().map(|r| r.1).collect();
    rss.sort();
    println!(
        "median: ready in {:.1} ms, RSS {:.1} MB (targets: <= 300 ms, <= 16 MB)",
        med.0,
        rss[rss.len() / 2] as f64 / 1024.0
    );
}

//! Uplink drain benchmark: a store holding a 1,000,000-event backlog (two years of a
//! busy center: 500 tickets a day, each issued, called and served) is drained by the
//! real daemon binary to a local Mosquitto. Prints the drain rate (events/s) and the
//! daemon's peak resident memory (VmHWM) while draining, next to a baseline: how fast
//! this machine reads and batches the same log in-process without any network.
//!
//! Run: `cargo bench --bench uplink` (needs `mosquitto`; scripts/test.sh installs it).
//! Targets: >= 50,000 events/s and <= 32 MB.

#[path = "support/bench.rs"]
mod bench;

use layso::core::{Day, DayRule, Entry, Event};
use layso::log::EventLog;
use layso::uplink::metrics::day_start_ms;
use layso::uplink::protocol::build_batch;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Backlog sizes under `cargo bench`: a week-long outage at a busy center, and the
/// 1,000,000-event target. `cargo test --all-targets` runs this program without
/// `--bench`, as a quick smoke run with a small backlog.
fn sizes() -> Vec<u64> {
    if std::env::args().any(|a| a == "--bench") {
        vec![50_000, 1_000_000]
    } else {
        vec![20_000]
    }
}
const TICKETS_PER_DAY: u64 = 500;

fn fail(msg: String) -> ! {
    eprintln!("uplink bench: {msg}");
    std::process::exit(1)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| fail(format!("no free port: {e}")))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn find(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/local/sbin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            fail(format!(
                "`{name}` is not installed: apt-get install -y mosquitto (scripts/test.sh does it)"
            ))
        })
}

/// Write the backlog straight into a store, in chunks (one flush each).
fn make_store(dir: &Path, site: &str, total: u64) -> u64 {
    let rule = DayRule::VIETNAM;
    let days = total.div_ceil(TICKETS_PER_DAY * 3 + 1) as i32;
    let first_day = Day(rule.day_of(now_ms()).0 - days - 1);
    let (mut log, _) =
        EventLog::open(dir, site, now_ms()).unwrap_or_else(|e| fail(format!("store: {e}")));
    let mut seq = 1u64;
    let mut chunk = Vec::with_capacity(20_000);
    let mut d = 0;
    while seq <= total {
        let day = Day(first_day.0 + d);
        d += 1;
        let mut at = day_start_ms(&rule, day) + 7 * 3_600_000;
        let push = |event: Event, chunk: &mut Vec<Entry>, seq: &mut u64, at: &mut i64| {
            if *seq <= total {
                chunk.push(Entry {
                    seq: *seq,
                    at: *at,
                    clock_ok: true,
                    day,
                    event,
                });
                *seq += 1;
                *at += 1000;
            }
        };
        push(Event::DayStarted {}, &mut chunk, &mut seq, &mut at);
        for n in 1..=TICKETS_PER_DAY as u32 {
            let ticket = format!("A{n:03}");
            push(
                Event::TicketIssued {
                    ticket: ticket.clone(),
                    service: "A".into(),
                    number: n,
                    priority: n % 10 == 0,
                    source: "kiosk".into(),
                    ahead: 0,
                },
                &mut chunk,
                &mut seq,
                &mut at,
            );
            push(
                Event::TicketCalled {
                    ticket: ticket.clone(),
                    service: "A".into(),
                    counter: 1,
                    recall: 0,
                    officer: String::new(),
                },
                &mut chunk,
                &mut seq,
                &mut at,
            );
            push(
                Event::TicketServed {
                    ticket,
                    service: "A".into(),
                    counter: 1,
                    officer: String::new(),
                },
                &mut chunk,
                &mut seq,
                &mut at,
            );
        }
        if chunk.len() >= 15_000 || seq > total {
            log.append(&chunk)
                .and_then(|_| log.flush())
                .unwrap_or_else(|e| fail(format!("append: {e}")));
            chunk.clear();
        }
    }
    log.close_clean(now_ms())
        .unwrap_or_else(|e| fail(format!("close: {e}")));
    seq - 1
}

/// Baseline: read the whole log and build batches in-process (no network).
fn baseline(dir: &Path, site: &str) -> f64 {
    let (mut log, _) =
        EventLog::open(dir, site, now_ms()).unwrap_or_else(|e| fail(format!("store: {e}")));
    let r = log.reader();
    let rss_before = status_kb(std::process::id(), "VmRSS:");
    let start = Instant::now();
    let (mut after, mut n, mut bytes) = (0u64, 0u64, 0usize);
    for _ in 0..10_000_000 {
        let rows = r
            .raw_after(after, 1000, 256 * 1024)
            .unwrap_or_else(|e| fail(format!("read: {e}")));
        if rows.is_empty() {
            break;
        }
        let jsons: Vec<(u64, std::borrow::Cow<'_, [u8]>)> = rows
            .iter()
            .filter_map(|(s, v)| layso::log::json_of(*s, v).ok().map(|j| (*s, j)))
            .collect();
        let refs: Vec<(u64, &[u8])> = jsons.iter().map(|(s, j)| (*s, j.as_ref())).collect();
        let Some(b) = build_batch(site, &refs, 256 * 1024) else {
            break;
        };
        after = b.to_seq;
        n += b.count as u64;
        bytes += b.payload.len();
    }
    let secs = start.elapsed().as_secs_f64();
    let rss_after = status_kb(std::process::id(), "VmHWM:");
    let _ = log.close_clean(now_ms());
    println!(
        "baseline   read + batch in-process: {n} events, {:.1} MB of payload in {secs:.2} s = {:.0} events/s; RSS {:.1} MB after opening the store, peak {:.1} MB after the scan",
        bytes as f64 / 1e6,
        n as f64 / secs,
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0
    );
    n as f64 / secs
}

/// Run [`baseline`] in a fresh copy of this program; returns its events/s.
fn scan_in_child(store: &Path) -> f64 {
    let exe = std::env::current_exe().unwrap_or_else(|e| fail(format!("current exe: {e}")));
    let out = Command::new(exe)
        .env("LAYSO_UPLINK_BENCH_SCAN", store)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| fail(format!("scan child: {e}")));
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    text.split(" = ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| fail(format!("scan child printed no rate: {text}")))
}

fn http_state(port: u16) -> Option<serde_json::Value> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET /api/v1/state HTTP/1.0\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let at = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    serde_json::from_slice(&buf[at + 4..]).ok()
}

fn status_kb(pid: u32, field: &str) -> u64 {
    bench::status_kb(&pid.to_string(), field)
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `layso run` on `cfg`, quiet; killed when dropped.
fn run_daemon(cfg: &Path) -> Kill {
    Kill(
        Command::new(env!("CARGO_BIN_EXE_layso"))
            .args(["run", "--config"])
            .arg(cfg)
            .env("LAYSO_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| fail(format!("layso: {e}"))),
    )
}

fn main() {
    // Child mode: read the whole log in a fresh process (to see what a full scan costs
    // in memory on its own, without the daemon).
    if let Some(dir) = std::env::var_os("LAYSO_UPLINK_BENCH_SCAN") {
        baseline(Path::new(&dir), "bench-site");
        return;
    }
    for total in sizes() {
        println!("== backlog of {total} events");
        run(total);
    }
}

fn run(total: u64) {
    let mosquitto = find("mosquitto");
    let tmp = tempfile::tempdir().unwrap_or_else(|e| fail(format!("tempdir: {e}")));
    let store = tmp.path().join("store");
    let site = "bench-site";
    let t = Instant::now();
    let made = make_store(&store, site, total);
    println!(
        "store      {made} events written in {:.1} s; {:.1} MB on disk",
        t.elapsed().as_secs_f64(),
        dir_size(&store) as f64 / 1e6
    );
    let base = scan_in_child(&store);

    let port = free_port();
    let conf = tmp.path().join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\nuser root\npersistence false\nmax_queued_messages 1000000\n"
        ),
    )
    .unwrap_or_else(|e| fail(format!("{e}")));
    let _broker = Kill(
        Command::new(mosquitto)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| fail(format!("mosquitto: {e}"))),
    );
    std::thread::sleep(Duration::from_millis(300));

    let web = free_port();
    let cfg = tmp.path().join("layso.toml");
    let write_config = |uplink: bool| {
        let mut text = bench::site_toml(site, 1, "counter-1-secret", &store);
        text += &format!("[web]\nbind = \"127.0.0.1:{web}\"\n");
        if uplink {
            text += &format!("[uplink]\nhost = \"127.0.0.1\"\nport = {port}\n");
            // Extra [uplink] settings to compare (e.g. "in_flight = 4").
            if let Ok(extra) = std::env::var("LAYSO_UPLINK_BENCH_SETTINGS") {
                text += &extra.replace(';', "\n");
                text += "\n";
            }
        }
        std::fs::write(&cfg, text).unwrap_or_else(|e| fail(format!("{e}")));
    };

    // Baseline: the daemon on the same store without an uplink, idle for 3 s.
    write_config(false);
    {
        let idle = run_daemon(&cfg);
        let t = Instant::now();
        while http_state(web).is_none() && t.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_secs(3));
        println!(
            "baseline   daemon without uplink on the same store: peak RSS (VmHWM) {:.1} MB after {:.1} s",
            status_kb(idle.0.id(), "VmHWM:") as f64 / 1024.0,
            t.elapsed().as_secs_f64()
        );
    }
    std::thread::sleep(Duration::from_millis(500));
    write_config(true);
    let spawned = Instant::now();
    let daemon = run_daemon(&cfg);
    let pid = daemon.0.id();
    let mut connected_at: Option<i64> = None;
    let mut rss_max = 0;
    let mut done: Option<(i64, u64)> = None;
    while spawned.elapsed() < Duration::from_secs(600) {
        rss_max = rss_max.max(status_kb(pid, "VmRSS:"));
        if let Some(s) = http_state(web) {
            let u = &s["uplink"];
            if connected_at.is_none() {
                connected_at = u["connected_since"].as_i64();
            }
            if s["store"]["unpublished"] == 0 {
                done = Some((now_ms(), s["store"]["last_seq"].as_u64().unwrap_or(0)));
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let hwm = status_kb(pid, "VmHWM:");
    let (Some(c), Some((end, published))) = (connected_at, done) else {
        // (published = the last seq: everything up to it is acknowledged)
        fail("the backlog did not drain within 10 minutes".into())
    };
    let secs = (end - c) as f64 / 1000.0;
    let rate = published as f64 / secs;
    println!(
        "drain      {published} events to Mosquitto (QoS 1, batches of 1000, 8 in flight) in {secs:.2} s = {rate:.0} events/s (target >= 50000) — {:.0}% of the in-process baseline",
        100.0 * rate / base
    );
    println!(
        "memory     daemon peak RSS (VmHWM) {:.1} MB, max sampled VmRSS {:.1} MB (target <= 32 MB)",
        hwm as f64 / 1024.0,
        rss_max as f64 / 1024.0
    );
}

fn dir_size(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| {
                    let path = e.path();
                    if path.is_dir() {
                        dir_size(&path)
                    } else {
                        e.metadata().map(|m| m.len()).unwrap_or(0)
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

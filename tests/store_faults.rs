//! The storage fault matrix: the faults a Pi's SD card or small disk meets, each under
//! concurrent kiosk load (HTTP `POST /api/v1/tickets` from several tasks) against the real
//! `layso run`, with SIGKILL and restart. For every row the test prints and asserts:
//! tickets acknowledged; recovered entries and lost tickets the daemon reported (its
//! `store_recovered` entries); acknowledged tickets missing from the log (0: one copy
//! always survives a single-file fault); numbers repeated within the day (0); seq reused
//! (0); seconds until tickets are served again; and that the queue counts only stored
//! tickets (a refused command leaves no trace).
//!
//! Disk-full and EMFILE rows mount a small tmpfs and change the daemon's RLIMIT_NOFILE; the
//! power-cut and FUSE EROFS/EIO rows put the store on a LazyFS-style FUSE mount
//! (tests/support/lazyfs.rs) that drops unsynced writes or fails writes on demand:
//! they need root and FAIL (not skip) without it. Run: `cargo test --test store_faults --
//! --nocapture`.

#[path = "support/lazyfs.rs"]
mod lazyfs;
mod support;

use layso::core::Event;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::daemon::{Daemon, Site};
use support::kiosk::{record, service, Acked, AckedLog, Load};

const SITE_ID: &str = "dev-ben-thanh";

#[derive(Debug, Default)]
struct Row {
    name: &'static str,
    acked: usize,
    recovered: u64,
    reported_lost: u64,
    missing: usize,
    repeated: usize,
    seq_reused: usize,
    serve_again_s: f64,
    queue_matches: bool,
    note: String,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .expect("http client")
}

/// Issue tickets from 4 tasks for `ms`, or until `kill_at` fires (then SIGKILL from here).
async fn load(site: &Site, acked: &AckedLog, ms: u64) -> u64 {
    let load = Load::start(
        4,
        client,
        &site.url("/api/v1/tickets"),
        |i| serde_json::json!({"service": service(i)}),
        Duration::from_millis(5),
        acked,
    );
    tokio::time::sleep(Duration::from_millis(ms)).await;
    load.stop().await
}

/// Load, then SIGKILL while the load still runs.
async fn load_then_kill(site: &Site, d: Daemon, acked: &AckedLog, ms: u64) {
    let killer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        d.kill9();
    });
    load(site, acked, ms + 100).await;
    let _ = killer.await;
}

/// POST until one ticket is issued; seconds it took (panics after `limit`).
async fn serve_again(site: &Site, acked: &AckedLog, limit: Duration) -> f64 {
    let start = Instant::now();
    let c = client();
    while start.elapsed() < limit {
        if let Ok(r) = c
            .post(site.url("/api/v1/tickets"))
            .json(&serde_json::json!({"service": "A"}))
            .send()
            .await
        {
            if r.status() == 201 {
                if let Ok(v) = r.json::<serde_json::Value>().await {
                    record(acked, &v);
                }
                return start.elapsed().as_secs_f64();
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "tickets were not served again within {limit:?}\ndaemon log:\n{}",
        site.daemon_log()
    );
}

fn journal_files(store: &Path) -> Vec<PathBuf> {
    let mut s = store.as_os_str().to_owned();
    s.push(".journal");
    let mut v: Vec<PathBuf> = std::fs::read_dir(PathBuf::from(s))
        .map(|r| r.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "jnl"));
    v.sort();
    v
}

fn hwm_path(store: &Path) -> PathBuf {
    let mut s = store.as_os_str().to_owned();
    s.push(".hwm");
    PathBuf::from(s)
}

fn flip(path: &Path, at: u64) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("open for flip");
    let mut b = [0u8; 16];
    let n = f.read_at(&mut b, at).unwrap_or(0);
    for x in &mut b[..n] {
        *x ^= 0xA5;
    }
    f.write_all_at(&b[..n], at).expect("flip");
}

/// Zeroes the 4 KiB page at `at`.
fn zero_page(path: &Path, at: u64) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("db");
    f.write_all_at(&[0u8; 4096], at).expect("zero");
}

fn len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn truncate(path: &Path, to: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(to))
        .expect("truncate");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        if e.path().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
        }
    }
}

/// The queue the daemon shows (tickets waiting, all services) and its day.
async fn queue(site: &Site) -> (u64, String) {
    let state = site.state(&client()).await;
    let waiting: u64 = state["services"]
        .as_array()
        .map(|s| s.iter().filter_map(|v| v["waiting"].as_u64()).sum())
        .unwrap_or(0);
    (
        waiting,
        state["day"].as_str().unwrap_or_default().to_string(),
    )
}

/// Check the log (after a clean stop) against what clients were told and the queue the
/// daemon showed (no calls happen, so it counts exactly the stored tickets); fill the row.
fn verify(store: &Path, acked: &[Acked], (waiting, today): (u64, String), row: &mut Row) {
    let (log, _report) = layso::log::EventLog::open(store, SITE_ID, 0).expect("store opens");
    let entries = log.reader().entries_after(0, usize::MAX).expect("read all");
    let by_seq: HashMap<u64, &layso::core::Entry> = entries.iter().map(|e| (e.seq, e)).collect();
    let mut seen = HashSet::new();
    let mut issued_today = 0u64;
    for e in &entries {
        match &e.event {
            Event::TicketIssued { ticket, .. } => {
                if !seen.insert((e.day, ticket.clone())) {
                    row.repeated += 1;
                    row.note += &format!("; {ticket} twice in the log (again at seq {})", e.seq);
                }
                if e.day.to_string() == today {
                    issued_today += 1;
                }
            }
            Event::StoreRecovered {
                recovered,
                lost_tickets,
                ..
            } => {
                row.recovered += recovered;
                for r in lost_tickets {
                    let nums: Vec<u64> = r
                        .split('–')
                        .filter_map(|p| {
                            p.trim_start_matches(|c: char| !c.is_ascii_digit())
                                .parse()
                                .ok()
                        })
                        .collect();
                    if let [a, b] = nums[..] {
                        row.reported_lost += b.saturating_sub(a) + 1;
                    }
                }
            }
            _ => {}
        }
    }
    row.queue_matches = waiting == issued_today;
    let mut seqs: HashMap<u64, &str> = HashMap::new();
    let mut tickets: HashSet<(String, String)> = HashSet::new();
    for a in acked {
        if let Some(prev) = seqs.insert(a.seq, &a.ticket) {
            if prev != a.ticket {
                row.seq_reused += 1;
            }
        }
        if !tickets.insert((a.day.clone(), a.ticket.clone())) {
            row.repeated += 1;
            row.note += &format!("; {} acknowledged twice (again at seq {})", a.ticket, a.seq);
        }
        match by_seq.get(&a.seq).map(|e| &e.event) {
            Some(Event::TicketIssued { ticket, .. }) if *ticket == a.ticket => {}
            Some(_) => row.seq_reused += 1,
            None => row.missing += 1,
        }
    }
    row.acked = acked.len();
}

/// While the store cannot write (`name`'s fault on): the state says so and names the
/// cause (`text`), and a ticket is refused with 503; returns `store.error` and the
/// refusal's body.
async fn refused_while_failing(site: &Site, name: &str, text: &str) -> (String, serde_json::Value) {
    let c = client();
    let st = site.state(&c).await;
    assert_eq!(st["store"]["writable"], false, "{name}: {}", st["store"]);
    let error = st["store"]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        error.contains(text),
        "{name}: store.error names the cause: {error}"
    );
    let body = serde_json::json!({"service": "A"});
    let r = site.post_json(&c, "/api/v1/tickets", &body).await;
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    assert_eq!(
        status, 503,
        "{name}: a ticket is refused while the store cannot write"
    );
    (error, body)
}

/// Once the fault is cleared: seconds until tickets are served again, then more load.
async fn served_again(site: &Site, acked: &AckedLog, row: &mut Row) {
    row.serve_again_s = serve_again(site, acked, Duration::from_secs(10)).await;
    load(site, acked, 300).await;
}

/// The queue shown, a clean stop, and the log checked against what clients were told.
async fn stop_and_verify(site: &Site, d: Daemon, store: &Path, acked: &AckedLog, row: &mut Row) {
    let q = queue(site).await;
    let acked_v = acked.lock().map(|a| a.clone()).unwrap_or_default();
    assert_eq!(d.stop(), Some(0), "{}: clean stop", row.name);
    verify(store, &acked_v, q, row);
}

/// SIGKILL under load, a restart (with `env`) and a little more load, then
/// [`stop_and_verify`]: the daemon's queue equals the durable log after the kill, too.
async fn kill_restart_verify(
    site: &Site,
    d: Daemon,
    env: &[(&str, &str)],
    store: &Path,
    acked: &AckedLog,
    row: &mut Row,
) {
    load_then_kill(site, d, acked, 300).await;
    let d = tokio::task::block_in_place(|| site.start_with_env(env));
    load(site, acked, 200).await;
    stop_and_verify(site, d, store, acked, row).await;
}

type Fault = fn(&Path, &Path);

/// A fault on the db file: its name, the damage (truncate, zero a page, flip bytes) and the
/// offset it is done at, from the file's length.
type DbRow = (&'static str, fn(&Path, u64), fn(u64) -> u64);

/// A fault applied to the files between a SIGKILL and the restart. `snapshot` runs after
/// the first load phase (for rollback rows) with the store and a scratch directory.
async fn file_row(
    name: &'static str,
    fault: impl FnOnce(&Path, &Path),
    snapshot: Option<Fault>,
) -> Row {
    let site = Site::new("");
    let store = site.store();
    let scratch = site.dir.path().join("scratch");
    let acked: AckedLog = Arc::default();
    let d = tokio::task::block_in_place(|| site.start());
    load(&site, &acked, 700).await;
    if let Some(s) = snapshot {
        // A copy of an idle moment (for "older copy" rows): wait for the store to settle.
        tokio::time::sleep(Duration::from_millis(700)).await;
        s(&store, &scratch);
    }
    // Idle long enough for the acknowledged mark, then more load, killed mid-way.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    load_then_kill(&site, d, &acked, 600).await;
    fault(&store, &scratch);
    let started = Instant::now();
    let d = tokio::task::block_in_place(|| site.start());
    let mut row = Row {
        name,
        ..Row::default()
    };
    serve_again(&site, &acked, Duration::from_secs(20)).await;
    row.serve_again_s = started.elapsed().as_secs_f64();
    load(&site, &acked, 300).await;
    let st = site.state(&client()).await;
    row.note = st["store"]["alarms"].to_string();
    stop_and_verify(&site, d, &store, &acked, &mut row).await;
    row
}

fn db(store: &Path) -> PathBuf {
    store.join("db")
}

fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    assert_eq!(
        uid, 0,
        "the disk-full, EMFILE and FUSE rows of the storage fault matrix need root (tmpfs and \
         FUSE mounts, prlimit on the daemon; FUSE needs /dev/fuse, fuse3 gives fusermount3); run \
         `sudo -E cargo test --test store_faults` (CI runs as root)"
    );
}

struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).expect("mount point");
        let st = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .expect("run mount (util-linux)");
        assert!(st.success(), "mount -t tmpfs at {} failed", at.display());
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// A site whose store lives on `mnt` (a small tmpfs).
fn site_on(mnt: &Path) -> (Site, PathBuf) {
    let site = Site::new("");
    let store = mnt.join("store");
    let text = std::fs::read_to_string(&site.config).expect("config");
    let text = text.replace(
        &format!("{:?}", site.store().display().to_string()),
        &format!("{:?}", store.display().to_string()),
    );
    std::fs::write(&site.config, text).expect("config");
    (site, store)
}

/// Fill the file system holding `dir` with one file; returns it.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).expect("filler");
    let chunk = vec![0x55u8; 64 * 1024];
    for _ in 0..100_000 {
        if f.write_all(&chunk).is_err() {
            break;
        }
    }
    let _ = f.sync_all();
    path
}

async fn disk_full_row() -> Row {
    require_root();
    let base = tempfile::tempdir().expect("tmp");
    let mnt = base.path().join("mnt");
    let _fs = Tmpfs::mount(&mnt, "24m");
    let (site, store) = site_on(&mnt);
    let acked: AckedLog = Arc::default();
    let d = tokio::task::block_in_place(|| site.start());
    load(&site, &acked, 700).await;
    let filler = fill(&mnt);
    // Under load with the disk full: some requests are refused, none acknowledged wrongly.
    load(&site, &acked, 1_500).await;
    let name = "disk full, then freed (tmpfs, no restart)";
    let (error, body) = refused_while_failing(&site, name, "space").await;
    assert!(
        body["message_vi"]
            .as_str()
            .unwrap_or_default()
            .contains("Tạm thời không thể cấp số"),
        "the kiosk's answer says in Vietnamese that no number can be issued: {body}"
    );
    std::fs::remove_file(&filler).expect("free the disk");
    let mut row = Row {
        name,
        ..Row::default()
    };
    served_again(&site, &acked, &mut row).await;
    let st = site.state(&client()).await;
    assert_eq!(st["store"]["writable"], true, "{}", st["store"]);
    row.note = format!("while full: HTTP 503, store.error {error:?}");
    kill_restart_verify(&site, d, &[], &store, &acked, &mut row).await;
    row
}

/// A write error the kernel cannot be made to give while the daemon holds its files open
/// (a read-only remount is refused with EBUSY; EIO needs a failing device): injected into
/// the journal's writes by the daemon's test fault hook, then cleared, under load.
async fn injected_row(name: &'static str, errno: i32, text: &str) -> Row {
    let site = Site::new("");
    let store = site.store();
    let hook = site.dir.path().join("fault-errno");
    let hook_s = hook.display().to_string();
    let env = [("LAYSO_FAULT_STORE_ERRNO_FILE", hook_s.as_str())];
    let acked: AckedLog = Arc::default();
    let d = tokio::task::block_in_place(|| site.start_with_env(&env));
    load(&site, &acked, 700).await;
    std::fs::write(&hook, errno.to_string()).expect("inject");
    load(&site, &acked, 1_500).await;
    let (error, _) = refused_while_failing(&site, name, text).await;
    std::fs::remove_file(&hook).expect("clear the fault");
    let mut row = Row {
        name,
        ..Row::default()
    };
    served_again(&site, &acked, &mut row).await;
    row.note = format!("while failing: store.error {error:?}");
    kill_restart_verify(&site, d, &env, &store, &acked, &mut row).await;
    row
}

async fn emfile_row() -> Row {
    require_root();
    let site = Site::new("");
    let store = site.store();
    let acked: AckedLog = Arc::default();
    let d = tokio::task::block_in_place(|| site.start());
    load(&site, &acked, 500).await;
    let pid = d.pid().to_string();
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|r| r.count())
        .unwrap_or(64);
    // Lower the soft limit only (raising a hard limit back needs CAP_SYS_RESOURCE).
    let hard = std::fs::read_to_string(format!("/proc/{pid}/limits"))
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(4).map(str::to_string))
        })
        .expect("the daemon's open-file limit in /proc/PID/limits");
    let limit = format!("{}:{hard}", fds + 12);
    let set = |n: &str| {
        let st = std::process::Command::new("prlimit")
            .args(["--pid", &pid, &format!("--nofile={n}")])
            .status()
            .expect("run prlimit (util-linux)");
        assert!(st.success(), "prlimit failed");
    };
    set(&limit);
    // Exhaust the descriptors with idle connections, then issue on kept-alive connections.
    let mut idle = Vec::new();
    for _ in 0..64 {
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", site.port)) {
            idle.push(s);
        }
    }
    load(&site, &acked, 1_000).await;
    drop(idle);
    set(&format!("{hard}:{hard}"));
    let mut row = Row {
        name: "EMFILE (daemon at its open-file limit)",
        ..Row::default()
    };
    row.serve_again_s = serve_again(&site, &acked, Duration::from_secs(10)).await;
    let st = site.state(&client()).await;
    row.note = format!("store.writable {}", st["store"]["writable"]);
    kill_restart_verify(&site, d, &[], &store, &acked, &mut row).await;
    row
}

/// A site whose store lives on a fresh LazyFS mount (`<tmp>/mnt` over `<tmp>/backing`).
fn site_on_lazyfs(base: &Path) -> (lazyfs::LazyFs, Site, PathBuf) {
    let fs = lazyfs::LazyFs::mount(&base.join("backing"), &base.join("mnt"));
    let (site, store) = site_on(&fs.mountpoint);
    (fs, site, store)
}

/// Power cut under load, three times: the LazyFS drops every write not yet synced and
/// the daemon is SIGKILLed in the same instant (at a different moment of the load each
/// time); the file system is remounted over what reached the disk and the daemon
/// restarted on it. "s to serve again" is the slowest of the three restarts.
async fn power_cut_row() -> Row {
    require_root();
    let base = tempfile::tempdir().expect("tmp");
    let (mut fs, site, store) = site_on_lazyfs(base.path());
    let acked: AckedLog = Arc::default();
    let mut d = tokio::task::block_in_place(|| site.start());
    load(&site, &acked, 700).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let mut row = Row {
        name: "power cut dropping unsynced writes (FUSE, 3 cuts)",
        ..Row::default()
    };
    let mut dropped = Vec::new();
    let mut alarms = Vec::new();
    for at in [600u64, 230, 410] {
        let power = fs.switch();
        let (_, synced) = fs.pages();
        let killer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(at)).await;
            power.cut();
            d.kill9();
        });
        load(&site, &acked, at + 100).await;
        let _ = killer.await;
        let (lost_pages, synced_at_cut) = fs.pages();
        assert!(
            synced_at_cut > synced,
            "power cut: the LazyFS saw no fsync during the load ({synced} → {synced_at_cut})"
        );
        dropped.push(lost_pages);
        tokio::task::block_in_place(|| fs.unmount());
        fs = lazyfs::LazyFs::mount(&base.path().join("backing"), &base.path().join("mnt"));
        let started = Instant::now();
        d = tokio::task::block_in_place(|| site.start());
        serve_again(&site, &acked, Duration::from_secs(20)).await;
        row.serve_again_s = row.serve_again_s.max(started.elapsed().as_secs_f64());
        alarms.push(site.state(&client()).await["store"]["alarms"].to_string());
        load(&site, &acked, 300).await;
    }
    row.note = format!(
        "unsynced pages dropped at each cut: {dropped:?}; alarms after each restart {alarms:?}"
    );
    stop_and_verify(&site, d, &store, &acked, &mut row).await;
    // Both copies are synced before an answer, so sled may lack only what was in flight
    // at each cut (4 clients: at most 4 unanswered tickets, plus the daemon's own
    // entries of that batch); more means sled's copy was not durable and only the
    // journal saved the acknowledged tickets.
    assert!(
        row.recovered <= 3 * 8,
        "power cut: {} entries were restored into sled from the journal; sled's flush did \
         not make acknowledged entries durable ({})",
        row.recovered,
        row.note
    );
    drop(fs);
    row
}

/// A write error returned by the file system itself (LazyFS switch: every modifying
/// operation on every store file fails with `errno`), under load, then cleared.
async fn fuse_errno_row(name: &'static str, errno: i32, text: &str) -> Row {
    require_root();
    let base = tempfile::tempdir().expect("tmp");
    let (fs, site, store) = site_on_lazyfs(base.path());
    let acked: AckedLog = Arc::default();
    let d = tokio::task::block_in_place(|| site.start());
    load(&site, &acked, 700).await;
    fs.fail_writes(errno);
    load(&site, &acked, 1_500).await;
    let (error, _) = refused_while_failing(&site, name, text).await;
    fs.fail_writes(0);
    let mut row = Row {
        name,
        ..Row::default()
    };
    served_again(&site, &acked, &mut row).await;
    row.note = format!("while failing: store.error {error:?}");
    kill_restart_verify(&site, d, &[], &store, &acked, &mut row).await;
    drop(fs);
    row
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn storage_fault_matrix() {
    let started = Instant::now();
    let mut rows = Vec::new();
    // `LAYSO_FAULT_ONLY=text` runs only the rows whose name contains it (to debug one).
    let only = std::env::var("LAYSO_FAULT_ONLY").unwrap_or_default();
    // The db file cut, zeroed or flipped at an offset computed from its length.
    let db_rows: [DbRow; 7] = [
        ("db truncated to 0", truncate, |_| 0),
        ("db truncated to half", truncate, |n| n / 2),
        ("db minus one page", truncate, |n| n.saturating_sub(4096)),
        ("db first 4 KiB zeroed", zero_page, |_| 0),
        ("db bytes flipped at start", flip, |_| 0),
        ("db bytes flipped in the middle", flip, |n| n / 2),
        ("db bytes flipped at the end", flip, |n| {
            n.saturating_sub(16)
        }),
    ];
    for (name, damage, at) in db_rows {
        if name.contains(&only) {
            let fault = |s: &Path, _: &Path| damage(&db(s), at(len(&db(s))));
            rows.push(file_row(name, fault, None).await);
        }
    }
    let file_rows: Vec<(&'static str, Fault, Option<Fault>)> = vec![
        (
            "conf deleted",
            |s, _| std::fs::remove_file(s.join("conf")).expect("rm conf"),
            None,
        ),
        (
            "snapshots and blobs deleted",
            |s, _| {
                for e in std::fs::read_dir(s).expect("store").flatten() {
                    let n = e.file_name().to_string_lossy().into_owned();
                    if n.starts_with("snap") || n == "blobs" {
                        let p = e.path();
                        let _ = if p.is_dir() {
                            std::fs::remove_dir_all(&p)
                        } else {
                            std::fs::remove_file(&p)
                        };
                    }
                }
            },
            None,
        ),
        (
            "whole store rolled back to an older copy",
            |s, scratch| {
                std::fs::remove_dir_all(s).expect("rm store");
                copy_dir(&scratch.join("store"), s);
            },
            Some(|s, scratch| copy_dir(s, &scratch.join("store"))),
        ),
        (
            "hwm missing",
            |s, _| std::fs::remove_file(hwm_path(s)).expect("rm hwm"),
            None,
        ),
        (
            "hwm corrupt",
            |s, _| std::fs::write(hwm_path(s), vec![0x5Au8; 8192]).expect("garbage hwm"),
            None,
        ),
        (
            "hwm older than the store",
            |s, scratch| {
                std::fs::copy(scratch.join("hwm"), hwm_path(s)).expect("old hwm");
            },
            Some(|s, scratch| {
                std::fs::create_dir_all(scratch).expect("scratch");
                std::fs::copy(hwm_path(s), scratch.join("hwm")).expect("copy hwm");
            }),
        ),
        (
            "journal file deleted",
            |s, _| {
                for p in journal_files(s) {
                    std::fs::remove_file(p).expect("rm journal");
                }
            },
            None,
        ),
        (
            "journal bytes flipped in the middle",
            |s, _| {
                for p in journal_files(s) {
                    // The middle of the frames, not of the zeros the file grows by.
                    let bytes = std::fs::read(&p).unwrap_or_default();
                    let end = bytes.iter().rposition(|b| *b != 0).unwrap_or(0) as u64;
                    flip(&p, end / 2);
                }
            },
            None,
        ),
    ];
    for (name, fault, snap) in file_rows {
        if name.contains(&only) {
            rows.push(file_row(name, fault, snap).await);
        }
    }
    if "disk full".contains(&only) {
        rows.push(disk_full_row().await);
    }
    if "read-only (EROFS injected), then writable".contains(&only) {
        rows.push(
            injected_row(
                "read-only (EROFS injected), then writable",
                30,
                "Read-only file system",
            )
            .await,
        );
    }
    if "I/O error (EIO injected), then cleared".contains(&only) {
        rows.push(
            injected_row(
                "I/O error (EIO injected), then cleared",
                5,
                "Input/output error",
            )
            .await,
        );
    }
    if "EMFILE".contains(&only) {
        rows.push(emfile_row().await);
    }
    if "power cut dropping unsynced writes (FUSE, 3 cuts)".contains(&only) {
        rows.push(power_cut_row().await);
    }
    for (name, errno, text) in [
        (
            "read-only file system (FUSE EROFS), then writable",
            libc::EROFS,
            "Read-only file system",
        ),
        (
            "I/O error from the file system (FUSE EIO), then cleared",
            libc::EIO,
            "Input/output error",
        ),
        (
            "no space on every store file (FUSE ENOSPC), then freed",
            libc::ENOSPC,
            "No space left on device",
        ),
    ] {
        if name.contains(&only) {
            rows.push(fuse_errno_row(name, errno, text).await);
        }
    }

    println!(
        "\n| fault | acknowledged | recovered | reported lost | missing | repeated numbers | seq reused | s to serve again | queue = log |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.2} | {} |",
            r.name,
            r.acked,
            r.recovered,
            r.reported_lost,
            r.missing,
            r.repeated,
            r.seq_reused,
            r.serve_again_s,
            if r.queue_matches { "yes" } else { "NO" }
        );
    }
    for r in &rows {
        println!("  {}: {}", r.name, r.note);
    }
    println!(
        "storage fault matrix: {} rows in {:.1} s",
        rows.len(),
        started.elapsed().as_secs_f64()
    );
    let mut failures = Vec::new();
    for r in &rows {
        if r.acked < 20 {
            failures.push(format!("{}: only {} tickets acknowledged", r.name, r.acked));
        }
        if r.missing != 0 {
            failures.push(format!(
                "{}: {} acknowledged tickets missing",
                r.name, r.missing
            ));
        }
        if r.reported_lost != 0 {
            failures.push(format!(
                "{}: {} reported lost although a copy survived",
                r.name, r.reported_lost
            ));
        }
        if r.repeated != 0 {
            failures.push(format!("{}: {} numbers repeated", r.name, r.repeated));
        }
        if r.seq_reused != 0 {
            failures.push(format!("{}: {} seq reused", r.name, r.seq_reused));
        }
        if !r.queue_matches {
            failures.push(format!(
                "{}: the queue shows tickets that are not in the log",
                r.name
            ));
        }
        if r.serve_again_s > 10.0 {
            failures.push(format!(
                "{}: {:.1} s to serve again (limit 10 s)",
                r.name, r.serve_again_s
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The LazyFS itself: what was synced survives a power cut, what was not is gone, and the
/// errno switch fails writes until cleared (so the rows above test what they claim).
#[test]
fn lazyfs_keeps_synced_and_drops_unsynced_writes() {
    use std::io::Write;
    use std::os::unix::fs::FileExt;
    require_root();
    let base = tempfile::tempdir().expect("tmp");
    let (backing, mnt) = (base.path().join("backing"), base.path().join("mnt"));
    let fs = lazyfs::LazyFs::mount(&backing, &mnt);
    let synced = mnt.join("synced");
    let mut f = std::fs::File::create(&synced).expect("create through FUSE");
    f.write_all(&[1u8; 10_000]).expect("write");
    f.sync_data().expect("fdatasync");
    f.write_all_at(&[2u8; 100], 5_000).expect("overwrite");
    f.write_all_at(&[3u8; 100], 20_000).expect("grow");
    assert_eq!(
        std::fs::read(&synced).expect("read back").len(),
        20_100,
        "unsynced data is visible before the cut"
    );
    let mut g = std::fs::File::create(mnt.join("never-synced")).expect("create");
    g.write_all(b"lost").expect("write");
    drop((f, g));
    fs.fail_writes(libc::EROFS);
    let err = std::fs::write(mnt.join("refused"), b"x").expect_err("EROFS while switched");
    assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");
    fs.fail_writes(0);
    std::fs::write(mnt.join("after"), b"x").expect("writable again");
    fs.power_cut();
    fs.unmount();
    let fs = lazyfs::LazyFs::mount(&backing, &mnt);
    assert_eq!(
        std::fs::read(&synced).expect("synced file"),
        vec![1u8; 10_000],
        "exactly the synced contents survive the cut"
    );
    assert_eq!(
        std::fs::read(mnt.join("never-synced")).expect("its entry survives"),
        Vec::<u8>::new(),
        "the unsynced data of a new file is gone (its directory entry stays)"
    );
    drop(fs);
}

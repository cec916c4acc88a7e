//! The HTTP server under connection floods: the daemon runs with a 1,024 open-file soft
//! limit (systemd's default), and with 2,000 idle connections or 1,000 slowloris
//! connections (one header byte per second) open, a kiosk still gets its ticket in under
//! a second. Also: the header and idle timeouts close connections, an event stream
//! outlives both, and a kiosk request whose client already gave up issues nothing.

mod support;

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};
use support::daemon::{Daemon, Site};
use tokio::io::AsyncWriteExt;

/// Raise this test process's own open-file limit to its hard limit; it must reach `need`.
fn raise_own_nofile(need: u64) {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain getrlimit/setrlimit on a struct we own.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl), 0);
        // Root (as in CI) may raise the hard limit too; others get what the hard limit allows.
        if rl.rlim_max < need {
            let up = libc::rlimit {
                rlim_cur: need,
                rlim_max: need,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &up) == 0 {
                rl = up;
            }
        }
        rl.rlim_cur = rl.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &rl), 0);
    }
    assert!(
        rl.rlim_cur >= need,
        "this test needs {need} open files but the hard limit is {}; run it as root or raise `ulimit -Hn`",
        rl.rlim_cur
    );
}

/// A site whose `[web]` section has `keys` added.
fn site(keys: &str) -> Site {
    let s = Site::new("");
    let text = std::fs::read_to_string(&s.config).expect("config");
    let text = text.replace(
        "kiosk_rate_per_minute = 30",
        &format!("kiosk_rate_per_minute = 30\n{keys}"),
    );
    std::fs::write(&s.config, text).expect("config");
    s
}

/// Start the daemon with a soft open-file limit of `nofile` (as systemd gives by default).
fn start_limited(site: &Site, nofile: u64) -> Daemon {
    let mut cmd = site.command(&[]);
    // SAFETY: only async-signal-safe calls (setrlimit) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let rl = libc::rlimit {
                rlim_cur: nofile,
                rlim_max: nofile.max(4096),
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &rl) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    site.launch(cmd)
}

/// Raises this process's open-file limit to `own`, then starts a plain site's daemon with
/// a soft limit of `nofile`: the site, its daemon and its address.
fn flooded_site(own: u64, nofile: u64) -> (Site, Daemon, String) {
    raise_own_nofile(own);
    let site = site("");
    let d = tokio::task::block_in_place(|| start_limited(&site, nofile));
    let addr = format!("127.0.0.1:{}", site.port);
    (site, d, addr)
}

fn open_fds(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// One kiosk request on a fresh connection: the ticket and how long it took.
async fn kiosk(site: &Site) -> (String, Duration) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let t = Instant::now();
    let r = client
        .post(site.url("/api/v1/tickets"))
        .json(&serde_json::json!({"service": "A"}))
        .send()
        .await;
    let took = t.elapsed();
    let r = match r {
        Ok(r) => r,
        Err(e) => panic!(
            "kiosk request failed after {took:?}: {e}\n{}",
            site.daemon_log()
        ),
    };
    assert_eq!(r.status(), 201, "kiosk answer");
    let v: serde_json::Value = r.json().await.expect("json");
    let ticket = v["ticket"]["ticket"].as_str().unwrap_or("").to_string();
    (ticket, took)
}

async fn waiting_a(site: &Site) -> u64 {
    let v = site.state(&reqwest::Client::new()).await;
    v["services"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["id"] == "A"))
        .and_then(|s| s["waiting"].as_u64())
        .unwrap_or(u64::MAX)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_idle_connections_do_not_starve_the_kiosk() {
    let (site, d, addr) = flooded_site(2_300, 1024);
    let mut idle = Vec::with_capacity(2_000);
    let t = Instant::now();
    for _ in 0..2_000 {
        match tokio::time::timeout(
            Duration::from_secs(2),
            tokio::net::TcpStream::connect(&addr),
        )
        .await
        {
            Ok(Ok(s)) => idle.push(s),
            Ok(Err(e)) => panic!("connect {} failed: {e}", idle.len()),
            Err(_) => panic!("connect {} timed out", idle.len()),
        }
    }
    eprintln!("2000 idle connections opened in {:?}", t.elapsed());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fds = open_fds(d.pid());
    assert!(
        fds < 1024 - 100,
        "the daemon holds {fds} descriptors with a 1024 limit: the connection cap does not work"
    );
    let mut worst = Duration::ZERO;
    for i in 0..5 {
        let (ticket, took) = kiosk(&site).await;
        assert_eq!(ticket, format!("A{:03}", i + 1));
        worst = worst.max(took);
    }
    eprintln!("kiosk with 2000 idle connections: worst of 5 {worst:?}, daemon fds {fds}");
    assert!(worst < Duration::from_secs(1), "kiosk took {worst:?}");
    assert!(
        !site.daemon_log().contains("Too many open files"),
        "{}",
        site.daemon_log()
    );
    drop(idle);
    drop(d);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_slowloris_connections_do_not_starve_the_kiosk() {
    let (site, d, addr) = flooded_site(1_300, 1024);
    let mut slow = Vec::with_capacity(1_000);
    for _ in 0..1_000 {
        let mut s = tokio::time::timeout(
            Duration::from_secs(2),
            tokio::net::TcpStream::connect(&addr),
        )
        .await
        .expect("connect in time")
        .expect("connect");
        let _ = s
            .write_all(b"POST /api/v1/tickets HTTP/1.1\r\nHost: x\r\n")
            .await;
        slow.push(s);
    }
    // One header byte per second on every connection, for as long as the test runs.
    let dripping = tokio::spawn(async move {
        for _ in 0..30 {
            for s in slow.iter_mut() {
                let _ = s.write_all(b"X").await;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let fds = open_fds(d.pid());
    assert!(fds < 1024 - 100, "the daemon holds {fds} descriptors");
    let mut worst = Duration::ZERO;
    for i in 0..5 {
        let (ticket, took) = kiosk(&site).await;
        assert_eq!(ticket, format!("A{:03}", i + 1), "slow heads issue nothing");
        worst = worst.max(took);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("kiosk with 1000 slowloris connections: worst of 5 {worst:?}, daemon fds {fds}");
    assert!(worst < Duration::from_secs(1), "kiosk took {worst:?}");
    assert_eq!(waiting_a(&site).await, 5);
    dripping.abort();
    drop(d);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_close_slow_and_idle_connections_but_not_event_streams() {
    let site = site("header_timeout_s = 2\nidle_timeout_s = 1");
    let _d = tokio::task::block_in_place(|| site.start());
    let addr = format!("127.0.0.1:{}", site.port);
    let closed_within = |mut s: std::net::TcpStream, limit: Duration| {
        s.set_read_timeout(Some(limit)).expect("timeout");
        let t = Instant::now();
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) => return Some(t.elapsed()),
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    return Some(t.elapsed())
                }
                Err(_) => return None,
            }
        }
    };
    // A head that never ends: closed after header_timeout_s.
    let mut s = std::net::TcpStream::connect(&addr).expect("connect");
    s.write_all(b"GET /api/v1/state HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    let took = tokio::task::block_in_place(|| closed_within(s, Duration::from_secs(6)));
    assert!(
        took.is_some_and(|t| t >= Duration::from_millis(1_500)),
        "slow head closed after {took:?}, expected about 2 s"
    );
    // A kept-alive connection with nothing more to ask: closed after idle_timeout_s.
    let mut s = std::net::TcpStream::connect(&addr).expect("connect");
    s.write_all(b"GET /api/v1/state HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let took = tokio::task::block_in_place(|| closed_within(s, Duration::from_secs(6)));
    assert!(
        took.is_some_and(|t| t < Duration::from_millis(3_000)),
        "idle keep-alive closed after {took:?}, expected about 1 s"
    );
    // An event stream outlives both timeouts and still delivers.
    let client = reqwest::Client::new();
    let mut stream = client
        .get(site.url("/api/v1/events"))
        .send()
        .await
        .expect("events");
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (ticket, _) = kiosk(&site).await;
    let mut got = String::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !got.contains(&ticket) && Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(5), stream.chunk()).await {
            Ok(Ok(Some(c))) => got.push_str(&String::from_utf8_lossy(&c)),
            other => panic!("event stream ended or stalled: {other:?} after {got:?}"),
        }
    }
    assert!(got.contains(&ticket), "stream delivered {got:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_client_gave_up_issues_nothing() {
    let site = site("");
    let _d = tokio::task::block_in_place(|| site.start());
    let body = r#"{"service":"A"}"#;
    let req = format!(
        "POST /api/v1/tickets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    for _ in 0..5 {
        let s = std::net::TcpStream::connect(("127.0.0.1", site.port)).expect("connect");
        // Corked: the request and the FIN of the close leave together, as when a kiosk's
        // request waited unread until after the kiosk had given up.
        let one: libc::c_int = 1;
        // SAFETY: setsockopt on our own socket with a c_int option.
        let rc = unsafe {
            libc::setsockopt(
                std::os::fd::AsRawFd::as_raw_fd(&s),
                libc::IPPROTO_TCP,
                libc::TCP_CORK,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0);
        (&s).write_all(req.as_bytes()).expect("write");
        drop(s);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(waiting_a(&site).await, 0, "{}", site.daemon_log());
    let (ticket, _) = kiosk(&site).await;
    assert_eq!(
        ticket, "A001",
        "no number was used by the abandoned requests"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_busy_streams_stay_and_a_newcomer_is_told_why() {
    let site = site("max_connections = 16\nkeepalive_soft_limit = 8");
    let _d = tokio::task::block_in_place(|| site.start());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    // 16 event streams: every connection is busy.
    let mut streams = Vec::new();
    for _ in 0..16 {
        let s = client
            .get(site.url("/api/v1/events"))
            .send()
            .await
            .expect("stream");
        assert_eq!(s.status(), 200);
        streams.push(s);
    }
    // The newcomer is answered at once (before it even asks) and closed.
    let port = site.port;
    let answer = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut text = String::new();
        let _ = s.read_to_string(&mut text);
        text
    })
    .await
    .expect("reader");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
    let v: serde_json::Value = serde_json::from_str(body).expect("JSON body");
    assert_eq!(v["error"], "unavailable", "{v}");
    // One display goes away: the kiosk gets in, and the other streams still deliver.
    drop(streams.pop());
    // (Until the daemon notices that stream's close, newcomers are still refused.)
    let mut got = None;
    for _ in 0..250 {
        let r = client
            .post(site.url("/api/v1/tickets"))
            .json(&serde_json::json!({"service": "A"}))
            .send()
            .await;
        match r {
            Ok(r) if r.status() == 201 => {
                got = Some(r.json::<serde_json::Value>().await.expect("JSON"));
                break;
            }
            // Refused (the 503 read as the answer, or before it could ask): not free yet.
            Ok(r) if r.status() == 503 => {}
            Ok(r) => panic!("kiosk got {} instead of a ticket", r.status()),
            Err(_) => {}
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ticket = got.expect("a ticket once a connection is free")["ticket"]["ticket"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert_eq!(ticket, "A001");
    let first = &mut streams[0];
    let mut seen = String::new();
    while !seen.contains(&ticket) {
        match tokio::time::timeout(Duration::from_secs(5), first.chunk()).await {
            Ok(Ok(Some(c))) => seen.push_str(&String::from_utf8_lossy(&c)),
            other => panic!("stream stalled: {other:?} after {seen:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cap_shrinks_to_fit_a_small_open_file_limit() {
    // 400 open files: the configured 512 connections cannot fit; 400 - 256 = 144 can.
    let (site, d, addr) = flooded_site(1_000, 400);
    let mut idle = Vec::new();
    for _ in 0..600 {
        if let Ok(Ok(s)) = tokio::time::timeout(
            Duration::from_secs(2),
            tokio::net::TcpStream::connect(&addr),
        )
        .await
        {
            idle.push(s);
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fds = open_fds(d.pid());
    assert!(
        fds < 400 - 100,
        "the daemon holds {fds} of its 400 descriptors"
    );
    let (ticket, took) = kiosk(&site).await;
    assert_eq!(ticket, "A001");
    assert!(took < Duration::from_secs(1), "kiosk took {took:?}");
    let log = site.daemon_log();
    assert!(
        log.contains("web.max_connections lowered") && log.contains("144"),
        "{log}"
    );
    drop(idle);
}

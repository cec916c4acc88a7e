//! systemd integration of the real binary: READY=1 once serving, WATCHDOG=1 pings from
//! the engine loop while it is healthy, and no pings once the engine is stalled (through
//! the test-only fault hook `LAYSO_FAULT_STALL_ENGINE_MS`).

mod support;

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};
use support::daemon::Site;

fn collect(sock: &UnixDatagram, for_how_long: Duration) -> Vec<(Duration, String)> {
    let start = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 256];
    while start.elapsed() < for_how_long {
        let left = for_how_long
            .saturating_sub(start.elapsed())
            .max(Duration::from_millis(1));
        sock.set_read_timeout(Some(left)).expect("timeout");
        if let Ok(n) = sock.recv(&mut buf) {
            out.push((
                start.elapsed(),
                String::from_utf8_lossy(&buf[..n]).into_owned(),
            ));
        }
    }
    out
}

#[test]
fn ready_then_pings_then_silence_when_stalled() {
    let site = Site::new("");
    let path = site.dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).expect("bind notify socket");
    let notify = path.display().to_string();
    // Watchdog of 400 ms: the daemon pings every 200 ms. Stall the engine after 2 s.
    let d = site.start_with_env(&[
        ("NOTIFY_SOCKET", notify.as_str()),
        ("WATCHDOG_USEC", "400000"),
        ("LAYSO_FAULT_STALL_ENGINE_MS", "2000"),
    ]);
    let msgs = collect(&sock, Duration::from_millis(3500));
    d.kill9();
    let ready = msgs.iter().position(|(_, m)| m == "READY=1");
    assert!(ready.is_some(), "READY=1 was sent: {msgs:?}");
    let pings: Vec<Duration> = msgs
        .iter()
        .filter(|(_, m)| m == "WATCHDOG=1")
        .map(|(t, _)| *t)
        .collect();
    let healthy: Vec<_> = pings
        .iter()
        .filter(|t| **t < Duration::from_millis(1700))
        .collect();
    assert!(healthy.len() >= 5, "regular pings while healthy: {pings:?}");
    for w in healthy.windows(2) {
        assert!(
            *w[1] - *w[0] < Duration::from_millis(400),
            "gap between pings {pings:?}"
        );
    }
    let last = pings.last().copied().unwrap_or_default();
    assert!(
        last < Duration::from_millis(2300),
        "pings stop once the engine stalls (last at {last:?}): {pings:?}"
    );
    println!(
        "watchdog: READY=1, {} pings in the healthy 1.7 s, last ping at {:?}, none during the last {:?}",
        healthy.len(),
        last,
        Duration::from_millis(3500) - last
    );
}

//! Thin operating-system glue: kernel clock status and systemd notifications.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// The wall clock in milliseconds since the Unix epoch (UTC); 0 for a clock before 1970.
/// Every part of the daemon reads time through this (core never does: it is given time).
pub(crate) fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Whether the kernel reports the system clock as synchronized (NTP status).
pub(crate) fn clock_synchronized() -> bool {
    if assume_clock_synchronized() {
        return true;
    }
    // SAFETY: adjtimex with modes = 0 only reads the kernel's clock status into `tx`.
    let mut tx: libc::timex = unsafe { std::mem::zeroed() };
    let state = unsafe { libc::adjtimex(&mut tx) };
    state >= 0 && state != libc::TIME_ERROR && (tx.status & libc::STA_UNSYNC) == 0
}

/// Test hook: `LAYSO_TEST_ASSUME_CLOCK_SYNCED=1` makes the clock count as synchronized, for
/// test machines and containers without NTP (the status tests need a "healthy" daemon).
/// Compiled only with the `test-hooks` feature; never in a shipped binary.
#[cfg(feature = "test-hooks")]
fn assume_clock_synchronized() -> bool {
    static ASSUME: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ASSUME.get_or_init(|| {
        std::env::var_os("LAYSO_TEST_ASSUME_CLOCK_SYNCED").is_some_and(|v| v == "1")
    })
}

#[cfg(not(feature = "test-hooks"))]
fn assume_clock_synchronized() -> bool {
    false
}

/// Test fault hook: `LAYSO_FAULT_STALL_ENGINE_MS=N` makes the engine thread stop answering
/// N ms after it starts (the watchdog tests). `None` without the `test-hooks` feature.
pub(crate) fn fault_stall_engine_after() -> Option<std::time::Duration> {
    #[cfg(feature = "test-hooks")]
    {
        std::env::var("LAYSO_FAULT_STALL_ENGINE_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(std::time::Duration::from_millis)
    }
    #[cfg(not(feature = "test-hooks"))]
    {
        None
    }
}

/// Test fault hook: `LAYSO_FAULT_STORE_ERRNO_FILE=PATH`; while that file holds an errno,
/// journal writes fail with it (the store fault tests). `None` without `test-hooks`.
pub(crate) fn fault_store_errno_file() -> Option<std::path::PathBuf> {
    #[cfg(feature = "test-hooks")]
    {
        std::env::var_os("LAYSO_FAULT_STORE_ERRNO_FILE").map(std::path::PathBuf::from)
    }
    #[cfg(not(feature = "test-hooks"))]
    {
        None
    }
}

fn notify(msg: &str) -> bool {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return false;
    };
    let Ok(sock) = UnixDatagram::unbound() else {
        return false;
    };
    let bytes = path.as_encoded_bytes();
    let sent = if let Some(abs) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(abs)
            .and_then(|addr| sock.send_to_addr(msg.as_bytes(), &addr))
    } else {
        sock.send_to(msg.as_bytes(), std::path::Path::new(&path))
    };
    sent.is_ok()
}

/// Tell systemd the daemon is ready.
pub(crate) fn notify_ready() -> bool {
    notify("READY=1")
}

/// Tell systemd the daemon is stopping.
pub(crate) fn notify_stopping() -> bool {
    notify("STOPPING=1")
}

/// Ping the systemd watchdog.
pub(crate) fn notify_watchdog() -> bool {
    notify("WATCHDOG=1")
}

/// How often to ping the watchdog, when systemd asked for pings (half its timeout).
pub(crate) fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Ok(pid) = std::env::var("WATCHDOG_PID") {
        if pid.parse::<u32>().ok() != Some(std::process::id()) {
            return None;
        }
    }
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

/// Give memory freed after start-up back to the kernel. Opening a large sled store
/// allocates tens of MB transiently (snapshot and segment bookkeeping) which glibc would
/// otherwise keep resident for the life of the process.
pub(crate) fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Seconds since the host booted (CLOCK_BOOTTIME: counts suspend too, and needs no
/// `/proc/uptime`, which the hardened unit hides).
pub(crate) fn host_uptime_s() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into `ts`.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    (rc == 0).then(|| u64::try_from(ts.tv_sec).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    #[test]
    fn host_uptime_matches_the_kernel() {
        let proc_uptime: Option<u64> = std::fs::read_to_string("/proc/uptime")
            .ok()
            .and_then(|t| t.split('.').next().and_then(|s| s.parse().ok()));
        let (Some(ours), Some(kernel)) = (super::host_uptime_s(), proc_uptime) else {
            panic!("host uptime unavailable");
        };
        assert!(ours.abs_diff(kernel) <= 2, "{ours} vs {kernel}");
    }
}

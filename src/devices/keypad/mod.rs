//! Counter keypads on an RS-485 Modbus RTU bus: polls each keypad's press queue, applies every
//! press exactly once to its counter through a [`CounterSink`], writes each keypad's display and
//! reports which keypads answer.
//!
//! The frames, the register map and the apply-once decision come from the firmware's own crate
//! (`layso_keypad::master`), so both ends share one definition; this module is the async shell:
//! a serial port (tokio-serial), timeouts, the poll cycle and port recovery.
//!
//! Why not tokio-modbus: the bus cycle needs exact control of each frame — the t3.5 silence
//! before every request, a reply deadline counted from the end of the request, draining of
//! corrupt bytes until silence, and the ack written in the same frame as the display — and the
//! daemon must use byte-for-byte the codec the keypad firmware is tested against. The shared
//! codec over tokio-serial gives both; tokio-modbus would add a second, different framer.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use layso_keypad::frame::{Adu, FrameError, MAX_ADU};
use layso_keypad::master::{self, Expect, HeadDecision, PressTracker, Reply, ReplyStatus};
use layso_keypad::regs::{char_time_us, master_gap_us};
use layso_keypad::segments::label_chars;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tokio_serial::SerialStream;

mod config;
mod port;
pub use config::*;
use port::open_port;

pub use super::keypad_keys::KeyAction;

/// Where presses go (the engine implements this).
pub trait CounterSink: Send + Sync + 'static {
    /// Apply a press for `counter`. Ok(Some(ticket label)) = ticket now current at that counter
    /// ("A012"), Ok(None) = nothing current.
    fn press(
        &self,
        counter: u16,
        action: KeyAction,
    ) -> impl Future<Output = Result<Option<String>, String>> + Send;
}

/// What each counter shows, by counter number (fed from engine events).
pub type CounterDisplays = BTreeMap<u16, Option<String>>;

/// Why the bus task stopped.
#[derive(Debug, thiserror::Error)]
pub enum KeypadError {
    /// The configuration failed validation.
    #[error("invalid keypad bus configuration: {0}")]
    InvalidConfig(String),
}

/// How a transaction failed.
#[derive(Debug)]
enum TxError {
    /// No (complete) reply in time.
    Timeout { got: usize },
    /// A reply that is not a valid answer to the request.
    Frame(FrameError),
    /// The keypad answered with a Modbus exception.
    Exception(u8),
    /// The serial port failed (unplugged, closed): reopen it.
    Port(std::io::Error),
}

impl std::fmt::Display for TxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TxError::Timeout { got: 0 } => write!(f, "no reply"),
            TxError::Timeout { got } => write!(f, "incomplete reply ({got} bytes)"),
            TxError::Frame(e) => write!(f, "bad reply: {e:?}"),
            TxError::Exception(c) => write!(f, "Modbus exception {c:#04x}"),
            TxError::Port(e) => write!(f, "serial port error: {e}"),
        }
    }
}

/// After this many failed cycles in a row a keypad is reported unreachable.
const FAILS_UNREACHABLE: u32 = 3;
/// Unreachable keypads are probed only every this many cycles, so they cost the others little.
const PROBE_EVERY: u64 = 10;
/// Shortest cycle when no keypad was polled in it.
const IDLE_CYCLE: Duration = Duration::from_millis(20);
/// Most bytes drained after a broken reply before giving up waiting for silence.
const DRAIN_LIMIT: Duration = Duration::from_millis(100);

struct Pad {
    address: u8,
    counter: u16,
    tracker: PressTracker,
    /// What the display should show (None inside = nothing current, "----").
    want: Option<String>,
    /// What the watch said last time we looked, to notice its changes.
    seen_watch: Option<Option<String>>,
    /// What was last written successfully; None = never written since start.
    written: Option<Option<String>>,
    blink: bool,
    ack: Option<u16>,
    fails: u32,
    reachable: Option<bool>,
}

struct Link {
    port: SerialStream,
    /// When the line last carried a byte (ours or a keypad's).
    last_activity: Instant,
    t35: Duration,
    gap_timer: GapTimer,
    char_time: Duration,
    timeout: Duration,
}

impl Link {
    async fn transact(&mut self, req: &Adu, expect: &Expect) -> Result<Reply, TxError> {
        // Modbus RTU: at least t3.5 of silence between frames.
        let quiet = self.last_activity + self.t35;
        let now = Instant::now();
        if quiet > now {
            self.gap_timer.sleep(quiet - now).await;
        }
        self.discard_stale();
        self.port
            .write_all(req.as_bytes())
            .await
            .map_err(TxError::Port)?;
        let sent = Instant::now();
        self.last_activity = sent;
        let deadline = sent + self.char_time * (req.len() as u32) + self.timeout;
        let mut buf = [0u8; MAX_ADU];
        let mut n = 0;
        loop {
            let read =
                tokio::time::timeout_at(deadline.into(), self.port.read(&mut buf[n..])).await;
            match read {
                Err(_) => return Err(TxError::Timeout { got: n }),
                Ok(Err(e)) => return Err(TxError::Port(e)),
                Ok(Ok(0)) => {
                    return Err(TxError::Port(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "serial port closed",
                    )))
                }
                Ok(Ok(k)) => {
                    n += k;
                    self.last_activity = Instant::now();
                }
            }
            match master::parse_reply(expect, &buf[..n]) {
                Ok(ReplyStatus::Incomplete) if n < buf.len() => continue,
                Ok(ReplyStatus::Incomplete) => {
                    self.drain().await?;
                    return Err(TxError::Frame(FrameError::TooLong));
                }
                Ok(ReplyStatus::Complete {
                    reply: Reply::Exception(c),
                    ..
                }) => return Err(TxError::Exception(c)),
                Ok(ReplyStatus::Complete { reply, .. }) => return Ok(reply),
                Err(e) => {
                    self.drain().await?;
                    return Err(TxError::Frame(e));
                }
            }
        }
    }

    /// Drop bytes already received that belong to no request (a late reply, line noise).
    fn discard_stale(&mut self) {
        let mut junk = [0u8; 64];
        for _ in 0..16 {
            match self.port.try_read(&mut junk) {
                Ok(n) if n > 0 => continue,
                _ => break,
            }
        }
    }

    /// After a broken reply: read until the line has been silent for t3.5 (bounded).
    async fn drain(&mut self) -> Result<(), TxError> {
        let limit = Instant::now() + DRAIN_LIMIT;
        let mut junk = [0u8; 64];
        while Instant::now() < limit {
            match tokio::time::timeout(
                self.t35 + Duration::from_millis(1),
                self.port.read(&mut junk),
            )
            .await
            {
                Err(_) => return Ok(()),
                Ok(Ok(0)) => {
                    return Err(TxError::Port(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "serial port closed",
                    )))
                }
                Ok(Ok(_)) => self.last_activity = Instant::now(),
                Ok(Err(e)) => return Err(TxError::Port(e)),
            }
        }
        Ok(())
    }
}

/// Sub-millisecond sleeps for the t3.5 gaps (1.8 ms at 19200 baud): tokio's timer rounds up to
/// whole milliseconds, which would add up to 8 ms to every cycle of 8 keypads. A Linux timerfd
/// polled through the reactor is exact to microseconds without spinning; if it cannot be
/// created, tokio's timer is used.
struct GapTimer {
    fd: Option<tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>>,
}

impl GapTimer {
    fn new() -> Self {
        use std::os::fd::FromRawFd;
        // SAFETY: plain syscall; a valid result is a new descriptor we then own.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return GapTimer { fd: None };
        }
        // SAFETY: `raw` is a fresh descriptor owned by nothing else.
        let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(raw) };
        // SAFETY: `owned` is an open timerfd that the AsyncFd owns and keeps open until dropped.
        let fd = unsafe { tokio::io::unix::AsyncFd::register(owned) }.ok();
        GapTimer { fd }
    }

    async fn sleep(&mut self, d: Duration) {
        use std::os::fd::AsRawFd;
        if let Some(fd) = &self.fd {
            let spec = libc::itimerspec {
                it_interval: libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                },
                it_value: libc::timespec {
                    tv_sec: d.as_secs() as libc::time_t,
                    tv_nsec: d.subsec_nanos().max(1) as libc::c_long,
                },
            };
            // SAFETY: arming our own timerfd with a valid itimerspec.
            if unsafe { libc::timerfd_settime(fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) } == 0
            {
                // Readiness wake-ups are few (normally one); bounded all the same.
                for _ in 0..64 {
                    let Ok(mut guard) = fd.readable().await else {
                        break;
                    };
                    let mut expirations = [0u8; 8];
                    // SAFETY: reading the 8-byte expiration count into a local buffer.
                    let r = guard.try_io(|inner| {
                        let n = unsafe {
                            libc::read(inner.as_raw_fd(), expirations.as_mut_ptr().cast(), 8)
                        };
                        if n < 0 {
                            Err(std::io::Error::last_os_error())
                        } else {
                            Ok(())
                        }
                    });
                    match r {
                        Ok(Ok(())) => return,
                        Ok(Err(_)) => break,
                        Err(_would_block) => continue,
                    }
                }
            }
        }
        tokio::time::sleep(d).await;
    }
}

/// Run the keypad bus until the sender of `displays` is dropped.
///
/// `report(address, reachable, detail)` is called whenever a keypad's reachability is first
/// known or changes. Presses are applied through `sink` exactly once each; the display of each
/// keypad follows `displays` (and the label a press returned), blinking when it changes.
pub async fn run<S, R>(
    config: KeypadBusConfig,
    sink: Arc<S>,
    mut displays: watch::Receiver<CounterDisplays>,
    report: R,
) -> Result<(), KeypadError>
where
    S: CounterSink,
    R: Fn(u16, bool, String) + Send + Sync + 'static,
{
    let errs = config.validate();
    if !errs.is_empty() {
        let msgs: Vec<String> = errs.into_iter().map(|(_, m)| m).collect();
        return Err(KeypadError::InvalidConfig(msgs.join("; ")));
    }
    let baud = *config.baud.get_ref();
    let estimate = config.estimated_cycle();
    if estimate > Duration::from_millis(100) {
        tracing::warn!(
            keypads = config.keypads.len(),
            baud,
            ?estimate,
            "keypad poll cycle will exceed 100 ms; raise baud or split the bus"
        );
    }
    let mut pads: Vec<Pad> = config
        .keypads
        .iter()
        .map(|k| Pad {
            address: *k.address.get_ref(),
            counter: *k.counter.get_ref(),
            tracker: PressTracker::new(),
            want: None,
            seen_watch: None,
            written: None,
            blink: false,
            ack: None,
            fails: 0,
            reachable: None,
        })
        .collect();
    let poll_interval = Duration::from_millis(*config.poll_interval_ms.get_ref());
    let mut backoff =
        crate::backoff::Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    let mut cycle: u64 = 0;
    // Each pass opens the port once and polls until it fails or shutdown; the pause between
    // passes grows to 5 s, so a missing adapter costs nothing.
    loop {
        if displays.has_changed().is_err() {
            return Ok(());
        }
        let port = match open_port(&config) {
            Ok(p) => p,
            Err(detail) => {
                for pad in pads.iter_mut() {
                    mark_failed(pad, &report, &detail, true);
                }
                let delay = backoff.next_delay();
                tracing::warn!(%detail, retry_in = ?delay, "keypad bus unavailable");
                if wait_or_shutdown(&mut displays, delay).await {
                    return Ok(());
                }
                continue;
            }
        };
        tracing::info!(path = %config.path, baud, keypads = pads.len(), "keypad bus open");
        let mut link = Link {
            port,
            last_activity: Instant::now(),
            t35: Duration::from_micros(master_gap_us(baud, config.bits_per_char())),
            gap_timer: GapTimer::new(),
            char_time: Duration::from_micros(char_time_us(baud, config.bits_per_char())),
            timeout: Duration::from_millis(*config.timeout_ms.get_ref()),
        };
        let port_error = loop {
            if displays.has_changed().is_err() {
                return Ok(());
            }
            let started = Instant::now();
            let mut lost = None;
            let mut polled = 0usize;
            for (i, pad) in pads.iter_mut().enumerate() {
                if pad.reachable == Some(false) && (cycle + i as u64) % PROBE_EVERY != 0 {
                    continue;
                }
                polled += 1;
                match service(pad, &mut link, sink.as_ref(), &displays).await {
                    Ok(()) => {
                        pad.fails = 0;
                        if pad.reachable != Some(true) {
                            pad.reachable = Some(true);
                            report(u16::from(pad.address), true, "answering".to_string());
                        }
                    }
                    Err(TxError::Port(e)) => {
                        lost = Some(e);
                        break;
                    }
                    Err(e) => mark_failed(pad, &report, &e.to_string(), false),
                }
            }
            cycle = cycle.wrapping_add(1);
            if let Some(e) = lost {
                break e;
            }
            backoff.reset();
            let elapsed = started.elapsed();
            // A cycle that skipped every keypad (all unreachable, waiting for their probe turn)
            // still takes time, so the task never spins.
            let min_cycle = if polled == 0 {
                poll_interval.max(IDLE_CYCLE)
            } else {
                poll_interval
            };
            if elapsed < min_cycle {
                tokio::time::sleep(min_cycle - elapsed).await;
            }
        };
        let detail = format!("serial port {} failed: {port_error}", config.path);
        tracing::warn!(%detail, "keypad bus lost; reopening");
        for pad in pads.iter_mut() {
            mark_failed(pad, &report, &detail, true);
        }
        drop(link);
        if wait_or_shutdown(&mut displays, backoff.next_delay()).await {
            return Ok(());
        }
    }
}

/// Sleep for `d`; true if shutdown (the displays sender was dropped) was seen.
async fn wait_or_shutdown(displays: &mut watch::Receiver<CounterDisplays>, d: Duration) -> bool {
    tokio::time::sleep(d).await;
    displays.has_changed().is_err()
}

fn mark_failed<R: Fn(u16, bool, String)>(pad: &mut Pad, report: &R, detail: &str, at_once: bool) {
    pad.fails = pad.fails.saturating_add(1);
    if (at_once || pad.fails >= FAILS_UNREACHABLE) && pad.reachable != Some(false) {
        pad.reachable = Some(false);
        report(
            u16::from(pad.address),
            false,
            format!("keypad {}: {detail}", pad.address),
        );
    }
}

/// One keypad's turn in the cycle: poll its queue head, apply a new press, write ack+display.
async fn service<S: CounterSink>(
    pad: &mut Pad,
    link: &mut Link,
    sink: &S,
    displays: &watch::Receiver<CounterDisplays>,
) -> Result<(), TxError> {
    // Follow the engine's view when it changes.
    let from_watch = displays.borrow().get(&pad.counter).cloned().flatten();
    if pad.seen_watch.as_ref() != Some(&from_watch) {
        if pad.written.is_some() && from_watch.is_some() && pad.want != from_watch {
            pad.blink = true;
        }
        pad.want = from_watch.clone();
        pad.seen_watch = Some(from_watch);
    }

    let (req, expect) =
        master::poll_request(pad.address).map_err(|e| TxError::Frame(request_error(e)))?;
    let regs = match link.transact(&req, &expect).await? {
        Reply::Registers(r) => r,
        _ => return Err(TxError::Frame(FrameError::WrongFunction)),
    };
    let head = master::decode_head(regs.as_slice()).ok_or(TxError::Frame(FrameError::Length))?;
    pad.ack = None;
    match pad.tracker.decide(head) {
        HeadDecision::Idle => {}
        HeadDecision::Apply { key, seq } => {
            let action = KeyAction::from(key);
            let result = sink.press(pad.counter, action).await;
            pad.tracker.applied(head);
            pad.ack = Some(seq);
            match result {
                Ok(label) => {
                    let new_call =
                        matches!(action, KeyAction::Next | KeyAction::Recall) && label.is_some();
                    if new_call || (label.is_some() && label != pad.want) {
                        pad.blink = true;
                    }
                    pad.want = label;
                }
                Err(msg) => {
                    tracing::warn!(keypad = pad.address, counter = pad.counter, ?action, %msg, "keypad press rejected");
                }
            }
        }
        HeadDecision::AckAgain { seq } => pad.ack = Some(seq),
        HeadDecision::Discard { key_code, seq } => {
            tracing::warn!(
                keypad = pad.address,
                key_code,
                "keypad reported an unknown key; dropped"
            );
            pad.tracker.applied(head);
            pad.ack = Some(seq);
        }
    }
    let up_to_date = pad.written.as_ref() == Some(&pad.want);
    if pad.ack.is_none() && up_to_date && !pad.blink {
        return Ok(());
    }
    let (req, expect) = master::display_request(
        pad.address,
        pad.ack,
        label_chars(pad.want.as_deref()),
        pad.blink,
    );
    match link.transact(&req, &expect).await? {
        Reply::Written => {
            pad.written = Some(pad.want.clone());
            pad.blink = false;
            pad.ack = None;
            Ok(())
        }
        _ => Err(TxError::Frame(FrameError::WrongFunction)),
    }
}

fn request_error(e: master::RequestError) -> FrameError {
    match e {
        master::RequestError::BadCount => FrameError::Length,
        master::RequestError::BroadcastRead => FrameError::WrongUnit,
    }
}

#[cfg(test)]
mod tests {
    use super::port::{enable_kernel_rs485, open_tolerant};
    use super::*;

    fn parse(s: &str) -> Result<KeypadBusConfig, toml::de::Error> {
        toml::from_str(s)
    }

    #[test]
    fn config_defaults_and_validation() {
        let c = parse("path = \"/dev/ttyAMA0\"\nkeypads = [{ address = 1, counter = 1 }, { address = 2, counter = 2 }]\n").unwrap();
        assert_eq!(*c.baud.get_ref(), 19_200);
        assert_eq!(*c.timeout_ms.get_ref(), 50);
        assert_eq!(c.parity, BusParity::None);
        assert!(c.validate().is_empty());
        assert!(c.estimated_cycle() < Duration::from_millis(30));
        // The same rates as printers and boards: 230400 included.
        let fast =
            parse("path = \"/dev/x\"\nbaud = 230400\nkeypads = [{ address = 1, counter = 1 }]\n")
                .unwrap();
        assert!(fast.validate().is_empty(), "{:?}", fast.validate());

        let text = "path = \"/dev/x\"\nbaud = 19201\ntimeout_ms = 0\nkeypads = [{ address = 1, counter = 0 }, { address = 1, counter = 2 }, { address = 248, counter = 3 }]\n";
        let c = parse(text).unwrap();
        let errs = c.validate();
        assert_eq!(errs.len(), 5, "{errs:?}");
        assert_eq!(&text[errs[0].0.clone()], "19201");
        assert!(errs[0].1.contains("19200"));
        assert!(errs.iter().any(|(_, m)| m.contains("appears twice")));
        assert!(errs.iter().any(|(_, m)| m.contains("248")));
        assert!(errs.iter().any(|(_, m)| m.contains("counter 0")));

        assert!(
            parse("path = \"/dev/x\"\nkeypads = []\nspeed = 1\n").is_err(),
            "unknown fields are rejected"
        );
        assert!(
            parse("path = \"/dev/x\"\nparity = \"even\"\nkeypads = []\n")
                .unwrap()
                .bits_per_char()
                == 11
        );
    }

    #[tokio::test]
    async fn tolerant_open_works_on_a_pseudo_terminal() {
        let mut master: libc::c_int = -1;
        let mut slave: libc::c_int = -1;
        // SAFETY: out-pointers to two ints; the optional arguments are null.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty failed: {}", std::io::Error::last_os_error());
        let path = std::fs::read_link(format!("/proc/self/fd/{slave}")).unwrap();
        let mut port = open_tolerant(path.to_str().unwrap(), 19_200).unwrap();
        port.write_all(b"\x01\x04").await.unwrap();
        let mut got = [0u8; 2];
        // SAFETY: reading two bytes into a local buffer from the master descriptor.
        let n = unsafe { libc::read(master, got.as_mut_ptr().cast(), 2) };
        assert_eq!((n, got), (2, [1, 4]), "bytes pass unchanged (raw mode)");
        // A pseudo-terminal has no RS-485 mode: the ioctl fails and the caller carries on.
        assert!(enable_kernel_rs485(&port).is_err());
        // SAFETY: closing the descriptors openpty gave us.
        unsafe {
            libc::close(master);
            libc::close(slave);
        }
    }
}

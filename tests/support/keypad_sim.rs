//! Firmware-in-the-loop bus simulator: keypads running the real firmware logic
//! (`layso_keypad::Keypad`) with simulated buttons and displays, sharing one RS-485 bus that is
//! the master side of a pseudo-terminal. The daemon's adapter opens the slave side with
//! tokio-serial exactly as it would open `/dev/ttyAMA0`.
//!
//! A pseudo-terminal ignores the baud rate, so the bus timing is simulated here: every byte the
//! master writes is delivered to the keypads one character time after the previous one, replies
//! leave one character time per byte, and the keypads get those times (not wall-clock reads) —
//! as the firmware gets its timer. Noise: bit flips on bytes in both directions and whole
//! replies dropped (the keypad acted on the request, the master never hears back).

#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

// A test that uses several harnesses loads this file once per harness; each copy is private.
#[allow(clippy::duplicate_mod)]
#[path = "pty.rs"]
mod pty;
// A test that uses several harnesses loads this file once per harness; each copy is private.
#[allow(clippy::duplicate_mod)]
#[path = "rng.rs"]
mod rng;

use layso_keypad::regs::char_time_us;
use layso_keypad::segments::render;
use layso_keypad::{KeyCode, Keypad, KeypadConfig, Layout};
use rng::Rng;

/// Settings of a simulated bus.
#[derive(Clone, Debug)]
pub struct SimOptions {
    pub baud: u32,
    /// 10 for 8N1, 11 for 8E1.
    pub bits_per_char: u32,
    pub addresses: Vec<u8>,
    /// Probability that a byte on the wire (either direction) has one bit flipped.
    pub flip_per_byte: f64,
    /// Probability that a keypad's reply is lost entirely.
    pub drop_reply: f64,
    pub seed: u64,
    /// Keypad turnaround: end of request to start of reply (DE setup, firmware latency).
    pub turnaround_us: u64,
    /// How long a simulated press holds the button down.
    pub hold_ms: u64,
    /// Try to run the simulator thread at a real-time priority, as the keypads are hardware
    /// that a busy host cannot starve (best effort: needs root or CAP_SYS_NICE).
    pub realtime: bool,
    /// Keypads that run in the rating layout (three rating keys).
    pub rating_pads: Vec<u8>,
}

impl SimOptions {
    pub fn new(addresses: Vec<u8>) -> Self {
        SimOptions {
            baud: 19_200,
            bits_per_char: 10,
            addresses,
            flip_per_byte: 0.0,
            drop_reply: 0.0,
            seed: 0x5eed,
            turnaround_us: 200,
            hold_ms: 30,
            realtime: true,
            rating_pads: Vec::new(),
        }
    }
}

/// What a simulated keypad shows and holds.
#[derive(Clone, Debug)]
pub struct PadView {
    /// The four characters on its display.
    pub chars: [u8; 4],
    /// Their segments (blink phase ignored).
    pub segments: [u8; 4],
    pub blinking: bool,
    /// Since when the display shows `chars`.
    pub chars_since: Instant,
    /// Unacknowledged presses in the keypad.
    pub queued: usize,
    /// Presses the keypad's debouncer registered, in order.
    pub registered: Vec<KeyCode>,
    /// Polls and writes it answered.
    pub answered: u64,
}

/// Counters of what the simulated bus did.
#[derive(Clone, Debug, Default)]
pub struct SimStats {
    pub bytes_from_master: u64,
    pub bytes_flipped: u64,
    pub replies: u64,
    pub replies_dropped: u64,
    /// The simulator thread runs with a real-time priority.
    pub realtime: bool,
}

struct Shared {
    views: BTreeMap<u8, PadView>,
    presses: VecDeque<(u8, usize)>,
    stats: SimStats,
}

/// A running simulated bus; stops its thread when dropped.
pub struct SimBus {
    path: PathBuf,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

struct SimPad {
    kp: Keypad,
    button: u8,
    hold_scans: u64,
}

impl SimBus {
    pub fn start(opts: SimOptions) -> io::Result<SimBus> {
        let (master, slave, path) = pty::open_raw()?;
        let now = Instant::now();
        let views = opts
            .addresses
            .iter()
            .map(|&a| {
                let v = PadView {
                    chars: *b"----",
                    segments: render(*b"----"),
                    blinking: false,
                    chars_since: now,
                    queued: 0,
                    registered: Vec::new(),
                    answered: 0,
                };
                (a, v)
            })
            .collect();
        let shared = Arc::new(Mutex::new(Shared {
            views,
            presses: VecDeque::new(),
            stats: SimStats::default(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let shared = shared.clone();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("keypad-sim".into())
                .spawn(move || {
                    // Holding the slave open keeps the master readable while the adapter reopens.
                    let _slave = slave;
                    run(opts, master, shared, stop)
                })?
        };
        Ok(SimBus {
            path,
            shared,
            stop,
            thread: Some(thread),
        })
    }

    /// The serial device path for the adapter.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Press and release `key` on keypad `address`; returns when the press was queued to the
    /// simulator (the button goes down within a millisecond).
    pub fn press(&self, address: u8, key: KeyCode) -> Instant {
        let at = Instant::now();
        if let Ok(mut s) = self.shared.lock() {
            let button = match KeyCode::RATING.iter().position(|k| *k == key) {
                Some(i) => i,
                None => usize::from(key.code()) - 1,
            };
            s.presses.push_back((address, button));
        }
        at
    }

    pub fn view(&self, address: u8) -> Option<PadView> {
        self.shared.lock().ok()?.views.get(&address).cloned()
    }

    pub fn stats(&self) -> SimStats {
        self.shared
            .lock()
            .map(|s| s.stats.clone())
            .unwrap_or_default()
    }
}

impl Drop for SimBus {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Best effort: give the calling thread a real-time (SCHED_FIFO) priority, as a keypad's own
/// microcontroller is never preempted by other work. Returns whether it worked (needs root or
/// CAP_SYS_NICE).
pub fn try_realtime(priority: i32) -> bool {
    let param = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: changes only the calling thread's scheduling policy.
    unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param) == 0 }
}

fn run(opts: SimOptions, master: OwnedFd, shared: Arc<Mutex<Shared>>, stop: Arc<AtomicBool>) {
    let realtime = opts.realtime && try_realtime(50);
    let t0 = Instant::now();
    let us = |t: Instant| t.duration_since(t0).as_micros() as u64;
    let ch = char_time_us(opts.baud, opts.bits_per_char);
    let mut rng = Rng(opts.seed | 1);
    let mut pads: BTreeMap<u8, SimPad> = opts
        .addresses
        .iter()
        .enumerate()
        .map(|(i, &a)| {
            let cfg = KeypadConfig {
                epoch: (i as u8).wrapping_mul(37).wrapping_add(11),
                first_seq: 1000 * (i as u16 + 1),
                baud: opts.baud,
                ..KeypadConfig::new(a)
            };
            (
                a,
                SimPad {
                    kp: {
                        let mut kp = Keypad::new(cfg);
                        if opts.rating_pads.contains(&a) {
                            kp.set_layout(Layout::Rating);
                        }
                        kp
                    },
                    button: 0,
                    hold_scans: 0,
                },
            )
        })
        .collect();
    // Bytes on their way from the master to the keypads, and from a keypad to the master.
    let mut inbound: VecDeque<(u64, u8)> = VecDeque::new();
    let mut outbound: VecDeque<(u64, u8, u8)> = VecDeque::new();
    let mut wire_free_us = 0u64;
    let mut last_ms = u64::MAX;
    let fd = master.as_raw_fd();
    let mut buf = [0u8; 512];
    let mut stats = SimStats {
        realtime,
        ..SimStats::default()
    };
    let mut answered: BTreeMap<u8, u64> = BTreeMap::new();

    while !stop.load(Ordering::Relaxed) {
        let now = us(Instant::now());
        // 1. Bytes the master wrote: each takes one character time on the wire.
        loop {
            // SAFETY: reading into a local buffer from a descriptor this thread owns.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break;
            }
            for &b in &buf[..n as usize] {
                wire_free_us = wire_free_us.max(now) + ch;
                stats.bytes_from_master += 1;
                let b = if rng.chance(opts.flip_per_byte) {
                    stats.bytes_flipped += 1;
                    b ^ (1 << (rng.next() % 8))
                } else {
                    b
                };
                inbound.push_back((wire_free_us, b));
            }
        }
        // 2. Deliver bytes whose last bit has arrived; schedule replies.
        let mut replies = Vec::new();
        while let Some(&(due, b)) = inbound.front() {
            if due > now {
                break;
            }
            inbound.pop_front();
            for (&a, p) in pads.iter_mut() {
                if let Some(r) = p.kp.on_byte(b, due) {
                    replies.push((a, due, r));
                }
            }
        }
        for (&a, p) in pads.iter_mut() {
            if let Some(r) = p.kp.poll(now) {
                replies.push((a, now, r));
            }
        }
        for (a, at, r) in replies {
            stats.replies += 1;
            *answered.entry(a).or_default() += 1;
            let start = at.max(wire_free_us) + opts.turnaround_us;
            wire_free_us = start + ch * r.len() as u64;
            if rng.chance(opts.drop_reply) {
                stats.replies_dropped += 1;
                continue;
            }
            for (i, &b) in r.as_bytes().iter().enumerate() {
                let b = if rng.chance(opts.flip_per_byte) {
                    stats.bytes_flipped += 1;
                    b ^ (1 << (rng.next() % 8))
                } else {
                    b
                };
                outbound.push_back((start + ch * (i as u64 + 1), b, a));
            }
        }
        // 3. Reply bytes reach the master (and every other keypad on the bus).
        while let Some(&(due, b, from)) = outbound.front() {
            if due > now {
                break;
            }
            outbound.pop_front();
            // SAFETY: writing one byte from a local to a descriptor this thread owns.
            unsafe { libc::write(fd, (&b as *const u8).cast(), 1) };
            for (&a, p) in pads.iter_mut() {
                if a != from {
                    let _ = p.kp.on_byte(b, due);
                }
            }
        }
        // 4. Buttons, once per millisecond, and the view the tests read.
        let now_ms = now / 1000;
        if now_ms != last_ms {
            last_ms = now_ms;
            let mut s = match shared.lock() {
                Ok(s) => s,
                Err(_) => return,
            };
            while let Some((a, button)) = s.presses.pop_front() {
                if let Some(p) = pads.get_mut(&a) {
                    p.button = 1 << button;
                    p.hold_scans = opts.hold_ms;
                }
            }
            for (&a, p) in pads.iter_mut() {
                // Held for a number of scans, not of wall-clock time: a simulator thread starved
                // by a busy machine must not turn a press into a glitch the debouncer rejects.
                let raw = if p.hold_scans > 0 {
                    p.hold_scans -= 1;
                    p.button
                } else {
                    0
                };
                let pressed = p.kp.scan(raw, now_ms as u32);
                let Some(v) = s.views.get_mut(&a) else {
                    continue;
                };
                for i in 0..8 {
                    if pressed & (1 << i) != 0 {
                        if let Some(k) = KeyCode::from_button(i) {
                            v.registered.push(k);
                        }
                    }
                }
                let chars = p.kp.display().chars();
                if chars != v.chars {
                    v.chars = chars;
                    v.segments = render(chars);
                    v.chars_since = Instant::now();
                }
                v.blinking = p.kp.display().is_blinking(now_ms as u32);
                v.queued = p.kp.queue_len();
                v.answered = answered.get(&a).copied().unwrap_or(0);
            }
            s.stats = stats.clone();
        }
        // 5. Sleep until the next byte is due, or wait up to 1 ms for the master.
        let next_due = [inbound.front().map(|x| x.0), outbound.front().map(|x| x.0)]
            .into_iter()
            .flatten()
            .min();
        let now = us(Instant::now());
        match next_due {
            Some(d) if d <= now + 1000 => {
                if d > now + 60 {
                    std::thread::sleep(Duration::from_micros(d - now - 50));
                } else {
                    std::thread::yield_now();
                }
            }
            _ => {
                let mut pfd = libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one pollfd on the stack, 1 ms timeout.
                unsafe { libc::poll(&mut pfd, 1, 1) };
            }
        }
    }
}

/// The daemon's keypad bus settings for the simulated bus at `path`: 19200 baud, 30 ms
/// timeout, RS-485 RTS, and these `(address, counter)` keypads.
pub fn bus_config(path: &Path, pads: &[(u8, u16)]) -> layso::devices::keypad::KeypadBusConfig {
    let list: Vec<String> = pads
        .iter()
        .map(|(a, c)| format!("{{ address = {a}, counter = {c} }}"))
        .collect();
    let text = format!(
        "path = \"{}\"\nbaud = 19200\ntimeout_ms = 30\nrs485_rts = true\nkeypads = [{}]\n",
        path.display(),
        list.join(", ")
    );
    match toml::from_str(&text) {
        Ok(c) => c,
        Err(e) => panic!("test config does not parse: {e}\n{text}"),
    }
}

/// Wait (bounded) until `cond` holds; panics with `what` on timeout.
pub async fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while !cond() {
        if Instant::now() > end {
            panic!("timed out after {limit:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

//! Firmware-in-the-loop: the keypad firmware's logic runs on the host with simulated buttons and
//! displays, its UART bridged through a pseudo-terminal to the daemon's keypad adapter, which
//! opens it with tokio-serial as it would a real RS-485 port.

#[path = "support/keypad_sim.rs"]
mod keypad_sim;
#[path = "support/queue_sink.rs"]
mod queue_sink;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keypad_sim::{bus_config as config, wait_for, PadView, SimBus, SimOptions};
use layso::devices::keypad::{self, KeyAction, KeypadBusConfig};
use layso_keypad::segments::render;
use layso_keypad::KeyCode;
use queue_sink::QueueSink;

type Reports = Arc<Mutex<Vec<(u16, bool, String)>>>;

type Task = tokio::task::JoinHandle<Result<(), keypad::KeypadError>>;

fn start(sim: &SimBus, pads: &[(u8, u16)]) -> (Arc<QueueSink>, Reports, Task) {
    start_at(sim.path(), pads)
}

fn start_at(path: &std::path::Path, pads: &[(u8, u16)]) -> (Arc<QueueSink>, Reports, Task) {
    let counters: Vec<u16> = pads.iter().map(|p| p.1).collect();
    let (sink, rx) = QueueSink::new(&counters);
    let sink = Arc::new(sink);
    let (reports, report) = reporter();
    let task = tokio::spawn(keypad::run(config(path, pads), sink.clone(), rx, report));
    (sink, reports, task)
}

fn last_report(reports: &Reports, address: u16) -> Option<bool> {
    reports
        .lock()
        .ok()?
        .iter()
        .rev()
        .find(|r| r.0 == address)
        .map(|r| r.1)
}

/// Whether every keypad in `addresses` was last reported reachable.
fn all_reachable(reports: &Reports, addresses: &[u8]) -> bool {
    addresses
        .iter()
        .all(|&a| last_report(reports, u16::from(a)) == Some(true))
}

/// Whether every keypad in `addresses` has a display and keys meeting `cond`.
fn all_show(sim: &SimBus, addresses: &[u8], cond: impl Fn(&PadView) -> bool) -> bool {
    addresses
        .iter()
        .all(|&a| sim.view(a).is_some_and(|v| cond(&v)))
}

/// Waits (at most `limit`) until keypad `address`'s last reachability report is `up`.
async fn wait_reported(reports: &Reports, address: u16, up: bool, limit: Duration) {
    let what = format!(
        "keypad {address} reported {}",
        if up { "reachable" } else { "unreachable" }
    );
    wait_for(&what, limit, || last_report(reports, address) == Some(up)).await;
}

/// Eight simulated keypads (addresses 1–8) on a bus that flips bits and drops replies,
/// seeded with `seed`: (the addresses, the bus).
fn noisy_bus(seed: u64) -> (Vec<u8>, SimBus) {
    let addresses: Vec<u8> = (1..=8).collect();
    let mut opts = SimOptions::new(addresses.clone());
    opts.flip_per_byte = 0.004;
    opts.drop_reply = 0.08;
    opts.seed = seed;
    let sim = SimBus::start(opts).expect("pseudo-terminal for the simulated bus");
    (addresses, sim)
}

/// Where the adapter's reachability reports (address, reachable, detail) are collected, and
/// the callback that collects them.
fn reporter() -> (Reports, impl Fn(u16, bool, String) + Send + Sync + 'static) {
    let reports: Reports = Arc::default();
    let r = reports.clone();
    let report = move |a, ok, d| {
        if let Ok(mut v) = r.lock() {
            v.push((a, ok, d));
        }
    };
    (reports, report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_press_calls_next_ticket_and_display_shows_it() {
    let sim =
        SimBus::start(SimOptions::new(vec![1])).expect("pseudo-terminal for the simulated bus");
    // Keypad 2 is configured but absent: it must be reported unreachable while 1 works.
    let (sink, reports, task) = start(&sim, &[(1, 3), (2, 4)]);

    wait_reported(&reports, 1, true, Duration::from_secs(5)).await;
    wait_for(
        "nothing-current display ----",
        Duration::from_secs(5),
        || sim.view(1).is_some_and(|v| v.chars == *b"----"),
    )
    .await;

    sim.press(1, KeyCode::Next);
    wait_for("display shows A001", Duration::from_secs(5), || {
        sim.view(1).is_some_and(|v| v.chars == *b"A001")
    })
    .await;
    let v = sim.view(1).expect("keypad 1 view");
    assert!(v.blinking, "a new call must blink");
    assert_eq!(v.segments, render(*b"A001"));
    assert_eq!(sink.log(), vec![(3, KeyAction::Next)]);
    wait_for("press acknowledged", Duration::from_secs(2), || {
        sim.view(1).is_some_and(|v| v.queued == 0)
    })
    .await;

    // Next again: the following ticket.
    sim.press(1, KeyCode::Next);
    wait_for("display shows A002", Duration::from_secs(5), || {
        sim.view(1).is_some_and(|v| v.chars == *b"A002")
    })
    .await;
    // Complete: nothing current.
    sim.press(1, KeyCode::Complete);
    wait_for("display shows ----", Duration::from_secs(5), || {
        sim.view(1).is_some_and(|v| v.chars == *b"----")
    })
    .await;
    // A call made elsewhere (web page) reaches the keypad through the watch channel.
    sink.show(3, Some("B017".to_string()));
    wait_for(
        "display follows the engine: B017",
        Duration::from_secs(5),
        || {
            sim.view(1)
                .is_some_and(|v| v.chars == *b"B017" && v.blinking)
        },
    )
    .await;
    assert_eq!(
        sink.log(),
        vec![
            (3, KeyAction::Next),
            (3, KeyAction::Next),
            (3, KeyAction::Complete)
        ]
    );

    wait_reported(&reports, 2, false, Duration::from_secs(5)).await;
    let detail = reports
        .lock()
        .ok()
        .and_then(|r| r.iter().find(|r| r.0 == 2).map(|r| r.2.clone()))
        .unwrap_or_default();
    assert!(detail.contains("no reply"), "detail says why: {detail}");
    assert_eq!(
        last_report(&reports, 1),
        Some(true),
        "keypad 1 stays reachable"
    );

    // Dropping the displays sender stops the adapter.
    sink.close();
    let res = tokio::time::timeout(Duration::from_secs(2), task).await;
    assert!(
        matches!(res, Ok(Ok(Ok(())))),
        "adapter must stop when the engine feed closes: {res:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_keypads_with_noise_apply_every_press_exactly_once() {
    let (addresses, sim) = noisy_bus(0xC0FFEE);
    let pads: Vec<(u8, u16)> = addresses.iter().map(|&a| (a, u16::from(a) + 10)).collect();
    let (sink, reports, task) = start(&sim, &pads);
    wait_for("all keypads answering", Duration::from_secs(10), || {
        all_reachable(&reports, &addresses)
    })
    .await;

    // Each keypad gets its own sequence of keys; presses on different keypads overlap.
    let keys = [
        KeyCode::Next,
        KeyCode::Recall,
        KeyCode::Skip,
        KeyCode::Next,
        KeyCode::Complete,
        KeyCode::Pause,
        KeyCode::Open,
        KeyCode::Next,
    ];
    let mut pressed: BTreeMap<u16, Vec<KeyAction>> = BTreeMap::new();
    for round in 0..keys.len() {
        for (i, &a) in addresses.iter().enumerate() {
            let k = keys[(round + i) % keys.len()];
            sim.press(a, k);
            pressed
                .entry(u16::from(a) + 10)
                .or_default()
                .push(KeyAction::from(k));
            tokio::time::sleep(Duration::from_millis(9)).await;
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let total: usize = pressed.values().map(Vec::len).sum();
    wait_for(
        "every press registered by the keypads",
        Duration::from_secs(10),
        || all_show(&sim, &addresses, |v| v.registered.len() == keys.len()),
    )
    .await;
    wait_for(
        "every press applied and acknowledged",
        Duration::from_secs(30),
        || sink.log().len() >= total && all_show(&sim, &addresses, |v| v.queued == 0),
    )
    .await;
    // Keep the bus running a little: nothing may be applied a second time.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut applied: BTreeMap<u16, Vec<KeyAction>> = BTreeMap::new();
    for (c, a) in sink.log() {
        applied.entry(c).or_default().push(a);
    }
    assert_eq!(
        applied, pressed,
        "per counter, exactly the presses made, in order, once each"
    );
    let stats = sim.stats();
    assert!(
        stats.bytes_flipped > 0 && stats.replies_dropped > 0,
        "noise must really have been injected: {stats:?}"
    );
    eprintln!("noise: {stats:?}, {} presses applied once each", total);

    // Every keypad shows what its counter has current.
    for &a in &addresses {
        let v = sim.view(a).expect("view");
        let label = sink_label(&sink, u16::from(a) + 10);
        assert_eq!(v.chars, label, "keypad {a} display");
    }
    sink.close();
    let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
}

fn sink_label(sink: &QueueSink, counter: u16) -> [u8; 4] {
    // The last action on the counter decides: Next → a label, Complete/Skip → nothing.
    let log = sink.log();
    let mut current: Option<String> = None;
    let mut n = 0;
    for (c, a) in &log {
        if matches!(a, KeyAction::Next) {
            n += 1;
        }
        if *c == counter {
            match a {
                KeyAction::Next => current = Some(format!("A{n:03}")),
                KeyAction::Skip | KeyAction::Complete | KeyAction::Transfer => current = None,
                _ => {}
            }
        }
    }
    layso_keypad::segments::label_chars(current.as_deref())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_port_lost_and_back_is_reopened() {
    // The adapter opens a stable name (like a udev symlink); the device behind it goes away
    // and comes back as a different pseudo-terminal.
    let dir = tempfile::tempdir().expect("temp dir");
    let link = dir.path().join("ttyKEYPADS");
    let sim = SimBus::start(SimOptions::new(vec![5])).expect("pseudo-terminal");
    std::os::unix::fs::symlink(sim.path(), &link).expect("symlink");
    let (sink, reports, task) = start_at(&link, &[(5, 1)]);
    wait_reported(&reports, 5, true, Duration::from_secs(5)).await;

    // Unplug: the pseudo-terminal disappears.
    drop(sim);
    std::fs::remove_file(&link).expect("remove symlink");
    wait_reported(&reports, 5, false, Duration::from_secs(5)).await;
    let detail = reports
        .lock()
        .ok()
        .and_then(|r| r.last().map(|r| r.2.clone()))
        .unwrap_or_default();
    assert!(
        detail.contains("serial port"),
        "detail names the port problem: {detail}"
    );

    // Plug back in: a new device under the same name; the adapter reopens it by itself.
    let sim = SimBus::start(SimOptions::new(vec![5])).expect("pseudo-terminal");
    std::os::unix::fs::symlink(sim.path(), &link).expect("symlink");
    wait_reported(&reports, 5, true, Duration::from_secs(10)).await;
    sim.press(5, KeyCode::Next);
    wait_for(
        "press works after the reopen",
        Duration::from_secs(5),
        || sim.view(5).is_some_and(|v| v.chars == *b"A001"),
    )
    .await;
    assert_eq!(sink.log(), vec![(1, KeyAction::Next)]);
    sink.close();
    let _ = tokio::time::timeout(Duration::from_secs(6), task).await;
}

// ---- The same firmware-in-the-loop run against the real engine (sled log in a temp dir) ----

mod real_engine {
    use super::*;
    use layso::config::Config;
    use layso::core::{Command, Event};
    use layso::engine::{self, Handle, Options, SystemClock};
    use layso::log::EventLog;

    /// The engine behind the keypads, exactly as the daemon wires it.
    pub use layso::adapters::EngineSink;

    pub async fn start_engine(dir: &std::path::Path, counters: u16) -> (Handle, Arc<Config>) {
        let mut text = String::from(
            "[site]\nid = \"fil\"\nname = \"FIL\"\nprovince = \"test\"\nutc_offset = \"+07:00\"\nday_starts_at = \"00:00\"\n\n\
             [[services]]\nid = \"A\"\nname_vi = \"Hộ tịch\"\nname_en = \"Civil status\"\nprefix = \"A\"\n\n",
        );
        for c in 1..=counters {
            text.push_str(&format!(
                "[[counters]]\nnumber = {c}\nname = \"Quầy {c}\"\nservices = [\"A\"]\ncredential = \"counter{c}-secret\"\n\n"
            ));
        }
        text.push_str(&format!(
            "[store]\npath = \"{}\"\nretention_days = 90\n\n[web]\nbind = \"127.0.0.1:0\"\nadmin_credential = \"admin-secret\"\n",
            dir.join("store").display()
        ));
        let config = match layso::config::parse(&text, "fil.toml", None) {
            Ok(c) => c,
            Err(e) => panic!("test site config rejected: {e:?}"),
        };
        let now = engine::Clock::now(&SystemClock).wall_ms;
        let (log, report) =
            EventLog::open(&dir.join("store"), "fil", now).expect("event log in temp dir");
        let options = Options {
            clock: Box::new(SystemClock),
            watchdog: None,
            stall_after: None,
            quota_bytes: None,
        };
        let config = Arc::new(config);
        let handle = engine::start(config.clone(), log, report, options).expect("engine starts");
        (handle, config)
    }

    /// What each counter shows, from the engine's view (what the lead feeds the adapter).
    /// The keypad adapter on `cfg`, wired to the real engine as the daemon wires it;
    /// reachability reports are collected.
    pub fn run_bus(
        cfg: KeypadBusConfig,
        handle: &Handle,
        site_config: &Arc<Config>,
    ) -> (
        tokio::task::JoinHandle<Result<(), keypad::KeypadError>>,
        Reports,
    ) {
        let (reports, report) = reporter();
        let sink = Arc::new(EngineSink {
            handle: handle.clone(),
            config: site_config.clone(),
        });
        let task = tokio::spawn(keypad::run(cfg, sink, displays_of(handle), report));
        (task, reports)
    }

    pub fn displays_of(handle: &Handle) -> tokio::sync::watch::Receiver<keypad::CounterDisplays> {
        let of = |v: &engine::View| -> keypad::CounterDisplays {
            v.counters
                .iter()
                .map(|c| (c.number, c.current.as_ref().map(|x| x.ticket.clone())))
                .collect()
        };
        let mut views = handle.watch_view();
        let (tx, rx) = tokio::sync::watch::channel(of(&views.borrow()));
        tokio::spawn(async move {
            while views.changed().await.is_ok() {
                let d = of(&views.borrow_and_update());
                if tx.send(d).is_err() {
                    break;
                }
            }
        });
        rx
    }

    async fn issue(handle: &Handle, n: usize) {
        for _ in 0..n {
            let r = handle
                .execute(Command::Issue {
                    service: "A".into(),
                    priority: false,
                    source: "test".into(),
                })
                .await;
            assert!(r.is_ok(), "issue failed: {r:?}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn real_engine_next_press_calls_and_keypad_shows_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (handle, site_config) = start_engine(dir.path(), 2).await;
        issue(&handle, 3).await;
        let sim = SimBus::start(SimOptions::new(vec![7])).expect("pseudo-terminal");
        let cfg = config(sim.path(), &[(7, 2)]);
        let (task, reports) = run_bus(cfg, &handle, &site_config);
        wait_reported(&reports, 7, true, Duration::from_secs(5)).await;

        sim.press(7, KeyCode::Next);
        wait_for(
            "counter 2 has a current ticket",
            Duration::from_secs(5),
            || {
                handle
                    .view()
                    .counters
                    .iter()
                    .any(|c| c.number == 2 && c.current.is_some())
            },
        )
        .await;
        let ticket = handle
            .view()
            .counters
            .iter()
            .find(|c| c.number == 2)
            .and_then(|c| c.current.clone())
            .map(|c| c.ticket)
            .unwrap_or_default();
        let want = layso_keypad::segments::label_chars(Some(&ticket));
        wait_for(
            "keypad shows the called ticket",
            Duration::from_secs(5),
            || sim.view(7).is_some_and(|v| v.chars == want && v.blinking),
        )
        .await;
        assert_eq!(ticket.len(), 4, "ticket label {ticket:?} fits the display");
        handle.stop().await;
        task.abort();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn real_engine_eight_keypads_with_noise_call_exactly_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (handle, site_config) = start_engine(dir.path(), 8).await;
        issue(&handle, 60).await;
        let mut calls = handle.subscribe();
        let (addresses, sim) = noisy_bus(0xFEED);
        let pads: Vec<(u8, u16)> = addresses.iter().map(|&a| (a, u16::from(a))).collect();
        let (task, reports) = run_bus(config(sim.path(), &pads), &handle, &site_config);
        wait_for("all keypads answering", Duration::from_secs(10), || {
            all_reachable(&reports, &addresses)
        })
        .await;
        const PER_PAD: usize = 4;
        for _ in 0..PER_PAD {
            for &a in &addresses {
                sim.press(a, KeyCode::Next);
                tokio::time::sleep(Duration::from_millis(7)).await;
            }
            tokio::time::sleep(Duration::from_millis(80)).await;
        }
        wait_for(
            "every press registered, applied and acknowledged",
            Duration::from_secs(30),
            || {
                all_show(&sim, &addresses, |v| {
                    v.registered.len() == PER_PAD && v.queued == 0
                })
            },
        )
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;

        let mut per_counter: BTreeMap<u16, usize> = BTreeMap::new();
        while let Ok(entry) = calls.try_recv() {
            if let Event::TicketCalled {
                counter, recall: 0, ..
            } = entry.event
            {
                *per_counter.entry(counter).or_default() += 1;
            }
        }
        let want: BTreeMap<u16, usize> =
            addresses.iter().map(|&a| (u16::from(a), PER_PAD)).collect();
        assert_eq!(
            per_counter, want,
            "the engine called exactly one ticket per Next press"
        );
        for c in &handle.view().counters {
            let label = c.current.as_ref().map(|x| x.ticket.clone());
            let want = layso_keypad::segments::label_chars(label.as_deref());
            wait_for(
                "keypad display matches the engine",
                Duration::from_secs(3),
                || sim.view(c.number as u8).is_some_and(|v| v.chars == want),
            )
            .await;
        }
        let stats = sim.stats();
        assert!(
            stats.bytes_flipped > 0 && stats.replies_dropped > 0,
            "noise injected: {stats:?}"
        );
        handle.stop().await;
        task.abort();
    }
}

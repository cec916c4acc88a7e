//! Counter display runner: missing devices are reported and retried, new calls blink, a failing
//! device is reopened, and the thread ends with the daemon. The button reader's retry shell is
//! checked against a GPIO chip that does not exist.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use layso::devices::board::{
    counter_display_thread, report_fn, run_counter_display, CounterDisplayConfig, CounterSurface,
    DevicesConfig, RetryPolicy, Slot,
};
use tokio::sync::{mpsc, watch};

type Shown = Arc<Mutex<Vec<Vec<Slot>>>>;
type Reports = Arc<Mutex<Vec<(String, bool, String)>>>;

/// Records what it is asked to show; fails once when `fail_next` is set.
struct Recording {
    shown: Shown,
    fail_next: Arc<AtomicBool>,
    refreshes: Arc<AtomicUsize>,
}

impl CounterSurface for Recording {
    fn show(&mut self, slots: &[Slot]) -> Result<(), String> {
        if self.fail_next.swap(false, Ordering::SeqCst) {
            return Err("SPI transfer failed: Other".into());
        }
        self.shown
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(slots.to_vec());
        Ok(())
    }
    fn refresh(&mut self) -> Result<(), String> {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn display_cfg(extra: &str) -> CounterDisplayConfig {
    let text = format!(
        "[[counter_displays]]\nname = \"digits\"\nkind = \"max7219\"\ndevice = \"/dev/spidev0.0\"\ncounters = [1, 2]\n{extra}"
    );
    let d: DevicesConfig = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    d.counter_displays
        .into_iter()
        .next()
        .unwrap_or_else(|| unreachable!())
}

fn calls(entries: &[(u16, Option<&str>)]) -> BTreeMap<u16, Option<String>> {
    entries
        .iter()
        .map(|(c, l)| (*c, l.map(str::to_string)))
        .collect()
}

fn lock<T: Clone>(m: &Arc<Mutex<T>>) -> T {
    m.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

async fn until<F: Fn() -> bool>(what: &str, f: F) {
    for _ in 0..300 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_device_is_retried_new_calls_blink_and_failures_reopen() {
    let cfg = display_cfg("blink_ms = 400\nblink_period_ms = 100");
    let (tx, rx) = watch::channel(calls(&[(1, Some("A001")), (2, None)]));
    let shown: Shown = Arc::default();
    let reports: Reports = Arc::default();
    let opens = Arc::new(AtomicUsize::new(0));
    let fail_next = Arc::new(AtomicBool::new(false));
    let refreshes = Arc::new(AtomicUsize::new(0));
    let r2 = reports.clone();
    let report = report_fn(move |n, ok, d| {
        r2.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((n, ok, d))
    });
    let (s2, o2, f2, rf2) = (
        shown.clone(),
        opens.clone(),
        fail_next.clone(),
        refreshes.clone(),
    );
    let opener = move || {
        // The first two attempts find no device.
        if o2.fetch_add(1, Ordering::SeqCst) < 2 {
            return Err(
                "cannot open SPI device /dev/spidev0.0: No such file or directory".to_string(),
            );
        }
        Ok(Box::new(Recording {
            shown: s2.clone(),
            fail_next: f2.clone(),
            refreshes: rf2.clone(),
        }) as Box<dyn CounterSurface>)
    };
    let handle = tokio::runtime::Handle::current();
    let retry = RetryPolicy {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(40),
        // Rare enough not to disturb the blink check, often enough to be seen.
        refresh: Duration::from_millis(1500),
    };
    let thread =
        std::thread::spawn(move || run_counter_display(&cfg, rx, report, retry, &handle, opener));

    until("first picture", || !lock(&shown).is_empty()).await;
    assert_eq!(opens.load(Ordering::SeqCst), 3);
    let r = lock(&reports);
    assert_eq!(
        r.len(),
        2,
        "two identical failures are reported once: {r:?}"
    );
    assert_eq!((r[0].0.as_str(), r[0].1), ("digits", false));
    assert!(
        r[0].2.contains("No such file") && r[0].2.contains("retrying"),
        "{r:?}"
    );
    assert_eq!((r[1].1, r[1].2.as_str()), (true, "ok"));
    let slot = |c, l: Option<&str>, v| Slot {
        counter: c,
        label: l.map(str::to_string),
        visible: v,
    };
    assert_eq!(
        lock(&shown)[0],
        vec![slot(1, Some("A001"), true), slot(2, None, true)],
        "start-up state does not blink"
    );

    // Counter 2 calls B001: it blinks (on, off, on, off, on) for 400 ms, counter 1 stays lit.
    tx.send_replace(calls(&[(1, Some("A001")), (2, Some("B001"))]));
    tokio::time::sleep(Duration::from_millis(700)).await;
    let s = lock(&shown);
    let second: Vec<bool> = s[1..].iter().map(|p| p[1].visible).collect();
    // Normally [on, off, on, off, on]; a heavily loaded machine may wake the runner late and
    // merge a half-period, but the blink must go dark at least once and end lit.
    assert_eq!(second.first(), Some(&true), "{s:?}");
    assert_eq!(second.last(), Some(&true), "{s:?}");
    assert!(
        second.windows(2).all(|w| w[0] != w[1]),
        "only changes are drawn: {s:?}"
    );
    assert!((3..=5).contains(&second.len()), "{s:?}");
    assert!(s[1..]
        .iter()
        .all(|p| p[0] == slot(1, Some("A001"), true) && p[1].label.as_deref() == Some("B001")));

    // The device fails on the next picture: reported, reopened, picture shown again.
    fail_next.store(true, Ordering::SeqCst);
    tx.send_replace(calls(&[(1, None), (2, Some("B001"))]));
    until("reopen after failure", || lock(&reports).len() >= 4).await;
    until("picture after reopen", || {
        lock(&shown).last().is_some_and(|p| p[0].label.is_none())
    })
    .await;
    let r = lock(&reports);
    assert!(!r[2].1 && r[2].2.contains("SPI transfer failed"), "{r:?}");
    assert!(r[3].1, "{r:?}");
    assert_eq!(opens.load(Ordering::SeqCst), 4);

    // A periodic refresh repairs the device and redraws the picture.
    let before = lock(&shown).len();
    until("refresh", || refreshes.load(Ordering::SeqCst) >= 1).await;
    until("redraw after refresh", || lock(&shown).len() > before).await;
    assert_eq!(
        lock(&shown).last(),
        Some(&vec![slot(1, None, true), slot(2, Some("B001"), true)])
    );

    // Shutting down: the sender goes away and the thread ends.
    drop(tx);
    let joined = tokio::task::spawn_blocking(move || thread.join()).await;
    assert!(matches!(joined, Ok(Ok(()))), "runner thread ended cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_open_of_a_missing_bus_is_reported_not_fatal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spi = dir.path().join("spidev9.9");
    let i2c = dir.path().join("i2c-9");
    let reports: Reports = Arc::default();
    let (tx, rx) = watch::channel(calls(&[(1, Some("A001"))]));
    let mut threads = Vec::new();
    for (kind, dev) in [("max7219", &spi), ("hd44780", &i2c)] {
        let text = format!(
            "[[counter_displays]]\nname = \"{kind}\"\nkind = \"{kind}\"\ndevice = \"{}\"\ncounters = [1]\n",
            dev.display()
        );
        let d: DevicesConfig = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        let cfg = d
            .counter_displays
            .into_iter()
            .next()
            .unwrap_or_else(|| unreachable!());
        let r2 = reports.clone();
        let t = std::thread::Builder::new()
            .spawn(counter_display_thread(cfg, rx.clone(), move |n, ok, d| {
                r2.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((n, ok, d))
            }))
            .expect("thread starts");
        threads.push(t);
    }
    until("both failures reported", || lock(&reports).len() >= 2).await;
    let r = lock(&reports);
    let spi_msg = r
        .iter()
        .find(|x| x.0 == "max7219")
        .map(|x| x.2.clone())
        .unwrap_or_default();
    let i2c_msg = r
        .iter()
        .find(|x| x.0 == "hd44780")
        .map(|x| x.2.clone())
        .unwrap_or_default();
    assert!(
        spi_msg.contains("cannot open SPI device") && spi_msg.contains("spidev9.9"),
        "{r:?}"
    );
    assert!(
        i2c_msg.contains("cannot open I2C bus") && i2c_msg.contains("i2c-9"),
        "{r:?}"
    );
    assert!(r.iter().all(|x| !x.1), "{r:?}");
    drop(tx);
    drop(rx);
    for t in threads {
        let joined = tokio::task::spawn_blocking(move || t.join()).await;
        assert!(matches!(joined, Ok(Ok(()))));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn button_reader_reports_a_missing_gpio_chip_and_stops_with_the_engine() {
    let dir = tempfile::tempdir().expect("temp dir");
    let chip = dir.path().join("gpiochip7");
    let text = format!(
        "[[buttons]]\nname = \"kiosk A\"\nchip = \"{}\"\nline = 4\naction = {{ kind = \"issue\", service = \"A\" }}\n",
        chip.display()
    );
    let d: DevicesConfig = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let reports: Reports = Arc::default();
    let r2 = reports.clone();
    let (tx, rx) = mpsc::channel(8);
    let report = report_fn(move |n, ok, d| {
        r2.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((n, ok, d))
    });
    let tasks: Vec<_> = d
        .buttons
        .iter()
        .map(|b| {
            tokio::spawn(layso::devices::buttons::run_button(
                b.clone(),
                tx.clone(),
                report.clone(),
            ))
        })
        .collect();
    drop(tx);
    until("failure report", || !lock(&reports).is_empty()).await;
    let r = lock(&reports);
    assert_eq!((r[0].0.as_str(), r[0].1), ("kiosk A", false));
    assert!(
        r[0].2.contains("cannot open line 4") && r[0].2.contains("gpiochip7"),
        "{r:?}"
    );
    drop(rx); // the engine is gone
    for t in tasks {
        let res = tokio::time::timeout(Duration::from_secs(2), t).await;
        assert!(
            matches!(res, Ok(Ok(()))),
            "reader ends when the action channel closes"
        );
    }
}

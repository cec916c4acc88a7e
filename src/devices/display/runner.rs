//! The counter display runner: a blocking thread that opens the display (retrying with
//! backoff), shows the counters' current tickets and blinks new calls.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::blink::*;
use super::config::*;
use super::surface::*;
use crate::backoff::Backoff;
use crate::devices::health::{report_fn, Health, Report};

/// Opens the real device for a counter display on linux-embedded-hal.
pub fn open_surface(cfg: &CounterDisplayConfig) -> Result<Box<dyn CounterSurface>, String> {
    match cfg.kind.get_ref() {
        DisplayKind::Max7219 => {
            crate::devices::max7219::open_linux(cfg).map(|s| Box::new(s) as Box<dyn CounterSurface>)
        }
        DisplayKind::Hd44780 => {
            crate::devices::hd44780::open_linux(cfg).map(|s| Box::new(s) as Box<dyn CounterSurface>)
        }
    }
}

/// The body of a counter display's thread: the daemon's supervisor runs it on a blocking thread
/// (bus calls stay off the runtime). Call from inside a tokio runtime; the loop ends when the
/// watch sender is dropped.
pub fn counter_display_thread<F>(
    cfg: CounterDisplayConfig,
    calls: watch::Receiver<BTreeMap<u16, Option<String>>>,
    report: F,
) -> impl FnOnce() + Send + 'static
where
    F: Fn(String, bool, String) + Send + Sync + 'static,
{
    let report = report_fn(report);
    let handle = tokio::runtime::Handle::current();
    move || {
        let open_cfg = cfg.clone();
        run_counter_display(
            &cfg,
            calls,
            report,
            RetryPolicy::default(),
            &handle,
            move || open_surface(&open_cfg),
        )
    }
}

/// The runner loop, generic over how the device is opened. Blocking; run it on its own thread.
/// `handle` is a tokio runtime handle used to wait on the watch channel.
pub fn run_counter_display<O>(
    cfg: &CounterDisplayConfig,
    mut calls: watch::Receiver<BTreeMap<u16, Option<String>>>,
    report: Report,
    retry: RetryPolicy,
    handle: &tokio::runtime::Handle,
    mut open: O,
) where
    O: FnMut() -> Result<Box<dyn CounterSurface>, String>,
{
    let start = Instant::now();
    let now_ms = || u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut health = Health::new(cfg.name.get_ref().clone(), report);
    let mut blinker = CallBlinker::new(cfg.counter_list(), cfg.blink_ms(), cfg.blink_period_ms());
    let initial = calls.borrow_and_update().clone();
    blinker.update(&initial, now_ms());
    let mut backoff = Backoff::new(retry.initial, retry.max);
    let mut surface: Option<Box<dyn CounterSurface>> = None;
    let mut shown: Option<Vec<Slot>> = None;
    let mut retry_at = 0u64;
    let refresh_ms = u64::try_from(retry.refresh.as_millis())
        .unwrap_or(u64::MAX / 2)
        .max(1);
    let mut refresh_at = refresh_ms;
    // `changed()` below marks the value seen, so remember that it changed.
    let mut dirty = false;
    loop {
        match calls.has_changed() {
            Err(_) => return,
            Ok(changed) => {
                if changed || dirty {
                    let map = calls.borrow_and_update().clone();
                    blinker.update(&map, now_ms());
                    dirty = false;
                }
            }
        }
        let now = now_ms();
        if surface.is_none() && now >= retry_at {
            match open() {
                Ok(s) => {
                    surface = Some(s);
                    shown = None;
                    backoff.reset();
                    health.set(true, "ok");
                }
                Err(e) => {
                    let d = backoff.next_delay();
                    retry_at = now + u64::try_from(d.as_millis()).unwrap_or(u64::MAX / 2);
                    health.set(false, format!("{e}; retrying"));
                }
            }
        }
        if let Some(s) = surface.as_mut() {
            let slots = blinker.slots(now);
            let mut result = Ok(());
            if now >= refresh_at {
                refresh_at = now + refresh_ms;
                result = s.refresh();
                shown = None;
            }
            if result.is_ok() && shown.as_ref() != Some(&slots) {
                result = s.show(&slots);
            }
            if shown.as_ref() != Some(&slots) {
                match result {
                    Ok(()) => {
                        shown = Some(slots);
                        health.set(true, "ok");
                    }
                    Err(e) => {
                        surface = None;
                        let d = backoff.next_delay();
                        retry_at = now + u64::try_from(d.as_millis()).unwrap_or(u64::MAX / 2);
                        health.set(false, format!("{e}; retrying"));
                    }
                }
            }
        }
        // Sleep until the next blink edge, retry or change; at most 1 s per round.
        let mut wake = (now + 1000).min(refresh_at);
        if let Some(t) = blinker.next_change(now) {
            wake = wake.min(t);
        }
        if surface.is_none() {
            wake = wake.min(retry_at.max(now));
        }
        let wait = Duration::from_millis(wake.saturating_sub(now_ms()));
        match handle.block_on(async { tokio::time::timeout(wait, calls.changed()).await }) {
            Ok(Err(_)) => return, // sender dropped: the daemon is shutting down
            Ok(Ok(())) => dirty = true,
            Err(_) => {} // timed out: a blink edge or a retry is due
        }
    }
}

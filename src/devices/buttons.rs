//! GPIO buttons: a pure debounce / minimum-interval state machine per button, and the async
//! reader that takes edges from the GPIO character device (gpio-cdev events) and sends actions.

use std::time::Duration;

use futures_util::StreamExt;
use gpio_cdev::{Chip, EventRequestFlags, EventType, LineRequestFlags};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// What a recognised button press asks the engine to do: the action as configured.
pub use super::display::config::ButtonActionConfig as ButtonAction;
use super::display::config::ButtonConfig;
use super::health::{Health, Report};
use crate::backoff::Backoff;

/// Debounce and minimum-interval logic for one button. Pure: the caller passes the electrical
/// line level and a monotonic time in milliseconds.
///
/// - A level counts only after it has held for `debounce_ms` (contact bounce and glitches
///   shorter than that are ignored; a press costs `debounce_ms` of latency).
/// - A press fires once, when it becomes certain; holding the button fires nothing more.
/// - A press fires only if no press was recognised during the preceding `min_interval_ms`:
///   an impatient double (or triple) press yields one action.
/// - A button already held when the reader starts fires only after release and a new press.
#[derive(Debug, Clone)]
pub struct Debouncer {
    action: ButtonAction,
    active_low: bool,
    debounce_ms: u64,
    min_interval_ms: u64,
    raw_pressed: bool,
    raw_since: u64,
    stable_pressed: bool,
    last_press: Option<u64>,
}

impl Debouncer {
    /// `initial_level` is the line level read when the reader starts (`true` = high).
    pub fn new(
        action: ButtonAction,
        active_low: bool,
        debounce_ms: u64,
        min_interval_ms: u64,
        initial_level: bool,
        now_ms: u64,
    ) -> Self {
        let pressed = initial_level != active_low;
        Debouncer {
            action,
            active_low,
            debounce_ms,
            min_interval_ms,
            raw_pressed: pressed,
            raw_since: now_ms,
            stable_pressed: pressed,
            last_press: None,
        }
    }

    pub fn from_config(cfg: &ButtonConfig, initial_level: bool, now_ms: u64) -> Self {
        Debouncer::new(
            cfg.action.get_ref().clone(),
            cfg.active_low,
            cfg.debounce_ms(),
            cfg.min_interval_ms(),
            initial_level,
            now_ms,
        )
    }

    /// An edge: the line is now at `level`. May return the action of a press that became
    /// certain before this edge (when no tick came in between).
    pub fn on_edge(&mut self, level: bool, now_ms: u64) -> Option<ButtonAction> {
        let fired = self.settle(now_ms);
        let pressed = level != self.active_low;
        if pressed != self.raw_pressed {
            self.raw_pressed = pressed;
            self.raw_since = now_ms;
        }
        fired
    }

    /// Time passes without an edge; call it at [`Debouncer::next_deadline`].
    pub fn on_tick(&mut self, now_ms: u64) -> Option<ButtonAction> {
        self.settle(now_ms)
    }

    /// When the pending level becomes certain, if a level is pending.
    pub fn next_deadline(&self) -> Option<u64> {
        (self.raw_pressed != self.stable_pressed)
            .then(|| self.raw_since.saturating_add(self.debounce_ms))
    }

    /// Whether the button is (debounced) held down.
    pub fn is_pressed(&self) -> bool {
        self.stable_pressed
    }

    fn settle(&mut self, now_ms: u64) -> Option<ButtonAction> {
        let certain_at = self.raw_since.saturating_add(self.debounce_ms);
        if self.raw_pressed == self.stable_pressed || now_ms < certain_at {
            return None;
        }
        self.stable_pressed = self.raw_pressed;
        if !self.stable_pressed {
            return None;
        }
        let too_soon = self
            .last_press
            .is_some_and(|last| certain_at < last.saturating_add(self.min_interval_ms));
        self.last_press = Some(certain_at);
        (!too_soon).then(|| self.action.clone())
    }
}

/// Several buttons, each with its own debouncer (two buttons pressed at once are independent).
#[derive(Debug, Clone, Default)]
pub struct ButtonBank {
    buttons: Vec<Debouncer>,
}

impl ButtonBank {
    pub fn new(buttons: Vec<Debouncer>) -> Self {
        ButtonBank { buttons }
    }
    /// An edge on button `index`; unknown indexes are ignored.
    pub fn on_edge(&mut self, index: usize, level: bool, now_ms: u64) -> Vec<ButtonAction> {
        let mut out = self.on_tick(now_ms);
        if let Some(b) = self.buttons.get_mut(index) {
            out.extend(b.on_edge(level, now_ms));
        }
        out
    }
    pub fn on_tick(&mut self, now_ms: u64) -> Vec<ButtonAction> {
        self.buttons
            .iter_mut()
            .filter_map(|b| b.on_tick(now_ms))
            .collect()
    }
    pub fn next_deadline(&self) -> Option<u64> {
        self.buttons
            .iter()
            .filter_map(Debouncer::next_deadline)
            .min()
    }
}

/// While a button is idle its line level is sampled this often.
const RESYNC_EVERY: Duration = Duration::from_secs(1);

fn ms_since(origin: Instant) -> u64 {
    u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Where a button's edges come from: the GPIO line, or a test's synthetic source.
pub trait LineInput {
    /// The level after the next edge (`true` = high); `None` when the source is gone.
    fn next_level(
        &mut self,
    ) -> impl std::future::Future<Output = Option<Result<bool, String>>> + Send;
    /// The level now.
    fn sample(&mut self) -> Result<bool, String>;
}

impl LineInput for gpio_cdev::AsyncLineEventHandle {
    async fn next_level(&mut self) -> Option<Result<bool, String>> {
        self.next().await.map(|r| {
            r.map(|e| matches!(e.event_type(), EventType::RisingEdge))
                .map_err(|e| e.to_string())
        })
    }
    fn sample(&mut self) -> Result<bool, String> {
        self.as_ref()
            .get_value()
            .map(|v| v != 0)
            .map_err(|e| e.to_string())
    }
}

/// Why [`drive`] returned.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The action channel closed: the engine is gone.
    OutputClosed,
    /// The line failed or closed; reopen it.
    InputFailed(String),
}

/// The async shell around one [`Debouncer`]: feeds it edges and deadline ticks (times in ms
/// since `origin`), samples an idle line every second so a lost edge cannot leave it with the
/// wrong level, and sends actions to `out`.
pub async fn drive<L: LineInput>(
    mut deb: Debouncer,
    input: &mut L,
    out: &mpsc::Sender<ButtonAction>,
    origin: Instant,
) -> Ended {
    loop {
        let deadline = deb
            .next_deadline()
            .map(|t| origin + Duration::from_millis(t))
            .unwrap_or_else(|| Instant::now() + RESYNC_EVERY);
        let action = tokio::select! {
            ev = input.next_level() => match ev {
                Some(Ok(level)) => deb.on_edge(level, ms_since(origin)),
                Some(Err(e)) => return Ended::InputFailed(e),
                None => return Ended::InputFailed("line closed".to_string()),
            },
            _ = tokio::time::sleep_until(deadline) => {
                let now = ms_since(origin);
                match deb.on_tick(now) {
                    Some(a) => Some(a),
                    None if deb.next_deadline().is_none() => match input.sample() {
                        Ok(level) => deb.on_edge(level, now),
                        Err(e) => return Ended::InputFailed(e),
                    },
                    None => None,
                }
            }
            _ = out.closed() => return Ended::OutputClosed,
        };
        if let Some(a) = action {
            if out.send(a).await.is_err() {
                return Ended::OutputClosed;
            }
        }
    }
}

/// One button's reader loop: opens its GPIO line, sends actions to `out` and reports health; a
/// missing chip or line is reported and retried with backoff. Ends when `out` is closed.
pub async fn run_button(cfg: ButtonConfig, out: mpsc::Sender<ButtonAction>, report: Report) {
    let mut health = Health::new(cfg.display_name(), report);
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    let origin = Instant::now();
    let path = cfg.chip_path();
    let line_no = *cfg.line.get_ref();
    loop {
        let opened = Chip::new(&path)
            .and_then(|mut chip| chip.get_line(line_no))
            .and_then(|line| {
                line.async_events(
                    LineRequestFlags::INPUT,
                    EventRequestFlags::BOTH_EDGES,
                    "layso",
                )
            })
            .map_err(|e| format!("cannot open line {line_no} on {path}: {e}; retrying"))
            .and_then(|events| match events.as_ref().get_value() {
                Ok(v) => Ok((events, v != 0)),
                Err(e) => Err(format!(
                    "cannot read line {line_no} on {path}: {e}; retrying"
                )),
            });
        let (mut events, level) = match opened {
            Ok(opened) => opened,
            Err(why) => {
                health.set(false, why);
                tokio::select! {
                    _ = tokio::time::sleep(backoff.next_delay()) => continue,
                    _ = out.closed() => return,
                }
            }
        };
        health.set(true, "ok");
        backoff.reset();
        let deb = Debouncer::from_config(&cfg, level, ms_since(origin));
        match drive(deb, &mut events, &out, origin).await {
            Ended::OutputClosed => return,
            Ended::InputFailed(e) => health.set(
                false,
                format!("reading line {line_no} on {path} failed: {e}; reopening"),
            ),
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff.next_delay()) => {}
            _ = out.closed() => return,
        }
    }
}

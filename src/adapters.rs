//! Wiring of the device adapters to the engine: what each device is fed (events, the
//! counters' current tickets) and where its health and presses go (engine commands).
//! Every device is optional and independent; none of this can stop the engine.

use crate::config::Config;
use crate::core::{Command, Event};
use crate::devices::buttons::{self, ButtonAction};
use crate::devices::keypad::{self, CounterSink, KeyAction};
use crate::devices::{board, ledboard, printer};
use crate::engine::{ExecError, Handle};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, watch};

/// What the web side needs from the adapters.
pub struct Adapters {
    /// Print outcomes and reprints of recent tickets (None: no printer configured).
    pub reprint: Option<Arc<crate::web::printing::PrintDesk>>,
}

/// A device's health, sent to the engine as `DeviceStatus` (recorded only on change).
type HealthTx = mpsc::UnboundedSender<(String, String, String)>;

fn health_sink(handle: &Handle) -> HealthTx {
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, String, String)>();
    let handle = handle.clone();
    tokio::spawn(async move {
        while let Some((device, state, detail)) = rx.recv().await {
            let cmd = Command::ReportDevice {
                device: device.clone(),
                state,
                detail,
            };
            if let Err(e) = handle.execute(cmd).await {
                tracing::warn!(%device, ?e, "could not record device status");
            }
        }
    });
    tx
}

/// A report callback for the board devices: `ok` becomes state "ok", else "failed".
fn board_report(health: &HealthTx) -> impl Fn(String, bool, String) + Send + Sync + 'static {
    let health = health.clone();
    move |name, ok, detail| {
        let state = if ok { "ok" } else { "failed" };
        let _ = health.send((name, state.to_string(), detail));
    }
}

/// Start every configured device.
pub fn start(config: &Arc<Config>, handle: &Handle) -> Adapters {
    let health = health_sink(handle);
    let mut adapters = Adapters { reprint: None };

    if let Some(pc) = &config.printer {
        let (jobs_tx, jobs_rx) = mpsc::channel(64);
        let h = health.clone();
        let ph = printer::spawn(pc.clone(), jobs_rx, move |state, detail| {
            let _ = h.send(("printer".into(), state.as_str().to_string(), detail));
        });
        let desk = Arc::new(crate::web::printing::PrintDesk::new(jobs_tx));
        adapters.reprint = Some(desk.clone());
        tokio::spawn(feed_printer(config.clone(), handle.subscribe(), desk, ph));
    }

    let needs_current = !config.counter_displays.is_empty() || config.keypads.is_some();
    let (current_tx, current_rx) = watch::channel(current_tickets(handle));
    if needs_current {
        tokio::spawn(feed_current(handle.watch_view(), current_tx));
    }
    if let Some(bus) = &config.keypads {
        let sink = Arc::new(EngineSink {
            handle: handle.clone(),
            config: config.clone(),
        });
        let h = health.clone();
        let report = move |address: u16, ok: bool, detail: String| {
            let state = if ok { "ok" } else { "unreachable" };
            let _ = h.send((format!("keypad-{address}"), state.into(), detail));
        };
        let (bus, rx) = (bus.clone(), current_rx.clone());
        tokio::spawn(async move {
            if let Err(e) = keypad::run(bus, sink, rx, report).await {
                tracing::error!(%e, "keypad bus stopped");
            }
        });
    }
    if !config.counter_displays.is_empty() {
        let rx = current_rx;
        for d in &config.counter_displays {
            if let Err(e) =
                board::spawn_counter_display(d.clone(), rx.clone(), board_report(&health))
            {
                tracing::error!(display = d.label(), %e, "cannot start counter display thread");
            }
        }
    }

    if !config.led_boards.is_empty() {
        let (tx, _) = broadcast::channel(64);
        for b in &config.led_boards {
            ledboard::spawn(b.clone(), tx.subscribe(), board_report(&health));
        }
        tokio::spawn(feed_calls(handle.subscribe(), tx));
    }

    crate::voice::announcer::start(config, handle, &health);

    if !config.buttons.is_empty() {
        let (tx, rx) = mpsc::channel(32);
        buttons::spawn(&config.buttons, tx, board_report(&health));
        tokio::spawn(apply_buttons(handle.clone(), rx));
    }
    adapters
}

/// Each durable `TicketIssued` becomes a print job (through the desk, which remembers
/// whether it was queued, for the kiosk's answer and for reprints).
async fn feed_printer(
    config: Arc<Config>,
    mut events: broadcast::Receiver<Arc<crate::core::Entry>>,
    desk: Arc<crate::web::printing::PrintDesk>,
    // Kept alive for as long as the feed runs.
    _printer: printer::PrinterHandle,
) {
    loop {
        let entry = match events.recv().await {
            Ok(e) => e,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(
                    missed = n,
                    "printer fell behind the event stream; some tickets were not printed"
                );
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if !desk.feed(&config, &entry) {
            // The ticket stays valid: the kiosk shows the number and says it was not printed.
            if let Event::TicketIssued { ticket, .. } = &entry.event {
                tracing::warn!(%ticket, "print queue full; ticket {ticket} not printed");
            }
        }
    }
}

fn current_tickets(handle: &Handle) -> BTreeMap<u16, Option<String>> {
    handle
        .view()
        .counters
        .iter()
        .map(|c| (c.number, c.current.as_ref().map(|t| t.ticket.clone())))
        .collect()
}

/// Keep the counters' current tickets up to date for the counter displays.
async fn feed_current(
    mut view: watch::Receiver<Arc<crate::engine::View>>,
    out: watch::Sender<BTreeMap<u16, Option<String>>>,
) {
    while view.changed().await.is_ok() {
        let map: BTreeMap<u16, Option<String>> = view
            .borrow_and_update()
            .counters
            .iter()
            .map(|c| (c.number, c.current.as_ref().map(|t| t.ticket.clone())))
            .collect();
        out.send_if_modified(|old| {
            if *old == map {
                false
            } else {
                *old = map;
                true
            }
        });
    }
}

/// Every call and recall goes to the LED boards.
async fn feed_calls(
    mut events: broadcast::Receiver<Arc<crate::core::Entry>>,
    out: broadcast::Sender<ledboard::Call>,
) {
    loop {
        match events.recv().await {
            Ok(e) => {
                if let Event::TicketCalled {
                    ticket, counter, ..
                } = &e.event
                {
                    let _ = out.send(ledboard::Call {
                        counter: *counter,
                        ticket: ticket.clone(),
                    });
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Button presses become commands, exactly as the kiosk and counter pages would send.
async fn apply_buttons(handle: Handle, mut rx: mpsc::Receiver<ButtonAction>) {
    while let Some(action) = rx.recv().await {
        let cmd = match action {
            ButtonAction::Issue { service, priority } => Command::Issue {
                service,
                priority,
                source: "button".into(),
            },
            ButtonAction::Next { counter } => Command::Next { counter },
            ButtonAction::Recall { counter } => Command::Recall { counter },
            ButtonAction::Rate { counter, level } => {
                crate::devices::button_action::rate_command(counter, level)
            }
        };
        match handle.execute(cmd).await {
            Ok(_) => {}
            Err(ExecError::Rejected(r)) => {
                tracing::info!(code = r.code.as_str(), "{}", r.message_en)
            }
            Err(e) => tracing::warn!(?e, "button press not applied"),
        }
    }
}

/// The engine behind the counter keypads: a press is a counter command, the answer is
/// the counter's current ticket afterwards.
pub struct EngineSink {
    pub handle: Handle,
    pub config: Arc<Config>,
}

impl CounterSink for EngineSink {
    async fn press(&self, counter: u16, action: KeyAction) -> Result<Option<String>, String> {
        let command = match action {
            KeyAction::Next => Command::Next { counter },
            KeyAction::Recall => Command::Recall { counter },
            KeyAction::Skip => Command::Skip { counter },
            KeyAction::Complete => Command::Complete { counter },
            KeyAction::Pause => Command::Pause { counter },
            KeyAction::Open => Command::Open { counter },
            // One key, no picker: the core picks the counter's next other service.
            KeyAction::Transfer => Command::Transfer {
                counter,
                service: None,
            },
            KeyAction::Rate(_) => action
                .rating_command(counter)
                .ok_or_else(|| "not a rating key".to_string())?,
        };
        let rating = matches!(action, KeyAction::Rate(_));
        match self.handle.execute(command).await {
            // A rating leaves the counter as it was: keep showing its ticket.
            Ok(_) if rating => Ok(self
                .handle
                .view()
                .counters
                .iter()
                .find(|c| c.number == counter)
                .and_then(|c| c.current.as_ref())
                .map(|c| c.ticket.clone())),
            Ok(outcome) => Ok(outcome.current.map(|c| c.ticket)),
            Err(ExecError::Rejected(r)) => Err(r.message_en),
            Err(e) => Err(format!("{e:?}")),
        }
    }
}

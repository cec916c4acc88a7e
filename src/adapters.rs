//! Wiring of the device adapters to the engine: what each device is fed (events, the
//! counters' current tickets) and where its health and presses go (engine commands).
//! Every device is optional and independent; none of this can stop the engine.

use crate::config::Config;
use crate::core::{Command, Event};
use crate::devices::buttons::{self, ButtonAction};
use crate::devices::health::{DeviceHealth, DeviceKind, HealthState, HealthTx};
use crate::devices::keypad::{self, CounterSink, KeyAction};
use crate::devices::supervisor::Supervisor;
use crate::devices::{board, ledboard, printer};
use crate::engine::{ExecError, Handle};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

/// What the web side needs from the adapters, and the supervisor that owns their tasks.
pub(crate) struct Adapters {
    /// Print outcomes and reprints of recent tickets (None: no printer configured).
    pub reprint: Option<Arc<crate::web::printing::PrintDesk>>,
    /// Every adapter task, restarted when it ends or panics (see `devices::supervisor`).
    supervisor: Supervisor,
    /// The task that records device health; it ends once every adapter has stopped.
    health_sink: JoinHandle<()>,
}

impl Adapters {
    /// Stop every adapter (one cancellation signal) and wait for each to end.
    pub(crate) async fn shutdown(self) {
        self.supervisor.shutdown().await;
        // The last health senders went with the adapters; what they sent is recorded.
        if tokio::time::timeout(Duration::from_secs(2), self.health_sink)
            .await
            .is_err()
        {
            tracing::warn!("device health recording did not finish within 2 s");
        }
    }
}

fn health_sink(handle: &Handle) -> (HealthTx, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<DeviceHealth>();
    let handle = handle.clone();
    let task = tokio::spawn(async move {
        while let Some(h) = rx.recv().await {
            let device = h.device;
            // The stored event keeps its string fields (wire and telemetry format unchanged).
            let cmd = Command::ReportDevice {
                device: device.clone(),
                state: h.state.as_str().to_string(),
                detail: h.detail,
            };
            if let Err(e) = handle.execute(cmd).await {
                tracing::warn!(%device, ?e, "could not record device status");
            }
        }
    });
    (tx, task)
}

/// A report callback for the board devices of `kind`: `ok` becomes state "ok", else "failed".
fn board_report(
    health: &HealthTx,
    kind: DeviceKind,
) -> impl Fn(String, bool, String) + Send + Sync + 'static {
    let health = health.clone();
    move |name, ok, detail| {
        let state = if ok {
            HealthState::Ok
        } else {
            HealthState::Failed
        };
        let _ = health.send(DeviceHealth::new(name, kind, state, detail));
    }
}

/// Start every configured device, each under the supervisor.
pub(crate) fn start(config: &Arc<Config>, handle: &Handle) -> Adapters {
    let (health, health_task) = health_sink(handle);
    let mut sup = Supervisor::new(health.clone());
    let mut reprint = None;

    if let Some(pc) = &config.printer {
        let (jobs_tx, jobs_rx) = mpsc::channel(64);
        let desk = Arc::new(crate::web::printing::PrintDesk::new(jobs_tx));
        reprint = Some(desk.clone());
        let jobs = Arc::new(tokio::sync::Mutex::new(jobs_rx));
        let (pc, h) = (pc.clone(), health.clone());
        sup.supervise("printer", DeviceKind::Printer, move |_| {
            run_printer(pc.clone(), jobs.clone(), h.clone())
        });
        let (config, handle) = (config.clone(), handle.clone());
        sup.supervise("printer-feed", DeviceKind::Feed, move |_| {
            feed_printer(config.clone(), handle.subscribe(), desk.clone())
        });
    }

    let needs_current = !config.counter_displays.is_empty() || config.keypads.is_some();
    let (current_tx, current_rx) = watch::channel(current_tickets(handle));
    if needs_current {
        // Shared by every run of the feed; the displays end when it is dropped at shutdown.
        let out = Arc::new(current_tx);
        let handle = handle.clone();
        sup.supervise("current-feed", DeviceKind::Feed, move |_| {
            feed_current(handle.watch_view(), out.clone())
        });
    }
    if let Some(bus) = &config.keypads {
        let sink = Arc::new(EngineSink {
            handle: handle.clone(),
            config: config.clone(),
        });
        let h = health.clone();
        let report = Arc::new(move |address: u16, ok: bool, detail: String| {
            let state = if ok {
                HealthState::Ok
            } else {
                HealthState::Unreachable
            };
            let name = format!("keypad-{address}");
            let _ = h.send(DeviceHealth::new(name, DeviceKind::Keypad, state, detail));
        });
        let (bus, rx) = (bus.clone(), current_rx.clone());
        sup.supervise("keypad-bus", DeviceKind::Keypad, move |_| {
            let (bus, sink, rx, report) = (bus.clone(), sink.clone(), rx.clone(), report.clone());
            async move {
                let report = move |a: u16, ok: bool, d: String| report(a, ok, d);
                if let Err(e) = keypad::run(bus, sink, rx, report).await {
                    tracing::error!(%e, "keypad bus stopped");
                }
            }
        });
    }
    for d in &config.counter_displays {
        let (d, rx, h) = (d.clone(), current_rx.clone(), health.clone());
        sup.supervise_blocking(
            format!("display-{}", d.label()),
            DeviceKind::CounterDisplay,
            move || {
                board::counter_display_thread(
                    d.clone(),
                    rx.clone(),
                    board_report(&h, DeviceKind::CounterDisplay),
                )
            },
        );
    }

    if !config.led_boards.is_empty() {
        let (tx, _) = broadcast::channel(64);
        for b in &config.led_boards {
            let (b, tx, h) = (b.clone(), tx.clone(), health.clone());
            sup.supervise(
                format!("ledboard-{}", b.name.get_ref()),
                DeviceKind::LedBoard,
                move |_| {
                    let report = board::report_fn(board_report(&h, DeviceKind::LedBoard));
                    ledboard::run(b.clone(), tx.subscribe(), report, Default::default())
                },
            );
        }
        let handle = handle.clone();
        sup.supervise("ledboard-feed", DeviceKind::Feed, move |_| {
            feed_calls(handle.subscribe(), tx.clone())
        });
    }

    crate::voice::announcer::start(config, handle, &health, &mut sup);

    if !config.buttons.is_empty() {
        let (tx, rx) = mpsc::channel(32);
        for b in &config.buttons {
            let (b, tx, h) = (b.clone(), tx.clone(), health.clone());
            sup.supervise(
                format!("button-{}", b.display_name()),
                DeviceKind::Button,
                move |_| {
                    let report = board::report_fn(board_report(&h, DeviceKind::Button));
                    buttons::run_button(b.clone(), tx.clone(), report)
                },
            );
        }
        let handle = handle.clone();
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        sup.supervise("button-feed", DeviceKind::Feed, move |_| {
            apply_buttons(handle.clone(), rx.clone())
        });
    }
    Adapters {
        reprint,
        supervisor: sup,
        health_sink: health_task,
    }
}

/// One run of the printer adapter: jobs come from the desk's queue (kept across runs); a
/// panic of the adapter task ends the run with that panic, for the supervisor to report.
async fn run_printer(
    cfg: crate::devices::printer::PrinterConfig,
    jobs: Arc<tokio::sync::Mutex<mpsc::Receiver<crate::devices::printer::PrintJob>>>,
    health: HealthTx,
) {
    let (tx, rx) = mpsc::channel(64);
    let printer = printer::spawn(cfg, rx, move |state, detail| {
        let _ = health.send(DeviceHealth::new(
            "printer",
            DeviceKind::Printer,
            state.into(),
            detail,
        ));
    });
    let relay = async move {
        let mut jobs = jobs.lock().await;
        while let Some(job) = jobs.recv().await {
            if tx.send(job).await.is_err() {
                return;
            }
        }
    };
    let mut task = printer.task;
    tokio::select! {
        r = &mut task => {
            if let Err(e) = r {
                if e.is_panic() {
                    std::panic::resume_unwind(e.into_panic());
                }
            }
        }
        _ = relay => {
            // The desk is gone: let the printer finish its queue.
            let _ = task.await;
        }
    }
}

/// Each durable `TicketIssued` becomes a print job (through the desk, which remembers
/// whether it was queued, for the kiosk's answer and for reprints).
async fn feed_printer(
    config: Arc<Config>,
    mut events: broadcast::Receiver<Arc<crate::core::Entry>>,
    desk: Arc<crate::web::printing::PrintDesk>,
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
    out: Arc<watch::Sender<BTreeMap<u16, Option<String>>>>,
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
async fn apply_buttons(handle: Handle, rx: Arc<tokio::sync::Mutex<mpsc::Receiver<ButtonAction>>>) {
    let mut rx = rx.lock().await;
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

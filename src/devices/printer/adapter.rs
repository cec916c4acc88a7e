//! The printer adapter task: prints queued jobs, drops jobs past their deadline, polls
//! status between jobs, reports state changes and reconnects when the device comes back.
//! (Reprints are jobs like any other: `web::printing::PrintDesk` queues them.)

use super::config::{PrinterConfig, TransportKind};
use super::encoder::TicketEncoder;
use super::job::PrintJob;
use super::status::PrinterState;
use super::transport::{self, Link};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const MIN_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Shared {
    printed: AtomicU64,
    dropped: AtomicU64,
    state: Mutex<Option<(PrinterState, String)>>,
}

/// Handle on a running adapter: counters, current state, the task itself.
pub struct PrinterHandle {
    shared: Arc<Shared>,
    /// The adapter task; it ends when the job channel is closed and the queue is empty.
    pub task: JoinHandle<()>,
}

impl PrinterHandle {
    /// Tickets written to the printer so far.
    pub fn printed(&self) -> u64 {
        self.shared.printed.load(Ordering::Relaxed)
    }

    /// Jobs dropped because they could not be printed before their deadline.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

/// Start the adapter for `cfg`. Jobs arrive on `jobs`; every change of state is passed to
/// `report` with a detail line (the lead turns it into a `DeviceStatus` event). A job whose
/// `deadline_ms` is 0 gets `issued_at_ms + print_timeout_s`.
pub fn spawn(
    cfg: PrinterConfig,
    jobs: mpsc::Receiver<PrintJob>,
    report: impl Fn(PrinterState, String) + Send + Sync + 'static,
) -> PrinterHandle {
    let shared = Arc::new(Shared::default());
    let task = tokio::spawn(run(cfg, jobs, Box::new(report), shared.clone()));
    PrinterHandle { shared, task }
}

type Report = Box<dyn Fn(PrinterState, String) + Send + Sync>;

struct Reporter {
    current: Option<PrinterState>,
    report: Report,
    shared: Arc<Shared>,
}

impl Reporter {
    fn set(&mut self, state: PrinterState, detail: String) {
        if let Ok(mut s) = self.shared.state.lock() {
            *s = Some((state, detail.clone()));
        }
        if self.current != Some(state) {
            if state.can_print() {
                tracing::info!(state = %state, %detail, "printer state");
            } else {
                tracing::warn!(state = %state, %detail, "printer state");
            }
            self.current = Some(state);
            (self.report)(state, detail);
        }
    }

    fn can_print(&self) -> bool {
        self.current.is_some_and(PrinterState::can_print)
    }
}

fn write_limit(cfg: &PrinterConfig, len: usize) -> Duration {
    match cfg.transport() {
        TransportKind::Serial => {
            transport::wire_time(len, *cfg.baud.get_ref()) * 2 + Duration::from_secs(2)
        }
        _ => Duration::from_secs(10),
    }
}

fn drop_late(queue: &mut VecDeque<PrintJob>, now_ms: i64, shared: &Shared) {
    queue.retain(|job| {
        let keep = job.deadline_ms >= now_ms;
        if !keep {
            shared.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                ticket = %job.ticket,
                late_by_ms = now_ms - job.deadline_ms,
                "print job dropped: not printed before its deadline (the ticket stays valid)"
            );
        }
        keep
    });
}

async fn run(
    cfg: PrinterConfig,
    mut jobs: mpsc::Receiver<PrintJob>,
    report: Report,
    shared: Arc<Shared>,
) {
    let mut rep = Reporter {
        current: None,
        report,
        shared: shared.clone(),
    };
    let mut enc = match TicketEncoder::new(&cfg) {
        Ok(e) => e,
        Err(e) => {
            rep.set(PrinterState::Error, e);
            return;
        }
    };
    let status_on = cfg.status_enabled();
    let timeout_ms = cfg.deadline_for(0);
    let mut link: Option<Link> = None;
    let mut queue: VecDeque<PrintJob> = VecDeque::new();
    let mut next_connect = Instant::now();
    let mut backoff = crate::backoff::Backoff::new(MIN_BACKOFF, MAX_BACKOFF);
    let mut next_poll = Instant::now();
    let mut jobs_open = true;
    let far = Duration::from_secs(3600);

    loop {
        drop_late(&mut queue, crate::sys::wall_ms(), &shared);
        if !jobs_open && queue.is_empty() {
            break;
        }

        if link.is_none() && Instant::now() >= next_connect {
            match transport::connect(&cfg, CONNECT_TIMEOUT).await {
                Ok(l) => {
                    tracing::info!(target = %l.target, "printer connected");
                    link = Some(l);
                    next_poll = Instant::now();
                    if !status_on {
                        backoff.reset();
                        rep.set(PrinterState::Ok, "connected (status queries off)".into());
                    }
                }
                Err(e) => {
                    rep.set(PrinterState::Unreachable, e.to_string());
                    next_connect = Instant::now() + backoff.next_delay();
                }
            }
        }

        if status_on && Instant::now() >= next_poll {
            if let Some(l) = link.as_mut() {
                let result = l.poll_status(cfg.status_timeout()).await;
                let (state, detail) = match result {
                    Ok(r) => r.classify(),
                    Err(e) => (PrinterState::Unreachable, e.to_string()),
                };
                if state == PrinterState::Unreachable {
                    // Reopen: a USB-serial adapter or TCP printer that came back is a new device.
                    link = None;
                    next_connect = Instant::now() + backoff.next_delay();
                } else {
                    backoff.reset();
                }
                rep.set(state, detail);
                next_poll = Instant::now() + cfg.poll_interval();
            }
        }

        if let Some(l) = link.as_mut() {
            if rep.can_print() {
                if let Some(job) = queue.pop_front() {
                    let bytes = enc.encode(&job);
                    match l.send(&bytes, write_limit(&cfg, bytes.len())).await {
                        Ok(()) => {
                            shared.printed.fetch_add(1, Ordering::Relaxed);
                            tracing::info!(ticket = %job.ticket, bytes = bytes.len(), "ticket printed");
                            // Poll again before the next job (catches paper out mid-roll).
                            next_poll = Instant::now();
                        }
                        Err(e) => {
                            rep.set(PrinterState::Unreachable, e.to_string());
                            link = None;
                            next_connect = Instant::now();
                            queue.push_front(job);
                        }
                    }
                    continue;
                }
            }
        }

        let now = Instant::now();
        let mut wake = now + far;
        if link.is_some() && status_on {
            wake = wake.min(next_poll);
        }
        if link.is_none() {
            wake = wake.min(next_connect);
        }
        if let Some(d) = queue.iter().map(|j| j.deadline_ms).min() {
            let ms = (d - crate::sys::wall_ms()).max(0) as u64 + 1;
            wake = wake.min(now + Duration::from_millis(ms));
        }
        tokio::select! {
            j = jobs.recv(), if jobs_open => match j {
                Some(mut job) => {
                    if job.deadline_ms == 0 {
                        job.deadline_ms = job.issued_at_ms.saturating_add(timeout_ms);
                    }
                    queue.push_back(job);
                    next_poll = Instant::now();
                }
                None => jobs_open = false,
            },
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
    tracing::info!("printer adapter stopped: job channel closed");
}

//! The engine: the single writer. One thread owns the core state and the log; commands
//! arrive on a channel with a reply, are decided, appended and applied; a flusher thread
//! makes each batch durable with one flush (group commit, overlapping the next batch),
//! then answers and broadcasts. Nothing is answered or broadcast before it is durable.

use crate::config::Config;
use crate::core::state::{Current, State};
use crate::core::{apply, decide, Command, Entry, Now, Rejection};
use crate::log::{EventLog, LogCursor, LogReader, OpenReport};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, oneshot, watch};

mod store;
mod view;
pub use store::StoreView;
use view::empty_view;
pub use view::{CallView, CounterView, CurrentView, DeviceView, ServiceView, View};

/// Reads the wall clock and whether the kernel calls it synchronized.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Now;
}

/// The system clock; synchronization from the kernel's NTP status (adjtimex).
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Now {
        Now {
            wall_ms: crate::sys::wall_ms(),
            clock_ok: crate::sys::clock_synchronized(),
        }
    }
}

/// Why a command produced no events.
#[derive(Debug, Clone)]
pub enum ExecError {
    /// The queue rules refused it.
    Rejected(Rejection),
    /// The store failed; nothing was acknowledged.
    Store(String),
    /// The engine is overloaded or stopping; try again.
    Busy,
}

/// What a command did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub entries: Vec<Entry>,
    /// For a counter command: the counter's current ticket afterwards.
    pub current: Option<Current>,
}

enum Msg {
    Exec(Command, oneshot::Sender<Result<Outcome, ExecError>>),
    Stop(oneshot::Sender<()>),
}

/// How adapters and the web talk to the engine. Cheap to clone.
#[derive(Clone)]
pub struct Handle {
    tx: SyncSender<Msg>,
    events: broadcast::Sender<Arc<Entry>>,
    view: watch::Receiver<Arc<View>>,
    reader: LogReader,
    cursor: LogCursor,
}

impl Handle {
    /// Run a command; resolves once its events are durable (or it was refused).
    pub async fn execute(&self, command: Command) -> Result<Outcome, ExecError> {
        let (tx, rx) = oneshot::channel();
        match self.tx.try_send(Msg::Exec(command, tx)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                return Err(ExecError::Busy)
            }
        }
        rx.await.unwrap_or(Err(ExecError::Busy))
    }

    /// New entries as they become durable.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Entry>> {
        self.events.subscribe()
    }

    /// The current state summary.
    pub fn view(&self) -> Arc<View> {
        self.view.borrow().clone()
    }

    pub fn watch_view(&self) -> watch::Receiver<Arc<View>> {
        self.view.clone()
    }

    pub fn reader(&self) -> &LogReader {
        &self.reader
    }

    /// The uplink's write handle: the published cursor and pruning.
    pub(crate) fn cursor(&self) -> &LogCursor {
        &self.cursor
    }

    /// Stop the engine: mark a clean shutdown and flush.
    pub async fn stop(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Stop(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

/// Engine settings that are not in the site configuration.
pub struct Options {
    pub clock: Box<dyn Clock>,
    /// Ping the systemd watchdog this often from the engine loop (None: systemd did not ask).
    pub watchdog: Option<Duration>,
    /// Test-only fault hook: stall the engine loop after this long.
    pub stall_after: Option<Duration>,
    pub quota_bytes: Option<u64>,
}

impl Options {
    /// The system clock; no watchdog, stall hook or disk quota (tests, benchmarks, tools).
    pub fn on_system_clock() -> Options {
        Options {
            clock: Box::new(SystemClock),
            watchdog: None,
            stall_after: None,
            quota_bytes: None,
        }
    }
}

struct Engine {
    state: State,
    log: EventLog,
    reader: LogReader,
    config: Arc<Config>,
    options: Options,
    alarms: Alarms,
    to_flusher: mpsc::Sender<FlushJob>,
    store: store::SharedHealth,
    /// Acknowledged entries back from the flusher, folded into `durable_state`.
    durable_rx: mpsc::Receiver<Vec<Entry>>,
    durable_state: State,
    /// The state was rolled back to `durable_state` after the current failure.
    rolled_back: bool,
    last_probe: Instant,
}

/// Alarms shown in the state; the flusher adds store failures.
type Alarms = Arc<Mutex<Vec<String>>>;

type Reply = oneshot::Sender<Result<Outcome, ExecError>>;

/// A batch waiting to become durable, and the view to publish once it is.
enum FlushJob {
    Batch {
        pending: Vec<(Reply, Outcome)>,
        view: Arc<View>,
        /// The store epoch the batch was written in (see `store::Health`).
        epoch: u64,
    },
    Stop(oneshot::Sender<()>),
    /// Answered once every job queued before it is settled.
    Barrier(oneshot::Sender<()>),
}

const QUEUE: usize = 4096;
const MAX_BATCH: usize = 512;

/// Start the engine thread over an opened log. Records the outage and recovery the
/// store open reported before accepting commands.
pub fn start(
    config: Arc<Config>,
    log: EventLog,
    report: OpenReport,
    options: Options,
) -> std::io::Result<Handle> {
    let state = store::fold(&State::new(Arc::new(config.site())), &report);
    let mut alarms = report.alarms.clone();
    if let Some((path, why)) = &report.quarantined {
        alarms.push(format!(
            "the store would not open ({why}); it was moved to {} and a new one started",
            path.display()
        ));
    }
    let recovery = store::recovery_record(&report);
    if let Some((_, Some(alarm))) = &recovery {
        alarms.push(alarm.clone());
    }
    let reader = log.reader();
    let cursor = log.cursor();
    let (events, _) = broadcast::channel(4096);
    let (view_tx, view_rx) = watch::channel(Arc::new(empty_view()));
    let alarms: Alarms = Arc::new(Mutex::new(alarms));
    let (to_flusher, flusher_rx) = mpsc::channel();
    let flusher = log.flusher();
    let health = store::new_health();
    let (durable_tx, durable_rx) = mpsc::channel();
    let mut engine = Engine {
        durable_state: state.clone(),
        store: health.clone(),
        durable_rx,
        rolled_back: false,
        last_probe: Instant::now(),
        state,
        log,
        reader: reader.clone(),
        config,
        options,
        alarms: alarms.clone(),
        to_flusher,
    };
    let mut startup = Vec::new();
    if let Some((cmd, _)) = recovery {
        startup.push(cmd);
    }
    if let Some((down_from, down_to)) = report.power_restored {
        startup.push(Command::PowerRestored { down_from, down_to });
    }
    for c in startup {
        if let Err(e) = engine.exec(&c).and_then(|_| engine.flush()) {
            tracing::error!(?e, "could not record a start-up event");
        }
    }
    engine.durable_state = engine.state.clone();
    let _ = view_tx.send(Arc::new(engine.view()));
    let (tx, rx) = mpsc::sync_channel(QUEUE);
    let flusher_events = events.clone();
    std::thread::Builder::new()
        .name("layso-flusher".into())
        .spawn(move || {
            let clock = Arc::new(crate::sys::wall_ms);
            store::run_flusher(
                flusher,
                flusher_rx,
                flusher_events,
                view_tx,
                alarms,
                health,
                durable_tx,
                clock,
            )
        })?;
    std::thread::Builder::new()
        .name("layso-engine".into())
        .spawn(move || engine.run(rx))?;
    Ok(Handle {
        tx,
        events,
        view: view_rx,
        reader,
        cursor,
    })
}

impl Engine {
    fn run(mut self, rx: mpsc::Receiver<Msg>) {
        let started = Instant::now();
        let tick = self.options.watchdog.map_or(Duration::from_secs(1), |w| {
            (w / 2).min(Duration::from_secs(1))
        });
        let mut last_alive = Instant::now();
        let mut last_ping = Instant::now() - Duration::from_secs(3600);
        let mut last_quota = Instant::now() - Duration::from_secs(3600);
        loop {
            if let Some(after) = self.options.stall_after {
                if started.elapsed() >= after {
                    tracing::warn!("test fault hook: engine stalled on purpose");
                    std::thread::sleep(Duration::from_secs(3600));
                    return;
                }
            }
            let mut msgs = Vec::new();
            match rx.recv_timeout(tick) {
                Ok(m) => msgs.push(m),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            while msgs.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(m) => msgs.push(m),
                    Err(_) => break,
                }
            }
            let mut pending = Vec::new();
            let mut stop = None;
            for m in msgs {
                match m {
                    Msg::Exec(cmd, reply) => match self.exec(&cmd) {
                        Ok(out) if out.entries.is_empty() => {
                            let _ = reply.send(Ok(out));
                        }
                        Ok(out) => pending.push((reply, out)),
                        Err(e) => {
                            let _ = reply.send(Err(e));
                        }
                    },
                    Msg::Stop(ack) => stop = Some(ack),
                }
            }
            if !pending.is_empty() {
                // Group commit: write the batch to sled and the journal here; the
                // flusher makes it durable with one flush of each, then answers
                // everyone, while this thread takes the next batch.
                let written = match store::epoch_if_writable(&self.store) {
                    None => Err(self.refusal()),
                    Some(_) => self
                        .log
                        .write()
                        .map_err(|e| self.store_failed(e.to_string())),
                };
                match written {
                    Ok(()) => self.send_to_flusher(pending),
                    Err(err) => {
                        for (reply, _) in pending {
                            let _ = reply.send(Err(err.clone()));
                        }
                    }
                }
            }
            self.keep_durable_state();
            let now = self.options.clock.now().wall_ms;
            if last_alive.elapsed() >= Duration::from_secs(10) {
                last_alive = Instant::now();
                if let Err(e) = self.log.touch_alive(now) {
                    tracing::error!(%e, "cannot record last-alive time");
                }
            }
            if last_quota.elapsed() >= Duration::from_secs(60) {
                last_quota = Instant::now();
                self.check_quota();
            }
            if let Some(wd) = self.options.watchdog {
                if last_ping.elapsed() >= wd {
                    last_ping = Instant::now();
                    crate::sys::notify_watchdog();
                }
            }
            if let Some(ack) = stop {
                // Let the flusher answer everything in flight, then mark a clean stop.
                let (done_tx, done_rx) = oneshot::channel();
                if self.to_flusher.send(FlushJob::Stop(done_tx)).is_ok() {
                    let _ = done_rx.blocking_recv();
                }
                if let Err(e) = self.log.close_clean(now) {
                    tracing::error!(%e, "could not mark a clean shutdown");
                }
                let _ = ack.send(());
                return;
            }
        }
    }

    fn exec(&mut self, cmd: &Command) -> Result<Outcome, ExecError> {
        let now = self.options.clock.now();
        let d = decide(&self.state, cmd, now).map_err(ExecError::Rejected)?;
        let entries = d.entries(self.log.next_seq());
        if entries.is_empty() {
            return Ok(Outcome::default());
        }
        if store::epoch_if_writable(&self.store).is_none() {
            return Err(self.refusal());
        }
        self.log
            .append(&entries)
            .map_err(|e| self.store_failed(e.to_string()))?;
        for e in &entries {
            apply(&mut self.state, e);
        }
        let mut out = Outcome {
            current: None,
            entries,
        };
        if let Some(n) = counter_of(cmd) {
            out.current = self.state.counter_state(n).and_then(|c| c.current.clone());
        }
        Ok(out)
    }

    fn flush(&mut self) -> Result<(), ExecError> {
        self.log
            .flush()
            .map_err(|e| self.store_failed(e.to_string()))
    }

    fn store_failed(&mut self, why: String) -> ExecError {
        let now = self.options.clock.now().wall_ms;
        store::mark_failed(&self.store, &self.alarms, &why, now);
        ExecError::Store(why)
    }

    fn send_to_flusher(&self, pending: Vec<(Reply, Outcome)>) {
        let epoch = self.store.lock().map(|h| h.epoch).unwrap_or(0);
        let job = FlushJob::Batch {
            pending,
            view: Arc::new(self.view()),
            epoch,
        };
        if let Err(mpsc::SendError(FlushJob::Batch { pending, .. })) = self.to_flusher.send(job) {
            for (reply, _) in pending {
                let _ = reply.send(Err(ExecError::Busy));
            }
        }
    }

    fn check_quota(&mut self) {
        let Some(quota) = self.options.quota_bytes else {
            return;
        };
        let used = self.reader.size_on_disk();
        let prefix = "disk quota reached";
        if let Ok(mut alarms) = self.alarms.lock() {
            alarms.retain(|a| !a.starts_with(prefix));
            if used >= quota {
                // Citizens first: tickets are still issued; the status carries the alarm.
                alarms.push(format!(
                    "{prefix}: the store uses {} MB of {} MB",
                    used / 1_048_576,
                    quota / 1_048_576
                ));
            }
        }
        self.send_to_flusher(Vec::new());
    }
}

fn counter_of(cmd: &Command) -> Option<u16> {
    match cmd {
        Command::Next { counter }
        | Command::Recall { counter }
        | Command::Skip { counter }
        | Command::Complete { counter }
        | Command::Transfer { counter, .. }
        | Command::Open { counter }
        | Command::Pause { counter }
        | Command::Close { counter } => Some(*counter),
        _ => None,
    }
}

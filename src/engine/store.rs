//! The engine's store-failure path: the store's health (writable, cause, since), the
//! flusher thread (group commit: one flush of both copies per batch, then answers), the
//! durable state (the state folded from acknowledged entries only, so a refused batch
//! leaves no trace), and the start-up record of a damaged store.

use super::{Alarms, Engine, ExecError, FlushJob, View};
use crate::core::{apply, Command, Entry, State, StoreLoss};
use crate::log::{Flusher, OpenReport};
use serde::Serialize;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio::sync::{broadcast, watch};

/// The store as the view shows it.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct StoreView {
    /// False while writes fail (disk full, read-only, I/O error): no ticket is issued.
    pub writable: bool,
    /// The operating system's cause of the last failure, while not writable.
    pub error: Option<String>,
    /// When writes started failing (ms since the epoch).
    pub since: Option<i64>,
}

/// Shared between the engine and the flusher.
#[derive(Debug, Default)]
pub(super) struct Health {
    pub view: StoreView,
    /// Bumped at every successful reopen; batches of an older epoch are refused.
    pub epoch: u64,
}

pub(crate) type SharedHealth = Arc<Mutex<Health>>;

pub(crate) const ALARM_PREFIX: &str = "store write failed";

pub(crate) fn new_health() -> SharedHealth {
    Arc::new(Mutex::new(Health {
        view: StoreView {
            writable: true,
            error: None,
            since: None,
        },
        epoch: 0,
    }))
}

/// Record a failure: not writable, with its cause; one human alarm.
pub(crate) fn mark_failed(health: &SharedHealth, alarms: &Alarms, why: &str, now_ms: i64) {
    tracing::error!(%why, "store write failed; refusing commands until it writes again");
    if let Ok(mut h) = health.lock() {
        if h.view.writable {
            h.view.since = Some(now_ms);
        }
        h.view.writable = false;
        h.view.error = Some(why.to_string());
    }
    if let Ok(mut a) = alarms.lock() {
        a.retain(|x| !x.starts_with(ALARM_PREFIX));
        a.push(format!(
            "{ALARM_PREFIX}: {why}. Tickets cannot be issued until the store writes again (Tạm thời không thể cấp số)"
        ));
    }
}

pub(crate) fn mark_writable(health: &SharedHealth, alarms: &Alarms) {
    if let Ok(mut h) = health.lock() {
        h.view = StoreView {
            writable: true,
            error: None,
            since: None,
        };
        h.epoch += 1;
    }
    if let Ok(mut a) = alarms.lock() {
        a.retain(|x| !x.starts_with(ALARM_PREFIX));
    }
}

pub(crate) fn store_view(health: &SharedHealth) -> StoreView {
    health.lock().map(|h| h.view.clone()).unwrap_or_default()
}

pub(crate) fn epoch_if_writable(health: &SharedHealth) -> Option<u64> {
    health
        .lock()
        .ok()
        .filter(|h| h.view.writable)
        .map(|h| h.epoch)
}

/// The flusher thread: one flush for every batch queued since the last one, then the
/// answers, the broadcast and the view, in order. Acknowledged entries go back to the
/// engine (`durable_tx`) to fold the durable state. After a failed flush, and for batches
/// made before the last reopen, everything is refused.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_flusher(
    flusher: Flusher,
    rx: mpsc::Receiver<FlushJob>,
    events: broadcast::Sender<Arc<Entry>>,
    view: watch::Sender<Arc<View>>,
    alarms: Alarms,
    health: SharedHealth,
    durable_tx: mpsc::Sender<Vec<Entry>>,
    clock: Arc<dyn Fn() -> i64 + Send + Sync>,
) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while let Ok(j) = rx.try_recv() {
            jobs.push(j);
        }
        let epoch = epoch_if_writable(&health);
        let upto = jobs
            .iter()
            .filter_map(|j| match j {
                FlushJob::Batch {
                    pending, epoch: e, ..
                } if Some(*e) == epoch => pending
                    .iter()
                    .flat_map(|(_, o)| o.entries.last().map(|e| e.seq))
                    .max(),
                _ => None,
            })
            .max();
        let flushed: Result<(), String> = match (epoch, upto) {
            (None, _) => Err(store_view(&health)
                .error
                .unwrap_or_else(|| "the store is not writable".into())),
            (Some(_), Some(upto)) => flusher.flush(upto).map_err(|e| {
                let why = e.to_string();
                mark_failed(&health, &alarms, &why, clock());
                why
            }),
            (Some(_), None) => Ok(()),
        };
        let mut latest_view = None;
        let mut stop = None;
        let mut barriers = Vec::new();
        // Events and answers wait until the view shows their batch: whoever reads the state
        // after an event or a reply sees that write.
        let mut answers = Vec::new();
        for job in jobs {
            match job {
                FlushJob::Batch {
                    pending,
                    view: v,
                    epoch: e,
                } => {
                    let this = if Some(e) == epoch {
                        flushed.clone()
                    } else {
                        Err("the store was reopened; this batch was not stored".into())
                    };
                    if this.is_ok() && !pending.is_empty() {
                        let entries: Vec<Entry> = pending
                            .iter()
                            .flat_map(|(_, o)| o.entries.iter().cloned())
                            .collect();
                        let _ = durable_tx.send(entries);
                    }
                    for (reply, out) in pending {
                        answers.push((reply, this.clone().map(|()| out)));
                    }
                    latest_view = Some(v);
                }
                FlushJob::Stop(ack) => stop = Some(ack),
                FlushJob::Barrier(ack) => barriers.push(ack),
            }
        }
        if let Some(mut v) = latest_view {
            let sv = store_view(&health);
            if flushed.is_err() || v.store != sv {
                let mut fixed = (*v).clone();
                fixed.alarms = alarms.lock().map(|a| a.clone()).unwrap_or_default();
                fixed.store = sv;
                v = Arc::new(fixed);
            }
            let _ = view.send(v);
        }
        for (reply, answer) in answers {
            if let Ok(out) = &answer {
                for e in &out.entries {
                    let _ = events.send(Arc::new(e.clone()));
                }
            }
            let _ = reply.send(answer.map_err(ExecError::Store));
        }
        for ack in barriers {
            let _ = ack.send(());
        }
        if let Some(ack) = stop {
            let _ = ack.send(());
            return;
        }
    }
}

/// The state folded from a replay (and the numbering floors of a damaged store).
pub(crate) fn fold(like: &State, report: &OpenReport) -> State {
    let mut state = State::new(like.site().clone());
    for e in &report.replay {
        apply(&mut state, e);
    }
    if let Some(r) = &report.recovery {
        state.raise_floors(r.floors.last_at, r.floors.day);
    }
    state
}

/// The `StoreRecovered` command to record for what the open found, and its alarm (none
/// when only a crash's unflushed tail was restored).
pub(crate) fn recovery_record(report: &OpenReport) -> Option<(Command, Option<String>)> {
    let r = report.recovery.as_ref()?;
    let kept = r
        .kept_aside
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let lost = match &r.lost {
        Some(l) => format!(
            "LOST: seq {} to at most {}; numbers {:?}",
            l.from_seq, l.to_seq, l.numbers
        ),
        None => "nothing acknowledged was lost".into(),
    };
    let alarm = format!(
        "the store was damaged ({}); {} entries restored from the other copy; {lost}{}",
        r.cause,
        r.recovered,
        if kept.is_empty() {
            String::new()
        } else {
            format!("; damaged files moved to {kept}")
        }
    );
    let cmd = Command::StoreRecovered {
        quarantined: kept,
        day: r.floors.day.map_or(i32::MIN, |d| d.0),
        next_numbers: if r.lost.is_some() {
            r.floors.numbers.clone()
        } else {
            Default::default()
        },
        loss: StoreLoss {
            cause: r.cause.clone(),
            recovered: r.recovered,
            lost_seq: r.lost.as_ref().map(|l| (l.from_seq, l.to_seq)),
            lost_numbers: r
                .lost
                .as_ref()
                .map(|l| l.numbers.clone())
                .unwrap_or_default(),
        },
    };
    Some((cmd, r.damaged.then_some(alarm)))
}

impl Engine {
    /// The answer while the store cannot write.
    pub(super) fn refusal(&self) -> ExecError {
        ExecError::Store(
            store_view(&self.store)
                .error
                .unwrap_or_else(|| "the store is not writable".into()),
        )
    }

    /// Fold acknowledged entries into the durable state; while the store cannot write,
    /// roll the state back to it once and probe the store every second: a successful
    /// reopen refolds the state from disk and service resumes.
    pub(super) fn keep_durable_state(&mut self) {
        self.drain_durable();
        if epoch_if_writable(&self.store).is_some() {
            if self.last_probe.elapsed() >= Duration::from_secs(1) {
                self.last_probe = Instant::now();
                if let Err(e) = self.log.mark_acked() {
                    self.store_failed(e.to_string());
                }
            }
            return;
        }
        if !self.rolled_back {
            // Let the flusher settle what it holds (it refuses from now on), then fold
            // in everything it acknowledged.
            self.flusher_barrier();
            self.drain_durable();
            self.state = self.durable_state.clone();
            self.rolled_back = true;
            self.send_to_flusher(Vec::new());
        }
        if self.last_probe.elapsed() < Duration::from_secs(1) {
            return;
        }
        self.last_probe = Instant::now();
        let now = self.options.clock.now().wall_ms;
        self.flusher_barrier();
        self.drain_durable();
        match self.log.reopen(now) {
            Ok(report) => {
                self.state = fold(&self.state, &report);
                self.durable_state = self.state.clone();
                self.rolled_back = false;
                mark_writable(&self.store, &self.alarms);
                tracing::warn!(
                    next_seq = self.log.next_seq(),
                    "store writes again; service resumed"
                );
                if let Some((cmd, alarm)) = recovery_record(&report) {
                    if let (Ok(mut a), Some(alarm)) = (self.alarms.lock(), alarm) {
                        a.push(alarm);
                    }
                    if let Err(e) = self.exec(&cmd).and_then(|_| self.flush()) {
                        tracing::error!(?e, "could not record the store recovery");
                    }
                    self.durable_state = self.state.clone();
                }
                self.send_to_flusher(Vec::new());
            }
            Err(e) => tracing::warn!(%e, "store still cannot be reopened; retrying in 1 s"),
        }
    }

    fn drain_durable(&mut self) {
        while let Ok(entries) = self.durable_rx.try_recv() {
            for e in &entries {
                apply(&mut self.durable_state, e);
            }
        }
    }

    fn flusher_barrier(&self) {
        let (tx, rx) = oneshot::channel();
        if self.to_flusher.send(FlushJob::Barrier(tx)).is_ok() {
            let _ = rx.blocking_recv();
        }
    }
}

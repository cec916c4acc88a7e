//! Supervision of the device adapters: each adapter task (or blocking thread) is restarted
//! with backoff when it ends or panics, and every restart is reported as a device status entry;
//! one cancellation token stops them all, and shutdown waits for every one of them.

use crate::backoff::Backoff;
use std::any::Any;
use std::future::Future;
use std::time::Duration;
use tokio::task::{JoinError, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use super::health::HealthTx;
use super::health::{DeviceHealth, DeviceKind, HealthState};

/// A run that lasted this long was healthy: the next restart waits the shortest delay again.
const STABLE_RUN: Duration = Duration::from_secs(60);
/// How long a blocking adapter gets to notice shutdown before it is left behind.
const BLOCKING_GRACE: Duration = Duration::from_secs(3);

/// Owns every adapter task; see the module documentation.
pub struct Supervisor {
    cancel: CancellationToken,
    tasks: JoinSet<()>,
    health: HealthTx,
    initial: Duration,
    max: Duration,
}

impl Supervisor {
    /// Restarts wait 1 s, doubling up to 60 s.
    pub fn new(health: HealthTx) -> Self {
        Self::with_backoff(health, Duration::from_secs(1), Duration::from_secs(60))
    }

    /// A supervisor whose restarts wait `initial`, doubling up to `max`.
    pub fn with_backoff(health: HealthTx, initial: Duration, max: Duration) -> Self {
        Supervisor {
            cancel: CancellationToken::new(),
            tasks: JoinSet::new(),
            health,
            initial,
            max,
        }
    }

    /// Run the future made by `make` as `device`'s adapter; when it ends or panics before
    /// shutdown, report it and make a new one after the backoff. At shutdown the running
    /// future is dropped (async adapters hold nothing that needs more than a drop).
    pub fn supervise<F, Fut>(&mut self, device: impl Into<String>, kind: DeviceKind, mut make: F)
    where
        F: FnMut(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut restarts = self.restarts(device.into(), kind);
        let cancel = self.cancel.clone();
        // The first run is made now, so whatever it subscribes to misses nothing.
        let mut first = Some(make(cancel.clone()));
        self.tasks.spawn(async move {
            loop {
                let started = Instant::now();
                let fut = match first.take() {
                    Some(f) => f,
                    None => make(cancel.clone()),
                };
                let mut run = tokio::spawn(fut);
                let outcome = tokio::select! {
                    r = &mut run => r,
                    _ = cancel.cancelled() => {
                        run.abort();
                        let _ = run.await;
                        return;
                    }
                };
                if !restarts.after(outcome, started).await {
                    return;
                }
            }
        });
    }

    /// Like [`Supervisor::supervise`] for an adapter that blocks (bus calls off the runtime):
    /// `make` gives the body of a blocking thread. It must end by itself at shutdown (its
    /// feed closes); shutdown waits up to 3 s for it.
    pub fn supervise_blocking<F, B>(
        &mut self,
        device: impl Into<String>,
        kind: DeviceKind,
        mut make: F,
    ) where
        F: FnMut() -> B + Send + 'static,
        B: FnOnce() + Send + 'static,
    {
        let mut restarts = self.restarts(device.into(), kind);
        let cancel = self.cancel.clone();
        self.tasks.spawn(async move {
            loop {
                let started = Instant::now();
                let mut run = tokio::task::spawn_blocking(make());
                let outcome = tokio::select! {
                    r = &mut run => r,
                    _ = cancel.cancelled() => {
                        if tokio::time::timeout(BLOCKING_GRACE, run).await.is_err() {
                            let device = &restarts.device;
                            tracing::warn!(%device, "device thread did not stop within 3 s");
                        }
                        return;
                    }
                };
                if !restarts.after(outcome, started).await {
                    return;
                }
            }
        });
    }

    fn restarts(&self, device: String, kind: DeviceKind) -> Restarts {
        Restarts {
            device,
            kind,
            backoff: Backoff::new(self.initial, self.max),
            cancel: self.cancel.clone(),
            health: self.health.clone(),
        }
    }

    /// Signal shutdown to every adapter and wait until all of them have ended.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        while let Some(r) = self.tasks.join_next().await {
            if let Err(e) = r {
                tracing::error!(%e, "a device supervisor failed");
            }
        }
    }
}

/// One supervised adapter's restarts: its name and kind, its backoff, the shutdown signal
/// and where its restarts are reported.
struct Restarts {
    device: String,
    kind: DeviceKind,
    backoff: Backoff,
    cancel: CancellationToken,
    health: HealthTx,
}

impl Restarts {
    /// After an adapter run ended: report why, wait the backoff; false if shutdown came first.
    async fn after(&mut self, outcome: Result<(), JoinError>, started: Instant) -> bool {
        let Restarts {
            device,
            kind,
            backoff,
            cancel,
            health,
        } = self;
        if cancel.is_cancelled() {
            return false;
        }
        let why = match outcome {
            Ok(()) => "it stopped".to_string(),
            Err(e) if e.is_panic() => format!("a panic: {}", panic_message(e.into_panic())),
            Err(e) => format!("it was cancelled: {e}"),
        };
        if started.elapsed() >= STABLE_RUN {
            backoff.reset();
        }
        let delay = backoff.next_delay();
        tracing::error!(%device, retry_in = ?delay, "device adapter ended after {why}; restarting");
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = cancel.cancelled() => return false,
        }
        let _ = health.send(DeviceHealth::new(
            device.clone(),
            *kind,
            HealthState::Error,
            format!("restarted after {why}"),
        ));
        true
    }
}

/// The text of a panic payload (`panic!("...")` gives a `&str` or a `String`).
fn panic_message(payload: Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::sync::mpsc;

    fn quick(health: HealthTx) -> Supervisor {
        Supervisor::with_backoff(health, Duration::from_millis(10), Duration::from_millis(40))
    }

    async fn next_status(
        rx: &mut mpsc::UnboundedReceiver<DeviceHealth>,
    ) -> (String, String, String) {
        let h = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("a status entry within 5 s")
            .expect("the health channel is open");
        assert_eq!(h.kind, DeviceKind::Feed);
        (h.device, h.state.as_str().to_string(), h.detail)
    }

    #[tokio::test]
    async fn a_panicking_adapter_comes_back_and_its_restart_is_reported() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut sup = quick(tx);
        let runs = Arc::new(AtomicUsize::new(0));
        let (up_tx, mut up_rx) = mpsc::unbounded_channel::<usize>();
        let r = runs.clone();
        sup.supervise("test-adapter", DeviceKind::Feed, move |cancel| {
            let n = r.fetch_add(1, Ordering::SeqCst) + 1;
            let up = up_tx.clone();
            async move {
                let _ = up.send(n);
                if n == 1 {
                    panic!("fault hook: first run panics");
                }
                cancel.cancelled().await;
            }
        });
        let (device, state, detail) = next_status(&mut rx).await;
        assert_eq!(device, "test-adapter");
        assert_eq!(state, "error");
        assert_eq!(
            detail,
            "restarted after a panic: fault hook: first run panics"
        );
        let mut seen = Vec::new();
        while seen.len() < 2 {
            let n = tokio::time::timeout(Duration::from_secs(5), up_rx.recv())
                .await
                .expect("the adapter runs again within 5 s");
            seen.push(n.expect("the adapter reports each run"));
        }
        assert_eq!(seen, [1, 2]);
        tokio::time::timeout(Duration::from_secs(5), sup.shutdown())
            .await
            .expect("shutdown ends every adapter");
        assert_eq!(runs.load(Ordering::SeqCst), 2, "no restart after shutdown");
    }

    #[tokio::test]
    async fn an_adapter_that_ends_is_restarted_with_growing_delays() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut sup = quick(tx);
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        sup.supervise("quitter", DeviceKind::Feed, move |_| {
            r.fetch_add(1, Ordering::SeqCst);
            async {}
        });
        for _ in 0..3 {
            let (device, state, detail) = next_status(&mut rx).await;
            assert_eq!(
                (device.as_str(), state.as_str(), detail.as_str()),
                ("quitter", "error", "restarted after it stopped")
            );
        }
        sup.shutdown().await;
        assert!(runs.load(Ordering::SeqCst) >= 3);
    }

    #[tokio::test]
    async fn a_panicking_blocking_adapter_comes_back_and_shutdown_waits_for_it() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut sup = quick(tx);
        let runs = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (r, s) = (runs.clone(), stop.clone());
        sup.supervise_blocking("test-thread", DeviceKind::Feed, move || {
            let n = r.fetch_add(1, Ordering::SeqCst) + 1;
            let s = s.clone();
            move || {
                if n == 1 {
                    panic!("thread fault {n}");
                }
                // Bounded: at most 10 s, normally until the test says stop.
                for _ in 0..1000 {
                    if s.load(Ordering::SeqCst) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        });
        let (device, state, detail) = next_status(&mut rx).await;
        assert_eq!(
            (device.as_str(), state.as_str(), detail.as_str()),
            (
                "test-thread",
                "error",
                "restarted after a panic: thread fault 1"
            )
        );
        // Shutdown first, then let the thread see its feed close: it is not restarted.
        let shutdown = tokio::spawn(sup.shutdown());
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !shutdown.is_finished(),
            "shutdown waits for the running thread"
        );
        stop.store(true, Ordering::SeqCst);
        tokio::time::timeout(Duration::from_secs(5), shutdown)
            .await
            .expect("shutdown ends once the thread stops")
            .expect("shutdown does not panic");
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }
}

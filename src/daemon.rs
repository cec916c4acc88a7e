//! `layso run`: wires the log, the engine, the adapters and the web server together,
//! and stops them cleanly on SIGTERM/SIGINT.

use crate::config::Config;
use crate::engine::{self, Handle, Options, SystemClock};
use crate::log::EventLog;
use crate::web::{self, ratelimit::RateLimiter, AppState};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// Why the daemon could not run.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunError {
    #[error("cannot open the store: {0}")]
    Store(#[from] crate::log::LogError),
    #[error("cannot listen on {addr}: {source}; is another layso (or another program) using it? change [web] bind")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start: {0}")]
    Start(std::io::Error),
}

/// Run until a stop signal. Returns once the store is marked cleanly shut down.
pub(crate) async fn run(config: Config) -> Result<(), RunError> {
    let config = Arc::new(config);
    let started_at = crate::sys::wall_ms();
    // Listen first: a second daemon fails here, before it touches the store.
    let addr = config.web.bind;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| RunError::Listen { addr, source })?;
    let store = config.store.path.clone();
    let site_id = config.site.id.clone();
    let (log, report) =
        tokio::task::spawn_blocking(move || EventLog::open(&store, &site_id, started_at))
            .await
            .map_err(|e| RunError::Start(std::io::Error::other(e)))??;
    crate::sys::release_free_memory();
    if let Some((q, why)) = &report.quarantined {
        tracing::error!(moved_to = %q.display(), %why, "store quarantined; numbering continues above the high-water mark");
    }
    if let Some((from, to)) = report.power_restored {
        tracing::warn!(
            down_from = from,
            down_to = to,
            "previous run did not stop cleanly"
        );
    }
    let options = Options {
        clock: Box::new(SystemClock),
        watchdog: crate::sys::watchdog_interval(),
        stall_after: crate::sys::fault_stall_engine_after(),
        quota_bytes: config.store.quota_mb.map(|m| m * 1_048_576),
    };
    let handle = engine::start(config.clone(), log, report, options).map_err(RunError::Start)?;
    tokio::spawn(retention(handle.clone(), config.store.retention_days));

    let adapters = crate::adapters::start(&config, &handle);
    let (uplink_tx, uplink_rx) = watch::channel(None);
    let uplink = crate::uplink::spawn(&config, handle.clone(), started_at, uplink_tx);
    let app = Arc::new(AppState {
        handle: handle.clone(),
        config: config.clone(),
        started_at,
        rate: Mutex::new(RateLimiter::new(config.web.kiosk_rate_per_minute)),
        uplink: uplink_rx,
        reprint: adapters.reprint.clone(),
    });
    let local = listener.local_addr().unwrap_or(addr);
    let (stop_tx, stop_rx) = watch::channel(false);
    let server = tokio::spawn(web::serve::serve(
        listener,
        web::router(app),
        config.web.limits,
        stop_rx,
    ));
    tracing::info!(
        site = %config.site.id,
        %local,
        "layso {} ready: kiosk http://{local}/kiosk",
        env!("CARGO_PKG_VERSION")
    );
    crate::sys::notify_ready();

    shutdown_signal().await;
    tracing::info!("stopping");
    crate::sys::notify_stopping();
    let _ = stop_tx.send(true);
    // Open event streams never end by themselves: give requests a moment, then go.
    let _ = tokio::time::timeout(Duration::from_secs(2), server).await;
    // One signal stops every device adapter; each is awaited (their last health is recorded).
    adapters.shutdown().await;
    if let Some(u) = uplink {
        u.stop().await;
    }
    handle.stop().await;
    tracing::info!("stopped cleanly");
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Hourly: drop published entries older than the retention period.
async fn retention(handle: Handle, days: u32) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let cursor = handle.cursor().clone();
        let cutoff = crate::sys::wall_ms() - i64::from(days) * 86_400_000;
        match tokio::task::spawn_blocking(move || cursor.prune(cutoff)).await {
            Ok(Ok(n)) if n > 0 => {
                tracing::info!(removed = n, "pruned published entries past retention")
            }
            Ok(Err(e)) => tracing::error!(%e, "pruning failed"),
            _ => {}
        }
    }
}

//! The LED board adapter task: keeps the serial port open (reopening with backoff), turns
//! calls into frames and writes them.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::broadcast;
use tokio_serial::SerialPortBuilderExt;

use crate::backoff::Backoff;
use crate::devices::display::surface::RetryPolicy;
use crate::devices::health::{Health, Report};

use super::*;

/// Frames waiting while the board is away; older ones are dropped first (the board would
/// show only the latest anyway).
const MAX_PENDING: usize = 16;
const WRITE_TIMEOUT: Duration = Duration::from_secs(3);

/// The adapter loop: keeps the port open (reopening with backoff), turns calls into frames and
/// writes them; a frame that could not be written is sent again after the reopen.
pub async fn run(
    cfg: LedBoardConfig,
    mut calls: broadcast::Receiver<Call>,
    report: Report,
    retry: RetryPolicy,
) {
    let mut health = Health::new(cfg.name.get_ref().clone(), report);
    let mut backoff = Backoff::new(retry.initial, retry.max);
    let path = cfg.port.get_ref().clone();
    let mut pending: VecDeque<Vec<u8>> = VecDeque::new();
    let mut port: Option<tokio_serial::SerialStream> = None;
    let mut rx_buf = [0u8; 256];
    loop {
        if port.is_none() {
            match tokio_serial::new(&path, cfg.baud())
                .timeout(WRITE_TIMEOUT)
                .open_native_async()
            {
                Ok(p) => {
                    port = Some(p);
                    backoff.reset();
                    health.set(true, "ok");
                }
                Err(e) => {
                    health.set(false, format!("cannot open {path}: {e}; retrying"));
                    let delay = tokio::time::sleep(backoff.next_delay());
                    tokio::pin!(delay);
                    // Keep taking calls while waiting so the latest is sent after the reopen.
                    loop {
                        tokio::select! {
                            _ = &mut delay => break,
                            msg = calls.recv() => match msg {
                                Ok(call) => queue(&cfg, &call, &mut pending, &mut health),
                                Err(broadcast::error::RecvError::Lagged(_)) => {}
                                Err(broadcast::error::RecvError::Closed) => return,
                            },
                        }
                    }
                    continue;
                }
            }
        }
        let Some(p) = port.as_mut() else { continue };
        // Send what is waiting.
        let mut failed = None;
        while let Some(frame) = pending.front() {
            let res = tokio::time::timeout(WRITE_TIMEOUT, async {
                p.write_all(frame).await?;
                p.flush().await
            })
            .await;
            match res {
                Ok(Ok(())) => {
                    pending.pop_front();
                    health.set(true, "ok");
                }
                Ok(Err(e)) => {
                    failed = Some(format!("writing to {path} failed: {e}; reopening"));
                    break;
                }
                Err(_) => {
                    failed = Some(format!("writing to {path} timed out; reopening"));
                    break;
                }
            }
        }
        if let Some(msg) = failed {
            health.set(false, msg);
            port = None;
            tokio::time::sleep(backoff.next_delay()).await;
            continue;
        }
        tokio::select! {
            msg = calls.recv() => match msg {
                Ok(call) => queue(&cfg, &call, &mut pending, &mut health),
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
            // Boards may answer; replies are not needed. A read error or end of file means the
            // port went away (USB adapter unplugged, pseudo-terminal closed).
            r = p.read(&mut rx_buf) => match r {
                Ok(0) => { health.set(false, format!("{path} closed; reopening")); port = None; }
                Ok(_) => {}
                Err(e) => { health.set(false, format!("{path}: {e}; reopening")); port = None; }
            },
        }
        if port.is_none() {
            tokio::time::sleep(backoff.next_delay()).await;
        }
    }
}

fn queue(cfg: &LedBoardConfig, call: &Call, pending: &mut VecDeque<Vec<u8>>, health: &mut Health) {
    match frame_for_call(cfg, call) {
        None => {}
        Some(Ok(frame)) => {
            if pending.len() >= MAX_PENDING {
                pending.pop_front();
            }
            pending.push_back(frame);
        }
        Some(Err(e)) => health.set(
            false,
            format!("call {} at counter {}: {e}", call.ticket, call.counter),
        ),
    }
}

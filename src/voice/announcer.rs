//! The announcer adapter: every call and recall from the engine goes through the queue and
//! is played one at a time; the speaker's health is reported like the printer's.

use super::player::{Health, PlayError, Played, Player};
use super::queue::{Call, Next, Queue};
use super::Voice;
use crate::core::{Entry, Event};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

/// How often a speaker that is not ok is checked again.
const REPROBE: Duration = Duration::from_secs(30);

/// Reports `(state, detail)` of the `speaker` device.
pub type Report = Box<dyn Fn(Health, String) + Send + Sync>;

/// Handed, per played call, its seq and when its first audio went to the device.
pub(crate) type FirstSample = mpsc::UnboundedSender<(u64, std::time::Instant)>;

/// Run the announcer until the event stream closes. `latency` (for the benchmark) gets,
/// per played call, its seq and the moment its first audio was handed to the device.
pub fn spawn(
    voice: Arc<Voice>,
    player: Player,
    events: broadcast::Receiver<Arc<Entry>>,
    report: Report,
    latency: Option<FirstSample>,
) -> JoinHandle<()> {
    tokio::spawn(run(voice, player, events, report, latency))
}

async fn run(
    voice: Arc<Voice>,
    player: Player,
    mut events: broadcast::Receiver<Arc<Entry>>,
    report: Report,
    latency: Option<FirstSample>,
) {
    let player = Arc::new(player);
    let mut health = match player.probe(voice.pack.rate).await {
        Ok(()) => {
            report(
                Health::Ok,
                format!("{} ({})", player.describe(), voice.pack.voice),
            );
            Health::Ok
        }
        Err(e) => {
            tracing::warn!("speaker not usable: {}", e.detail);
            report(e.health, e.detail);
            e.health
        }
    };
    let mut queue = Queue::new();
    let mut playing: Option<JoinHandle<Result<Played, PlayError>>> = None;
    let mut tick = tokio::time::interval(REPROBE);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(entry) => {
                    if let Event::TicketCalled { ticket, counter, .. } = &entry.event {
                        let call = Call { seq: entry.seq, ticket: ticket.clone(), counter: *counter, at: entry.at };
                        let offered = queue.offer(call, crate::sys::wall_ms());
                        tracing::debug!(%ticket, counter, ?offered, "call for the announcer");
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "announcer fell behind the event stream; some calls are not spoken");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            done = async { match playing.as_mut() { Some(h) => h.await, None => std::future::pending().await } } => {
                playing = None;
                queue.finished();
                let now = match done {
                    Ok(Ok(p)) => Ok(p),
                    Ok(Err(e)) => Err(e),
                    Err(e) => Err(PlayError { health: Health::Error, detail: format!("player task failed: {e}") }),
                };
                match now {
                    Ok(_) if health != Health::Ok => {
                        health = Health::Ok;
                        report(health, player.describe());
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!("announcement not played: {}", e.detail);
                        if e.health != health {
                            health = e.health;
                            report(health, e.detail);
                        }
                    }
                }
            },
            _ = tick.tick(), if health != Health::Ok && playing.is_none() => {
                if player.probe(voice.pack.rate).await.is_ok() {
                    health = Health::Ok;
                    report(health, player.describe());
                }
            }
        }
        if playing.is_none() {
            match queue.next(crate::sys::wall_ms()) {
                Next::Play { call, dropped } => {
                    log_dropped(&dropped);
                    let wav = voice.render_wav(&call.ticket, call.counter);
                    let name = format!("call-{}-{}", call.seq, call.ticket);
                    let (player, latency) = (player.clone(), latency.clone());
                    tracing::info!(ticket = %call.ticket, counter = call.counter, "announcing: {}", voice.speech.text(&call.ticket, call.counter));
                    playing = Some(tokio::spawn(async move {
                        let played = player.play(&wav, &name).await?;
                        if let Some(l) = latency {
                            let _ = l.send((call.seq, played.first_sample));
                        }
                        Ok(played)
                    }));
                }
                Next::Dropped(d) => log_dropped(&d),
                Next::Busy | Next::Idle => {}
            }
        }
    }
}

fn log_dropped(dropped: &[Call]) {
    for d in dropped {
        tracing::warn!(ticket = %d.ticket, counter = d.counter, "announcement older than 60 s dropped, not played late");
    }
}

/// Start the announcer when `[voice] where = "board"`: load the pack (a broken pack makes
/// the `speaker` device "error", tickets go on) and feed it the engine's calls.
pub(crate) fn start(
    config: &Arc<crate::config::Config>,
    handle: &crate::engine::Handle,
    health: &crate::devices::health::HealthTx,
    sup: &mut crate::devices::supervisor::Supervisor,
) {
    let Some(vc) = &config.voice else {
        return;
    };
    if vc.place() != super::config::Place::Board {
        return;
    }
    let (vc, config, handle, health) = (vc.clone(), config.clone(), handle.clone(), health.clone());
    // Supervised: a panic restarts it (and reloads the pack); the first run subscribes now so
    // no call is missed, and loads the pack off the start-up path.
    use crate::devices::health::{DeviceHealth, DeviceKind};
    sup.supervise("speaker", DeviceKind::Speaker, move |cancel| {
        let h = health.clone();
        let report: Report = Box::new(move |state, detail| {
            let _ = h.send(DeviceHealth::new(
                "speaker",
                DeviceKind::Speaker,
                state.into(),
                detail,
            ));
        });
        let events = handle.subscribe();
        let (vc, config) = (vc.clone(), config.clone());
        announce(vc, config, events, report, cancel)
    });
}

/// One supervised run of the announcer; without a usable pack it reports why and waits for
/// shutdown (a restart would not find a pack either).
async fn announce(
    vc: super::config::VoiceConfig,
    config: Arc<crate::config::Config>,
    events: tokio::sync::broadcast::Receiver<Arc<crate::core::Entry>>,
    report: Report,
    cancel: tokio_util::sync::CancellationToken,
) {
    let dir = vc.pack_dir();
    if !dir.exists() {
        let detail = format!(
            "no voice pack at {}; build it with `layso voice build-pack --out {}`",
            dir.display(),
            dir.display()
        );
        tracing::warn!("calls are not spoken: {detail}");
        report(Health::Missing, detail);
        cancel.cancelled().await;
        return;
    }
    let player = Player { kind: vc.player() };
    let loaded = tokio::task::spawn_blocking(move || Voice::load(&vc, &config)).await;
    match loaded {
        Ok(Ok(v)) => {
            tracing::info!("announcements on {}", player.describe());
            run(Arc::new(v), player, events, report, None).await;
            return;
        }
        Ok(Err(problems)) => {
            let detail = problems.join("; ");
            tracing::error!("voice pack not usable, calls are not spoken: {detail}");
            report(Health::Error, detail);
        }
        Err(e) => report(Health::Error, format!("pack loading task failed: {e}")),
    }
    cancel.cancelled().await;
}

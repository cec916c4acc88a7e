//! The collector: a persistent MQTT 5 session (clean start off, long session expiry) on
//! shared subscriptions, manual acknowledgements sent only after the messages' rows are
//! committed in PostgreSQL, a bounded hand-off between the MQTT reader and the writer
//! (`flow.rs`), the gap watcher that asks sites to send missing seqs again, and the
//! figures worker that recomputes site-days marked dirty.

use super::config::ProvinceConfig;
use super::db;
use super::flow::Flow;
use super::gaps;
use super::rows::{day_text, to_batch};
use rumqttc::v5::mqttbytes::v5::{Packet, Publish};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, ClientError, Event, MqttOptions};
use rumqttc::{TlsConfiguration, Transport};
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_postgres::Client;

/// Most payload bytes the reader holds for the writer (not yet parsed into rows). Event
/// messages are up to a site's `batch_max_bytes` (256 KiB by default), so a message count
/// alone would not bound memory. A batch closes at half of this.
const HOLD_BYTES: usize = 4 << 20;

/// Most re-send requests (the collector's only publishes) awaiting the broker's PUBACK.
/// rumqttc keeps a slot per possible in-flight publish for the whole session: left at its
/// default (65,535) that table alone is 14 MB.
const OUTGOING_INFLIGHT: u16 = 256;

/// How often the hand-off figures are logged (when something moved).
const STATS_EVERY: Duration = Duration::from_secs(10);

fn now_ms() -> i64 {
    crate::sys::wall_ms()
}

/// Connect to PostgreSQL, retrying every 2 s until it answers or `stop` is set.
pub(crate) async fn connect_retrying(
    url: &str,
    stop: &mut watch::Receiver<bool>,
) -> Option<Client> {
    let mut logged = false;
    loop {
        match db::connect(url).await {
            Ok(c) => return Some(c),
            Err(e) if !logged => {
                tracing::warn!("{e}; retrying every 2 s");
                logged = true;
            }
            Err(_) => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = stop.wait_for(|s| *s) => return None,
        }
    }
}

/// How many unacknowledged QoS 1 messages the broker may send (MQTT 5 Receive Maximum),
/// and the most the collector holds whatever the broker does.
fn receive_maximum(c: &ProvinceConfig) -> u16 {
    (c.batch_max_messages * 2).clamp(16, 65_535) as u16
}

fn mqtt_options(c: &ProvinceConfig) -> Result<MqttOptions, String> {
    let mut o = MqttOptions::new(c.client_id.clone(), c.host.clone(), c.port);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_clean_start(false);
    o.set_session_expiry_interval(Some(c.session_expiry_secs));
    o.set_manual_acks(true);
    o.set_connection_timeout(10);
    o.set_max_packet_size(Some(16 * 1024 * 1024));
    o.set_receive_maximum(Some(receive_maximum(c)));
    o.set_outgoing_inflight_upper_limit(OUTGOING_INFLIGHT);
    if let Some((u, p)) = &c.credentials {
        o.set_credentials(u.clone(), p.clone());
    }
    if let Some(paths) = &c.tls {
        let cfg = crate::uplink::tls::client_config(paths)?;
        o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(cfg)));
    }
    Ok(o)
}

/// What acknowledging a committed message needs (its payload is gone by then): 16 bytes
/// instead of a whole `Publish`. A broker that ignores Receive Maximum (Mosquitto
/// < 2.0.13) can keep tens of thousands of acks waiting for the request queue.
#[derive(Debug, Clone, Copy)]
struct Ack {
    pkid: u16,
    qos: QoS,
    conn: u64,
}

impl Ack {
    fn of(p: &Publish, conn: u64) -> Self {
        Ack {
            pkid: p.pkid,
            qos: p.qos,
            conn,
        }
    }

    /// The acknowledgement rumqttc sends for this message (it reads only the id and QoS).
    fn publish(&self) -> Publish {
        let mut p = Publish::new("", self.qos, Vec::new(), None);
        p.pkid = self.pkid;
        p
    }
}

/// A message handed from the reader to the writer, with the connection it came on.
struct Held {
    publish: Publish,
    conn: u64,
    bytes: usize,
}

/// Run the collector until `stop` is set. Errors only for what retrying cannot fix.
pub(crate) async fn run(
    cfg: ProvinceConfig,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let Some(mut client) = connect_retrying(&cfg.database_url, &mut stop).await else {
        return Ok(());
    };
    let version = db::migrate(&mut client).await?;
    tracing::info!(version, "database schema ready");
    let opts = mqtt_options(&cfg)?;
    let recv_max = usize::from(receive_maximum(&cfg));
    let (mqtt, mut eventloop) = AsyncClient::new(opts, recv_max + 64);
    // The reader never waits on the writer inside the event loop (the writer's acks go
    // out through that loop): when the budget is spent it stops polling until the writer
    // frees room, and the broker's excess stays in the broker. The channel itself is
    // unbounded; the budget bounds what is in it.
    let flow = Arc::new(Flow::new(recv_max, HOLD_BYTES));
    let (tx, rx) = mpsc::unbounded_channel::<Held>();
    let filters = cfg.filters();
    let sub_client = mqtt.clone();
    let pump_flow = flow.clone();
    let pump = tokio::spawn(async move {
        let flow = pump_flow;
        let mut failures = 0u32;
        loop {
            flow.wait_room().await;
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    failures = 0;
                    flow.connected();
                    tracing::info!(
                        session_present = ack.session_present,
                        "collector connected to the broker"
                    );
                    for f in &filters {
                        if let Err(e) = sub_client.try_subscribe(f.clone(), QoS::AtLeastOnce) {
                            tracing::error!(%e, filter = %f, "cannot subscribe");
                        }
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    // A packet from the broker proves the connection alive. Its PINGRESP
                    // may wait behind megabytes of publishes that this reader takes only
                    // at the writer's pace (Mosquitto < 2.0.13 pushes its whole queue
                    // into the socket): without this, rumqttc would drop the connection
                    // at the next keep-alive ("Last pingreq isn't acked") and the broker
                    // would send everything in flight again.
                    eventloop.state.await_pingresp = false;
                    let bytes = p.payload.len() + p.topic.len();
                    flow.take(bytes);
                    let conn = flow.connection();
                    // After shutdown began the writer is gone: the message stays
                    // unacknowledged (the broker keeps it in the session); keep polling
                    // so that DISCONNECT still goes out.
                    let _ = tx.send(Held {
                        publish: p,
                        conn,
                        bytes,
                    });
                }
                Ok(_) => {}
                Err(e) => {
                    failures = failures.saturating_add(1);
                    if failures == 1 || failures % 30 == 0 {
                        tracing::warn!(%e, "broker connection lost; reconnecting");
                    }
                    tokio::time::sleep(Duration::from_millis(500 * u64::from(failures.min(10))))
                        .await;
                }
            }
        }
    });
    let web = super::web::spawn(cfg.clone(), stop.clone()).await?;
    let gap_task = tokio::spawn(watch_gaps(cfg.clone(), mqtt.clone(), stop.clone()));
    let fig_task = tokio::spawn(figures_worker(cfg.clone(), stop.clone()));
    ingest(&cfg, client, &mqtt, rx, &flow, stop.clone()).await;
    log_flow(&flow, 0, 0, "collector hand-off at shutdown");
    // Never wait on the request queue here (the reader may be paused with it full).
    flow.close();
    let _ = mqtt.try_disconnect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    pump.abort();
    gap_task.abort();
    fig_task.abort();
    web.abort();
    Ok(())
}

fn log_flow(flow: &Flow, messages: u64, events: u64, what: &str) {
    let b = flow.snapshot();
    tracing::info!(
        messages,
        events,
        held_peak = b.peak_messages,
        held_cap = b.max_messages,
        held_peak_bytes = b.peak_bytes,
        held_cap_bytes = b.max_bytes,
        pauses = b.pauses,
        "{what}"
    );
}

/// Acknowledge committed messages that came on the current connection. A message from
/// an earlier connection is not acknowledged: the broker sends it again on this one
/// (same session) and its packet id may already name another message. Acks the request
/// queue has no room for wait in `unsent` (the writer never waits on the reader).
fn send_acks(mqtt: &AsyncClient, flow: &Flow, acks: &mut VecDeque<Ack>) {
    let current = flow.connection();
    while let Some(a) = acks.front() {
        if a.conn == current {
            match mqtt.try_ack(&a.publish()) {
                Ok(()) => {}
                Err(ClientError::TryRequest(_)) => break,
                Err(e) => {
                    tracing::warn!(%e, "cannot acknowledge a message (the broker sends it again)");
                }
            }
        }
        acks.pop_front();
    }
    // A burst of waiting acks must not keep its memory for the rest of the run.
    if acks.capacity() > 4 * ACKS_KEPT && acks.len() < ACKS_KEPT {
        acks.shrink_to(ACKS_KEPT);
    }
}

/// Capacity of the waiting-acks queue kept between bursts.
const ACKS_KEPT: usize = 4096;

/// Read batches of messages, commit them, then acknowledge them, in order.
async fn ingest(
    cfg: &ProvinceConfig,
    mut client: Client,
    mqtt: &AsyncClient,
    mut rx: mpsc::UnboundedReceiver<Held>,
    flow: &Flow,
    mut stop: watch::Receiver<bool>,
) {
    let mut unsent: VecDeque<Ack> = VecDeque::new();
    let (mut messages, mut events) = (0u64, 0u64);
    let mut last_stats = tokio::time::Instant::now();
    loop {
        send_acks(mqtt, flow, &mut unsent);
        if last_stats.elapsed() >= STATS_EVERY && messages > 0 {
            log_flow(flow, messages, events, "collector hand-off");
            (messages, events) = (0, 0);
            last_stats = tokio::time::Instant::now();
        }
        let first = tokio::select! {
            p = rx.recv() => match p { Some(p) => p, None => return },
            _ = tokio::time::sleep(Duration::from_millis(10)), if !unsent.is_empty() => continue,
            _ = tokio::time::sleep(STATS_EVERY), if messages > 0 => continue,
            _ = stop.wait_for(|s| *s) => return,
        };
        let mut bytes = first.bytes;
        let mut held = vec![first];
        let deadline = tokio::time::Instant::now() + cfg.batch_max_wait;
        while held.len() < cfg.batch_max_messages && bytes < HOLD_BYTES / 2 {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(p)) => {
                    bytes += p.bytes;
                    held.push(p);
                }
                _ => break,
            }
        }
        let now = now_ms();
        let mut batch = to_batch(cfg, held.iter().map(|h| &h.publish), now);
        // The rows are all that is needed now: drop the payloads, keep what acks need.
        let acks: Vec<Ack> = held.iter().map(|h| Ack::of(&h.publish, h.conn)).collect();
        drop(held);
        flow.parsed(bytes);
        let n_events = batch.events.len() as u64;
        let mut attempt = 0u32;
        loop {
            match db::write_batch(&mut client, &mut batch, now).await {
                Ok(_) => break,
                Err(e) => {
                    attempt += 1;
                    tracing::warn!(%e, attempt, "cannot commit a batch; retrying (nothing is acknowledged before it is stored)");
                    if client.is_closed() {
                        match connect_retrying(&cfg.database_url, &mut stop).await {
                            Some(c) => client = c,
                            None => return,
                        }
                    } else {
                        tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt.min(10))))
                            .await;
                    }
                    if *stop.borrow() {
                        return;
                    }
                }
            }
        }
        drop(batch);
        messages += acks.len() as u64;
        events += n_events;
        let n = acks.len();
        unsent.extend(acks);
        send_acks(mqtt, flow, &mut unsent);
        flow.done(n);
    }
}

/// Every second: move contiguous marks forward and ask sites for ranges missing too long.
async fn watch_gaps(cfg: ProvinceConfig, mqtt: AsyncClient, mut stop: watch::Receiver<bool>) {
    let Some(mut client) = connect_retrying(&cfg.database_url, &mut stop).await else {
        return;
    };
    let mut open = gaps::Gaps::default();
    let grace = cfg.resend_after.as_millis() as i64;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let rows = match db::gaps(&client, 100_000).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(%e, "gap check failed");
                if client.is_closed() {
                    match connect_retrying(&cfg.database_url, &mut stop).await {
                        Some(c) => client = c,
                        None => return,
                    }
                }
                continue;
            }
        };
        let now = now_ms();
        let mut marks = Vec::new();
        let mut seen = HashSet::new();
        for (site, prov, c, max_seq, start, after) in &rows {
            let (mark, gap) = gaps::advance(*start, after, *max_seq);
            if mark > *c {
                marks.push((site.clone(), mark));
            }
            seen.insert(site.clone());
            if let Some((from, to)) = open.observe(site, gap, now, grace) {
                let topic = format!("{}/{}/{}/resend", cfg.prefix, prov, site);
                let payload = format!("{{\"from\":{from},\"to\":{to}}}");
                tracing::info!(%site, from, to, "asking the site to send missing entries again");
                if let Err(e) = mqtt.try_publish(topic, QoS::AtLeastOnce, false, payload) {
                    tracing::warn!(%e, "cannot publish a re-send request");
                }
            }
        }
        open.retain_sites(&seen);
        if let Err(e) = db::set_contiguous(&client, &marks).await {
            tracing::warn!(%e, "cannot store contiguous marks");
        }
    }
}

/// Recompute dirty site-days; every 5 minutes mark today dirty for every site (the
/// elapsed opening time grows even when nothing happens).
async fn figures_worker(cfg: ProvinceConfig, mut stop: watch::Receiver<bool>) {
    let Some(mut client) = connect_retrying(&cfg.database_url, &mut stop).await else {
        return;
    };
    let mut last_touch = 0i64;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(cfg.figures_every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let now = now_ms();
        let r = async {
            if now - last_touch > 300_000 {
                let rule = crate::core::time::DayRule { utc_offset_minutes: cfg.hours.utc_offset_min, day_start_minutes: 0 };
                let today = day_text(rule.local_date(now));
                client
                    .execute("INSERT INTO dirty_days (site, day) SELECT site, $1::text FROM sites ON CONFLICT DO NOTHING", &[&today])
                    .await?;
                last_touch = now;
            }
            for _ in 0..100 {
                let n = super::store::recompute_some(
                    &client,
                    &cfg.hours,
                    now,
                    200,
                    cfg.figures_min_age.as_millis() as i64,
                ).await?;
                if n == 0 {
                    break;
                }
            }
            Ok::<(), tokio_postgres::Error>(())
        }
        .await;
        if let Err(e) = r {
            tracing::warn!(%e, "figures worker");
            if client.is_closed() {
                match connect_retrying(&cfg.database_url, &mut stop).await {
                    Some(c) => client = c,
                    None => return,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish(pkid: u16) -> Publish {
        let mut p = Publish::new("t", QoS::AtLeastOnce, Vec::new(), None);
        p.pkid = pkid;
        p
    }

    #[test]
    fn acks_skip_old_connections_and_wait_when_the_queue_is_full() {
        // Never connected: the request queue (2 places) is only filled, never drained.
        let (mqtt, _eventloop) = AsyncClient::new(MqttOptions::new("t", "127.0.0.1", 1), 2);
        let flow = Flow::new(10, 1000);
        flow.connected();
        flow.connected(); // connection 2 is current
        let mut acks: VecDeque<Ack> = [
            (publish(1), 1), // came on connection 1: the broker sends it again
            (publish(2), 2),
            (publish(3), 2),
            (publish(4), 2), // no room: waits
            (publish(5), 1),
        ]
        .iter()
        .map(|(p, c)| Ack::of(p, *c))
        .collect();
        send_acks(&mqtt, &flow, &mut acks);
        let left: Vec<u16> = acks.iter().map(|a| a.pkid).collect();
        assert_eq!(left, vec![4, 5]);
        // A reconnect later: what waited is from an old connection now and is dropped.
        flow.connected();
        send_acks(&mqtt, &flow, &mut acks);
        assert!(acks.is_empty());
    }
}

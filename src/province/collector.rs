//! The collector: a persistent MQTT 5 session (clean start off, long session expiry) on
//! shared subscriptions, manual acknowledgements sent only after the messages' rows are
//! committed in PostgreSQL, the gap watcher that asks sites to send missing seqs again,
//! and the figures worker that recomputes site-days marked dirty.

use super::config::ProvinceConfig;
use super::db::{self, Batch, EventRow, StatusRow};
use super::gaps;
use crate::core::time::Day;
use rumqttc::v5::mqttbytes::v5::{Packet, Publish};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use rumqttc::{TlsConfiguration, Transport};
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_postgres::Client;

use std::sync::atomic::{AtomicUsize, Ordering};

/// Messages read from the broker and not yet taken by the ingest loop, and its peak.
/// The broker should never send more than `receive_maximum` unacknowledged messages;
/// a warning is logged when the hand-off grows past that (the broker ignores it).
static DEPTH: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

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

/// How many unacknowledged QoS 1 messages the broker may send (MQTT 5 Receive Maximum).
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
    if let Some((u, p)) = &c.credentials {
        o.set_credentials(u.clone(), p.clone());
    }
    if let Some(paths) = &c.tls {
        let cfg = crate::uplink::tls::client_config(paths)?;
        o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(cfg)));
    }
    Ok(o)
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
    let cap = cfg.batch_max_messages * 2 + 64;
    let (mqtt, mut eventloop) = AsyncClient::new(opts, cap);
    // The pump must never wait on the ingest loop: that loop waits on the client's
    // request queue (acks), which only the pump drains by polling. Unbounded, but the
    // broker sends at most `receive_maximum` unacknowledged messages, so it holds at
    // most that many.
    let (tx, rx) = mpsc::unbounded_channel::<Publish>();
    let filters = cfg.filters();
    let recv_max = receive_maximum(&cfg);
    let sub_client = mqtt.clone();
    let pump = tokio::spawn(async move {
        let mut failures = 0u32;
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    failures = 0;
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
                    let d = DEPTH.fetch_add(1, Ordering::Relaxed) + 1;
                    let peak = PEAK.load(Ordering::Relaxed);
                    if d > peak && d.is_power_of_two() {
                        PEAK.store(d, Ordering::Relaxed);
                        if d > usize::from(recv_max) {
                            tracing::warn!(depth = d, receive_maximum = recv_max, "the broker sends more unacknowledged messages than the collector's Receive Maximum; they wait in the collector's memory");
                        }
                    }
                    if tx.send(p).is_err() {
                        return;
                    }
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
    ingest(&cfg, client, &mqtt, rx, stop.clone()).await;
    let _ = mqtt.disconnect().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    pump.abort();
    gap_task.abort();
    fig_task.abort();
    web.abort();
    Ok(())
}

/// Read batches of messages, commit them, then acknowledge them, in order.
async fn ingest(
    cfg: &ProvinceConfig,
    mut client: Client,
    mqtt: &AsyncClient,
    mut rx: mpsc::UnboundedReceiver<Publish>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let first = tokio::select! {
            p = rx.recv() => match p { Some(p) => { DEPTH.fetch_sub(1, Ordering::Relaxed); p }, None => return },
            _ = stop.wait_for(|s| *s) => return,
        };
        let mut pubs = vec![first];
        let deadline = tokio::time::Instant::now() + cfg.batch_max_wait;
        while pubs.len() < cfg.batch_max_messages {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(p)) => {
                    DEPTH.fetch_sub(1, Ordering::Relaxed);
                    pubs.push(p)
                }
                _ => break,
            }
        }
        let now = now_ms();
        let mut attempt = 0u32;
        loop {
            let batch = to_batch(cfg, &pubs, now);
            match db::write_batch(&mut client, batch, now).await {
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
        for p in &pubs {
            if let Err(e) = mqtt.ack(p).await {
                tracing::warn!(%e, "cannot acknowledge a message (the broker sends it again)");
            }
        }
    }
}

/// `{prefix}/{province}/{site}/{leaf}` → (province, site, leaf).
fn split_topic<'a>(prefix: &str, topic: &'a str) -> Option<(&'a str, &'a str, &'a str)> {
    let rest = topic.strip_prefix(prefix)?.strip_prefix('/')?;
    let mut it = rest.split('/');
    let (p, s, l) = (it.next()?, it.next()?, it.next()?);
    it.next().is_none().then_some((p, s, l))
}

fn day_text(day: Day) -> String {
    day.to_string()
}

/// Turn the received messages into rows. Malformed messages are logged and dropped
/// (they are still acknowledged: sending them again would not make them valid).
pub(crate) fn to_batch(cfg: &ProvinceConfig, pubs: &[Publish], now: i64) -> Batch {
    let mut b = Batch::default();
    for p in pubs {
        let Ok(topic) = std::str::from_utf8(&p.topic) else {
            continue;
        };
        let Some((prov, site, leaf)) = split_topic(&cfg.prefix, topic) else {
            tracing::warn!(%topic, "message on an unexpected topic ignored");
            continue;
        };
        let v: Value = match serde_json::from_slice(&p.payload) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(%topic, %e, "message that is not JSON ignored");
                continue;
            }
        };
        match leaf {
            "events" => {
                b.seen.push((site.to_string(), prov.to_string()));
                for e in v
                    .get("events")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(row) = event_row(cfg, site, e, &mut b.dirty) {
                        b.events.push(row);
                    }
                }
            }
            "status" => {
                let online = v.get("online").and_then(Value::as_bool).unwrap_or(false);
                b.statuses.push(StatusRow {
                    site: site.to_string(),
                    province: prov.to_string(),
                    name: v
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    online,
                    at: v.get("at").and_then(Value::as_i64).unwrap_or(now),
                    reason: v.get("reason").and_then(Value::as_str).map(str::to_string),
                });
            }
            "metrics" => {
                let at = v.get("at").and_then(Value::as_i64).unwrap_or(now);
                let published = v
                    .pointer("/backlog/published_seq")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                b.metrics.push((
                    site.to_string(),
                    prov.to_string(),
                    v.to_string(),
                    at,
                    published,
                ));
            }
            _ => {}
        }
    }
    b
}

fn event_row(
    cfg: &ProvinceConfig,
    site: &str,
    e: &Value,
    dirty: &mut Vec<(String, String)>,
) -> Option<EventRow> {
    if e.get("site")
        .and_then(Value::as_str)
        .is_some_and(|s| s != site)
    {
        tracing::warn!(%site, "an event naming another site was ignored");
        return None;
    }
    let seq = e.get("seq").and_then(Value::as_i64).filter(|s| *s > 0)?;
    let at = e.get("at").and_then(Value::as_i64).unwrap_or(0);
    let kind = e
        .pointer("/event/kind")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let rule = crate::core::time::DayRule {
        utc_offset_minutes: cfg.hours.utc_offset_min,
        day_start_minutes: 0,
    };
    let day = e
        .get("day")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| day_text(rule.local_date(at)));
    if kind == "power_restored" || kind == "uplink_restored" {
        let from = e
            .pointer("/event/down_from")
            .and_then(Value::as_i64)
            .unwrap_or(at);
        let to = e
            .pointer("/event/down_to")
            .and_then(Value::as_i64)
            .unwrap_or(at);
        // Every day the outage covers (bounded: a month at most).
        let (mut d, last) = (rule.local_date(from.min(to)), rule.local_date(to));
        for _ in 0..31 {
            dirty.push((site.to_string(), day_text(d)));
            if d >= last {
                break;
            }
            d = d.next();
        }
    }
    Some(EventRow {
        site: site.to_string(),
        seq,
        at,
        day,
        kind: kind.to_string(),
        clock_ok: e.get("clock_ok").and_then(Value::as_bool).unwrap_or(true),
        body: e.to_string(),
    })
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

    #[test]
    fn topics_split() {
        assert_eq!(
            split_topic("layso/v1", "layso/v1/hcm/a-1/events"),
            Some(("hcm", "a-1", "events"))
        );
        assert_eq!(split_topic("layso/v1", "layso/v1/hcm/a-1/x/events"), None);
        assert_eq!(split_topic("layso/v1", "other/hcm/a/events"), None);
    }
}

//! The uplink to the province: store-and-forward over MQTT 5 (rumqttc). It drains the
//! event log from the persisted cursor in acknowledged batches, publishes a retained
//! status (with a Last Will) and periodic metrics, records `UplinkRestored` outages, and
//! reports its own state to the status page. This file is the async shell; the logic
//! lives in `protocol` (batches, acknowledgements, backoff, outages) and `metrics`.
//!
//! The uplink reads the log; the engine never waits for it. Only entries the engine has
//! made durable (the view's `last_seq`) are published, so a published seq can never be
//! lost by a crash and reused.

mod answer;
pub mod config;
pub mod link;
pub mod metrics;
pub mod protocol;
mod refusal;
pub mod resend;
#[cfg(test)]
mod shell_tests;
mod status;
pub mod tls;

use crate::config::Config;
use crate::core::Command;
use crate::engine::{Handle, View};
use crate::log::{LogCursor, LogReader};
use config::Settings;
use link::{Link, LinkEvent, Rumqtt};
use metrics::{DayStats, Outside};
use protocol::{Backoff, Jitter, Outage, Outbox, Slot};
use refusal::Refusals;
use rumqttc::v5::mqttbytes::v5::LastWill;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::MqttOptions;
use rumqttc::{TlsConfiguration, Transport};
use serde_json::{json, Value};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

pub use config::UplinkConfig;

/// A running uplink.
pub struct Uplink {
    stop: watch::Sender<bool>,
    done: tokio::sync::oneshot::Receiver<()>,
}

impl Uplink {
    /// Publish an `online: false` status, disconnect cleanly and end (at most ~3 s).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(3), self.done).await;
    }
}

/// Start the uplink when the configuration has an `[uplink]` section. `status` receives
/// the uplink's state as JSON for `GET /api/v1/state` (it stays `None` without one).
///
/// The uplink runs on its own thread with a single-threaded runtime: draining a large
/// backlog never competes with the web server's workers, and all of its buffers are
/// allocated and freed on one thread (one malloc arena instead of one per worker).
pub fn spawn(
    config: &Config,
    handle: Handle,
    started_at: i64,
    status: watch::Sender<Option<Value>>,
) -> Option<Uplink> {
    let uc = config.uplink.as_ref()?;
    let settings = uc.settings(&config.site.id, &config.site.province);
    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let shell = Shell::new(settings, config, handle, started_at, status, stop_rx);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let started = runtime.and_then(|rt| {
        std::thread::Builder::new()
            .name("layso-uplink".into())
            .spawn(move || {
                rt.block_on(shell.run());
                let _ = done_tx.send(());
            })
    });
    if let Err(e) = started {
        tracing::error!(%e, "cannot start the uplink thread; telemetry stays in the store");
        return None;
    }
    Some(Uplink {
        stop: stop_tx,
        done: done_rx,
    })
}

/// Why a session ended.
enum End {
    Stopped,
    Lost(String),
}

struct Shell {
    s: Settings,
    site_id: String,
    province: String,
    site_name: String,
    handle: Handle,
    reader: LogReader,
    cursor: LogCursor,
    view: watch::Receiver<Arc<View>>,
    started_at: i64,
    status_tx: watch::Sender<Option<Value>>,
    stop: watch::Receiver<bool>,
    outbox: Outbox,
    stats: DayStats,
    observed_upto: u64,
    backoff: Backoff,
    refusals: Refusals,
    jitter: Jitter,
    outage: Outage,
    resender: resend::Resender,
    // local status
    connected_since: Option<i64>,
    last_error: Option<(i64, String)>,
    reconnects: u64,
    last_metrics_at: Option<i64>,
    status_refreshed: Option<Instant>,
}

impl Shell {
    fn new(
        s: Settings,
        config: &Config,
        handle: Handle,
        started_at: i64,
        status_tx: watch::Sender<Option<Value>>,
        stop: watch::Receiver<bool>,
    ) -> Shell {
        let reader = handle.reader().clone();
        let cursor = reader.published().unwrap_or_else(|e| {
            tracing::error!(%e, "cannot read the uplink cursor; starting from the beginning");
            0
        });
        let now = crate::sys::wall_ms();
        let mut stats = DayStats::new(config.site.rule, now);
        let mut observed_upto = 0;
        match reader.last_day_entries() {
            Ok(entries) => {
                for e in &entries {
                    stats.seed(e);
                    observed_upto = e.seq;
                }
            }
            Err(e) => tracing::warn!(%e, "metrics start without today's history"),
        }
        if observed_upto == 0 {
            observed_upto = reader.last_seq().unwrap_or(0);
        }
        let seed = (now as u64) ^ (u64::from(std::process::id()) << 32);
        Shell {
            outbox: Outbox::new(cursor, usize::from(s.in_flight)),
            site_id: config.site.id.clone(),
            province: config.site.province.clone(),
            site_name: config.site.name.clone(),
            view: handle.watch_view(),
            cursor: handle.cursor().clone(),
            handle,
            reader,
            started_at,
            status_tx,
            stop,
            stats,
            observed_upto,
            backoff: Backoff::default(),
            refusals: Refusals::default(),
            jitter: Jitter::new(seed),
            outage: Outage::default(),
            resender: resend::Resender::default(),
            connected_since: None,
            last_error: None,
            reconnects: 0,
            last_metrics_at: None,
            status_refreshed: None,
            s,
        }
    }

    fn status_payload(&self, online: bool, reason: Option<&str>) -> Vec<u8> {
        let mut v = json!({
            "site": self.site_id,
            "province": self.province,
            "name": self.site_name,
            "online": online,
            "version": env!("CARGO_PKG_VERSION"),
            "boot_time": self.started_at,
            "boot_count": self.reader.boot_count(),
        });
        if let Some(obj) = v.as_object_mut() {
            if online {
                obj.insert("at".into(), json!(crate::sys::wall_ms()));
            }
            if let Some(r) = reason {
                obj.insert("reason".into(), json!(r));
            }
        }
        v.to_string().into_bytes()
    }

    fn options(&self) -> Result<MqttOptions, String> {
        let s = &self.s;
        let mut o = MqttOptions::new(s.client_id.clone(), s.host.clone(), s.port);
        o.set_keep_alive(s.keep_alive);
        o.set_clean_start(true);
        o.set_connection_timeout(10);
        o.set_last_will(LastWill::new(
            s.topic("status"),
            self.status_payload(false, Some("connection_lost")),
            QoS::AtLeastOnce,
            true,
            None,
        ));
        // Incoming packets stay small (acks); raise the limit anyway so that nothing a
        // broker sends back in a batch-sized frame is refused.
        let max_packet = (s.batch_max_bytes + 64 * 1024).min(u32::MAX as usize) as u32;
        o.set_max_packet_size(Some(max_packet));
        o.set_outgoing_inflight_upper_limit(s.in_flight.saturating_add(4));
        if let Some((u, p)) = &s.credentials {
            o.set_credentials(u.clone(), p.clone());
        }
        if let Some(paths) = &s.tls {
            let cfg = tls::client_config(paths)?;
            o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(cfg)));
        }
        Ok(o)
    }

    async fn run(mut self) {
        let mut metrics_tick = tokio::time::interval_at(
            Instant::now() + self.s.metrics_interval,
            self.s.metrics_interval,
        );
        metrics_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        self.refresh_status(true);
        loop {
            if *self.stop.borrow() {
                break;
            }
            let end = match self.options() {
                Ok(opts) => self.connect_and_serve(opts, &mut metrics_tick).await,
                Err(e) => End::Lost(e),
            };
            let why = match end {
                End::Stopped => break,
                End::Lost(why) => why,
            };
            let now = crate::sys::wall_ms();
            if self.connected_since.take().is_some() {
                tracing::warn!(broker = %self.broker(), %why, "uplink connection lost");
            } else {
                tracing::warn!(broker = %self.broker(), %why, "cannot connect to the broker");
            }
            self.outage.lost(now);
            self.last_error = Some((now, why));
            self.refresh_status(true);
            let delay = self.backoff.next_delay(self.jitter.next_u64());
            if self.wait_backoff(delay).await {
                break;
            }
        }
        self.connected_since = None;
        self.refresh_status(true);
    }

    /// Sleep before the next attempt, keeping the status (backlog) fresh. True: stop.
    async fn wait_backoff(&mut self, delay: Duration) -> bool {
        let until = Instant::now() + delay;
        let mut stop = self.stop.clone();
        while Instant::now() < until {
            let step = (until - Instant::now()).min(Duration::from_secs(1));
            tokio::select! {
                _ = tokio::time::sleep(step) => self.refresh_status(false),
                _ = stop.wait_for(|s| *s) => return true,
            }
        }
        false
    }

    fn broker(&self) -> String {
        format!("{}:{}", self.s.host, self.s.port)
    }

    /// One connection: connect, then publish until it fails or the uplink stops.
    async fn connect_and_serve(
        &mut self,
        opts: MqttOptions,
        metrics_tick: &mut tokio::time::Interval,
    ) -> End {
        let cap = usize::from(self.s.in_flight) + 8;
        let mut link = Rumqtt::connect(opts, cap);
        self.serve(&mut link, metrics_tick).await
    }

    /// One connection over `link`: wait for the CONNACK, then publish until the link
    /// fails or the uplink stops.
    async fn serve<L: Link>(
        &mut self,
        link: &mut L,
        metrics_tick: &mut tokio::time::Interval,
    ) -> End {
        // Wait for the CONNACK (rumqttc bounds the attempt by its connection timeout).
        let mut stop = self.stop.clone();
        loop {
            tokio::select! {
                ev = link.poll() => match ev {
                    Ok(LinkEvent::ConnAck) => break,
                    Ok(_) => continue,
                    Err(e) => return End::Lost(e),
                },
                _ = stop.wait_for(|s| *s) => return End::Stopped,
            }
        }
        let now = crate::sys::wall_ms();
        self.connected_since = Some(now);
        self.reconnects += 1;
        self.last_error = None;
        self.outbox.on_connected();
        tracing::info!(broker = %self.broker(), topic = %self.s.topic_root, "uplink connected");
        if let Some((down_from, down_to)) = self.outage.connected(now) {
            let cmd = Command::UplinkRestored { down_from, down_to };
            if let Err(e) = self.handle.execute(cmd).await {
                tracing::error!(?e, "cannot record the uplink outage");
            }
        }
        let status = self.status_payload(true, None);
        if link.publish(self.s.topic("status"), true, status).is_ok() {
            self.outbox.other_queued(Slot::Status);
        }
        self.subscribe_resend(link);
        self.refresh_status(true);
        let mut view = self.view.clone();
        loop {
            self.fill(link);
            self.answer_resend(link);
            self.refresh_status(false);
            let stopping = tokio::select! {
                ev = link.poll() => match ev {
                    Ok(ev) => { self.on_event(ev); false }
                    Err(e) => return End::Lost(e),
                },
                _ = view.changed() => false,
                _ = metrics_tick.tick() => { self.publish_metrics(link); false }
                _ = tokio::time::sleep(Duration::from_millis(250)) => false,
                r = stop.changed() => r.is_err() || *stop.borrow(),
            };
            if stopping {
                self.goodbye(link).await;
                return End::Stopped;
            }
        }
    }

    /// Clean stop: retained `online: false`, wait briefly for acks, disconnect.
    async fn goodbye<L: Link>(&mut self, link: &mut L) {
        let payload = self.status_payload(false, Some("shutdown"));
        if link.publish(self.s.topic("status"), true, payload).is_ok() {
            self.outbox.other_queued(Slot::Status);
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.outbox.unanswered() > 0 {
            match tokio::time::timeout_at(deadline, link.poll()).await {
                Ok(Ok(ev)) => self.on_event(ev),
                _ => break,
            }
        }
        link.disconnect();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    fn durable_limit(&self) -> u64 {
        self.view.borrow().last_seq
    }

    /// The stored entries after `after`, as many as one batch may hold.
    fn read_batch(&self, after: u64) -> Result<Vec<(u64, sled::IVec)>, crate::log::LogError> {
        self.reader
            .raw_after(after, self.s.batch_max_events, self.s.batch_max_bytes)
    }

    /// Hand batches to the client while the window has room and entries are waiting.
    fn fill<L: Link>(&mut self, link: &mut L) {
        let limit = self.durable_limit();
        let topic = self.s.topic("events");
        for _ in 0..self.s.in_flight {
            let Some(after) = self.outbox.wants_batch(crate::sys::wall_ms()) else {
                return;
            };
            if after >= limit {
                return;
            }
            let rows = match self.read_batch(after) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(%e, "cannot read the log for the uplink");
                    return;
                }
            };
            // The wire JSON of each entry (borrowed for JSON records, encoded for
            // compact ones); an entry that cannot be read goes out as a placeholder so
            // its seq is accounted for instead of blocking the uplink.
            let jsons: Vec<(u64, Cow<'_, [u8]>)> = rows
                .iter()
                .take_while(|(seq, _)| *seq <= limit)
                .map(|(seq, bytes)| {
                    let j = crate::log::json_of(*seq, bytes).unwrap_or_else(|why| {
                        tracing::error!(seq, %why, "unreadable log entry sent as a placeholder");
                        Cow::Owned(protocol::unreadable_entry(*seq, &why))
                    });
                    (*seq, j)
                })
                .collect();
            let refs: Vec<(u64, &[u8])> = jsons.iter().map(|(s, j)| (*s, j.as_ref())).collect();
            let Some(batch) = protocol::build_batch(&self.site_id, &refs, self.s.batch_max_bytes)
            else {
                return;
            };
            match link.publish(topic.clone(), false, batch.payload) {
                Ok(()) => self.outbox.batch_queued(batch.from_seq, batch.to_seq),
                Err(_) => return, // the client's queue is full; try after the next event
            }
        }
    }

    fn on_event(&mut self, ev: LinkEvent) {
        match ev {
            LinkEvent::Sent(pkid) => self.outbox.on_outgoing(pkid),
            LinkEvent::Publish { topic, payload } => self.on_resend_request(&topic, &payload),
            LinkEvent::PubAck { pkid, reason } => {
                let now = crate::sys::wall_ms();
                let slot = self.outbox.slot_of(pkid);
                let verdict = refusal::verdict(reason, slot, self.s.hold_without_subscribers);
                let retry_at = self
                    .refusals
                    .retry_at(&verdict, now, self.jitter.next_u64());
                // A broker that answers is a working connection: only now does the
                // reconnect backoff start again from 1 s (a broker that accepts and
                // then drops every connection is retried ever more slowly).
                self.backoff.reset();
                let effect = self.outbox.on_puback(pkid, verdict, retry_at);
                if let Some(upto) = effect.advance_to {
                    if let Err(e) = self.cursor.mark_published(upto) {
                        tracing::error!(%e, upto, "cannot persist the uplink cursor");
                    }
                    self.refusals.accepted(now);
                }
                if let Some((slot, why)) = effect.refused {
                    let topic = self.s.topic(slot.name());
                    if why == "no_matching_subscribers" {
                        tracing::warn!(%topic, "no collector is subscribed; the batch is kept and sent again later");
                    } else {
                        tracing::error!(
                            message = slot.name(),
                            reason = %why,
                            %topic,
                            "the broker refused a publish; it stays unsent and is retried later"
                        );
                    }
                    self.refusals.refused(now, slot, why);
                    self.refresh_status(true);
                }
            }
            _ => {}
        }
    }

    /// Feed entries made durable since the last look into the day's figures.
    fn observe_new_entries(&mut self) {
        let limit = self.durable_limit();
        for _ in 0..10_000 {
            if self.observed_upto >= limit {
                return;
            }
            match self.reader.entries_after(self.observed_upto, 2000) {
                Ok(es) if es.is_empty() => return,
                Ok(es) => {
                    for e in es.iter().take_while(|e| e.seq <= limit) {
                        self.stats.observe(e);
                        self.observed_upto = e.seq;
                    }
                    if es.last().is_some_and(|e| e.seq > limit) {
                        return;
                    }
                }
                Err(e) => {
                    tracing::error!(%e, "metrics cannot read the log");
                    return;
                }
            }
        }
    }

    fn outside(&self, now: i64) -> Outside {
        let view = self.view.borrow().clone();
        let (backlog_count, backlog_oldest_at) = self.reader.backlog().unwrap_or((0, None));
        let printer = view.devices.iter().find(|d| d.device == "printer");
        Outside {
            site: self.site_id.clone(),
            province: self.province.clone(),
            version: env!("CARGO_PKG_VERSION").into(),
            boot_count: self.reader.boot_count(),
            waiting: view
                .services
                .iter()
                .map(|s| (s.id.clone(), (s.waiting as u64, s.waiting_priority as u64)))
                .collect(),
            counters: view
                .counters
                .iter()
                .map(|c| (c.number, c.state.to_string()))
                .collect(),
            printer_state: printer.map_or("none".into(), |p| p.state.clone()),
            printer_detail: printer.map_or(String::new(), |p| p.detail.clone()),
            process_uptime_s: ((now - self.started_at).max(0) / 1000) as u64,
            host_uptime_s: crate::sys::host_uptime_s(),
            backlog_count,
            backlog_oldest_at,
            published_seq: self.outbox.cursor(),
            store_size_bytes: self.reader.size_on_disk(),
            uplink_down_since: self.outage.down_since(),
        }
    }

    fn publish_metrics<L: Link>(&mut self, link: &mut L) {
        self.observe_new_entries();
        let now = crate::sys::wall_ms();
        let outside = self.outside(now);
        let report = self.stats.report(now, &outside);
        let payload = match serde_json::to_vec(&report) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(%e, "cannot encode metrics");
                return;
            }
        };
        match link.publish(self.s.topic("metrics"), false, payload) {
            Ok(()) => {
                self.outbox.other_queued(Slot::Metrics);
                self.last_metrics_at = Some(now);
            }
            Err(e) => tracing::warn!(%e, "metrics skipped: the MQTT client queue is full"),
        }
    }
}

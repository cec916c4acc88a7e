//! The collector's hand-off stays bounded under a flood while PostgreSQL is stalled, with
//! real parts: a real Mosquitto (2.0.11 in Debian 12 sends far more than the collector's
//! Receive Maximum once it has a queue for it), a real `layso province run` and a real
//! PostgreSQL whose `events` table is locked by the test for a while. The collector must
//! stop reading rather than pile messages up, and lose nothing when PostgreSQL returns.
#![cfg(feature = "province")]

#[path = "support/mosquitto.rs"]
mod mosquitto;
#[path = "support/postgres.rs"]
mod postgres;
#[path = "support/province.rs"]
mod province;

use mosquitto::*;
use postgres::Pg;
use province::*;
use rumqttc::v5::mqttbytes::v5::Packet;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use std::time::{Duration, Instant};

const SITES: usize = 40;
const MESSAGES_PER_SITE: u64 = 100;
const ENTRIES_PER_MESSAGE: u64 = 10;

/// Publish every site's messages (QoS 1) and wait until the broker has accepted them all.
async fn flood(port: u16, day: &str) {
    let mut o = MqttOptions::new("flood", "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_outgoing_inflight_upper_limit(200);
    let (client, mut el) = AsyncClient::new(o, 400);
    let total = SITES * MESSAGES_PER_SITE as usize;
    let driver = tokio::spawn(async move {
        let mut acks = 0usize;
        let deadline = Instant::now() + Duration::from_secs(120);
        while acks < total && Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_secs(5), el.poll()).await {
                Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => acks += 1,
                Ok(Ok(_)) | Err(_) => {}
                Ok(Err(e)) => panic!("flood publisher lost the broker: {e}"),
            }
        }
        acks
    });
    let at = now_ms();
    for m in 0..MESSAGES_PER_SITE {
        let (from, to) = (m * ENTRIES_PER_MESSAGE + 1, (m + 1) * ENTRIES_PER_MESSAGE);
        for s in 0..SITES {
            let site = format!("fl-{s:03}");
            client
                .publish(
                    format!("layso/v1/fl/{site}/events"),
                    QoS::AtLeastOnce,
                    false,
                    events_message(&site, day, from, to, at),
                )
                .await
                .unwrap_or_else(|e| panic!("publish: {e}"));
        }
    }
    let acks = driver.await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(acks, total, "the broker did not accept the whole flood");
}

/// `name=N` in a log line (the harness starts the collector with `NO_COLOR`: no colour
/// codes).
fn field(line: &str, name: &str) -> Option<u64> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_with_postgres_stalled_stays_within_the_cap_and_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let pg = Pg::start();
    let broker = Broker::start(&dir.join("broker"), BrokerOptions::default());
    // batch_max_messages = 200 (the harness): Receive Maximum and the cap are 400.
    let mut c = Collector::start(&dir.join("c"), "collector-a", broker.port, &pg.url()).await;
    let db = postgres::client(&pg.url()).await;
    // Stall PostgreSQL for the collector: its inserts wait on this lock.
    db.batch_execute("BEGIN; LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let day = "2026-12-01";
    flood(broker.port, day).await;
    // Everything is in the broker now; the collector holds at most its cap meanwhile.
    tokio::time::sleep(Duration::from_secs(2)).await;
    db.batch_execute("ROLLBACK")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let total = (SITES as u64 * MESSAGES_PER_SITE * ENTRIES_PER_MESSAGE) as i64;
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut counts = (0i64, 0i64);
    while Instant::now() < deadline {
        let r = db
            .query_one(
                "SELECT count(*), count(DISTINCT (site, seq)) FROM events",
                &[],
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        counts = (r.get(0), r.get(1));
        if counts.0 >= total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        counts,
        (total, total),
        "every event exactly once; collector log:\n{}",
        c.log()
    );
    c.terminate();
    let log = c.log();
    let line = log
        .lines()
        .rfind(|l| l.contains("collector hand-off at shutdown"))
        .unwrap_or_else(|| panic!("no hand-off figures in the log:\n{log}"));
    let (peak, cap, pauses) = (
        field(line, "held_peak"),
        field(line, "held_cap"),
        field(line, "pauses"),
    );
    assert_eq!(cap, Some(400), "{line}");
    assert!(
        peak.is_some_and(|p| p <= 400),
        "more messages held than the cap: {line}"
    );
    assert!(
        pauses.is_some_and(|p| p > 0),
        "the reader never had to stop reading, so the cap was not exercised: {line}"
    );
}

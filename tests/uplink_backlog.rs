//! The broker is unreachable while 50,000 events are produced; when it returns, the
//! backlog drains completely, the collector has every entry, the outage is recorded,
//! and the metrics show backlog 0.

#[path = "support/mosquitto.rs"]
mod mosquitto;

use layso::core::Command;
use mosquitto::*;
use std::time::{Duration, Instant};

const EVENTS: u64 = 50_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backlog_of_50000_events_drains_after_a_long_outage() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let port = free_port();
    let mut broker = Broker::configure(&tmp.path().join("broker"), port, BrokerOptions::default());
    let store = tmp.path().join("store");
    let text = site_config(
        SITE,
        &store,
        free_port(),
        &format!(
            "host = \"127.0.0.1\"\nport = {port}\nmetrics_interval_secs = 1\nhold_without_subscribers = true\n"
        ),
    );
    let site = InProcess::start(&text);
    let outage_from = now_ms();

    // Produce the events while nothing listens on the broker's port.
    let started = Instant::now();
    // Tickets are issued and called in turn, as at a busy center (the queue stays short).
    let workers: Vec<_> = (0..64)
        .map(|w| {
            let h = site.handle.clone();
            tokio::spawn(async move {
                let mut issued = 0u64;
                for i in 0..5000 {
                    if h.reader().last_seq().unwrap_or(0) >= EVENTS {
                        break;
                    }
                    let cmd = if i % 2 == 0 {
                        Command::Issue {
                            service: if w % 3 == 0 { "B" } else { "A" }.into(),
                            priority: false,
                            source: "test".into(),
                        }
                    } else {
                        Command::Next { counter: 1 }
                    };
                    let is_issue = matches!(cmd, Command::Issue { .. });
                    match h.execute(cmd).await {
                        Ok(_) if is_issue => issued += 1,
                        Ok(_) | Err(layso::engine::ExecError::Rejected(_)) => {}
                        Err(e) => panic!("command failed: {e:?}"),
                    }
                }
                issued
            })
        })
        .collect();
    let mut issued = 0;
    for w in workers {
        issued += w.await.unwrap_or_else(|e| panic!("{e}"));
    }
    let produced = site.handle.reader().last_seq().unwrap_or(0);
    eprintln!(
        "produced {produced} events ({issued} tickets) in {:.1} s with the broker down",
        started.elapsed().as_secs_f64()
    );
    assert!(produced >= EVENTS);
    let st = site.status();
    assert_eq!(st["connected"], false, "{st}");
    assert!(st["last_error"]["message"].is_string(), "{st}");
    site.assert_status(Duration::from_secs(3), "status shows the backlog", |s| {
        s["backlog"]["count"].as_u64().unwrap_or(0) >= EVENTS
    })
    .await;

    // The broker comes back, with the province's collector.
    broker.run();
    let back_at = now_ms();
    let sub = Subscriber::start(port, "layso/v1/#", None);
    let drain_start = Instant::now();
    site.assert_status(Duration::from_secs(120), "backlog did not drain", |s| {
        s["backlog"]["count"] == 0 && s["connected"] == true
    })
    .await;
    eprintln!(
        "drained (including the reconnect backoff) in {:.1} s",
        drain_start.elapsed().as_secs_f64()
    );

    let seqs = reader_seqs(site.handle.reader());
    assert!(
        sub.wait_for(Duration::from_secs(30), |c| c
            .missing_of(SITE, &seqs)
            .is_empty())
            .await,
        "{} logged events never reached the collector",
        sub.with(|c| c.missing_of(SITE, &seqs).len())
    );
    // The outage was recorded (and published like everything else).
    let restored = sub.with(|c| {
        c.events
            .values()
            .find(|e| e["event"]["kind"] == "uplink_restored")
            .cloned()
    });
    let r = restored.unwrap_or_else(|| panic!("no uplink_restored event"));
    let (from, to) = (
        r["event"]["down_from"].as_i64().unwrap_or(0),
        r["event"]["down_to"].as_i64().unwrap_or(0),
    );
    assert!(
        from >= outage_from - 1000 && from <= outage_from + 5000,
        "{r}"
    );
    assert!(to >= back_at, "{r}");

    // Metrics with backlog 0 and every ticket counted.
    assert!(
        sub.wait_for(Duration::from_secs(10), |c| c
            .metrics
            .iter()
            .any(|m| m["backlog"]["count"] == 0))
            .await,
        "no metrics with backlog 0"
    );
    let m = sub.with(|c| {
        c.metrics
            .iter()
            .rev()
            .find(|m| m["backlog"]["count"] == 0)
            .cloned()
    });
    let m = m.unwrap_or_default();
    assert_valid(&schema("metrics"), "metrics", &m);
    assert_eq!(m["backlog"]["oldest_at"], serde_json::Value::Null);
    assert_eq!(m["totals"]["day"]["issued"].as_u64(), Some(issued), "{m}");
    let waiting: usize = site.handle.view().services.iter().map(|s| s.waiting).sum();
    assert_eq!(m["totals"]["waiting"].as_u64(), Some(waiting as u64));
    assert!(
        m["totals"]["day"]["served"].as_u64().unwrap_or(0) > 10_000,
        "{m}"
    );
    assert!(m["availability"]["uplink_down_ms"].as_i64().unwrap_or(0) >= to - from);
    site.shutdown().await;
}

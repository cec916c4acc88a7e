//! Officers and ratings reach the province: with the real daemon and a real Mosquitto,
//! the collector receives `officer_signed_in`, calls and serves carrying the officer, and
//! the `rated` entry (an unsatisfied one, the alert), all valid against the schema.

#[path = "support/mosquitto.rs"]
mod mosquitto;

use mosquitto::*;
use serde_json::{json, Value};
use std::time::Duration;

/// Officers, reasons and the counter-1 tablet (`tablet-1-secret`).
const RATINGS: &str = include_str!("fixtures/ratings.toml");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officer_and_rating_entries_reach_the_collector() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let broker = Broker::start(&tmp.path().join("broker"), BrokerOptions::default());
    let sub = Subscriber::start(broker.port, "layso/v1/#", None);
    assert!(
        sub.wait_for(Duration::from_secs(5), |c| c.connections > 0)
            .await
    );
    let web = free_port();
    let uplink = format!("host = \"127.0.0.1\"\nport = {}\n", broker.port);
    let text = site_config(SITE, &tmp.path().join("store"), web, &uplink) + RATINGS;
    let d = Daemon::start(tmp.path(), &text, web).await;

    let http = reqwest::Client::new();
    let url = |p: &str| format!("http://127.0.0.1:{web}{p}");
    let post = |path: &str, cred: &'static str, body: Value| {
        http.post(url(path))
            .bearer_auth(cred)
            .json(&body)
            .timeout(Duration::from_secs(5))
            .send()
    };
    assert!(d.issue("A").await.is_some(), "issue; log:\n{}", d.log());
    let r = post(
        "/api/v1/counters/1/signin",
        "counter-1-secret",
        json!({"officer": "lan", "pin": "4821"}),
    )
    .await
    .map(|r| r.status().as_u16());
    assert_eq!(r.ok(), Some(200), "sign-in; log:\n{}", d.log());
    assert!(d.counter(1, "next").await.is_some());
    assert!(d.counter(1, "complete").await.is_some());
    let r = post(
        "/api/v1/counters/1/rating",
        "tablet-1-secret",
        json!({"level": "unsatisfied", "reasons": ["slow"], "dossier": "HS-1"}),
    )
    .await
    .map(|r| r.status().as_u16());
    assert_eq!(r.ok(), Some(201), "rating; log:\n{}", d.log());

    let got = sub
        .wait_for(Duration::from_secs(15), |c| {
            c.events.values().any(|e| e["event"]["kind"] == "rated")
        })
        .await;
    assert!(
        got,
        "no rated entry reached the collector; log:\n{}",
        d.log()
    );
    let (events, batches) = sub.with(|c| (c.events.clone(), c.raw_batches.clone()));
    let kind = |k: &str| {
        events
            .values()
            .filter(|e| e["event"]["kind"] == k)
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(kind("officer_signed_in")[0]["event"]["officer"], "lan");
    assert_eq!(kind("ticket_called")[0]["event"]["officer"], "lan");
    assert_eq!(kind("ticket_served")[0]["event"]["officer"], "lan");
    let rated = &kind("rated")[0]["event"];
    assert_eq!(
        (
            rated["ticket"].as_str(),
            rated["officer"].as_str(),
            rated["level"].as_str()
        ),
        (Some("A001"), Some("lan"), Some("unsatisfied"))
    );
    assert_eq!(rated["reasons"], json!(["slow"]));
    assert_eq!(rated["dossier"], "HS-1");
    let schema = schema("events");
    for b in &batches {
        assert_valid(&schema, "events", b);
    }
}

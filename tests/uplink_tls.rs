//! TLS with client certificates made here, against the province example configuration
//! (`config/province/mosquitto.conf` and its ACL): a site with its certificate publishes;
//! one without a certificate is refused; a site publishing under another site's topic
//! gets the denial surfaced in its status and loses nothing.

#[path = "support/mosquitto.rs"]
mod mosquitto;

use layso::core::Command;
use mosquitto::*;
use std::path::Path;
use std::time::Duration;

fn tls_uplink(
    port: u16,
    ca: &Path,
    client: Option<&(std::path::PathBuf, std::path::PathBuf)>,
) -> String {
    let mut s = format!(
        "host = \"127.0.0.1\"\nport = {port}\nmetrics_interval_secs = 1\n[uplink.tls]\nca_file = \"{}\"\n",
        ca.display()
    );
    if let Some((cert, key)) = client {
        s += &format!(
            "cert_file = \"{}\"\nkey_file = \"{}\"\n",
            cert.display(),
            key.display()
        );
    }
    s
}

async fn issue(site: &InProcess, n: usize) {
    for i in 0..n {
        let cmd = Command::Issue {
            service: if i % 2 == 0 { "A" } else { "B" }.into(),
            priority: false,
            source: "test".into(),
        };
        if let Err(e) = site.handle.execute(cmd).await {
            panic!("issue failed: {e:?}");
        }
    }
}

fn collector(pki: &Pki, port: u16) -> Subscriber {
    let (cert, key) = pki.client("province-collector");
    Subscriber::start(
        port,
        "layso/v1/#",
        Some(SubscriberTls {
            ca: pki.ca.clone(),
            cert,
            key,
        }),
    )
}

/// Certificates made here, the example TLS broker on them, and the collector connected.
async fn tls_broker(dir: &std::path::Path) -> (Pki, Broker, Subscriber) {
    let pki = Pki::new(&dir.join("pki"));
    let broker = Broker::from_example(&dir.join("broker"), &pki);
    let sub = collector(&pki, broker.port);
    assert!(
        sub.wait_for(Duration::from_secs(5), |c| c.connections > 0)
            .await,
        "collector could not connect"
    );
    (pki, broker, sub)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_client_certificate_works_and_without_one_is_refused() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (pki, broker, sub) = tls_broker(tmp.path()).await;

    let cert = pki.client(SITE);
    let site = InProcess::for_site(
        SITE,
        &tmp.path().join("store-a"),
        &tls_uplink(broker.port, &pki.ca, Some(&cert)),
    );
    issue(&site, 10).await;
    assert!(
        site.wait_status(Duration::from_secs(15), |s| s["connected"] == true
            && s["backlog"]["count"] == 0)
            .await,
        "TLS site did not deliver: {}\nbroker log:\n{}",
        site.status(),
        broker.log()
    );
    assert_eq!(site.status()["tls"], true);
    let seqs = reader_seqs(site.handle.reader());
    assert!(
        sub.wait_for(Duration::from_secs(10), |c| c
            .missing_of(SITE, &seqs)
            .is_empty())
            .await
    );
    assert!(
        sub.wait_for(Duration::from_secs(5), |c| !c.metrics.is_empty())
            .await,
        "metrics over TLS"
    );

    // Same CA, no client certificate: the broker refuses the connection.
    let nocert = InProcess::for_site(
        "site-c",
        &tmp.path().join("store-c"),
        &tls_uplink(broker.port, &pki.ca, None),
    );
    issue(&nocert, 3).await;
    nocert
        .assert_status(Duration::from_secs(10), "no connection error", |s| {
            s["last_error"]["message"].is_string()
        })
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let st = nocert.status();
    assert_eq!(st["connected"], false, "{st}");
    assert_eq!(st["connections"], 0, "{st}");
    assert_eq!(st["published_seq"], 0, "{st}");
    assert!(
        st["backlog"]["count"].as_u64().unwrap_or(0) >= 4,
        "kept for later: {st}"
    );
    assert!(sub.with(|c| c.seqs("site-c").is_empty()));
    nocert.shutdown().await;
    site.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_denial_is_surfaced_and_nothing_is_lost() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (pki, broker, sub) = tls_broker(tmp.path()).await;

    // Site "site-b" connects with site-a's certificate: its topic is not its own.
    let store = tmp.path().join("store-b");
    let wrong = pki.client("site-a");
    let site = InProcess::for_site(
        "site-b",
        &store,
        &tls_uplink(broker.port, &pki.ca, Some(&wrong)),
    );
    issue(&site, 12).await;
    assert!(
        site.wait_status(Duration::from_secs(10), |s| s["refusing"] == true
            && s["last_refusal"]["reason"] == "not_authorized")
            .await,
        "denial not surfaced: {}\nbroker log:\n{}",
        site.status(),
        broker.log()
    );
    let first = site.status()["refusals"].as_u64().unwrap_or(0);
    // Retried later, refused again, never counted as published.
    site.assert_status(Duration::from_secs(10), "not retried", |s| {
        s["refusals"].as_u64().unwrap_or(0) >= first + 2
    })
    .await;
    let st = site.status();
    assert_eq!(st["connected"], true, "{st}");
    assert_eq!(st["published_seq"], 0, "{st}");
    assert!(
        st["last_refusal"]["topic"]
            .as_str()
            .unwrap_or("")
            .starts_with("layso/v1/hcm/site-b/"),
        "{st}"
    );
    let logged = reader_seqs(site.handle.reader());
    assert_eq!(site.handle.reader().published().unwrap_or(99), 0);
    assert!(
        sub.with(|c| c.seqs("site-b").is_empty()),
        "the broker let denied messages through"
    );
    site.shutdown().await;

    // With its own certificate the same store delivers everything it kept.
    let own = pki.client("site-b");
    let site = InProcess::for_site(
        "site-b",
        &store,
        &tls_uplink(broker.port, &pki.ca, Some(&own)),
    );
    site.assert_status(
        Duration::from_secs(15),
        "not delivered after the fix",
        |s| s["backlog"]["count"] == 0 && s["refusing"] == false,
    )
    .await;
    assert!(
        sub.wait_for(Duration::from_secs(10), |c| c
            .missing_of("site-b", &logged)
            .is_empty())
            .await,
        "missing after the fix: {:?}",
        sub.with(|c| c.missing_of("site-b", &logged))
    );
    site.shutdown().await;
}

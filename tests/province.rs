//! The province side end to end with real parts: real `layso run` daemons → a real
//! Mosquitto → real `layso province run` collectors → a throw-away PostgreSQL. After each
//! fault every (site, seq) the sites logged is in PostgreSQL exactly once.
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
use std::path::Path;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

fn uplink(port: u16) -> String {
    format!("host = \"127.0.0.1\"\nport = {port}\nmetrics_interval_secs = 1\nhold_without_subscribers = true\n")
}

/// A broker that keeps its sessions' queued messages on disk.
fn persistent() -> BrokerOptions {
    BrokerOptions {
        persistence: true,
        ..Default::default()
    }
}

async fn start_site(dir: &Path, site: &str, broker: u16) -> Daemon {
    let d = dir.join(site);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
    let port = free_port();
    let text = site_config(site, &d.join("store"), port, &uplink(broker));
    Daemon::start(&d, &text, port).await
}

/// Some citizens: tickets for A and B, calls, services, a no-show.
async fn activity(d: &Daemon, n: usize) {
    for i in 0..n {
        let svc = if i % 2 == 0 { "A" } else { "B" };
        assert!(
            d.issue(svc).await.is_some(),
            "ticket not issued:\n{}",
            d.log()
        );
        if i % 3 == 2 {
            let _ = d.counter(1, "next").await;
            let _ = d.counter(2, "next").await;
            let _ = d
                .counter(1, if i % 2 == 0 { "complete" } else { "skip" })
                .await;
        }
    }
}

async fn last_seq(d: &Daemon) -> u64 {
    d.state()
        .await
        .and_then(|s| s["store"]["last_seq"].as_u64())
        .unwrap_or(0)
}

/// While the daemon runs: PostgreSQL holds exactly 1..=last_seq. Then stop it and check
/// against its store on disk.
async fn assert_exactly_once(d: &mut Daemon, dir: &Path, site: &str, pg: &Pg) {
    let last = last_seq(d).await;
    assert!(last > 0);
    let want: Vec<u64> = (1..=last).collect();
    if let Err(e) = wait_exactly(&pg.url(), site, &want, WAIT).await {
        panic!("{e}\nsite log tail:\n{}", tail(&d.log()));
    }
    d.terminate();
    let logged = store_seqs(&dir.join(site).join("store"), site);
    if let Err(e) = wait_exactly(&pg.url(), site, &logged, Duration::from_secs(15)).await {
        panic!("after stopping the site: {e}");
    }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sites_to_postgres_exactly_once_with_a_collector_killed_mid_batch() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let pg = Pg::start();
    let broker = Broker::start(&dir.join("broker"), persistent());
    let mut a = Collector::start(&dir.join("c"), "collector-a", broker.port, &pg.url()).await;
    let b = Collector::start(&dir.join("c"), "collector-b", broker.port, &pg.url()).await;
    let sites = ["hcm-p1", "hcm-p2", "hcm-p3"];
    let mut daemons = Vec::new();
    for s in sites {
        daemons.push(start_site(dir, s, broker.port).await);
    }
    for d in &daemons {
        activity(d, 12).await;
    }
    // SIGKILL one collector while batches are flowing: what it held unacknowledged
    // stays in its session; the other collector sees the gaps and asks the sites again.
    let flood = {
        let apis: Vec<Api> = daemons.iter().map(|d| d.api.clone()).collect();
        tokio::spawn(async move {
            for _ in 0..15 {
                for a in &apis {
                    let _ = a.issue("A").await;
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    a.kill();
    flood.await.unwrap_or_else(|e| panic!("{e}"));
    for d in &daemons {
        activity(d, 6).await;
    }
    for (d, s) in daemons.iter_mut().zip(sites) {
        assert_exactly_once(d, dir, s, &pg).await;
    }
    // Figures, dashboard JSON and the report come from those rows.
    let overview = b
        .poll_json("/api/overview", 100, |v| {
            v["sites"].as_array().is_some_and(|a| {
                a.len() == 3 && a.iter().all(|s| s["tickets_today"].as_i64() == Some(33))
            })
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let list = overview["sites"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 3, "{overview}");
    for s in &list {
        assert_eq!(
            s["tickets_today"],
            33,
            "{s}\ncollector log:\n{}",
            tail(&b.log())
        );
        assert!(
            s["name"]
                .as_str()
                .unwrap_or("")
                .starts_with("Trung tâm thử"),
            "{s}"
        );
        assert_eq!(s["online"], false, "the sites were stopped: {s}");
    }
    let site = b
        .get_json("/api/sites/hcm-p1")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(site["days"][0]["issued"], 33, "{site}");
    let day = &site["days"][0];
    for (what, n) in [
        ("served", &day["served"]),
        ("served at counter 1", &day["per_counter"]["1"]["served"]),
        ("issued for service A", &day["per_service"]["A"]["issued"]),
    ] {
        assert!(n.as_i64().unwrap_or(0) > 0, "{what}: {site}");
    }
    let csv = reqwest::Client::new()
        .get(b.url("/report?format=csv"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The centers' table, then the ratings, reasons and officers sections.
    let lines: Vec<&str> = csv.lines().take_while(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(csv.contains("\r\n\r\nĐánh giá của người dân\r\n"), "{csv}");
    assert!(csv.contains("\r\n\r\nCán bộ\r\n"), "{csv}");
    assert!(lines[0].contains("Số phiếu đã phát"), "{csv}");
    assert!(lines[4].starts_with("3 trung tâm,Tổng cộng,,99,"), "{csv}");
    // The same from the command line, as XLSX.
    let out = dir.join("week.xlsx");
    let week = overview["week"].as_str().unwrap_or("").to_string();
    let st = std::process::Command::new(env!("CARGO_BIN_EXE_layso"))
        .args(["province", "report", "--config"])
        .arg(&b.config)
        .args(["--week", &week, "--out"])
        .arg(&out)
        .env_remove("DATABASE_URL")
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(st.success());
    let bytes = std::fs::read(&out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(&bytes[..2], b"PK", "an XLSX file is a zip");
    assert!(
        b.log()
            .contains("asking the site to send missing entries again")
            || !a.log().is_empty()
    );
}

/// Broker SIGKILL with persistence (the collector's queued messages survive), then a
/// broker without persistence (they are lost after the sites had their PUBACK): the
/// collector finds the gaps and the sites send them again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_restarts_with_and_without_persistence() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let pg = Pg::start();
    let port = free_port();
    let mut broker = Broker::start_on(&dir.join("broker"), port, persistent());
    let mut c = Collector::start(&dir.join("c"), "collector-a", port, &pg.url()).await;
    let sites = ["dn-a", "dn-b"];
    let mut daemons = Vec::new();
    for s in sites {
        daemons.push(start_site(dir, s, port).await);
    }
    for d in &daemons {
        activity(d, 6).await;
    }
    // Collector away: messages queue in its persistent session on the broker.
    c.kill();
    for d in &daemons {
        activity(d, 6).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await; // autosave_interval 1 s
    broker.restart();
    c.run().await;
    for d in &daemons {
        activity(d, 3).await;
    }
    // Now a broker that forgets everything: what was queued for the collector is gone.
    c.kill();
    for d in &daemons {
        activity(d, 6).await;
    }
    broker.kill();
    drop(broker);
    let _broker2 = Broker::start_on(&dir.join("broker2"), port, BrokerOptions::default());
    let start = now_ms();
    for d in &daemons {
        assert!(
            d.wait_connected_after(start, Duration::from_secs(30)).await,
            "site did not reconnect:\n{}",
            tail(&d.log())
        );
    }
    c.run().await;
    for d in &daemons {
        activity(d, 3).await;
    }
    for (d, s) in daemons.iter_mut().zip(sites) {
        assert_exactly_once(d, dir, s, &pg).await;
    }
}

/// A broker whose queue for the collector overflows drops messages the sites already
/// had acknowledged; a site is off (power cut) for a while and comes back. The collector
/// asks for the gaps; the outage shows on the center's page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_queue_limit_exceeded_and_a_site_offline_then_back() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let pg = Pg::start();
    let port = free_port();
    let bdir = dir.join("broker");
    let mut broker = Broker::configure(&bdir, port, BrokerOptions::default());
    let conf = bdir.join("mosquitto.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap_or_else(|e| panic!("{e}"));
    text = text.replace("max_queued_messages 1000000", "max_queued_messages 5");
    std::fs::write(&conf, text).unwrap_or_else(|e| panic!("{e}"));
    broker.run();
    let mut c = Collector::start(&dir.join("c"), "collector-a", port, &pg.url()).await;
    let mut site = start_site(dir, "qn-a", port).await;
    activity(&site, 3).await;
    c.kill();
    // Well over 5 messages while the collector is away: the broker drops the rest.
    activity(&site, 30).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    c.run().await;
    // A power cut at the site: SIGKILL, a pause, back.
    site.kill();
    tokio::time::sleep(Duration::from_secs(2)).await;
    site.run().await;
    activity(&site, 3).await;
    assert_exactly_once(&mut site, dir, "qn-a", &pg).await;
    assert!(
        c.log()
            .contains("asking the site to send missing entries again"),
        "the overflow should have left gaps to request:\n{}",
        tail(&c.log())
    );
    let page = c
        .poll_json("/api/sites/qn-a", 50, |p| {
            p["outages"]
                .as_array()
                .is_some_and(|o| o.iter().any(|x| x["kind"] == "power"))
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let power: Vec<&serde_json::Value> = page["outages"]
        .as_array()
        .map(|o| o.iter().filter(|x| x["kind"] == "power").collect())
        .unwrap_or_default();
    assert_eq!(power.len(), 1, "{page}");
    let span = power[0]["to"].as_i64().unwrap_or(0) - power[0]["from"].as_i64().unwrap_or(0);
    assert!(span >= 1500, "the site was off about 2 s: {page}");
}

/// PostgreSQL stops (fast shutdown) while sites are busy and comes back: nothing is
/// acknowledged to the broker before it is committed, so nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let mut pg = Pg::start();
    let broker = Broker::start(&dir.join("broker"), persistent());
    let c = Collector::start(&dir.join("c"), "collector-a", broker.port, &pg.url()).await;
    let mut site = start_site(dir, "ct-a", broker.port).await;
    activity(&site, 6).await;
    pg.stop(false);
    activity(&site, 12).await;
    // Keep PostgreSQL down until the collector has tried (and failed) to commit what
    // came meanwhile. A fixed 2 s pause can end before anything reached the collector on
    // a loaded machine, and the test then failed on "the outage was not noticed".
    for _ in 0..300 {
        if c.log().contains("cannot commit a batch") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        c.log().contains("cannot commit a batch"),
        "the outage was not noticed within 30 s:\n{}",
        tail(&c.log())
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    pg.run();
    activity(&site, 3).await;
    assert_exactly_once(&mut site, dir, "ct-a", &pg).await;
}

/// `layso province check --config FILE`, without `DATABASE_URL` from the environment.
fn province_check(config: &Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_layso"))
        .args(["province", "check", "--config"])
        .arg(config)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn province_check_reports_line_and_column() {
    let ok =
        province_check(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/province/dev.toml"));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("dashboard http://127.0.0.1:8090"));
    // A bad PostgreSQL URL on line 4 and a bad listen address on line 6.
    let out = province_check(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/province_bad.toml"),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml:4:7: url = \"x\": give a PostgreSQL URL"),
        "{err}"
    );
    assert!(err.contains("bad.toml:6:10: listen = \"nowhere\""), "{err}");
}

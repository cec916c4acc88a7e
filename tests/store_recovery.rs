//! A store corrupted between runs: the daemon starts anyway, quarantines it, keeps
//! issuing numbers above the old ones, and `GET /api/v1/state` shows the alarm.

mod support;

use serde_json::Value;
use support::daemon::Site;

async fn issue(client: &reqwest::Client, site: &Site, service: &str) -> Value {
    site.issue(client, service).await
}

fn corrupt(dir: &std::path::Path) {
    for entry in std::fs::read_dir(dir).expect("store dir") {
        let p = entry.expect("entry").path();
        if p.is_dir() {
            corrupt(&p);
        } else {
            let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0).max(64);
            std::fs::write(&p, vec![0x5Au8; len as usize]).expect("overwrite");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_store_is_quarantined_and_numbering_continues() {
    let site = Site::new("");
    let client = reqwest::Client::new();
    let d = tokio::task::block_in_place(|| site.start());
    let mut last = 0;
    for _ in 0..5 {
        last = issue(&client, &site, "A").await["ticket"]["number"]
            .as_u64()
            .unwrap_or(0);
    }
    assert_eq!(last, 5);
    let last_seq = issue(&client, &site, "B").await["ticket"]["seq"]
        .as_u64()
        .unwrap_or(0);
    d.kill9();

    corrupt(&site.store());

    let d = tokio::task::block_in_place(|| site.start());
    let state = site.state(&client).await;
    assert_eq!(state["store"]["ok"], false, "{}", state["store"]);
    let alarms = state["store"]["alarms"].to_string();
    assert!(
        alarms.contains("moved to"),
        "alarm names the quarantine: {alarms}"
    );
    let t = issue(&client, &site, "A").await;
    let n = t["ticket"]["number"].as_u64().unwrap_or(0);
    assert!(n > last, "numbering continues above {last}, got {n}");
    assert!(
        t["ticket"]["seq"].as_u64().unwrap_or(0) > last_seq,
        "seq keeps growing"
    );
    let b = issue(&client, &site, "B").await["ticket"]["number"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        b > 1,
        "service B continues above its old number too, got {b}"
    );

    let quarantined: Vec<_> = std::fs::read_dir(site.dir.path())
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("quarantined"))
        .collect();
    assert_eq!(
        quarantined.len(),
        1,
        "the old store is kept aside for inspection"
    );

    // A second, ordinary restart keeps the new store and its numbering.
    assert_eq!(d.stop(), Some(0), "clean stop");
    let d = tokio::task::block_in_place(|| site.start());
    let n2 = issue(&client, &site, "A").await["ticket"]["number"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(n2, n + 1);
    let state = site.state(&client).await;
    assert_eq!(
        state["store"]["ok"], true,
        "a healthy restart clears the alarm"
    );
    d.kill9();
    println!(
        "store recovery: old numbers up to A{last:03}; after quarantine A{n:03}, then A{n2:03}"
    );
}

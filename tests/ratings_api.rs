//! Officers, ratings and the daily report over the HTTP API, in process: sign-in with
//! PIN, attribution, the rating device's credential, binding rules, alerts, report and
//! CSV, and that the report is the same after a restart (it is computed from the log).

#[macro_use]
#[path = "support/api.rs"]
mod api;

use api::{Api, Setup};
use axum::http::StatusCode;
use serde_json::Value;
use std::path::Path;

/// This site does not allow anonymous counters; the officers, reasons and the counter-1
/// tablet are the shared ratings fixture.
const EXTRA: &str = concat!(
    "[ratings]\nallow_anonymous_counters = false\nwindow_seconds = 120\nhead_counter = 3\n\n",
    include_str!("fixtures/ratings.toml")
);

fn api(store: &Path) -> Api {
    Api::start(Setup {
        extra: EXTRA,
        store: Some(store.to_path_buf()),
        rate_per_minute: Some(1000),
        ..Setup::default()
    })
}

/// The state summary is published just after a command's answer: read views until
/// `ready` holds (at most 2 s), and return the last one.
async fn until(
    a: &Api,
    path: &str,
    auth: Option<&str>,
    ready: impl Fn(&Value) -> bool,
) -> (StatusCode, Value) {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let got = a.call("GET", path, auth, "").await;
        if ready(&got.1) || std::time::Instant::now() > end {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

fn ok(got: &(StatusCode, Value)) {
    assert!(got.0.is_success(), "{} {}", got.0, got.1);
}

const C1: Option<&str> = Some("counter1-dev");
const TAB: Option<&str> = Some("tablet-1-secret");

#[tokio::test]
async fn officers_ratings_and_the_day_report() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("store");
    let a = api(&store);

    // Nobody signed in: this site does not allow anonymous counters.
    ok(&a
        .call("POST", "/api/v1/tickets", None, r#"{"service":"A"}"#)
        .await);
    ok(&a
        .call("POST", "/api/v1/tickets", None, r#"{"service":"A"}"#)
        .await);
    let signin = "/api/v1/counters/1/signin";
    a.assert_refused(&rows! {
        "POST", "/api/v1/counters/1/next", C1, "", 409, "not_signed_in";
        // Wrong PIN and unknown officer look the same.
        "POST", signin, C1, r#"{"officer":"lan","pin":"0000"}"#, 403, "wrong_pin";
        "POST", signin, C1, r#"{"officer":"ghost","pin":"4821"}"#, 403, "wrong_pin";
        // The counter credential is needed, too.
        "POST", signin, None, r#"{"officer":"lan","pin":"4821"}"#, 401, "unauthorized";
    })
    .await;
    let s = a
        .call(
            "POST",
            "/api/v1/counters/1/signin",
            C1,
            r#"{"officer":"lan","pin":"4821"}"#,
        )
        .await;
    ok(&s);
    assert_eq!(s.1["officer"]["name"], "Nguyễn Thị Lan");
    assert!(
        s.1.to_string().find("4821").is_none(),
        "PIN echoed: {}",
        s.1
    );

    let called = a.call("POST", "/api/v1/counters/1/next", C1, "").await;
    ok(&called);
    assert_eq!(
        called.1["events"][0]["event"]["officer"], "lan",
        "{}",
        called.1
    );
    let state = until(&a, "/api/v1/state", None, |v| {
        v["counters"][0]["officer"]["id"] == "lan"
    })
    .await;
    assert_eq!(state.1["counters"][0]["officer"]["id"], "lan");
    assert!(state.1["counters"][0]["officer"].get("pin").is_none());

    // The rating device: its own credential, not the counter's.
    let rating = "/api/v1/counters/1/rating";
    let satisfied = r#"{"level":"satisfied"}"#;
    a.assert_refused(&rows! {
        "POST", rating, C1, satisfied, 403, "forbidden";
        "POST", "/api/v1/counters/2/rating", TAB, satisfied, 404, "no_rating_device";
        // Not finished yet.
        "POST", rating, TAB, satisfied, 409, "nothing_to_rate";
    })
    .await;
    let t = a.call("GET", "/api/v1/counters/1/rating", TAB, "").await;
    assert!(t.1["ratable"].is_null(), "{}", t.1);
    assert_eq!(t.1["reasons"][0]["code"], "slow");

    ok(&a.call("POST", "/api/v1/counters/1/complete", C1, "").await);
    let t = until(&a, "/api/v1/counters/1/rating", TAB, |v| {
        !v["ratable"].is_null()
    })
    .await;
    assert_eq!(t.1["ratable"]["ticket"], "A001", "{}", t.1);
    a.assert_refused(&rows! {
        "POST", rating, TAB, r#"{"level":"meh"}"#, 400, "bad_request";
        "POST", rating, TAB, r#"{"level":"unsatisfied","reasons":["nope"]}"#, 409, "bad_rating";
    })
    .await;
    let r = a
        .call(
            "POST",
            "/api/v1/counters/1/rating",
            TAB,
            r#"{"level":"unsatisfied","reasons":["slow"],"dossier":"HS-2026-0042"}"#,
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let ev = &r.1["events"][0]["event"];
    assert_eq!(
        (
            ev["kind"].as_str(),
            ev["ticket"].as_str(),
            ev["officer"].as_str()
        ),
        (Some("rated"), Some("A001"), Some("lan"))
    );
    a.assert_refused(&rows! {
        "POST", "/api/v1/counters/1/rating", TAB, r#"{"level":"satisfied"}"#, 409, "already_rated";
    })
    .await;

    // The alert is in the state and in the alerts endpoint (head is counter 3).
    let state = until(&a, "/api/v1/state", None, |v| {
        v["ratings_alerts"][0]["ticket"] == "A001"
    })
    .await;
    assert_eq!(
        state.1["ratings_alerts"][0]["ticket"], "A001",
        "{}",
        state.1
    );
    let al = a.call("GET", "/api/v1/ratings/alerts", None, "").await;
    assert_eq!(al.1["head_counter"], 3);
    assert_eq!(al.1["alerts"][0]["reasons"][0], "slow");

    // Signing in at counter 2 signs lan out of counter 1.
    let s2 = a
        .call(
            "POST",
            "/api/v1/counters/2/signin",
            Some("counter2-dev"),
            r#"{"officer":"lan","pin":"4821"}"#,
        )
        .await;
    ok(&s2);
    let kinds: Vec<_> = s2.1["events"]
        .as_array()
        .map(|v| {
            v.iter()
                .map(|e| e["event"]["kind"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(kinds, vec!["officer_signed_out", "officer_signed_in"]);
    a.assert_refused(&rows! {
        "POST", "/api/v1/counters/1/next", C1, "", 409, "not_signed_in";
    })
    .await;
    ok(&a
        .call("POST", "/api/v1/counters/2/next", Some("counter2-dev"), "")
        .await);
    ok(&a
        .call("POST", "/api/v1/counters/2/skip", Some("counter2-dev"), "")
        .await);
    ok(&a
        .call(
            "POST",
            "/api/v1/counters/2/signout",
            Some("counter2-dev"),
            "",
        )
        .await);

    // The report: admin or the head's counter; not another counter.
    a.assert_refused(&rows! {
        "GET", "/api/v1/reports/day", C1, "", 403, "forbidden";
    })
    .await;
    let rep = a
        .call("GET", "/api/v1/reports/day", Some("counter3-dev"), "")
        .await;
    ok(&rep);
    let check = |v: &Value| {
        let t = &v["report"]["total"];
        assert_eq!(
            (
                t["issued"].as_u64(),
                t["served"].as_u64(),
                t["no_shows"].as_u64()
            ),
            (Some(2), Some(1), Some(1)),
            "{v}"
        );
        assert_eq!(t["ratings"]["total"], 1);
        assert_eq!(t["ratings"]["levels"][2]["share"], 1.0);
        assert_eq!(t["ratings"]["reasons"]["slow"], 1);
        assert_eq!(v["report"]["officers"]["lan"]["served"], 1);
        assert_eq!(v["report"]["officers"]["lan"]["no_shows"], 1);
        assert_eq!(v["names"]["officers"]["lan"], "Nguyễn Thị Lan");
        assert_eq!(v["names"]["reasons"]["slow"], "Chờ quá lâu");
    };
    check(&rep.1);
    let day = rep.1["report"]["day"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (s, ctype, csv) = a
        .raw(
            "GET",
            &format!("/api/v1/reports/day.csv?day={day}"),
            Some("admin-dev"),
            "",
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(ctype.starts_with("text/csv"), "{ctype}");
    assert!(
        csv.contains("\nofficer,lan,Nguyễn Thị Lan,0,2,1,1,"),
        "{csv}"
    );
    assert!(csv.contains("\nslow,Chờ quá lâu,1\n"), "{csv}");
    a.assert_refused(&rows! {
        "GET", "/api/v1/reports/day?day=2026-13-45", Some("admin-dev"), "", 400, "bad_request";
    })
    .await;
    let empty = a
        .call(
            "GET",
            "/api/v1/reports/day?day=2020-01-01",
            Some("admin-dev"),
            "",
        )
        .await;
    assert_eq!(empty.1["report"]["total"]["issued"], 0);

    // Every entry, new kinds included, matches the published JSON Schema.
    let schema: Value =
        serde_json::from_str(include_str!("../docs/schemas/events.json")).expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let entries = a.handle.reader().entries_after(0, 10_000).expect("log");
    let mut kinds = std::collections::BTreeSet::new();
    let events: Vec<Value> = entries
        .iter()
        .map(|e| {
            kinds.insert(e.event.kind());
            let mut v = serde_json::to_value(e).expect("json");
            v["site"] = "dev-ben-thanh".into();
            v
        })
        .collect();
    for k in [
        "officer_signed_in",
        "officer_signed_out",
        "rated",
        "ticket_called",
        "ticket_skipped",
    ] {
        assert!(kinds.contains(k), "{k} missing from {kinds:?}");
    }
    let batch = serde_json::json!({
        "site": "dev-ben-thanh", "from_seq": entries[0].seq, "to_seq": entries[entries.len() - 1].seq,
        "count": entries.len(), "events": events,
    });
    let errors: Vec<String> = validator
        .iter_errors(&batch)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    // A rated entry with a level the schema does not know is refused (the schema checks).
    let mut bad = batch.clone();
    if let Some(ev) = bad["events"]
        .as_array_mut()
        .and_then(|v| v.iter_mut().find(|e| e["event"]["kind"] == "rated"))
    {
        ev["event"]["level"] = "meh".into();
    }
    assert!(!validator.is_valid(&bad));

    // After a restart the report is the same: it comes from the log.
    a.handle.stop().await;
    drop(a);
    let b = api(&store);
    let again = b
        .call(
            "GET",
            &format!("/api/v1/reports/day?day={day}"),
            Some("admin-dev"),
            "",
        )
        .await;
    check(&again.1);
    assert_eq!(again.1["report"], rep.1["report"]);
    b.handle.stop().await;
}

#[tokio::test]
async fn wrong_pins_lock_the_counter_for_a_minute() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = api(&dir.path().join("store"));
    let c3 = Some("counter3-dev");
    let signin = "/api/v1/counters/3/signin";
    for _ in 0..5 {
        a.assert_refused(&rows! {
            "POST", signin, c3, r#"{"officer":"minh","pin":"0000"}"#, 403, "wrong_pin";
        })
        .await;
    }
    // Even the right PIN is refused now, with a clear reason.
    a.assert_refused(&rows! {
        "POST", signin, c3, r#"{"officer":"minh","pin":"1357"}"#, 429, "too_many_attempts";
    })
    .await;
    // Other counters are not affected.
    ok(&a
        .call(
            "POST",
            "/api/v1/counters/2/signin",
            Some("counter2-dev"),
            r#"{"officer":"minh","pin":"1357"}"#,
        )
        .await);
    a.handle.stop().await;
}

//! Crash safety with the real binary: tickets are issued over HTTP from several tasks
//! while the daemon is killed with SIGKILL at random moments and restarted. Every ticket
//! whose 201 reached a client must be in the log afterwards, no number may repeat within
//! a day, and the store must always open (no quarantine).
//!
//! `LAYSO_CRASH_CYCLES` sets the number of kill/restart cycles (default 200).

mod support;

use layso::core::Event;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use support::daemon::Site;
use support::kiosk::{service, AckedLog, Load};
use support::rng::Rng;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_loses_nothing_acknowledged() {
    let cycles: usize = std::env::var("LAYSO_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64 | 1)
        .unwrap_or(0x9E37_79B9);
    println!("crash test: {cycles} cycles, seed {seed}");
    let mut rng = Rng(seed);
    let site = Site::new("");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("http client");
    let acked = AckedLog::default();
    let mut failed_requests = 0u64;
    let started = Instant::now();
    for cycle in 0..cycles {
        let site_ref = &site;
        let daemon = tokio::task::block_in_place(|| site_ref.start());
        // The store always opens: no quarantine alarm after any restart.
        let state = site.state(&client).await;
        assert_eq!(
            state["store"]["ok"], true,
            "cycle {cycle}: store alarm after restart: {}",
            state["store"]
        );
        let load = Load::start(
            4,
            || client.clone(),
            &site.url("/api/v1/tickets"),
            |i| serde_json::json!({"service": service(i), "priority": i % 7 == 0}),
            Duration::from_millis(2),
            &acked,
        );
        let run_for = 10 + rng.next() % 140;
        tokio::time::sleep(Duration::from_millis(run_for)).await;
        daemon.kill9();
        failed_requests += load.stop().await;
    }

    // Read the log as the daemon left it.
    let (log, report) =
        layso::log::EventLog::open(&site.store(), "dev-ben-thanh", 0).expect("store opens");
    assert!(report.quarantined.is_none(), "store was quarantined");
    let entries = log
        .reader()
        .entries_after(0, usize::MAX)
        .expect("read all entries");
    let by_seq: HashMap<u64, &layso::core::Entry> = entries.iter().map(|e| (e.seq, e)).collect();
    let mut issued = HashSet::new();
    let mut power = 0;
    for e in &entries {
        match &e.event {
            Event::TicketIssued { ticket, .. } => {
                assert!(
                    issued.insert((e.day, ticket.clone())),
                    "ticket {ticket} repeated on {}",
                    e.day
                );
            }
            Event::PowerRestored { .. } => power += 1,
            _ => {}
        }
    }
    let acked = acked.lock().map(|a| a.clone()).unwrap_or_default();
    for a in &acked {
        let e = by_seq.get(&a.seq).unwrap_or_else(|| {
            panic!(
                "acknowledged ticket {} (seq {}) is not in the log",
                a.ticket, a.seq
            )
        });
        match &e.event {
            Event::TicketIssued { ticket, .. } => {
                assert_eq!(ticket, &a.ticket, "seq {} holds another ticket", a.seq);
                assert_eq!(e.day.to_string(), a.day);
            }
            other => panic!("seq {} should be {} but is {other:?}", a.seq, a.ticket),
        }
    }
    assert!(
        acked.len() > cycles,
        "too few tickets acknowledged to prove anything"
    );
    // Each SIGKILL followed by a restart gives one power_restored record (the last kill
    // is followed by this read, not by a daemon).
    assert_eq!(
        power,
        cycles - 1,
        "one power_restored record per restart after a kill"
    );
    assert!(
        report.power_restored.is_some(),
        "the last kill is seen as unclean too"
    );
    println!(
        "crash test totals: {cycles} SIGKILL/restart cycles in {:.1} s; {} tickets acknowledged, all {} in the log; {} entries in the log; {} distinct numbers, 0 repeated; {} power_restored records; {} requests cut off by kills",
        started.elapsed().as_secs_f64(),
        acked.len(),
        acked.len(),
        entries.len(),
        issued.len(),
        power,
        failed_requests
    );
}

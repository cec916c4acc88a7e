//! Kiosk load for the crash and storage-fault tests: tasks that POST tickets to the real
//! daemon over HTTP and record every ticket whose 201 reached them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A ticket the daemon acknowledged (201) to a client.
#[derive(Debug, Clone)]
pub struct Acked {
    pub seq: u64,
    pub ticket: String,
    pub day: String,
}

/// The tickets acknowledged so far, shared by the load tasks.
pub type AckedLog = Arc<Mutex<Vec<Acked>>>;

/// Records the ticket in a `POST /api/v1/tickets` 201 body.
pub fn record(acked: &AckedLog, v: &serde_json::Value) {
    let t = &v["ticket"];
    if let (Some(seq), Some(ticket), Some(day)) =
        (t["seq"].as_u64(), t["ticket"].as_str(), t["day"].as_str())
    {
        if let Ok(mut a) = acked.lock() {
            a.push(Acked {
                seq,
                ticket: ticket.into(),
                day: day.into(),
            });
        }
    }
}

/// Services A, B, C in turn: the service of request `i`.
pub fn service(i: u64) -> &'static str {
    ["A", "B", "C"][(i % 3) as usize]
}

/// Running load: `workers` tasks, each POSTing `body(i)` to `url` in a loop until stopped;
/// a refused or failed request is counted and followed by `backoff`.
pub struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<u64>>,
}

impl Load {
    pub fn start(
        workers: u64,
        client: impl Fn() -> reqwest::Client,
        url: &str,
        body: fn(u64) -> serde_json::Value,
        backoff: Duration,
        acked: &AckedLog,
    ) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for worker in 0..workers {
            let client = client();
            let url = url.to_string();
            let stop = stop.clone();
            let acked = acked.clone();
            tasks.push(tokio::spawn(async move {
                let mut failures = 0u64;
                let mut i = worker;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    match client.post(&url).json(&body(i)).send().await {
                        Ok(r) if r.status() == 201 => {
                            if let Ok(v) = r.json::<serde_json::Value>().await {
                                record(&acked, &v);
                            }
                        }
                        _ => {
                            failures += 1;
                            tokio::time::sleep(backoff).await;
                        }
                    }
                }
                failures
            }));
        }
        Load { stop, tasks }
    }

    /// Stops the tasks; the number of requests not acknowledged.
    pub async fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let mut failures = 0;
        for t in self.tasks {
            failures += t.await.unwrap_or(0);
        }
        failures
    }
}

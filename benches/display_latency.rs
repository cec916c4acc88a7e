//! Call-to-display latency of the hall display: a counter's "next" API call until the
//! `ticket_called` event reaches N connected SSE clients (1 and 50), against displays that
//! poll GET /api/v1/state every 2 s. Runs the real daemon; prints p50/p99 and the ratio.

#[path = "support/bench.rs"]
mod bench;

#[path = "../tests/support/pages_daemon.rs"]
mod daemon;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

/// Full run under `cargo bench`; `cargo test --all-targets` runs this binary without
/// `--bench`, and then it only does a short smoke run (same code, fewer calls).
struct Plan {
    sse_calls: usize,
    poll_calls: usize,
    displays: [usize; 2],
}

const FULL: Plan = Plan {
    sse_calls: 200,
    poll_calls: 20,
    displays: [1, 50],
};
const SMOKE: Plan = Plan {
    sse_calls: 10,
    poll_calls: 2,
    displays: [1, 5],
};
const POLL_PERIOD: Duration = Duration::from_secs(2);
const TARGET_P99_MS: f64 = 20.0;

type Seen = (String, Instant);

fn percentile(sorted: &[f64], p: f64) -> f64 {
    bench::at(sorted, p / 100.0).unwrap_or(f64::NAN)
}

struct Stats {
    p50: f64,
    p99: f64,
    max: f64,
    n: usize,
}

fn stats(mut v: Vec<f64>) -> Stats {
    v.sort_by(|a, b| a.total_cmp(b));
    Stats {
        p50: percentile(&v, 50.0),
        p99: percentile(&v, 99.0),
        max: v.last().copied().unwrap_or(f64::NAN),
        n: v.len(),
    }
}

/// One SSE display: reports every `ticket_called` it receives (ticket, arrival instant).
async fn sse_client(
    base: String,
    tx: mpsc::UnboundedSender<Seen>,
    ready: mpsc::UnboundedSender<()>,
) -> Result<(), String> {
    let http = reqwest::Client::new();
    let mut resp = http
        .get(format!("{base}/api/v1/events"))
        .header("Accept", "text/event-stream")
        .send()
        .await
        .map_err(|e| format!("open event stream: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("event stream answered {}", resp.status()));
    }
    let _ = ready.send(());
    let mut buf = String::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("read event stream: {e}"))?
    {
        let at = Instant::now();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let message: String = buf.drain(..end + 2).collect();
            if !message.lines().any(|l| l == "event: ticket_called") {
                continue;
            }
            for line in message.lines() {
                if let Some(data) = line.strip_prefix("data:") {
                    let v: serde_json::Value = serde_json::from_str(data.trim())
                        .map_err(|e| format!("bad entry JSON {data:?}: {e}"))?;
                    if let Some(t) = v["event"]["ticket"].as_str() {
                        if tx.send((t.to_string(), at)).is_err() {
                            return Ok(());
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// One polling display: GET /api/v1/state every 2 s (first poll at `phase`); reports the
/// first poll that shows a new current ticket at counter 1.
async fn poller(
    base: String,
    phase: Duration,
    tx: mpsc::UnboundedSender<Seen>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(), String> {
    let http = reqwest::Client::new();
    let mut next = tokio::time::Instant::now() + phase;
    let mut last: Option<String> = None;
    loop {
        tokio::time::sleep_until(next).await;
        next += POLL_PERIOD;
        if *stop.borrow() {
            return Ok(());
        }
        let r = http
            .get(format!("{base}/api/v1/state"))
            .send()
            .await
            .map_err(|e| format!("poll state: {e}"))?;
        let v: serde_json::Value = r.json().await.map_err(|e| format!("state JSON: {e}"))?;
        let at = Instant::now();
        let current = v["counters"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["number"] == 1))
            .and_then(|c| c["current"]["ticket"].as_str())
            .map(str::to_string);
        if current != last {
            if let Some(t) = &current {
                if tx.send((t.clone(), at)).is_err() {
                    return Ok(());
                }
            }
            last = current;
        }
    }
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn issue(&self) -> Result<String, String> {
        let r = self
            .http
            .post(format!("{}/api/v1/tickets", self.base))
            .json(&serde_json::json!({"service": "A", "priority": false}))
            .send()
            .await
            .map_err(|e| format!("issue: {e}"))?;
        let status = r.status();
        let v: serde_json::Value = r.json().await.map_err(|e| format!("issue reply: {e}"))?;
        v["ticket"]["ticket"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("issue answered {status}: {v}"))
    }

    async fn counter(&self, action: &str) -> Result<serde_json::Value, String> {
        let r = self
            .http
            .post(format!("{}/api/v1/counters/1/{action}", self.base))
            .bearer_auth("counter1-dev")
            .send()
            .await
            .map_err(|e| format!("{action}: {e}"))?;
        let status = r.status();
        let v: serde_json::Value = r.json().await.map_err(|e| format!("{action} reply: {e}"))?;
        if status.is_success() {
            Ok(v)
        } else {
            Err(format!("{action} answered {status}: {v}"))
        }
    }
}

/// Issues a ticket, then times "next" until every one of `clients` has reported it.
async fn measure(
    api: &Api,
    rx: &mut mpsc::UnboundedReceiver<Seen>,
    clients: usize,
    calls: usize,
    gap: impl Fn(usize) -> Duration,
) -> Result<Vec<f64>, String> {
    let mut out = Vec::with_capacity(calls * clients);
    for i in 0..calls {
        let ticket = api.issue().await?;
        while rx.try_recv().is_ok() {}
        let t0 = Instant::now();
        let reply = api.counter("next").await?;
        let called = reply["current"]["ticket"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if called != ticket {
            return Err(format!("next called {called:?}, expected {ticket:?}"));
        }
        let mut got = 0;
        let deadline = tokio::time::Instant::now() + POLL_PERIOD * 3;
        while got < clients {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some((t, at))) if t == ticket => {
                    got += 1;
                    out.push(at.duration_since(t0).as_secs_f64() * 1000.0);
                }
                Ok(Some(_)) => {}
                Ok(None) => return Err("all display clients stopped".into()),
                Err(_) => {
                    return Err(format!(
                        "only {got} of {clients} displays saw {ticket} within {:?}",
                        POLL_PERIOD * 3
                    ))
                }
            }
        }
        api.counter("complete").await?;
        tokio::time::sleep(gap(i)).await;
    }
    Ok(out)
}

async fn sse_run(base: &str, api: &Api, clients: usize, calls: usize) -> Result<Stats, String> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        tasks.push(tokio::spawn(sse_client(
            base.to_string(),
            tx.clone(),
            ready_tx.clone(),
        )));
    }
    drop(tx);
    for _ in 0..clients {
        tokio::time::timeout(Duration::from_secs(10), ready_rx.recv())
            .await
            .map_err(|_| "SSE clients did not connect within 10 s".to_string())?;
    }
    // Warm-up call, not counted.
    measure(api, &mut rx, clients, 3, |_| Duration::from_millis(5)).await?;
    let v = measure(api, &mut rx, clients, calls, |_| Duration::from_millis(5)).await?;
    for t in tasks {
        t.abort();
    }
    Ok(stats(v))
}

async fn poll_run(base: &str, api: &Api, clients: usize, calls: usize) -> Result<Stats, String> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for i in 0..clients {
        // Displays are switched on at unrelated moments: spread their phases over 2 s.
        let phase = POLL_PERIOD.mul_f64(i as f64 / clients as f64);
        tasks.push(tokio::spawn(poller(
            base.to_string(),
            phase,
            tx.clone(),
            stop_rx.clone(),
        )));
    }
    drop(tx);
    tokio::time::sleep(POLL_PERIOD + Duration::from_millis(100)).await;
    // Calls at moments unrelated to the poll phases: a gap of 0.37 s * k modulo 2 s.
    let v = measure(api, &mut rx, clients, calls, |i| {
        Duration::from_millis(((i * 370) % 2000) as u64 + 50)
    })
    .await?;
    let _ = stop_tx.send(true);
    for t in tasks {
        t.abort();
    }
    Ok(stats(v))
}

fn line(label: &str, s: &Stats) {
    println!(
        "{label:<34} n={:<6} p50={:>8.2} ms  p99={:>8.2} ms  max={:>8.2} ms",
        s.n, s.p50, s.p99, s.max
    );
}

/// `one(n)` for each of the plan's display counts, each figure printed under its label as it
/// comes: (count, figures).
async fn per_display_count(
    plan: &Plan,
    one: impl AsyncFn(usize) -> Result<(String, Stats), String>,
) -> Result<Vec<(usize, Stats)>, String> {
    let mut out = Vec::new();
    for n in plan.displays {
        let (label, s) = one(n).await?;
        line(&label, &s);
        out.push((n, s));
    }
    Ok(out)
}

async fn run(plan: &Plan) -> Result<(), String> {
    let d = daemon::Daemon::start(|cfg| {
        if let Some(web) = cfg.get_mut("web").and_then(|w| w.as_table_mut()) {
            // The benchmark issues hundreds of tickets from one address.
            web.insert("kiosk_rate_per_minute".into(), 1_000_000.into());
        }
        Ok(())
    })?;
    let api = Api {
        http: reqwest::Client::new(),
        base: d.base.clone(),
    };
    println!("display latency: counter POST /next -> ticket_called seen by each display (real daemon, loopback)");
    let sse = per_display_count(plan, async |n| {
        let s = sse_run(&d.base, &api, n, plan.sse_calls).await?;
        Ok((format!("SSE, {n} display(s), {} calls", plan.sse_calls), s))
    })
    .await?;
    let poll = per_display_count(plan, async |n| {
        let s = poll_run(&d.base, &api, n, plan.poll_calls).await?;
        Ok((
            format!("poll 2 s, {n} display(s), {} calls", plan.poll_calls),
            s,
        ))
    })
    .await?;
    let by_n: HashMap<usize, &Stats> = poll.iter().map(|(n, s)| (*n, s)).collect();
    for (n, s) in &sse {
        if let Some(p) = by_n.get(n) {
            println!(
                "ratio polling/SSE with {n:>2} display(s): p50 {:.0}x, p99 {:.0}x",
                p.p50 / s.p50,
                p.p99 / s.p99
            );
        }
    }
    for (n, s) in &sse {
        println!(
            "target p99 <= {TARGET_P99_MS} ms with {n} display(s): {} ({:.2} ms)",
            if s.p99 <= TARGET_P99_MS {
                "met"
            } else {
                "NOT met"
            },
            s.p99
        );
    }
    Ok(())
}

fn main() {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(2)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the tokio runtime: {e}");
            std::process::exit(1);
        }
    };
    let plan = if std::env::args().any(|a| a == "--bench") {
        &FULL
    } else {
        println!("smoke run (no --bench): few calls; use `cargo bench --bench display_latency` for figures");
        &SMOKE
    };
    if let Err(e) = rt.block_on(run(plan)) {
        eprintln!("display_latency failed: {e}");
        std::process::exit(1);
    }
}

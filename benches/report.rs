//! Daily report benchmark: a store holding 30 busy days (1,000 tickets a day, each
//! issued, called, served and rated by a signed-in officer: about 4,000 entries a day),
//! and the time to build one day's report from it — find the day (bisection over seq),
//! read and decode its entries, fold them into the figures and render the CSV — as the
//! `GET /api/v1/reports/day` handler does. Prints the median and the slowest of 15 runs.
//!
//! Run: `cargo bench --bench report`. Target: well under a second on a Pi, so the head
//! of the center can open `/report` at any time without waiting.
//! `cargo test --all-targets` runs this program without `--bench` as a small smoke run.

use layso::core::rating::RatingLevel;
use layso::core::{DayRule, Entry, Event};
use layso::log::EventLog;
use std::time::{Duration, Instant};

// 2026-11-01 08:00 in Vietnam.
const T0: i64 = 1_793_494_800_000;

fn fail(msg: String) -> ! {
    eprintln!("report bench: {msg}");
    std::process::exit(1)
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let (days, per_day, runs) = if bench { (30, 1_000, 15) } else { (3, 50, 2) };
    let dir = tempfile::tempdir().unwrap_or_else(|e| fail(format!("temp dir: {e}")));
    let (mut log, _) = EventLog::open(&dir.path().join("store"), "bench", T0)
        .unwrap_or_else(|e| fail(format!("open store: {e}")));
    let rule = DayRule::VIETNAM;
    let mut seq = log.next_seq();
    let officers = ["lan", "minh", "hoa", "tuan"];
    let built = Instant::now();
    for d in 0..days {
        let mut batch = Vec::with_capacity(per_day * 4 + 1);
        let day0 = T0 + d as i64 * 86_400_000;
        let mut push = |at: i64, event: Event| {
            batch.push(Entry {
                seq,
                at,
                clock_ok: true,
                day: rule.day_of(day0),
                event,
            });
            seq += 1;
        };
        push(day0, Event::DayStarted {});
        for n in 0..per_day {
            let at = day0 + n as i64 * 30_000;
            let ticket = format!("A{:03}", n % 1000);
            let counter = (n % 4) as u16 + 1;
            let officer = officers[n % 4].to_string();
            push(
                at,
                Event::TicketIssued {
                    ticket: ticket.clone(),
                    service: "A".into(),
                    number: n as u32,
                    priority: false,
                    source: "kiosk".into(),
                    ahead: 0,
                },
            );
            push(
                at + 300_000,
                Event::TicketCalled {
                    ticket: ticket.clone(),
                    service: "A".into(),
                    counter,
                    recall: 0,
                    officer: officer.clone(),
                },
            );
            push(
                at + 300_000 + (n as i64 % 7) * 60_000,
                Event::TicketServed {
                    ticket: ticket.clone(),
                    service: "A".into(),
                    counter,
                    officer: officer.clone(),
                },
            );
            push(
                at + 800_000,
                Event::Rated {
                    counter,
                    ticket,
                    officer,
                    level: RatingLevel::ALL[n % 3],
                    reasons: if n % 3 == 2 {
                        vec!["slow".into()]
                    } else {
                        vec![]
                    },
                    dossier: String::new(),
                },
            );
        }
        log.append(&batch)
            .and_then(|_| log.flush())
            .unwrap_or_else(|e| fail(format!("append: {e}")));
    }
    let entries = seq - 1;
    println!(
        "store: {days} days, {entries} entries, written in {:.1} s",
        built.elapsed().as_secs_f64()
    );
    let reader = log.reader();
    let day = rule.day_of(T0 + (days as i64 / 2) * 86_400_000);
    let mut times: Vec<Duration> = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let got = layso::report::day_entries(&reader, day)
            .unwrap_or_else(|e| fail(format!("read day: {e}")));
        let r = layso::report::day::fold(&day.to_string(), &got);
        let csv = layso::report::csv::render(&r, |_, k| k.to_string());
        times.push(t.elapsed());
        last = Some((got.len(), r.total.served, r.total.ratings.total, csv.len()));
    }
    times.sort();
    let (n, served, rated, csv) = last.unwrap_or_default();
    if served as usize != per_day || rated as usize != per_day {
        fail(format!(
            "report of {day}: served {served}, rated {rated}, expected {per_day}"
        ));
    }
    println!(
        "report of {day} ({n} entries, {served} served, {rated} rated, CSV {csv} bytes): median {:.1} ms, slowest {:.1} ms over {runs} runs",
        times[times.len() / 2].as_secs_f64() * 1000.0,
        times[times.len() - 1].as_secs_f64() * 1000.0,
    );
}

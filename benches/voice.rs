//! Spoken-call benchmark: the default pack (espeak-ng, built here) on disk and in memory,
//! assembly time of one announcement, and call → first audio sample handed to the sound
//! device through the real engine and announcer (an `aplay` stand-in that swallows the
//! audio: `cat > /dev/null`).
//!
//! Run: `cargo bench --bench voice` (needs espeak-ng: `apt-get install espeak-ng`).

#[path = "support/bench.rs"]
mod bench;

use bench::{dir_bytes, ms};
use layso::core::Command;
use layso::engine::{self, Options, SystemClock};
use layso::voice::{announcer, espeak, pack, player, Voice};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ASSEMBLIES: usize = 1000;
const CALLS: usize = 200;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    bench::at(sorted, p).unwrap_or_default()
}

fn rss_kib() -> u64 {
    bench::status_kb("self", "VmRSS:")
}

fn main() -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let pack_dir = tmp.path().join("pack");
    let t = Instant::now();
    let n = espeak::build(&pack_dir, "espeak-ng", &espeak::default_clips(None))?;
    println!(
        "voice benchmark: default pack of {n} clips built in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    println!(
        "pack size on disk:        {:.0} KiB",
        dir_bytes(&pack_dir) as f64 / 1024.0
    );

    let aplay = tmp.path().join("aplay");
    std::fs::write(&aplay, "#!/bin/sh\nexec cat >/dev/null\n").map_err(|e| e.to_string())?;
    let _ = std::process::Command::new("chmod")
        .arg("+x")
        .arg(&aplay)
        .status();
    let store = tmp.path().join("store");
    let text = bench::site_toml("bench", 3, "counter3-bench", &store)
        + &format!(
            "\n[voice]\npack = {:?}\naplay = {:?}\n",
            pack_dir.display().to_string(),
            aplay.display().to_string()
        );
    let config = layso::config::parse(&text, "bench.toml", None).map_err(|e| e.to_string())?;
    let vc = config.voice.clone().ok_or("no [voice]")?;

    let before = rss_kib();
    let loaded = pack::load(&pack_dir).map_err(|e| e.join("; "))?;
    let after = rss_kib();
    println!(
        "loaded pack in memory:    {:.0} KiB of audio (process RSS grew {} KiB)",
        loaded.memory_bytes() as f64 / 1024.0,
        after.saturating_sub(before)
    );
    drop(loaded);

    let voice = Voice::load(&vc, &config).map_err(|e| e.join("; "))?;
    let mut samples = Vec::with_capacity(ASSEMBLIES);
    let mut len = 0;
    for i in 0..ASSEMBLIES {
        let ticket = format!("A{:03}", i % 1000);
        let t = Instant::now();
        let wav = std::hint::black_box(voice.render_wav(&ticket, 3));
        samples.push(t.elapsed());
        len = wav.len();
    }
    samples.sort();
    println!(
        "assembly (render + WAV):  p50 {}  p99 {}  ({ASSEMBLIES} calls, {:.0} KiB each)",
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.99)),
        len as f64 / 1024.0
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let config = Arc::new(config);
        let (log, report) = layso::log::EventLog::open(&config.store.path, &config.site.id, 0)
            .map_err(|e| e.to_string())?;
        let opts = Options {
            clock: Box::new(SystemClock),
            watchdog: None,
            stall_after: None,
            quota_bytes: None,
        };
        let handle = engine::start(config.clone(), log, report, opts).map_err(|e| e.to_string())?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let p = player::Player { kind: vc.player() };
        announcer::spawn(
            Arc::new(voice),
            p,
            handle.subscribe(),
            Box::new(|_, _| {}),
            Some(tx),
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut lat = Vec::with_capacity(CALLS);
        for _ in 0..CALLS {
            handle
                .execute(Command::Issue {
                    service: "A".into(),
                    priority: false,
                    source: "bench".into(),
                })
                .await
                .map_err(|e| format!("{e:?}"))?;
            let t0 = Instant::now();
            handle
                .execute(Command::Next { counter: 3 })
                .await
                .map_err(|e| format!("{e:?}"))?;
            let (_, first) = tokio::time::timeout(Duration::from_secs(5), rx.recv())
                .await
                .map_err(|_| "no audio within 5 s".to_string())?
                .ok_or("announcer stopped")?;
            lat.push(first.duration_since(t0));
            // Let the stand-in finish so calls do not queue behind each other.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        lat.sort();
        println!(
            "call -> first sample:     p50 {}  p99 {}  max {}  ({CALLS} calls through engine + announcer + aplay child)",
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.99)),
            ms(lat[lat.len() - 1])
        );
        handle.stop().await;
        Ok::<(), String>(())
    })?;
    Ok(())
}

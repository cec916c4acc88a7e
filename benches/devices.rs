//! Device benchmarks that print figures: LED-board call latency through tokio-serial to the
//! board emulator on a pseudo-terminal (p50/p99), frame building, and debouncer throughput.
//! Run: `cargo bench --bench devices`.

#[path = "support/bench.rs"]
mod bench;

#[path = "../tests/support/ledboard_emu.rs"]
#[allow(dead_code)]
mod ledboard_emu;

use std::time::{Duration, Instant};

use layso::devices::board::{report_fn, LedBoardConfig, RetryPolicy};
use layso::devices::buttons::{ButtonAction, Debouncer};
use layso::devices::ledboard::{self, Call};
use tokio::sync::broadcast;

#[derive(serde::Deserialize)]
struct Doc {
    led_boards: Vec<LedBoardConfig>,
}

fn example(name: &str) -> Result<LedBoardConfig, String> {
    let path = format!("{}/config/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let doc: Doc = toml::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    doc.led_boards
        .into_iter()
        .next()
        .ok_or_else(|| format!("{path}: no board"))
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    bench::at(sorted, p).unwrap_or_default()
}

fn main() -> Result<(), String> {
    // 1. Frame building.
    let cfg = example("ledboard-ascii-xor.toml")?;
    let modbus = example("ledboard-modbus.toml")?;
    let n = 200_000u32;
    for (name, c) in [("ascii-xor", &cfg), ("modbus", &modbus)] {
        let t = Instant::now();
        let mut bytes = 0usize;
        for i in 0..n {
            let call = Call {
                counter: (i % 12 + 1) as u16,
                ticket: format!("A{:03}", i % 1000),
            };
            if let Some(Ok(f)) = ledboard::frame_for_call(c, &call) {
                bytes += f.len();
            }
        }
        let per = t.elapsed() / n;
        println!(
            "frame build {name:>9}: {per:?} per frame ({} bytes avg)",
            bytes / n as usize
        );
    }

    // 2. Debouncer: edges per second through the pure state machine.
    let mut d = Debouncer::new(ButtonAction::Next { counter: 1 }, true, 30, 1500, true, 0);
    let edges = 5_000_000u64;
    let t = Instant::now();
    let mut fired = 0u64;
    for i in 0..edges {
        // A press every 2 s: four bouncing edges down, a tick, four bouncing edges up, a tick.
        let cycle = i / 8;
        let k = (i % 8) as usize;
        let now = cycle * 2000 + [0, 1, 2, 3, 1000, 1001, 1002, 1003][k];
        let level = [false, true, false, false, true, false, true, true][k];
        fired += u64::from(d.on_edge(level, now).is_some());
        if k == 3 || k == 7 {
            fired += u64::from(d.on_tick(now + 40).is_some());
        }
    }
    let el = t.elapsed();
    println!(
        "debouncer: {:.1} M edges/s ({} actions from {} presses)",
        edges as f64 / el.as_secs_f64() / 1e6,
        fired,
        edges / 8
    );

    // 3. Call -> board latency over a pseudo-terminal through tokio-serial.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let link = dir.path().join("layso-ledboard-hall");
        let emu = std::sync::Arc::new(
            ledboard_emu::LedBoardEmu::plug(&link, cfg.frame.get_ref().clone())
                .map_err(|e| e.to_string())?,
        );
        let mut board = cfg.clone();
        board.port = toml::Spanned::new(0..0, link.to_string_lossy().into_owned());
        let (tx, rx) = broadcast::channel(64);
        let task = tokio::spawn(ledboard::run(board, rx, report_fn(|_, _, _| {}), RetryPolicy::default()));
        tokio::time::sleep(Duration::from_millis(200)).await;
        let calls = 300;
        let mut lat = Vec::with_capacity(calls);
        for i in 0..calls {
            let ticket = format!("A{i:03}");
            let t = Instant::now();
            tx.send(Call { counter: 1, ticket: ticket.clone() }).map_err(|e| e.to_string())?;
            let want = format!("{ticket} -> Quay 1");
            // Wait on a blocking thread: tokio's timer has 1 ms resolution.
            let emu2 = emu.clone();
            let seen = tokio::task::spawn_blocking(move || {
                for _ in 0..200_000 {
                    if emu2.frames().last().is_some_and(|r| r.frame.text == want.as_bytes()) {
                        return Some(t.elapsed());
                    }
                    std::thread::sleep(Duration::from_micros(20));
                }
                None
            })
            .await
            .map_err(|e| e.to_string())?;
            let Some(took) = seen else {
                return Err(format!("board never showed ticket {ticket}"));
            };
            lat.push(took);
        }
        lat.sort();
        println!(
            "call -> LED board over PTY ({calls} calls, 22-byte frames; emulator woken by poll(2), checked every 20 us): p50 {:?}, p99 {:?}, max {:?}",
            pct(&lat, 0.5),
            pct(&lat, 0.99),
            lat[lat.len() - 1]
        );
        drop(tx);
        let _ = task.await;
        Ok::<(), String>(())
    })?;
    // 4. What the buses cost, from the transactions the driver tests pin (100 kHz I2C: 9 bits
    //    per byte; 1 MHz SPI).
    let lcd_byte_bits = (1 + 4) * 9; // address + 4 expander bytes
    println!(
        "HD44780 @100 kHz: one character {} us, 16-char row {:.1} ms, blink toggle of 4 chars {:.1} ms",
        lcd_byte_bits * 10,
        f64::from(17 * lcd_byte_bits) / 100.0,
        f64::from(5 * lcd_byte_bits) / 100.0
    );
    println!(
        "MAX7219 @1 MHz, chain of 8: one digit row {} us, full refresh {} us",
        16 * 8,
        16 * 8 * 8
    );
    Ok(())
}

//! Printer benchmark: a standard 80 mm Vietnamese ticket (and 58 mm), hybrid encoding
//! (printer font + raster Vietnamese lines + native QR) next to the same ticket fully
//! rastered: encode time (median, p99), bytes on the wire, wire time at 9600 and 115200 baud.
//!
//! Run: `cargo bench --bench printer`

#[path = "support/bench.rs"]
mod bench;
#[path = "../tests/support/print_job.rs"]
mod print_job;

use bench::ms;
use layso::devices::printer::transport::wire_time;
use layso::devices::printer::{PrinterConfig, RasterAlign, TicketEncoder, TransportKind};
use std::time::{Duration, Instant};

const ITERATIONS: usize = 300;

fn time<F: FnMut() -> usize>(mut f: F) -> (Duration, Duration, usize) {
    let mut samples = Vec::with_capacity(ITERATIONS);
    let mut len = 0;
    for _ in 0..ITERATIONS {
        let t = Instant::now();
        len = std::hint::black_box(f());
        samples.push(t.elapsed());
    }
    samples.sort();
    (
        bench::at(&samples, 0.5).unwrap_or_default(),
        bench::at(&samples, 0.99).unwrap_or_default(),
        len,
    )
}

fn main() {
    let job = print_job::standard_job();
    println!("printer benchmark: standard Vietnamese ticket, {ITERATIONS} encodes each");
    println!(
        "{:<6} {:<12} {:>12} {:>12} {:>9} {:>12} {:>12}",
        "paper", "encoding", "encode p50", "encode p99", "bytes", "@9600", "@115200"
    );
    let mut ratios = Vec::new();
    for paper in [80u32, 58] {
        let mut cfg = PrinterConfig::with_path(TransportKind::File, "bench.bin");
        cfg.paper_mm = toml::Spanned::new(0..0, paper);
        let t0 = Instant::now();
        let mut enc = match TicketEncoder::new(&cfg) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("cannot build the encoder: {e}");
                std::process::exit(1);
            }
        };
        let cold = t0.elapsed();
        let mut jcfg = cfg.clone();
        jcfg.profile.raster_align = RasterAlign::Justify;
        let justify = TicketEncoder::new(&jcfg)
            .map(|mut e| e.encode(&job).len())
            .unwrap_or(0);
        let (h50, h99, hybrid) = time(|| enc.encode(&job).len());
        let (f50, f99, full) = time(|| enc.encode_full_raster(&job).len());
        for (name, p50, p99, len) in [
            ("hybrid", h50, h99, hybrid),
            ("full raster", f50, f99, full),
        ] {
            println!(
                "{:<6} {:<12} {:>12} {:>12} {:>9} {:>12} {:>12}",
                format!("{paper} mm"),
                name,
                ms(p50),
                ms(p99),
                len,
                format!("{:.2} s", wire_time(len, 9600).as_secs_f64()),
                format!("{:.3} s", wire_time(len, 115_200).as_secs_f64()),
            );
        }
        println!(
            "{:<6} {:<12} {:>12} {:>12} {:>9} {:>12} {:>12}",
            format!("{paper} mm"),
            "hybrid/just.",
            "",
            "",
            justify,
            format!("{:.2} s", wire_time(justify, 9600).as_secs_f64()),
            format!("{:.3} s", wire_time(justify, 115_200).as_secs_f64()),
        );
        println!(
            "{paper} mm: encoder start-up (font parse + glyph cache warm-up) {}",
            ms(cold)
        );
        ratios.push((paper, full as f64 / hybrid as f64));
    }
    for (paper, r) in ratios {
        println!("{paper} mm: full raster / hybrid bytes = {r:.1}x");
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average during the run: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
}

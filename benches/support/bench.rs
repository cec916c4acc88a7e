//! Shared by the benchmarks: nearest-rank percentiles, figures from `/proc/<pid>/status`,
//! sizes of directories and durations printed in milliseconds. Include with
//! `#[path = "support/bench.rs"] mod bench;`.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

/// The nearest-rank value at fraction `p` (0 to 1) of a sorted slice; `None` when empty.
pub fn at<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    let last = sorted.len().checked_sub(1)?;
    let i = (last as f64 * p).round() as usize;
    Some(sorted[i.min(last)])
}

/// A `kB` field (`VmRSS:`, `VmHWM:` …) of `/proc/<pid>/status`; `pid` may be `"self"`.
/// 0 when it cannot be read.
pub fn status_kb(pid: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The sizes of the entries directly in `dir` (not below it), in bytes.
pub fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// `d` as "1.234 ms".
pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// The smallest site the benchmarks run: site `site` ("Bench", province hcm), service A,
/// counter `counter` serving it with `credential`, the store at `store`; callers append
/// their own sections.
pub fn site_toml(site: &str, counter: u16, credential: &str, store: &Path) -> String {
    format!(
        "[site]\nid = {site:?}\nname = \"Bench\"\nprovince = \"hcm\"\n\n\
         [[services]]\nid = \"A\"\nname_vi = \"Hộ tịch\"\n\n\
         [[counters]]\nnumber = {counter}\nservices = [\"A\"]\ncredential = {credential:?}\n\n\
         [store]\npath = {:?}\n",
        store.display().to_string()
    )
}

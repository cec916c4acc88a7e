//! Reports computed from the log, so they are right after any restart: the daily
//! report (`day.rs`, pure), its CSV form (`csv.rs`), and reading one day's entries.

pub mod csv;
pub mod day;
#[cfg(test)]
pub(crate) mod tests;

use crate::core::{Day, Entry};
use crate::log::{LogError, LogReader};

/// How many entries one read takes.
const CHUNK: usize = 2_000;

/// The stored entries of business day `day`, in order. Days only grow with seq, so the
/// first entry of the day is found by bisection, then the day is read to its end.
pub fn day_entries(reader: &LogReader, day: Day) -> Result<Vec<Entry>, LogError> {
    let Some(first) = reader.first_seq()? else {
        return Ok(Vec::new());
    };
    let last = reader.last_seq()?;
    // Smallest seq in [first, last+1] whose entry's day is >= `day`.
    let (mut lo, mut hi) = (first, last.saturating_add(1));
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        // The first stored entry at or after mid (seqs may have gaps).
        match reader.entries_after(mid.saturating_sub(1), 1)?.first() {
            Some(e) if e.day < day => lo = e.seq.max(mid) + 1,
            _ => hi = mid,
        }
    }
    let mut out = Vec::new();
    let mut after = lo.saturating_sub(1);
    loop {
        let batch = reader.entries_after(after, CHUNK)?;
        let Some(tail) = batch.last() else {
            return Ok(out);
        };
        after = tail.seq;
        let full = batch.len() == CHUNK;
        for e in batch {
            if e.day > day {
                return Ok(out);
            }
            if e.day == day {
                out.push(e);
            }
        }
        if !full {
            return Ok(out);
        }
    }
}

//! The durable event log: sled holds every entry in blocks (see [`block`]); a CRC-framed
//! journal ([`journal`]) holds a second copy of the newest business days; a high-water
//! mark ([`hwm`]) outside both says which numbers and seq may have been used. Append
//! (durable on flush of both copies), replay of the current day, metadata (boot count,
//! last-alive, clean shutdown), the uplink cursor, retention, and the checked open
//! ([`open`]): damaged files are kept aside, lost entries restored from the other copy,
//! and whatever cannot be restored is reported.
//!
//! Layout in sled: tree `blocks` maps a block number (`seq / 64`, u64 big-endian) to the
//! encoded entries of that block; tree `days` maps a day (i32 big-endian, sign-flipped)
//! to the first seq of that day; tree `meta` holds small values. Entries are grouped in
//! blocks because sled keeps bookkeeping in memory for every key: one key per entry costs
//! ~45 MB of resident memory at 1M entries, one key per 64 entries ~4 MB (see
//! docs/benchmarks.md).

pub mod block;
mod cursor;
pub mod hwm;
pub(crate) mod journal;
pub mod open;
mod reader;
mod reconcile;
mod recovery;
#[cfg(test)]
mod tests;

pub use cursor::LogCursor;
pub use hwm::HighWater;
pub use reader::LogReader;
pub use recovery::{Lost, OpenReport, Recovery};

use crate::core::{Day, Entry};
use journal::{Journal, JournalSync};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Entries per sled key.
pub const BLOCK: u64 = 64;

/// How far ahead seq numbers are reserved in the high-water mark.
pub(crate) const SEQ_RESERVE: u64 = 10_000;
/// How far ahead ticket numbers are reserved in the high-water mark.
pub(crate) const NUMBER_RESERVE: u32 = 50;

const META_SITE: &[u8] = b"site_id";
const META_BOOTS: &[u8] = b"boot_count";
const META_ALIVE: &[u8] = b"last_alive";
const META_CLEAN: &[u8] = b"clean_shutdown";
const META_PUBLISHED: &[u8] = b"published";

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("store error: {0}")]
    Sled(#[from] sled::Error),
    #[error("store I/O error at {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("entry {seq} in the store cannot be read: {why}")]
    Decode { seq: u64, why: String },
    #[error("the store at {path} is in use by another process ({why}); is another layso running? stop it first (systemctl stop layso)")]
    Locked { path: PathBuf, why: String },
    #[error("the store at {path} cannot be opened: {why}; check that the directory exists and belongs to the layso user")]
    Unusable { path: PathBuf, why: String },
    #[error("the store is being reopened after a write failure; try again in a moment")]
    Reopening,
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LogError + '_ {
    move |source| LogError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Open `path` for reading and writing, creating it (never truncating): the file and
/// whether it existed before.
pub(crate) fn open_or_create(path: &Path) -> Result<(std::fs::File, bool), LogError> {
    let existed = path.exists();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io_err(path))?;
    Ok((file, existed))
}

pub use crate::codec::{decode, encode, json_of};

fn day_key(d: Day) -> [u8; 4] {
    ((d.0 as u32) ^ 0x8000_0000).to_be_bytes()
}

fn day_from_key(k: &[u8]) -> Option<Day> {
    let b: [u8; 4] = k.try_into().ok()?;
    Some(Day((u32::from_be_bytes(b) ^ 0x8000_0000) as i32))
}

fn u64_of(v: Option<sled::IVec>) -> Option<u64> {
    let v = v?;
    let b: [u8; 8] = v.as_ref().try_into().ok()?;
    Some(u64::from_be_bytes(b))
}

fn i64_of(v: Option<sled::IVec>) -> Option<i64> {
    u64_of(v).map(|u| u as i64)
}

/// The writer side of the log, owned by the engine.
pub struct EventLog {
    reader: LogReader,
    dir: PathBuf,
    next_seq: u64,
    /// The newest block (number and contents), kept in memory so appends never read.
    tail: Option<(u64, Vec<u8>)>,
    /// The tail has entries not yet written to sled.
    dirty: bool,
    last_day: Option<Day>,
    hwm: HighWater,
    hwm_file: hwm::HwmFile,
    journal: Journal,
    /// The highest seq the flusher made durable in both copies.
    durable: Arc<AtomicU64>,
    /// sled's log file, synced after sled's flush (see [`SledFile`]).
    sled_file: SledFile,
}

/// A descriptor of sled's `db` file, kept open: sled 0.34's flush only runs
/// `sync_file_range` on what it wrote, which survives a crash but not a power cut (no
/// device-cache flush, no file size); an `fdatasync` after it makes sled's copy durable.
#[derive(Clone, Default)]
pub(crate) struct SledFile(Arc<std::sync::Mutex<Option<(PathBuf, std::fs::File)>>>);

impl SledFile {
    /// (Re)open `<dir>/db` after sled opened the store.
    pub(crate) fn open(&self, dir: &Path) -> Result<(), LogError> {
        let path = dir.join("db");
        let f = std::fs::File::open(&path).map_err(|source| LogError::Io {
            path: path.clone(),
            source,
        })?;
        if let Ok(mut g) = self.0.lock() {
            *g = Some((path, f));
        }
        Ok(())
    }

    fn sync(&self) -> Result<(), LogError> {
        let g = self.0.lock().map_err(|_| LogError::Io {
            path: PathBuf::from("db"),
            source: std::io::Error::other("sled file lock poisoned"),
        })?;
        match g.as_ref() {
            Some((path, f)) => f.sync_data().map_err(|source| LogError::Io {
                path: path.clone(),
                source,
            }),
            None => Ok(()),
        }
    }
}

impl EventLog {
    /// Open (or create) the store at `dir`, checked against the journal and the
    /// high-water mark (see [`open`]). A store that will not open or read is moved aside
    /// and rebuilt from the journal; this never fails for a damaged store, only when the
    /// files cannot be opened or written at all.
    pub fn open(
        dir: &Path,
        site_id: &str,
        now_ms: i64,
    ) -> Result<(EventLog, OpenReport), LogError> {
        open::open(dir, site_id, now_ms)
    }

    /// Let go of the store and open it again after a write failure: entries above the
    /// last durable seq are cut from both copies (they were never acknowledged), the
    /// copies are reconciled, and the report's replay is the durable state. seq keeps
    /// growing: seq of refused batches are never given out again.
    pub fn reopen(&mut self, now_ms: i64) -> Result<OpenReport, LogError> {
        open::reopen(self, now_ms)
    }

    pub fn reader(&self) -> LogReader {
        self.reader.clone()
    }

    /// The write handle for the published cursor and pruning (for the uplink).
    pub fn cursor(&self) -> LogCursor {
        LogCursor::new(self.reader.clone())
    }

    /// The seq the next appended entry must carry.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Add entries (not yet written nor durable: call [`EventLog::write`] and then flush
    /// before acknowledging). Reserves numbers and seq in the high-water mark first when
    /// needed.
    pub fn append(&mut self, entries: &[Entry]) -> Result<(), LogError> {
        self.reserve(entries)?;
        let t = self.reader.t()?;
        for e in entries {
            if e.seq < self.next_seq {
                return Err(LogError::Decode {
                    seq: e.seq,
                    why: format!("seq must grow; next is {}", self.next_seq),
                });
            }
            let idx = e.seq / BLOCK;
            let same_block = matches!(&self.tail, Some((t, _)) if *t == idx);
            if !same_block {
                self.write_tail()?;
                self.tail = Some((idx, block::empty()));
            }
            let record = encode(e);
            if let Some((_, buf)) = self.tail.as_mut() {
                block::push(buf, (e.seq % BLOCK) as u8, &record)
                    .map_err(|why| LogError::Decode { seq: e.seq, why })?;
            }
            self.journal.append(e, &record);
            self.dirty = true;
            if self.last_day.is_none_or(|d| e.day > d) {
                t.days.insert(day_key(e.day), &e.seq.to_be_bytes())?;
                self.last_day = Some(e.day);
            }
            self.next_seq = e.seq + 1;
        }
        Ok(())
    }

    fn write_tail(&mut self) -> Result<(), LogError> {
        if let (true, Some((idx, buf))) = (self.dirty, &self.tail) {
            self.reader
                .t()?
                .blocks
                .insert(idx.to_be_bytes(), block::pack(buf))?;
            self.dirty = false;
        }
        Ok(())
    }

    /// Write appended entries to sled and the journal (not durable until a flush).
    pub fn write(&mut self) -> Result<(), LogError> {
        self.write_tail()?;
        self.journal.write()
    }

    fn reserve(&mut self, entries: &[Entry]) -> Result<(), LogError> {
        let mut next = self.hwm.clone();
        let mut changed = false;
        for e in entries {
            next.last_at = next.last_at.max(e.at);
            if e.seq >= next.seq_ceiling {
                next.seq_ceiling = e.seq + SEQ_RESERVE;
                changed = true;
            }
            if next.day.is_none_or(|d| e.day > d) {
                next.day = Some(e.day);
                next.numbers.clear();
                changed = true;
            }
            if let crate::core::Event::TicketIssued {
                service, number, ..
            } = &e.event
            {
                let ceiling = next.numbers.entry(service.clone()).or_insert(0);
                if *number >= *ceiling {
                    *ceiling = number.saturating_add(NUMBER_RESERVE);
                    changed = true;
                }
            }
        }
        if changed {
            self.hwm_file.write(&next)?;
        }
        self.hwm = next;
        Ok(())
    }

    /// A handle that makes appended entries durable from another thread (the engine's
    /// flusher), so deciding the next batch overlaps with flushing this one.
    pub fn flusher(&self) -> Flusher {
        Flusher {
            reader: self.reader.clone(),
            journal: self.journal.syncer(),
            durable: self.durable.clone(),
            sled_file: self.sled_file.clone(),
        }
    }

    /// Make everything appended so far durable.
    pub fn flush(&mut self) -> Result<(), LogError> {
        self.write()?;
        self.flusher().flush(self.next_seq.saturating_sub(1))
    }

    /// Record that the daemon is alive (made durable by the next flush).
    pub fn touch_alive(&self, now_ms: i64) -> Result<(), LogError> {
        self.reader
            .t()?
            .meta
            .insert(META_ALIVE, &now_ms.to_be_bytes())?;
        Ok(())
    }

    /// Mark a clean shutdown and flush.
    pub fn close_clean(&mut self, now_ms: i64) -> Result<(), LogError> {
        let t = self.reader.t()?;
        t.meta.insert(META_ALIVE, &now_ms.to_be_bytes())?;
        t.meta.insert(META_CLEAN, &[1u8])?;
        drop(t);
        self.flush()?;
        self.mark_acked()
    }

    /// Record in the high-water mark how far entries are acknowledged (durable in both
    /// copies), when that moved. Called about once a second: the open then tells a
    /// damaged copy from the unacknowledged tail a crash leaves.
    pub fn mark_acked(&mut self) -> Result<(), LogError> {
        let durable = self.durable.load(Ordering::SeqCst);
        if durable > self.hwm.acked_seq {
            let mut next = self.hwm.clone();
            next.acked_seq = durable;
            self.hwm_file.write(&next)?;
            self.hwm = next;
        }
        Ok(())
    }
}

/// Makes the store durable: everything appended before the call is in both copies,
/// synced, when it returns.
pub struct Flusher {
    reader: LogReader,
    journal: JournalSync,
    durable: Arc<AtomicU64>,
    sled_file: SledFile,
}

impl Flusher {
    /// Flush sled and sync the journal; on success every seq up to `upto` is durable.
    pub fn flush(&self, upto: u64) -> Result<(), LogError> {
        let t = self.reader.t()?;
        // The two copies sync in parallel: the cost of the second copy is the slower of
        // two fsyncs, not their sum.
        let journal = std::thread::scope(|s| {
            let j = s.spawn(|| self.journal.sync());
            let sled =
                t.db.flush()
                    .map_err(LogError::from)
                    .and_then(|_| self.sled_file.sync());
            let journal = j.join().unwrap_or_else(|_| {
                Err(LogError::Io {
                    path: PathBuf::from("journal"),
                    source: std::io::Error::other("journal sync thread panicked"),
                })
            });
            sled.map(|_| journal)
        })?;
        journal?;
        self.durable.fetch_max(upto, Ordering::SeqCst);
        Ok(())
    }
}

//! The durable event log on sled: append (durable on flush), replay of the current day,
//! metadata (boot count, last-alive, clean shutdown), the uplink cursor, retention, and
//! quarantine of a store that will not open.
//!
//! Layout in sled: tree `blocks` maps a block number (`seq / 64`, u64 big-endian) to the
//! encoded entries of that block (see [`block`]); tree `days` maps a day (i32
//! big-endian, sign-flipped) to the first seq of that day; tree `meta` holds small
//! values. Entries are grouped in blocks because sled keeps bookkeeping in memory for
//! every key: one key per entry costs ~45 MB of resident memory at 1M entries, one key
//! per 64 entries ~4 MB (see docs/benchmarks.md). A high-water mark of numbers and seq is kept OUTSIDE
//! sled (`<store>.hwm`, written with write-temp, fsync, rename, fsync dir) so that a
//! quarantined store never makes a number repeat.

use crate::core::{Day, Entry};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Entries per sled key.
pub const BLOCK: u64 = 64;

/// The block layout: a format byte, then `(offset in block: u8, length: u16 LE, record)`
/// for each entry in seq order; each record is a [`crate::codec`] encoding. Blocks are
/// stored LZ4-compressed (format `0xB2` wrapping a `0xB1` block): sled caches what it
/// reads well past its configured capacity, so a full read of the log (the uplink
/// draining a backlog) costs resident memory in proportion to the stored bytes.
pub mod block {
    use std::borrow::Cow;

    const FORMAT: u8 = 0xB1;
    const COMPRESSED: u8 = 0xB2;

    /// The stored form of a block.
    pub fn pack(raw: &[u8]) -> Vec<u8> {
        let mut out = vec![COMPRESSED];
        out.extend_from_slice(&lz4_flex::compress_prepend_size(raw));
        out
    }

    /// The plain form of a stored block.
    pub fn unpack(stored: &[u8]) -> Result<Cow<'_, [u8]>, String> {
        match stored.split_first() {
            Some((&COMPRESSED, body)) => lz4_flex::decompress_size_prepended(body)
                .map(Cow::Owned)
                .map_err(|e| format!("compressed block does not decompress: {e}")),
            _ => Ok(Cow::Borrowed(stored)),
        }
    }

    pub fn empty() -> Vec<u8> {
        vec![FORMAT]
    }

    /// Add a record (the caller keeps seq order within the block).
    pub fn push(buf: &mut Vec<u8>, offset: u8, record: &[u8]) -> Result<(), String> {
        let len = u16::try_from(record.len())
            .map_err(|_| format!("record of {} bytes is too large", record.len()))?;
        buf.push(offset);
        buf.extend_from_slice(&len.to_le_bytes());
        buf.extend_from_slice(record);
        Ok(())
    }

    /// The records of a block: `(offset, record)`; an error for a damaged block.
    pub fn records(buf: &[u8]) -> Result<Vec<(u8, &[u8])>, String> {
        let mut out = Vec::new();
        let Some((&FORMAT, mut rest)) = buf.split_first() else {
            return Err(format!(
                "unknown block format {:?}; this daemon reads {FORMAT:#x}",
                buf.first()
            ));
        };
        while let [offset, l0, l1, tail @ ..] = rest {
            let len = usize::from(u16::from_le_bytes([*l0, *l1]));
            if tail.len() < len {
                return Err("block truncated".into());
            }
            out.push((*offset, &tail[..len]));
            rest = &tail[len..];
        }
        if !rest.is_empty() {
            return Err("block has trailing bytes".into());
        }
        Ok(out)
    }
}

/// How far ahead seq numbers are reserved in the high-water mark.
const SEQ_RESERVE: u64 = 10_000;
/// How far ahead ticket numbers are reserved in the high-water mark.
const NUMBER_RESERVE: u32 = 50;

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
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LogError + '_ {
    move |source| LogError::Io {
        path: path.to_path_buf(),
        source,
    }
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

/// Numbers and seq that may have been used, kept outside sled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HighWater {
    /// Every seq below this may have been used.
    pub seq_ceiling: u64,
    /// Latest effective time logged (for the clock rule across a quarantine).
    pub last_at: i64,
    /// The business day `numbers` belong to.
    pub day: Option<Day>,
    /// Per service: every number below this may have been issued on `day`.
    pub numbers: BTreeMap<String, u32>,
}

impl HighWater {
    fn path_for(store: &Path) -> PathBuf {
        let mut s = store.as_os_str().to_owned();
        s.push(".hwm");
        PathBuf::from(s)
    }

    pub fn read(store: &Path) -> Option<HighWater> {
        let text = fs::read(Self::path_for(store)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Write durably: temp file, fsync, rename, fsync the directory.
    fn write(&self, store: &Path) -> Result<(), LogError> {
        let path = Self::path_for(store);
        let tmp = path.with_extension("hwm.tmp");
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let body = serde_json::to_vec(self).unwrap_or_default();
        let mut f = fs::File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(&body).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
        drop(f);
        fs::rename(&tmp, &path).map_err(io_err(&path))?;
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(dir))?;
        Ok(())
    }
}

/// What opening the store found.
#[derive(Debug, Default)]
pub struct OpenReport {
    /// The previous run did not stop cleanly: `(last alive, now)`.
    pub power_restored: Option<(i64, i64)>,
    /// The store would not open and was moved here; a new one was started.
    pub quarantined: Option<(PathBuf, String)>,
    /// The high-water mark found when the store was quarantined.
    pub recovered_from: Option<HighWater>,
    pub boot_count: u64,
    /// Entries of the last business day in the log, in order, to rebuild the state.
    pub replay: Vec<Entry>,
    /// Problems to show as alarms (e.g. the store belongs to another site).
    pub alarms: Vec<String>,
}

/// The writer side of the log, owned by the engine.
pub struct EventLog {
    db: sled::Db,
    reader: LogReader,
    dir: PathBuf,
    next_seq: u64,
    /// The newest block (number and contents), kept in memory so appends never read.
    tail: Option<(u64, Vec<u8>)>,
    /// The tail has entries not yet written to sled.
    dirty: bool,
    last_day: Option<Day>,
    hwm: HighWater,
}

/// The reader side: cheap to clone, for the uplink and the web.
#[derive(Clone)]
pub struct LogReader {
    db: sled::Db,
    blocks: sled::Tree,
    days: sled::Tree,
    meta: sled::Tree,
}

/// Why sled would not open a store: corruption (quarantine it) or an environment
/// problem such as a lock or permissions (never quarantine a healthy store for that).
enum OpenFailure {
    Corrupt(String),
    Environment(LogError),
}

fn classify(dir: &Path, e: sled::Error) -> OpenFailure {
    use std::io::ErrorKind::*;
    match e {
        sled::Error::Io(io)
            if io.kind() == WouldBlock || io.to_string().contains("could not acquire lock") =>
        {
            OpenFailure::Environment(LogError::Locked {
                path: dir.to_path_buf(),
                why: io.to_string(),
            })
        }
        sled::Error::Io(io) if !matches!(io.kind(), UnexpectedEof | InvalidData) => {
            OpenFailure::Environment(LogError::Unusable {
                path: dir.to_path_buf(),
                why: io.to_string(),
            })
        }
        other => OpenFailure::Corrupt(other.to_string()),
    }
}

/// Open sled, waiting a little for a lock held by a store that is just closing (sled's
/// flusher thread lets go of it within its flush interval).
fn open_sled(dir: &Path) -> Result<sled::Db, OpenFailure> {
    let start = std::time::Instant::now();
    loop {
        match open_sled_once(dir) {
            Err(OpenFailure::Environment(LogError::Locked { .. }))
                if start.elapsed() < std::time::Duration::from_secs(3) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

fn open_sled_once(dir: &Path) -> Result<sled::Db, OpenFailure> {
    let path = dir.to_path_buf();
    let dir = dir.to_path_buf();
    // sled 0.34 panics on some corrupt stores instead of returning an error.
    let res = std::panic::catch_unwind(move || {
        sled::Config::new()
            .path(dir)
            .cache_capacity(4 * 1024 * 1024)
            .mode(sled::Mode::LowSpace)
            .open()
    });
    match res {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(e)) => Err(classify(&path, e)),
        Err(p) => Err(OpenFailure::Corrupt(
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "sled panicked while opening".into()),
        )),
    }
}

impl EventLog {
    /// Open (or create) the store at `dir`. A store that will not open or read is moved
    /// aside and a new one started; this never fails for a corrupt store, only when the
    /// directory itself cannot be written.
    pub fn open(
        dir: &Path,
        site_id: &str,
        now_ms: i64,
    ) -> Result<(EventLog, OpenReport), LogError> {
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        let mut report = OpenReport::default();
        let hwm_on_disk = HighWater::read(dir);
        let opened = open_sled(dir).and_then(|db| {
            let log = Self::from_db(db, dir, hwm_on_disk.clone().unwrap_or_default())
                .map_err(|e| OpenFailure::Corrupt(e.to_string()))?;
            // Prove the store reads: decode the last day's entries now.
            let replay = log
                .reader
                .last_day_entries()
                .map_err(|e| OpenFailure::Corrupt(e.to_string()))?;
            Ok((log, replay))
        });
        let (log, replay) = match opened {
            Ok(v) => v,
            Err(OpenFailure::Environment(e)) => return Err(e),
            Err(OpenFailure::Corrupt(why)) => {
                let qdir = quarantine_path(dir, now_ms);
                tracing::error!(store = %dir.display(), moved_to = %qdir.display(), %why,
                    "store will not open; quarantining it and starting a new one");
                if dir.exists() {
                    fs::rename(dir, &qdir).map_err(io_err(dir))?;
                }
                let db = open_sled(dir).map_err(|e| match e {
                    OpenFailure::Environment(e) => e,
                    OpenFailure::Corrupt(why) => LogError::Unusable {
                        path: dir.to_path_buf(),
                        why,
                    },
                })?;
                let hwm = hwm_on_disk.clone().unwrap_or_default();
                let log = Self::from_db(db, dir, hwm.clone())?;
                report.quarantined = Some((qdir, why));
                report.recovered_from = Some(hwm);
                (log, Vec::new())
            }
        };
        report.replay = replay;

        let meta = &log.reader.meta;
        match meta.get(META_SITE)? {
            Some(v) if v.as_ref() != site_id.as_bytes() => report.alarms.push(format!(
                "the store at {} belongs to site '{}', not '{site_id}'",
                dir.display(),
                String::from_utf8_lossy(&v)
            )),
            Some(_) => {}
            None => {
                meta.insert(META_SITE, site_id.as_bytes())?;
            }
        }
        let clean = meta.get(META_CLEAN)?.is_some_and(|v| v.as_ref() == [1]);
        if let Some(alive) = i64_of(meta.get(META_ALIVE)?) {
            if !clean {
                report.power_restored = Some((alive, now_ms.max(alive)));
            }
        }
        let boots = u64_of(meta.get(META_BOOTS)?).unwrap_or(0) + 1;
        meta.insert(META_BOOTS, &boots.to_be_bytes())?;
        meta.insert(META_CLEAN, &[0u8])?;
        meta.insert(META_ALIVE, &now_ms.to_be_bytes())?;
        report.boot_count = boots;
        log.db.flush()?;
        Ok((log, report))
    }

    fn from_db(db: sled::Db, dir: &Path, hwm: HighWater) -> Result<EventLog, LogError> {
        let reader = LogReader {
            blocks: db.open_tree("blocks")?,
            days: db.open_tree("days")?,
            meta: db.open_tree("meta")?,
            db: db.clone(),
        };
        let last = reader.last_seq()?;
        // A store with no entries (new after a quarantine, or removed by hand) continues
        // above the high-water mark; an existing one simply continues.
        let next_seq = if last == 0 {
            hwm.seq_ceiling.max(1)
        } else {
            last + 1
        };
        let last_day = reader.days.last()?.and_then(|(k, _)| day_from_key(&k));
        let tail = match reader.blocks.last()? {
            Some((k, v)) => {
                let idx = u64_of(Some(k)).unwrap_or(0);
                let plain = block::unpack(&v).map_err(|why| LogError::Decode {
                    seq: idx * BLOCK,
                    why,
                })?;
                Some((idx, plain.into_owned()))
            }
            None => None,
        };
        Ok(EventLog {
            db,
            reader,
            dir: dir.to_path_buf(),
            next_seq,
            tail,
            dirty: false,
            last_day,
            hwm,
        })
    }

    pub fn reader(&self) -> LogReader {
        self.reader.clone()
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
                self.write()?;
                self.tail = Some((idx, block::empty()));
            }
            if let Some((_, buf)) = self.tail.as_mut() {
                block::push(buf, (e.seq % BLOCK) as u8, &encode(e))
                    .map_err(|why| LogError::Decode { seq: e.seq, why })?;
            }
            self.dirty = true;
            if self.last_day.is_none_or(|d| e.day > d) {
                self.reader
                    .days
                    .insert(day_key(e.day), &e.seq.to_be_bytes())?;
                self.last_day = Some(e.day);
            }
            self.next_seq = e.seq + 1;
        }
        Ok(())
    }

    /// Write appended entries to sled (still not durable until a flush).
    pub fn write(&mut self) -> Result<(), LogError> {
        if let (true, Some((idx, buf))) = (self.dirty, &self.tail) {
            self.reader
                .blocks
                .insert(idx.to_be_bytes(), block::pack(buf))?;
            self.dirty = false;
        }
        Ok(())
    }

    fn reserve(&mut self, entries: &[Entry]) -> Result<(), LogError> {
        let mut changed = false;
        for e in entries {
            self.hwm.last_at = self.hwm.last_at.max(e.at);
            if e.seq >= self.hwm.seq_ceiling {
                self.hwm.seq_ceiling = e.seq + SEQ_RESERVE;
                changed = true;
            }
            if self.hwm.day.is_none_or(|d| e.day > d) {
                self.hwm.day = Some(e.day);
                self.hwm.numbers.clear();
                changed = true;
            }
            if let crate::core::Event::TicketIssued {
                service, number, ..
            } = &e.event
            {
                let ceiling = self.hwm.numbers.entry(service.clone()).or_insert(0);
                if *number >= *ceiling {
                    *ceiling = number.saturating_add(NUMBER_RESERVE);
                    changed = true;
                }
            }
        }
        if changed {
            self.hwm.write(&self.dir)?;
        }
        Ok(())
    }

    /// A handle that makes appended entries durable from another thread (the engine's
    /// flusher), so deciding the next batch overlaps with flushing this one.
    pub fn flusher(&self) -> Flusher {
        Flusher(self.db.clone())
    }

    /// Make everything appended so far durable.
    pub fn flush(&mut self) -> Result<(), LogError> {
        self.write()?;
        self.db.flush()?;
        Ok(())
    }

    /// Record that the daemon is alive (made durable by the next flush).
    pub fn touch_alive(&self, now_ms: i64) -> Result<(), LogError> {
        self.reader.meta.insert(META_ALIVE, &now_ms.to_be_bytes())?;
        Ok(())
    }

    /// Mark a clean shutdown and flush.
    pub fn close_clean(&mut self, now_ms: i64) -> Result<(), LogError> {
        self.reader.meta.insert(META_ALIVE, &now_ms.to_be_bytes())?;
        self.reader.meta.insert(META_CLEAN, &[1u8])?;
        self.flush()
    }
}

/// Flushes the store: everything appended before the call is durable when it returns.
pub struct Flusher(sled::Db);

impl Flusher {
    pub fn flush(&self) -> Result<(), LogError> {
        self.0.flush()?;
        Ok(())
    }
}

fn quarantine_path(dir: &Path, now_ms: i64) -> PathBuf {
    let mut s = dir.as_os_str().to_owned();
    s.push(format!(".quarantined-{now_ms}"));
    PathBuf::from(s)
}

impl LogReader {
    /// The stored records of one block, as `(seq, record)`.
    fn block_records(&self, key: &[u8], value: &[u8]) -> Result<Vec<(u64, sled::IVec)>, LogError> {
        let idx = u64_of(Some(key.into())).unwrap_or(0);
        let decode_err = |why| LogError::Decode {
            seq: idx * BLOCK,
            why,
        };
        let plain = block::unpack(value).map_err(decode_err)?;
        let records = block::records(&plain).map_err(decode_err)?;
        Ok(records
            .into_iter()
            .map(|(off, r)| (idx * BLOCK + u64::from(off), sled::IVec::from(r)))
            .collect())
    }

    pub fn last_seq(&self) -> Result<u64, LogError> {
        match self.blocks.last()? {
            Some((k, v)) => Ok(self.block_records(&k, &v)?.last().map_or(0, |r| r.0)),
            None => Ok(0),
        }
    }

    pub fn first_seq(&self) -> Result<Option<u64>, LogError> {
        match self.blocks.first()? {
            Some((k, v)) => Ok(self.block_records(&k, &v)?.first().map(|r| r.0)),
            None => Ok(None),
        }
    }

    /// Entries of the last business day that has any, in order.
    pub fn last_day_entries(&self) -> Result<Vec<Entry>, LogError> {
        let Some((_, first)) = self.days.last()? else {
            return Ok(Vec::new());
        };
        let first = u64_of(Some(first)).unwrap_or(0);
        self.entries_after(first.saturating_sub(1), usize::MAX)
    }

    /// Up to `max_count` stored entries with seq > `after`, and at most `max_bytes` of
    /// encoded data (at least one entry when there is one), as `(seq, stored record)`.
    pub fn raw_after(
        &self,
        after: u64,
        max_count: usize,
        max_bytes: usize,
    ) -> Result<Vec<(u64, sled::IVec)>, LogError> {
        let mut out = Vec::new();
        let mut bytes = 0;
        let start = after.saturating_add(1);
        for kv in self.blocks.range((start / BLOCK).to_be_bytes()..) {
            let (k, v) = kv?;
            for (seq, r) in self.block_records(&k, &v)? {
                if seq < start {
                    continue;
                }
                if out.len() >= max_count || (!out.is_empty() && bytes + r.len() > max_bytes) {
                    return Ok(out);
                }
                bytes += r.len();
                out.push((seq, r));
            }
        }
        Ok(out)
    }

    /// Decoded entries with seq > `after` (bounded by `max_count`).
    pub fn entries_after(&self, after: u64, max_count: usize) -> Result<Vec<Entry>, LogError> {
        self.raw_after(after, max_count, usize::MAX)?
            .into_iter()
            .map(|(seq, v)| decode(seq, &v).map_err(|why| LogError::Decode { seq, why }))
            .collect()
    }

    /// Every entry with seq <= this has been acknowledged by the broker.
    pub fn published(&self) -> Result<u64, LogError> {
        Ok(u64_of(self.meta.get(META_PUBLISHED)?).unwrap_or(0))
    }

    /// Advance the published cursor (never moves it back).
    pub fn mark_published(&self, upto: u64) -> Result<(), LogError> {
        self.meta.fetch_and_update(META_PUBLISHED, |old| {
            let cur = old
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .unwrap_or(0);
            Some(cur.max(upto).to_be_bytes().to_vec())
        })?;
        Ok(())
    }

    /// Entries not yet acknowledged: count, and the time of the oldest.
    pub fn backlog(&self) -> Result<(u64, Option<i64>), LogError> {
        let published = self.published()?;
        let last = self.last_seq()?;
        let first = self.first_seq()?.unwrap_or(last + 1);
        let from = published.max(first.saturating_sub(1));
        let count = last.saturating_sub(from);
        let oldest = match self.raw_after(published, 1, usize::MAX)?.first() {
            Some((seq, v)) => decode(*seq, v).ok().map(|e| e.at),
            None => None,
        };
        Ok((count, oldest))
    }

    /// Remove published entries older than `cutoff_ms`, whole blocks at a time. Never
    /// removes the newest block (it carries the seq high-water mark) nor a block holding
    /// anything unpublished or recent.
    pub fn prune(&self, cutoff_ms: i64) -> Result<u64, LogError> {
        let published = self.published()?;
        let Some((last_key, _)) = self.blocks.last()? else {
            return Ok(0);
        };
        let mut removed = 0u64;
        loop {
            let mut batch = sled::Batch::default();
            let mut n = 0usize;
            let mut done = false;
            for kv in self.blocks.range(..last_key.clone()).take(1_000) {
                let (k, v) = kv?;
                let recs = self.block_records(&k, &v)?;
                let removable = recs.iter().all(|(seq, r)| {
                    *seq <= published && decode(*seq, r).is_ok_and(|e| e.at < cutoff_ms)
                });
                if !removable {
                    done = true;
                    break;
                }
                batch.remove(k);
                removed += recs.len() as u64;
                n += 1;
            }
            if n > 0 {
                self.blocks.apply_batch(batch)?;
            }
            if done || n == 0 {
                break;
            }
        }
        // Drop the markers of days before the first remaining entry's day.
        if let Some(first) = self.first_seq()? {
            if let Some(e) = self.entries_after(first.saturating_sub(1), 1)?.first() {
                for kv in self.days.range(..day_key(e.day)) {
                    let (k, _) = kv?;
                    self.days.remove(k)?;
                }
            }
        }
        Ok(removed)
    }

    /// Bytes the store occupies on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }

    pub fn boot_count(&self) -> u64 {
        u64_of(self.meta.get(META_BOOTS).ok().flatten()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Event;

    fn entry(seq: u64, at: i64, day: i32, event: Event) -> Entry {
        Entry {
            seq,
            at,
            clock_ok: true,
            day: Day(day),
            event,
        }
    }

    fn issued(n: u32) -> Event {
        Event::TicketIssued {
            ticket: format!("A{n:03}"),
            service: "A".into(),
            number: n,
            priority: false,
            source: "t".into(),
            ahead: 0,
        }
    }

    #[test]
    fn append_replay_power_and_cursor() -> Result<(), LogError> {
        let tmp = tempfile::tempdir().map_err(io_err(Path::new("tmp")))?;
        let dir = tmp.path().join("store");
        let n = 3 * BLOCK + 5;
        {
            let (mut log, rep) = EventLog::open(&dir, "s", 1000)?;
            assert!(rep.power_restored.is_none());
            assert_eq!(log.next_seq(), 1);
            // Day 1: seq 1..=100 at times 11..=110, day 2: the rest at 1101...
            for seq in 1..=n {
                let (day, at) = if seq <= 100 {
                    (1, 10 + seq as i64)
                } else {
                    (2, 1_000 + seq as i64)
                };
                let ev = if seq == 1 || seq == 101 {
                    Event::DayStarted {}
                } else {
                    issued(seq as u32)
                };
                log.append(&[entry(seq, at, day, ev)])?;
                if seq % 7 == 0 {
                    log.write()?;
                }
            }
            log.flush()?;
            // No clean close: simulates a crash.
        }
        let (mut log, rep) = EventLog::open(&dir, "s", 5000)?;
        assert_eq!(rep.power_restored, Some((1000, 5000)));
        assert_eq!(rep.boot_count, 2);
        let replayed: Vec<u64> = rep.replay.iter().map(|e| e.seq).collect();
        assert_eq!(
            replayed,
            (101..=n).collect::<Vec<_>>(),
            "only the last day is replayed"
        );
        assert_eq!(log.next_seq(), n + 1);
        // Appending after a reopen continues the tail block.
        log.append(&[entry(n + 1, 2_000, 2, issued(999))])?;
        log.flush()?;
        let r = log.reader();
        assert_eq!(r.last_seq()?, n + 1);
        let all = r.entries_after(0, usize::MAX)?;
        assert_eq!(
            all.iter().map(|e| e.seq).collect::<Vec<_>>(),
            (1..=n + 1).collect::<Vec<_>>()
        );
        assert_eq!(
            r.raw_after(100, 10, usize::MAX)?.first().map(|x| x.0),
            Some(101)
        );
        let limited = r.raw_after(100, 1000, 100)?;
        let bytes: usize = limited.iter().map(|x| x.1.len()).sum();
        assert!(
            !limited.is_empty() && bytes <= 100 && limited.len() < 50,
            "{bytes} bytes"
        );
        assert_eq!(r.raw_after(n + 1, 10, usize::MAX)?.len(), 0);
        assert_eq!(r.backlog()?.0, n + 1);
        r.mark_published(150)?;
        r.mark_published(1)?;
        assert_eq!(r.published()?, 150);
        // Block 0 (seq 1..=63) is published and older than the cutoff: pruned whole;
        // block 1 (64..=127) holds recent entries.
        assert_eq!(r.prune(1_000)?, 63);
        assert_eq!(r.first_seq()?, Some(64));
        assert_eq!(r.prune(i64::MAX)?, 64, "block 1 is all published");
        assert_eq!(
            r.prune(i64::MAX)?,
            0,
            "block 2 holds unpublished entries: never pruned"
        );
        assert_eq!(r.first_seq()?, Some(128));
        r.mark_published(n + 1)?;
        assert_eq!(r.prune(i64::MAX)?, 64, "the newest block always stays");
        assert_eq!(r.backlog()?.0, 0);
        log.close_clean(6000)?;
        drop(r);
        drop(log);
        let (log, rep) = EventLog::open(&dir, "s", 7000)?;
        assert!(
            rep.power_restored.is_none(),
            "clean shutdown gives no power record"
        );
        assert_eq!(log.next_seq(), n + 2);
        Ok(())
    }

    #[test]
    fn a_store_in_use_is_refused_not_quarantined() -> Result<(), LogError> {
        let tmp = tempfile::tempdir().map_err(io_err(Path::new("tmp")))?;
        let dir = tmp.path().join("store");
        let (_log, _) = EventLog::open(&dir, "s", 1000)?;
        let second = std::thread::spawn({
            let dir = dir.clone();
            move || EventLog::open(&dir, "s", 2000).map(|_| ())
        })
        .join();
        assert!(
            matches!(second, Ok(Err(LogError::Locked { .. }))),
            "{second:?}"
        );
        assert!(dir.exists(), "the store in use stays where it is");
        let quarantined = fs::read_dir(tmp.path())
            .map_err(io_err(tmp.path()))?
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains("quarantined"))
            .count();
        assert_eq!(quarantined, 0, "no quarantine");
        Ok(())
    }

    #[test]
    fn corrupt_store_is_quarantined_and_numbering_continues() -> Result<(), LogError> {
        let tmp = tempfile::tempdir().map_err(io_err(Path::new("tmp")))?;
        let dir = tmp.path().join("store");
        {
            let (mut log, _) = EventLog::open(&dir, "s", 1000)?;
            log.append(&[
                entry(1, 10, 1, Event::DayStarted {}),
                entry(2, 11, 1, issued(7)),
            ])?;
            log.flush()?;
        }
        for f in fs::read_dir(&dir).map_err(io_err(&dir))? {
            let p = f.map_err(io_err(&dir))?.path();
            if p.is_file() {
                fs::write(&p, vec![0xA5u8; 4096]).map_err(io_err(&p))?;
            }
        }
        let (log, rep) = EventLog::open(&dir, "s", 2000)?;
        let (qdir, _why) = rep.quarantined.clone().unwrap_or_default();
        assert!(qdir.exists(), "old store kept aside");
        let hwm = rep.recovered_from.unwrap_or_default();
        assert!(hwm.numbers["A"] > 7);
        assert_eq!(hwm.day, Some(Day(1)));
        assert!(log.next_seq() > 2);
        Ok(())
    }
}

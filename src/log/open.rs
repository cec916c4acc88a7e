//! Opening the store is checked, not trusted: sled, the journal and the high-water mark
//! are compared on every start (and on every reopen after a write failure). Entries one
//! copy lacks are restored from the other (sled blocks rebuilt, journal days rewritten);
//! damaged files are kept aside; what neither copy holds but the high-water mark says was
//! acknowledged is reported as lost, and numbering continues above it.

use super::hwm::{HighWater, HwmFile};
use super::journal::Journal;
use super::reader::{LogReader, Trees};
use super::reconcile::reconcile;
use super::recovery::{aside_path, OpenReport};
use super::{block, day_from_key, i64_of, io_err, u64_of, EventLog, LogError};
use super::{BLOCK, META_ALIVE, META_BOOTS, META_CLEAN, META_SITE};
use std::fs;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

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

/// Open sled; when it reads as corrupt, drop its snapshot files (an index sled rebuilds
/// from its log; a failed write, e.g. on a full disk, can leave one empty) and try again.
fn open_sled_repairing(dir: &Path) -> Result<sled::Db, OpenFailure> {
    match open_sled(dir) {
        Err(OpenFailure::Corrupt(why)) => {
            let mut removed = 0;
            for e in fs::read_dir(dir).into_iter().flatten().flatten() {
                if e.file_name().to_string_lossy().starts_with("snap.") {
                    removed += usize::from(fs::remove_file(e.path()).is_ok());
                }
            }
            if removed == 0 {
                return Err(OpenFailure::Corrupt(why));
            }
            tracing::warn!(%why, removed, "sled would not open; retrying without its snapshot files");
            open_sled(dir)
        }
        other => other,
    }
}

pub(super) fn open(
    dir: &Path,
    site_id: &str,
    now_ms: i64,
) -> Result<(EventLog, OpenReport), LogError> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    let (hwm_file, hwm_disk) = HwmFile::open(dir)?;
    let mut journal = Journal::open(dir)?;
    let mut report = OpenReport::default();
    let db = match open_sled_repairing(dir) {
        Ok(db) => db,
        Err(OpenFailure::Environment(e)) => return Err(e),
        Err(OpenFailure::Corrupt(why)) => quarantine(dir, now_ms, why, &mut report)?,
    };
    let mut trees = Trees::of(db)?;
    // Prove the store reads: decode the last day's entries now.
    if let Err(e) = LogReader::new(Trees::of(sled::Db::clone(&trees.db))?).last_day_entries() {
        drop(trees);
        let db = quarantine(dir, now_ms, e.to_string(), &mut report)?;
        trees = Trees::of(db)?;
    }
    let reader = LogReader::new(trees);
    let (hwm, recovery) = reconcile(
        dir,
        &reader,
        &mut journal,
        &hwm_disk,
        None,
        now_ms,
        report.quarantined.is_some(),
    )?;
    if let Some(r) = &recovery {
        report.recovered_from = Some(r.floors.clone());
    }
    report.recovery = recovery;
    if let (Some((q, why)), Some(r)) = (&report.quarantined, report.recovery.as_mut()) {
        r.kept_aside = Some(q.clone());
        r.cause = format!("{} (sled: {why})", r.cause);
    }
    let t = reader.t()?;
    match reader.site()? {
        Some(v) if v.as_ref() != site_id.as_bytes() => report.alarms.push(format!(
            "the store at {} belongs to site '{}', not '{site_id}'",
            dir.display(),
            String::from_utf8_lossy(&v)
        )),
        Some(_) => {}
        None => {
            t.meta.insert(META_SITE, site_id.as_bytes())?;
        }
    }
    let clean = t.meta.get(META_CLEAN)?.is_some_and(|v| v.as_ref() == [1]);
    if let Some(alive) = i64_of(t.meta.get(META_ALIVE)?) {
        if !clean {
            report.power_restored = Some((alive, now_ms.max(alive)));
        }
    }
    let boots = u64_of(t.meta.get(META_BOOTS)?).unwrap_or(0) + 1;
    t.meta.insert(META_BOOTS, &boots.to_be_bytes())?;
    t.meta.insert(META_CLEAN, &[0u8])?;
    t.meta.insert(META_ALIVE, &now_ms.to_be_bytes())?;
    report.boot_count = boots;
    t.db.flush()?;
    drop(t);
    report.replay = reader.last_day_entries()?;
    let mut log = EventLog {
        reader,
        dir: dir.to_path_buf(),
        next_seq: 1,
        tail: None,
        dirty: false,
        last_day: None,
        hwm: hwm.clone(),
        hwm_file,
        journal,
        durable: Arc::new(AtomicU64::new(0)),
        sled_file: super::SledFile::default(),
    };
    log.sled_file.open(dir)?;
    settle(&mut log, &hwm, 0)?;
    hwm_file_touch(&mut log)?;
    // Open today's journal file now, so appends never need a new descriptor.
    if let Some(day) = log.last_day {
        log.journal.switch_to(day)?;
    }
    Ok((log, report))
}

/// Write the mark once so a missing or damaged file is whole again.
fn hwm_file_touch(log: &mut EventLog) -> Result<(), LogError> {
    if HighWater::read(&log.dir).as_ref() != Some(&log.hwm) {
        log.hwm_file.write(&log.hwm)?;
    }
    Ok(())
}

/// Set next seq, tail and last day from the (repaired) store.
fn settle(log: &mut EventLog, hwm: &HighWater, at_least: u64) -> Result<(), LogError> {
    let last = log.reader.last_seq()?;
    let t = log.reader.t()?;
    // Everything on disk at open counts as durable (a later reopen cuts above it).
    log.durable
        .fetch_max(last, std::sync::atomic::Ordering::SeqCst);
    let stored_next = last + 1;
    log.next_seq = stored_next.max(at_least).max(1);
    if last == 0 {
        log.next_seq = log.next_seq.max(hwm.seq_ceiling);
    }
    log.last_day = t.days.last()?.and_then(|(k, _)| day_from_key(&k));
    log.tail = match t.blocks.last()? {
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
    log.dirty = false;
    Ok(())
}

fn quarantine(
    dir: &Path,
    now_ms: i64,
    why: String,
    report: &mut OpenReport,
) -> Result<sled::Db, LogError> {
    let qdir = aside_path(dir, "quarantined", now_ms);
    tracing::error!(store = %dir.display(), moved_to = %qdir.display(), %why,
        "store will not open; quarantining it and rebuilding it from the journal");
    if dir.exists() {
        fs::rename(dir, &qdir).map_err(io_err(dir))?;
    }
    report.quarantined = Some((qdir, why));
    open_sled(dir).map_err(|e| match e {
        OpenFailure::Environment(e) => e,
        OpenFailure::Corrupt(why) => LogError::Unusable {
            path: dir.to_path_buf(),
            why,
        },
    })
}

pub(super) fn reopen(log: &mut EventLog, now_ms: i64) -> Result<OpenReport, LogError> {
    let acked = log.durable.load(std::sync::atomic::Ordering::SeqCst);
    log.journal.discard_unsynced()?;
    // Dropping the last handle of a failed store may fail to write; `Trees` survives that.
    drop(log.reader.take());
    let mut report = OpenReport::default();
    let db = match open_sled_repairing(&log.dir) {
        Ok(db) => db,
        Err(OpenFailure::Environment(e)) => return Err(e),
        Err(OpenFailure::Corrupt(why)) => quarantine(&log.dir, now_ms, why, &mut report)?,
    };
    log.reader.put(Trees::of(db)?);
    log.sled_file.open(&log.dir)?;
    let (hwm, recovery) = reconcile(
        &log.dir,
        &log.reader,
        &mut log.journal,
        &Some(log.hwm.clone()),
        Some(acked),
        now_ms,
        report.quarantined.is_some(),
    )?;
    log.reader.t()?.db.flush()?;
    let at_least = log.next_seq;
    log.hwm = hwm.clone();
    settle(log, &hwm, at_least)?;
    hwm_file_touch(log)?;
    report.recovery = recovery;
    if let (Some((q, why)), Some(r)) = (&report.quarantined, report.recovery.as_mut()) {
        r.kept_aside = Some(q.clone());
        r.cause = format!("{} (sled: {why})", r.cause);
    }
    report.replay = log.reader.last_day_entries()?;
    Ok(report)
}

//! Opening the store is checked, not trusted: sled, the journal and the high-water mark
//! are compared on every start (and on every reopen after a write failure). Entries one
//! copy lacks are restored from the other (sled blocks rebuilt, journal days rewritten);
//! damaged files are kept aside; what neither copy holds but the high-water mark says was
//! acknowledged is reported as lost, and numbering continues above it.

use super::hwm::{HighWater, HwmFile};
use super::journal::{self, Journal};
use super::reader::{LogReader, Trees};
use super::{block, day_from_key, day_key, decode, i64_of, io_err, u64_of, EventLog, LogError};
use super::{BLOCK, META_ALIVE, META_BOOTS, META_CLEAN, META_SITE};
use crate::core::{Day, Entry, Event};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// What neither copy holds although it was acknowledged (bounds from the high-water
/// mark: everything in these ranges may have been issued; at least the start was).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lost {
    pub from_seq: u64,
    pub to_seq: u64,
    /// Per service: the first and last number that may have been issued and is gone.
    pub numbers: BTreeMap<String, (u32, u32)>,
}

/// What the checked open found wrong and what it did about it.
#[derive(Debug, Clone, Default)]
pub struct Recovery {
    /// Where the damaged files were kept aside.
    pub kept_aside: Option<PathBuf>,
    /// What was wrong, for people.
    pub cause: String,
    /// Entries restored from the other copy.
    pub recovered: u64,
    pub lost: Option<Lost>,
    /// Numbering floors of the high-water mark's day (continue at or above these).
    pub floors: HighWater,
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
    /// Damage found and repaired (or reported lost).
    pub recovery: Option<Recovery>,
    pub boot_count: u64,
    /// Entries of the last business day in the log, in order, to rebuild the state.
    pub replay: Vec<Entry>,
    /// Problems to show as alarms (e.g. the store belongs to another site).
    pub alarms: Vec<String>,
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

fn aside_path(dir: &Path, what: &str, now_ms: i64) -> PathBuf {
    let mut s = dir.as_os_str().to_owned();
    s.push(format!(".{what}-{now_ms}"));
    PathBuf::from(s)
}

/// Copy a directory's files (not recursive: sled keeps `db`, `conf`, `snap.*`).
fn copy_aside(from: &Path, to: &Path) -> Result<(), LogError> {
    fs::create_dir_all(to).map_err(io_err(to))?;
    for e in fs::read_dir(from).map_err(io_err(from))?.flatten() {
        let p = e.path();
        if p.is_file() {
            let dst = to.join(e.file_name());
            fs::copy(&p, &dst).map_err(io_err(&dst))?;
        }
    }
    Ok(())
}

/// The journal's records by seq, with their day, and what was damaged in it.
struct JournalRead {
    records: BTreeMap<u64, (Day, Vec<u8>)>,
    damaged: Vec<(Day, PathBuf, String)>,
    days: Vec<Day>,
}

fn read_journal(dir: &Path) -> JournalRead {
    let mut out = JournalRead {
        records: BTreeMap::new(),
        damaged: Vec::new(),
        days: Vec::new(),
    };
    for (day, path) in journal::day_files(dir) {
        out.days.push(day);
        match fs::read(&path) {
            Ok(bytes) => {
                let parsed = journal::parse(&bytes);
                for (seq, r) in parsed.records {
                    out.records.insert(seq, (day, r));
                }
                if let Some(why) = parsed.damage {
                    out.damaged.push((day, path, why));
                }
            }
            Err(e) => out.damaged.push((day, path, e.to_string())),
        }
    }
    out
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
    let db = match open_sled(dir) {
        Ok(db) => db,
        Err(OpenFailure::Environment(e)) => return Err(e),
        Err(OpenFailure::Corrupt(why)) => quarantine(dir, now_ms, why, &mut report)?,
    };
    let mut trees = Trees::of(db)?;
    // Prove the store reads: decode the last day's entries now.
    if let Err(e) = LogReader::new(Trees::of(trees.db.clone())?).last_day_entries() {
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
    if let Some((q, _)) = &report.quarantined {
        if let Some(r) = report.recovery.as_mut() {
            r.kept_aside = Some(q.clone());
        }
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
    };
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
    if let Some(old) = log.reader.take() {
        drop(old);
    }
    let db = open_sled(&log.dir).map_err(|e| match e {
        OpenFailure::Environment(e) => e,
        OpenFailure::Corrupt(why) => LogError::Unusable {
            path: log.dir.clone(),
            why,
        },
    })?;
    log.reader.put(Trees::of(db)?);
    let (hwm, recovery) = reconcile(
        &log.dir,
        &log.reader,
        &mut log.journal,
        &Some(log.hwm.clone()),
        Some(acked),
        now_ms,
        false,
    )?;
    log.reader.t()?.db.flush()?;
    let at_least = log.next_seq;
    log.hwm = hwm.clone();
    settle(log, &hwm, at_least)?;
    hwm_file_touch(log)?;
    Ok(OpenReport {
        recovery,
        replay: log.reader.last_day_entries()?,
        ..OpenReport::default()
    })
}

/// Compare sled with the journal and the mark; restore what one copy lacks from the
/// other; cut entries above `trim_above` (never acknowledged); report what is lost.
fn reconcile(
    dir: &Path,
    reader: &LogReader,
    journal: &mut Journal,
    hwm_disk: &Option<HighWater>,
    trim_above: Option<u64>,
    now_ms: i64,
    quarantined: bool,
) -> Result<(HighWater, Option<Recovery>), LogError> {
    let t = reader.t()?;
    let sled_empty = t.blocks.is_empty();
    let jr = read_journal(journal.dir());
    let mut causes: Vec<String> = Vec::new();
    // sled's entries from the journal's first seq, or its last day, on.
    let from = match (jr.records.keys().next(), reader.last_day_start()?) {
        (Some(j), Some((_, s))) => (*j).min(s),
        (Some(j), None) => *j,
        (None, Some((_, s))) => s,
        (None, None) => 1,
    };
    let mut sled_recs: BTreeMap<u64, (Day, Vec<u8>)> = BTreeMap::new();
    let mut bad_blocks = Vec::new();
    for kv in t.blocks.range((from / BLOCK).to_be_bytes()..) {
        let (k, v) = kv?;
        match LogReader::block_records(&k, &v) {
            Ok(recs) => {
                for (seq, r) in recs {
                    if let Ok(e) = decode(seq, &r) {
                        sled_recs.insert(seq, (e.day, r.to_vec()));
                    }
                }
            }
            Err(e) => bad_blocks.push((k, e.to_string())),
        }
    }
    for (k, why) in &bad_blocks {
        causes.push(format!("a sled block is damaged ({why})"));
        t.blocks.remove(k)?;
    }
    // Entries never acknowledged (a refused batch): out of both copies.
    let mut trimmed = 0u64;
    if let Some(acked) = trim_above {
        let cut: Vec<u64> = sled_recs.range(acked + 1..).map(|(s, _)| *s).collect();
        trimmed = cut.len() as u64;
        for s in cut {
            sled_recs.remove(&s);
        }
        if trimmed > 0 {
            rewrite_blocks_without(&t, acked)?;
        }
    }
    let mut jrecs = jr.records;
    if let Some(acked) = trim_above {
        jrecs.retain(|s, _| *s <= acked);
    }
    let missing_in_sled: Vec<u64> = jrecs
        .keys()
        .filter(|s| !sled_recs.contains_key(s))
        .copied()
        .collect();
    // A crash leaves sled without its newest, unacknowledged entries (its buffer is in
    // the process) while the journal has them: that tail is restored quietly. Missing
    // entries below the last acknowledged mark, or below sled's own newest, are damage.
    let acked_mark = hwm_disk.as_ref().map_or(0, |h| h.acked_seq);
    let sled_last_kept = sled_recs.keys().next_back().copied().unwrap_or(0);
    let sled_hole = missing_in_sled
        .first()
        .is_some_and(|s| *s <= acked_mark || *s < sled_last_kept);
    let sled_damaged = sled_hole || quarantined || !bad_blocks.is_empty();
    if quarantined {
        causes.push("sled would not open or read; it was moved aside".into());
    }
    let mut kept_aside = None;
    if sled_hole && trim_above.is_none() {
        causes.push(format!(
            "sled lacked {} acknowledged entries the journal holds (seq {}..={})",
            missing_in_sled.len(),
            missing_in_sled.first().copied().unwrap_or(0),
            missing_in_sled.last().copied().unwrap_or(0)
        ));
        let aside = aside_path(dir, "damaged", now_ms);
        if copy_aside(dir, &aside).is_ok() {
            kept_aside = Some(aside);
        }
    }
    // Restore into sled, block by block.
    let mut by_block: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for s in &missing_in_sled {
        by_block.entry(s / BLOCK).or_default().push(*s);
    }
    for (idx, seqs) in &by_block {
        let existing = t.blocks.get(idx.to_be_bytes())?;
        let mut recs: Vec<(u8, Vec<u8>)> = Vec::new();
        if let Some(v) = existing {
            if let Ok(rs) = LogReader::block_records(&idx.to_be_bytes(), &v) {
                recs.extend(rs.into_iter().map(|(s, r)| ((s % BLOCK) as u8, r.to_vec())));
            }
        }
        for s in seqs {
            if let Some((_, r)) = jrecs.get(s) {
                recs.push(((s % BLOCK) as u8, r.clone()));
            }
        }
        let borrowed: Vec<(u8, &[u8])> = recs.iter().map(|(o, r)| (*o, &r[..])).collect();
        let raw = block::from_records(&borrowed).map_err(|why| LogError::Decode {
            seq: idx * BLOCK,
            why,
        })?;
        t.blocks.insert(idx.to_be_bytes(), block::pack(&raw))?;
    }
    for s in &missing_in_sled {
        if let Some((day, r)) = jrecs.get(s) {
            sled_recs.insert(*s, (*day, r.clone()));
        }
    }
    // Day markers: the first seq of every day present.
    let mut firsts: BTreeMap<Day, u64> = BTreeMap::new();
    for (s, (d, _)) in &sled_recs {
        firsts.entry(*d).or_insert(*s);
    }
    for (d, s) in &firsts {
        let key = day_key(*d);
        let cur = u64_of(t.days.get(key)?);
        if cur.is_none_or(|c| c > *s || !sled_recs.contains_key(&c)) {
            t.days.insert(key, &s.to_be_bytes())?;
        }
    }
    if let Some(first) = missing_in_sled.first() {
        reader.unpublish_from(*first)?;
    }
    // Journal days that lack what sled has (deleted, damaged or older): rewrite them.
    let keep: Vec<Day> = {
        let mut ds: Vec<Day> = firsts.keys().copied().collect();
        ds.sort();
        ds.into_iter().rev().take(journal::KEEP).collect()
    };
    let damaged_days: Vec<Day> = jr.damaged.iter().map(|d| d.0).collect();
    for (day, path, why) in &jr.damaged {
        causes.push(format!(
            "journal file {} is damaged ({why})",
            path.display()
        ));
        let aside = path.with_extension(format!("jnl.damaged-{now_ms}"));
        let _ = fs::copy(path, aside);
        let _ = day;
    }
    let mut journal_rewritten = 0u64;
    let mut journal_lacked = false;
    for day in keep {
        let want: Vec<(u64, Vec<u8>)> = sled_recs
            .iter()
            .filter(|(_, (d, _))| *d == day)
            .map(|(s, (_, r))| (*s, r.clone()))
            .collect();
        let lacking = want.iter().filter(|(s, _)| !jrecs.contains_key(s)).count() as u64;
        let extra = jrecs
            .iter()
            .any(|(s, (d, _))| *d == day && !sled_recs.contains_key(s));
        if lacking > 0 || extra || damaged_days.contains(&day) || trimmed > 0 {
            let jlast = jrecs.keys().next_back().copied().unwrap_or(0);
            let hole = want
                .iter()
                .any(|(s, _)| !jrecs.contains_key(s) && (*s <= acked_mark || *s < jlast));
            if hole && trim_above.is_none() && jr.days.contains(&day) {
                causes.push(format!(
                    "the journal of day {day} lacked {lacking} entries sled holds"
                ));
            }
            journal_rewritten += lacking;
            journal_lacked |= hole;
            journal.rewrite_day(day, &want)?;
        }
    }
    // What neither copy holds, from the high-water mark.
    let union_max = sled_recs.keys().next_back().copied().unwrap_or(0);
    let stored_last = reader.last_seq()?.max(union_max);
    let mut hwm = hwm_disk.clone().unwrap_or_default();
    let mut lost = Lost::default();
    // Only when both copies are damaged can something acknowledged be gone; then the
    // mark bounds it: everything above what survived and below the mark's ceilings may
    // have been issued.
    let mark_used = hwm.seq_ceiling > 1;
    let sled_bad = quarantined || sled_damaged || (sled_empty && mark_used);
    let journal_bad = !jr.damaged.is_empty() || journal_lacked || (jrecs.is_empty() && mark_used);
    let both_bad = trim_above.is_none() && sled_bad && journal_bad && mark_used;
    if let (Some(hday), true) = (hwm.day, both_bad) {
        let mut have: BTreeMap<String, u32> = BTreeMap::new();
        for (s, (d, r)) in &sled_recs {
            if *d != hday {
                continue;
            }
            if let Ok(Entry {
                event:
                    Event::TicketIssued {
                        service, number, ..
                    },
                ..
            }) = decode(*s, r)
            {
                let m = have.entry(service).or_insert(0);
                *m = (*m).max(number);
            }
        }
        for (service, ceiling) in &hwm.numbers {
            let n = have.get(service).copied().unwrap_or(0);
            if n + 1 < *ceiling {
                lost.numbers
                    .insert(service.clone(), (n + 1, ceiling.saturating_sub(1)));
            }
        }
    }
    if both_bad && stored_last + 1 < hwm.seq_ceiling {
        lost.from_seq = stored_last + 1;
        lost.to_seq = hwm.seq_ceiling.saturating_sub(1);
        causes.push(format!(
            "both copies are damaged: entries from seq {} up to at most {} may be lost",
            lost.from_seq, lost.to_seq
        ));
    }
    match hwm_disk {
        None if stored_last > 0 => causes
            .push("the high-water mark file was missing or damaged; rebuilt from the store".into()),
        Some(h) if h.seq_ceiling <= stored_last => {
            causes.push("the high-water mark was older than the store; raised".into())
        }
        _ => {}
    }
    let floors = hwm.clone();
    // Raise the mark to cover everything stored.
    let mut covered = HighWater {
        seq_ceiling: stored_last + 1,
        ..HighWater::default()
    };
    if let Some((&s, (d, r))) = sled_recs.iter().next_back() {
        let _ = s;
        covered.day = Some(*d);
        for (s, (dd, rr)) in sled_recs.range(firsts.get(d).copied().unwrap_or(0)..) {
            if dd != d {
                continue;
            }
            if let Ok(e) = decode(*s, rr) {
                covered.last_at = covered.last_at.max(e.at);
                if let Event::TicketIssued {
                    service, number, ..
                } = e.event
                {
                    let m = covered.numbers.entry(service).or_insert(0);
                    *m = (*m).max(number + 1);
                }
            }
        }
        let _ = r;
    }
    hwm.raise(&covered);
    let recovered = missing_in_sled.len() as u64
        + if trim_above.is_none() {
            journal_rewritten
        } else {
            0
        };
    let damaged = sled_damaged || !jr.damaged.is_empty() || !causes.is_empty();
    if trim_above.is_some() && !sled_damaged && jr.damaged.is_empty() {
        return Ok((hwm, None));
    }
    if !damaged {
        return Ok((hwm, None));
    }
    let has_loss = lost.to_seq > 0 || !lost.numbers.is_empty();
    Ok((
        hwm,
        Some(Recovery {
            kept_aside,
            cause: causes.join("; "),
            recovered,
            lost: has_loss.then_some(lost),
            floors,
        }),
    ))
}

/// Drop every entry above `acked` from sled's blocks.
fn rewrite_blocks_without(t: &Trees, acked: u64) -> Result<(), LogError> {
    let keys: Vec<sled::IVec> = t
        .blocks
        .range((acked / BLOCK).to_be_bytes()..)
        .keys()
        .collect::<Result<_, _>>()?;
    for k in keys {
        let Some(v) = t.blocks.get(&k)? else { continue };
        let recs = LogReader::block_records(&k, &v)?;
        let kept: Vec<(u8, &[u8])> = recs
            .iter()
            .filter(|(s, _)| *s <= acked)
            .map(|(s, r)| ((s % BLOCK) as u8, &r[..]))
            .collect();
        if kept.is_empty() {
            t.blocks.remove(&k)?;
        } else {
            let raw =
                block::from_records(&kept).map_err(|why| LogError::Decode { seq: acked, why })?;
            t.blocks.insert(k, block::pack(&raw))?;
        }
    }
    // Day markers pointing above the cut go too.
    let stale: Vec<sled::IVec> = t
        .days
        .iter()
        .filter_map(Result::ok)
        .filter(|(_, v)| u64_of(Some(v.clone())).is_some_and(|s| s > acked))
        .map(|(k, _)| k)
        .collect();
    for k in stale {
        t.days.remove(k)?;
    }
    Ok(())
}

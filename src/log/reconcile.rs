//! Reconciling the two copies: sled's entries and the journal's are compared; what one
//! lacks is restored from the other (sled blocks rebuilt, journal days rewritten), entries
//! of a refused batch are cut from both, and the high-water mark tells what may be lost
//! when both copies are damaged. Used by every open and reopen (see `open.rs`).

use super::hwm::HighWater;
use super::journal::{self, Journal};
use super::reader::{LogReader, Trees};
use super::recovery::{aside_path, copy_aside, Lost, Recovery};
use super::{block, day_key, decode, u64_of, LogError, BLOCK};
use crate::core::{Day, Entry, Event};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

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

/// Compare sled with the journal and the mark; restore what one copy lacks from the
/// other; cut entries above `trim_above` (never acknowledged); report what is lost.
pub(super) fn reconcile(
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
                    // The same record in the journal gives its day without decoding.
                    let day = match jr.records.get(&seq) {
                        Some((d, jrec)) if jrec[..] == r[..] => Some(*d),
                        _ => decode(seq, &r).ok().map(|e| e.day),
                    };
                    if let Some(day) = day {
                        sled_recs.insert(seq, (day, r.to_vec()));
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
    // Days whose journal file holds entries of a refused batch (both copies are cut).
    let mut jtrimmed: Vec<Day> = Vec::new();
    if let Some(acked) = trim_above {
        for (_, (d, _)) in jrecs.range(acked + 1..) {
            if !jtrimmed.contains(d) {
                jtrimmed.push(*d);
            }
        }
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
        super::LogCursor::new(reader.clone()).unpublish_from(*first)?;
    }
    // Journal days that lack what sled has (deleted, damaged or older): rewrite them.
    let keep: Vec<Day> = {
        let mut ds: Vec<Day> = firsts.keys().copied().collect();
        ds.sort();
        let mut keep: Vec<Day> = ds.into_iter().rev().take(journal::KEEP).collect();
        keep.extend(
            jtrimmed
                .iter()
                .filter(|d| !keep.contains(d))
                .copied()
                .collect::<Vec<_>>(),
        );
        keep
    };
    let damaged_days: Vec<Day> = jr.damaged.iter().map(|d| d.0).collect();
    // A write torn by a kill at the end of the newest day file, after everything the
    // acknowledged mark covers, is a crash's tail (rewritten quietly), not damage.
    let newest = jr.days.last().copied();
    let real_damage: Vec<&(Day, PathBuf, String)> = jr
        .damaged
        .iter()
        .filter(|(day, _, _)| {
            let last = jrecs
                .iter()
                .filter(|(_, (d, _))| d == day)
                .map(|(s, _)| *s)
                .next_back()
                .unwrap_or(0);
            !(Some(*day) == newest && last >= acked_mark && acked_mark > 0)
        })
        .collect();
    for (_, path, why) in real_damage.iter().copied() {
        causes.push(format!(
            "journal file {} is damaged ({why})",
            path.display()
        ));
        let aside = path.with_extension(format!("jnl.damaged-{now_ms}"));
        let _ = fs::copy(path, aside);
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
        if lacking > 0
            || extra
            || damaged_days.contains(&day)
            || trimmed > 0
            || jtrimmed.contains(&day)
        {
            let jlast = jrecs.keys().next_back().copied().unwrap_or(0);
            let hole = want
                .iter()
                .any(|(s, _)| !jrecs.contains_key(s) && (*s <= acked_mark || *s < jlast));
            if hole && trim_above.is_none() && jr.days.contains(&day) {
                causes.push(format!(
                    "the journal of day {day} lacked {lacking} entries sled holds"
                ));
            } else if hole && trim_above.is_none() && acked_mark > 0 {
                // (An upgrade from a build without a journal has no acknowledged mark.)
                causes.push(format!(
                    "the journal file of day {day} was missing; rewritten from sled ({lacking} entries)"
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
    let journal_bad = !real_damage.is_empty() || journal_lacked || (jrecs.is_empty() && mark_used);
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
    if let Some((_, (d, _))) = sled_recs.iter().next_back() {
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
    }
    hwm.raise(&covered);
    let recovered = missing_in_sled.len() as u64
        + if trim_above.is_none() {
            journal_rewritten
        } else {
            0
        };
    let damaged = sled_damaged || !real_damage.is_empty() || !causes.is_empty();
    if trim_above.is_some() && !sled_damaged && real_damage.is_empty() {
        return Ok((hwm, None));
    }
    let quiet_tail = !damaged && trim_above.is_none() && !missing_in_sled.is_empty();
    if !damaged && !quiet_tail {
        return Ok((hwm, None));
    }
    if quiet_tail {
        causes.push(format!(
            "the previous run stopped before sled flushed its newest {} entries (seq {}..={}); restored from the journal",
            missing_in_sled.len(),
            missing_in_sled.first().copied().unwrap_or(0),
            missing_in_sled.last().copied().unwrap_or(0)
        ));
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
            damaged,
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

//! Unit tests of the sled log: append, replay, cursor, quarantine.

use super::*;
use crate::core::Event;
use std::fs;

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

/// A fresh store (opened at 1000) holding a day start and ticket `A{n}`, flushed.
fn store_with_ticket(n: u32) -> Result<(tempfile::TempDir, PathBuf, EventLog), LogError> {
    let tmp = tempfile::tempdir().map_err(io_err(Path::new("tmp")))?;
    let dir = tmp.path().join("store");
    let (mut log, _) = EventLog::open(&dir, "s", 1000)?;
    log.append(&[
        entry(1, 10, 1, Event::DayStarted {}),
        entry(2, 11, 1, issued(n)),
    ])?;
    log.flush()?;
    Ok((tmp, dir, log))
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
    let c = log.cursor();
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
    c.mark_published(150)?;
    c.mark_published(1)?;
    assert_eq!(r.published()?, 150);
    // Block 0 (seq 1..=63) is published and older than the cutoff: pruned whole;
    // block 1 (64..=127) holds recent entries.
    assert_eq!(c.prune(1_000)?, 63);
    assert_eq!(r.first_seq()?, Some(64));
    assert_eq!(c.prune(i64::MAX)?, 64, "block 1 is all published");
    assert_eq!(
        c.prune(i64::MAX)?,
        0,
        "block 2 holds unpublished entries: never pruned"
    );
    assert_eq!(r.first_seq()?, Some(128));
    c.mark_published(n + 1)?;
    assert_eq!(c.prune(i64::MAX)?, 64, "the newest block always stays");
    assert_eq!(r.backlog()?.0, 0);
    log.close_clean(6000)?;
    drop(r);
    drop(c);
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
    let (_tmp, dir, log) = store_with_ticket(7)?;
    drop(log);
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
    assert_eq!(log.next_seq(), 3, "both entries came back from the journal");
    let seqs: Vec<u64> = rep.replay.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![1, 2]);
    let r = rep.recovery.unwrap_or_default();
    assert_eq!(r.recovered, 2);
    assert!(r.lost.is_none(), "a copy survived: nothing lost");
    Ok(())
}

fn journal_seqs(dir: &Path) -> Vec<u64> {
    let mut out = Vec::new();
    for (_, p) in journal::day_files(&journal::dir_for(dir)) {
        let bytes = fs::read(&p).unwrap_or_default();
        out.extend(journal::parse(&bytes).records.into_iter().map(|r| r.0));
    }
    out
}

#[test]
fn reopen_cuts_a_refused_batch_from_both_copies_and_burns_its_seq() -> Result<(), LogError> {
    let tmp = tempfile::tempdir().map_err(io_err(Path::new("tmp")))?;
    let dir = tmp.path().join("store");
    {
        // Entries stored by an earlier run count as durable for a reopen.
        let (mut log, _) = EventLog::open(&dir, "s", 500)?;
        log.append(&[entry(1, 10, 1, Event::DayStarted {})])?;
        log.flush()?;
    }
    let (mut log, _) = EventLog::open(&dir, "s", 1000)?;
    assert_eq!(log.reopen(1500)?.replay.len(), 1, "nothing durable is cut");
    log.append(&[entry(2, 11, 1, issued(1))])?;
    log.flush()?;
    // A batch written but never made durable (its flush failed): refused.
    log.append(&[entry(3, 12, 1, issued(2)), entry(4, 13, 1, issued(3))])?;
    log.write()?;
    assert_eq!(
        journal_seqs(&dir),
        vec![1, 2, 3, 4],
        "written, not yet synced"
    );
    // Even when the journal's sync succeeded and sled's flush did not: still refused.
    log.journal.syncer().sync()?;
    let rep = log.reopen(2000)?;
    let seqs: Vec<u64> = rep.replay.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![1, 2], "the durable state only");
    assert_eq!(journal_seqs(&dir), vec![1, 2], "cut from the journal too");
    assert_eq!(log.reader().last_seq()?, 2, "and from sled");
    assert_eq!(
        log.next_seq(),
        5,
        "seq of the refused batch are never given again"
    );
    log.append(&[entry(5, 14, 1, issued(2))])?;
    log.flush()?;
    drop(log);
    let (log, rep) = EventLog::open(&dir, "s", 3000)?;
    assert!(rep.recovery.is_none(), "a clean reopen is no damage");
    assert_eq!(log.next_seq(), 6);
    assert_eq!(journal_seqs(&dir), vec![1, 2, 5]);
    Ok(())
}

#[test]
fn both_copies_damaged_reports_what_may_be_lost() -> Result<(), LogError> {
    let tmp = tempfile::tempdir().map_err(io_err(Path::new("tmp")))?;
    let dir = tmp.path().join("store");
    {
        let (mut log, _) = EventLog::open(&dir, "s", 1000)?;
        let mut batch = vec![entry(1, 10, 1, Event::DayStarted {})];
        batch.extend((1..=10).map(|n| entry(1 + u64::from(n), 10 + i64::from(n), 1, issued(n))));
        log.append(&batch)?;
        log.flush()?;
        log.mark_acked()?;
    }
    fs::remove_dir_all(journal::dir_for(&dir)).map_err(io_err(&dir))?;
    fs::remove_dir_all(&dir).map_err(io_err(&dir))?;
    let (log, rep) = EventLog::open(&dir, "s", 2000)?;
    let r = rep.recovery.unwrap_or_default();
    let lost = r.lost.unwrap_or_default();
    assert_eq!(lost.from_seq, 1, "nothing survived: {}", r.cause);
    assert!(lost.to_seq >= 11, "the range covers every acknowledged seq");
    assert_eq!(
        lost.numbers.get("A"),
        Some(&(1, 50)),
        "A001..A010 were issued"
    );
    assert!(log.next_seq() > 11, "seq continues above the mark");
    assert!(r.floors.numbers["A"] > 10, "numbering continues above A010");
    Ok(())
}

#[test]
fn a_damaged_block_is_reported_and_restored_from_the_journal() -> Result<(), LogError> {
    let (_tmp, dir, log) = store_with_ticket(1)?;
    {
        log.cursor().mark_published(2)?;
        // Damage the stored block behind sled's back: flip a byte of its body.
        let t = log.reader().t()?;
        let (k, v) = t.blocks.first()?.unwrap_or_default();
        let mut bad = v.to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 0x01;
        t.blocks.insert(k, bad)?;
        t.db.flush()?;
    }
    drop(log);
    let (log, rep) = EventLog::open(&dir, "s", 2000)?;
    let r = rep.recovery.unwrap_or_default();
    assert!(r.cause.contains("checksum"), "{}", r.cause);
    assert!(r.lost.is_none());
    let seqs: Vec<u64> = rep.replay.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        vec![1, 2],
        "restored from the journal, not decoded into garbage"
    );
    assert_eq!(log.next_seq(), 3);
    Ok(())
}

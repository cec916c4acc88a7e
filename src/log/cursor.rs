//! The write handle for the uplink's side of the log: the published cursor (advanced
//! as the broker acknowledges batches) and pruning of published entries past retention.
//! The engine is the only writer of entries; [`LogReader`] only reads; this handle
//! writes these two things and nothing else.

use super::{day_key, decode, u64_of, LogError, LogReader, META_PUBLISHED};

/// Writes the published cursor and prunes. Cheap to clone; follows the store across a
/// reopen like the reader does.
#[derive(Clone)]
pub struct LogCursor {
    reader: LogReader,
}

impl LogCursor {
    pub(crate) fn new(reader: LogReader) -> LogCursor {
        LogCursor { reader }
    }

    /// Advance the published cursor (never moves it back).
    pub(crate) fn mark_published(&self, upto: u64) -> Result<(), LogError> {
        self.reader
            .t()?
            .meta
            .fetch_and_update(META_PUBLISHED, |old| {
                let cur = old
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map(u64::from_be_bytes)
                    .unwrap_or(0);
                Some(cur.max(upto).to_be_bytes().to_vec())
            })?;
        Ok(())
    }

    /// Move the published cursor back to below `seq` (entries restored from the journal
    /// are sent again; consumers deduplicate on (site, seq)).
    pub(crate) fn unpublish_from(&self, seq: u64) -> Result<(), LogError> {
        let t = self.reader.t()?;
        let cur = u64_of(t.meta.get(META_PUBLISHED)?).unwrap_or(0);
        if cur >= seq {
            t.meta
                .insert(META_PUBLISHED, &seq.saturating_sub(1).to_be_bytes())?;
        }
        Ok(())
    }

    /// Remove published entries older than `cutoff_ms`, whole blocks at a time. Never
    /// removes the newest block (it carries the seq high-water mark) nor a block holding
    /// anything unpublished or recent.
    pub(crate) fn prune(&self, cutoff_ms: i64) -> Result<u64, LogError> {
        let published = self.reader.published()?;
        let t = self.reader.t()?;
        let Some((last_key, _)) = t.blocks.last()? else {
            return Ok(0);
        };
        let mut removed = 0u64;
        loop {
            let mut batch = sled::Batch::default();
            let mut n = 0usize;
            let mut done = false;
            for kv in t.blocks.range(..last_key.clone()).take(1_000) {
                let (k, v) = kv?;
                let recs = LogReader::block_records(&k, &v)?;
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
                t.blocks.apply_batch(batch)?;
            }
            if done || n == 0 {
                break;
            }
        }
        // Drop the markers of days before the first remaining entry's day.
        if let Some(first) = self.reader.first_seq()? {
            if let Some(e) = self
                .reader
                .entries_after(first.saturating_sub(1), 1)?
                .first()
            {
                for kv in t.days.range(..day_key(e.day)) {
                    let (k, _) = kv?;
                    t.days.remove(k)?;
                }
            }
        }
        Ok(removed)
    }
}

//! The reader side of the log: cheap to clone, for the uplink and the web; it only reads
//! (the uplink's cursor and pruning write through [`super::LogCursor`]). It reads the
//! sled trees of the store currently open; the engine swaps them when it reopens the
//! store after a write failure (then reads fail with [`LogError::Reopening`] briefly).

use super::{block, day_from_key, decode, u64_of, LogError, BLOCK, META_BOOTS};
use super::{META_PUBLISHED, META_SITE};
use crate::core::{Day, Entry};
use std::mem::ManuallyDrop;
use std::sync::{Arc, RwLock};

/// The open sled database and its trees.
///
/// sled 0.34 writes out what it still holds when its last handle is dropped and panics
/// when that write fails (a full, read-only or failing disk). Whichever thread lets go of
/// the store last — the engine reopening it, a web request, the uplink — must survive
/// that, so the handles are dropped inside `catch_unwind` (see the `Drop` impl).
pub(crate) struct Trees {
    pub db: ManuallyDrop<sled::Db>,
    pub blocks: ManuallyDrop<sled::Tree>,
    pub days: ManuallyDrop<sled::Tree>,
    pub meta: ManuallyDrop<sled::Tree>,
}

impl Trees {
    pub(crate) fn of(db: sled::Db) -> Result<Trees, LogError> {
        Ok(Trees {
            blocks: ManuallyDrop::new(db.open_tree("blocks")?),
            days: ManuallyDrop::new(db.open_tree("days")?),
            meta: ManuallyDrop::new(db.open_tree("meta")?),
            db: ManuallyDrop::new(db),
        })
    }
}

impl Drop for Trees {
    fn drop(&mut self) {
        let closed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: each field is dropped exactly once, here, and never used again
            // (`self` is being dropped). A panic part-way leaks the rest, which is harmless.
            unsafe {
                ManuallyDrop::drop(&mut self.blocks);
                ManuallyDrop::drop(&mut self.days);
                ManuallyDrop::drop(&mut self.meta);
                ManuallyDrop::drop(&mut self.db);
            }
        }));
        if closed.is_err() {
            tracing::error!(
                "the store's last write while closing it failed (disk full or failing?)"
            );
        }
    }
}

/// The reader side: cheap to clone, for the uplink and the web.
#[derive(Clone)]
pub struct LogReader {
    shared: Arc<RwLock<Option<Arc<Trees>>>>,
}

impl LogReader {
    pub(crate) fn new(trees: Trees) -> LogReader {
        LogReader {
            shared: Arc::new(RwLock::new(Some(Arc::new(trees)))),
        }
    }

    pub(crate) fn t(&self) -> Result<Arc<Trees>, LogError> {
        self.shared
            .read()
            .ok()
            .and_then(|g| g.clone())
            .ok_or(LogError::Reopening)
    }

    /// Let go of the open store (so it can be reopened) and return it.
    pub(crate) fn take(&self) -> Option<Arc<Trees>> {
        self.shared.write().ok().and_then(|mut g| g.take())
    }

    pub(crate) fn put(&self, trees: Trees) {
        if let Ok(mut g) = self.shared.write() {
            *g = Some(Arc::new(trees));
        }
    }

    /// The stored records of one block, as `(seq, record)`.
    pub(crate) fn block_records(
        key: &[u8],
        value: &[u8],
    ) -> Result<Vec<(u64, sled::IVec)>, LogError> {
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
        match self.t()?.blocks.last()? {
            Some((k, v)) => Ok(Self::block_records(&k, &v)?.last().map_or(0, |r| r.0)),
            None => Ok(0),
        }
    }

    pub(crate) fn first_seq(&self) -> Result<Option<u64>, LogError> {
        match self.t()?.blocks.first()? {
            Some((k, v)) => Ok(Self::block_records(&k, &v)?.first().map(|r| r.0)),
            None => Ok(None),
        }
    }

    /// The first seq of the last business day that has any.
    pub(crate) fn last_day_start(&self) -> Result<Option<(Day, u64)>, LogError> {
        Ok(self
            .t()?
            .days
            .last()?
            .and_then(|(k, v)| Some((day_from_key(&k)?, u64_of(Some(v))?))))
    }

    /// Entries of the last business day that has any, in order.
    pub(crate) fn last_day_entries(&self) -> Result<Vec<Entry>, LogError> {
        let Some((_, first)) = self.last_day_start()? else {
            return Ok(Vec::new());
        };
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
        for kv in self.t()?.blocks.range((start / BLOCK).to_be_bytes()..) {
            let (k, v) = kv?;
            for (seq, r) in Self::block_records(&k, &v)? {
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
        Ok(u64_of(self.t()?.meta.get(META_PUBLISHED)?).unwrap_or(0))
    }

    /// Entries not yet acknowledged: count, and the time of the oldest.
    pub(crate) fn backlog(&self) -> Result<(u64, Option<i64>), LogError> {
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

    /// Bytes the store occupies on disk.
    pub(crate) fn size_on_disk(&self) -> u64 {
        self.t()
            .ok()
            .and_then(|t| t.db.size_on_disk().ok())
            .unwrap_or(0)
    }

    pub(crate) fn boot_count(&self) -> u64 {
        self.t()
            .ok()
            .and_then(|t| u64_of(t.meta.get(META_BOOTS).ok().flatten()))
            .unwrap_or(0)
    }

    /// The site the store belongs to, when recorded.
    pub(crate) fn site(&self) -> Result<Option<sled::IVec>, LogError> {
        Ok(self.t()?.meta.get(META_SITE)?)
    }
}

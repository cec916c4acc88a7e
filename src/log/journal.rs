//! The second durable copy of the log: a CRC-framed append-only journal, one file per
//! business day in `<store>.journal/` (the newest [`KEEP`] days are kept), written by the
//! engine in the same group commit as sled and synced (`fdatasync`) by the flusher before
//! any reply. The current file stays open, so appends need no new file descriptor.
//!
//! Frame: record length u32 LE, CRC32 u32 LE of (seq LE ‖ record), seq u64 LE, record
//! (a [`crate::codec`] encoding). A reader stops at the first frame that is torn, fails its
//! CRC or does not grow seq; what follows is reported, never decoded.

use crate::core::{Day, Entry};
use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{io_err, open_or_create, LogError};

/// Day files kept (the current day, the previous business day, one more for safety).
pub const KEEP: usize = 3;
const FRAME_HEADER: usize = 16;

/// What a journal file holds.
#[derive(Debug, Default)]
pub(crate) struct DayFile {
    pub records: Vec<(u64, Vec<u8>)>,
    /// Bytes of whole, valid frames from the start.
    pub valid_len: u64,
    /// Why reading stopped before the end of the file, when it did and the rest is not zeros.
    pub damage: Option<String>,
}

pub(crate) fn frame(seq: u64, record: &[u8], out: &mut Vec<u8>) {
    let mut c = crc32fast::Hasher::new();
    c.update(&seq.to_le_bytes());
    c.update(record);
    out.extend_from_slice(&(record.len() as u32).to_le_bytes());
    out.extend_from_slice(&c.finalize().to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(record);
}

/// Parse a day file's bytes.
pub(crate) fn parse(bytes: &[u8]) -> DayFile {
    let mut out = DayFile::default();
    let mut pos = 0usize;
    let mut last_seq = 0u64;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        let why = (|| {
            let h = rest.get(..FRAME_HEADER).ok_or("torn frame header")?;
            let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
            let crc = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
            let seq = u64::from_le_bytes(h[8..16].try_into().map_err(|_| "header")?);
            let rec = rest
                .get(FRAME_HEADER..FRAME_HEADER + len)
                .ok_or("torn frame")?;
            let mut c = crc32fast::Hasher::new();
            c.update(&h[8..16]);
            c.update(rec);
            if c.finalize() != crc {
                return Err("frame checksum mismatch");
            }
            if seq <= last_seq {
                return Err("seq does not grow");
            }
            Ok((seq, rec.to_vec(), FRAME_HEADER + len))
        })();
        match why {
            Ok((seq, rec, n)) => {
                last_seq = seq;
                out.records.push((seq, rec));
                pos += n;
                out.valid_len = pos as u64;
            }
            Err(why) => {
                if rest.iter().any(|b| *b != 0) {
                    out.damage = Some(format!(
                        "{why} at byte {pos} ({} bytes not read)",
                        rest.len()
                    ));
                }
                break;
            }
        }
    }
    out
}

pub(crate) fn dir_for(store: &Path) -> PathBuf {
    let mut s = store.as_os_str().to_owned();
    s.push(".journal");
    PathBuf::from(s)
}

fn file_for(dir: &Path, day: Day) -> PathBuf {
    dir.join(format!("day-{}.jnl", day.0))
}

/// The day files in the journal directory, oldest first.
pub(crate) fn day_files(dir: &Path) -> Vec<(Day, PathBuf)> {
    let mut out: Vec<(Day, PathBuf)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let d = name
                .strip_prefix("day-")?
                .strip_suffix(".jnl")?
                .parse()
                .ok()?;
            Some((Day(d), e.path()))
        })
        .collect();
    out.sort_by_key(|d| d.0);
    out
}

/// The open segment, shared between the engine (writes) and the flusher (syncs).
#[derive(Default)]
struct Segment {
    day: Option<Day>,
    path: PathBuf,
    file: Option<Arc<File>>,
    /// Bytes written (valid frames) so far.
    written: u64,
    /// Bytes known durable (synced): a failed batch is cut back to this.
    durable: u64,
    /// Bytes of the file already written (frames, then zeros): appends below this change
    /// no metadata, so their `fdatasync` is as cheap as sled's.
    allocated: u64,
}

/// The journal grows by writing zeros this far ahead (a reader stops at zeros).
const GROW: u64 = 256 * 1024;

/// The journal's writer side.
pub(crate) struct Journal {
    dir: PathBuf,
    seg: Arc<Mutex<Segment>>,
    pending: Vec<(Day, Vec<u8>)>,
    /// Test-only fault hook (`LAYSO_FAULT_STORE_ERRNO_FILE`): while this file holds an
    /// errno (e.g. 30 for EROFS, 5 for EIO), journal writes fail with it. A read-only
    /// remount cannot be made while the daemon holds its files open for writing (EBUSY).
    fault: Option<PathBuf>,
}

impl Journal {
    /// The injected error, while the fault hook's file names one.
    fn injected(&self) -> Result<(), LogError> {
        let Some(f) = &self.fault else { return Ok(()) };
        match fs::read_to_string(f)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok())
        {
            Some(errno) => Err(io_err(&self.dir)(std::io::Error::from_raw_os_error(errno))),
            None => Ok(()),
        }
    }
}

/// Syncs the journal from the flusher thread.
#[derive(Clone)]
pub(crate) struct JournalSync(Arc<Mutex<Segment>>);

fn poisoned(path: &Path) -> LogError {
    LogError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other("journal lock poisoned"),
    }
}

impl JournalSync {
    /// Make everything written so far durable.
    pub(crate) fn sync(&self) -> Result<(), LogError> {
        let (file, upto, path) = {
            let s = self.0.lock().map_err(|_| poisoned(Path::new("journal")))?;
            (s.file.clone(), s.written, s.path.clone())
        };
        let Some(file) = file else { return Ok(()) };
        file.sync_data().map_err(io_err(&path))?;
        if let Ok(mut s) = self.0.lock() {
            if s.path == path {
                s.durable = s.durable.max(upto);
            }
        }
        Ok(())
    }
}

impl Journal {
    /// Open the journal directory (creating it) without opening a day file yet.
    pub(crate) fn open(store: &Path) -> Result<Journal, LogError> {
        let dir = dir_for(store);
        if !dir.exists() {
            fs::create_dir_all(&dir).map_err(io_err(&dir))?;
            super::hwm::sync_dir(&dir)?;
        }
        Ok(Journal {
            dir,
            seg: Arc::default(),
            pending: Vec::new(),
            fault: crate::sys::fault_store_errno_file(),
        })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn syncer(&self) -> JournalSync {
        JournalSync(self.seg.clone())
    }

    /// Queue an entry (written by [`Journal::write`]).
    pub(crate) fn append(&mut self, e: &Entry, record: &[u8]) {
        match self.pending.last_mut() {
            Some((d, buf)) if *d == e.day => frame(e.seq, record, buf),
            _ => {
                let mut buf = Vec::new();
                frame(e.seq, record, &mut buf);
                self.pending.push((e.day, buf));
            }
        }
    }

    /// Write queued frames to the day files (durable after [`JournalSync::sync`]). On
    /// failure the partial write is cut off and the queued frames are dropped.
    pub(crate) fn write(&mut self) -> Result<(), LogError> {
        let pending = std::mem::take(&mut self.pending);
        if !pending.is_empty() {
            self.injected()?;
        }
        for (day, buf) in pending {
            self.switch_to(day)?;
            let mut s = self.seg.lock().map_err(|_| poisoned(&self.dir))?;
            let (Some(file), at) = (s.file.clone(), s.written) else {
                continue;
            };
            let end = at + buf.len() as u64;
            if end > s.allocated {
                let to = end + GROW;
                let zeros = vec![0u8; (to - s.allocated) as usize];
                if let Err(e) = file
                    .write_all_at(&zeros, s.allocated)
                    .and_then(|()| file.sync_data())
                {
                    let _ = file.set_len(at);
                    return Err(io_err(&s.path)(e));
                }
                s.allocated = to;
            }
            if let Err(e) = file.write_all_at(&buf, at) {
                let _ = file.set_len(at);
                s.allocated = at;
                return Err(io_err(&s.path)(e));
            }
            s.written = at + buf.len() as u64;
        }
        Ok(())
    }

    /// Drop queued frames and cut the current file back to what was synced (after a
    /// failed batch): the journal then holds only acknowledged entries.
    pub(crate) fn discard_unsynced(&mut self) -> Result<(), LogError> {
        self.pending.clear();
        self.injected()?;
        let mut s = self.seg.lock().map_err(|_| poisoned(&self.dir))?;
        if let Some(file) = s.file.clone() {
            if s.written > s.durable {
                file.set_len(s.durable)
                    .and_then(|()| file.sync_data())
                    .map_err(io_err(&s.path))?;
                s.written = s.durable;
                s.allocated = s.durable;
            }
        }
        Ok(())
    }

    /// Make `day` the open file: sync the previous one, open (or create) this one at
    /// its valid end, and drop files beyond the newest [`KEEP`].
    pub(crate) fn switch_to(&mut self, day: Day) -> Result<(), LogError> {
        let mut s = self.seg.lock().map_err(|_| poisoned(&self.dir))?;
        if s.day == Some(day) && s.file.is_some() {
            return Ok(());
        }
        if let Some(old) = s.file.take() {
            old.sync_data().map_err(io_err(&s.path))?;
        }
        let path = file_for(&self.dir, day);
        let (file, existed) = open_or_create(&path)?;
        let len = if existed {
            let bytes = fs::read(&path).map_err(io_err(&path))?;
            let parsed = parse(&bytes);
            if parsed.valid_len < bytes.len() as u64 {
                file.set_len(parsed.valid_len).map_err(io_err(&path))?;
            }
            parsed.valid_len
        } else {
            super::hwm::sync_dir(&path)?;
            0
        };
        *s = Segment {
            day: Some(day),
            path,
            file: Some(Arc::new(file)),
            written: len,
            durable: len,
            allocated: len,
        };
        drop(s);
        let files = day_files(&self.dir);
        if files.len() > KEEP {
            for (_, p) in &files[..files.len() - KEEP] {
                let _ = fs::remove_file(p);
            }
        }
        Ok(())
    }

    /// Replace the file of `day` by exactly these records (written to a temporary file,
    /// synced, renamed, directory synced). Used when the journal lacks entries sled has.
    pub(crate) fn rewrite_day(
        &mut self,
        day: Day,
        records: &[(u64, Vec<u8>)],
    ) -> Result<(), LogError> {
        let mut buf = Vec::new();
        for (seq, r) in records {
            frame(*seq, r, &mut buf);
        }
        let path = file_for(&self.dir, day);
        let tmp = path.with_extension("jnl.tmp");
        {
            let f = File::create(&tmp).map_err(io_err(&tmp))?;
            f.write_all_at(&buf, 0)
                .and_then(|()| f.sync_all())
                .map_err(io_err(&tmp))?;
        }
        fs::rename(&tmp, &path).map_err(io_err(&path))?;
        super::hwm::sync_dir(&path)?;
        // Reopen it at its new end on the next write.
        if let Ok(mut s) = self.seg.lock() {
            if s.day == Some(day) {
                *s = Segment::default();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_damage_stops_the_reader() {
        let mut buf = Vec::new();
        frame(5, b"abc", &mut buf);
        frame(6, b"defg", &mut buf);
        let p = parse(&buf);
        assert_eq!(p.records.len(), 2);
        assert_eq!(p.valid_len, buf.len() as u64);
        assert!(p.damage.is_none());
        let mut torn = buf.clone();
        torn.truncate(buf.len() - 1);
        let p = parse(&torn);
        assert_eq!(p.records.len(), 1);
        assert!(p.damage.is_some());
        let mut flipped = buf.clone();
        flipped[FRAME_HEADER + 1] ^= 1;
        let p = parse(&flipped);
        assert_eq!(p.records.len(), 0, "a bad frame is never decoded");
        assert!(p.damage.is_some());
        let mut zeros = buf.clone();
        zeros.extend_from_slice(&[0; 64]);
        assert!(
            parse(&zeros).damage.is_none(),
            "zeros after the end are no damage"
        );
    }
}

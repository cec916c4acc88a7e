//! The high-water mark kept outside sled (`<store>.hwm`): every seq and ticket number that
//! may have been used. Stored as two CRC'd slots in one file that stays open, written in
//! turn with `pwrite` + `fdatasync`, so a write needs no new file descriptor and a torn
//! write leaves the other slot intact. The JSON form of earlier builds is read once.

use crate::core::Day;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::{io_err, open_or_create, LogError};

/// Bytes per slot; a slot holds `MAGIC`, generation u64, length u32, CRC32 u32, JSON.
const SLOT: usize = 4096;
const MAGIC: &[u8; 4] = b"LHW2";
const HEADER: usize = 20;

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
    /// Every seq up to this was acknowledged (written about once a second and at a clean
    /// stop, so it may lag): a copy lacking any of these is damaged, not a crash's tail.
    #[serde(default)]
    pub acked_seq: u64,
}

impl HighWater {
    pub(crate) fn path_for(store: &Path) -> PathBuf {
        let mut s = store.as_os_str().to_owned();
        s.push(".hwm");
        PathBuf::from(s)
    }

    /// The mark on disk, if one is readable (either format).
    pub fn read(store: &Path) -> Option<HighWater> {
        let bytes = fs::read(Self::path_for(store)).ok()?;
        parse(&bytes).map(|(h, _)| h)
    }

    /// Raise this mark to cover `other` (never lowers anything).
    pub(crate) fn raise(&mut self, other: &HighWater) {
        self.seq_ceiling = self.seq_ceiling.max(other.seq_ceiling);
        self.acked_seq = self.acked_seq.max(other.acked_seq);
        self.last_at = self.last_at.max(other.last_at);
        match (self.day, other.day) {
            (Some(a), Some(b)) if b > a => {
                self.day = Some(b);
                self.numbers = other.numbers.clone();
            }
            (Some(a), Some(b)) if a == b => {
                for (s, n) in &other.numbers {
                    let m = self.numbers.entry(s.clone()).or_insert(0);
                    *m = (*m).max(*n);
                }
            }
            (None, Some(_)) => {
                self.day = other.day;
                self.numbers = other.numbers.clone();
            }
            _ => {}
        }
    }
}

/// The mark and its slot generation from the file's bytes: the newest valid slot, or the
/// JSON of earlier builds.
fn parse(bytes: &[u8]) -> Option<(HighWater, u64)> {
    if bytes.first() == Some(&b'{') {
        return serde_json::from_slice(bytes).ok().map(|h| (h, 0));
    }
    bytes
        .chunks(SLOT)
        .filter_map(slot_of)
        .max_by_key(|(_, g)| *g)
}

fn slot_of(slot: &[u8]) -> Option<(HighWater, u64)> {
    if slot.len() < HEADER || &slot[..4] != MAGIC {
        return None;
    }
    let gen = u64::from_le_bytes(slot[4..12].try_into().ok()?);
    let len = u32::from_le_bytes(slot[12..16].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(slot[16..20].try_into().ok()?);
    let body = slot.get(HEADER..HEADER + len)?;
    let mut h = crc32fast::Hasher::new();
    h.update(&slot[4..16]);
    h.update(body);
    if h.finalize() != crc {
        return None;
    }
    serde_json::from_slice(body).ok().map(|hw| (hw, gen))
}

/// The open mark file: written in place, never replaced.
pub(crate) struct HwmFile {
    path: PathBuf,
    file: File,
    gen: u64,
}

impl HwmFile {
    /// Open (creating it, and syncing its directory, when missing). Returns the mark
    /// found, if any, and whether the file was readable.
    pub(crate) fn open(store: &Path) -> Result<(HwmFile, Option<HighWater>), LogError> {
        let path = HighWater::path_for(store);
        let (file, existed) = open_or_create(&path)?;
        let mut bytes = Vec::new();
        use std::io::Read;
        (&file).read_to_end(&mut bytes).map_err(io_err(&path))?;
        let found = parse(&bytes);
        let json = bytes.first() == Some(&b'{');
        if !existed {
            sync_dir(&path)?;
        }
        let mut me = HwmFile {
            path,
            file,
            gen: found.as_ref().map_or(0, |f| f.1),
        };
        if json {
            // Convert the JSON of an earlier build into slots, in place.
            if let Some((h, _)) = &found {
                me.file.set_len(0).map_err(io_err(&me.path))?;
                me.write(h)?;
                me.write(h)?;
            }
        }
        Ok((me, found.map(|f| f.0)))
    }

    /// Write durably into the older slot (pwrite + fdatasync on the open descriptor).
    pub(crate) fn write(&mut self, h: &HighWater) -> Result<(), LogError> {
        let body = serde_json::to_vec(h).map_err(|e| LogError::Io {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        if body.len() > SLOT - HEADER {
            return Err(LogError::Io {
                path: self.path.clone(),
                source: std::io::Error::other(format!(
                    "high-water mark of {} bytes does not fit a {SLOT}-byte slot; fewer services",
                    body.len()
                )),
            });
        }
        let gen = self.gen + 1;
        let mut slot = vec![0u8; SLOT];
        slot[..4].copy_from_slice(MAGIC);
        slot[4..12].copy_from_slice(&gen.to_le_bytes());
        slot[12..16].copy_from_slice(&(body.len() as u32).to_le_bytes());
        let mut c = crc32fast::Hasher::new();
        c.update(&slot[4..16]);
        c.update(&body);
        slot[16..20].copy_from_slice(&c.finalize().to_le_bytes());
        slot[HEADER..HEADER + body.len()].copy_from_slice(&body);
        let at = (gen % 2) * SLOT as u64;
        self.file
            .write_all_at(&slot, at)
            .and_then(|()| self.file.sync_data())
            .map_err(io_err(&self.path))?;
        self.gen = gen;
        Ok(())
    }
}

/// fsync the directory holding `path` (after creating or renaming a file in it).
pub(crate) fn sync_dir(path: &Path) -> Result<(), LogError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_survive_a_torn_write_and_json_is_read_once() -> Result<(), LogError> {
        let tmp = tempfile::tempdir().map_err(io_err(Path::new("tmp")))?;
        let store = tmp.path().join("store");
        let path = HighWater::path_for(&store);
        let old = HighWater {
            seq_ceiling: 77,
            ..Default::default()
        };
        fs::write(&path, serde_json::to_vec(&old).unwrap_or_default()).map_err(io_err(&path))?;
        let (mut f, found) = HwmFile::open(&store)?;
        assert_eq!(found, Some(old.clone()));
        assert_eq!(HighWater::read(&store), Some(old.clone()));
        let newer = HighWater {
            seq_ceiling: 99,
            ..Default::default()
        };
        f.write(&newer)?;
        assert_eq!(HighWater::read(&store), Some(newer.clone()));
        // Tear the newest slot: the other one is read.
        let mut bytes = fs::read(&path).map_err(io_err(&path))?;
        let newest = ((f.gen % 2) as usize) * SLOT;
        bytes[newest + HEADER + 2] ^= 0xFF;
        fs::write(&path, &bytes).map_err(io_err(&path))?;
        assert_eq!(HighWater::read(&store), Some(old));
        Ok(())
    }
}

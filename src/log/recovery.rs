//! What the checked open reports (`OpenReport`, `Recovery`, `Lost`) and how damaged files are
//! kept aside; shared by the open (`open.rs`) and the reconciliation of the two copies
//! (`reconcile.rs`).

use super::hwm::HighWater;
use super::{io_err, LogError};
use crate::core::Entry;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

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
    /// Something was damaged (an alarm); false when only a crash's unflushed tail was
    /// restored (recorded, no alarm).
    pub damaged: bool,
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

pub(super) fn aside_path(dir: &Path, what: &str, now_ms: i64) -> PathBuf {
    let mut s = dir.as_os_str().to_owned();
    s.push(format!(".{what}-{now_ms}"));
    PathBuf::from(s)
}

/// Copy a directory's files (not recursive: sled keeps `db`, `conf`, `snap.*`).
pub(super) fn copy_aside(from: &Path, to: &Path) -> Result<(), LogError> {
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

//! The `[store]` section: where the log lives, how long published history is kept.

use super::StoreConfig;
use serde::Deserialize;
use std::ops::Range;
use std::path::PathBuf;
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStore {
    pub(super) path: Option<PathBuf>,
    pub(super) retention_days: Option<Spanned<u32>>,
    pub(super) quota_mb: Option<u64>,
}

/// Check `[store]`.
pub(super) fn check(raw: RawStore, p: &mut impl FnMut(Range<usize>, String)) -> StoreConfig {
    let retention_days = match &raw.retention_days {
        Some(r) if *r.get_ref() == 0 => {
            p(r.span(), "retention_days = 0 would drop published history at once; use 1 or more (default 90)".into());
            90
        }
        Some(r) => *r.get_ref(),
        None => 90,
    };
    StoreConfig {
        path: raw
            .path
            .unwrap_or_else(|| PathBuf::from("/var/lib/layso/store")),
        retention_days,
        quota_mb: raw.quota_mb,
    }
}

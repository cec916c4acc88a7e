//! The `[site]` section: identity (usable in MQTT topics), time zone and day start.

use super::{valid_topic_word, SiteConfig};
use crate::core::time::{parse_time_of_day, parse_utc_offset, DayRule};
use serde::Deserialize;
use std::ops::Range;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSite {
    pub(super) id: Spanned<String>,
    pub(super) name: String,
    pub(super) province: Spanned<String>,
    #[serde(default = "default_offset")]
    pub(super) utc_offset: Spanned<String>,
    #[serde(default = "default_day_start")]
    pub(super) day_starts_at: Spanned<String>,
}

super::defaults::unwritten_defaults! {
    default_offset: String = "+07:00".into(),
    default_day_start: String = "00:00".into(),
}

/// Check `[site]`.
pub(super) fn check(site: RawSite, p: &mut impl FnMut(Range<usize>, String)) -> SiteConfig {
    let id = site.id.get_ref().trim().to_string();
    if !valid_topic_word(&id) {
        p(
            site.id.span(),
            format!("site id '{id}' is not usable in MQTT topics; use letters, digits, '-' or '_' (e.g. \"hcm-ben-thanh\")"),
        );
    }
    let province = site.province.get_ref().trim().to_string();
    if !valid_topic_word(&province) {
        p(
            site.province.span(),
            format!("province '{province}' is not usable in MQTT topics; use letters, digits, '-' or '_' (e.g. \"hcm\")"),
        );
    }
    let utc_offset_minutes = parse_utc_offset(site.utc_offset.get_ref()).unwrap_or_else(|e| {
        p(site.utc_offset.span(), e);
        420
    });
    let day_start_minutes = parse_time_of_day(site.day_starts_at.get_ref()).unwrap_or_else(|e| {
        p(site.day_starts_at.span(), e);
        0
    });

    SiteConfig {
        id,
        name: site.name,
        province,
        rule: DayRule {
            utc_offset_minutes,
            day_start_minutes,
        },
    }
}

//! The `[[services]]` sections: ids, ticket prefixes and numbering.

use super::Service;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    pub(super) id: Spanned<String>,
    pub(super) name_vi: String,
    pub(super) name_en: Option<String>,
    pub(super) prefix: Option<Spanned<String>>,
    #[serde(default = "one")]
    pub(super) first_number: Spanned<u32>,
    #[serde(default = "three")]
    pub(super) digits: Spanned<u8>,
}

super::defaults::unwritten_defaults! {
    one: u32 = 1,
    three: u8 = 3,
}

/// Check `[[services]]`; also returns the set of service ids.
pub(super) fn check(
    raw: Vec<RawService>,
    p: &mut impl FnMut(Range<usize>, String),
) -> (Vec<Service>, HashSet<String>) {
    if raw.is_empty() {
        p(
            0..0,
            "no [[services]]: add at least one, e.g. id = \"A\", name_vi = \"Hộ tịch\"".into(),
        );
    }
    let mut ids = HashSet::new();
    let mut prefixes: BTreeMap<String, String> = BTreeMap::new();
    let mut services = Vec::new();
    for s in raw {
        let sid = s.id.get_ref().trim().to_string();
        if sid.is_empty() || sid.len() > 8 || !sid.chars().all(|c| c.is_ascii_alphanumeric()) {
            p(
                s.id.span(),
                format!("service id '{sid}' must be 1-8 ASCII letters or digits, e.g. \"A\""),
            );
        } else if !ids.insert(sid.clone()) {
            p(
                s.id.span(),
                format!("duplicate service id '{sid}': each [[services]] needs its own id"),
            );
        }
        let (prefix, prefix_span) = match &s.prefix {
            Some(pfx) => (pfx.get_ref().trim().to_string(), pfx.span()),
            None => (sid.clone(), s.id.span()),
        };
        if prefix.len() > 4 || !prefix.chars().all(|c| c.is_ascii_alphanumeric()) {
            p(
                prefix_span.clone(),
                format!("ticket prefix '{prefix}' must be up to 4 ASCII letters or digits (printers and LED boards show it)"),
            );
        } else if let Some(other) = prefixes.insert(prefix.clone(), sid.clone()) {
            p(
                prefix_span,
                format!("ticket prefix '{prefix}' is already used by service '{other}'; tickets would share numbers"),
            );
        }
        let digits = *s.digits.get_ref();
        if !(1..=6).contains(&digits) {
            p(s.digits.span(), format!("digits = {digits}: use 1 to 6"));
        }
        let first = *s.first_number.get_ref();
        if first > 999_999 {
            p(
                s.first_number.span(),
                format!("first_number = {first}: use 0 to 999999"),
            );
        }
        services.push(Service {
            name_en: s.name_en.unwrap_or_else(|| s.name_vi.clone()),
            name_vi: s.name_vi,
            id: sid,
            prefix,
            first_number: first,
            digits,
        });
    }

    (services, ids)
}

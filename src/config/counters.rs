//! The `[[counters]]` sections: numbers, the services each serves, credentials.

use super::{sorted, Counter};
use serde::Deserialize;
use std::collections::HashSet;
use std::ops::Range;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCounter {
    pub(super) number: Spanned<u16>,
    pub(super) name: Option<String>,
    pub(super) services: Spanned<Vec<Spanned<String>>>,
    pub(super) credential: Spanned<String>,
}

/// Check `[[counters]]` against the service `ids`; also returns the counters'
/// credentials (the web and ratings checks refuse to reuse them).
pub(super) fn check(
    raw: Vec<RawCounter>,
    ids: &HashSet<String>,
    p: &mut impl FnMut(Range<usize>, String),
) -> (Vec<Counter>, HashSet<String>) {
    let mut numbers = HashSet::new();
    let mut creds = HashSet::new();
    let mut counters = Vec::new();
    for c in raw {
        let n = *c.number.get_ref();
        if n == 0 {
            p(
                c.number.span(),
                "counter number 0: counters are numbered from 1".into(),
            );
        } else if !numbers.insert(n) {
            p(
                c.number.span(),
                format!("duplicate counter number {n}: each [[counters]] needs its own number"),
            );
        }
        if c.services.get_ref().is_empty() {
            p(
                c.services.span(),
                format!(
                    "counter {n} serves no service; list at least one of: {}",
                    sorted(ids)
                ),
            );
        }
        let mut list = Vec::new();
        for s in c.services.get_ref() {
            let v = s.get_ref().trim().to_string();
            if !ids.contains(&v) {
                p(
                    s.span(),
                    format!(
                        "counter {n} serves unknown service '{v}'; known services: {}",
                        sorted(ids)
                    ),
                );
            } else if list.contains(&v) {
                p(
                    s.span(),
                    format!("service '{v}' is listed twice for counter {n}"),
                );
            }
            list.push(v);
        }
        let cred = c.credential.get_ref().clone();
        if cred.chars().count() < 8 || cred.chars().any(char::is_whitespace) {
            p(
                c.credential.span(),
                format!("credential of counter {n} is too weak: use at least 8 characters without spaces"),
            );
        } else if !creds.insert(cred.clone()) {
            p(
                c.credential.span(),
                format!(
                    "counter {n} shares its credential with another counter; give each its own"
                ),
            );
        }
        counters.push(Counter {
            number: n,
            name: c.name.unwrap_or_else(|| format!("Quầy {n}")),
            services: list,
            credential: cred,
        });
    }

    (counters, creds)
}

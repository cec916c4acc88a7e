//! `[[officers]]` and `[ratings]`: who may sign in at a counter, and how citizens rate
//! (window, reasons, rate-on-skip, rating device credentials, the head's counter).

use crate::core::rating::RatingRules;
use serde::Deserialize;
use std::collections::HashSet;
use std::ops::Range;
use toml::Spanned;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOfficer {
    id: Spanned<String>,
    name: String,
    pin: Spanned<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReason {
    code: Spanned<String>,
    vi: String,
    en: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDevice {
    counter: Spanned<u16>,
    credential: Spanned<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRatings {
    allow_anonymous_counters: Option<bool>,
    window_seconds: Option<Spanned<u32>>,
    #[serde(default)]
    rate_on_skip: bool,
    head_counter: Option<Spanned<u16>>,
    #[serde(default)]
    reasons: Vec<RawReason>,
    #[serde(default)]
    devices: Vec<RawDevice>,
}

/// An officer who may sign in at a counter. The PIN is never serialized.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Officer {
    pub id: String,
    pub name: String,
    #[serde(skip)]
    pub pin: String,
}

/// A reason an unsatisfied citizen may pick.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Reason {
    pub code: String,
    pub vi: String,
    pub en: String,
}

/// The checked `[[officers]]` and `[ratings]`.
#[derive(Debug, Clone)]
pub struct RatingsConfig {
    pub officers: Vec<Officer>,
    pub allow_anonymous: bool,
    pub window_seconds: u32,
    pub rate_on_skip: bool,
    /// The counter whose page shows unsatisfied alerts (the center's head).
    pub head_counter: Option<u16>,
    pub reasons: Vec<Reason>,
    /// (counter, credential) of each counter's rating device.
    pub devices: Vec<(u16, String)>,
}

impl Default for RatingsConfig {
    fn default() -> Self {
        RatingsConfig {
            officers: Vec::new(),
            allow_anonymous: true,
            window_seconds: 120,
            rate_on_skip: false,
            head_counter: None,
            reasons: Vec::new(),
            devices: Vec::new(),
        }
    }
}

impl RatingsConfig {
    /// The `layso check` summary lines.
    pub(crate) fn summary(&self) -> String {
        let mut s = format!(
            "officers   {} ({})\n",
            self.officers.len(),
            if self.allow_anonymous {
                "counters may work with nobody signed in"
            } else {
                "a counter needs a signed-in officer to call"
            }
        );
        s += &format!(
            "ratings    {} rating device(s), window {} s, {} reason(s){}{}\n",
            self.devices.len(),
            self.window_seconds,
            self.reasons.len(),
            if self.rate_on_skip {
                ", also after skips"
            } else {
                ""
            },
            self.head_counter
                .map(|h| format!(", head of center at counter {h}"))
                .unwrap_or_default()
        );
        s
    }

    /// The rules core enforces.
    pub(crate) fn rules(&self) -> RatingRules {
        RatingRules {
            officers: self.officers.iter().map(|o| o.id.clone()).collect(),
            allow_anonymous: self.allow_anonymous,
            window_ms: i64::from(self.window_seconds) * 1000,
            rate_on_skip: self.rate_on_skip,
            reasons: self.reasons.iter().map(|r| r.code.clone()).collect(),
        }
    }
    /// The officer as pages show them (id and name; unknown ids keep their id).
    pub(crate) fn public_officer(&self, id: &str) -> Option<Officer> {
        Some(Officer {
            id: id.to_string(),
            name: self
                .officer(id)
                .map_or_else(|| id.to_string(), |o| o.name.clone()),
            pin: String::new(),
        })
    }
    pub(crate) fn officer(&self, id: &str) -> Option<&Officer> {
        self.officers.iter().find(|o| o.id == id)
    }
    /// The rating device credential of `counter`.
    pub(crate) fn device_credential(&self, counter: u16) -> Option<&str> {
        self.devices
            .iter()
            .find(|(c, _)| *c == counter)
            .map(|(_, k)| k.as_str())
    }
}

fn code_ok(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

/// Check the sections; `taken` holds the credentials already used (counters, admin).
pub(crate) fn check(
    officers: Vec<RawOfficer>,
    raw: Option<RawRatings>,
    counters: &[u16],
    taken: &HashSet<String>,
    p: &mut dyn FnMut(Range<usize>, String),
) -> RatingsConfig {
    let mut out = RatingsConfig::default();
    let mut ids = HashSet::new();
    for o in officers {
        let id = o.id.get_ref().trim().to_string();
        if !code_ok(&id, 32) {
            p(o.id.span(), format!("officer id '{id}' must be 1-32 ASCII letters, digits, '-', '_' or '.', e.g. \"lan.nt\""));
        } else if !ids.insert(id.clone()) {
            p(
                o.id.span(),
                format!("duplicate officer id '{id}': each [[officers]] needs its own id"),
            );
        }
        let pin = o.pin.get_ref().clone();
        if !(4..=12).contains(&pin.len()) || !pin.chars().all(|c| c.is_ascii_digit()) {
            p(
                o.pin.span(),
                format!("PIN of officer '{id}' must be 4 to 12 digits, e.g. \"4821\""),
            );
        }
        out.officers.push(Officer {
            id,
            name: o.name,
            pin,
        });
    }
    let Some(r) = raw else {
        return out;
    };
    out.allow_anonymous = r.allow_anonymous_counters.unwrap_or(true);
    if !out.allow_anonymous && out.officers.is_empty() {
        p(
            0..0,
            "[ratings] allow_anonymous_counters = false but no [[officers]] are configured: nobody could call; add officers or allow anonymous counters".into(),
        );
    }
    if let Some(w) = &r.window_seconds {
        let v = *w.get_ref();
        if !(10..=3600).contains(&v) {
            p(
                w.span(),
                format!("window_seconds = {v}: use 10 to 3600 (default 120)"),
            );
        } else {
            out.window_seconds = v;
        }
    }
    out.rate_on_skip = r.rate_on_skip;
    if let Some(h) = &r.head_counter {
        let n = *h.get_ref();
        if !counters.contains(&n) {
            p(
                h.span(),
                format!("head_counter = {n} is not a configured counter; configured counters: {counters:?}"),
            );
        } else {
            out.head_counter = Some(n);
        }
    }
    let mut codes = HashSet::new();
    for reason in r.reasons {
        let code = reason.code.get_ref().trim().to_string();
        if !code_ok(&code, 24) {
            p(
                reason.code.span(),
                format!("reason code '{code}' must be 1-24 ASCII letters, digits, '-', '_' or '.', e.g. \"slow\""),
            );
        } else if !codes.insert(code.clone()) {
            p(
                reason.code.span(),
                format!("duplicate reason code '{code}'"),
            );
        }
        out.reasons.push(Reason {
            code,
            en: reason.en.unwrap_or_else(|| reason.vi.clone()),
            vi: reason.vi,
        });
    }
    let mut seen = HashSet::new();
    let mut creds = HashSet::new();
    for d in r.devices {
        let n = *d.counter.get_ref();
        if !counters.contains(&n) {
            p(
                d.counter.span(),
                format!("rating device for counter {n}, which is not configured; configured counters: {counters:?}"),
            );
        } else if !seen.insert(n) {
            p(
                d.counter.span(),
                format!(
                    "counter {n} has two rating devices; give each counter one [[ratings.devices]]"
                ),
            );
        }
        let cred = d.credential.get_ref().clone();
        if cred.chars().count() < 8 || cred.chars().any(char::is_whitespace) {
            p(
                d.credential.span(),
                format!("rating device credential of counter {n} is too weak: use at least 8 characters without spaces"),
            );
        } else if taken.contains(&cred) || !creds.insert(cred.clone()) {
            p(
                d.credential.span(),
                format!("rating device credential of counter {n} is used elsewhere; a tablet in the citizens' hands needs its own"),
            );
        }
        out.devices.push((n, cred));
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::config::parse;
    use crate::config::test_support::{assert_problem, located_problems};

    /// Site `t`, service A, counter 1.
    const BASE: &str = include_str!("fixtures/one_counter.toml");

    fn problems(extra: &str) -> Vec<String> {
        located_problems(&format!("{BASE}{extra}"))
    }

    #[test]
    fn good_sections_parse() {
        let text = format!("{BASE}{}", include_str!("fixtures/ratings_sections.toml"));
        let c = match parse(&text, "t.toml", None) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        let r = &c.ratings;
        assert_eq!(r.officers[0].name, "Nguyễn Thị Lan");
        assert!(!r.allow_anonymous && r.rate_on_skip);
        assert_eq!(r.head_counter, Some(1));
        assert_eq!(r.device_credential(1), Some("tablet-one-secret"));
        let rules = r.rules();
        assert_eq!(rules.window_ms, 90_000);
        assert_eq!(rules.reasons, vec!["slow".to_string()]);
        assert_eq!(c.site().ratings, rules);
        assert!(c.summary().contains("ratings    1 rating device(s), window 90 s, 1 reason(s), also after skips, head of center at counter 1"), "{}", c.summary());
    }

    #[test]
    fn defaults_keep_old_configs_working() {
        let c = match parse(BASE, "t.toml", None) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert!(c.ratings.allow_anonymous);
        assert_eq!(c.ratings.window_seconds, 120);
    }

    #[test]
    fn problems_have_line_and_column() {
        let p = problems(
            r#"
[[officers]]
id = "lan"
name = "Lan"
pin = "12ab"

[ratings]
window_seconds = 5
head_counter = 7

[[ratings.devices]]
counter = 1
credential = "secret-one"
"#,
        );
        assert_problem(&p, "18:7", "4 to 12 digits");
        assert_problem(&p, "21:18", "10 to 3600");
        assert_problem(&p, "22:16", "not a configured counter");
        assert_problem(&p, "26:14", "used elsewhere");
    }
}

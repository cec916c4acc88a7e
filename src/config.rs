//! The TOML configuration: parsed once into checked types, every problem reported with
//! its line, column and what would be valid.

use crate::core::time::DayRule;
use crate::core::{CounterDef, ServiceDef, Site};
use crate::devices::board::{ButtonConfig, CounterDisplayConfig, LedBoardConfig};
use crate::devices::keypad::KeypadBusConfig;
use crate::devices::printer::PrinterConfig;
use serde::Deserialize;
use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

mod checks;
mod counters;
mod coverage;
pub(crate) mod defaults;
mod devices;
mod services;
mod site;
mod store;
pub(crate) mod uplink;
mod web;
mod web_limits;
use web::RawWeb;
pub use web::WebConfig;
pub use web_limits::ConnLimits;
mod ratings;
#[cfg(test)]
pub(crate) mod test_support;
pub use ratings::{Officer, RatingsConfig, Reason};

/// Where a configuration lives in production.
pub(crate) const DEFAULT_PATH: &str = "/etc/layso/layso.toml";

// ---------------------------------------------------------------- raw (as written)

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    site: site::RawSite,
    #[serde(default)]
    services: Vec<services::RawService>,
    #[serde(default)]
    counters: Vec<counters::RawCounter>,
    #[serde(default)]
    store: store::RawStore,
    #[serde(default)]
    web: RawWeb,
    printer: Option<PrinterConfig>,
    #[serde(default)]
    buttons: Vec<ButtonConfig>,
    #[serde(default)]
    counter_displays: Vec<CounterDisplayConfig>,
    #[serde(default)]
    led_boards: Vec<LedBoardConfig>,
    keypads: Option<KeypadBusConfig>,
    uplink: Option<uplink::UplinkConfig>,
    voice: Option<crate::voice::VoiceConfig>,
    #[serde(default)]
    officers: Vec<ratings::RawOfficer>,
    ratings: Option<ratings::RawRatings>,
}

// ---------------------------------------------------------------- checked

#[derive(Debug, Clone)]
pub struct Config {
    pub site: SiteConfig,
    pub services: Vec<Service>,
    pub counters: Vec<Counter>,
    pub store: StoreConfig,
    pub web: WebConfig,
    /// The ticket printer (none: tickets are only shown on screen).
    pub printer: Option<PrinterConfig>,
    pub buttons: Vec<ButtonConfig>,
    pub counter_displays: Vec<CounterDisplayConfig>,
    pub led_boards: Vec<LedBoardConfig>,
    /// The RS-485 bus of counter keypads.
    pub keypads: Option<KeypadBusConfig>,
    /// `[uplink]`: MQTT to the province (None: no uplink, the log just keeps everything).
    pub uplink: Option<uplink::UplinkConfig>,
    /// `[voice]`: spoken calls (None: no announcements).
    pub voice: Option<crate::voice::VoiceConfig>,
    /// `[[officers]]` and `[ratings]`: sign-in and citizen ratings.
    pub ratings: RatingsConfig,
    /// Things that are valid but unwise (placeholder credentials): shown by
    /// `layso check` and logged at start-up.
    pub warnings: Vec<Problem>,
}

#[derive(Debug, Clone)]
pub struct SiteConfig {
    pub id: String,
    pub name: String,
    pub province: String,
    pub rule: DayRule,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub id: String,
    pub name_vi: String,
    pub name_en: String,
    pub prefix: String,
    pub first_number: u32,
    pub digits: u8,
}

#[derive(Debug, Clone)]
pub struct Counter {
    pub number: u16,
    pub name: String,
    pub services: Vec<String>,
    pub credential: String,
}

#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub path: PathBuf,
    pub retention_days: u32,
    pub quota_mb: Option<u64>,
}

impl Config {
    /// The shape of the site as core needs it.
    pub(crate) fn site(&self) -> Site {
        Site {
            rule: self.site.rule,
            services: self
                .services
                .iter()
                .map(|s| ServiceDef {
                    id: s.id.clone(),
                    prefix: s.prefix.clone(),
                    first_number: s.first_number,
                    digits: s.digits,
                })
                .collect(),
            counters: self
                .counters
                .iter()
                .map(|c| CounterDef {
                    number: c.number,
                    services: c.services.clone(),
                })
                .collect(),
            ratings: self.ratings.rules(),
        }
    }

    pub(crate) fn service(&self, id: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.id == id)
    }

    /// A one-screen summary, printed by `layso check`.
    pub(crate) fn summary(&self) -> String {
        let mut s = String::new();
        let off = self.site.rule.utc_offset_minutes;
        let start = self.site.rule.day_start_minutes;
        s += &format!(
            "site       {} — {} (province {})\n",
            self.site.id, self.site.name, self.site.province
        );
        s += &format!(
            "day        starts {:02}:{:02} local, UTC{}{:02}:{:02}\n",
            start / 60,
            start % 60,
            if off < 0 { '-' } else { '+' },
            off.abs() / 60,
            off.abs() % 60
        );
        listing(&mut s, "services", &self.services, |v| {
            format!(
                "{:<4} {} / {} (tickets {}{:0w$}…)",
                v.id,
                v.name_vi,
                v.name_en,
                v.prefix,
                v.first_number,
                w = v.digits as usize
            )
        });
        listing(&mut s, "counters", &self.counters, |c| {
            format!(
                "{:<4} {} serves {}",
                c.number,
                c.name,
                c.services.join(", ")
            )
        });
        s += &format!(
            "store      {} (published entries kept {} days{})\n",
            self.store.path.display(),
            self.store.retention_days,
            self.store
                .quota_mb
                .map(|q| format!(", quota {q} MB"))
                .unwrap_or_default()
        );
        s += &format!(
            "printer    {}\n",
            self.printer
                .as_ref()
                .map_or("none (numbers shown on screen only)".to_string(), |p| {
                    crate::devices::printer::transport::describe(p)
                })
        );
        s += &format!(
            "devices    {} button(s), {} counter display(s), {} LED board(s), {} keypad(s)\n",
            self.buttons.len(),
            self.counter_displays.len(),
            self.led_boards.len(),
            self.keypads.as_ref().map_or(0, |k| k.keypads.len())
        );
        s += &format!(
            "web        http://{} (admin credential {})\n",
            self.web.bind,
            if self.web.admin_credential.is_some() {
                "set"
            } else {
                "not set: status page and admin API disabled"
            }
        );
        s += &self.ratings.summary();
        if let Some(u) = &self.uplink {
            let st = u.settings(&self.site.id, &self.site.province);
            s += &format!(
                "uplink     mqtt{}://{}:{} as {} under {}/\n",
                if st.tls.is_some() { "s" } else { "" },
                st.host,
                st.port,
                st.client_id,
                st.topic_root
            );
        }
        s
    }
}

/// A summary heading with the count, then one indented line an item.
fn listing<T>(s: &mut String, title: &str, items: &[T], line: impl Fn(&T) -> String) {
    *s += &format!("{title:<10} {}\n", items.len());
    for item in items {
        *s += &format!("  {}\n", line(item));
    }
}

// ---------------------------------------------------------------- errors

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Every problem found in one file.
#[derive(Debug, Clone)]
pub struct ConfigError {
    pub file: String,
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.problems {
            writeln!(f, "{}:{}:{}: {}", self.file, p.line, p.column, p.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// The file could not be read: the one problem, at no line; `hint` names a file to give.
    pub(crate) fn unreadable(file: &str, e: std::io::Error, hint: &str) -> Self {
        ConfigError {
            file: file.to_string(),
            problems: vec![Problem {
                line: 0,
                column: 0,
                message: format!(
                    "cannot read the configuration: {e}; give a readable TOML file ({hint})"
                ),
            }],
        }
    }
}

/// Turns byte spans into 1-based line and column (in characters).
pub(crate) struct Locator<'a> {
    text: &'a str,
}

impl<'a> Locator<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Locator { text }
    }
    pub(crate) fn problem(&self, span: Range<usize>, message: impl Into<String>) -> Problem {
        let at = span.start.min(self.text.len());
        let before = self.text.get(..at).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        Problem {
            line,
            column,
            message: message.into(),
        }
    }
}

// ---------------------------------------------------------------- loading

/// Read and check a configuration file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| ConfigError::unreadable(&file, e, &format!("default {DEFAULT_PATH}")))?;
    let text = coverage::utf8(&bytes).map_err(|p| ConfigError {
        file: file.clone(),
        problems: vec![p],
    })?;
    parse(text, &file, path.parent())
}

/// Check configuration text. Relative store paths are resolved against the working
/// directory (as the dev config expects); `_base` is kept for callers that need it.
pub fn parse(text: &str, file: &str, _base: Option<&Path>) -> Result<Config, ConfigError> {
    let mut config = parse_checked(text, file, clean_toml_message, check)?;
    let loc = Locator::new(text);
    config.warnings = placeholder_warnings(text, &loc);
    config
        .warnings
        .extend(coverage::warnings(text, &config, &loc));
    Ok(config)
}

/// Reads `text` as TOML into `R` (a TOML error is the one problem, its message passed
/// through `toml_message`), then `check`s it: every problem it reports, by byte span and
/// message, comes back located and in the order of the file.
pub(crate) fn parse_checked<R: serde::de::DeserializeOwned, C>(
    text: &str,
    file: &str,
    toml_message: fn(&str) -> String,
    check: impl FnOnce(R, &mut dyn FnMut(Range<usize>, String)) -> C,
) -> Result<C, ConfigError> {
    let loc = Locator::new(text);
    let err = |problems| ConfigError {
        file: file.to_string(),
        problems,
    };
    let raw: R = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        err(vec![loc.problem(span, toml_message(e.message()))])
    })?;
    let mut problems = Vec::new();
    let checked = check(raw, &mut |span, msg| problems.push(loc.problem(span, msg)));
    if problems.is_empty() {
        Ok(checked)
    } else {
        problems.sort_by_key(|p| (p.line, p.column));
        Err(err(problems))
    }
}

fn clean_toml_message(m: &str) -> String {
    let m = m.trim().to_string();
    if m.starts_with("unknown field") {
        format!("{m}; remove it or check its spelling")
    } else {
        m
    }
}

fn check(raw: RawConfig, mut p: &mut dyn FnMut(Range<usize>, String)) -> Config {
    let site = site::check(raw.site, &mut p);
    let (services, ids) = services::check(raw.services, &mut p);
    let (counters, creds) = counters::check(raw.counters, &ids, &mut p);
    let store = store::check(raw.store, &mut p);
    // web
    let web = web::check(&raw.web, &creds, &mut p);

    let service_ids: Vec<&str> = services.iter().map(|s| s.id.as_str()).collect();
    let counter_numbers: Vec<u16> = counters.iter().map(|c| c.number).collect();
    let devices = devices::Devices {
        printer: &raw.printer,
        buttons: &raw.buttons,
        counter_displays: &raw.counter_displays,
        led_boards: &raw.led_boards,
        keypads: &raw.keypads,
    };
    devices::check(devices, &service_ids, &counter_numbers, &mut p);

    if let Some(u) = &raw.uplink {
        for (span, msg) in u.validate() {
            p(span, format!("[uplink] {msg}"));
        }
    }
    for (span, msg) in raw.voice.iter().flat_map(|v| v.validate()) {
        p(span, msg);
    }

    let mut taken = creds.clone();
    taken.extend(web.admin_credential.clone());
    let ratings = ratings::check(raw.officers, raw.ratings, &counter_numbers, &taken, &mut p);

    Config {
        ratings,
        uplink: raw.uplink,
        voice: raw.voice,
        site,
        services,
        counters,
        store,
        web,
        printer: raw.printer,
        buttons: raw.buttons,
        counter_displays: raw.counter_displays,
        led_boards: raw.led_boards,
        keypads: raw.keypads,
        warnings: Vec::new(),
    }
}

/// Credentials still reading `change-me…` (as in the example file) let anyone who has
/// read the example call numbers.
fn placeholder_warnings(text: &str, loc: &Locator) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        if (t.starts_with("credential") || t.starts_with("admin_credential"))
            && t.contains("\"change-me")
        {
            let col = line.len() - t.len();
            out.push(loc.problem(
                at + col..at + col,
                "this credential is still the example's placeholder: replace it before the center opens",
            ));
        }
        at += line.len();
    }
    out
}

fn valid_topic_word(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn sorted(ids: &HashSet<String>) -> String {
    let mut v: Vec<_> = ids.iter().cloned().collect();
    v.sort();
    v.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_support::assert_problem;

    const GOOD: &str = include_str!("config/fixtures/good.toml");

    fn problems(text: &str) -> Vec<Problem> {
        match parse(text, "t.toml", None) {
            Ok(_) => vec![],
            Err(e) => e.problems,
        }
    }

    #[test]
    fn good_config_parses_with_defaults() {
        let c = parse(GOOD, "t.toml", None).map_err(|e| e.to_string());
        let c = match c {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(c.site.rule, DayRule::VIETNAM);
        assert_eq!(c.services[1].first_number, 100);
        assert_eq!(c.counters[0].name, "Quầy 1");
        assert_eq!(c.web.kiosk_rate_per_minute, 30);
        assert!(c.summary().contains("Hộ tịch"));
    }

    /// Optional keys carry no `#[serde(default)]`: a missing one must still read as None.
    #[test]
    fn sections_with_only_their_required_keys_parse() {
        let text = format!(
            "{GOOD}{}",
            include_str!("config/fixtures/required_only.toml")
        );
        let c = match parse(&text, "t.toml", None) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(c.store.quota_mb, None);
        assert_eq!(c.web.bind.to_string(), "0.0.0.0:8080");
        assert!(c
            .printer
            .is_some_and(|p| p.status.is_none() && p.host.is_none()));
        assert_eq!(
            (c.buttons[0].debounce_ms(), c.buttons[0].name.clone()),
            (30, None)
        );
        assert_eq!(c.counter_displays[0].intensity(), 8);
        assert!(c.counter_displays[0].label.is_none());
        assert_eq!(
            (c.led_boards[0].baud(), c.led_boards[0].address_for(2)),
            (9600, 1)
        );
        assert!(c
            .uplink
            .is_some_and(|u| u.port.is_none() && u.tls.is_none()));
        assert!(c
            .voice
            .is_some_and(|v| v.place.is_none() && v.out_dir.is_none()));
        assert_eq!(
            (c.ratings.head_counter, c.ratings.window_seconds),
            (None, 120)
        );
    }

    #[test]
    fn unknown_key_has_line_and_column() {
        let text = GOOD.replace("province = \"hcm\"", "province = \"hcm\"\ncolour = \"red\"");
        let p = problems(&text);
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].line, p[0].column), (6, 1));
        assert!(
            p[0].message.contains("unknown field `colour`"),
            "{}",
            p[0].message
        );
    }

    #[test]
    fn wrong_type_has_line_and_column() {
        let text = GOOD.replace("first_number = 100", "first_number = \"100\"");
        let p = problems(&text);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].line, 15);
        assert!(p[0].message.contains("invalid type"), "{}", p[0].message);
    }

    #[test]
    fn every_semantic_problem_is_reported() {
        let text = GOOD
            .replace("id = \"B\"", "id = \"A\"")
            .replace("services = [\"A\", \"B\"]", "services = [\"A\", \"Z\"]")
            .replace(
                "[site]\nid = \"test-site\"",
                "[site]\nid = \"test-site\"\nutc_offset = \"7\"",
            );
        let msgs = super::test_support::located_problems(&text);
        assert_problem(&msgs, "4:14", "UTC offset");
        assert_problem(&msgs, "13:6", "duplicate service id 'A'");
        assert_problem(&msgs, "20:18", "unknown service 'Z'");
    }
}

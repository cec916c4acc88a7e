//! The collector's configuration (`layso province run|check --config FILE`): TOML →
//! checked [`ProvinceConfig`], every problem with line:column like `layso check`.

use crate::config::ConfigError;
use crate::uplink::config::TlsPaths;
use serde::Deserialize;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// Opening hours: minute-of-day windows `[start, end)` per weekday, local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hours {
    /// Monday..Friday windows.
    pub weekday: Vec<(u16, u16)>,
    pub saturday: Vec<(u16, u16)>,
    /// Local time offset from UTC, minutes (Vietnam: 420).
    pub utc_offset_min: i32,
}

impl Default for Hours {
    fn default() -> Self {
        Hours {
            weekday: vec![(450, 690), (810, 1020)],
            saturday: Vec::new(),
            utc_offset_min: 420,
        }
    }
}

/// A checked configuration.
#[derive(Debug, Clone)]
pub(crate) struct ProvinceConfig {
    pub host: String,
    pub port: u16,
    pub client_id: String,
    pub share_group: String,
    pub prefix: String,
    /// Province id to follow, or `+` for all provinces on the broker.
    pub province: String,
    pub credentials: Option<(String, String)>,
    pub tls: Option<TlsPaths>,
    pub session_expiry_secs: u32,
    pub database_url: String,
    pub listen: SocketAddr,
    pub batch_max_messages: usize,
    pub batch_max_wait: Duration,
    pub resend_after: Duration,
    pub figures_every: Duration,
    /// A site-day's figures are recomputed at most this often.
    pub figures_min_age: Duration,
    pub hours: Hours,
}

impl ProvinceConfig {
    /// The collector's subscriptions. Events go to one collector of the shared group
    /// each; status and metrics go to every collector (a shared subscription gets no
    /// retained messages, and a dead member's share would wait in its session).
    pub(crate) fn filters(&self) -> Vec<String> {
        vec![
            format!(
                "$share/{}/{}/{}/+/events",
                self.share_group, self.prefix, self.province
            ),
            format!("{}/{}/+/status", self.prefix, self.province),
            format!("{}/{}/+/metrics", self.prefix, self.province),
        ]
    }

    pub(crate) fn summary(&self) -> String {
        format!(
            "broker {}:{} ({}, client {}, shared group {}), database {}, dashboard http://{}\nopening hours Mon–Fri {}, Sat {}",
            self.host,
            self.port,
            if self.tls.is_some() { "TLS" } else { "plain TCP" },
            self.client_id,
            self.share_group,
            redact(&self.database_url),
            self.listen,
            windows_text(&self.hours.weekday),
            windows_text(&self.hours.saturday),
        )
    }
}

fn windows_text(w: &[(u16, u16)]) -> String {
    if w.is_empty() {
        return "closed".into();
    }
    w.iter()
        .map(|(a, b)| format!("{:02}:{:02}–{:02}:{:02}", a / 60, a % 60, b / 60, b % 60))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A database URL without its password.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &userinfo[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    broker: Spanned<RawBroker>,
    database: Spanned<RawDatabase>,
    web: Option<RawWeb>,
    collector: Option<RawCollector>,
    hours: Option<RawHours>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBroker {
    host: Spanned<String>,
    port: Option<Spanned<i64>>,
    client_id: Option<Spanned<String>>,
    share_group: Option<Spanned<String>>,
    prefix: Option<String>,
    province: Option<Spanned<String>>,
    username: Option<String>,
    password: Option<String>,
    ca_file: Option<PathBuf>,
    cert_file: Option<Spanned<PathBuf>>,
    key_file: Option<PathBuf>,
    session_expiry_secs: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeb {
    listen: Spanned<String>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCollector {
    batch_max_messages: Option<Spanned<i64>>,
    batch_max_wait_ms: Option<Spanned<i64>>,
    resend_after_secs: Option<Spanned<i64>>,
    figures_every_secs: Option<Spanned<i64>>,
    figures_min_age_secs: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHours {
    weekday: Option<Spanned<Vec<String>>>,
    saturday: Option<Spanned<Vec<String>>>,
    utc_offset: Option<Spanned<String>>,
}

/// Read and check a file; `DATABASE_URL` (when set and not empty) replaces `[database] url`.
pub(crate) fn load(path: &Path) -> Result<ProvinceConfig, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::unreadable(&file, e, "example: config/province/dev.toml"))?;
    let env_url = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty());
    parse(&text, &file, env_url)
}

fn int_in(
    v: &Option<Spanned<i64>>,
    default: i64,
    range: Range<i64>,
    what: &str,
    p: &mut impl FnMut(Range<usize>, String),
) -> i64 {
    match v {
        None => default,
        Some(s) if range.contains(s.get_ref()) => *s.get_ref(),
        Some(s) => {
            p(
                s.span(),
                format!(
                    "{what} = {}: use {} to {}",
                    s.get_ref(),
                    range.start,
                    range.end - 1
                ),
            );
            default
        }
    }
}

/// "HH:MM" → minutes of the day.
fn hhmm(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60 && h * 60 + m <= 1440).then_some(h * 60 + m)
}

fn windows(
    v: &Option<Spanned<Vec<String>>>,
    default: Vec<(u16, u16)>,
    what: &str,
    p: &mut impl FnMut(Range<usize>, String),
) -> Vec<(u16, u16)> {
    let Some(v) = v else { return default };
    let mut out = Vec::new();
    for w in v.get_ref() {
        let parsed = w
            .split_once('-')
            .and_then(|(a, b)| Some((hhmm(a)?, hhmm(b)?)))
            .filter(|(a, b)| a < b);
        match parsed {
            Some(x) if out.last().is_none_or(|l: &(u16, u16)| l.1 <= x.0) => out.push(x),
            Some(_) => p(
                v.span(),
                format!("{what}: \"{w}\" overlaps or precedes the window before it; list windows in order of the day"),
            ),
            None => p(
                v.span(),
                format!("{what}: \"{w}\" is not a window like \"07:30-11:30\" (start before end)"),
            ),
        }
    }
    out
}

/// Check configuration text. `env_url` replaces `[database] url` when given.
pub(crate) fn parse(
    text: &str,
    file: &str,
    env_url: Option<String>,
) -> Result<ProvinceConfig, ConfigError> {
    crate::config::parse_checked(
        text,
        file,
        |m| m.trim().to_string(),
        |raw, p| check(raw, env_url, p),
    )
}

fn check(
    raw: Raw,
    env_url: Option<String>,
    mut p: &mut dyn FnMut(Range<usize>, String),
) -> ProvinceConfig {
    let b = raw.broker.get_ref();
    let host = b.host.get_ref().trim().to_string();
    if host.is_empty() {
        p(
            b.host.span(),
            "host is empty: give the broker's name or address, e.g. \"127.0.0.1\"".into(),
        );
    }
    let tls = match (&b.ca_file, &b.cert_file, &b.key_file) {
        (None, None, None) => None,
        (Some(ca), cert, key) => {
            let client = match (cert, key) {
                (Some(c), Some(k)) => Some((c.get_ref().clone(), k.clone())),
                (None, None) => None,
                _ => {
                    p(raw.broker.span(), "give both cert_file and key_file (the collector's client certificate), or neither".into());
                    None
                }
            };
            Some(TlsPaths {
                ca_file: ca.clone(),
                client,
            })
        }
        (None, _, _) => {
            p(
                raw.broker.span(),
                "cert_file/key_file need ca_file (the province CA) to use TLS".into(),
            );
            None
        }
    };
    let port = int_in(
        &b.port,
        if tls.is_some() { 8883 } else { 1883 },
        1..65536,
        "port",
        &mut p,
    ) as u16;
    let ident = |s: &Option<Spanned<String>>,
                 default: &str,
                 what: &str,
                 p: &mut dyn FnMut(Range<usize>, String)| {
        let Some(s) = s else {
            return default.to_string();
        };
        let v = s.get_ref();
        let ok = !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            p(
                s.span(),
                format!("{what} = \"{v}\": use letters, digits, '-' and '_'"),
            );
        }
        v.clone()
    };
    let client_id = ident(
        &b.client_id,
        "layso-province-collector",
        "client_id",
        &mut p,
    );
    let share_group = ident(&b.share_group, "layso", "share_group", &mut p);
    let province = match &b.province {
        Some(s) if s.get_ref() == "+" => "+".to_string(),
        other => ident(other, "+", "province", &mut p),
    };
    let session_expiry_secs = int_in(
        &b.session_expiry_secs,
        7 * 86400,
        60..(u32::MAX as i64),
        "session_expiry_secs",
        &mut p,
    ) as u32;
    let credentials = match (&b.username, &b.password) {
        (Some(u), pw) => Some((u.clone(), pw.clone().unwrap_or_default())),
        (None, Some(_)) => {
            p(
                raw.broker.span(),
                "password without username: add username".into(),
            );
            None
        }
        (None, None) => None,
    };
    let db = raw.database.get_ref();
    let database_url = env_url.unwrap_or_else(|| db.url.get_ref().clone());
    if !(database_url.starts_with("postgres://")
        || database_url.starts_with("postgresql://")
        || database_url.contains("host="))
    {
        p(db.url.span(), format!("url = \"{}\": give a PostgreSQL URL like \"postgresql://layso@localhost/layso\" (or set DATABASE_URL)", redact(&database_url)));
    }
    let listen = match &raw.web {
        None => SocketAddr::from(([127, 0, 0, 1], 8090)),
        Some(w) => w.listen.get_ref().parse().unwrap_or_else(|_| {
            p(
                w.listen.span(),
                format!(
                    "listen = \"{}\": give an address and port like \"127.0.0.1:8090\"",
                    w.listen.get_ref()
                ),
            );
            SocketAddr::from(([127, 0, 0, 1], 8090))
        }),
    };
    let c = raw.collector.unwrap_or_default();
    // (value, default, valid range, key)
    let [batch_max_messages, batch_ms, resend, figures, min_age] = [
        (
            &c.batch_max_messages,
            1000,
            1..100_001,
            "batch_max_messages",
        ),
        (&c.batch_max_wait_ms, 50, 1..10_001, "batch_max_wait_ms"),
        (&c.resend_after_secs, 10, 1..86_401, "resend_after_secs"),
        (&c.figures_every_secs, 5, 1..3601, "figures_every_secs"),
        (
            &c.figures_min_age_secs,
            30,
            0..86_401,
            "figures_min_age_secs",
        ),
    ]
    .map(|(v, default, range, what)| int_in(v, default, range, what, &mut p));
    let mut hours = Hours::default();
    if let Some(h) = &raw.hours {
        hours.weekday = windows(&h.weekday, hours.weekday.clone(), "weekday", &mut p);
        hours.saturday = windows(&h.saturday, Vec::new(), "saturday", &mut p);
        if let Some(o) = &h.utc_offset {
            match crate::core::time::parse_utc_offset(o.get_ref()) {
                Ok(m) => hours.utc_offset_min = m,
                Err(e) => p(o.span(), e),
            }
        }
    }
    ProvinceConfig {
        host,
        port,
        client_id,
        share_group,
        prefix: b.prefix.clone().unwrap_or_else(|| "layso/v1".into()),
        province,
        credentials,
        tls,
        session_expiry_secs,
        database_url,
        listen,
        batch_max_messages: batch_max_messages as usize,
        batch_max_wait: Duration::from_millis(batch_ms as u64),
        resend_after: Duration::from_secs(resend as u64),
        figures_every: Duration::from_secs(figures as u64),
        figures_min_age: Duration::from_secs(min_age as u64),
        hours,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEV: &str = include_str!("../../config/province/dev.toml");

    #[test]
    fn dev_config_is_valid_and_env_url_wins() {
        let c = parse(DEV, "dev.toml", None).unwrap();
        assert_eq!((c.host.as_str(), c.port), ("127.0.0.1", 1883));
        assert_eq!(c.listen.to_string(), "127.0.0.1:8090");
        assert_eq!(c.hours, Hours::default());
        assert_eq!(c.filters()[0], "$share/layso/layso/v1/+/+/events");
        let c = parse(DEV, "dev.toml", Some("postgresql://x:secret@db/y".into())).unwrap();
        assert_eq!(c.database_url, "postgresql://x:secret@db/y");
        assert!(
            c.summary().contains("postgresql://x:***@db/y"),
            "{}",
            c.summary()
        );
    }

    #[test]
    fn problems_have_line_and_column() {
        let text = "[broker]\nhost = \"h\"\nport = 0\n\n[database]\nurl = \"mysql://x\"\n\n[hours]\nweekday = [\"11:30-07:30\"]\nutc_offset = \"+25:00\"\n";
        let e = parse(text, "p.toml", None).unwrap_err();
        let s = e.to_string();
        assert!(s.contains("p.toml:3:8: port = 0: use 1 to 65535"), "{s}");
        assert!(s.contains("p.toml:6:7: url = \"mysql://x\""), "{s}");
        assert!(s.contains("p.toml:9:11: weekday: \"11:30-07:30\""), "{s}");
        assert!(s.contains("p.toml:10:"), "{s}");
        let e = parse(
            "[broker]\nhost = \"h\"\nbogus = 1\n[database]\nurl = \"postgresql://a/b\"\n",
            "q.toml",
            None,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("q.toml:3:1: unknown field `bogus`"),
            "{e}"
        );
        let c = parse("[broker]\nhost = \"h\"\n[database]\nurl = \"postgresql://a/b\"\n[hours]\nsaturday = [\"07:30-11:30\"]\n", "s.toml", None).unwrap();
        assert_eq!(c.hours.saturday, vec![(450, 690)]);
    }
}

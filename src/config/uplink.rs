//! The `[uplink]` section: broker, identity, TLS files, topic prefix and limits, as
//! written (serde, spans for line:column) and checked by [`UplinkConfig::validate`].

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;
use toml::Spanned;

/// Default topic prefix: `{prefix}/{province}/{site}/…`.
pub(crate) const DEFAULT_PREFIX: &str = "layso/v1";

/// `[uplink]` as written in the configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UplinkConfig {
    /// Broker host name or IP address.
    pub host: Spanned<String>,
    /// Broker port (default 1883, or 8883 with `[uplink.tls]`).
    pub port: Option<Spanned<u16>>,
    /// MQTT client id (default: the site id).
    pub client_id: Option<Spanned<String>>,
    /// Topic prefix (default `layso/v1`).
    pub topic_prefix: Option<Spanned<String>>,
    pub username: Option<Spanned<String>>,
    pub password: Option<Spanned<String>>,
    /// MQTT keep-alive in seconds (default 30).
    pub keep_alive_secs: Option<Spanned<u64>>,
    /// Seconds between metrics messages (default 60).
    pub metrics_interval_secs: Option<Spanned<u64>>,
    /// Most log entries in one events message (default 1000).
    pub batch_max_events: Option<Spanned<usize>>,
    /// Most bytes in one events message (default 262144).
    pub batch_max_bytes: Option<Spanned<usize>>,
    /// Events messages sent but not yet acknowledged, at most (default 8).
    pub in_flight: Option<Spanned<u16>>,
    /// Treat a PUBACK "no matching subscribers" as not delivered: keep the batch and
    /// retry later (default false). For provinces whose collector holds a session.
    pub hold_without_subscribers: Option<bool>,
    pub tls: Option<TlsFiles>,
}

/// `[uplink.tls]`: PEM files. The client certificate and key go together.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// CA certificate(s) that signed the broker's certificate.
    pub ca_file: Spanned<PathBuf>,
    /// This site's client certificate (chain), PEM.
    pub cert_file: Option<Spanned<PathBuf>>,
    /// This site's private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<Spanned<PathBuf>>,
}

/// The checked settings the uplink runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    pub host: String,
    pub port: u16,
    pub client_id: String,
    /// `{prefix}/{province}/{site}`, no trailing slash.
    pub topic_root: String,
    pub credentials: Option<(String, String)>,
    pub keep_alive: Duration,
    pub metrics_interval: Duration,
    pub batch_max_events: usize,
    pub batch_max_bytes: usize,
    pub in_flight: u16,
    pub hold_without_subscribers: bool,
    pub tls: Option<TlsPaths>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPaths {
    pub ca_file: PathBuf,
    pub client: Option<(PathBuf, PathBuf)>,
}

impl Settings {
    pub(crate) fn topic(&self, leaf: &str) -> String {
        format!("{}/{leaf}", self.topic_root)
    }
}

fn valid_prefix(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 128
        && !p.starts_with('/')
        && !p.ends_with('/')
        && !p.contains("//")
        && !p.starts_with('$')
        && p.chars()
            .all(|c| !matches!(c, '+' | '#' | '\0') && !c.is_whitespace())
}

fn range_check<T: PartialOrd + Copy + std::fmt::Display>(
    v: &Option<Spanned<T>>,
    lo: T,
    hi: T,
    name: &str,
    default: T,
    out: &mut Vec<(Range<usize>, String)>,
) -> T {
    super::checks::in_range(v.as_ref(), lo..=hi, name, default, &mut |span, msg| {
        out.push((span, msg))
    })
}

fn check_pem(
    path: &Spanned<PathBuf>,
    what: &str,
    key: bool,
    out: &mut Vec<(Range<usize>, String)>,
) {
    let p = path.get_ref();
    let found = if key {
        PrivateKeyDer::from_pem_file(p).map(|_| 1)
    } else {
        CertificateDer::pem_file_iter(p).map(|it| it.filter(|c| c.is_ok()).count())
    };
    match found {
        Ok(n) if n > 0 => {}
        Ok(_) => out.push((
            path.span(),
            format!(
                "{} holds no PEM certificate; give the {what} as a PEM file",
                p.display()
            ),
        )),
        Err(e) => out.push((
            path.span(),
            format!(
                "cannot read the {what} from {}: {e}; give a readable PEM file",
                p.display()
            ),
        )),
    }
}

/// Two keys that only work together: both, or none and a problem at the one given alone.
fn pair<'a, A, B>(
    a: &'a Option<Spanned<A>>,
    b: &'a Option<Spanned<B>>,
    a_alone: &str,
    b_alone: &str,
    out: &mut Vec<(Range<usize>, String)>,
) -> Option<(&'a Spanned<A>, &'a Spanned<B>)> {
    match (a, b) {
        (Some(a), Some(b)) => return Some((a, b)),
        (Some(a), None) => out.push((a.span(), a_alone.into())),
        (None, Some(b)) => out.push((b.span(), b_alone.into())),
        (None, None) => {}
    }
    None
}

impl UplinkConfig {
    /// Every semantic problem, as byte spans of the file and messages.
    pub fn validate(&self) -> Vec<(Range<usize>, String)> {
        let mut out = Vec::new();
        let _ = self.settings_checked("site", "province", &mut out);
        out
    }

    /// The settings for a site (call after `validate` found nothing).
    pub(crate) fn settings(&self, site_id: &str, province: &str) -> Settings {
        let mut ignored = Vec::new();
        self.settings_checked(site_id, province, &mut ignored)
    }

    fn settings_checked(
        &self,
        site_id: &str,
        province: &str,
        out: &mut Vec<(Range<usize>, String)>,
    ) -> Settings {
        let host = self.host.get_ref().trim().to_string();
        if host.is_empty() || host.contains(char::is_whitespace) || host.contains('/') {
            out.push((
                self.host.span(),
                format!("host = \"{host}\" is not a host name or IP address; e.g. \"mqtt.province.gov.vn\" or \"127.0.0.1\""),
            ));
        }
        let default_port = if self.tls.is_some() { 8883 } else { 1883 };
        let port = range_check(&self.port, 1, u16::MAX, "port", default_port, out);
        let client_id = match &self.client_id {
            Some(c) => {
                let v = c.get_ref().clone();
                if v.is_empty() || v.len() > 64 || v.contains(char::is_whitespace) {
                    out.push((
                        c.span(),
                        format!("client_id = \"{v}\": use 1-64 characters without spaces (default: the site id)"),
                    ));
                }
                v
            }
            None => site_id.to_string(),
        };
        let prefix = match &self.topic_prefix {
            Some(p) => {
                let v = p.get_ref().clone();
                if !valid_prefix(&v) {
                    out.push((
                        p.span(),
                        format!("topic_prefix = \"{v}\" is not a usable MQTT topic prefix; use levels separated by '/', without '+', '#', spaces, or a leading/trailing '/' (default \"{DEFAULT_PREFIX}\")"),
                    ));
                }
                v
            }
            None => DEFAULT_PREFIX.to_string(),
        };
        let credentials = pair(
            &self.username,
            &self.password,
            "username without password: add password = \"…\" or remove username",
            "password without username: add username = \"…\" or remove password",
            out,
        )
        .map(|(u, p)| (u.get_ref().clone(), p.get_ref().clone()));
        let keep_alive = range_check(&self.keep_alive_secs, 5, 3600, "keep_alive_secs", 30, out);
        let metrics = range_check(
            &self.metrics_interval_secs,
            1,
            86_400,
            "metrics_interval_secs",
            60,
            out,
        );
        let batch_max_events = range_check(
            &self.batch_max_events,
            1,
            10_000,
            "batch_max_events",
            1000,
            out,
        );
        let batch_max_bytes = range_check(
            &self.batch_max_bytes,
            4096,
            16 * 1024 * 1024,
            "batch_max_bytes",
            256 * 1024,
            out,
        );
        let in_flight = range_check(&self.in_flight, 1, 64, "in_flight", 8, out);
        let tls = self.tls.as_ref().map(|t| {
            check_pem(&t.ca_file, "CA certificate", false, out);
            let client = pair(
                &t.cert_file,
                &t.key_file,
                "cert_file without key_file: add the client's private key",
                "key_file without cert_file: add the client's certificate",
                out,
            )
            .map(|(c, k)| {
                check_pem(c, "client certificate", false, out);
                check_pem(k, "client private key", true, out);
                (c.get_ref().clone(), k.get_ref().clone())
            });
            TlsPaths {
                ca_file: t.ca_file.get_ref().clone(),
                client,
            }
        });
        Settings {
            host,
            port,
            client_id,
            topic_root: format!("{prefix}/{province}/{site_id}"),
            credentials,
            keep_alive: Duration::from_secs(keep_alive),
            metrics_interval: Duration::from_secs(metrics),
            batch_max_events,
            batch_max_bytes,
            in_flight,
            hold_without_subscribers: self.hold_without_subscribers.unwrap_or(false),
            tls,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<UplinkConfig, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_topic_root() -> Result<(), String> {
        let c = parse("host = \"127.0.0.1\"")?;
        assert!(c.validate().is_empty());
        let s = c.settings("site-1", "hcm");
        assert_eq!(s.port, 1883);
        assert_eq!(s.client_id, "site-1");
        assert_eq!(s.topic("events"), "layso/v1/hcm/site-1/events");
        assert_eq!(s.metrics_interval, Duration::from_secs(60));
        assert_eq!((s.batch_max_events, s.in_flight), (1000, 8));
        Ok(())
    }

    #[test]
    fn problems_have_spans_and_say_what_is_valid() -> Result<(), String> {
        let text = "host = \"broker\"\ntopic_prefix = \"a/+/b\"\nusername = \"u\"\nin_flight = 0\n[tls]\nca_file = \"/nonexistent/ca.pem\"\ncert_file = \"/x\"\n";
        let c = parse(text)?;
        let p = c.validate();
        let msgs: Vec<String> = p
            .iter()
            .map(|(r, m)| format!("{}: {m}", &text[r.clone()]))
            .collect();
        assert_eq!(p.len(), 5, "{msgs:#?}");
        assert!(msgs.iter().any(|m| m.starts_with("\"a/+/b\"")), "{msgs:#?}");
        assert!(msgs.iter().any(|m| m.contains("without password")));
        assert!(msgs
            .iter()
            .any(|m| m.contains("in_flight = 0: use 1 to 64")));
        assert!(msgs.iter().any(|m| m.contains("cannot read the CA")));
        assert!(msgs
            .iter()
            .any(|m| m.contains("cert_file without key_file")));
        Ok(())
    }

    #[test]
    fn site_config_reports_uplink_problems_with_line_and_column() {
        let text = "[site]\nid = \"s\"\nname = \"n\"\nprovince = \"p\"\n[[services]]\nid = \"A\"\nname_vi = \"x\"\n[uplink]\nhost = \"h\"\nmetrics_interval_secs = 0\n";
        let problems = match crate::config::parse(text, "t.toml", None) {
            Ok(_) => vec![],
            Err(e) => e.problems,
        };
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!((problems[0].line, problems[0].column), (10, 25));
        assert!(problems[0]
            .message
            .starts_with("[uplink] metrics_interval_secs = 0"));
        let ok = text.replace("metrics_interval_secs = 0", "");
        let c = crate::config::parse(&ok, "t.toml", None).map_err(|e| e.to_string());
        assert!(c.is_ok_and(|c| c.uplink.is_some()));
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(parse("host = \"h\"\nbatch_size = 3").is_err());
    }
}

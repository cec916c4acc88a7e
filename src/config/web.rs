//! The `[web]` section: where the pages and the API listen, the admin credential, body
//! and rate limits, and the connection limits (in `web_limits.rs`).

use super::ConnLimits;
use serde::Deserialize;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::ops::Range;
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWeb {
    bind: Option<Spanned<String>>,
    admin_credential: Option<Spanned<String>>,
    kiosk_rate_per_minute: Option<u32>,
    max_body_bytes: Option<Spanned<usize>>,
    max_connections: Option<Spanned<usize>>,
    keepalive_soft_limit: Option<Spanned<usize>>,
    header_timeout_s: Option<Spanned<u64>>,
    idle_timeout_s: Option<Spanned<u64>>,
}

#[derive(Debug, Clone)]
pub struct WebConfig {
    pub bind: SocketAddr,
    pub admin_credential: Option<String>,
    pub kiosk_rate_per_minute: u32,
    pub max_body_bytes: usize,
    /// Connection cap and timeouts of the HTTP server.
    pub limits: ConnLimits,
}

/// Check `[web]`; every problem goes to `p` with its span. `creds` are the counters'
/// credentials (the admin's must differ).
pub(crate) fn check(
    raw: &RawWeb,
    creds: &HashSet<String>,
    p: &mut impl FnMut(Range<usize>, String),
) -> WebConfig {
    let bind = match &raw.bind {
        Some(b) => b.get_ref().parse().unwrap_or_else(|_| {
            p(
                b.span(),
                format!("bind = \"{}\" is not an address:port; e.g. \"0.0.0.0:8080\" or \"127.0.0.1:8080\"", b.get_ref()),
            );
            SocketAddr::from(([127, 0, 0, 1], 8080))
        }),
        None => SocketAddr::from(([0, 0, 0, 0], 8080)),
    };
    let admin_credential = raw.admin_credential.as_ref().map(|a| {
        let v = a.get_ref().clone();
        if v.chars().count() < 8 || v.chars().any(char::is_whitespace) {
            p(
                a.span(),
                "admin_credential is too weak: use at least 8 characters without spaces".into(),
            );
        } else if creds.contains(&v) {
            p(
                a.span(),
                "admin_credential equals a counter credential; give the admin its own".into(),
            );
        }
        v
    });
    let max_body_bytes = super::checks::in_range(
        raw.max_body_bytes.as_ref(),
        256..=1_048_576,
        "max_body_bytes",
        4096,
        p,
    );
    let web = WebConfig {
        bind,
        admin_credential,
        kiosk_rate_per_minute: raw.kiosk_rate_per_minute.unwrap_or(30),
        max_body_bytes,
        limits: super::web_limits::check(
            super::web_limits::RawLimits {
                max_connections: raw.max_connections.as_ref(),
                keepalive_soft_limit: raw.keepalive_soft_limit.as_ref(),
                header_timeout_s: raw.header_timeout_s.as_ref(),
                idle_timeout_s: raw.idle_timeout_s.as_ref(),
            },
            &mut *p,
        ),
    };
    web
}

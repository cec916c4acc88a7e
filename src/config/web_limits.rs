//! The `[web]` connection limits: how many HTTP connections the daemon holds, and how
//! long it waits for a request head or on an idle keep-alive connection.

use super::checks::{in_range, in_range_of};
use std::ops::Range;
use std::time::Duration;
use toml::Spanned;

/// Checked connection limits (see `config/layso.example.toml`, `[web]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// Hard cap on open HTTP connections (further ones evict a waiting one or are closed).
    pub max_connections: usize,
    /// Above this many connections, idle keep-alive connections are closed first.
    pub keepalive_soft_limit: usize,
    /// A request head must be complete this long after the server starts waiting for it.
    pub header_timeout: Duration,
    /// A keep-alive connection with no request in flight and no byte received is closed
    /// after this long.
    pub idle_timeout: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            max_connections: 512,
            keepalive_soft_limit: 256,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(5),
        }
    }
}

/// The keys as written in `[web]`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RawLimits<'a> {
    pub max_connections: Option<&'a Spanned<usize>>,
    pub keepalive_soft_limit: Option<&'a Spanned<usize>>,
    pub header_timeout_s: Option<&'a Spanned<u64>>,
    pub idle_timeout_s: Option<&'a Spanned<u64>>,
}

/// Check the limits; every problem goes to `p` with its span.
pub(crate) fn check(raw: RawLimits, mut p: impl FnMut(Range<usize>, String)) -> ConnLimits {
    let d = ConnLimits::default();
    let max_connections = in_range(
        raw.max_connections,
        16..=60_000,
        "max_connections",
        d.max_connections,
        &mut p,
    );
    let soft = in_range(
        raw.keepalive_soft_limit,
        1..=60_000,
        "keepalive_soft_limit",
        d.keepalive_soft_limit.min(max_connections),
        &mut p,
    );
    let mut secs = |v, key, default| in_range_of(v, 1..=300, " seconds", key, default, &mut p);
    let header = secs(
        raw.header_timeout_s,
        "header_timeout_s",
        d.header_timeout.as_secs(),
    );
    let idle = secs(
        raw.idle_timeout_s,
        "idle_timeout_s",
        d.idle_timeout.as_secs(),
    );
    if let Some(s) = raw.keepalive_soft_limit {
        if *s.get_ref() > max_connections {
            p(
                s.span(),
                format!(
                    "keepalive_soft_limit = {} is above max_connections = {max_connections}; use at most max_connections (e.g. half of it)",
                    s.get_ref()
                ),
            );
        }
    }
    if let Some(s) = raw.idle_timeout_s {
        if idle > header {
            p(
                s.span(),
                format!(
                    "idle_timeout_s = {idle} is longer than header_timeout_s = {header}, which already closes a connection that sends no request head; use at most {header}"
                ),
            );
        }
    }
    ConnLimits {
        max_connections,
        keepalive_soft_limit: soft.min(max_connections),
        header_timeout: Duration::from_secs(header),
        idle_timeout: Duration::from_secs(idle.min(header)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> (ConnLimits, Vec<String>) {
        #[derive(serde::Deserialize)]
        struct W {
            max_connections: Option<Spanned<usize>>,
            keepalive_soft_limit: Option<Spanned<usize>>,
            header_timeout_s: Option<Spanned<u64>>,
            idle_timeout_s: Option<Spanned<u64>>,
        }
        let w: W = match toml::from_str(text) {
            Ok(w) => w,
            Err(e) => panic!("{e}"),
        };
        let mut out = Vec::new();
        let l = check(
            RawLimits {
                max_connections: w.max_connections.as_ref(),
                keepalive_soft_limit: w.keepalive_soft_limit.as_ref(),
                header_timeout_s: w.header_timeout_s.as_ref(),
                idle_timeout_s: w.idle_timeout_s.as_ref(),
            },
            |span, m| out.push(format!("{}: {m}", span.start)),
        );
        (l, out)
    }

    #[test]
    fn defaults_and_ranges() {
        let (l, p) = run("");
        assert_eq!(l, ConnLimits::default());
        assert!(p.is_empty());
        let (l, p) = run("max_connections = 100\nidle_timeout_s = 3\n");
        assert_eq!(l.max_connections, 100);
        assert_eq!(l.keepalive_soft_limit, 100);
        assert_eq!(l.idle_timeout, Duration::from_secs(3));
        assert!(p.is_empty(), "{p:?}");
        let (_, p) = run("max_connections = 5\nheader_timeout_s = 0\n");
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("use 16 to 60000"), "{p:?}");
        assert!(p[1].contains("use 1 to 300 seconds"), "{p:?}");
        let (_, p) = run("max_connections = 100\nkeepalive_soft_limit = 200\nheader_timeout_s = 4\nidle_timeout_s = 9\n");
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("above max_connections"), "{p:?}");
        assert!(p[1].contains("use at most 4"), "{p:?}");
    }
}

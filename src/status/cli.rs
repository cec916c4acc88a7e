//! `layso status`: reads `GET /api/v1/state` from the running daemon (address and admin
//! credential from its configuration) and prints the summary; exit codes for scripts.

use super::text::{render, StateDoc};
use crate::config;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// Exit codes of `layso status`: 0 healthy, 1 something needs attention, 2 bad usage or
/// configuration, 3 the daemon could not be reached or answered something unreadable.
pub(crate) const EXIT_HEALTHY: u8 = 0;
pub(crate) const EXIT_ATTENTION: u8 = 1;
pub(crate) const EXIT_BAD_CONFIG: u8 = 2;
pub(crate) const EXIT_UNREACHABLE: u8 = 3;

const TIMEOUT: Duration = Duration::from_secs(5);

/// Where the daemon answers: its bind address, with an unspecified IP replaced by loopback.
fn target(bind: SocketAddr) -> SocketAddr {
    let mut a = bind;
    if a.ip().is_unspecified() {
        a.set_ip(match a {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    a
}

/// Decodes a `Transfer-Encoding: chunked` body.
fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk size line has no end")?;
        let size_text = String::from_utf8_lossy(&body[..end]);
        let size_hex = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| format!("bad chunk size {size_hex:?}"))?;
        body = &body[end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if body.len() < size {
            return Err("the body ends inside a chunk".into());
        }
        out.extend_from_slice(&body[..size]);
        body = body.get(size + 2..).unwrap_or(&[]);
    }
}

/// One GET over HTTP/1.1 (the daemon speaks plain HTTP on its LAN address).
fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> Result<(u16, Vec<u8>), String> {
    let mut s = TcpStream::connect_timeout(&addr, TIMEOUT)
        .map_err(|e| format!("cannot connect to the daemon at {addr}: {e}"))?;
    let _ = s.set_read_timeout(Some(TIMEOUT));
    let _ = s.set_write_timeout(Some(TIMEOUT));
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\n{auth}Connection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes())
        .map_err(|e| format!("cannot send the request to {addr}: {e}"))?;
    let mut raw = Vec::new();
    s.take(16 * 1_048_576)
        .read_to_end(&mut raw)
        .map_err(|e| format!("no complete answer from {addr}: {e}"))?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("{addr} did not answer with HTTP"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let body = &raw[split + 4..];
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("{addr} answered without an HTTP status line"))?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    Ok((status, body))
}

/// Runs `layso status`.
pub(crate) fn run(config_path: &Path, json: bool, lang: &str) -> ExitCode {
    let en = match lang {
        "en" => true,
        "vi" => false,
        other => {
            eprintln!("unknown language {other:?}; use --lang vi or --lang en");
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };
    let c = match config::load(config_path) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{e}");
            eprintln!(
                "cannot read the daemon's address from {}; give the installed configuration with --config (default {})",
                config_path.display(),
                config::DEFAULT_PATH
            );
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };
    let addr = target(c.web.bind);
    let (status, body) = match get(addr, "/api/v1/state", c.web.admin_credential.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "{e}\nIs the daemon running? Check with `systemctl status layso` and `journalctl -u layso`."
            );
            return ExitCode::from(EXIT_UNREACHABLE);
        }
    };
    if status != 200 {
        eprintln!(
            "the daemon at {addr} answered HTTP {status} to GET /api/v1/state (expected 200): {}",
            String::from_utf8_lossy(&body)
        );
        return ExitCode::from(EXIT_UNREACHABLE);
    }
    let value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("the daemon at {addr} sent a state that is not JSON: {e}");
            return ExitCode::from(EXIT_UNREACHABLE);
        }
    };
    let doc: StateDoc = match serde_json::from_value(value.clone()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("the daemon at {addr} sent a state this layso cannot read: {e}");
            return ExitCode::from(EXIT_UNREACHABLE);
        }
    };
    let out = if json {
        match serde_json::to_string_pretty(&value) {
            Ok(t) => t + "\n",
            Err(e) => {
                eprintln!("cannot print the state as JSON: {e}");
                return ExitCode::from(EXIT_UNREACHABLE);
            }
        }
    } else {
        render(&doc, en)
    };
    // A closed pipe (`layso status | head`) is not an error worth a panic.
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    if doc.health.ok {
        ExitCode::from(EXIT_HEALTHY)
    } else {
        ExitCode::from(EXIT_ATTENTION)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dechunk_joins_chunks() -> Result<(), String> {
        let body = b"4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\n\r\n";
        assert_eq!(dechunk(body)?, b"Wikipedia");
        assert!(dechunk(b"zz\r\n").is_err());
        Ok(())
    }

    #[test]
    fn unspecified_bind_becomes_loopback() {
        let a: SocketAddr = "0.0.0.0:8080"
            .parse()
            .unwrap_or(SocketAddr::from(([1, 1, 1, 1], 1)));
        assert_eq!(target(a).to_string(), "127.0.0.1:8080");
    }
}

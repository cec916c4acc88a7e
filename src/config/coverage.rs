//! Warnings about who serves what: services that no counter serves (their tickets would
//! wait forever) and a configuration without counters (nobody can call a number), and a
//! configuration file that is not UTF-8 (with the byte offset of the first bad byte).

use super::{Config, Locator, Problem};
use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize)]
struct Ids {
    #[serde(default)]
    services: Vec<Id>,
}

#[derive(Deserialize)]
struct Id {
    id: Spanned<String>,
}

/// Warnings for a configuration that is valid but leaves tickets nobody can call.
pub(crate) fn warnings(text: &str, config: &Config, loc: &Locator) -> Vec<Problem> {
    let mut out = Vec::new();
    if config.counters.is_empty() {
        out.push(loc.problem(
            0..0,
            "no [[counters]]: the kiosk can issue tickets but nobody can call them; add a [[counters]] with number, services and credential",
        ));
        return out;
    }
    let spans: Vec<Id> = toml::from_str::<Ids>(text).map_or_else(|_| Vec::new(), |i| i.services);
    for s in &config.services {
        if config.counters.iter().any(|c| c.services.contains(&s.id)) {
            continue;
        }
        let span = spans
            .iter()
            .find(|i| i.id.get_ref().trim() == s.id)
            .map_or(0..0, |i| i.id.span());
        out.push(loc.problem(
            span,
            format!(
                "no counter serves service '{}' ({}): its tickets would wait forever; add \"{}\" to the services of a [[counters]]",
                s.id, s.name_vi, s.id
            ),
        ));
    }
    out
}

/// The file as UTF-8, or a problem at the first bad byte (offset, line and column).
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, Problem> {
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        let good = std::str::from_utf8(&bytes[..at]).unwrap_or("");
        let p = Locator::new(good).problem(at..at, "");
        Problem {
            line: p.line,
            column: p.column,
            message: format!(
                "the file is not UTF-8: byte offset {at} is 0x{:02X}; save it as UTF-8 (Vietnamese text needs it)",
                bytes[at]
            ),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bad_byte_is_located() {
        let bytes = b"[site]\nname = \"Ph\xc6\xb0\xe1\xbb\x9dng \xe0 B\"\n";
        let p = utf8(bytes).err().unwrap_or_else(|| panic!("accepted"));
        assert_eq!((p.line, p.column), (2, 16));
        assert!(
            p.message.contains("byte offset 25 is 0xE0"),
            "{}",
            p.message
        );
        assert!(utf8("tên = \"Hộ tịch\"".as_bytes()).is_ok());
    }
}

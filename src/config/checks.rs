//! Checkers shared by the sections: one per kind of key, each with the same problem text
//! wherever the key stands.

use std::fmt::Display;
use std::ops::{Range, RangeInclusive};
use toml::Spanned;

/// The number written for `key` when it lies in `valid`; else `default` (left out, or out
/// of range: then the problem "key = v: use lo to hi (default d)" at its place).
pub(crate) fn in_range<T: PartialOrd + Copy + Display>(
    v: Option<&Spanned<T>>,
    valid: RangeInclusive<T>,
    key: &str,
    default: T,
    p: &mut impl FnMut(Range<usize>, String),
) -> T {
    in_range_of(v, valid, "", key, default, p)
}

/// As [`in_range`], with the unit of the range in the problem ("use 1 to 300 seconds").
pub(crate) fn in_range_of<T: PartialOrd + Copy + Display>(
    v: Option<&Spanned<T>>,
    valid: RangeInclusive<T>,
    unit: &str,
    key: &str,
    default: T,
    p: &mut impl FnMut(Range<usize>, String),
) -> T {
    match v {
        Some(s) if !valid.contains(s.get_ref()) => {
            p(
                s.span(),
                format!(
                    "{key} = {}: use {} to {}{unit} (default {default})",
                    s.get_ref(),
                    valid.start(),
                    valid.end()
                ),
            );
            default
        }
        Some(s) => *s.get_ref(),
        None => default,
    }
}

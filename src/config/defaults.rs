//! Default values for keys left out of the file: serde `default` functions made from one
//! table a section, each value at no place in the file (span `0..0`).
//!
//! A leaf module: device sections under `devices/` use it without importing the rest of
//! the configuration.

use toml::Spanned;

/// A value the file did not write: it has no place in the file.
pub(crate) fn unwritten<T>(value: T) -> Spanned<T> {
    Spanned::new(0..0, value)
}

/// The value written for a key, or `default` when the key was left out.
pub(crate) fn written_or<T: Copy>(key: &Option<Spanned<T>>, default: T) -> T {
    key.as_ref().map_or(default, |v| *v.get_ref())
}

/// `#[serde(default = "yes")]`: a flag that is on unless the file says false.
pub(crate) fn yes() -> bool {
    true
}

/// Defines one serde `default` function a row, `name: Type = value`, each returning the
/// value [`unwritten`] (for `#[serde(default = "name")]`).
macro_rules! unwritten_defaults {
    ($($name:ident: $t:ty = $value:expr),* $(,)?) => {
        $(
            fn $name() -> toml::Spanned<$t> {
                $crate::config::defaults::unwritten($value)
            }
        )*
    };
}
pub(crate) use unwritten_defaults;

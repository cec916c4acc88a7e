//! Counter displays and what the board devices share: their configuration (`config`), its
//! validation with byte spans (`validate`), the pure call/blink model (`blink`), the surface
//! a display driver implements (`surface`) and the display runner thread (`runner`).

pub(crate) mod blink;
pub(crate) mod config;
pub(crate) mod runner;
pub(crate) mod surface;
pub(crate) mod validate;

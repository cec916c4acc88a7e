//! Counter displays and what the board devices share: their configuration (`config`), its
//! validation with byte spans (`validate`), the pure call/blink model (`blink`), the surface
//! a display driver implements (`surface`) and the display runner thread (`runner`).

pub mod blink;
pub mod config;
pub mod runner;
pub mod surface;
pub mod validate;

//! The board devices' shared items under their old path (kept for existing callers):
//! configuration, validation, blinking and the runner now live in `devices::display`,
//! health reports in `devices::health`, the backoff in `crate::backoff`.

pub use super::display::blink::*;
pub use super::display::config::*;
pub use super::display::runner::*;
pub use super::display::surface::*;
pub use super::display::validate::*;
pub use super::health::{report_fn, Health, Report};
pub use crate::backoff::Backoff;

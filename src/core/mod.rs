//! The queue core: pure and synchronous. State, commands, events, `decide` and `apply`.
//!
//! Invariant (an absence): nothing in `core` does I/O, reads a clock, spawns, or draws
//! random numbers. Time arrives as a [`time::Now`] argument. All queue rules live here.

pub mod command;
pub mod decide;
pub mod event;
pub mod rating;
pub mod rating_day;
pub mod rating_level;
pub mod state;
pub mod time;

pub use command::{Command, RejectCode, Rejection, StoreLoss};
pub use decide::{decide, stamp, Decision};
pub use event::{Entry, Event};
pub use state::{apply, CounterDef, ServiceDef, Site, State};
pub use time::{Day, DayRule, Now};

#[cfg(test)]
mod rating_tests;
#[cfg(test)]
pub(crate) mod test_events;
#[cfg(test)]
mod tests;

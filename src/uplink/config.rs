//! The uplink's settings, as the uplink sees them. The types live with the rest of the
//! configuration (`crate::config::uplink`) so that the configuration does not depend on
//! the uplink; they are re-exported here under their old path.

pub use crate::config::uplink::*;

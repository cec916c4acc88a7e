//! layso: queue-ticket daemon (skeleton).

pub mod devices;

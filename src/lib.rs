//! layso: queue-ticket daemon (skeleton).

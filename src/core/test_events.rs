//! Site, entry and event builders shared by the unit tests of the core and of the modules
//! that fold entries (the daily report, the uplink's metrics).

use super::rating::RatingRules;
use super::{CounterDef, DayRule, Entry, Event, ServiceDef, Site};
use std::sync::Arc;

/// A site on the Vietnamese day rule: `services` as `(id, first number)` (the prefix is the
/// id, three digits), `counters` as `(number, services it serves)`.
pub(crate) fn site(
    services: &[(&str, u32)],
    counters: &[(u16, &[&str])],
    ratings: RatingRules,
) -> Arc<Site> {
    Arc::new(Site {
        rule: DayRule::VIETNAM,
        services: services
            .iter()
            .map(|(id, first)| ServiceDef {
                id: (*id).into(),
                prefix: (*id).into(),
                first_number: *first,
                digits: 3,
            })
            .collect(),
        counters: counters
            .iter()
            .map(|(number, services)| CounterDef {
                number: *number,
                services: services.iter().map(|s| (*s).into()).collect(),
            })
            .collect(),
        ratings,
    })
}

/// An entry at `at` (ms), its business day by the Vietnamese rule, clock synchronized.
pub(crate) fn entry(seq: u64, at: i64, event: Event) -> Entry {
    Entry {
        seq,
        at,
        clock_ok: true,
        day: DayRule::VIETNAM.day_of(at),
        event,
    }
}

/// Ticket `t` of service `s` issued at the kiosk (number 1, nobody ahead).
pub(crate) fn issued(t: &str, s: &str) -> Event {
    Event::TicketIssued {
        ticket: t.into(),
        service: s.into(),
        number: 1,
        priority: false,
        source: "kiosk".into(),
        ahead: 0,
    }
}

/// Ticket `t` called at counter `c` by officer `o` (`recall` 0 for the first call).
pub(crate) fn called(t: &str, s: &str, c: u16, recall: u32, o: &str) -> Event {
    Event::TicketCalled {
        ticket: t.into(),
        service: s.into(),
        counter: c,
        recall,
        officer: o.into(),
    }
}

/// Ticket `t` served at counter `c` by officer `o`.
pub(crate) fn served(t: &str, s: &str, c: u16, o: &str) -> Event {
    Event::TicketServed {
        ticket: t.into(),
        service: s.into(),
        counter: c,
        officer: o.into(),
    }
}

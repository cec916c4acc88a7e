//! The counter-display script both seven-segment/LCD drivers are tested with, so each
//! driver's test only states the bus traffic it expects. Include with
//! `#[path = "support/surface.rs"] mod surface;`.
#![allow(dead_code)]

use layso::devices::board::{CounterSurface, Slot};

pub fn slot(counter: u16, label: Option<&str>, visible: bool) -> Slot {
    Slot {
        counter,
        label: label.map(str::to_string),
        visible,
    }
}

/// Counter `a` shows `ticket` while `b` has nobody; the same picture again (nothing may be
/// sent); `a` blinks off and on; then `b` calls `next`.
pub fn call_blink_and_call(s: &mut impl CounterSurface, a: u16, ticket: &str, b: u16, next: &str) {
    s.show(&[slot(a, Some(ticket), true), slot(b, None, true)])
        .expect("show");
    s.show(&[slot(a, Some(ticket), true), slot(b, None, true)])
        .expect("unchanged: nothing sent");
    s.show(&[slot(a, Some(ticket), false), slot(b, None, true)])
        .expect("blink off");
    s.show(&[slot(a, Some(ticket), true), slot(b, None, true)])
        .expect("blink on");
    s.show(&[slot(a, Some(ticket), true), slot(b, Some(next), true)])
        .expect("new call");
}

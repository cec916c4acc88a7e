//! The device sections: `[printer]`, `[[buttons]]`, `[[counter_displays]]`,
//! `[[led_boards]]` and `[keypads]`, checked against the configured services and counters.

use crate::devices::board::{self, ButtonConfig, CounterDisplayConfig, LedBoardConfig};
use crate::devices::keypad::KeypadBusConfig;
use crate::devices::printer::PrinterConfig;
use std::ops::Range;

/// The device sections as written.
pub(super) struct Devices<'a> {
    pub(super) printer: &'a Option<PrinterConfig>,
    pub(super) buttons: &'a [ButtonConfig],
    pub(super) counter_displays: &'a [CounterDisplayConfig],
    pub(super) led_boards: &'a [LedBoardConfig],
    pub(super) keypads: &'a Option<KeypadBusConfig>,
}

/// Check the device sections; `service_ids` and `counter_numbers` are what is configured.
pub(super) fn check(
    raw: Devices<'_>,
    service_ids: &[&str],
    counter_numbers: &[u16],
    p: &mut impl FnMut(Range<usize>, String),
) {
    if let Some(printer) = raw.printer {
        for (span, msg) in printer.validate() {
            p(span, format!("[printer] {msg}"));
        }
    }
    for (span, msg) in board::validate(
        raw.buttons,
        raw.counter_displays,
        raw.led_boards,
        service_ids,
        counter_numbers,
    ) {
        p(span, msg);
    }

    if let Some(bus) = raw.keypads {
        for (span, msg) in bus.validate() {
            p(span, format!("[keypads] {msg}"));
        }
        for k in &bus.keypads {
            let n = *k.counter.get_ref();
            if !counter_numbers.contains(&n) {
                p(
                    k.counter.span(),
                    format!("keypad {} is for counter {n}, which is not configured; configured counters: {counter_numbers:?}", k.address.get_ref()),
                );
            }
        }
    }
}

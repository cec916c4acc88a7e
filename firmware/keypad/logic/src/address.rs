//! The keypad's bus address from its configuration pins (DIP switches).

/// Highest address settable on the pins (5 switches).
pub const MAX_PIN_ADDRESS: u8 = 31;

/// The address the pins select: `switches` has bit i set when switch i is ON (the board inverts
/// the pulled-up pin levels). Only the low 5 bits count. All switches off selects `fallback`
/// (an address kept in flash or built in); the second value says whether it was used.
pub fn address_from_switches(switches: u8, fallback: u8) -> (u8, bool) {
    match switches & MAX_PIN_ADDRESS {
        0 => (fallback, true),
        a => (a, false),
    }
}

/// True for an address a Modbus slave may have (1..=247).
pub fn is_valid_unit(address: u8) -> bool {
    (1..=247).contains(&address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_select_address() {
        assert_eq!(address_from_switches(0b00101, 247), (5, false));
        assert_eq!(address_from_switches(0b11111, 247), (31, false));
        assert_eq!(address_from_switches(0b1110_0000, 247), (247, true));
        assert_eq!(address_from_switches(0, 9), (9, true));
        assert!(is_valid_unit(1) && is_valid_unit(247));
        assert!(!is_valid_unit(0) && !is_valid_unit(248));
    }
}

//! Serial line facts shared by every serial device (printer, LED boards, keypad bus): the one
//! list of baud rates that layso accepts and can set on a port.

/// Baud rates accepted for any `baud` key (printers, LED boards, keypad bus).
pub(crate) const BAUD_RATES: [u32; 9] = [
    1200, 2400, 4800, 9600, 19_200, 38_400, 57_600, 115_200, 230_400,
];

/// Whether `baud` is one of [`BAUD_RATES`].
pub(crate) fn is_supported_baud(baud: u32) -> bool {
    BAUD_RATES.contains(&baud)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_includes_230400_and_only_standard_rates() {
        assert!(is_supported_baud(230_400));
        assert!(is_supported_baud(19_200));
        assert!(!is_supported_baud(250_000));
        assert!(!is_supported_baud(0));
    }
}

//! The keypad's Modbus register map, key codes and bus timing: the one definition both the
//! firmware and the daemon's bus master use (documented in `docs/keypad.md`).

/// Firmware version reported in [`IR_FW_VERSION`]: major in the high byte, minor in the low byte.
pub const FW_VERSION: u16 = 0x0100;

// ---- Input registers (function 0x04, read-only) ----

/// Sequence number of the oldest unacknowledged press, 0 when the queue is empty.
pub const IR_HEAD_SEQ: u16 = 0;
/// High byte: boot epoch (1..=255, new at every boot); low byte: key code of the head press (0 = none).
pub const IR_HEAD_INFO: u16 = 1;
/// Number of unacknowledged presses in the queue.
pub const IR_QUEUE_LEN: u16 = 2;
/// Status bits, see `STATUS_*`.
pub const IR_STATUS: u16 = 3;
/// Presses dropped because the queue was full (saturating).
pub const IR_DROPPED: u16 = 4;
/// Frames addressed to this keypad that were discarded (bad CRC, truncated, malformed), wrapping.
pub const IR_RX_ERRORS: u16 = 5;
/// Firmware version, see [`FW_VERSION`].
pub const IR_FW_VERSION: u16 = 6;
/// Debounced button state, bit i = button i held.
pub const IR_BUTTONS: u16 = 7;
/// Number of input registers.
pub const IR_COUNT: u16 = 8;

/// The master's poll: one read of this many input registers from [`IR_HEAD_SEQ`].
pub const POLL_COUNT: u16 = 2;

/// A press was dropped since boot because the queue was full.
pub const STATUS_OVERFLOW: u16 = 1 << 0;
/// The display is blinking right now.
pub const STATUS_BLINKING: u16 = 1 << 1;
/// The address pins were all off: the keypad runs on its fallback address.
pub const STATUS_FALLBACK_ADDRESS: u16 = 1 << 2;

// ---- Holding registers (0x03 read, 0x06 / 0x10 write) ----

/// Write the sequence number of the head press once it has been applied: the keypad drops the
/// head if and only if the value equals its sequence number. Reads back the last value written.
pub const HR_ACK: u16 = 0;
/// Display characters 0 (high byte, leftmost) and 1 (low byte), ASCII.
pub const HR_DISP_01: u16 = 1;
/// Display characters 2 (high byte) and 3 (low byte, rightmost), ASCII.
pub const HR_DISP_23: u16 = 2;
/// Display control, see `CTRL_*`.
pub const HR_DISP_CTRL: u16 = 3;
/// Blink duration in milliseconds (default [`DEFAULT_BLINK_MS`]); 0 = blink until the next write.
pub const HR_BLINK_MS: u16 = 4;
/// Number of holding registers.
pub const HR_COUNT: u16 = 5;

/// Written as 1: start blinking for [`HR_BLINK_MS`]. Reads as 1 while blinking.
pub const CTRL_BLINK: u16 = 1 << 0;
/// Display off (all segments dark).
pub const CTRL_OFF: u16 = 1 << 1;
/// Bits of [`HR_DISP_CTRL`] that mean something; writing others is an illegal data value.
pub const CTRL_MASK: u16 = CTRL_BLINK | CTRL_OFF;

/// Default blink duration after a new call.
pub const DEFAULT_BLINK_MS: u16 = 3000;

/// A button of the keypad, by the code the keypad reports in [`IR_HEAD_INFO`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum KeyCode {
    /// Call the next ticket.
    Next = 1,
    /// Repeat the announcement of the current ticket.
    Recall = 2,
    /// The current ticket did not show up.
    Skip = 3,
    /// The current ticket has been served.
    Complete = 4,
    /// Move the current ticket to another service.
    Transfer = 5,
    /// Pause the counter.
    Pause = 6,
    /// Open (resume) the counter.
    Open = 7,
    /// Citizen rating "Rất hài lòng" (a keypad in the rating layout; older firmware never
    /// sends codes 8-10, and older daemons acknowledge and drop them as unknown keys).
    RateVerySatisfied = 8,
    /// Citizen rating "Hài lòng".
    RateSatisfied = 9,
    /// Citizen rating "Chưa hài lòng".
    RateUnsatisfied = 10,
}

impl KeyCode {
    /// All keys, in button order: button i reports `ALL[i]`.
    pub const ALL: [KeyCode; 7] = [
        KeyCode::Next,
        KeyCode::Recall,
        KeyCode::Skip,
        KeyCode::Complete,
        KeyCode::Transfer,
        KeyCode::Pause,
        KeyCode::Open,
    ];

    /// The rating keys, in button order for a keypad in the rating layout.
    pub const RATING: [KeyCode; 3] = [
        KeyCode::RateVerySatisfied,
        KeyCode::RateSatisfied,
        KeyCode::RateUnsatisfied,
    ];

    /// The key with this wire code, if any.
    pub fn from_code(code: u8) -> Option<KeyCode> {
        KeyCode::ALL
            .iter()
            .chain(KeyCode::RATING.iter())
            .find(|k| k.code() == code)
            .copied()
    }

    /// Whether this is one of the three rating keys.
    pub fn is_rating(self) -> bool {
        KeyCode::RATING.contains(&self)
    }

    /// The wire code (1..=10).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The key wired to button `index` (0-based).
    pub fn from_button(index: usize) -> Option<KeyCode> {
        KeyCode::ALL.get(index).copied()
    }
}

/// Bits on the wire per character for the Modbus timing rules (start + 8 data + parity/stop + stop).
pub const BITS_PER_CHAR: u32 = 11;

/// Time one character occupies the wire, in microseconds, for `bits_per_char` bits at `baud`.
pub fn char_time_us(baud: u32, bits_per_char: u32) -> u64 {
    let baud = u64::from(baud.max(1));
    (u64::from(bits_per_char) * 1_000_000).div_ceil(baud)
}

/// The Modbus RTU inter-frame silence t3.5: 3.5 character times, fixed at 1750 µs above 19200 baud.
pub fn t35_us(baud: u32) -> u64 {
    if baud > 19_200 {
        1_750
    } else {
        (char_time_us(baud, BITS_PER_CHAR) * 7).div_ceil(2)
    }
}

/// The silence after which a receiver takes the next byte as the start of a new frame:
/// 2.5 character times of 11 bits (1250 µs above 19200 baud). Longer than any gap inside a
/// frame (t1.5) and shorter than the t3.5 a master leaves between frames, so a master that
/// waits t3.5 of its own (possibly 10-bit) characters is always seen as starting a new frame.
pub fn rx_gap_us(baud: u32) -> u64 {
    if baud > 19_200 {
        1_250
    } else {
        (char_time_us(baud, BITS_PER_CHAR) * 5).div_ceil(2)
    }
}

/// The silence a master leaves before each request: 3.5 character times of `bits_per_char`
/// bits (1750 µs above 19200 baud).
pub fn master_gap_us(baud: u32, bits_per_char: u32) -> u64 {
    if baud > 19_200 {
        1_750
    } else {
        (char_time_us(baud, bits_per_char) * 7).div_ceil(2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_codes_round_trip() {
        for (i, k) in KeyCode::ALL.iter().enumerate() {
            assert_eq!(KeyCode::from_code(k.code()), Some(*k));
            assert_eq!(KeyCode::from_button(i), Some(*k));
        }
        for k in KeyCode::RATING {
            assert_eq!(KeyCode::from_code(k.code()), Some(k));
            assert!(k.is_rating());
        }
        assert_eq!(KeyCode::from_code(8), Some(KeyCode::RateVerySatisfied));
        assert_eq!(KeyCode::from_code(10), Some(KeyCode::RateUnsatisfied));
        assert!(!KeyCode::Next.is_rating());
        assert_eq!(KeyCode::from_code(0), None);
        assert_eq!(KeyCode::from_code(11), None);
        assert_eq!(KeyCode::from_code(255), None);
        assert_eq!(KeyCode::from_button(7), None);
    }

    #[test]
    fn timing() {
        assert_eq!(char_time_us(19_200, 11), 573);
        assert_eq!(char_time_us(19_200, 10), 521);
        assert_eq!(t35_us(19_200), 2006);
        assert_eq!(t35_us(9_600), 4011);
        assert_eq!(t35_us(115_200), 1750);
        assert_eq!(char_time_us(0, 10), 10_000_000);
        for baud in [1200, 9600, 19_200, 38_400, 115_200] {
            for bits in [10, 11] {
                assert!(rx_gap_us(baud) < master_gap_us(baud, bits), "{baud} {bits}");
                assert!(
                    rx_gap_us(baud) > char_time_us(baud, 11) * 3 / 2,
                    "{baud} above t1.5"
                );
            }
        }
    }
}

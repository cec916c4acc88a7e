//! 4-digit 7-segment display: character font, label formatting, blinking and multiplexing.
//!
//! Segment bits: bit 0 = a (top), 1 = b, 2 = c, 3 = d (bottom), 4 = e, 5 = f, 6 = g (middle),
//! 7 = decimal point. A set bit means the segment is lit.

use crate::regs::{CTRL_BLINK, CTRL_OFF, DEFAULT_BLINK_MS};

/// Number of digits.
pub const DIGITS: usize = 4;
/// Half period of the blink, in milliseconds (on 250 ms, off 250 ms).
pub const BLINK_HALF_PERIOD_MS: u32 = 250;

/// Segments of one ASCII character; letters are case-insensitive, the ones a 7-segment digit
/// cannot draw are approximated, anything unknown is blank.
pub fn glyph(c: u8) -> u8 {
    match c.to_ascii_uppercase() {
        b'0' => 0x3F,
        b'1' => 0x06,
        b'2' | b'Z' => 0x5B,
        b'3' => 0x4F,
        b'4' => 0x66,
        b'5' | b'S' => 0x6D,
        b'6' => 0x7D,
        b'7' => 0x07,
        b'8' => 0x7F,
        b'9' => 0x6F,
        b'A' => 0x77,
        b'B' => 0x7C,
        b'C' => 0x39,
        b'D' => 0x5E,
        b'E' => 0x79,
        b'F' => 0x71,
        b'G' => 0x3D,
        b'H' | b'X' => 0x76,
        b'I' => 0x30,
        b'J' => 0x1E,
        b'K' => 0x75,
        b'L' => 0x38,
        b'M' => 0x37,
        b'N' => 0x54,
        b'O' => 0x5C,
        b'P' => 0x73,
        b'Q' => 0x67,
        b'R' => 0x50,
        b'T' => 0x78,
        b'U' => 0x3E,
        b'V' => 0x1C,
        b'W' => 0x2A,
        b'Y' => 0x6E,
        b'-' => 0x40,
        b'_' => 0x08,
        b'=' => 0x48,
        _ => 0x00,
    }
}

/// Segments for four characters.
pub fn render(chars: [u8; DIGITS]) -> [u8; DIGITS] {
    chars.map(glyph)
}

/// The four characters the master writes for a counter's label: `None` (nothing current)
/// shows `----`; a label is upper-cased, right-aligned, and if longer than four characters its
/// last four are shown (the number matters most). Non-ASCII characters become `-`.
pub fn label_chars(label: Option<&str>) -> [u8; DIGITS] {
    let Some(label) = label else {
        return [b'-'; DIGITS];
    };
    let mut out = [b' '; DIGITS];
    let n = label.chars().count();
    let skip = n.saturating_sub(DIGITS);
    let start = DIGITS - (n - skip);
    for (i, c) in label.chars().skip(skip).enumerate() {
        out[start + i] = if c.is_ascii() && !c.is_ascii_control() {
            (c as u8).to_ascii_uppercase()
        } else {
            b'-'
        };
    }
    out
}

/// The keypad's display: what the master wrote, plus the blink state.
#[derive(Clone, Debug)]
pub struct Display {
    chars: [u8; DIGITS],
    off: bool,
    blink_ms: u16,
    blink_started: Option<u32>,
}

impl Default for Display {
    fn default() -> Self {
        Display::new()
    }
}

impl Display {
    /// A display showing `----` (nothing current yet), not blinking.
    pub fn new() -> Self {
        Display {
            chars: [b'-'; DIGITS],
            off: false,
            blink_ms: DEFAULT_BLINK_MS,
            blink_started: None,
        }
    }

    /// Characters 0/1 (`hi` = 0) or 2/3 (`hi` = 1) packed as the register holds them.
    pub fn register_pair(&self, pair: usize) -> u16 {
        let i = pair.min(1) * 2;
        u16::from_be_bytes([self.chars[i], self.chars[i + 1]])
    }

    /// Set characters 0/1 (`pair` = 0) or 2/3 (`pair` = 1) from a register value.
    pub fn set_register_pair(&mut self, pair: usize, value: u16) {
        let i = pair.min(1) * 2;
        let [a, b] = value.to_be_bytes();
        self.chars[i] = a;
        self.chars[i + 1] = b;
    }

    /// Apply a control register write at `now_ms`.
    pub fn set_ctrl(&mut self, ctrl: u16, now_ms: u32) {
        self.off = ctrl & CTRL_OFF != 0;
        self.blink_started = if ctrl & CTRL_BLINK != 0 {
            Some(now_ms)
        } else {
            None
        };
    }

    /// The control register as read back at `now_ms`.
    pub fn ctrl(&self, now_ms: u32) -> u16 {
        let mut v = 0;
        if self.off {
            v |= CTRL_OFF;
        }
        if self.is_blinking(now_ms) {
            v |= CTRL_BLINK;
        }
        v
    }

    /// Set the blink duration (0 = until the next control write).
    pub fn set_blink_ms(&mut self, ms: u16) {
        self.blink_ms = ms;
    }

    /// The blink duration.
    pub fn blink_ms(&self) -> u16 {
        self.blink_ms
    }

    /// The characters shown.
    pub fn chars(&self) -> [u8; DIGITS] {
        self.chars
    }

    /// True while a blink started by the master is running.
    pub fn is_blinking(&self, now_ms: u32) -> bool {
        match self.blink_started {
            None => false,
            Some(_) if self.blink_ms == 0 => true,
            Some(s) => now_ms.wrapping_sub(s) < u32::from(self.blink_ms),
        }
    }

    /// The segments to light at `now_ms` (blink and off applied).
    pub fn segments(&self, now_ms: u32) -> [u8; DIGITS] {
        if self.off {
            return [0; DIGITS];
        }
        if let Some(s) = self.blink_started {
            if self.is_blinking(now_ms) && (now_ms.wrapping_sub(s) / BLINK_HALF_PERIOD_MS) % 2 == 1
            {
                return [0; DIGITS];
            }
        }
        render(self.chars)
    }
}

/// Digit multiplexing: one digit lit at a time, advanced on every call.
#[derive(Clone, Debug, Default)]
pub struct Multiplexer {
    digit: usize,
}

impl Multiplexer {
    /// The next digit to light and its segments, from the frame `segments`.
    pub fn step(&mut self, segments: [u8; DIGITS]) -> (usize, u8) {
        let d = self.digit;
        self.digit = (self.digit + 1) % DIGITS;
        (d, segments[d])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_a012() {
        assert_eq!(render(*b"A012"), [0x77, 0x3F, 0x06, 0x5B]);
        assert_eq!(render(*b"b789"), [0x7C, 0x07, 0x7F, 0x6F]);
        assert_eq!(render(*b"----"), [0x40; 4]);
        assert_eq!(render(*b"  \x01~"), [0; 4]);
    }

    #[test]
    fn every_letter_and_digit_is_visible() {
        for c in (b'0'..=b'9').chain(b'A'..=b'Z').chain(b'a'..=b'z') {
            assert_ne!(glyph(c), 0, "{} would be blank", c as char);
        }
        // Letters that must not be mistaken for digits.
        assert_ne!(glyph(b'O'), glyph(b'0'));
        assert_ne!(glyph(b'I'), glyph(b'1'));
    }

    #[test]
    fn labels_fit_four_digits() {
        assert_eq!(label_chars(Some("A012")), *b"A012");
        assert_eq!(label_chars(Some("a7")), *b"  A7");
        assert_eq!(label_chars(Some("B1234")), *b"1234");
        assert_eq!(label_chars(Some("")), *b"    ");
        assert_eq!(label_chars(None), *b"----");
        assert_eq!(label_chars(Some("Đ12")), *b" -12");
    }

    #[test]
    fn blink_runs_for_its_duration() {
        let mut d = Display::new();
        d.set_register_pair(0, u16::from_be_bytes(*b"A0"));
        d.set_register_pair(1, u16::from_be_bytes(*b"12"));
        d.set_blink_ms(1000);
        d.set_ctrl(CTRL_BLINK, 10_000);
        let lit = render(*b"A012");
        assert_eq!(d.segments(10_000), lit);
        assert_eq!(d.segments(10_300), [0; 4]);
        assert_eq!(d.segments(10_600), lit);
        assert!(d.is_blinking(10_999));
        assert_eq!(d.ctrl(10_500), CTRL_BLINK);
        assert!(!d.is_blinking(11_000));
        assert_eq!(d.segments(11_300), lit);
        assert_eq!(d.ctrl(11_300), 0);
        d.set_ctrl(CTRL_OFF, 12_000);
        assert_eq!(d.segments(12_000), [0; 4]);
        assert_eq!(d.register_pair(0), u16::from_be_bytes(*b"A0"));
    }

    #[test]
    fn multiplexer_cycles() {
        let mut m = Multiplexer::default();
        let s = [1, 2, 3, 4];
        let got: [(usize, u8); 5] = core::array::from_fn(|_| m.step(s));
        assert_eq!(got, [(0, 1), (1, 2), (2, 3), (3, 4), (0, 1)]);
    }
}

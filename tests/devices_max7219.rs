//! MAX7219 driver: exact SPI transactions for init, numbers, daisy chains and blinking.

#[path = "support/surface.rs"]
mod surface;

use embedded_hal_mock::eh1::spi::{Mock as SpiMock, Transaction as T};
use layso::devices::board::CounterSurface;
use layso::devices::max7219::{render, segments, Error, Max7219, Max7219Surface};
use surface::{call_blink_and_call, slot};

/// One SPI device transaction (chip select low, bytes, chip select high).
fn tx(bytes: &[u8]) -> Vec<T<u8>> {
    vec![
        T::transaction_start(),
        T::write_vec(bytes.to_vec()),
        T::transaction_end(),
    ]
}

/// In a chain of two, chip 0's digits 1–4 set to `segs`, one transaction each (a no-op for
/// chip 1, whose bytes go first).
fn chip0_digits(segs: [u8; 4]) -> Vec<T<u8>> {
    (1u8..=4)
        .zip(segs)
        .flat_map(|(digit, seg)| tx(&[0x00, 0x00, digit, seg]))
        .collect()
}

/// Every chip in a chain of `chips` gets `(reg, data)` in one transaction.
fn all(chips: usize, reg: u8, data: u8) -> Vec<T<u8>> {
    tx(&[reg, data].repeat(chips))
}

fn init_expect(chips: usize, intensity: u8) -> Vec<T<u8>> {
    let mut v = Vec::new();
    v.extend(all(chips, 0x0F, 0x00)); // display test off
    v.extend(all(chips, 0x0C, 0x00)); // shutdown while configuring
    v.extend(all(chips, 0x0B, 0x07)); // scan all 8 digits
    v.extend(all(chips, 0x09, 0x00)); // no decode: our own font
    v.extend(all(chips, 0x0A, intensity));
    for d in 1..=8 {
        v.extend(all(chips, d, 0x00));
    }
    v.extend(all(chips, 0x0C, 0x01)); // normal operation
    v
}

#[test]
fn init_single_chip() {
    let expect = init_expect(1, 8);
    let mut spi = SpiMock::new(&expect);
    let mut d = Max7219::new(spi.clone(), 1).expect("1 chip is valid");
    d.init(8).expect("init on the mock succeeds");
    spi.done();
    // 14 register writes of 2 bytes, each its own transaction.
    assert_eq!(expect.len(), 14 * 3);
}

#[test]
fn font_for_ticket_characters() {
    assert_eq!(segments('A'), 0x77);
    assert_eq!(segments('0'), 0x7E);
    assert_eq!(segments('1'), 0x30);
    assert_eq!(segments('2'), 0x6D);
    assert_eq!(segments('8'), 0x7F);
    assert_eq!(segments('b'), 0x1F);
    assert_eq!(segments(' '), 0x00);
    assert_eq!(segments('-'), 0x01);
}

/// One table of what each character looks like, in segment letters (a top, b upper right,
/// c lower right, d bottom, e lower left, f upper left, g middle), checked against both
/// seven-segment drivers: the MAX7219 counter display and the RS-485 keypad's own display.
const FONT_TABLE: &[(char, &str)] = &[
    ('0', "abcdef"),
    ('1', "bc"),
    ('2', "abdeg"),
    ('3', "abcdg"),
    ('4', "bcfg"),
    ('5', "acdfg"),
    ('6', "acdefg"),
    ('7', "abc"),
    ('8', "abcdefg"),
    ('9', "abcdfg"),
    ('A', "abcefg"),
    ('B', "cdefg"),
    ('C', "adef"),
    ('D', "bcdeg"),
    ('E', "adefg"),
    ('H', "bcefg"),
    ('K', "acefg"),
    ('P', "abefg"),
    ('-', "g"),
    (' ', ""),
    ('?', ""),
    ('\u{1EA0}', ""), // a non-ASCII letter not transliterated: blank on both, never a guess
];

fn letters_to_bits(letters: &str, order: &[u8; 7]) -> u8 {
    letters
        .bytes()
        .map(|l| {
            order
                .iter()
                .position(|&o| o == l)
                .map_or(0, |bit| 1u8 << bit)
        })
        .fold(0, |a, b| a | b)
}

#[test]
fn the_same_text_looks_the_same_on_every_seven_segment_display() {
    // MAX7219 register order: bit 6 = a … bit 0 = g; keypad order: bit 0 = a … bit 6 = g.
    let max_order = *b"gfedcba";
    let keypad_order = *b"abcdefg";
    for &(c, letters) in FONT_TABLE {
        assert_eq!(
            segments(c),
            letters_to_bits(letters, &max_order),
            "MAX7219 shows {c:?} as other segments than {letters:?}"
        );
        let byte = u8::try_from(c).unwrap_or(0);
        assert_eq!(
            layso_keypad::segments::glyph(byte),
            letters_to_bits(letters, &keypad_order),
            "the keypad shows {c:?} as other segments than {letters:?}"
        );
    }
    // A whole label, through each driver's own rendering path.
    let keypad = layso_keypad::segments::render(*b"K-12");
    let max: Vec<u8> = "K-12".chars().map(segments).collect();
    for (k, m) in keypad.iter().zip(&max) {
        let as_letters: String = (0..7u8)
            .filter(|b| k & (1 << b) != 0)
            .map(|b| char::from(b'a' + b))
            .collect();
        assert_eq!(*m, letters_to_bits(&as_letters, &max_order));
    }
}

#[test]
fn chain_of_two_shows_numbers_and_blinks_one_group() {
    let mut expect = init_expect(2, 5);
    // Counter 1 on chip 0 shows "    A012", counter 2 (nobody) on chip 1 shows "       -".
    // Bytes for the farthest chip (chip 1) go first in each transaction.
    expect.extend(tx(&[0x01, 0x01, 0x01, 0x6D])); // digit 1: chip1 '-', chip0 '2'
    expect.extend(tx(&[0x00, 0x00, 0x02, 0x30])); // digit 2: chip1 no-op, chip0 '1'
    expect.extend(tx(&[0x00, 0x00, 0x03, 0x7E])); // digit 3: '0'
    expect.extend(tx(&[0x00, 0x00, 0x04, 0x77])); // digit 4: 'A'
                                                  // Blink off for counter 1: only chip 0's four lit digits are blanked.
    expect.extend(chip0_digits([0x00; 4]));
    // Blink on again.
    expect.extend(chip0_digits([0x6D, 0x30, 0x7E, 0x77]));
    // Counter 2 is called: B105 on chip 1 (its '-' on digit 1 becomes '5').
    expect.extend(tx(&[0x01, 0x5B, 0x00, 0x00]));
    expect.extend(tx(&[0x02, 0x7E, 0x00, 0x00]));
    expect.extend(tx(&[0x03, 0x30, 0x00, 0x00]));
    expect.extend(tx(&[0x04, 0x1F, 0x00, 0x00]));

    let mut spi = SpiMock::new(&expect);
    let mut s = Max7219Surface::new(spi.clone(), 2, 8, 5).expect("init succeeds");
    call_blink_and_call(&mut s, 1, "A012", 2, "B105");
    spi.done();
}

#[test]
fn four_digit_groups_put_two_counters_on_one_chip() {
    let frame = render(
        &[
            slot(1, Some("A012"), true),
            slot(2, Some("B7"), true),
            slot(3, Some("C3"), true),
        ],
        4,
        2,
    );
    // Chip 0: left half "A012", right half "  B7". Index 0 = digit register 1 (rightmost).
    assert_eq!(frame[0], [0x70, 0x1F, 0x00, 0x00, 0x6D, 0x30, 0x7E, 0x77]);
    // Chip 1: left half "  C3", right half empty.
    assert_eq!(frame[1], [0x00, 0x00, 0x00, 0x00, 0x79, 0x4E, 0x00, 0x00]);
}

#[test]
fn long_labels_keep_their_rightmost_characters_and_vietnamese_is_folded() {
    let frame = render(&[slot(1, Some("ƯT1234"), true)], 4, 1);
    assert_eq!(frame[0][4..], [0x33, 0x79, 0x6D, 0x30]); // "1234"
    let frame = render(&[slot(1, Some("Đ7"), true)], 8, 1);
    assert_eq!(frame[0][..2], [0x70, 0x3D]); // "d7" in the two rightmost digits
}

#[test]
fn chain_length_is_checked() {
    let spi: SpiMock<u8> = SpiMock::new(&[]);
    assert!(matches!(
        Max7219::new(spi.clone(), 0),
        Err(Error::ChainLength(0))
    ));
    assert!(matches!(
        Max7219::new(spi.clone(), 9),
        Err(Error::ChainLength(9))
    ));
    let mut spi = spi;
    spi.done();
}

#[test]
fn refresh_rewrites_configuration_and_every_digit_without_blanking() {
    let mut expect = init_expect(1, 3);
    // "    A012"
    expect.extend(tx(&[0x01, 0x6D]));
    expect.extend(tx(&[0x02, 0x30]));
    expect.extend(tx(&[0x03, 0x7E]));
    expect.extend(tx(&[0x04, 0x77]));
    // Refresh: configuration only, no shutdown-then-clear.
    expect.extend(tx(&[0x0F, 0x00]));
    expect.extend(tx(&[0x0B, 0x07]));
    expect.extend(tx(&[0x09, 0x00]));
    expect.extend(tx(&[0x0A, 0x03]));
    expect.extend(tx(&[0x0C, 0x01]));
    // The next picture rewrites all eight digits, blank ones included.
    for (reg, seg) in [
        (1, 0x6D),
        (2, 0x30),
        (3, 0x7E),
        (4, 0x77),
        (5, 0),
        (6, 0),
        (7, 0),
        (8, 0),
    ] {
        expect.extend(tx(&[reg, seg]));
    }
    let mut spi = SpiMock::new(&expect);
    let mut s = Max7219Surface::new(spi.clone(), 1, 8, 3).expect("init");
    let picture = [slot(1, Some("A012"), true)];
    s.show(&picture).expect("show");
    s.refresh().expect("refresh");
    s.show(&picture).expect("show after refresh");
    spi.done();
}

//! HD44780 through a PCF8574: exact I2C writes and delays for init, counter rows and blinking.

#[path = "support/surface.rs"]
mod surface;

use embedded_hal::i2c::ErrorKind;
use embedded_hal_mock::eh1::delay::{CheckedDelay, NoopDelay, Transaction as D};
use embedded_hal_mock::eh1::i2c::{Mock as I2cMock, Transaction as T};
use layso::devices::hd44780::{lcd_bytes, render_rows, Error, Hd44780, Hd44780Surface};
use surface::{call_blink_and_call, slot};

const ADDR: u8 = 0x27;
const BL: u8 = 0x08;
const EN: u8 = 0x04;
const RS: u8 = 0x01;

/// One LCD byte: a single I2C write of four expander bytes (high nibble E high/low, low nibble).
fn byte(value: u8, rs: bool) -> T {
    let base = BL | if rs { RS } else { 0 };
    let hi = (value & 0xF0) | base;
    let lo = (value << 4) | base;
    T::write(ADDR, vec![hi | EN, hi, lo | EN, lo])
}

fn text(s: &str) -> Vec<T> {
    s.bytes().map(|b| byte(b, true)).collect()
}

fn init_i2c() -> Vec<T> {
    vec![
        T::write(ADDR, vec![0x08]),       // backlight on, everything else low
        T::write(ADDR, vec![0x3C, 0x38]), // 0x3 (8-bit) x3
        T::write(ADDR, vec![0x3C, 0x38]),
        T::write(ADDR, vec![0x3C, 0x38]),
        T::write(ADDR, vec![0x2C, 0x28]), // 0x2: switch to 4-bit
        T::write(ADDR, vec![0x2C, 0x28, 0x8C, 0x88]), // function set 0x28
        T::write(ADDR, vec![0x0C, 0x08, 0x8C, 0x88]), // display off 0x08
        T::write(ADDR, vec![0x0C, 0x08, 0x1C, 0x18]), // clear 0x01
        T::write(ADDR, vec![0x0C, 0x08, 0x6C, 0x68]), // entry mode 0x06
        T::write(ADDR, vec![0x0C, 0x08, 0xCC, 0xC8]), // display on 0x0C
    ]
}

fn init_delays() -> Vec<D> {
    vec![
        D::delay_ms(50),
        D::delay_us(4500),
        D::delay_us(150),
        D::delay_us(150),
        D::delay_us(2000),
    ]
}

#[test]
fn init_sequence_is_exact() {
    let i2c_expect = init_i2c();
    let mut i2c = I2cMock::new(&i2c_expect);
    let mut delay = CheckedDelay::new(&init_delays());
    let mut lcd = Hd44780::new(i2c.clone(), delay.clone(), ADDR, 16, 2).expect("16x2 is valid");
    lcd.init().expect("init on the mock succeeds");
    i2c.done();
    delay.done();
}

#[test]
fn counter_rows_with_vietnamese_caption_and_blink() {
    let mut expect = init_i2c();
    // Row 0: "Quay 3      A012" (from "Quầy"), row 1: "Quay 5         -".
    expect.push(byte(0x80, false));
    expect.extend(text("Quay 3      A012"));
    expect.push(byte(0x80 | 0x40, false));
    expect.extend(text("Quay 5         -"));
    // Blink off on row 0: only columns 12..15 are rewritten with spaces.
    expect.push(byte(0x80 | 12, false));
    expect.extend(text("    "));
    // Blink on.
    expect.push(byte(0x80 | 12, false));
    expect.extend(text("A012"));
    // Counter 5 calls B007: only the changed span of row 1 (columns 12..15).
    expect.push(byte(0x80 | 0x40 | 12, false));
    expect.extend(text("B007"));

    let mut i2c = I2cMock::new(&expect);
    let mut s =
        Hd44780Surface::new(i2c.clone(), NoopDelay::new(), ADDR, 16, 2, "Quầy").expect("init");
    call_blink_and_call(&mut s, 3, "A012", 5, "B007");
    i2c.done();
}

#[test]
fn twenty_by_four_row_addresses() {
    let lcd =
        Hd44780::new(I2cMock::new(&[]), NoopDelay::new(), ADDR, 20, 4).expect("20x4 is valid");
    assert_eq!(
        [
            lcd.ddram_address(0, 0),
            lcd.ddram_address(1, 0),
            lcd.ddram_address(2, 0),
            lcd.ddram_address(3, 19)
        ],
        [0x00, 0x40, 0x14, 0x54 + 19]
    );
    let (mut i2c, _) = lcd.release();
    i2c.done();
}

#[test]
fn text_line_write_on_row_three_of_a_20x4() {
    let mut expect = vec![byte(0x80 | 0x54, false)];
    expect.extend(text("Den quay so 3"));
    let mut i2c = I2cMock::new(&expect);
    let mut lcd = Hd44780::new(i2c.clone(), NoopDelay::new(), ADDR, 20, 4).expect("20x4 is valid");
    lcd.write_line(3, "Đến quầy số 3").expect("write");
    i2c.done();
}

#[test]
fn lcd_text_is_transliterated_and_fitted() {
    assert_eq!(lcd_bytes("Quầy số 3", 12), b"Quay so 3   ".to_vec());
    assert_eq!(lcd_bytes("a\\b~c", 5), b"a/b-c".to_vec());
    assert_eq!(
        lcd_bytes("ƯU TIÊN NGƯỜI CAO TUỔI", 16),
        b"UU TIEN NGUOI CA".to_vec()
    );
    let rows = render_rows(&[slot(12, Some("UT0042"), true)], "Quầy", 16);
    assert_eq!(rows, vec!["Quay 12   UT0042".to_string()]);
}

#[test]
fn missing_backpack_is_an_error_not_a_panic() {
    let expect = [T::write(ADDR, vec![0x08]).with_error(ErrorKind::Other)];
    let mut i2c = I2cMock::new(&expect);
    let mut lcd = Hd44780::new(i2c.clone(), NoopDelay::new(), ADDR, 16, 2).expect("16x2 is valid");
    assert_eq!(lcd.init(), Err(Error::I2c(ErrorKind::Other)));
    i2c.done();
}

#[test]
fn bad_geometry_is_rejected() {
    let mut i2c = I2cMock::new(&[]);
    let r = Hd44780::new(i2c.clone(), NoopDelay::new(), ADDR, 17, 2);
    assert!(matches!(r, Err(Error::Geometry(_))));
    i2c.done();
}

//! HD44780 character LCD (16x2, 20x4) behind a PCF8574 I2C backpack, over embedded-hal 1.0
//! `I2c` + `DelayNs`, in 4-bit mode; plus the pure rendering of counter rows, with Vietnamese
//! transliterated for the LCD's ROM ("Quầy" -> "Quay").
//!
//! Backpack wiring (the common "LCM1602 IIC" boards): P0 = RS, P1 = RW, P2 = E, P3 = backlight,
//! P4..P7 = D4..D7. Every LCD byte is one I2C write of four expander bytes: high nibble with E
//! high, with E low, low nibble with E high, with E low. At 100 kHz that is ~450 µs per byte,
//! longer than the 37 µs an instruction needs; only clear waits explicitly (2 ms).

use super::display::blink::Slot;
use super::display::config::CounterDisplayConfig;
use super::display::surface::CounterSurface;
use embedded_hal::delay::DelayNs;
use embedded_hal::i2c::I2c;

pub(crate) const RS: u8 = 0x01;
pub(crate) const EN: u8 = 0x04;
pub(crate) const BACKLIGHT: u8 = 0x08;

pub(crate) mod cmd {
    pub(crate) const CLEAR: u8 = 0x01;
    pub(crate) const ENTRY_INCREMENT: u8 = 0x06;
    pub(crate) const DISPLAY_OFF: u8 = 0x08;
    pub(crate) const DISPLAY_ON: u8 = 0x0C;
    /// 4-bit bus, 2 display lines (also used for 4-row modules), 5x8 font.
    pub(crate) const FUNCTION_4BIT_2LINE: u8 = 0x28;
    pub(crate) const SET_DDRAM: u8 = 0x80;
}

/// Driver errors.
#[derive(Debug, PartialEq, Eq)]
pub enum Error<E> {
    /// The I2C write failed (no backpack at that address, bus error).
    I2c(E),
    /// Unsupported geometry or a row outside the display.
    Geometry(&'static str),
}

impl<E: core::fmt::Debug> core::fmt::Display for Error<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::I2c(e) => write!(f, "I2C write failed: {e:?}"),
            Error::Geometry(m) => write!(f, "{m}"),
        }
    }
}

/// An HD44780 through a PCF8574. Owns its bus and delay; keeps a shadow of the text shown and
/// rewrites only the changed span of a row.
pub struct Hd44780<I2C, D> {
    i2c: I2C,
    delay: D,
    address: u8,
    columns: usize,
    rows: usize,
    backlight: bool,
    shadow: Vec<Vec<u8>>,
}

impl<I2C: I2c, D: DelayNs> Hd44780<I2C, D> {
    /// `columns` 16 or 20, `rows` 1, 2 or 4.
    pub fn new(
        i2c: I2C,
        delay: D,
        address: u8,
        columns: usize,
        rows: usize,
    ) -> Result<Self, Error<I2C::Error>> {
        if !matches!(columns, 8 | 16 | 20 | 24 | 40)
            || !matches!(rows, 1 | 2 | 4)
            || (rows == 4 && columns > 20)
        {
            return Err(Error::Geometry(
                "unsupported LCD geometry; use 16x2, 20x2, 16x4 or 20x4",
            ));
        }
        Ok(Hd44780 {
            i2c,
            delay,
            address,
            columns,
            rows,
            backlight: true,
            shadow: vec![vec![b' '; columns]; rows],
        })
    }

    pub fn release(self) -> (I2C, D) {
        (self.i2c, self.delay)
    }

    fn bl(&self) -> u8 {
        if self.backlight {
            BACKLIGHT
        } else {
            0
        }
    }

    fn write_nibble(&mut self, nibble: u8) -> Result<(), Error<I2C::Error>> {
        let v = (nibble << 4) | self.bl();
        self.i2c
            .write(self.address, &[v | EN, v])
            .map_err(Error::I2c)
    }

    fn write_byte(&mut self, value: u8, rs: bool) -> Result<(), Error<I2C::Error>> {
        let base = self.bl() | if rs { RS } else { 0 };
        let hi = (value & 0xF0) | base;
        let lo = (value << 4) | base;
        self.i2c
            .write(self.address, &[hi | EN, hi, lo | EN, lo])
            .map_err(Error::I2c)
    }

    pub(crate) fn command(&mut self, c: u8) -> Result<(), Error<I2C::Error>> {
        self.write_byte(c, false)
    }

    /// The power-on initialisation by instruction (datasheet figure 24) for 4-bit mode, then
    /// display off, clear, entry mode increment, display on without cursor.
    pub fn init(&mut self) -> Result<(), Error<I2C::Error>> {
        let bl = self.bl();
        self.i2c.write(self.address, &[bl]).map_err(Error::I2c)?;
        self.delay.delay_ms(50);
        self.write_nibble(0x3)?;
        self.delay.delay_us(4500);
        self.write_nibble(0x3)?;
        self.delay.delay_us(150);
        self.write_nibble(0x3)?;
        self.delay.delay_us(150);
        self.write_nibble(0x2)?;
        self.command(cmd::FUNCTION_4BIT_2LINE)?;
        self.command(cmd::DISPLAY_OFF)?;
        self.clear()?;
        self.command(cmd::ENTRY_INCREMENT)?;
        self.command(cmd::DISPLAY_ON)
    }

    pub(crate) fn clear(&mut self) -> Result<(), Error<I2C::Error>> {
        self.command(cmd::CLEAR)?;
        self.delay.delay_us(2000);
        self.shadow = vec![vec![b' '; self.columns]; self.rows];
        Ok(())
    }

    /// DDRAM address of `(row, col)`: rows start at 0x00, 0x40, then `columns`, 0x40 + `columns`.
    pub fn ddram_address(&self, row: usize, col: usize) -> u8 {
        let base = match row {
            0 => 0x00,
            1 => 0x40,
            2 => self.columns,
            _ => 0x40 + self.columns,
        };
        (base + col) as u8
    }

    /// Shows `text` on `row` (transliterated, padded or cut to the width). Only the span of
    /// columns that differs from what is shown is written.
    pub fn write_line(&mut self, row: usize, text: &str) -> Result<(), Error<I2C::Error>> {
        if row >= self.rows {
            return Err(Error::Geometry("row outside the display"));
        }
        let bytes = lcd_bytes(text, self.columns);
        let old = &self.shadow[row];
        let Some(first) = (0..self.columns).find(|&c| bytes[c] != old[c]) else {
            return Ok(());
        };
        let last = (0..self.columns)
            .rev()
            .find(|&c| bytes[c] != old[c])
            .unwrap_or(first);
        let addr = self.ddram_address(row, first);
        self.command(cmd::SET_DDRAM | addr)?;
        for (c, b) in bytes.iter().enumerate().take(last + 1).skip(first) {
            self.write_byte(*b, true)?;
            self.shadow[row][c] = *b;
        }
        Ok(())
    }
}

/// Text as LCD character codes (ROM A00), exactly `columns` long: Vietnamese transliterated,
/// `\` and `~` (yen sign and arrow in the ROM) replaced, anything else unprintable as `?`.
pub fn lcd_bytes(text: &str, columns: usize) -> Vec<u8> {
    let mut out: Vec<u8> = super::translit::to_printable_ascii(text)
        .bytes()
        .map(|b| match b {
            b'\\' => b'/',
            b'~' => b'-',
            _ => b,
        })
        .take(columns)
        .collect();
    out.resize(columns, b' ');
    out
}

/// One row per counter: caption and counter number on the left ("Quay 3"), the ticket label
/// right-aligned; `-` when the counter serves nobody; the label blank in the dark half of a blink.
pub fn render_rows(slots: &[Slot], caption: &str, columns: usize) -> Vec<String> {
    slots
        .iter()
        .map(|s| {
            let left = format!(
                "{} {}",
                super::translit::to_printable_ascii(caption),
                s.counter
            );
            let label = match (&s.label, s.visible) {
                (_, false) => String::new(),
                (Some(l), true) => super::translit::to_printable_ascii(l),
                (None, true) => "-".to_string(),
            };
            let room = columns.saturating_sub(label.chars().count());
            let left: String = left.chars().take(room.saturating_sub(1)).collect();
            format!("{left:<room$}{label}")
        })
        .collect()
}

/// A configured LCD showing counters.
pub struct Hd44780Surface<I2C, D> {
    driver: Hd44780<I2C, D>,
    caption: String,
    columns: usize,
}

impl<I2C: I2c, D: DelayNs> Hd44780Surface<I2C, D> {
    pub fn new(
        i2c: I2C,
        delay: D,
        address: u8,
        columns: usize,
        rows: usize,
        caption: &str,
    ) -> Result<Self, Error<I2C::Error>> {
        let mut driver = Hd44780::new(i2c, delay, address, columns, rows)?;
        driver.init()?;
        Ok(Hd44780Surface {
            driver,
            caption: caption.to_string(),
            columns,
        })
    }
    pub fn release(self) -> (I2C, D) {
        self.driver.release()
    }
}

impl<I2C, D> CounterSurface for Hd44780Surface<I2C, D>
where
    I2C: I2c + Send,
    I2C::Error: core::fmt::Debug,
    D: DelayNs + Send,
{
    fn show(&mut self, slots: &[Slot]) -> Result<(), String> {
        for (row, text) in render_rows(slots, &self.caption, self.columns)
            .iter()
            .enumerate()
        {
            self.driver
                .write_line(row, text)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// Opens `/dev/i2c-N` with linux-embedded-hal and initialises the LCD.
pub(crate) fn open_linux(
    cfg: &CounterDisplayConfig,
) -> Result<Hd44780Surface<linux_embedded_hal::I2cdev, linux_embedded_hal::Delay>, String> {
    let path = cfg.device.get_ref();
    let i2c = linux_embedded_hal::I2cdev::new(path)
        .map_err(|e| format!("cannot open I2C bus {path}: {e} (is dtparam=i2c_arm=on set and the user in group i2c?)"))?;
    let address = u8::try_from(cfg.address())
        .map_err(|_| format!("I2C address {:#x} is not a 7-bit address", cfg.address()))?;
    Hd44780Surface::new(
        i2c,
        linux_embedded_hal::Delay,
        address,
        cfg.columns(),
        cfg.rows(),
        cfg.label(),
    )
    .map_err(|e| format!("HD44780 at {address:#04x} on {path}: {e}"))
}

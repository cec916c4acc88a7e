//! MAX7219 8-digit 7-segment driver over an embedded-hal 1.0 `SpiDevice`, daisy chains
//! included, plus the pure rendering of counter tickets into digit groups.
//!
//! Chain order: chip 0 is the module wired to the Pi (its DIN on MOSI). In one SPI transaction
//! the bytes for the farthest chip go first, chip 0's last. Digit register 1 is the rightmost
//! digit of the common 8-digit modules. The driver uses no-decode mode with its own font so
//! letters of ticket labels ("A012") can be shown.

use super::display::blink::Slot;
use super::display::config::CounterDisplayConfig;
use super::display::surface::CounterSurface;
use embedded_hal::spi::SpiDevice;

/// Longest supported chain.
pub(crate) const MAX_CHIPS: usize = 8;

pub(crate) mod reg {
    pub(crate) const NOOP: u8 = 0x00;
    pub(crate) const DIGIT0: u8 = 0x01;
    pub(crate) const DECODE_MODE: u8 = 0x09;
    pub(crate) const INTENSITY: u8 = 0x0A;
    pub(crate) const SCAN_LIMIT: u8 = 0x0B;
    pub(crate) const SHUTDOWN: u8 = 0x0C;
    pub(crate) const DISPLAY_TEST: u8 = 0x0F;
}

/// Driver errors.
#[derive(Debug, PartialEq, Eq)]
pub enum Error<E> {
    /// The SPI transfer failed.
    Spi(E),
    /// A chain of this many chips is not supported (1..=MAX_CHIPS).
    ChainLength(usize),
    /// A chip index or frame size did not match the chain.
    Frame(&'static str),
}

impl<E: core::fmt::Debug> core::fmt::Display for Error<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Spi(e) => write!(f, "SPI transfer failed: {e:?}"),
            Error::ChainLength(n) => write!(
                f,
                "a chain of {n} MAX7219 chips is not supported; use 1..={MAX_CHIPS}"
            ),
            Error::Frame(m) => write!(f, "{m}"),
        }
    }
}

/// A chain of MAX7219 chips. Owns its SPI device; keeps a shadow of the digit registers and
/// writes only digit rows that changed.
pub struct Max7219<SPI> {
    spi: SPI,
    chips: usize,
    /// `shadow[chip][d]` = segments of digit register `d + 1`.
    shadow: Vec<[u8; 8]>,
}

impl<SPI: SpiDevice> Max7219<SPI> {
    pub fn new(spi: SPI, chips: usize) -> Result<Self, Error<SPI::Error>> {
        if chips == 0 || chips > MAX_CHIPS {
            return Err(Error::ChainLength(chips));
        }
        Ok(Max7219 {
            spi,
            chips,
            shadow: vec![[0; 8]; chips],
        })
    }

    pub(crate) fn chips(&self) -> usize {
        self.chips
    }

    /// Gives the SPI device back.
    pub fn release(self) -> SPI {
        self.spi
    }

    /// One transaction writing `(register, data)` pairs, `per_chip[i]` for chip `i`
    /// (`None` = no-op for that chip).
    fn write_chain(&mut self, per_chip: &[Option<(u8, u8)>]) -> Result<(), Error<SPI::Error>> {
        let mut buf = Vec::with_capacity(2 * self.chips);
        for op in per_chip.iter().rev() {
            let (r, d) = op.unwrap_or((reg::NOOP, 0));
            buf.push(r);
            buf.push(d);
        }
        self.spi.write(&buf).map_err(Error::Spi)
    }

    /// Writes the same register value to every chip in one transaction.
    pub(crate) fn write_all(&mut self, register: u8, data: u8) -> Result<(), Error<SPI::Error>> {
        let ops = vec![Some((register, data)); self.chips];
        self.write_chain(&ops)
    }

    /// Initialises every chip: display test off, scan all 8 digits, no decode, `intensity`
    /// (0..=15), all digits blank, then out of shutdown: 14 transactions.
    pub fn init(&mut self, intensity: u8) -> Result<(), Error<SPI::Error>> {
        self.write_all(reg::DISPLAY_TEST, 0x00)?;
        self.write_all(reg::SHUTDOWN, 0x00)?;
        self.write_all(reg::SCAN_LIMIT, 0x07)?;
        self.write_all(reg::DECODE_MODE, 0x00)?;
        self.write_all(reg::INTENSITY, intensity.min(15))?;
        for d in 0..8u8 {
            self.write_all(reg::DIGIT0 + d, 0x00)?;
        }
        self.shadow = vec![[0; 8]; self.chips];
        self.write_all(reg::SHUTDOWN, 0x01)
    }

    /// Rewrites the configuration registers (no display test, scan 8, no decode, `intensity`,
    /// running) without touching the digits, and forgets the shadow so the next `show` rewrites
    /// every digit: repairs a chip scrambled by interference without a visible blank.
    pub(crate) fn refresh(&mut self, intensity: u8) -> Result<(), Error<SPI::Error>> {
        self.write_all(reg::DISPLAY_TEST, 0x00)?;
        self.write_all(reg::SCAN_LIMIT, 0x07)?;
        self.write_all(reg::DECODE_MODE, 0x00)?;
        self.write_all(reg::INTENSITY, intensity.min(15))?;
        self.write_all(reg::SHUTDOWN, 0x01)?;
        self.invalidate();
        Ok(())
    }

    /// Shows `frame[chip][d]` (segments of digit register `d + 1`). Only digit rows where some
    /// chip changed are sent, one transaction per row, with no-ops for unchanged chips.
    #[allow(clippy::needless_range_loop)] // a digit row is indexed across every chip
    pub(crate) fn show(&mut self, frame: &[[u8; 8]]) -> Result<(), Error<SPI::Error>> {
        if frame.len() != self.chips {
            return Err(Error::Frame(
                "frame has a different number of chips than the chain",
            ));
        }
        for d in 0..8usize {
            let ops: Vec<Option<(u8, u8)>> = (0..self.chips)
                .map(|c| {
                    (frame[c][d] != self.shadow[c][d])
                        .then_some((reg::DIGIT0 + d as u8, frame[c][d]))
                })
                .collect();
            if ops.iter().all(Option::is_none) {
                continue;
            }
            self.write_chain(&ops)?;
            for (c, op) in ops.iter().enumerate() {
                if let Some((_, v)) = op {
                    self.shadow[c][d] = *v;
                }
            }
        }
        Ok(())
    }

    /// Forgets what the chips show so the next `show` rewrites every digit.
    pub(crate) fn invalidate(&mut self) {
        for s in &mut self.shadow {
            *s = [0xFF; 8];
        }
    }
}

/// Segment pattern in the MAX7219's bit order (bit 7 = DP, 6 = A, 5 = B, 4 = C, 3 = D, 2 = E,
/// 1 = F, 0 = G) for a character. The font itself is the keypad firmware's
/// ([`layso_keypad::segments::glyph`], bit 0 = a … 6 = g): one font, so the same ticket looks
/// the same on a MAX7219 and on a keypad. Characters the font has no glyph for are blank.
pub fn segments(c: char) -> u8 {
    let glyph = u8::try_from(c).map_or(0, layso_keypad::segments::glyph);
    from_abcdefg(glyph)
}

/// Re-orders a glyph from the firmware's order (bit 0 = a … bit 6 = g, bit 7 = DP) to the
/// MAX7219's (bit 6 = A … bit 0 = G, bit 7 = DP).
fn from_abcdefg(glyph: u8) -> u8 {
    (0..7).fold(glyph & 0x80, |out, bit| {
        if glyph & (1 << bit) != 0 {
            out | (1 << (6 - bit))
        } else {
            out
        }
    })
}

/// Renders counter slots into per-chip digit rows. Counter `i` occupies digit group `i`
/// (`group_digits` 8 = one chip each, 4 = left then right half of a chip). The ticket label is
/// transliterated and right-aligned in its group (the rightmost characters kept if too long);
/// a counter serving nobody shows `-`; a slot in the dark half of a blink is blank.
pub fn render(slots: &[Slot], group_digits: usize, chips: usize) -> Vec<[u8; 8]> {
    let mut frame = vec![[0u8; 8]; chips];
    let g = group_digits.clamp(1, 8);
    for (i, slot) in slots.iter().enumerate() {
        let first = i * g; // position from the left of the whole chain, chip by chip
        let text: Vec<char> = if !slot.visible {
            Vec::new()
        } else {
            match &slot.label {
                Some(l) => super::translit::to_ascii(l).chars().collect(),
                None => vec!['-'],
            }
        };
        let shown = &text[text.len().saturating_sub(g)..];
        let pad = g - shown.len();
        for p in 0..g {
            let ch = if p < pad { ' ' } else { shown[p - pad] };
            let pos = first + p;
            let (chip, col) = (pos / 8, pos % 8);
            if chip < chips {
                // Column 0 is the leftmost digit = register 8 = index 7.
                frame[chip][7 - col] = segments(ch);
            }
        }
    }
    frame
}

/// A configured MAX7219 chain showing counters.
pub struct Max7219Surface<SPI> {
    driver: Max7219<SPI>,
    group_digits: usize,
    intensity: u8,
}

impl<SPI: SpiDevice> Max7219Surface<SPI> {
    /// Wraps a driver and initialises the chain.
    pub fn new(
        spi: SPI,
        chips: usize,
        group_digits: usize,
        intensity: u8,
    ) -> Result<Self, Error<SPI::Error>> {
        let mut driver = Max7219::new(spi, chips)?;
        driver.init(intensity)?;
        Ok(Max7219Surface {
            driver,
            group_digits,
            intensity,
        })
    }
    pub fn release(self) -> SPI {
        self.driver.release()
    }
}

impl<SPI> CounterSurface for Max7219Surface<SPI>
where
    SPI: SpiDevice + Send,
    SPI::Error: core::fmt::Debug,
{
    fn show(&mut self, slots: &[Slot]) -> Result<(), String> {
        let frame = render(slots, self.group_digits, self.driver.chips());
        self.driver.show(&frame).map_err(|e| e.to_string())
    }

    fn refresh(&mut self) -> Result<(), String> {
        self.driver
            .refresh(self.intensity)
            .map_err(|e| e.to_string())
    }
}

/// Opens `/dev/spidevB.C` with linux-embedded-hal (mode 0, 8 bits, configured clock) and
/// initialises the chain.
pub(crate) fn open_linux(
    cfg: &CounterDisplayConfig,
) -> Result<Max7219Surface<linux_embedded_hal::SpidevDevice>, String> {
    use linux_embedded_hal::spidev::{SpiModeFlags, SpidevOptions};
    let path = cfg.device.get_ref();
    let mut spi = linux_embedded_hal::SpidevDevice::open(path).map_err(|e| {
        format!(
            "cannot open SPI device {path}: {e} (is dtparam=spi=on set and the user in group spi?)"
        )
    })?;
    let opts = SpidevOptions::new()
        .bits_per_word(8)
        .max_speed_hz(cfg.spi_hz())
        .mode(SpiModeFlags::SPI_MODE_0)
        .build();
    spi.configure(&opts)
        .map_err(|e| format!("cannot configure SPI device {path}: {e}"))?;
    Max7219Surface::new(spi, cfg.chips(), cfg.group_digits(), cfg.intensity())
        .map_err(|e| format!("MAX7219 on {path}: {e}"))
}

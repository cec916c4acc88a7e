//! The LED board frame template's configuration: address, length, text encoding, alignment
//! and checksum formats, and the frame layout they make up.

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressFormat {
    /// No address in the frame.
    None,
    /// One binary byte (Modbus slave id).
    #[default]
    U8,
    /// Two ASCII decimal digits, "01".."99".
    AsciiDec2,
    /// Two ASCII hex digits, "00".."FF".
    AsciiHex2,
}

impl AddressFormat {
    pub(crate) fn max_value(self) -> u32 {
        match self {
            AddressFormat::None | AddressFormat::U8 | AddressFormat::AsciiHex2 => 255,
            AddressFormat::AsciiDec2 => 99,
        }
    }
    pub(crate) fn len(self) -> usize {
        match self {
            AddressFormat::None => 0,
            AddressFormat::U8 => 1,
            AddressFormat::AsciiDec2 | AddressFormat::AsciiHex2 => 2,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LengthField {
    #[default]
    None,
    /// Text byte count, one byte.
    U8,
    /// Text byte count, two bytes big-endian.
    U16Be,
    /// Modbus 0x10: register count (u16 big-endian) then byte count (u8); text padded to even.
    ModbusRegisters,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextEncoding {
    /// Printable ASCII; any other character is sent as `?`.
    Ascii,
    /// Vietnamese folded to ASCII ("Quầy" -> "Quay"), the rest as `?`.
    #[default]
    Transliterated,
    /// UTF-8 bytes, for boards with a Unicode font.
    Utf8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Align {
    #[default]
    Left,
    Right,
    Center,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Checksum {
    #[default]
    None,
    /// XOR of the covered bytes.
    Xor,
    /// Sum of the covered bytes modulo 256.
    Sum8,
    /// CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF); binary form is low byte first.
    Crc16Modbus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumFrom {
    /// From the first byte of the frame (prefix included).
    #[default]
    Start,
    /// From the first byte after the prefix (the address).
    AfterPrefix,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumTo {
    /// Up to the end of the text (the suffix is not covered).
    #[default]
    BeforeSuffix,
    /// Up to and including the suffix (only with `checksum_at = "end"`).
    EndOfSuffix,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumAt {
    /// After the suffix, as the last bytes of the frame.
    #[default]
    End,
    /// Between the text and the suffix.
    BeforeSuffix,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumFormat {
    /// Raw bytes (CRC-16 low byte first).
    #[default]
    Binary,
    /// Upper-case hex digits, most significant first ("3F", "A1B2").
    AsciiHex,
}

/// The `[led_boards.frame]` template. Every key may be left out (see [`Default`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FrameConfig {
    pub prefix: Vec<u8>,
    pub address: AddressFormat,
    /// Fixed bytes after the address (command code, register start...).
    pub header: Vec<u8>,
    pub length: LengthField,
    pub encoding: TextEncoding,
    /// Fixed text width in bytes (padded with `pad`, cut if longer).
    pub width: Option<Spanned<usize>>,
    pub align: Align,
    pub pad: u8,
    pub suffix: Vec<u8>,
    pub checksum: Checksum,
    pub checksum_from: ChecksumFrom,
    pub checksum_to: Option<Spanned<ChecksumTo>>,
    pub checksum_at: Option<Spanned<ChecksumAt>>,
    pub checksum_format: ChecksumFormat,
}

impl Default for FrameConfig {
    /// A one-byte binary address, no other fixed bytes, no length field or checksum, the text
    /// transliterated, left-aligned and padded with spaces.
    fn default() -> Self {
        FrameConfig {
            prefix: Vec::new(),
            address: AddressFormat::default(),
            header: Vec::new(),
            length: LengthField::default(),
            encoding: TextEncoding::default(),
            width: None,
            align: Align::default(),
            pad: b' ',
            suffix: Vec::new(),
            checksum: Checksum::default(),
            checksum_from: ChecksumFrom::default(),
            checksum_to: None,
            checksum_at: None,
            checksum_format: ChecksumFormat::default(),
        }
    }
}

impl FrameConfig {
    pub(crate) fn checksum_to(&self) -> ChecksumTo {
        self.checksum_to
            .as_ref()
            .map_or_else(ChecksumTo::default, |v| *v.get_ref())
    }
    pub(crate) fn checksum_at(&self) -> ChecksumAt {
        self.checksum_at
            .as_ref()
            .map_or_else(ChecksumAt::default, |v| *v.get_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_frame_table_takes_every_default() -> Result<(), toml::de::Error> {
        let frame: FrameConfig = toml::from_str("")?;
        assert_eq!(frame, FrameConfig::default());
        assert_eq!((frame.pad, frame.address), (b' ', AddressFormat::U8));
        let frame: FrameConfig = toml::from_str("pad = 0x30\nsuffix = [3]")?;
        assert_eq!((frame.pad, &frame.suffix[..]), (b'0', &[3u8][..]));
        assert_eq!(frame.checksum_to(), ChecksumTo::BeforeSuffix);
        Ok(())
    }
}

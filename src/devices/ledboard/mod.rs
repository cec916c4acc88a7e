//! Serial LED boards: a configurable vendor frame template with a pure frame builder and
//! parser (prefix, board address, header, length field, encoded text, suffix, checksum), and the
//! tokio-serial adapter that sends each call and reopens the port with backoff when unplugged.
//!
//! Frame layout: `prefix | address | header | length | text | [checksum] | suffix | [checksum]`
//! (the checksum sits either before the suffix or at the very end).

use std::ops::Range;

mod adapter;
mod config;
mod format;
pub use adapter::run;
pub use config::{LedBoardConfig, DEFAULT_LED_TEXT};
pub use format::*;

/// A call to show: counter `counter` now serves ticket `ticket`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub counter: u16,
    pub ticket: String,
}

/// Why a frame could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    AddressTooLarge { address: u16, max: u32 },
    TextTooLong { len: usize, max: usize },
    Incomplete,
    NoPrefix,
    BadAddress,
    BadHeader,
    BadLength,
    BadSuffix,
    BadChecksum { expected: Vec<u8>, found: Vec<u8> },
    NoEnd,
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::AddressTooLarge { address, max } => {
                write!(
                    f,
                    "board address {address} does not fit the frame (max {max})"
                )
            }
            FrameError::TextTooLong { len, max } => write!(
                f,
                "text of {len} bytes is longer than the frame allows ({max})"
            ),
            FrameError::Incomplete => write!(f, "frame incomplete"),
            FrameError::NoPrefix => write!(f, "frame does not start with the prefix"),
            FrameError::BadAddress => write!(f, "address field is not valid"),
            FrameError::BadHeader => write!(f, "header bytes differ from the template"),
            FrameError::BadLength => write!(f, "length field is inconsistent"),
            FrameError::BadSuffix => write!(f, "suffix bytes differ from the template"),
            FrameError::BadChecksum { expected, found } => {
                write!(
                    f,
                    "checksum mismatch: computed {expected:02X?}, frame has {found:02X?}"
                )
            }
            FrameError::NoEnd => write!(
                f,
                "template has no width, length field or suffix to end the text"
            ),
        }
    }
}

/// CRC-16/MODBUS.
pub fn crc16_modbus(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in data {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xA001
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// The checksum bytes over `data` in the template's format.
pub fn checksum_bytes(kind: Checksum, format: ChecksumFormat, data: &[u8]) -> Vec<u8> {
    let (value, width): (u16, usize) = match kind {
        Checksum::None => return Vec::new(),
        Checksum::Xor => (u16::from(data.iter().fold(0u8, |a, b| a ^ b)), 1),
        Checksum::Sum8 => (
            u16::from(data.iter().fold(0u8, |a, b| a.wrapping_add(*b))),
            1,
        ),
        Checksum::Crc16Modbus => (crc16_modbus(data), 2),
    };
    match format {
        ChecksumFormat::Binary if width == 1 => vec![value as u8],
        ChecksumFormat::Binary => value.to_le_bytes().to_vec(),
        ChecksumFormat::AsciiHex => format!("{value:0w$X}", w = width * 2).into_bytes(),
    }
}

fn checksum_len(cfg: &FrameConfig) -> usize {
    let bytes = match cfg.checksum {
        Checksum::None => 0,
        Checksum::Xor | Checksum::Sum8 => 1,
        Checksum::Crc16Modbus => 2,
    };
    match cfg.checksum_format {
        ChecksumFormat::Binary => bytes,
        ChecksumFormat::AsciiHex => bytes * 2,
    }
}

/// Encodes text per the template: character encoding, then width, alignment and padding;
/// Modbus register writes are padded to an even byte count.
pub fn encode_text(cfg: &FrameConfig, text: &str) -> Vec<u8> {
    let mut bytes: Vec<u8> = match cfg.encoding {
        TextEncoding::Utf8 => text.as_bytes().to_vec(),
        TextEncoding::Transliterated => super::translit::to_printable_ascii(text).into_bytes(),
        TextEncoding::Ascii => text
            .chars()
            .map(|c| {
                if (' '..='~').contains(&c) {
                    c as u8
                } else {
                    b'?'
                }
            })
            .collect(),
    };
    if let Some(w) = cfg.width.as_ref().map(|w| *w.get_ref()) {
        if bytes.len() > w {
            bytes.truncate(w);
            if cfg.encoding == TextEncoding::Utf8 {
                // Do not leave half a character.
                while !bytes.is_empty() && std::str::from_utf8(&bytes).is_err() {
                    bytes.pop();
                }
            }
        }
        let room = w - bytes.len();
        let (before, after) = match cfg.align {
            Align::Left => (0, room),
            Align::Right => (room, 0),
            Align::Center => (room / 2, room - room / 2),
        };
        let mut padded = vec![cfg.pad; before];
        padded.extend_from_slice(&bytes);
        padded.extend(std::iter::repeat_n(cfg.pad, after));
        bytes = padded;
    }
    if cfg.length == LengthField::ModbusRegisters && bytes.len() % 2 == 1 {
        bytes.push(cfg.pad);
    }
    bytes
}

fn encode_address(format: AddressFormat, address: u16) -> Result<Vec<u8>, FrameError> {
    if u32::from(address) > format.max_value() {
        return Err(FrameError::AddressTooLarge {
            address,
            max: format.max_value(),
        });
    }
    Ok(match format {
        AddressFormat::None => Vec::new(),
        AddressFormat::U8 => vec![address as u8],
        AddressFormat::AsciiDec2 => format!("{address:02}").into_bytes(),
        AddressFormat::AsciiHex2 => format!("{address:02X}").into_bytes(),
    })
}

fn length_bytes(field: LengthField, len: usize) -> Result<Vec<u8>, FrameError> {
    Ok(match field {
        LengthField::None => Vec::new(),
        LengthField::U8 => {
            vec![u8::try_from(len).map_err(|_| FrameError::TextTooLong { len, max: 255 })?]
        }
        LengthField::U16Be => u16::try_from(len)
            .map_err(|_| FrameError::TextTooLong { len, max: 65535 })?
            .to_be_bytes()
            .to_vec(),
        LengthField::ModbusRegisters => {
            if len > 246 {
                return Err(FrameError::TextTooLong { len, max: 246 });
            }
            let regs = (len / 2) as u16;
            let mut v = regs.to_be_bytes().to_vec();
            v.push(len as u8);
            v
        }
    })
}

/// Builds the complete frame that shows `text` on the board at `address`. Pure.
pub fn build_frame(cfg: &FrameConfig, address: u16, text: &str) -> Result<Vec<u8>, FrameError> {
    let mut f = cfg.prefix.clone();
    let from = match cfg.checksum_from {
        ChecksumFrom::Start => 0,
        ChecksumFrom::AfterPrefix => f.len(),
    };
    f.extend(encode_address(cfg.address, address)?);
    f.extend_from_slice(&cfg.header);
    let body = encode_text(cfg, text);
    f.extend(length_bytes(cfg.length, body.len())?);
    f.extend_from_slice(&body);
    match cfg.checksum_at() {
        ChecksumAt::BeforeSuffix => {
            let sum = checksum_bytes(cfg.checksum, cfg.checksum_format, &f[from..]);
            f.extend(sum);
            f.extend_from_slice(&cfg.suffix);
        }
        ChecksumAt::End => {
            let text_end = f.len();
            f.extend_from_slice(&cfg.suffix);
            let to = match cfg.checksum_to() {
                ChecksumTo::BeforeSuffix => text_end,
                ChecksumTo::EndOfSuffix => f.len(),
            };
            let sum = checksum_bytes(cfg.checksum, cfg.checksum_format, &f[from..to]);
            f.extend(sum);
        }
    }
    Ok(f)
}

/// A frame read back (by a board emulator or a test).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub address: u16,
    /// The text bytes with the padding trimmed.
    pub text: Vec<u8>,
    /// Bytes of input the frame used.
    pub consumed: usize,
}

fn take<'a>(buf: &'a [u8], pos: &mut usize, n: usize) -> Result<&'a [u8], FrameError> {
    let s = buf.get(*pos..*pos + n).ok_or(FrameError::Incomplete)?;
    *pos += n;
    Ok(s)
}

/// Parses one frame at the start of `buf` and verifies it. `Err(Incomplete)` means wait for
/// more bytes. Pure.
pub fn decode_frame(cfg: &FrameConfig, buf: &[u8]) -> Result<Decoded, FrameError> {
    let mut pos = 0;
    let prefix = take(buf, &mut pos, cfg.prefix.len())?;
    if prefix != cfg.prefix.as_slice() {
        return Err(FrameError::NoPrefix);
    }
    let from = match cfg.checksum_from {
        ChecksumFrom::Start => 0,
        ChecksumFrom::AfterPrefix => pos,
    };
    let a = take(buf, &mut pos, cfg.address.len())?;
    let address = match cfg.address {
        AddressFormat::None => 0,
        AddressFormat::U8 => u16::from(a[0]),
        AddressFormat::AsciiDec2 | AddressFormat::AsciiHex2 => {
            let radix = if cfg.address == AddressFormat::AsciiDec2 {
                10
            } else {
                16
            };
            let s = std::str::from_utf8(a).map_err(|_| FrameError::BadAddress)?;
            u16::from_str_radix(s, radix).map_err(|_| FrameError::BadAddress)?
        }
    };
    if take(buf, &mut pos, cfg.header.len())? != cfg.header.as_slice() {
        return Err(FrameError::BadHeader);
    }
    let sum_len = checksum_len(cfg);
    let sum_before_suffix = cfg.checksum_at() == ChecksumAt::BeforeSuffix;
    let text_len = match cfg.length {
        LengthField::U8 => usize::from(take(buf, &mut pos, 1)?[0]),
        LengthField::U16Be => {
            let l = take(buf, &mut pos, 2)?;
            usize::from(u16::from_be_bytes([l[0], l[1]]))
        }
        LengthField::ModbusRegisters => {
            let l = take(buf, &mut pos, 3)?;
            let regs = usize::from(u16::from_be_bytes([l[0], l[1]]));
            let count = usize::from(l[2]);
            if count != regs * 2 {
                return Err(FrameError::BadLength);
            }
            count
        }
        LengthField::None => match cfg.width.as_ref() {
            Some(w) => *w.get_ref(),
            None => {
                if cfg.suffix.is_empty() {
                    return Err(FrameError::NoEnd);
                }
                let rest = &buf[pos..];
                let at = rest
                    .windows(cfg.suffix.len())
                    .position(|w| w == cfg.suffix.as_slice())
                    .ok_or(FrameError::Incomplete)?;
                let before = if sum_before_suffix { sum_len } else { 0 };
                at.checked_sub(before).ok_or(FrameError::BadLength)?
            }
        },
    };
    let text = take(buf, &mut pos, text_len)?.to_vec();
    let check = |covered: &[u8], found: &[u8]| {
        let expected = checksum_bytes(cfg.checksum, cfg.checksum_format, covered);
        if expected == found {
            Ok(())
        } else {
            Err(FrameError::BadChecksum {
                expected,
                found: found.to_vec(),
            })
        }
    };
    if sum_before_suffix {
        let text_end = pos;
        let found = take(buf, &mut pos, sum_len)?;
        check(&buf[from..text_end], found)?;
        if take(buf, &mut pos, cfg.suffix.len())? != cfg.suffix.as_slice() {
            return Err(FrameError::BadSuffix);
        }
    } else {
        let text_end = pos;
        if take(buf, &mut pos, cfg.suffix.len())? != cfg.suffix.as_slice() {
            return Err(FrameError::BadSuffix);
        }
        let to = match cfg.checksum_to() {
            ChecksumTo::BeforeSuffix => text_end,
            ChecksumTo::EndOfSuffix => pos,
        };
        let found = take(buf, &mut pos, sum_len)?;
        check(&buf[from..to], found)?;
    }
    let pad = cfg.pad;
    let start = text.iter().position(|b| *b != pad).unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|b| *b != pad)
        .map_or(start, |e| e + 1);
    Ok(Decoded {
        address,
        text: text[start..end].to_vec(),
        consumed: pos,
    })
}

/// Checks a frame template for contradictions. Spans are `None` when the frame table as a whole
/// is at fault.
pub fn validate_frame(cfg: &FrameConfig) -> Vec<(Option<Range<usize>>, String)> {
    let mut errs = Vec::new();
    if cfg.checksum_at() == ChecksumAt::BeforeSuffix && cfg.checksum_to() == ChecksumTo::EndOfSuffix
    {
        errs.push((
            cfg.checksum_to.as_ref().map(|v| v.span()),
            "a checksum placed before the suffix cannot cover the suffix; use checksum_to = \"before_suffix\" or checksum_at = \"end\"".to_string(),
        ));
    }
    if cfg.length == LengthField::None && cfg.width.is_none() && cfg.suffix.is_empty() {
        errs.push((None, "nothing tells the board where the text ends; set `width`, a `length` field or a `suffix`".to_string()));
    }
    if let Some(w) = &cfg.width {
        let max = match cfg.length {
            LengthField::U8 => 255,
            LengthField::ModbusRegisters => 246,
            _ => 4096,
        };
        if *w.get_ref() == 0 || *w.get_ref() > max {
            errs.push((
                Some(w.span()),
                format!(
                    "width {} is out of range; use 1..={max} for this length field",
                    w.get_ref()
                ),
            ));
        }
    }
    errs
}

/// Checks a text template: only `{ticket}` and `{counter}` placeholders.
pub fn check_text_template(t: &str) -> Result<(), String> {
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| "unclosed `{`; placeholders are {ticket} and {counter}".to_string())?;
        let name = &after[..close];
        if name != "ticket" && name != "counter" {
            return Err(format!(
                "unknown placeholder {{{name}}}; use {{ticket}} and {{counter}}"
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// The text for a call: the template with `{ticket}` and `{counter}` filled in.
pub fn render_text(template: &str, call: &Call) -> String {
    template
        .replace("{ticket}", &call.ticket)
        .replace("{counter}", &call.counter.to_string())
}

/// The frame a board configuration sends for a call, or `None` if the board does not show
/// that counter. Pure.
pub fn frame_for_call(cfg: &LedBoardConfig, call: &Call) -> Option<Result<Vec<u8>, FrameError>> {
    if !cfg.shows(call.counter) {
        return None;
    }
    let text = render_text(cfg.text_template(), call);
    Some(build_frame(
        cfg.frame.get_ref(),
        cfg.address_for(call.counter),
        &text,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_modbus_known_vector() {
        // Read holding register 0 of slave 1: the CRC on the wire is 84 0A.
        assert_eq!(
            crc16_modbus(&[0x01, 0x03, 0x00, 0x00, 0x00, 0x01]).to_le_bytes(),
            [0x84, 0x0A]
        );
        assert_eq!(crc16_modbus(b"123456789"), 0x4B37);
    }

    #[test]
    fn template_placeholders() {
        assert!(check_text_template("{ticket} -> {counter}").is_ok());
        assert!(check_text_template("{tiket}").is_err());
        assert!(check_text_template("{ticket").is_err());
        let call = Call {
            counter: 3,
            ticket: "A012".into(),
        };
        assert_eq!(
            render_text("Số {ticket} - Quầy {counter}", &call),
            "Số A012 - Quầy 3"
        );
    }
}

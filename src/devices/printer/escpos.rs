//! ESC/POS command bytes: small pure builders appended to a byte buffer.
//!
//! Only the commands the ticket needs, all in the common Epson subset that Xprinter, Rongta
//! and other clones implement.

use super::raster::Bitmap;

pub const ESC: u8 = 0x1B;
pub const GS: u8 = 0x1D;
pub const FS: u8 = 0x1C;
pub const DLE: u8 = 0x10;
pub const EOT: u8 = 0x04;
pub const LF: u8 = 0x0A;

/// Largest raster band sent in one `GS v 0` command (rows). Small bands keep clones with
/// small receive buffers happy and cost 8 bytes of header each.
pub const MAX_BAND_ROWS: usize = 256;

/// `ESC @`: initialize the printer (clears modes and the print buffer).
pub fn init(out: &mut Vec<u8>) {
    out.extend_from_slice(&[ESC, b'@']);
}

/// `FS .`: cancel Kanji/Chinese character mode (some clones start in it).
pub fn cancel_kanji(out: &mut Vec<u8>) {
    out.extend_from_slice(&[FS, b'.']);
}

/// Justification for `ESC a n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left = 0,
    Center = 1,
    Right = 2,
}

/// `ESC a n`: justification of the following lines.
pub fn align(out: &mut Vec<u8>, a: Align) {
    out.extend_from_slice(&[ESC, b'a', a as u8]);
}

/// `ESC E n`: emphasized (bold) on/off.
pub fn bold(out: &mut Vec<u8>, on: bool) {
    out.extend_from_slice(&[ESC, b'E', u8::from(on)]);
}

/// `GS ! n`: character size; `width` and `height` are multipliers 1..=8 (clamped).
pub fn char_size(out: &mut Vec<u8>, width: u8, height: u8) {
    let w = width.clamp(1, 8) - 1;
    let h = height.clamp(1, 8) - 1;
    out.extend_from_slice(&[GS, b'!', (w << 4) | h]);
}

/// `ESC d n`: print and feed `n` lines.
pub fn feed_lines(out: &mut Vec<u8>, n: u8) {
    out.extend_from_slice(&[ESC, b'd', n]);
}

/// `ESC J n`: print and feed `n` dots.
pub fn feed_dots(out: &mut Vec<u8>, n: u8) {
    if n > 0 {
        out.extend_from_slice(&[ESC, b'J', n]);
    }
}

/// ASCII text followed by LF. Non-printable and non-ASCII bytes become `?` so that the
/// printer's code page never matters.
pub fn text_line(out: &mut Vec<u8>, text: &str) {
    out.extend(text.chars().map(|c| {
        if (' '..='~').contains(&c) {
            c as u8
        } else {
            b'?'
        }
    }));
    out.push(LF);
}

/// `GS V 66 n`: feed to the cutter position plus `n` dots and partial cut.
pub fn cut(out: &mut Vec<u8>) {
    out.extend_from_slice(&[GS, b'V', 66, 0]);
}

/// A 16-bit parameter as ESC/POS sends it: low byte, then high byte.
fn low_high(n: usize) -> [u8; 2] {
    [(n & 0xFF) as u8, (n >> 8) as u8]
}

/// `GS v 0 0 xL xH yL yH d…`: print a 1-bit raster image, split in bands of at most
/// [`MAX_BAND_ROWS`] rows. An empty image writes nothing.
pub fn raster(out: &mut Vec<u8>, img: &Bitmap) {
    let bpr = img.bytes_per_row();
    if bpr == 0 || img.height() == 0 {
        return;
    }
    let mut row = 0;
    while row < img.height() {
        let rows = (img.height() - row).min(MAX_BAND_ROWS);
        out.extend_from_slice(&[GS, b'v', b'0', 0]);
        out.extend_from_slice(&low_high(bpr));
        out.extend_from_slice(&low_high(rows));
        out.extend_from_slice(&img.data()[row * bpr..(row + rows) * bpr]);
        row += rows;
    }
}

/// QR error-correction level for `GS ( k` function 169.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QrEcc {
    L = 48,
    M = 49,
    Q = 50,
    H = 51,
}

fn gs_k(out: &mut Vec<u8>, cn: u8, fn_: u8, params: &[u8]) {
    let len = params.len() + 2;
    out.extend_from_slice(&[GS, b'(', b'k']);
    out.extend_from_slice(&low_high(len));
    out.extend_from_slice(&[cn, fn_]);
    out.extend_from_slice(params);
}

/// Native QR code: `GS ( k` functions 165 (model 2), 167 (module size), 169 (error
/// correction), 180 (store) and 181 (print). `data` must be at most 7089 bytes.
pub fn qr_native(out: &mut Vec<u8>, data: &[u8], module: u8, ecc: QrEcc) {
    gs_k(out, 49, 65, &[50, 0]);
    gs_k(out, 49, 67, &[module.clamp(1, 16)]);
    gs_k(out, 49, 69, &[ecc as u8]);
    let mut store = Vec::with_capacity(data.len() + 1);
    store.push(48);
    store.extend_from_slice(data);
    gs_k(out, 49, 80, &store);
    gs_k(out, 49, 81, &[48]);
}

/// `DLE EOT n`: real-time status transmission request.
pub fn status_query(n: u8) -> [u8; 3] {
    [DLE, EOT, n]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_native_bytes() {
        let mut out = Vec::new();
        qr_native(&mut out, b"AB", 6, QrEcc::M);
        assert_eq!(
            out,
            [
                0x1D, 0x28, 0x6B, 4, 0, 49, 65, 50, 0, // model 2
                0x1D, 0x28, 0x6B, 3, 0, 49, 67, 6, // size
                0x1D, 0x28, 0x6B, 3, 0, 49, 69, 49, // ecc M
                0x1D, 0x28, 0x6B, 5, 0, 49, 80, 48, b'A', b'B', // store
                0x1D, 0x28, 0x6B, 3, 0, 49, 81, 48, // print
            ]
        );
    }

    #[test]
    fn size_and_text() {
        let mut out = Vec::new();
        char_size(&mut out, 6, 6);
        text_line(&mut out, "Aé~");
        assert_eq!(out, [0x1D, b'!', 0x55, b'A', b'?', b'~', LF]);
    }

    #[test]
    fn raster_bands() {
        let img = Bitmap::new(16, 300);
        let mut out = Vec::new();
        raster(&mut out, &img);
        assert_eq!(out.len(), 8 + 2 * 256 + 8 + 2 * 44);
        assert_eq!(&out[..8], &[GS, b'v', b'0', 0, 2, 0, 0, 1]);
    }
}

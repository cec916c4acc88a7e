//! QR codes: the native `GS ( k` command or a raster fallback drawn with qrcodegen.

use super::escpos::{self, QrEcc};
use super::raster::Bitmap;
use qrcodegen::{QrCode, QrCodeEcc};

/// Largest QR payload accepted (bytes); longer content is not printed as a QR code.
pub(crate) const MAX_QR_BYTES: usize = 512;

/// Append the printer's native QR command for `data`.
pub(crate) fn native(out: &mut Vec<u8>, data: &str, module: u8) {
    escpos::qr_native(out, data.as_bytes(), module, QrEcc::M);
}

/// The QR code for `data` at error correction M, `module` dots per module, no quiet zone
/// (the paper margin and feeds give it). `None` if the data does not fit in a QR code.
pub(crate) fn raster(data: &str, module: u8) -> Option<Bitmap> {
    let code = QrCode::encode_binary(data.as_bytes(), QrCodeEcc::Medium).ok()?;
    Some(draw(&code, module))
}

/// Draw an encoded QR code with `module` dots per module.
pub fn draw(code: &QrCode, module: u8) -> Bitmap {
    let m = usize::from(module.max(1));
    let size = code.size().max(0) as usize;
    let mut img = Bitmap::new(size * m, size * m);
    for y in 0..size {
        for x in 0..size {
            if code.get_module(x as i32, y as i32) {
                img.fill(x * m, y * m, m, m);
            }
        }
    }
    img
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raster_has_finder_patterns() {
        let img = raster("https://example/t/x/20261124/A012", 4).expect("fits");
        assert_eq!(img.width() % 4, 0);
        // top-left finder pattern corner is black
        assert!(img.get(0, 0) && img.get(3, 3));
    }
}

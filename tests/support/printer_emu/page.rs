//! The emulator's paper: applies parsed commands to a growing 1-bit page and hands back the
//! finished ticket image at each cut. Writes PNG files.

use super::parser::Cmd;
use layso::devices::printer::qr;
use layso::devices::printer::raster::{Bitmap, TextRenderer};
use std::path::Path;

/// Dots fed by one line feed of the printer font (1/6 inch at 203 dpi is about 34; many
/// printers use 30).
const LINE_DOTS: usize = 30;

/// One raster image as received, with where it landed on the page.
#[derive(Clone, Debug)]
pub struct PlacedRaster {
    pub image: Bitmap,
    pub x: usize,
    pub y: usize,
}

pub struct Page {
    width: usize,
    img: Bitmap,
    text: Vec<u8>,
    align: u8,
    size: (u8, u8),
    qr_data: Vec<u8>,
    qr_module: u8,
    qr_ecc: u8,
    rasters: Vec<PlacedRaster>,
    font: TextRenderer,
}

/// A finished ticket: the page image and the raster images it was made of.
pub struct Printed {
    pub image: Bitmap,
    pub rasters: Vec<PlacedRaster>,
}

impl Page {
    pub fn new(width: usize) -> Self {
        Page {
            width,
            img: Bitmap::new(width, 0),
            text: Vec::new(),
            align: 0,
            size: (1, 1),
            qr_data: Vec::new(),
            qr_module: 3,
            qr_ecc: 49,
            rasters: Vec::new(),
            font: TextRenderer::new().expect("embedded font loads"),
        }
    }

    fn x_for(&self, w: usize) -> usize {
        match self.align {
            1 => self.width.saturating_sub(w) / 2,
            2 => self.width.saturating_sub(w),
            _ => 0,
        }
    }

    fn place(&mut self, image: &Bitmap, keep: bool) {
        let x = self.x_for(image.width());
        let y = self.img.height();
        let mut band = Bitmap::new(self.width, image.height());
        band.blit(image, x, 0);
        self.img.stack(&band);
        if keep {
            self.rasters.push(PlacedRaster {
                image: image.clone(),
                x,
                y,
            });
        }
    }

    fn flush_text(&mut self) {
        let (w, h) = self.size;
        let line_h = LINE_DOTS * usize::from(h);
        if self.text.is_empty() {
            self.img.extend_white(line_h);
            return;
        }
        let s = String::from_utf8_lossy(&self.text).into_owned();
        self.text.clear();
        // Approximate the printer font: 12×24 cells scaled by GS !.
        let px = 22 * u32::from(h);
        let mut glyphs = self.font.render_line(&s, px);
        if w != h {
            // Stretch horizontally to the requested width multiplier.
            let factor = f64::from(w) / f64::from(h);
            let mut stretched = Bitmap::new(
                (glyphs.width() as f64 * factor) as usize + 1,
                glyphs.height(),
            );
            for y in 0..glyphs.height() {
                for x in 0..stretched.width() {
                    if glyphs.get((x as f64 / factor) as usize, y) {
                        stretched.set(x, y);
                    }
                }
            }
            glyphs = stretched;
        }
        let mut line = Bitmap::new(self.width, line_h.max(glyphs.height()));
        if let Some((x0, y0, x1, y1)) = glyphs.ink_bbox() {
            let ink = glyphs.crop(x0, 0, x1 - x0, y1.max(y0));
            let x = self.x_for(ink.width());
            line.blit(&ink, x, 0);
        }
        self.img.stack(&line);
    }

    /// Apply one command; returns the finished ticket at a cut.
    pub fn apply(&mut self, cmd: &Cmd) -> Option<Printed> {
        match cmd {
            Cmd::Init => {
                self.align = 0;
                self.size = (1, 1);
            }
            Cmd::Align(a) => self.align = *a,
            Cmd::Size { w, h } => self.size = (*w, *h),
            Cmd::Text(t) => self.text.extend_from_slice(t),
            Cmd::LineFeed => self.flush_text(),
            Cmd::FeedLines(n) => {
                if !self.text.is_empty() {
                    self.flush_text();
                }
                self.img.extend_white(LINE_DOTS * usize::from(*n));
            }
            Cmd::FeedDots(n) => {
                if !self.text.is_empty() {
                    self.flush_text();
                }
                self.img.extend_white(usize::from(*n));
            }
            Cmd::Raster { bpr, rows, data } => {
                if let Some(img) = Bitmap::from_raw(*bpr, *rows, data.clone()) {
                    self.place(&img, true);
                }
            }
            Cmd::QrModule(m) => self.qr_module = *m,
            Cmd::QrEcc(e) => self.qr_ecc = *e,
            Cmd::QrStore(d) => self.qr_data = d.clone(),
            Cmd::QrPrint => {
                let ecc = match self.qr_ecc {
                    48 => qrcodegen::QrCodeEcc::Low,
                    50 => qrcodegen::QrCodeEcc::Quartile,
                    51 => qrcodegen::QrCodeEcc::High,
                    _ => qrcodegen::QrCodeEcc::Medium,
                };
                if let Ok(code) = qrcodegen::QrCode::encode_binary(&self.qr_data, ecc) {
                    let img = qr::draw(&code, self.qr_module);
                    self.place(&img, false);
                }
            }
            Cmd::Cut => {
                if !self.text.is_empty() {
                    self.flush_text();
                }
                let image = std::mem::replace(&mut self.img, Bitmap::new(self.width, 0));
                let rasters = std::mem::take(&mut self.rasters);
                return Some(Printed { image, rasters });
            }
            _ => {}
        }
        None
    }
}

/// Write `img` as an 8-bit greyscale PNG (black ink on white).
pub fn write_png(img: &Bitmap, path: &Path) -> Result<(), String> {
    let (w, h) = (img.width().max(1), img.height().max(1));
    let mut pixels = vec![255u8; w * h];
    for y in 0..img.height() {
        for x in 0..img.width() {
            if img.get(x, y) {
                pixels[y * w + x] = 0;
            }
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    }
    let file =
        std::fs::File::create(path).map_err(|e| format!("create {}: {e}", path.display()))?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w as u32, h as u32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc
        .write_header()
        .map_err(|e| format!("png header {}: {e}", path.display()))?;
    writer
        .write_image_data(&pixels)
        .map_err(|e| format!("png data {}: {e}", path.display()))
}

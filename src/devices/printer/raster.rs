//! 1-bit bitmaps and text rendering with the embedded font (DejaVu Sans Bold), with a glyph
//! cache so that a ticket encodes in well under a millisecond once warm.

use std::collections::HashMap;
use unicode_normalization::UnicodeNormalization;

/// The embedded font: DejaVu Sans Bold (Bitstream Vera licence, `assets/fonts/`). It has
/// every precomposed Vietnamese letter.
pub(crate) static FONT_BYTES: &[u8] =
    include_bytes!("../../../assets/fonts/DejaVuSans-Bold-vi.ttf");

/// Coverage at or above this (0–255) becomes a black dot.
const INK_THRESHOLD: u8 = 100;

/// A 1-bit image, rows of bytes, most significant bit = leftmost dot, 1 = black (the
/// layout of `GS v 0`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bitmap {
    width: usize,
    height: usize,
    bpr: usize,
    data: Vec<u8>,
}

impl Bitmap {
    /// A white image `width` × `height` dots.
    pub fn new(width: usize, height: usize) -> Self {
        let bpr = width.div_ceil(8);
        Bitmap {
            width,
            height,
            bpr,
            data: vec![0; bpr * height],
        }
    }

    /// Build from raw `GS v 0` data (`bytes_per_row` × `height` bytes).
    pub fn from_raw(bytes_per_row: usize, height: usize, data: Vec<u8>) -> Option<Self> {
        (data.len() == bytes_per_row * height).then_some(Bitmap {
            width: bytes_per_row * 8,
            height,
            bpr: bytes_per_row,
            data,
        })
    }

    pub fn width(&self) -> usize {
        self.width
    }
    pub fn height(&self) -> usize {
        self.height
    }
    pub(crate) fn bytes_per_row(&self) -> usize {
        self.bpr
    }
    pub(crate) fn data(&self) -> &[u8] {
        &self.data
    }

    /// Is the dot at (x, y) black? Outside the image is white.
    pub fn get(&self, x: usize, y: usize) -> bool {
        x < self.width
            && y < self.height
            && self.data[y * self.bpr + x / 8] & (0x80 >> (x % 8)) != 0
    }

    /// Blacken the dot at (x, y); outside the image is ignored.
    pub fn set(&mut self, x: usize, y: usize) {
        if x < self.width && y < self.height {
            self.data[y * self.bpr + x / 8] |= 0x80 >> (x % 8);
        }
    }

    /// Fill a rectangle with black (clipped).
    pub(crate) fn fill(&mut self, x: usize, y: usize, w: usize, h: usize) {
        for yy in y..(y + h).min(self.height) {
            for xx in x..(x + w).min(self.width) {
                self.set(xx, yy);
            }
        }
    }

    /// OR `other` into this image with its top-left corner at (x, y) (clipped).
    pub fn blit(&mut self, other: &Bitmap, x: usize, y: usize) {
        for yy in 0..other.height {
            if y + yy >= self.height {
                break;
            }
            for xx in 0..other.width {
                if other.get(xx, yy) {
                    self.set(x + xx, y + yy);
                }
            }
        }
    }

    /// Number of black dots.
    pub fn ink(&self) -> usize {
        self.data.iter().map(|b| b.count_ones() as usize).sum()
    }

    /// Number of black dots in the rectangle (clipped).
    pub fn ink_in(&self, x: usize, y: usize, w: usize, h: usize) -> usize {
        let mut n = 0;
        for yy in y..(y + h).min(self.height) {
            for xx in x..(x + w).min(self.width) {
                n += usize::from(self.get(xx, yy));
            }
        }
        n
    }

    /// Bounding box of the ink as (x0, y0, x1, y1), exclusive ends; `None` when blank.
    pub fn ink_bbox(&self) -> Option<(usize, usize, usize, usize)> {
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        for y in 0..self.height {
            let row = &self.data[y * self.bpr..(y + 1) * self.bpr];
            for (i, &b) in row.iter().enumerate() {
                if b == 0 {
                    continue;
                }
                let first = i * 8 + b.leading_zeros() as usize;
                let last = i * 8 + 7 - b.trailing_zeros() as usize;
                x0 = x0.min(first);
                x1 = x1.max(last + 1);
                y0 = y0.min(y);
                y1 = y1.max(y + 1);
            }
        }
        (x0 != usize::MAX).then_some((x0, y0, x1, y1))
    }

    /// Copy of the rectangle (clipped).
    pub fn crop(&self, x: usize, y: usize, w: usize, h: usize) -> Bitmap {
        let w = w.min(self.width.saturating_sub(x));
        let h = h.min(self.height.saturating_sub(y));
        let mut out = Bitmap::new(w, h);
        for yy in 0..h {
            for xx in 0..w {
                if self.get(x + xx, y + yy) {
                    out.set(xx, yy);
                }
            }
        }
        out
    }

    /// Append `other` below this image (widths may differ; the result is the wider).
    pub fn stack(&mut self, other: &Bitmap) {
        let mut out = Bitmap::new(self.width.max(other.width), self.height + other.height);
        out.blit(self, 0, 0);
        out.blit(other, 0, self.height);
        *self = out;
    }

    /// Add `rows` white rows at the bottom.
    pub fn extend_white(&mut self, rows: usize) {
        self.height += rows;
        self.data.resize(self.bpr * self.height, 0);
    }
}

struct Glyph {
    xmin: i32,
    ymin: i32,
    width: usize,
    height: usize,
    advance: f32,
    ink: Vec<bool>,
}

/// Renders text lines to bitmaps with the embedded font. Keeps a cache of rasterized glyphs
/// per (character, pixel size).
pub struct TextRenderer {
    font: fontdue::Font,
    cache: HashMap<(char, u32), Glyph>,
}

impl TextRenderer {
    /// Load the embedded font.
    pub fn new() -> Result<Self, String> {
        let font = fontdue::Font::from_bytes(FONT_BYTES, fontdue::FontSettings::default())
            .map_err(|e| format!("embedded font DejaVuSans-Bold.ttf did not load: {e}"))?;
        Ok(TextRenderer {
            font,
            cache: HashMap::new(),
        })
    }

    /// Does the font have a real glyph for `c`?
    pub fn has_glyph(&self, c: char) -> bool {
        self.font.lookup_glyph_index(c) != 0
    }

    fn glyph(&mut self, c: char, px: u32) -> &Glyph {
        let font = &self.font;
        self.cache.entry((c, px)).or_insert_with(|| {
            let (m, cov) = font.rasterize(c, px as f32);
            Glyph {
                xmin: m.xmin,
                ymin: m.ymin,
                width: m.width,
                height: m.height,
                advance: m.advance_width,
                ink: cov.iter().map(|&v| v >= INK_THRESHOLD).collect(),
            }
        })
    }

    /// Rasterize every character of `text` at `px` now, so later encodes hit the cache.
    pub(crate) fn warm(&mut self, text: &str, px: u32) {
        for c in text.nfc() {
            self.glyph(c, px);
        }
    }

    /// Width in dots of `text` (already NFC) at `px`.
    pub(crate) fn measure(&mut self, text: &str, px: u32) -> usize {
        let mut pen = 0.0f32;
        for c in text.chars() {
            pen += self.glyph(c, px).advance;
        }
        pen.ceil() as usize
    }

    /// Split `text` (NFC-normalized here) into lines at most `max_width` dots wide, breaking
    /// at spaces, and inside a word only when the word alone is too wide.
    pub(crate) fn wrap(&mut self, text: &str, px: u32, max_width: usize) -> Vec<String> {
        let text: String = text.nfc().collect();
        let mut lines = Vec::new();
        let mut cur = String::new();
        for word in text.split_whitespace() {
            let candidate = if cur.is_empty() {
                word.to_string()
            } else {
                format!("{cur} {word}")
            };
            if self.measure(&candidate, px) <= max_width {
                cur = candidate;
                continue;
            }
            if !cur.is_empty() {
                lines.push(std::mem::take(&mut cur));
            }
            if self.measure(word, px) <= max_width {
                cur = word.to_string();
                continue;
            }
            // A word wider than the paper: break it between characters.
            for c in word.chars() {
                let mut next = cur.clone();
                next.push(c);
                if !cur.is_empty() && self.measure(&next, px) > max_width {
                    lines.push(std::mem::take(&mut cur));
                    cur.push(c);
                } else {
                    cur = next;
                }
            }
        }
        if !cur.is_empty() {
            lines.push(cur);
        }
        lines
    }

    /// Like [`TextRenderer::wrap`] with the same number of lines, but as even in width as
    /// possible ("Trung tâm phục vụ hành chính công / phường Bến Thành", not a full line
    /// and an orphan).
    pub fn wrap_balanced(&mut self, text: &str, px: u32, max_width: usize) -> Vec<String> {
        let greedy = self.wrap(text, px, max_width);
        if greedy.len() < 2 {
            return greedy;
        }
        let n = greedy.len();
        let (mut lo, mut hi) = (max_width / n, max_width);
        // Bounded binary search: about log2(max_width) steps.
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.wrap(text, px, mid).len() <= n {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        self.wrap(text, px, hi)
    }

    /// Render one line (NFC-normalized here) at `px`; the image is as wide as the text and
    /// tall enough for stacked Vietnamese marks above capitals. Not cropped.
    pub fn render_line(&mut self, text: &str, px: u32) -> Bitmap {
        let text: String = text.nfc().collect();
        let width = self.measure(&text, px) + 2;
        let baseline = (px as f32 * 1.25).ceil() as i32;
        let height = (px as f32 * 1.6).ceil() as usize;
        let mut img = Bitmap::new(width, height);
        let mut pen = 0.0f32;
        for c in text.chars() {
            let g = self.glyph(c, px);
            let gx = (pen.round() as i32 + g.xmin).max(0) as usize;
            let top = baseline - g.ymin - g.height as i32;
            for yy in 0..g.height {
                let y = top + yy as i32;
                if y < 0 {
                    continue;
                }
                for xx in 0..g.width {
                    if g.ink[yy * g.width + xx] {
                        img.set(gx + xx, y as usize);
                    }
                }
            }
            pen += g.advance;
        }
        img
    }
}

/// Place `img` cropped to its ink, horizontally centred on a `paper_width` line. With
/// `pad` the left offset is part of the image (white dots); without, the image is just the
/// ink and the printer centres it (`ESC a 1`). Returns `None` for a blank line.
pub(crate) fn centred(img: &Bitmap, paper_width: usize, pad: bool) -> Option<Bitmap> {
    let (x0, y0, x1, y1) = img.ink_bbox()?;
    let ink = img.crop(x0, y0, x1 - x0, y1 - y0);
    if !pad {
        return Some(ink);
    }
    let w = ink.width().min(paper_width);
    let left = (paper_width - w) / 2;
    let mut out = Bitmap::new(left + w, ink.height());
    out.blit(&ink, left, 0);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmap_basics() {
        let mut b = Bitmap::new(10, 3);
        assert_eq!(b.bytes_per_row(), 2);
        b.set(9, 2);
        assert!(b.get(9, 2));
        assert_eq!(b.ink_bbox(), Some((9, 2, 10, 3)));
        b.fill(0, 0, 2, 1);
        assert_eq!(b.ink(), 3);
        assert_eq!(b.crop(8, 1, 5, 5).ink(), 1);
    }

    #[test]
    fn renders_vietnamese_with_marks_above_capitals() {
        let mut r = TextRenderer::new().expect("embedded font");
        let img = r.render_line("Ễ", 24);
        let (_, y0, _, _) = img.ink_bbox().expect("ink");
        assert!(y0 > 0, "stacked marks clipped at the top");
        // NFD input renders exactly as NFC
        assert_eq!(r.render_line("Ê\u{303}", 24), img);
    }

    #[test]
    fn wraps_long_lines() {
        let mut r = TextRenderer::new().expect("embedded font");
        let lines = r.wrap(
            "Trung tâm phục vụ hành chính công phường Bến Thành",
            24,
            384,
        );
        assert!(lines.len() >= 2);
        for l in &lines {
            assert!(r.measure(l, 24) <= 384);
        }
        assert_eq!(
            lines.join(" "),
            "Trung tâm phục vụ hành chính công phường Bến Thành"
        );
    }
}

//! The ticket encoder (pure): a [`PrintJob`] and the layout become ESC/POS bytes.
//!
//! Vietnamese lines are NFC-normalized and sent as 1-bit raster (`GS v 0`) cropped to their
//! ink; ASCII-only lines and the big number use the printer's own font (`GS !` scaling); the
//! QR code is the native `GS ( k` command or a raster fallback, per profile. The same plan
//! can be rendered fully as raster ([`TicketEncoder::encode_full_raster`]) for comparison.

use super::config::{PrinterConfig, QrMode, RasterAlign};
use super::escpos::{self, Align};
use super::job::{LocalTime, PrintJob};
use super::qr;
use super::raster::{centred, Bitmap, TextRenderer};
use unicode_normalization::UnicodeNormalization;

/// Width of a character of the printer's font A, in dots.
const FONT_A_WIDTH: usize = 12;
/// Height of a character of the printer's font A, in dots.
const FONT_A_HEIGHT: usize = 24;
/// Side margin kept free of raster text, in dots (each side).
const MARGIN: usize = 8;
/// Longest text taken from a job or the layout (characters); the rest is cut so a bad
/// input cannot turn into metres of paper.
const MAX_TEXT_CHARS: usize = 200;
/// Longest ticket number printed (characters).
const MAX_NUMBER_CHARS: usize = 12;

fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// One element of a ticket, before encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    /// A text paragraph at a pixel size; `title` makes an ASCII line bold and double height.
    Text { text: String, px: u32, title: bool },
    /// A horizontal rule.
    Rule,
    /// The big ticket number.
    Number(String),
    /// A QR code with this content.
    Qr(String),
    /// Blank paper, in dots.
    Gap(u8),
}

/// Encodes tickets for one printer configuration. Keeps the embedded font and a glyph
/// cache; create once and reuse.
pub struct TicketEncoder {
    cfg: PrinterConfig,
    text: TextRenderer,
}

impl TicketEncoder {
    /// An encoder for `cfg` (paper, profile, layout), glyph cache warmed with every
    /// Vietnamese letter, ASCII and the configured texts.
    pub fn new(cfg: &PrinterConfig) -> Result<Self, String> {
        let mut enc = TicketEncoder {
            cfg: cfg.clone(),
            text: TextRenderer::new()?,
        };
        let mut warm: String = vietnamese_letters().into_iter().collect();
        warm.extend((' '..='~').chain("–—…“”‘’".chars()));
        let l = &enc.cfg.layout;
        for s in l.header.iter().chain(&l.footer) {
            warm.push_str(s.get_ref());
        }
        warm.push_str(l.priority_text.get_ref());
        warm.push_str(l.waiting_text.get_ref());
        let (text_px, title_px) = (*l.text_px.get_ref(), *l.title_px.get_ref());
        enc.text.warm(&warm, text_px);
        enc.text.warm(&warm, title_px);
        Ok(enc)
    }

    /// The QR content for `job`: the job's own, else the layout template (if QR is on).
    pub(crate) fn qr_content(&self, job: &PrintJob) -> Option<String> {
        let l = &self.cfg.layout;
        if !l.qr {
            return None;
        }
        let content = match &job.qr {
            Some(q) => q.nfc().collect(),
            None => {
                let day =
                    LocalTime::from_unix_ms(job.issued_at_ms, job.utc_offset_minutes).ymd_compact();
                l.qr_template
                    .get_ref()
                    .replace("{site}", &percent_encode(&job.site_name))
                    .replace("{service}", &percent_encode(&job.service_name))
                    .replace("{day}", &day)
                    .replace("{ticket}", &job.ticket)
            }
        };
        (!content.is_empty() && content.len() <= qr::MAX_QR_BYTES).then_some(content)
    }

    fn plan(&self, job: &PrintJob) -> Vec<Item> {
        let l = &self.cfg.layout;
        let (text_px, title_px) = (*l.text_px.get_ref(), *l.title_px.get_ref());
        let mut items = Vec::new();
        let text = |t: &str, px: u32, title: bool| Item::Text {
            text: clip(t, MAX_TEXT_CHARS),
            px,
            title,
        };
        for h in &l.header {
            items.push(text(h.get_ref(), text_px, false));
        }
        if l.site_name && !job.site_name.trim().is_empty() {
            items.push(text(&job.site_name, text_px, false));
        }
        items.push(Item::Rule);
        items.push(text(&job.service_name, title_px, true));
        if job.priority && !l.priority_text.get_ref().trim().is_empty() {
            items.push(text(l.priority_text.get_ref(), title_px, true));
        }
        items.push(Item::Gap(8));
        items.push(Item::Number(clip(&job.ticket, MAX_NUMBER_CHARS)));
        items.push(Item::Gap(8));
        let t = LocalTime::from_unix_ms(job.issued_at_ms, job.utc_offset_minutes);
        let time_line = l
            .time_text
            .get_ref()
            .replace("{date}", &t.date_vn())
            .replace("{time}", &t.hm());
        if !time_line.trim().is_empty() {
            items.push(text(&time_line, text_px, false));
        }
        let waiting = l.waiting_text.get_ref();
        if !waiting.trim().is_empty() {
            items.push(text(
                &waiting.replace("{n}", &job.waiting_ahead.to_string()),
                text_px,
                false,
            ));
        }
        if let Some(q) = self.qr_content(job) {
            items.push(Item::Gap(12));
            items.push(Item::Qr(q));
        }
        if !l.footer.is_empty() {
            items.push(Item::Gap(8));
        }
        for f in &l.footer {
            items.push(text(f.get_ref(), text_px, false));
        }
        items
    }

    fn number_scale(&self, number: &str) -> u8 {
        let len = number.chars().count().max(1);
        let fit = self.cfg.paper_dots() / (FONT_A_WIDTH * len);
        (*self.cfg.profile.number_scale.get_ref())
            .min(fit.clamp(1, 8) as u8)
            .max(1)
    }

    fn begin(&self, out: &mut Vec<u8>) {
        escpos::init(out);
        if self.cfg.profile.cancel_kanji {
            escpos::cancel_kanji(out);
        }
        escpos::align(out, Align::Center);
    }

    fn finish(out: &mut Vec<u8>) {
        escpos::feed_lines(out, 3);
        escpos::cut(out);
    }

    /// The ticket as ESC/POS bytes: printer font where it can, raster where it must.
    pub fn encode(&mut self, job: &PrintJob) -> Vec<u8> {
        let items = self.plan(job);
        self.emit(&items)
    }

    fn emit(&mut self, items: &[Item]) -> Vec<u8> {
        let paper = self.cfg.paper_dots();
        let pad = self.cfg.profile.raster_align == RasterAlign::Pad;
        let chars_per_line = paper / FONT_A_WIDTH;
        let mut out = Vec::with_capacity(4096);
        self.begin(&mut out);
        // Printer-font text and the native QR code are centred by `ESC a 1`. Padded raster
        // lines carry their own left margin, so they must be printed left-justified (a
        // printer that applies `ESC a` to raster would otherwise shift them right).
        let raster_align = if pad { Align::Left } else { Align::Center };
        let mut cur = Align::Center;
        let mut set_align = |out: &mut Vec<u8>, want: Align| {
            if cur != want {
                escpos::align(out, want);
                cur = want;
            }
        };
        for item in items {
            match item {
                Item::Text { text, px, title } => {
                    let text: String = text.nfc().collect();
                    if is_plain_ascii(&text) {
                        set_align(&mut out, Align::Center);
                        if *title {
                            escpos::bold(&mut out, true);
                            escpos::char_size(&mut out, 1, 2);
                        }
                        for line in wrap_chars(&text, chars_per_line) {
                            escpos::text_line(&mut out, &line);
                        }
                        if *title {
                            escpos::char_size(&mut out, 1, 1);
                            escpos::bold(&mut out, false);
                        }
                    } else {
                        for line in self.text.wrap_balanced(&text, *px, paper - 2 * MARGIN) {
                            let img = self.text.render_line(&line, *px);
                            if let Some(img) = centred(&img, paper, pad) {
                                set_align(&mut out, raster_align);
                                escpos::raster(&mut out, &img);
                                escpos::feed_dots(&mut out, (*px / 3) as u8);
                            }
                        }
                    }
                }
                Item::Rule => {
                    set_align(&mut out, Align::Center);
                    escpos::text_line(&mut out, &"-".repeat(chars_per_line));
                }
                Item::Number(n) => {
                    if is_plain_ascii(n) {
                        set_align(&mut out, Align::Center);
                        let s = self.number_scale(n);
                        escpos::bold(&mut out, true);
                        escpos::char_size(&mut out, s, s);
                        escpos::text_line(&mut out, n);
                        escpos::char_size(&mut out, 1, 1);
                        escpos::bold(&mut out, false);
                    } else {
                        let px = (FONT_A_HEIGHT * usize::from(self.number_scale(n))) as u32;
                        if let Some(img) = centred(&self.text.render_line(n, px), paper, pad) {
                            set_align(&mut out, raster_align);
                            escpos::raster(&mut out, &img);
                        }
                    }
                }
                Item::Qr(data) => {
                    let module = *self.cfg.profile.qr_module.get_ref();
                    match self.cfg.profile.qr {
                        QrMode::Native => {
                            set_align(&mut out, Align::Center);
                            qr::native(&mut out, data, module);
                            out.push(escpos::LF);
                        }
                        QrMode::Raster => {
                            if let Some(img) =
                                qr::raster(data, module).and_then(|q| centred(&q, paper, pad))
                            {
                                set_align(&mut out, raster_align);
                                escpos::raster(&mut out, &img);
                                escpos::feed_dots(&mut out, 8);
                            }
                        }
                    }
                }
                Item::Gap(d) => escpos::feed_dots(&mut out, *d),
            }
        }
        Self::finish(&mut out);
        out
    }

    /// The same ticket rendered entirely as one raster image (every line, the number and
    /// the QR code drawn here): what a printer without any usable font would need. Used as
    /// the baseline in the benchmark.
    pub fn encode_full_raster(&mut self, job: &PrintJob) -> Vec<u8> {
        let items = self.plan(job);
        let img = self.render_page(&items);
        let mut out = Vec::with_capacity(img.data().len() + 64);
        self.begin(&mut out);
        escpos::raster(&mut out, &img);
        Self::finish(&mut out);
        out
    }

    fn render_page(&mut self, items: &[Item]) -> Bitmap {
        let paper = self.cfg.paper_dots();
        let mut page = Bitmap::new(paper, 0);
        let push = |page: &mut Bitmap, img: Option<Bitmap>| {
            if let Some(img) = img {
                let mut line = Bitmap::new(paper, img.height());
                line.blit(&img, 0, 0);
                page.stack(&line);
            }
        };
        for item in items {
            match item {
                Item::Text { text, px, .. } => {
                    for line in self.text.wrap_balanced(text, *px, paper - 2 * MARGIN) {
                        let img = self.text.render_line(&line, *px);
                        push(&mut page, centred(&img, paper, true));
                        page.extend_white((*px / 3) as usize);
                    }
                }
                Item::Rule => {
                    let mut rule = Bitmap::new(paper, FONT_A_HEIGHT);
                    rule.fill(MARGIN, FONT_A_HEIGHT / 2, paper - 2 * MARGIN, 2);
                    page.stack(&rule);
                }
                Item::Number(n) => {
                    let px = (FONT_A_HEIGHT * usize::from(self.number_scale(n))) as u32;
                    let img = self.text.render_line(n, px);
                    push(&mut page, centred(&img, paper, true));
                }
                Item::Qr(data) => {
                    let img = qr::raster(data, *self.cfg.profile.qr_module.get_ref());
                    push(&mut page, img.and_then(|q| centred(&q, paper, true)));
                    page.extend_white(8);
                }
                Item::Gap(d) => page.extend_white(usize::from(*d)),
            }
        }
        page
    }
}

/// ASCII printable only (safe in the printer's own font whatever its code page).
fn is_plain_ascii(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7F).contains(&b))
}

/// Greedy word wrap at `width` characters (ASCII text).
fn wrap_chars(s: &str, width: usize) -> Vec<String> {
    if s.len() <= width {
        return vec![s.to_string()];
    }
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in s.split_whitespace() {
        for chunk in word.as_bytes().chunks(width.max(1)) {
            let chunk = String::from_utf8_lossy(chunk);
            if !cur.is_empty() && cur.len() + 1 + chunk.len() > width {
                lines.push(std::mem::take(&mut cur));
            }
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(&chunk);
        }
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.nfc().collect::<String>().bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

const TONES: [char; 5] = ['\u{300}', '\u{309}', '\u{303}', '\u{301}', '\u{323}'];
const BASE_LETTERS: &str = "aăâbcdđeêghiklmnoôơpqrstuưvxy";
const VOWELS: &str = "aăâeêioôơuưy";

/// All 178 Vietnamese letters as precomposed characters: the 29 base letters and the 60
/// toned vowels (12 vowels × 5 tones), lower case then upper case.
pub fn vietnamese_letters() -> Vec<char> {
    let mut lower: Vec<char> = BASE_LETTERS.chars().collect();
    for v in VOWELS.chars() {
        for t in TONES {
            let composed: String = [v, t].iter().collect::<String>().nfc().collect();
            lower.extend(composed.chars());
        }
    }
    let upper: Vec<char> = lower.iter().flat_map(|c| c.to_uppercase()).collect();
    lower.into_iter().chain(upper).collect()
}

/// The print-test ticket for `cfg`: title, all 178 Vietnamese letters, the digits and a QR
/// code, then a cut.
pub fn test_ticket(cfg: &PrinterConfig) -> Result<Vec<u8>, String> {
    let mut enc = TicketEncoder::new(cfg)?;
    let letters = vietnamese_letters();
    let px = *cfg.layout.text_px.get_ref();
    let spaced = |cs: &[char]| {
        cs.iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (lower, upper) = letters.split_at(letters.len() / 2);
    let mut items = vec![
        Item::Text {
            text: "layso — In thử máy in".into(),
            px: *cfg.layout.title_px.get_ref(),
            title: true,
        },
        Item::Rule,
        Item::Text {
            text: spaced(lower),
            px,
            title: false,
        },
        Item::Gap(8),
        Item::Text {
            text: spaced(upper),
            px,
            title: false,
        },
        Item::Gap(8),
        Item::Text {
            text: "0123456789".into(),
            px,
            title: true,
        },
        Item::Text {
            text: "Tiếng Việt: Trung tâm phục vụ hành chính công".into(),
            px,
            title: false,
        },
        Item::Text {
            text: format!(
                "paper {} mm, {} dots",
                cfg.paper_mm.get_ref(),
                cfg.paper_dots()
            ),
            px,
            title: false,
        },
    ];
    items.push(Item::Gap(12));
    items.push(Item::Qr("LAYSO PRINT TEST 0123456789".into()));
    Ok(enc.emit(&items))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::printer::config::TransportKind;

    #[test]
    fn letters_are_178_distinct_precomposed() {
        let l = vietnamese_letters();
        assert_eq!(l.len(), 178);
        let set: std::collections::HashSet<char> = l.iter().copied().collect();
        assert_eq!(set.len(), 178);
        assert!(l.contains(&'ệ') && l.contains(&'Ữ') && l.contains(&'Đ') && l.contains(&'ỵ'));
    }

    #[test]
    fn oversized_input_is_bounded() {
        let cfg = PrinterConfig::with_path(TransportKind::File, "x");
        let mut enc = TicketEncoder::new(&cfg).expect("font");
        let job = PrintJob {
            site_name: "Phường ".repeat(10_000),
            service_name: "Đăng ký ".repeat(10_000),
            ticket: "A".repeat(1000),
            priority: true,
            issued_at_ms: 0,
            utc_offset_minutes: 420,
            waiting_ahead: u32::MAX,
            qr: Some("x".repeat(100_000)),
            deadline_ms: 0,
        };
        let bytes = enc.encode(&job);
        assert!(bytes.len() < 60_000, "{} bytes", bytes.len());
    }

    #[test]
    fn ascii_wrap() {
        assert_eq!(wrap_chars("ab cd ef", 5), vec!["ab cd", "ef"]);
        assert_eq!(wrap_chars("abcdefgh", 3), vec!["abc", "def", "gh"]);
        assert_eq!(wrap_chars("", 3), vec![""]);
    }

    #[test]
    fn qr_template_fills_placeholders() {
        let mut cfg = PrinterConfig::with_path(TransportKind::File, "x");
        cfg.layout.qr_template =
            toml::Spanned::new(0..0, "https://e/t/{site}/{day}/{ticket}".into());
        let enc = TicketEncoder::new(&cfg).expect("font");
        let job = PrintJob {
            site_name: "Bến Thành".into(),
            service_name: "x".into(),
            ticket: "A012".into(),
            priority: false,
            issued_at_ms: 1_795_482_930_000,
            utc_offset_minutes: 420,
            waiting_ahead: 0,
            qr: None,
            deadline_ms: 0,
        };
        assert_eq!(
            enc.qr_content(&job).as_deref(),
            Some("https://e/t/B%E1%BA%BFn%20Th%C3%A0nh/20261124/A012")
        );
    }
}

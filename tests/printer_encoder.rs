//! Encoder tests: golden bytes for 58 and 80 mm, the raster decoded back to an image, size
//! targets, NFC handling and the print-test ticket.

#[path = "support/print_job.rs"]
mod print_job;
#[path = "support/printer_emu/mod.rs"]
mod printer_emu;

use layso::devices::printer::raster::TextRenderer;
use layso::devices::printer::{
    test_ticket, vietnamese_letters, PrintJob, PrinterConfig, QrMode, RasterAlign, TicketEncoder,
    TransportKind,
};
use printer_emu::page::{write_png, Page};
use printer_emu::parser::{Cmd, Parser};
use std::path::PathBuf;
use toml::Spanned;

fn job() -> PrintJob {
    print_job::standard_job()
}

fn cfg(paper: u32) -> PrinterConfig {
    let mut c = PrinterConfig::with_path(TransportKind::File, "unused.bin");
    c.paper_mm = Spanned::new(0..0, paper);
    c
}

fn encoder(c: &PrinterConfig) -> TicketEncoder {
    TicketEncoder::new(c).expect("embedded font loads")
}

fn parse(bytes: &[u8]) -> Vec<Cmd> {
    let mut p = Parser::default();
    let cmds: Vec<Cmd> = p.push(bytes).into_iter().map(|(c, _)| c).collect();
    assert_eq!(p.pending(), 0, "stream ends in the middle of a command");
    cmds
}

/// Print `bytes` on an emulated page, write the PNG, return the page.
fn print_page(bytes: &[u8], paper: usize, name: &str) -> printer_emu::page::Printed {
    let mut page = Page::new(paper);
    let mut out = None;
    for c in parse(bytes) {
        if let Some(p) = page.apply(&c) {
            out = Some(p);
        }
    }
    let printed = out.expect("the ticket ends with a cut");
    let png = printer_emu::output_dir().join(format!("{name}.png"));
    write_png(&printed.image, &png).expect("png written");
    printed
}

fn golden(name: &str, bytes: &[u8]) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("LAYSO_BLESS").is_some() {
        std::fs::write(&path, bytes).expect("write golden file");
        return;
    }
    let want = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "golden file {} unreadable ({e}); run with LAYSO_BLESS=1 to create it",
            path.display()
        )
    });
    if want != bytes {
        let at = want
            .iter()
            .zip(bytes)
            .position(|(a, b)| a != b)
            .unwrap_or(want.len().min(bytes.len()));
        panic!(
            "{name}: encoder output differs from the golden file at byte {at} (golden {} bytes, now {}); \
             if the change is intended, re-run with LAYSO_BLESS=1 and look at target/test-output/printer/",
            want.len(),
            bytes.len()
        );
    }
}

#[test]
fn golden_80mm() {
    let c = cfg(80);
    let bytes = encoder(&c).encode(&job());
    print_page(&bytes, 576, "golden-80mm");
    golden("ticket_80mm.bin", &bytes);
}

#[test]
fn golden_58mm_priority_raster_qr_justify() {
    let mut c = cfg(58);
    c.profile.qr = QrMode::Raster;
    c.profile.cancel_kanji = true;
    c.profile.raster_align = RasterAlign::Justify;
    c.layout.header = vec![Spanned::new(0..0, "UBND PHƯỜNG BẾN THÀNH".into())];
    c.layout.footer = vec![Spanned::new(0..0, "Xin cảm ơn quý khách!".into())];
    let mut j = job();
    j.priority = true;
    j.ticket = "B105".into();
    let bytes = encoder(&c).encode(&j);
    assert_eq!(&bytes[..4], &[0x1B, b'@', 0x1C, b'.'], "init then FS .");
    print_page(&bytes, 384, "golden-58mm");
    golden("ticket_58mm.bin", &bytes);
}

#[test]
fn structure_of_the_80mm_ticket() {
    let c = cfg(80);
    let bytes = encoder(&c).encode(&job());
    let cmds = parse(&bytes);
    assert_eq!(cmds.first(), Some(&Cmd::Init));
    assert_eq!(cmds.last(), Some(&Cmd::Cut));
    // The big number in the printer's font, scaled with GS !
    let i = cmds
        .iter()
        .position(|c| *c == Cmd::Text(b"A012".to_vec()))
        .expect("number as printer text");
    assert!(cmds[..i]
        .iter()
        .rev()
        .any(|c| matches!(c, Cmd::Size { w: 6, h: 6 })));
    // The time line is ASCII: printer font, no raster
    assert!(cmds.contains(&Cmd::Text(b"24/11/2026  08:15".to_vec())));
    // Native QR with the template content
    assert!(cmds.contains(&Cmd::QrStore(b"LAYSO:20261124:A012".to_vec())));
    assert!(cmds.contains(&Cmd::QrPrint));
    // Vietnamese lines are raster: site name (2 lines), service, waiting line
    let rasters = cmds
        .iter()
        .filter(|c| matches!(c, Cmd::Raster { .. }))
        .count();
    assert_eq!(rasters, 4);
    // No byte >= 0x80 is sent as text (code pages never matter)
    for c in &cmds {
        if let Cmd::Text(t) = c {
            assert!(t.iter().all(|&b| (0x20..0x7F).contains(&b)), "{t:?}");
        }
    }
}

#[test]
fn raster_decodes_to_the_expected_text_not_blank() {
    let c = cfg(80);
    let mut enc = encoder(&c);
    let bytes = enc.encode(&job());
    let printed = print_page(&bytes, 576, "decoded-80mm");
    let mut r = TextRenderer::new().expect("font");
    let lines = r.wrap_balanced(&job().site_name, 22, 576 - 16);
    let expected = [
        (lines[0].clone(), 22),
        (lines[1].clone(), 22),
        ("Đăng ký kinh doanh".to_string(), 28),
        ("Số người chờ trước bạn: 7".to_string(), 22),
    ];
    assert_eq!(printed.rasters.len(), expected.len());
    for (placed, (text, px)) in printed.rasters.iter().zip(expected) {
        let want = r.render_line(&text, px);
        assert!(
            placed.image.ink() > 200,
            "raster for {text:?} is (nearly) blank"
        );
        assert_eq!(
            placed.image.ink(),
            want.ink(),
            "raster for {text:?} is not that text"
        );
        // Centred on the paper (the emulator honours ESC a like an Epson)
        let (x0, _, x1, _) = placed.image.ink_bbox().expect("ink");
        let centre = placed.x + (x0 + x1) / 2;
        assert!(centre.abs_diff(288) <= 4, "{text:?} centred at {centre}");
        // On the page the ink is where the raster landed
        let h = placed.image.height();
        assert_eq!(
            printed.image.ink_in(0, placed.y, 576, h),
            placed.image.ink()
        );
    }
    // Between the service and the waiting line there is the number and the time (text)
    let service = &printed.rasters[2];
    let waiting = &printed.rasters[3];
    let gap_top = service.y + service.image.height();
    assert!(
        printed.image.ink_in(0, gap_top, 576, waiting.y - gap_top) > 2000,
        "number/time missing"
    );
    // The QR code is below the waiting line
    let below = waiting.y + waiting.image.height();
    assert!(
        printed
            .image
            .ink_in(0, below, 576, printed.image.height() - below)
            > 3000,
        "QR missing"
    );
}

#[test]
fn nfd_input_gives_the_same_bytes_as_nfc() {
    use unicode_normalization::UnicodeNormalization;
    let c = cfg(80);
    let mut enc = encoder(&c);
    let mut nfd = job();
    nfd.site_name = nfd.site_name.nfd().collect();
    nfd.service_name = nfd.service_name.nfd().collect();
    assert_ne!(nfd.service_name, job().service_name);
    assert_eq!(enc.encode(&nfd), enc.encode(&job()));
}

#[test]
fn size_targets() {
    let c = cfg(80);
    let mut enc = encoder(&c);
    let hybrid = enc.encode(&job());
    let full = enc.encode_full_raster(&job());
    assert!(
        hybrid.len() <= 6 * 1024,
        "80 mm ticket is {} bytes (target <= 6 KB)",
        hybrid.len()
    );
    assert!(
        full.len() >= 3 * hybrid.len(),
        "full raster {} vs hybrid {}: less than 3x",
        full.len(),
        hybrid.len()
    );
    // the full-raster ticket decodes too and is not blank at the top (site name)
    let printed = print_page(&full, 576, "full-raster-80mm");
    assert!(printed.image.ink_in(0, 0, 576, 40) > 300);
}

#[test]
fn every_vietnamese_letter_has_a_glyph_and_the_test_ticket_prints() {
    let r = TextRenderer::new().expect("font");
    let letters = vietnamese_letters();
    assert_eq!(letters.len(), 178);
    for ch in &letters {
        assert!(r.has_glyph(*ch), "font lacks {ch} U+{:04X}", *ch as u32);
    }
    for paper in [58, 80] {
        let c = cfg(paper);
        let bytes = test_ticket(&c).expect("test ticket");
        let cmds = parse(&bytes);
        assert_eq!(cmds.last(), Some(&Cmd::Cut));
        assert!(cmds.contains(&Cmd::Text(b"0123456789".to_vec())));
        assert!(cmds.iter().any(|c| matches!(c, Cmd::QrStore(_))));
        let printed = print_page(&bytes, c.paper_dots(), &format!("test-ticket-{paper}mm"));
        assert!(
            printed.rasters.len() >= 6,
            "letters rendered as raster lines"
        );
        assert!(printed.rasters.iter().all(|p| p.image.ink() > 50));
    }
}

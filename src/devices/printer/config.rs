//! The `[printer]` configuration section: transport, serial line settings, paper, printer
//! profile, ticket layout and timings, with semantic validation that points at TOML spans.

use serde::Deserialize;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;
use toml::Spanned;

use crate::config::defaults::{unwritten, unwritten_defaults};

/// How the printer is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportKind {
    /// Serial or USB-serial (`/dev/ttyUSB0`, `/dev/serial0`) via tokio-serial.
    Serial,
    /// USB printer class device (`/dev/usb/lp0`) or a plain file (development).
    File,
    /// Network printer, raw TCP (port 9100).
    Tcp,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Parity {
    #[default]
    None,
    Odd,
    Even,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowControl {
    #[default]
    None,
    /// XON/XOFF.
    Software,
    /// RTS/CTS.
    Hardware,
}

/// How the QR code is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QrMode {
    /// The printer's `GS ( k` QR command (about 60 bytes on the wire).
    #[default]
    Native,
    /// Drawn here and sent as a raster image, for printers without `GS ( k`.
    Raster,
}

/// How raster lines are centred.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RasterAlign {
    /// White dots on the left are part of the image: works on every printer.
    #[default]
    Pad,
    /// The image is just the ink, centred by `ESC a 1` (Epson and most clones; fewer bytes).
    Justify,
}

/// What this printer model understands (a key left out takes its value from `Default`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Profile {
    pub qr: QrMode,
    /// Send `FS .` after init (clones that start in Chinese mode).
    pub cancel_kanji: bool,
    pub raster_align: RasterAlign,
    /// QR module size in dots, 1..=16.
    pub qr_module: Spanned<u8>,
    /// Largest `GS !` multiplier for the big number, 1..=8.
    pub number_scale: Spanned<u8>,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            qr: QrMode::Native,
            cancel_kanji: false,
            raster_align: RasterAlign::Pad,
            qr_module: unwritten(6),
            number_scale: unwritten(6),
        }
    }
}

/// What goes on the ticket. Texts may contain Vietnamese; placeholders are in braces. A key
/// left out takes its value from `Default`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LayoutConfig {
    /// Lines above the center name (e.g. the commune's People's Committee).
    pub header: Vec<Spanned<String>>,
    /// Print the job's site (center) name.
    pub site_name: bool,
    /// Lines at the bottom.
    pub footer: Vec<Spanned<String>>,
    /// Shown on priority tickets.
    pub priority_text: Spanned<String>,
    /// Issue time line; `{date}` (dd/mm/yyyy) and `{time}` (hh:mm).
    pub time_text: Spanned<String>,
    /// People-waiting line; `{n}`. Empty: no line.
    pub waiting_text: Spanned<String>,
    /// Print a QR code.
    pub qr: bool,
    /// QR content when the job carries none: `{site}`, `{service}` (percent-encoded),
    /// `{day}` (yyyymmdd, local), `{ticket}`.
    pub qr_template: Spanned<String>,
    /// Pixel size of the center name and header/footer lines.
    pub text_px: Spanned<u32>,
    /// Pixel size of the service name.
    pub title_px: Spanned<u32>,
}

impl Default for LayoutConfig {
    fn default() -> Self {
        LayoutConfig {
            header: Vec::new(),
            site_name: true,
            footer: Vec::new(),
            priority_text: unwritten("ƯU TIÊN".to_string()),
            time_text: unwritten("{date}  {time}".to_string()),
            waiting_text: unwritten("Số người chờ trước bạn: {n}".to_string()),
            qr: true,
            qr_template: unwritten("LAYSO:{day}:{ticket}".to_string()),
            text_px: unwritten(22),
            title_px: unwritten(28),
        }
    }
}

/// The `[printer]` section.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterConfig {
    /// "serial" | "file" | "tcp".
    pub transport: Spanned<TransportKind>,
    /// Device or file path (serial, file).
    pub path: Option<Spanned<String>>,
    /// Printer address (tcp).
    pub host: Option<Spanned<String>>,
    #[serde(default = "d_port")]
    pub port: Spanned<u16>,
    #[serde(default = "d_baud")]
    pub baud: Spanned<u32>,
    #[serde(default)]
    pub parity: Parity,
    #[serde(default)]
    pub flow_control: FlowControl,
    /// 58 or 80.
    #[serde(default = "d_paper")]
    pub paper_mm: Spanned<u32>,
    #[serde(default)]
    pub profile: Profile,
    #[serde(default)]
    pub layout: LayoutConfig,
    /// Jobs not printed within this many seconds of issue are dropped.
    #[serde(default = "d_print_timeout")]
    pub print_timeout_s: Spanned<u64>,
    /// Status poll interval between jobs.
    #[serde(default = "d_poll")]
    pub poll_interval_ms: Spanned<u64>,
    /// How long to wait for each `DLE EOT` reply.
    #[serde(default = "d_status_timeout")]
    pub status_timeout_ms: Spanned<u64>,
    /// Query status with `DLE EOT`. Default: yes for serial and tcp, no for file (a plain
    /// file cannot answer; set true for a bidirectional `/dev/usb/lp0`).
    pub status: Option<bool>,
}

unwritten_defaults! {
    d_port: u16 = 9100,
    d_baud: u32 = 19_200,
    d_paper: u32 = 80,
    d_print_timeout: u64 = 30,
    d_poll: u64 = 2000,
    d_status_timeout: u64 = 500,
}

/// Baud rates accepted for `baud` (the one list shared by every serial device).
pub(crate) use crate::devices::serial::BAUD_RATES;
const PLACEHOLDERS: [&str; 4] = ["{site}", "{service}", "{day}", "{ticket}"];
const MAX_LINES: usize = 8;
const MAX_LINE_CHARS: usize = 200;

impl PrinterConfig {
    /// A config with defaults for `transport`; set `path` or `host` as needed.
    pub(crate) fn new(transport: TransportKind) -> Self {
        PrinterConfig {
            transport: unwritten(transport),
            path: None,
            host: None,
            port: d_port(),
            baud: d_baud(),
            parity: Parity::None,
            flow_control: FlowControl::None,
            paper_mm: d_paper(),
            profile: Profile::default(),
            layout: LayoutConfig::default(),
            print_timeout_s: d_print_timeout(),
            poll_interval_ms: d_poll(),
            status_timeout_ms: d_status_timeout(),
            status: None,
        }
    }

    /// Convenience: a config on `path` (serial or file).
    pub fn with_path(transport: TransportKind, path: impl Into<String>) -> Self {
        let mut c = Self::new(transport);
        c.path = Some(unwritten(path.into()));
        c
    }

    /// Convenience: a TCP config.
    pub fn tcp(host: impl Into<String>, port: u16) -> Self {
        let mut c = Self::new(TransportKind::Tcp);
        c.host = Some(unwritten(host.into()));
        c.port = unwritten(port);
        c
    }

    pub(crate) fn transport(&self) -> TransportKind {
        *self.transport.get_ref()
    }

    /// Printable width in dots: 384 for 58 mm, 576 for 80 mm.
    pub fn paper_dots(&self) -> usize {
        if *self.paper_mm.get_ref() == 58 {
            384
        } else {
            576
        }
    }

    pub(crate) fn path_buf(&self) -> Option<PathBuf> {
        self.path.as_ref().map(|p| PathBuf::from(p.get_ref()))
    }

    pub(crate) fn poll_interval(&self) -> Duration {
        Duration::from_millis(*self.poll_interval_ms.get_ref())
    }

    pub(crate) fn status_timeout(&self) -> Duration {
        Duration::from_millis(*self.status_timeout_ms.get_ref())
    }

    /// Whether `DLE EOT` status is queried.
    pub(crate) fn status_enabled(&self) -> bool {
        self.status
            .unwrap_or(self.transport() != TransportKind::File)
    }

    /// The deadline for a job issued at `issued_at_ms`: issue time plus `print_timeout_s`.
    pub(crate) fn deadline_for(&self, issued_at_ms: i64) -> i64 {
        issued_at_ms.saturating_add((*self.print_timeout_s.get_ref()).saturating_mul(1000) as i64)
    }

    /// Semantic checks; each error has the byte span of the offending value in the TOML
    /// source (0..0 for defaults) and a message saying what would be valid.
    pub fn validate(&self) -> Vec<(Range<usize>, String)> {
        let mut errs = Vec::new();
        let mut check = |ok: bool, span: Range<usize>, msg: String| {
            if !ok {
                errs.push((span, msg));
            }
        };
        match self.transport() {
            TransportKind::Serial | TransportKind::File => check(
                self.path.as_ref().is_some_and(|p| !p.get_ref().trim().is_empty()),
                self.path.as_ref().map_or(self.transport.span(), |p| p.span()),
                "transport \"serial\" and \"file\" need `path`, e.g. \"/dev/ttyUSB0\", \"/dev/usb/lp0\" or \"./var/printer.bin\"".into(),
            ),
            TransportKind::Tcp => check(
                self.host.as_ref().is_some_and(|h| !h.get_ref().trim().is_empty()),
                self.host.as_ref().map_or(self.transport.span(), |h| h.span()),
                "transport \"tcp\" needs `host`, e.g. \"192.168.1.50\" (the port defaults to 9100)".into(),
            ),
        }
        check(
            *self.port.get_ref() != 0,
            self.port.span(),
            "port must be 1..=65535 (printers listen on 9100)".into(),
        );
        check(
            crate::devices::serial::is_supported_baud(*self.baud.get_ref()),
            self.baud.span(),
            format!(
                "baud {} is not a standard rate; use one of {BAUD_RATES:?}",
                self.baud.get_ref()
            ),
        );
        check(
            matches!(*self.paper_mm.get_ref(), 58 | 80),
            self.paper_mm.span(),
            format!(
                "paper_mm {} is not supported; use 58 or 80",
                self.paper_mm.get_ref()
            ),
        );
        check(
            (1..=600).contains(self.print_timeout_s.get_ref()),
            self.print_timeout_s.span(),
            "print_timeout_s must be 1..=600 seconds (default 30)".into(),
        );
        check(
            (100..=60_000).contains(self.poll_interval_ms.get_ref()),
            self.poll_interval_ms.span(),
            "poll_interval_ms must be 100..=60000 (default 2000)".into(),
        );
        check(
            (50..=10_000).contains(self.status_timeout_ms.get_ref()),
            self.status_timeout_ms.span(),
            "status_timeout_ms must be 50..=10000 (default 500)".into(),
        );
        check(
            (1..=16).contains(self.profile.qr_module.get_ref()),
            self.profile.qr_module.span(),
            "profile.qr_module must be 1..=16 dots".into(),
        );
        check(
            (1..=8).contains(self.profile.number_scale.get_ref()),
            self.profile.number_scale.span(),
            "profile.number_scale must be 1..=8".into(),
        );
        let l = &self.layout;
        for (name, px) in [
            ("layout.text_px", &l.text_px),
            ("layout.title_px", &l.title_px),
        ] {
            check(
                (12..=64).contains(px.get_ref()),
                px.span(),
                format!("{name} must be 12..=64 dots"),
            );
        }
        for (name, lines) in [("layout.header", &l.header), ("layout.footer", &l.footer)] {
            if lines.len() > MAX_LINES {
                errs.push((
                    lines[MAX_LINES].span(),
                    format!("{name} has {} lines; at most {MAX_LINES}", lines.len()),
                ));
            }
            for line in lines {
                if line.get_ref().chars().count() > MAX_LINE_CHARS {
                    errs.push((
                        line.span(),
                        format!("{name} line is longer than {MAX_LINE_CHARS} characters"),
                    ));
                }
            }
        }
        let t = l.qr_template.get_ref();
        if let Some(bad) = unknown_placeholder(t, &PLACEHOLDERS) {
            errs.push((
                l.qr_template.span(),
                format!(
                    "layout.qr_template has unknown placeholder {bad}; known: {PLACEHOLDERS:?}"
                ),
            ));
        }
        if t.len() > 300 {
            errs.push((
                l.qr_template.span(),
                "layout.qr_template is longer than 300 bytes".into(),
            ));
        }
        if let Some(bad) = unknown_placeholder(l.time_text.get_ref(), &["{date}", "{time}"]) {
            errs.push((
                l.time_text.span(),
                format!(
                    "layout.time_text has unknown placeholder {bad}; known: {{date}}, {{time}}"
                ),
            ));
        }
        if let Some(bad) = unknown_placeholder(l.waiting_text.get_ref(), &["{n}"]) {
            errs.push((
                l.waiting_text.span(),
                format!("layout.waiting_text has unknown placeholder {bad}; known: {{n}}"),
            ));
        }
        errs
    }
}

/// The first `{...}` in `s` that is not in `known`.
fn unknown_placeholder(s: &str, known: &[&str]) -> Option<String> {
    let mut rest = s;
    while let Some(start) = rest.find('{') {
        let after = &rest[start..];
        let Some(end) = after.find('}') else {
            return Some(after.to_string());
        };
        let ph = &after[..=end];
        if !known.contains(&ph) {
            return Some(ph.to_string());
        }
        rest = &after[end + 1..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Root {
        printer: PrinterConfig,
    }

    #[test]
    fn parses_full_section_and_validates() {
        let src = r#"
[printer]
transport = "serial"
path = "/dev/ttyUSB0"
baud = 9600
parity = "even"
flow_control = "software"
paper_mm = 58
print_timeout_s = 20
[printer.profile]
qr = "raster"
cancel_kanji = true
raster_align = "justify"
[printer.layout]
header = ["UBND PHƯỜNG BẾN THÀNH"]
footer = ["Xin cảm ơn"]
qr_template = "https://example/t/{site}/{day}/{ticket}"
"#;
        let root: Root = toml::from_str(src).expect("parses");
        let c = root.printer;
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        assert_eq!(c.paper_dots(), 384);
        assert_eq!(c.parity, Parity::Even);
        assert_eq!(c.profile.qr, QrMode::Raster);
        assert!(c.status_enabled());
        assert_eq!(c.deadline_for(1000), 21_000);
    }

    #[test]
    fn rejects_unknown_fields_and_bad_values_with_spans() {
        let bad = "[printer]\ntransport = \"serial\"\npath = \"/dev/x\"\nbogus = 1\n";
        assert!(toml::from_str::<Root>(bad).is_err());
        let src = "[printer]\ntransport = \"tcp\"\nbaud = 1234\npaper_mm = 76\n[printer.layout]\nqr_template = \"{nope}\"\n";
        let c = toml::from_str::<Root>(src).expect("parses").printer;
        let errs = c.validate();
        let msgs: Vec<&str> = errs.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(errs.len(), 4, "{msgs:?}");
        let (span, _) = errs
            .iter()
            .find(|(_, m)| m.contains("paper_mm"))
            .expect("paper error");
        assert_eq!(&src[span.clone()], "76");
        assert!(msgs.iter().any(|m| m.contains("needs `host`")));
        assert!(msgs.iter().any(|m| m.contains("{nope}")));
    }
}

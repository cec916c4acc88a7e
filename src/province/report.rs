//! The weekly report: one row per center with the week's figures (ISO week, Monday to
//! Sunday), a totals row, Vietnamese headers, then the sections of `people.rs` (ratings,
//! unsatisfied reasons, officers); as CSV or XLSX (rust_xlsxwriter).

mod people;

use super::figures::people::People;
use super::figures::percentile;
use super::store::{self, Span};
use crate::core::time::Day;
use tokio_postgres::Client;

/// `2026-W49` → the Monday and Sunday of that ISO week.
pub(crate) fn parse_week(s: &str) -> Result<(Day, Day), String> {
    let bad = || format!("week \"{s}\": give an ISO week like 2026-W49");
    let (y, w) = s.trim().split_once("-W").ok_or_else(bad)?;
    let y: i32 = y.parse().map_err(|_| bad())?;
    let w: i32 = w.parse().map_err(|_| bad())?;
    let jan4 = Day::from_ymd(y, 1, 4).ok_or_else(bad)?;
    let week1 = Day(jan4.0 - super::figures::weekday(jan4));
    // Weeks in the year: 53 when Dec 28 falls in week 53.
    let dec28 = Day::from_ymd(y, 12, 28).ok_or_else(bad)?;
    let weeks = (dec28.0 - week1.0) / 7 + 1;
    if !(1..=weeks).contains(&w) {
        return Err(format!("week \"{s}\": {y} has weeks 1 to {weeks}"));
    }
    let monday = Day(week1.0 + (w - 1) * 7);
    Ok((monday, Day(monday.0 + 6)))
}

/// The ISO week (`YYYY-Www`) holding `day`.
pub fn week_of(day: Day) -> String {
    let thursday = Day(day.0 - super::figures::weekday(day) + 3);
    let (y, _, _) = thursday.ymd();
    let jan1 = Day::from_ymd(y, 1, 1).map_or(thursday.0, |d| d.0);
    format!("{y}-W{:02}", (thursday.0 - jan1) / 7 + 1)
}

pub(crate) const HEADERS: &[&str] = &[
    "Mã trung tâm",
    "Tên trung tâm",
    "Tỉnh",
    "Số phiếu đã phát",
    "Đã phục vụ",
    "Vắng mặt",
    "Chuyển dịch vụ",
    "Chờ trung vị (phút)",
    "Chờ p90 (phút)",
    "Phục vụ trung vị (phút)",
    "Phục vụ p90 (phút)",
    "Giờ mở cửa (giờ)",
    "Tỉ lệ hoạt động (%)",
    "Tỉ lệ kết nối tỉnh (%)",
    "Số lần mất điện",
    "Phút mất điện",
    "Số lần mất kết nối",
    "Phút mất kết nối",
    "Phút máy in lỗi",
    "Đồng hồ chưa đồng bộ (%)",
];

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Num(f64),
    Empty,
}

fn minutes(ms: Option<i64>) -> Cell {
    ms.map_or(Cell::Empty, |m| {
        Cell::Num((m as f64 / 60_000.0 * 10.0).round() / 10.0)
    })
}

fn pct(x: f64) -> Cell {
    Cell::Num((x * 1000.0).round() / 10.0)
}

/// A span's own wait and service medians and p90s (its durations sorted).
fn own_durations(span: &Span) -> [Option<i64>; 4] {
    let s = &span.sums;
    [
        percentile(&s.waits_ms, 50.0),
        percentile(&s.waits_ms, 90.0),
        percentile(&s.service_ms, 50.0),
        percentile(&s.service_ms, 90.0),
    ]
}

/// A centers' table row; `durations` as `own_durations` gives them.
fn row(
    site: &str,
    name: &str,
    province: &str,
    span: &Span,
    durations: [Option<i64>; 4],
) -> Vec<Cell> {
    let n = |x: i64| Cell::Num(x as f64);
    let s = &span.sums;
    vec![
        Cell::Text(site.into()),
        Cell::Text(name.into()),
        Cell::Text(province.into()),
        n(s.issued),
        n(s.served),
        n(s.skipped),
        n(s.transferred),
        minutes(durations[0]),
        minutes(durations[1]),
        minutes(durations[2]),
        minutes(durations[3]),
        Cell::Num((s.open_ms as f64 / 3_600_000.0 * 10.0).round() / 10.0),
        pct(s.up_share()),
        pct(s.connected_share()),
        n(s.power_dips),
        minutes(Some(s.power_dip_ms)),
        n(s.uplink_dips),
        minutes(Some(s.uplink_dip_ms)),
        minutes(Some(s.printer_trouble_ms)),
        pct(span.clock_unsync_share()),
    ]
}

/// A table after the centers' one: its title, sheet name (XLSX), headers and rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub title: &'static str,
    pub sheet: &'static str,
    pub headers: &'static [&'static str],
    pub rows: Vec<Vec<Cell>>,
}

/// A week's report: the centers' table (totals last), then the sections.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub centers: Vec<Vec<Cell>>,
    pub sections: Vec<Section>,
}

/// A week's report, every known site included. The week's rows are read one site at
/// a time; the province's wait and service medians come from PostgreSQL.
pub(crate) async fn build(client: &Client, week: &str) -> Result<Report, String> {
    let (mon, sun) = parse_week(week)?;
    let (from, to) = (mon.to_string(), sun.to_string());
    let e = |x: tokio_postgres::Error| format!("reading the figures: {x}");
    let names = store::site_names(client).await.map_err(e)?;
    let mut centers = Vec::with_capacity(names.len() + 1);
    let mut sections = people::Sections::default();
    let mut total = Span::default();
    let mut names_left = names.iter().peekable();
    let no_people = People::default();
    // Sites are in the same (byte) order in both; a site with no row that week is empty.
    let mut add = |site: &str, prov: &str, name: &str, mut span: Span, p: &People| {
        centers.push(row(site, name, prov, &span, own_durations(&span)));
        sections.add(site, name, prov, p);
        // The total's durations are the province's medians, from PostgreSQL.
        span.sums.waits_ms = Vec::new();
        span.sums.service_ms = Vec::new();
        total.add(&span);
    };
    store::each_site_week(client, &from, &to, |site, span, p| {
        while let Some((s, prov, name)) = names_left.next_if(|n| n.0.as_str() < site) {
            add(s, prov, name, Span::default(), &no_people);
        }
        if let Some((s, prov, name)) = names_left.next_if(|n| n.0 == site) {
            add(s, prov, name, span, &p);
        }
    })
    .await
    .map_err(e)?;
    for (s, prov, name) in names_left {
        add(s, prov, name, Span::default(), &no_people);
    }
    let durations = store::province_durations(client, &from, &to)
        .await
        .map_err(e)?;
    let mut t = row("", TOTAL, "", &total, durations);
    t[0] = Cell::Text(format!("{} trung tâm", names.len()));
    centers.push(t);
    Ok(Report {
        centers,
        sections: sections.finish(),
    })
}

fn csv_field(c: &Cell) -> String {
    match c {
        Cell::Text(t) if t.contains([',', '"', '\n']) => format!("\"{}\"", t.replace('"', "\"\"")),
        Cell::Text(t) => t.clone(),
        Cell::Num(n) => format!("{n}"),
        Cell::Empty => String::new(),
    }
}

fn csv_table(s: &mut String, headers: &[&str], rows: &[Vec<Cell>]) {
    s.push_str(&headers.join(","));
    s.push_str("\r\n");
    for r in rows {
        s.push_str(&r.iter().map(csv_field).collect::<Vec<_>>().join(","));
        s.push_str("\r\n");
    }
}

/// CSV (UTF-8 with a byte-order mark so that Excel shows Vietnamese correctly): the
/// centers' table, then each section after an empty line and its title.
pub(crate) fn to_csv(report: &Report) -> Vec<u8> {
    let mut s = String::from("\u{feff}");
    csv_table(&mut s, HEADERS, &report.centers);
    for sec in &report.sections {
        s.push_str("\r\n");
        s.push_str(&csv_field(&Cell::Text(sec.title.into())));
        s.push_str("\r\n");
        csv_table(&mut s, sec.headers, &sec.rows);
    }
    s.into_bytes()
}

/// One worksheet: bold headers, rows, the rows whose second cell (the name) says
/// "Tổng cộng" (or the last row, with `bold_last`) in bold. Written strictly row by row,
/// left to right (what a constant-memory worksheet requires).
fn xlsx_sheet(
    ws: &mut rust_xlsxwriter::Worksheet,
    headers: &[&str],
    rows: &[Vec<Cell>],
    bold_last: bool,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    ws.set_freeze_panes(1, 2)?;
    ws.set_column_width(1, 40)?;
    let bold = rust_xlsxwriter::Format::new().set_bold().set_text_wrap();
    for (c, h) in headers.iter().enumerate() {
        ws.write_with_format(0, c as u16, *h, &bold)?;
    }
    let last = rows.len();
    for (i, r) in rows.iter().enumerate() {
        let row = (i + 1) as u32;
        let strong = (bold_last && i + 1 == last) || r.get(1) == Some(&Cell::Text(TOTAL.into()));
        for (c, cell) in r.iter().enumerate() {
            let col = c as u16;
            match (cell, strong) {
                (Cell::Text(t), true) => ws.write_with_format(row, col, t, &bold).map(|_| ()),
                (Cell::Text(t), false) => ws.write(row, col, t).map(|_| ()),
                (Cell::Num(n), true) => ws.write_with_format(row, col, *n, &bold).map(|_| ()),
                (Cell::Num(n), false) => ws.write(row, col, *n).map(|_| ()),
                (Cell::Empty, _) => Ok(()),
            }?;
        }
    }
    Ok(())
}

/// Where the worksheets are kept while the workbook is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sheets {
    /// Row by row through a temporary file (rust_xlsxwriter's constant-memory mode).
    OnDisk,
    /// All cells in memory, for when the temporary directory cannot be written
    /// (rust_xlsxwriter would panic creating its file there).
    InMemory,
}

/// XLSX workbook bytes: the centers on the first sheet (named after the week), each
/// section on its own sheet.
pub(crate) fn to_xlsx(report: &Report, week: &str) -> Result<Vec<u8>, String> {
    let sheets = match tempfile::tempfile() {
        Ok(_) => Sheets::OnDisk,
        Err(err) => {
            tracing::warn!(%err, dir = %std::env::temp_dir().display(), "cannot write a temporary file (set TMPDIR to a writable directory); the XLSX report is built in memory");
            Sheets::InMemory
        }
    };
    xlsx_with(report, week, sheets)
}

fn sheet(wb: &mut rust_xlsxwriter::Workbook, sheets: Sheets) -> &mut rust_xlsxwriter::Worksheet {
    match sheets {
        Sheets::OnDisk => wb.add_worksheet_with_constant_memory(),
        Sheets::InMemory => wb.add_worksheet(),
    }
}

fn xlsx_with(report: &Report, week: &str, sheets: Sheets) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::Workbook;
    let e = |x: rust_xlsxwriter::XlsxError| format!("cannot write the XLSX report: {x}");
    let mut wb = Workbook::new();
    let ws = sheet(&mut wb, sheets);
    ws.set_name(week.replace(['[', ']', ':', '*', '?', '/', '\\'], "-"))
        .map_err(e)?;
    xlsx_sheet(ws, HEADERS, &report.centers, true).map_err(e)?;
    for sec in &report.sections {
        let ws = sheet(&mut wb, sheets);
        ws.set_name(sec.sheet).map_err(e)?;
        xlsx_sheet(ws, sec.headers, &sec.rows, false).map_err(e)?;
    }
    wb.save_to_buffer().map_err(e)
}

/// The name cell of the province-total rows.
pub(crate) const TOTAL: &str = "Tổng cộng";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_weeks() {
        let (m, s) = parse_week("2026-W49").unwrap();
        assert_eq!(m.to_string(), "2026-11-30");
        assert_eq!(s.to_string(), "2026-12-06");
        assert_eq!(week_of(Day::from_ymd(2026, 12, 1).unwrap()), "2026-W49");
        assert_eq!(week_of(Day::from_ymd(2027, 1, 1).unwrap()), "2026-W53");
        assert!(parse_week("2026-W54")
            .unwrap_err()
            .contains("weeks 1 to 53"));
        assert!(parse_week("2025-W53").is_err());
        assert!(parse_week("49").is_err());
    }

    #[test]
    fn csv_has_headers_and_quotes() {
        let rows = vec![vec![
            Cell::Text("a".into()),
            Cell::Text("Phường \"X\", Y".into()),
            Cell::Num(1.5),
            Cell::Empty,
        ]];
        let report = Report {
            centers: rows,
            sections: people::sections(&[], &[]),
        };
        let s = String::from_utf8(to_csv(&report)).unwrap();
        assert!(s.starts_with("\u{feff}Mã trung tâm,"));
        assert!(s.contains("a,\"Phường \"\"X\"\", Y\",1.5,\r\n"));
        let x = to_xlsx(&report, "2026-W49").unwrap();
        assert_eq!(&x[..2], b"PK");
    }

    /// Between `open` (its attributes skipped) and `close`.
    fn inner<'a>(xml: &'a str, open: &str, close: &str) -> Option<&'a str> {
        let rest = &xml[xml.find(open)? + open.len()..];
        let rest = &rest[rest.find('>')? + 1..];
        Some(&rest[..rest.find(close)?])
    }

    /// Every cell of a workbook as (sheet file, cell ref, text or number), shared
    /// strings resolved.
    fn xlsx_cells(bytes: &[u8]) -> Vec<(String, String, String)> {
        use std::io::Read;
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut files = Vec::new();
        for i in 0..zip.len() {
            let mut f = zip.by_index(i).unwrap();
            let mut xml = String::new();
            f.read_to_string(&mut xml).unwrap();
            files.push((f.name().to_string(), xml));
        }
        let shared: Vec<String> = files
            .iter()
            .find(|(n, _)| n == "xl/sharedStrings.xml")
            .map(|(_, x)| {
                x.split("<si>")
                    .skip(1)
                    .map(|si| inner(si, "<t", "</t>").unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        let mut cells = Vec::new();
        for (name, xml) in files
            .iter()
            .filter(|(n, _)| n.starts_with("xl/worksheets/sheet"))
        {
            for c in xml.split("<c ").skip(1) {
                let head = &c[..c.find('>').unwrap()];
                let r = head
                    .split("r=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap();
                let c = &c[..c.find("</c>").unwrap_or(head.len())];
                let value = if head.ends_with('/') {
                    String::new() // a blank cell with a format
                } else if head.contains("t=\"s\"") {
                    shared[inner(c, "<v", "</v>").unwrap().parse::<usize>().unwrap()].clone()
                } else if head.contains("t=\"inlineStr\"") {
                    inner(c, "<t", "</t>").unwrap().to_string()
                } else {
                    inner(c, "<v", "</v>").unwrap().to_string()
                };
                cells.push((name.clone(), r.to_string(), value));
            }
        }
        cells.sort();
        cells
    }

    #[test]
    fn xlsx_on_disk_holds_the_same_cells_as_in_memory() {
        let centers: Vec<Vec<Cell>> = (0..300)
            .map(|i| {
                vec![
                    Cell::Text(format!("site-{i:04}")),
                    Cell::Text(format!("Phường {i} & <Tân>")),
                    Cell::Num(f64::from(i) * 1.5),
                    Cell::Empty,
                    Cell::Num(7.0),
                ]
            })
            .collect();
        let report = Report {
            centers,
            sections: people::sections(&[], &[]),
        };
        let disk = xlsx_with(&report, "2026-W49", Sheets::OnDisk).unwrap();
        let memory = xlsx_with(&report, "2026-W49", Sheets::InMemory).unwrap();
        // Shared strings in memory, inline strings on disk: the cells still match.
        let (d, m) = (xlsx_cells(&disk), xlsx_cells(&memory));
        let find = |r: &str| {
            d.iter()
                .find(|c| c.0 == "xl/worksheets/sheet1.xml" && c.1 == r)
        };
        assert_eq!(
            find("B301").map(|c| c.2.as_str()),
            Some("Phường 299 &amp; &lt;Tân&gt;")
        );
        assert_eq!(find("C301").map(|c| c.2.as_str()), Some("448.5"));
        assert_eq!(find("D301"), None, "an empty cell is not written");
        assert!(d.len() > 300 * 4, "{}", d.len());
        assert_eq!(d, m);
    }
}

//! The weekly report: one row per center with the week's figures (ISO week, Monday to
//! Sunday), a totals row, Vietnamese headers, then the sections of `people.rs` (ratings,
//! unsatisfied reasons, officers); as CSV or XLSX (rust_xlsxwriter).

mod people;

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

fn row(site: &str, name: &str, province: &str, span: &Span) -> Vec<Cell> {
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
        minutes(percentile(&s.waits_ms, 50.0)),
        minutes(percentile(&s.waits_ms, 90.0)),
        minutes(percentile(&s.service_ms, 50.0)),
        minutes(percentile(&s.service_ms, 90.0)),
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

/// A week's report, every known site included.
pub(crate) async fn build(client: &Client, week: &str) -> Result<Report, String> {
    let (mon, sun) = parse_week(week)?;
    let e = |x: tokio_postgres::Error| format!("reading the figures: {x}");
    let names = store::site_names(client).await.map_err(e)?;
    let centers = rows(client, &names, mon, sun).await.map_err(e)?;
    let spans = store::people_spans(client, &mon.to_string(), &sun.to_string(), None)
        .await
        .map_err(e)?;
    Ok(Report {
        centers,
        sections: people::sections(&names, &spans),
    })
}

/// The centers' rows of a week (totals last).
async fn rows(
    client: &Client,
    names: &[(String, String, String)],
    mon: Day,
    sun: Day,
) -> Result<Vec<Vec<Cell>>, tokio_postgres::Error> {
    let spans = store::spans(client, &mon.to_string(), &sun.to_string()).await?;
    let mut total = Span::default();
    let mut out = Vec::with_capacity(names.len() + 1);
    let mut it = spans.iter().peekable();
    let empty = Span::default();
    for (site, prov, name) in names {
        while it.peek().is_some_and(|(s, _)| s < site) {
            it.next();
        }
        let s = match it.peek() {
            Some((s, span)) if s == site => span,
            _ => &empty,
        };
        total.add(s);
        out.push(row(site, name, prov, s));
    }
    total.finish();
    let mut t = row("", "Tổng cộng", "", &total);
    t[0] = Cell::Text(format!("{} trung tâm", names.len()));
    out.push(t);
    Ok(out)
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
/// "Tổng cộng" (or the last row, with `bold_last`) in bold.
fn xlsx_sheet(
    ws: &mut rust_xlsxwriter::Worksheet,
    headers: &[&str],
    rows: &[Vec<Cell>],
    bold_last: bool,
) -> Result<(), rust_xlsxwriter::XlsxError> {
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
    ws.set_freeze_panes(1, 2)?;
    ws.set_column_width(1, 40)?;
    Ok(())
}

/// XLSX workbook bytes: the centers on the first sheet (named after the week), each
/// section on its own sheet.
pub(crate) fn to_xlsx(report: &Report, week: &str) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::Workbook;
    let e = |x: rust_xlsxwriter::XlsxError| format!("cannot write the XLSX report: {x}");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(week.replace(['[', ']', ':', '*', '?', '/', '\\'], "-"))
        .map_err(e)?;
    xlsx_sheet(ws, HEADERS, &report.centers, true).map_err(e)?;
    for sec in &report.sections {
        let ws = wb.add_worksheet();
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
}

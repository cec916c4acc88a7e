//! The daily report as CSV (UTF-8 with a BOM, so spreadsheet programs show Vietnamese
//! correctly): one row per group, then the reasons of unsatisfied ratings.

use super::day::{DayReport, Figures};
use crate::core::rating::RatingLevel;
use std::fmt::Write;

const HEADER: &str = "group,key,name,issued,called,served,no_shows,waiting_median_s,waiting_p90_s,service_median_s,service_p90_s,ratings,very_satisfied,satisfied,unsatisfied,unsatisfied_share";

/// Quote a field when it needs it.
fn field(s: &str) -> String {
    let s = s.replace(['\r', '\n'], " ");
    // A leading =, +, - or @ would be a formula in a spreadsheet.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s
    };
    if s.contains([',', '"']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn opt(v: Option<i64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn row(out: &mut String, group: &str, key: &str, name: &str, f: &Figures) {
    let level = |l: RatingLevel| {
        f.ratings
            .levels
            .iter()
            .find(|x| x.level == l)
            .map_or(0, |x| x.count)
    };
    let share = f
        .ratings
        .levels
        .iter()
        .find(|x| x.level == RatingLevel::Unsatisfied)
        .map_or(0.0, |x| x.share);
    let _ = writeln!(
        out,
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.3}",
        group,
        field(key),
        field(name),
        f.issued,
        f.called,
        f.served,
        f.no_shows,
        opt(f.waiting.median_s),
        opt(f.waiting.p90_s),
        opt(f.service.median_s),
        opt(f.service.p90_s),
        f.ratings.total,
        level(RatingLevel::VerySatisfied),
        level(RatingLevel::Satisfied),
        level(RatingLevel::Unsatisfied),
        share
    );
}

/// The CSV text. `name` gives a display name for ("service" | "counter" | "officer", key).
pub fn render(r: &DayReport, name: impl Fn(&str, &str) -> String) -> String {
    let mut out = String::from("\u{feff}");
    let _ = writeln!(out, "{HEADER}");
    row(&mut out, "day", &r.day, "", &r.total);
    for (k, f) in &r.services {
        row(&mut out, "service", k, &name("service", k), f);
    }
    for (k, f) in &r.counters {
        let k = k.to_string();
        row(&mut out, "counter", &k, &name("counter", &k), f);
    }
    for (k, f) in &r.officers {
        row(&mut out, "officer", k, &name("officer", k), f);
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "reason,name,count");
    for (code, n) in &r.total.ratings.reasons {
        let _ = writeln!(out, "{},{},{n}", field(code), field(&name("reason", code)));
    }
    out
}

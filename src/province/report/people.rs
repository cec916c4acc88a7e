//! The weekly report's ratings, unsatisfied reasons and officers sections, from the
//! week's `People` of each site (figures/people.rs): counts per level with shares per
//! center and for the province, reasons with counts, and per center and officer the
//! tickets called, served, no-shows, wait and service medians/p90 and ratings.

use super::{minutes, pct, Cell, Section, TOTAL};
use crate::core::rating::RatingLevel;
use crate::province::figures::people::{People, RatingCounts};
use crate::province::figures::percentile;

pub(super) const RATINGS: &[&str] = &[
    "Mã trung tâm",
    "Tên trung tâm",
    "Tỉnh",
    "Số lượt đánh giá",
    "Rất hài lòng",
    "Rất hài lòng (%)",
    "Hài lòng",
    "Hài lòng (%)",
    "Chưa hài lòng",
    "Chưa hài lòng (%)",
    "Tỉ lệ hài lòng (%)",
];

pub(super) const REASONS: &[&str] = &["Mã trung tâm", "Tên trung tâm", "Lý do (mã)", "Số lần"];

pub(super) const OFFICERS: &[&str] = &[
    "Mã trung tâm",
    "Tên trung tâm",
    "Cán bộ",
    "Đã gọi",
    "Đã phục vụ",
    "Vắng mặt",
    "Chờ trung vị (phút)",
    "Chờ p90 (phút)",
    "Phục vụ trung vị (phút)",
    "Phục vụ p90 (phút)",
    "Số lượt đánh giá",
    "Rất hài lòng",
    "Hài lòng",
    "Chưa hài lòng",
    "Tỉ lệ hài lòng (%)",
];

/// How the report names work done with nobody signed in.
pub(super) const NO_OFFICER: &str = "(không có cán bộ)";

fn share(x: Option<f64>) -> Cell {
    x.map_or(Cell::Empty, pct)
}

fn ratings_row(site: Cell, name: &str, province: &str, r: &RatingCounts) -> Vec<Cell> {
    let n = |x: i64| Cell::Num(x as f64);
    let mut row = vec![
        site,
        Cell::Text(name.into()),
        Cell::Text(province.into()),
        n(r.total()),
    ];
    for l in RatingLevel::ALL {
        row.push(n(r.count(l)));
        row.push(share(r.share(l)));
    }
    row.push(share(r.satisfied_share()));
    row
}

/// The three sections, built one center at a time (a center's officers' durations are
/// needed only while its rows are made).
#[derive(Default)]
pub(super) struct Sections {
    ratings: Vec<Vec<Cell>>,
    reasons: Vec<Vec<Cell>>,
    officers: Vec<Vec<Cell>>,
    total: RatingCounts,
    centers: usize,
}

impl Sections {
    /// One center's rows (`p` is empty for a center with no figures that week).
    pub(super) fn add(&mut self, site: &str, name: &str, province: &str, p: &People) {
        self.centers += 1;
        self.total.add(&p.ratings);
        self.ratings.push(ratings_row(
            Cell::Text(site.into()),
            name,
            province,
            &p.ratings,
        ));
        for (code, n) in &p.ratings.reasons {
            self.reasons.push(vec![
                Cell::Text(site.into()),
                Cell::Text(name.into()),
                Cell::Text(code.clone()),
                Cell::Num(*n as f64),
            ]);
        }
        for (id, w) in &p.officers {
            let mut waits = w.waits_ms.clone();
            let mut service = w.service_ms.clone();
            waits.sort_unstable();
            service.sort_unstable();
            let n = |x: i64| Cell::Num(x as f64);
            self.officers.push(vec![
                Cell::Text(site.into()),
                Cell::Text(name.into()),
                Cell::Text(if id.is_empty() {
                    NO_OFFICER.into()
                } else {
                    id.clone()
                }),
                n(w.called),
                n(w.served),
                n(w.no_shows),
                minutes(percentile(&waits, 50.0)),
                minutes(percentile(&waits, 90.0)),
                minutes(percentile(&service, 50.0)),
                minutes(percentile(&service, 90.0)),
                n(w.ratings.total()),
                n(w.ratings.very_satisfied),
                n(w.ratings.satisfied),
                n(w.ratings.unsatisfied),
                share(w.ratings.satisfied_share()),
            ]);
        }
    }

    /// The sections with the province's totals.
    pub(super) fn finish(mut self) -> Vec<Section> {
        self.ratings.push(ratings_row(
            Cell::Text(format!("{} trung tâm", self.centers)),
            TOTAL,
            "",
            &self.total,
        ));
        for (code, n) in &self.total.reasons {
            self.reasons.push(vec![
                Cell::Empty,
                Cell::Text(TOTAL.into()),
                Cell::Text(code.clone()),
                Cell::Num(*n as f64),
            ]);
        }
        vec![
            Section {
                title: "Đánh giá của người dân",
                sheet: "Đánh giá",
                headers: RATINGS,
                rows: self.ratings,
            },
            Section {
                title: "Lý do chưa hài lòng",
                sheet: "Lý do chưa hài lòng",
                headers: REASONS,
                rows: self.reasons,
            },
            Section {
                title: "Cán bộ",
                sheet: "Cán bộ",
                headers: OFFICERS,
                rows: self.officers,
            },
        ]
    }
}

/// The sections for `names` (site, province, name) and the week's `People` by site.
#[cfg(test)]
pub(super) fn sections(
    names: &[(String, String, String)],
    spans: &[(String, People)],
) -> Vec<Section> {
    let by_site: std::collections::BTreeMap<&str, &People> =
        spans.iter().map(|(s, p)| (s.as_str(), p)).collect();
    let empty = People::default();
    let mut out = Sections::default();
    for (site, province, name) in names {
        out.add(
            site,
            name,
            province,
            by_site.get(site.as_str()).copied().unwrap_or(&empty),
        );
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::province::figures::people::OfficerWork;

    #[test]
    fn ratings_reasons_and_officers_with_province_totals() {
        let names = vec![
            ("a".to_string(), "hcm".to_string(), "Phường A".to_string()),
            ("b".to_string(), "hcm".to_string(), "Phường B".to_string()),
            ("c".to_string(), "hcm".to_string(), "Phường C".to_string()),
        ];
        let rc = |v, s, u, reasons: &[(&str, i64)]| RatingCounts {
            very_satisfied: v,
            satisfied: s,
            unsatisfied: u,
            reasons: reasons.iter().map(|(k, n)| (k.to_string(), *n)).collect(),
        };
        let mut a = People {
            ratings: rc(3, 1, 0, &[]),
            ..People::default()
        };
        a.officers.insert(
            "lan".into(),
            OfficerWork {
                called: 3,
                served: 2,
                no_shows: 1,
                waits_ms: vec![300_000, 60_000, 120_000],
                service_ms: vec![90_000, 30_000],
                ratings: rc(3, 1, 0, &[]),
            },
        );
        a.officers.insert(
            String::new(),
            OfficerWork {
                called: 1,
                no_shows: 1,
                ..OfficerWork::default()
            },
        );
        let b = People {
            ratings: rc(0, 2, 2, &[("slow", 2), ("rude", 1)]),
            ..People::default()
        };
        let s = sections(&names, &[("a".into(), a), ("b".into(), b)]);
        let ratings = &s[0].rows;
        assert_eq!(ratings.len(), 4);
        let num = |x: f64| Cell::Num(x);
        assert_eq!(
            ratings[0][3..],
            [
                num(4.0),
                num(3.0),
                num(75.0),
                num(1.0),
                num(25.0),
                num(0.0),
                num(0.0),
                num(100.0)
            ]
        );
        // c: no ratings, no shares.
        assert_eq!(ratings[2][3], num(0.0));
        assert_eq!(ratings[2][5], Cell::Empty);
        // Province: 3 + 0 very, 1 + 2 satisfied, 2 unsatisfied of 8.
        assert_eq!(ratings[3][1], Cell::Text(TOTAL.into()));
        assert_eq!(
            ratings[3][3..],
            [
                num(8.0),
                num(3.0),
                num(37.5),
                num(3.0),
                num(37.5),
                num(2.0),
                num(25.0),
                num(75.0)
            ]
        );
        let reasons = &s[1].rows;
        assert_eq!(reasons.len(), 4);
        assert_eq!(reasons[0][2..], [Cell::Text("rude".into()), num(1.0)]);
        assert_eq!(
            reasons[3][1..],
            [
                Cell::Text(TOTAL.into()),
                Cell::Text("slow".into()),
                num(2.0)
            ]
        );
        let officers = &s[2].rows;
        assert_eq!(officers.len(), 2);
        assert_eq!(officers[0][2], Cell::Text(NO_OFFICER.into()));
        // lan: waits 1, 2, 5 min → median 2, p90 5; service 0.5, 1.5 → median 0.5, p90 1.5.
        assert_eq!(
            officers[1][2..],
            [
                Cell::Text("lan".into()),
                num(3.0),
                num(2.0),
                num(1.0),
                num(2.0),
                num(5.0),
                num(0.5),
                num(1.5),
                num(4.0),
                num(3.0),
                num(1.0),
                num(0.0),
                num(100.0)
            ]
        );
    }
}

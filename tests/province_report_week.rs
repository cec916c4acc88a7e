//! The weekly report's wait and service medians and p90s, per center (from its own
//! durations, read one center at a time) and for the province (computed in PostgreSQL):
//! both must be the nearest rank over every duration of the week, as the figures define
//! it. Real PostgreSQL, Mosquitto and collector; the week's `site_day` rows are written
//! straight into the database.

#[path = "support/mosquitto.rs"]
mod mosquitto;
#[path = "support/postgres.rs"]
mod postgres;
#[path = "support/province.rs"]
mod province;

/// Nearest rank: the value at position ⌈p·n⌉ of the sorted durations.
fn rank(sorted: &[i64], p: f64) -> Option<i64> {
    let n = sorted.len();
    (n > 0).then(|| sorted[((p * n as f64).ceil() as usize).clamp(1, n) - 1])
}

/// The report's minutes cell: one decimal, empty without durations.
fn minutes(ms: Option<i64>) -> String {
    ms.map_or(String::new(), |m| {
        format!("{}", (m as f64 / 60_000.0 * 10.0).round() / 10.0)
    })
}

fn cells(waits: &[i64], service: &[i64]) -> Vec<String> {
    let (mut w, mut s) = (waits.to_vec(), service.to_vec());
    w.sort_unstable();
    s.sort_unstable();
    [rank(&w, 0.5), rank(&w, 0.9), rank(&s, 0.5), rank(&s, 0.9)]
        .into_iter()
        .map(minutes)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn week_medians_per_center_and_for_the_province() {
    let stage = province::Stage::start("week")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let db = postgres::client(&stage.pg.url()).await;
    // A deterministic spread of durations (10 s to ~2 h), duplicates included.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: usize| -> Vec<i64> {
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                10_000 + (x % 120) as i64 * 61_000
            })
            .collect()
    };
    // 2026-W10 is 2026-03-02 ..= 2026-03-08 (a past week: the figures worker leaves it).
    let days = ["2026-03-02", "2026-03-04", "2026-03-08"];
    let sites = ["a-1", "b-2", "c-3", "d-4"]; // d-4 has no figures that week
    let (mut all_w, mut all_s) = (Vec::new(), Vec::new());
    let mut want = Vec::new();
    for (i, site) in sites.iter().enumerate() {
        db.execute(
            "INSERT INTO sites (site, province, name) VALUES ($1, 'hcm', $2)",
            &[site, &format!("Phường {i}")],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let (mut sw, mut ss) = (Vec::new(), Vec::new());
        for (k, day) in days.iter().enumerate() {
            if *site == "d-4" {
                continue;
            }
            let (w, s) = (next(1 + 7 * i + 3 * k), next(1 + 5 * i + k));
            db.execute(
                "INSERT INTO site_day (site, day, issued, served, skipped, transferred, waits_ms,
                   service_ms, per_service, per_counter, open_ms, up_ms, connected_ms, power_dips,
                   power_dip_ms, uplink_dips, uplink_dip_ms, printer_trouble_ms, clock_unsync_share,
                   outages, computed_at)
                 VALUES ($1, $2, $3, $3, 0, 0, $4, $5, '{}', '{}', 0, 0, 0, 0, 0, 0, 0, 0, 0, '[]', 0)",
                &[site, day, &(w.len() as i32), &w, &s],
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
            sw.extend(&w);
            ss.extend(&s);
        }
        want.push(cells(&sw, &ss));
        all_w.extend(sw);
        all_s.extend(ss);
    }
    // A day outside the week must not count.
    db.execute(
        "INSERT INTO site_day (site, day, issued, served, skipped, transferred, waits_ms,
           service_ms, per_service, per_counter, open_ms, up_ms, connected_ms, power_dips,
           power_dip_ms, uplink_dips, uplink_dip_ms, printer_trouble_ms, clock_unsync_share,
           outages, computed_at)
         VALUES ('a-1', '2026-03-09', 1, 1, 0, 0, '{99999999}', '{99999999}', '{}', '{}',
           0, 0, 0, 0, 0, 0, 0, 0, 0, '[]', 0)",
        &[],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    want.push(cells(&all_w, &all_s));

    let csv = reqwest::get(stage.col.url("/report?format=csv&week=2026-W10"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let table = csv.split("\r\n\r\n").next().unwrap_or("");
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), sites.len() + 1, "{table}");
    for (i, (row, want)) in rows.iter().zip(&want).enumerate() {
        let got: Vec<String> = row[7..11].iter().map(|c| c.to_string()).collect();
        assert_eq!(&got, want, "row {i} of\n{table}");
    }
    assert_eq!(rows[4][1], "Tổng cộng", "{table}");
    assert_eq!(
        rows[4][3],
        all_w.len().to_string(),
        "issued, the week only: {table}"
    );
    assert_eq!(rows[3][7], "", "a center without figures: {table}");
}

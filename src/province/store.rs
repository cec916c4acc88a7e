//! Site-day figures in PostgreSQL: recomputing the dirty ones from the stored events
//! (with `figures::compute`), and the reads behind the dashboard and the weekly report.

use super::config::Hours;
use super::figures::people::{self, People, RatingCounts};
use super::figures::{self, DayFigures, Ev, Sums};
use crate::core::time::Day;
use tokio_postgres::Client;

/// Recompute up to `limit` dirty site-days whose figures are older than `min_age_ms`
/// (a busy site-day is recomputed at most that often, not after every batch); returns
/// how many were done.
pub(crate) async fn recompute_some(
    client: &Client,
    hours: &Hours,
    now: i64,
    limit: i64,
    min_age_ms: i64,
) -> Result<usize, tokio_postgres::Error> {
    let older_than = now - min_age_ms;
    let rows = client
        .query(
            "DELETE FROM dirty_days WHERE (site, day) IN
               (SELECT d.site, d.day FROM dirty_days d
                  LEFT JOIN site_day s ON s.site = d.site AND s.day = d.day
                WHERE s.computed_at IS NULL OR s.computed_at <= $2
                ORDER BY d.day DESC, d.site LIMIT $1 FOR UPDATE OF d SKIP LOCKED)
             RETURNING site, day",
            &[&limit, &older_than],
        )
        .await?;
    for r in &rows {
        let site: String = r.get(0);
        let day: String = r.get(1);
        if let Err(e) = recompute_one(client, hours, &site, &day, now).await {
            // Put it back so that it is tried again.
            let _ = client
                .execute(
                    "INSERT INTO dirty_days VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[&site, &day],
                )
                .await;
            return Err(e);
        }
    }
    Ok(rows.len())
}

fn parse_bodies(rows: &[tokio_postgres::Row]) -> Vec<Ev> {
    rows.iter()
        .filter_map(|r| figures::parse_entry(r.get::<_, &str>(0)))
        .collect()
}

/// Offline spans from the status history (offline → next online, or `now`).
fn offline_spans(rows: &[tokio_postgres::Row], now: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut since: Option<i64> = None;
    for r in rows {
        let at: i64 = r.get(0);
        let online: bool = r.get(1);
        match (online, since) {
            (false, None) => since = Some(at),
            (true, Some(s)) => {
                out.push((s, at));
                since = None;
            }
            _ => {}
        }
    }
    if let Some(s) = since {
        out.push((s, now));
    }
    out
}

async fn recompute_one(
    client: &Client,
    hours: &Hours,
    site: &str,
    day: &str,
    now: i64,
) -> Result<(), tokio_postgres::Error> {
    let Ok(d) = day.parse::<Day>() else {
        return Ok(()); // not a date: nothing to compute
    };
    let start = figures::day_start_ms(d, hours);
    let end = start + 86_400_000;
    let entries = client
        .query(
            "SELECT body FROM events WHERE site = $1 AND day = $2 ORDER BY seq",
            &[&site, &day],
        )
        .await?;
    let outages = client
        .query(
            "SELECT body FROM events WHERE site = $1 AND kind IN ('power_restored', 'uplink_restored')
               AND at >= $2 AND (body::json->'event'->>'down_from')::bigint < $3",
            &[&site, &start, &end],
        )
        .await?;
    let status = client
        .query(
            "SELECT at, online FROM status_history WHERE site = $1 AND at < $3 AND at >= $2::bigint - 604800000 ORDER BY at",
            &[&site, &start, &end],
        )
        .await?;
    // Each body parsed once, for the figures and for the ratings and officers.
    let (evs, board_entries): (Vec<_>, Vec<_>) = entries
        .iter()
        .map(|r| people::parse_both(r.get::<_, &str>(0)))
        .unzip();
    let evs: Vec<Ev> = evs.into_iter().flatten().collect();
    let f = figures::compute(
        d,
        hours,
        &evs,
        &parse_bodies(&outages),
        &offline_spans(&status, now),
        now,
    );
    let p = People::fold(d, board_entries.iter().flatten());
    upsert(client, site, day, &f, &p, now).await
}

async fn upsert(
    client: &Client,
    site: &str,
    day: &str,
    f: &DayFigures,
    p: &People,
    now: i64,
) -> Result<(), tokio_postgres::Error> {
    let i = |x: i64| x as i32;
    let json = |v: Result<String, serde_json::Error>| v.unwrap_or_else(|_| "{}".into());
    let reasons = json(serde_json::to_string(&p.ratings.reasons));
    let officers = json(serde_json::to_string(&p.officers));
    client
        .execute(
            "INSERT INTO site_day (site, day, issued, served, skipped, transferred, waits_ms, service_ms,
               per_service, per_counter, open_ms, up_ms, connected_ms, power_dips, power_dip_ms,
               uplink_dips, uplink_dip_ms, printer_trouble_ms, clock_unsync_share, outages, computed_at,
               wait_p50_ms, wait_p90_ms, rated_very_satisfied, rated_satisfied, rated_unsatisfied,
               rating_reasons, officers)
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,
               $24,$25,$26,$27,$28)
             ON CONFLICT (site, day) DO UPDATE SET issued = excluded.issued, served = excluded.served,
               skipped = excluded.skipped, transferred = excluded.transferred, waits_ms = excluded.waits_ms,
               service_ms = excluded.service_ms, per_service = excluded.per_service,
               per_counter = excluded.per_counter, open_ms = excluded.open_ms, up_ms = excluded.up_ms,
               connected_ms = excluded.connected_ms, power_dips = excluded.power_dips,
               power_dip_ms = excluded.power_dip_ms, uplink_dips = excluded.uplink_dips,
               uplink_dip_ms = excluded.uplink_dip_ms, printer_trouble_ms = excluded.printer_trouble_ms,
               clock_unsync_share = excluded.clock_unsync_share, outages = excluded.outages,
               computed_at = excluded.computed_at, wait_p50_ms = excluded.wait_p50_ms,
               wait_p90_ms = excluded.wait_p90_ms, rated_very_satisfied = excluded.rated_very_satisfied,
               rated_satisfied = excluded.rated_satisfied, rated_unsatisfied = excluded.rated_unsatisfied,
               rating_reasons = excluded.rating_reasons, officers = excluded.officers",
            &[
                &site, &day, &i(f.issued), &i(f.served), &i(f.skipped), &i(f.transferred),
                &f.waits_ms, &f.service_ms, &f.per_service.to_string(), &f.per_counter.to_string(),
                &f.open_ms, &f.up_ms, &f.connected_ms, &i(f.power_dips), &f.power_dip_ms,
                &i(f.uplink_dips), &f.uplink_dip_ms, &f.printer_trouble_ms, &f.clock_unsync_share,
                &f.outages.to_string(), &now,
                &figures::percentile(&f.waits_ms, 50.0), &figures::percentile(&f.waits_ms, 90.0),
                &i(p.ratings.very_satisfied), &i(p.ratings.satisfied), &i(p.ratings.unsatisfied),
                &reasons, &officers,
            ],
        )
        .await?;
    Ok(())
}

/// Figures of one site over a span of days, summed (what a report row or a dashboard
/// "this week" cell shows).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Span {
    pub sums: Sums,
    /// Sum of the daily unsynchronized shares and the number of days (for the mean).
    pub clock_unsync_sum: f64,
    pub days: i64,
}

impl Span {
    pub(crate) fn add(&mut self, o: &Span) {
        self.sums.add(&o.sums);
        self.clock_unsync_sum += o.clock_unsync_sum;
        self.days += o.days;
    }

    pub(crate) fn finish(&mut self) {
        self.sums.waits_ms.sort_unstable();
        self.sums.service_ms.sort_unstable();
    }

    pub(crate) fn clock_unsync_share(&self) -> f64 {
        if self.days > 0 {
            self.clock_unsync_sum / self.days as f64
        } else {
            0.0
        }
    }
}

/// Each site's figures for days `from..=to` ("YYYY-MM-DD"), added up (the raw durations
/// kept, so that medians are over the whole span, and sorted), and its ratings and
/// officers, handed to `each` one site at a time in site order as PostgreSQL streams the
/// rows: only one site's durations are held at once.
pub(crate) async fn each_site_week(
    client: &Client,
    from: &str,
    to: &str,
    mut each: impl FnMut(&str, Span, People),
) -> Result<(), tokio_postgres::Error> {
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&from, &to];
    let rows = client
        .query_raw(
            "SELECT site, issued, served, skipped, transferred, waits_ms, service_ms, open_ms, up_ms,
               connected_ms, power_dips, power_dip_ms, uplink_dips, uplink_dip_ms, printer_trouble_ms,
               clock_unsync_share, rated_very_satisfied, rated_satisfied, rated_unsatisfied,
               rating_reasons, officers
             FROM site_day WHERE day >= $1 AND day <= $2 ORDER BY site COLLATE \"C\", day",
            params,
        )
        .await?;
    futures_util::pin_mut!(rows);
    let mut current: Option<(String, Span, People)> = None;
    while let Some(r) = futures_util::TryStreamExt::try_next(&mut rows).await? {
        let site: &str = r.get(0);
        let sums = Sums {
            issued: i64::from(r.get::<_, i32>(1)),
            served: i64::from(r.get::<_, i32>(2)),
            skipped: i64::from(r.get::<_, i32>(3)),
            transferred: i64::from(r.get::<_, i32>(4)),
            waits_ms: r.get(5),
            service_ms: r.get(6),
            open_ms: r.get(7),
            up_ms: r.get(8),
            connected_ms: r.get(9),
            power_dips: i64::from(r.get::<_, i32>(10)),
            power_dip_ms: r.get(11),
            uplink_dips: i64::from(r.get::<_, i32>(12)),
            uplink_dip_ms: r.get(13),
            printer_trouble_ms: r.get(14),
        };
        let span = Span {
            sums,
            clock_unsync_sum: r.get(15),
            days: 1,
        };
        let people = People {
            ratings: rating_counts(&r, 16),
            officers: serde_json::from_str(r.get::<_, &str>(20)).unwrap_or_default(),
        };
        match &mut current {
            Some((s, sp, p)) if s == site => {
                sp.add(&span);
                p.add(&people);
            }
            _ => {
                if let Some((s, mut sp, p)) = current.replace((site.to_string(), span, people)) {
                    sp.finish();
                    each(&s, sp, p);
                }
            }
        }
    }
    if let Some((s, mut sp, p)) = current {
        sp.finish();
        each(&s, sp, p);
    }
    Ok(())
}

/// The median and p90 of every wait and of every service time of days `from..=to` at
/// the known sites, computed in PostgreSQL (the province's raw durations never leave it):
/// `[wait p50, wait p90, service p50, service p90]`, the same nearest rank as
/// `figures::percentile`.
pub(crate) async fn province_durations(
    client: &Client,
    from: &str,
    to: &str,
) -> Result<[Option<i64>; 4], tokio_postgres::Error> {
    let r = client
        .query_one(
            "SELECT
               (SELECT percentile_disc(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY w)
                  FROM site_day d, unnest(d.waits_ms) w
                 WHERE d.day >= $1 AND d.day <= $2 AND d.site IN (SELECT site FROM sites)),
               (SELECT percentile_disc(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY v)
                  FROM site_day d, unnest(d.service_ms) v
                 WHERE d.day >= $1 AND d.day <= $2 AND d.site IN (SELECT site FROM sites))",
            &[&from, &to],
        )
        .await?;
    let pair = |i: usize| -> [Option<i64>; 2] {
        let v: Option<Vec<Option<i64>>> = r.get(i);
        let v = v.unwrap_or_default();
        [v.first().copied().flatten(), v.get(1).copied().flatten()]
    };
    let (w, s) = (pair(0), pair(1));
    Ok([w[0], w[1], s[0], s[1]])
}

/// Site names and provinces.
pub(crate) async fn site_names(
    client: &Client,
) -> Result<Vec<(String, String, String)>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT site, province, name FROM sites ORDER BY site COLLATE \"C\"",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// The ratings columns of a `site_day` row (`rated_very_satisfied`, `rated_satisfied`,
/// `rated_unsatisfied`, `rating_reasons`) starting at column `at`; zeros when NULL (a
/// left join without a row).
pub(crate) fn rating_counts(r: &tokio_postgres::Row, at: usize) -> RatingCounts {
    let n = |k: usize| i64::from(r.get::<_, Option<i32>>(at + k).unwrap_or(0));
    RatingCounts {
        very_satisfied: n(0),
        satisfied: n(1),
        unsatisfied: n(2),
        reasons: r
            .get::<_, Option<&str>>(at + 3)
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default(),
    }
}

/// Per site, the ratings and officers of days `from..=to` ("YYYY-MM-DD") added up (the
/// raw durations kept, so that medians are over the whole span).
pub(crate) async fn people_spans(
    client: &Client,
    from: &str,
    to: &str,
    site: Option<&str>,
) -> Result<Vec<(String, People)>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT site, rated_very_satisfied, rated_satisfied, rated_unsatisfied, rating_reasons, officers
             FROM site_day WHERE day >= $1 AND day <= $2 AND ($3::text IS NULL OR site = $3)
             ORDER BY site, day",
            &[&from, &to, &site],
        )
        .await?;
    let mut out: Vec<(String, People)> = Vec::new();
    for r in rows {
        let site: String = r.get(0);
        let p = People {
            ratings: rating_counts(&r, 1),
            officers: serde_json::from_str(r.get::<_, &str>(5)).unwrap_or_default(),
        };
        match out.last_mut() {
            Some(l) if l.0 == site => l.1.add(&p),
            _ => out.push((site, p)),
        }
    }
    Ok(out)
}

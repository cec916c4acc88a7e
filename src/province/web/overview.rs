//! `GET /api/overview`: every center in one JSON document, written row by row as
//! PostgreSQL streams them (no row set and no JSON tree of 3,321 centers held at once).

use super::{db_err, fail, today, with_db, Shared};
use crate::province::figures::people::RatingCounts;
use crate::province::{report, store};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{pin_mut, TryStreamExt};
use serde::Serialize;
use serde_json::json;
use tokio_postgres::types::ToSql;

const QUERY: &str = "SELECT s.site, s.name, s.province, s.online, s.last_heard,
       (s.metrics::json->'totals'->>'waiting')::bigint,
       s.metrics::json->'printer'->>'state',
       t.issued, t.wait_p50_ms, w.open_ms, w.up_ms, w.connected_ms, w.dips,
       t.rated_very_satisfied, t.rated_satisfied, t.rated_unsatisfied, t.rating_reasons
     FROM sites s
     LEFT JOIN site_day t ON t.site = s.site AND t.day = $1
     LEFT JOIN (SELECT site, sum(open_ms)::bigint AS open_ms, sum(up_ms)::bigint AS up_ms,
                  sum(connected_ms)::bigint AS connected_ms,
                  sum(power_dips + uplink_dips)::bigint AS dips
                FROM site_day WHERE day >= $2 AND day <= $3 GROUP BY site) w ON w.site = s.site
     ORDER BY s.site";

/// One center's entry in `sites`, borrowed from its row.
#[derive(Serialize)]
struct Center<'a> {
    site: &'a str,
    name: &'a str,
    province: &'a str,
    online: bool,
    last_heard: Option<i64>,
    waiting_now: Option<i64>,
    printer: Option<&'a str>,
    tickets_today: i32,
    median_wait_today_ms: Option<i64>,
    availability_week: Option<f64>,
    connected_week: Option<f64>,
    dips_week: i64,
    /// Counts, or null without ratings (the JSON carries every center).
    ratings_today: Option<RatingCounts>,
}

/// `part / whole`, or null when there is no whole.
fn share(part: Option<i64>, whole: Option<i64>) -> Option<f64> {
    match (part, whole) {
        (Some(a), Some(b)) if b > 0 => Some(a as f64 / b as f64),
        _ => None,
    }
}

fn center(r: &tokio_postgres::Row) -> Center<'_> {
    let open: Option<i64> = r.get(9);
    let rated = store::rating_counts(r, 13);
    Center {
        site: r.get(0),
        name: r.get(1),
        province: r.get(2),
        online: r.get(3),
        last_heard: r.get(4),
        waiting_now: r.get(5),
        printer: r.get(6),
        tickets_today: r.get::<_, Option<i32>>(7).unwrap_or(0),
        median_wait_today_ms: r.get(8),
        availability_week: share(r.get(10), open),
        connected_week: share(r.get(11), open),
        dips_week: r.get::<_, Option<i64>>(12).unwrap_or(0),
        ratings_today: (rated.total() > 0).then_some(rated),
    }
}

pub(super) async fn overview(State(ctx): State<Shared>) -> Response {
    let now = crate::sys::wall_ms();
    let day = today(&ctx.cfg, now);
    let week = report::week_of(day);
    let Ok((mon, sun)) = report::parse_week(&week) else {
        return fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("bad week {week}"),
        );
    };
    let (d, m, s) = (day.to_string(), mon.to_string(), sun.to_string());
    let body = with_db(&ctx, |c| {
        let (d, m, s, week) = (d.clone(), m.clone(), s.clone(), week.clone());
        Box::pin(async move {
            let params: [&(dyn ToSql + Sync); 3] = [&d, &m, &s];
            let rows = c.query_raw(QUERY, params).await.map_err(db_err)?;
            pin_mut!(rows);
            let mut out = Vec::with_capacity(64 * 1024);
            out.extend_from_slice(b"{\"sites\":[");
            let mut province = RatingCounts::default();
            let mut first = true;
            while let Some(r) = rows.try_next().await.map_err(db_err)? {
                let c = center(&r);
                if let Some(rated) = &c.ratings_today {
                    province.add(rated);
                }
                if !first {
                    out.push(b',');
                }
                first = false;
                serde_json::to_writer(&mut out, &c).map_err(|e| e.to_string())?;
            }
            // The other fields, known once every center is read: `{…}` without its `{`.
            let rest = serde_json::to_vec(&json!({
                "generated_at": now, "day": d, "week": week,
                "ratings_today": province.to_board(),
                "satisfied_share_today": province.satisfied_share(),
            }))
            .map_err(|e| e.to_string())?;
            out.extend_from_slice(b"],");
            out.extend_from_slice(rest.get(1..).unwrap_or_default());
            Ok(out)
        })
    })
    .await;
    match body {
        Ok(b) => ([(header::CONTENT_TYPE, "application/json")], b).into_response(),
        Err(resp) => resp,
    }
}

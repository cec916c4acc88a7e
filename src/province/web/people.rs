//! A center's citizens' ratings and officers for a day or an ISO week:
//! `GET /api/sites/{id}/people?day=YYYY-MM-DD | week=YYYY-Www` (default: today), in the
//! board's daily report shapes so that both read alike.

use super::{db_err, fail, one_center, today, Shared};
use crate::core::time::Day;
use crate::province::{report, store};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
pub(super) struct Span {
    day: Option<String>,
    week: Option<String>,
}

pub(super) async fn people(
    State(ctx): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<Span>,
) -> Result<Response, Response> {
    let (from, to, label) = match (&q.day, &q.week) {
        (Some(_), Some(_)) => {
            return Err(fail(
                StatusCode::BAD_REQUEST,
                "give either day=YYYY-MM-DD or week=YYYY-Www, not both".into(),
            ))
        }
        (None, Some(w)) => match report::parse_week(w) {
            Ok((mon, sun)) => (mon, sun, json!({"week": w})),
            Err(e) => return Err(fail(StatusCode::BAD_REQUEST, e)),
        },
        (Some(d), None) => match d.parse::<Day>() {
            Ok(d) => (d, d, json!({"day": d.to_string()})),
            Err(_) => {
                return Err(fail(
                    StatusCode::BAD_REQUEST,
                    format!("day \"{d}\": give a date like 2026-12-01"),
                ))
            }
        },
        (None, None) => {
            let d = today(&ctx.cfg, crate::sys::wall_ms());
            (d, d, json!({"day": d.to_string()}))
        }
    };
    let (f, t) = (from.to_string(), to.to_string());
    let id2 = id.clone();
    let (site, spans) = one_center(&ctx, &id, "name, province", |c| {
        let (id, f, t) = (id2.clone(), f.clone(), t.clone());
        Box::pin(async move {
            store::people_spans(c, &f, &t, Some(&id))
                .await
                .map_err(db_err)
        })
    })
    .await?;
    let p = spans.into_iter().next().map(|(_, p)| p).unwrap_or_default();
    let mut out = json!({
        "site": id,
        "name": site.get::<_, String>(0),
        "province": site.get::<_, String>(1),
        "from": from.to_string(),
        "to": to.to_string(),
        "ratings": p.ratings.to_board(),
        "satisfied_share": p.ratings.satisfied_share(),
        "officers": p.officer_figures(),
    });
    if let (Some(o), Some(l)) = (out.as_object_mut(), label.as_object()) {
        o.extend(l.clone());
    }
    Ok(Json(out).into_response())
}

//! The province dashboard over HTTP (axum): `/` every center in one table, `/site/{id}`
//! a center's last 14 days, their JSON (`/api/overview`, `/api/sites/{id}`; a center's
//! ratings and officers in `people.rs`), and the weekly report download (`/report?week=2026-W49&format=xlsx|csv`). Pages are embedded
//! (no external assets); Vietnamese by default, English on a toggle.

mod overview;
mod people;

use super::config::ProvinceConfig;
use super::figures::percentile;
use super::{report, store};
use crate::core::time::{Day, DayRule};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::sync::{watch, RwLock};
use tokio_postgres::Client;

const DASHBOARD: &str = include_str!("assets/dashboard.html");
const SITE: &str = include_str!("assets/site.html");

struct Ctx {
    cfg: ProvinceConfig,
    db: RwLock<Client>,
}

type Shared = Arc<Ctx>;

/// Bind and serve in the background; the error says when the address cannot be used.
pub(crate) async fn spawn(
    cfg: ProvinceConfig,
    stop: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {} for the dashboard: {e}; change [web] listen",
                cfg.listen
            )
        })?;
    let mut stop2 = stop.clone();
    let Some(client) = super::collector::connect_retrying(&cfg.database_url, &mut stop2).await
    else {
        return Ok(tokio::spawn(async {}));
    };
    tracing::info!(listen = %cfg.listen, "dashboard listening");
    let ctx = Arc::new(Ctx {
        cfg,
        db: RwLock::new(client),
    });
    let app = router(ctx);
    Ok(tokio::spawn(async move {
        let mut stop = stop;
        let r = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
        if let Err(e) = r {
            tracing::error!(%e, "dashboard server ended");
        }
    }))
}

fn router(ctx: Shared) -> Router {
    Router::new()
        .route("/", get(|| async { Html(DASHBOARD) }))
        .route("/site/{id}", get(|| async { Html(SITE) }))
        .route("/api/overview", get(overview::overview))
        .route("/api/sites/{id}", get(site))
        .route("/api/sites/{id}/people", get(people::people))
        .route("/report", get(report_download))
        .with_state(ctx)
}

fn fail(status: StatusCode, msg: String) -> Response {
    (status, Json(json!({"error": msg}))).into_response()
}

/// Run a query with the shared client; reconnect once when the connection is gone.
async fn with_db<T, F>(ctx: &Ctx, f: F) -> Result<T, Response>
where
    F: for<'a> Fn(
        &'a Client,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<T, String>> + Send + 'a>,
    >,
{
    {
        let c = ctx.db.read().await;
        if !c.is_closed() {
            return f(&c)
                .await
                .map_err(|e| fail(StatusCode::SERVICE_UNAVAILABLE, e));
        }
    }
    let mut w = ctx.db.write().await;
    if w.is_closed() {
        match super::db::connect(&ctx.cfg.database_url).await {
            Ok(c) => *w = c,
            Err(e) => return Err(fail(StatusCode::SERVICE_UNAVAILABLE, e)),
        }
    }
    f(&w)
        .await
        .map_err(|e| fail(StatusCode::SERVICE_UNAVAILABLE, e))
}

fn today(cfg: &ProvinceConfig, now: i64) -> Day {
    DayRule {
        utc_offset_minutes: cfg.hours.utc_offset_min,
        day_start_minutes: 0,
    }
    .local_date(now)
}

/// One center's `sites` row (the `columns` asked for) and what `more` reads for it, or
/// the response to send: the database's error, or 404 when there is no such center.
async fn one_center<T, F>(
    ctx: &Ctx,
    id: &str,
    columns: &str,
    more: F,
) -> Result<(tokio_postgres::Row, T), Response>
where
    T: Send + 'static,
    F: for<'a> Fn(
        &'a Client,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<T, String>> + Send + 'a>,
    >,
{
    let sql = format!("SELECT {columns} FROM sites WHERE site = $1");
    let r = with_db(ctx, |c| {
        let (sql, id, more) = (sql.clone(), id.to_string(), more(c));
        Box::pin(async move {
            let site = c.query_opt(&sql, &[&id]).await.map_err(db_err)?;
            Ok((site, more.await?))
        })
    })
    .await?;
    match r {
        (Some(site), rest) => Ok((site, rest)),
        (None, _) => Err(fail(
            StatusCode::NOT_FOUND,
            format!("no center with id \"{id}\"; the list is at /api/overview"),
        )),
    }
}

fn db_err(e: tokio_postgres::Error) -> String {
    format!("database: {e}")
}

async fn site(State(ctx): State<Shared>, Path(id): Path<String>) -> Result<Response, Response> {
    let now = crate::sys::wall_ms();
    let day = today(&ctx.cfg, now);
    let from = Day(day.0 - 13).to_string();
    let id2 = id.clone();
    let columns = "name, province, online, last_heard, status_at";
    let (site, days) = one_center(&ctx, &id, columns, |c| {
        let (id, from) = (id2.clone(), from.clone());
        Box::pin(async move {
            c.query(
                "SELECT day, issued, served, skipped, transferred, waits_ms, service_ms, open_ms, up_ms,
                   connected_ms, power_dips, power_dip_ms, uplink_dips, uplink_dip_ms, printer_trouble_ms, outages,
                   per_service, per_counter, clock_unsync_share,
                   rated_very_satisfied, rated_satisfied, rated_unsatisfied, rating_reasons
                 FROM site_day WHERE site = $1 AND day >= $2 ORDER BY day",
                &[&id, &from],
            )
            .await
            .map_err(db_err)
        })
    })
    .await?;
    let mut outages = Vec::new();
    let days: Vec<Value> = days
        .iter()
        .map(|r| {
            let waits: Vec<i64> = r.get(5);
            let service: Vec<i64> = r.get(6);
            let open: i64 = r.get(7);
            let sh = |x: i64| if open > 0 { json!(x as f64 / open as f64) } else { Value::Null };
            if let Ok(Value::Array(list)) = serde_json::from_str::<Value>(r.get::<_, &str>(15)) {
                outages.extend(list);
            }
            json!({
                "day": r.get::<_, String>(0),
                "issued": r.get::<_, i32>(1), "served": r.get::<_, i32>(2),
                "skipped": r.get::<_, i32>(3), "transferred": r.get::<_, i32>(4),
                "wait_p50_ms": percentile(&waits, 50.0), "wait_p90_ms": percentile(&waits, 90.0),
                "service_p50_ms": percentile(&service, 50.0), "service_p90_ms": percentile(&service, 90.0),
                "open_ms": open, "availability": sh(r.get(8)), "connected": sh(r.get(9)),
                "power_dips": r.get::<_, i32>(10), "power_dip_ms": r.get::<_, i64>(11),
                "uplink_dips": r.get::<_, i32>(12), "uplink_dip_ms": r.get::<_, i64>(13),
                "printer_trouble_ms": r.get::<_, i64>(14),
                "per_service": serde_json::from_str::<Value>(r.get::<_, &str>(16)).unwrap_or(Value::Null),
                "per_counter": serde_json::from_str::<Value>(r.get::<_, &str>(17)).unwrap_or(Value::Null),
                "clock_unsync_share": r.get::<_, f64>(18),
                "ratings": store::rating_counts(r, 19),
            })
        })
        .collect();
    outages.sort_by_key(|o| o["from"].as_i64());
    outages.dedup();
    Ok(Json(json!({
        "site": id,
        "name": site.get::<_, String>(0),
        "province": site.get::<_, String>(1),
        "online": site.get::<_, bool>(2),
        "last_heard": site.get::<_, Option<i64>>(3),
        "today": day.to_string(),
        "week": report::week_of(day),
        "days": days,
        "outages": outages,
    }))
    .into_response())
}

#[derive(Deserialize)]
struct ReportQuery {
    week: Option<String>,
    format: Option<String>,
}

async fn report_download(State(ctx): State<Shared>, Query(q): Query<ReportQuery>) -> Response {
    let week = q
        .week
        .unwrap_or_else(|| report::week_of(today(&ctx.cfg, crate::sys::wall_ms())));
    if let Err(e) = report::parse_week(&week) {
        return fail(StatusCode::BAD_REQUEST, e);
    }
    let format = q.format.unwrap_or_else(|| "xlsx".into());
    if format != "xlsx" && format != "csv" {
        return fail(
            StatusCode::BAD_REQUEST,
            format!("format \"{format}\": use xlsx or csv"),
        );
    }
    let w2 = week.clone();
    let rows = match with_db(&ctx, |c| {
        let w = w2.clone();
        Box::pin(async move { report::build(c, &w).await })
    })
    .await
    {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let (bytes, mime) = if format == "csv" {
        (report::to_csv(&rows), "text/csv; charset=utf-8")
    } else {
        // Row by row through a temporary file: off the async workers.
        let w = week.clone();
        let made = tokio::task::spawn_blocking(move || report::to_xlsx(&rows, &w))
            .await
            .unwrap_or_else(|e| Err(format!("the XLSX report task failed: {e}")));
        match made {
            Ok(b) => (
                b,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            Err(e) => return fail(StatusCode::INTERNAL_SERVER_ERROR, e),
        }
    };
    let disp = format!("attachment; filename=\"layso-{week}.{format}\"");
    (
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (header::CONTENT_DISPOSITION, disp),
        ],
        bytes,
    )
        .into_response()
}

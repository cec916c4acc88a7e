//! PostgreSQL access for the province side: connecting, versioned migrations applied at
//! start, the idempotent batch insert of events (keyed by (site, seq), `ON CONFLICT DO
//! NOTHING`), status and metrics upkeep, and the contiguity bookkeeping behind gap
//! re-send requests.

use tokio_postgres::{Client, NoTls, Transaction};

/// Migrations in order; version N is `MIGRATIONS[N-1]`. Never edit a released one: add one.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_ratings_officers.sql"),
];

/// Connect; the connection task runs on the current runtime and ends with the client.
pub(crate) async fn connect(url: &str) -> Result<Client, String> {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.map_err(|e| {
        format!(
            "cannot connect to PostgreSQL at {}: {e}; check [database] url or DATABASE_URL",
            super::config::redact(url)
        )
    })?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::warn!(%e, "PostgreSQL connection ended");
        }
    });
    Ok(client)
}

/// Apply the migrations not yet applied, each in its own transaction, under an advisory
/// lock so that two collectors starting together do not race. Returns the version.
pub(crate) async fn migrate(client: &mut Client) -> Result<usize, String> {
    let e = |what: &str, err: tokio_postgres::Error| format!("migration: {what}: {err}");
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS layso_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .map_err(|x| e("create layso_schema", x))?;
    let tx = client.transaction().await.map_err(|x| e("begin", x))?;
    tx.execute("SELECT pg_advisory_xact_lock(7410)", &[])
        .await
        .map_err(|x| e("lock", x))?;
    let row = tx
        .query_one("SELECT coalesce(max(version), 0) FROM layso_schema", &[])
        .await
        .map_err(|x| e("read version", x))?;
    let have: i32 = row.get(0);
    let have = have.max(0) as usize;
    if have > MIGRATIONS.len() {
        return Err(format!(
            "the database schema is version {have} but this layso knows only up to {}; run a newer layso",
            MIGRATIONS.len()
        ));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(have) {
        tx.batch_execute(sql)
            .await
            .map_err(|x| e(&format!("version {}", i + 1), x))?;
        tx.execute(
            "INSERT INTO layso_schema (version) VALUES ($1)",
            &[&((i + 1) as i32)],
        )
        .await
        .map_err(|x| e("record version", x))?;
        tracing::info!(version = i + 1, "database schema migrated");
    }
    tx.commit().await.map_err(|x| e("commit", x))?;
    Ok(MIGRATIONS.len())
}

/// One event row.
#[derive(Debug, Clone)]
pub(crate) struct EventRow {
    pub site: String,
    pub seq: i64,
    pub at: i64,
    pub day: String,
    pub kind: String,
    pub clock_ok: bool,
    pub body: String,
}

/// A site's status message.
#[derive(Debug, Clone)]
pub(crate) struct StatusRow {
    pub site: String,
    pub province: String,
    pub name: String,
    pub online: bool,
    pub at: i64,
    pub reason: Option<String>,
}

/// Everything one collector batch writes, committed in one transaction.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub events: Vec<EventRow>,
    pub statuses: Vec<StatusRow>,
    /// (site, province, metrics JSON, at, published seq)
    pub metrics: Vec<(String, String, String, i64, i64)>,
    /// (site, province) of every events message.
    pub seen: Vec<(String, String)>,
    /// (site, day) whose figures change besides the events' own days (outages).
    pub dirty: Vec<(String, String)>,
}

/// Write a batch; returns the number of new event rows. Rows are sorted by key so that
/// two collectors writing overlapping batches lock in the same order.
pub(crate) async fn write_batch(
    client: &mut Client,
    b: &mut Batch,
    now: i64,
) -> Result<u64, tokio_postgres::Error> {
    b.events
        .sort_by(|x, y| (&x.site, x.seq).cmp(&(&y.site, y.seq)));
    let tx = client.transaction().await?;
    let inserted = insert_events(&tx, &b.events, now).await?;
    // Per site (in key order): province, max seq; last heard is now.
    let mut sites: std::collections::BTreeMap<&str, (&str, i64)> = Default::default();
    for (site, prov) in &b.seen {
        sites.entry(site.as_str()).or_insert((prov.as_str(), 0));
    }
    for e in &b.events {
        if let Some(s) = sites.get_mut(e.site.as_str()) {
            s.1 = s.1.max(e.seq);
        }
    }
    let names: Vec<&str> = sites.keys().copied().collect();
    let provs: Vec<&str> = sites.values().map(|s| s.0).collect();
    let maxes: Vec<i64> = sites.values().map(|s| s.1).collect();
    tx.execute(
        "INSERT INTO sites (site, province, last_heard, max_seq)
         SELECT s, p, $4, m FROM unnest($1::text[], $2::text[], $3::int8[]) AS t(s, p, m)
         ON CONFLICT (site) DO UPDATE SET province = excluded.province,
           last_heard = greatest(sites.last_heard, excluded.last_heard),
           max_seq = greatest(sites.max_seq, excluded.max_seq)",
        &[&names, &provs, &maxes, &now],
    )
    .await?;
    let mut days: Vec<(&str, &str)> = b
        .events
        .iter()
        .map(|e| (e.site.as_str(), e.day.as_str()))
        .collect();
    days.extend(b.dirty.iter().map(|(s, d)| (s.as_str(), d.as_str())));
    days.sort();
    days.dedup();
    let ds: Vec<&str> = days.iter().map(|d| d.0).collect();
    let dd: Vec<&str> = days.iter().map(|d| d.1).collect();
    tx.execute(
        "INSERT INTO dirty_days (site, day) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING",
        &[&ds, &dd],
    )
    .await?;
    b.statuses
        .sort_by(|x, y| (&x.site, x.at).cmp(&(&y.site, y.at)));
    for s in &b.statuses {
        write_status(&tx, s, now).await?;
    }
    b.metrics.sort();
    for (site, prov, json, at, published) in &b.metrics {
        tx.execute(
            "INSERT INTO sites (site, province, metrics, metrics_at, last_heard, max_seq) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (site) DO UPDATE SET metrics = excluded.metrics, metrics_at = excluded.metrics_at,
               last_heard = greatest(sites.last_heard, excluded.last_heard),
               max_seq = greatest(sites.max_seq, excluded.max_seq)
             WHERE sites.metrics_at IS NULL OR sites.metrics_at <= excluded.metrics_at",
            &[site, prov, json, at, &now, published],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(inserted)
}

async fn insert_events(
    tx: &Transaction<'_>,
    rows: &[EventRow],
    now: i64,
) -> Result<u64, tokio_postgres::Error> {
    if rows.is_empty() {
        return Ok(0);
    }
    let site: Vec<&str> = rows.iter().map(|r| r.site.as_str()).collect();
    let seq: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    let at: Vec<i64> = rows.iter().map(|r| r.at).collect();
    let day: Vec<&str> = rows.iter().map(|r| r.day.as_str()).collect();
    let kind: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    let ok: Vec<bool> = rows.iter().map(|r| r.clock_ok).collect();
    let body: Vec<&str> = rows.iter().map(|r| r.body.as_str()).collect();
    tx.execute(
        "INSERT INTO events (site, seq, at, day, kind, clock_ok, body, received_at)
         SELECT s, q, a, d, k, c, b, $8 FROM unnest($1::text[], $2::int8[], $3::int8[], $4::text[], $5::text[], $6::bool[], $7::text[])
           AS t(s, q, a, d, k, c, b)
         ON CONFLICT (site, seq) DO NOTHING",
        &[&site, &seq, &at, &day, &kind, &ok, &body, &now],
    )
    .await
}

/// Record a status message; the history gets a row only when something changed (the
/// retained status comes again on every subscription).
async fn write_status(
    tx: &Transaction<'_>,
    s: &StatusRow,
    now: i64,
) -> Result<(), tokio_postgres::Error> {
    let prev = tx
        .query_opt(
            "SELECT online, status_at FROM sites WHERE site = $1",
            &[&s.site],
        )
        .await?;
    let changed = match &prev {
        None => true,
        Some(r) => {
            let online: bool = r.get(0);
            let at: Option<i64> = r.get(1);
            online != s.online || (s.online && at != Some(s.at))
        }
    };
    if !changed {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO status_history (site, at, online, reason) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        &[&s.site, &s.at, &s.online, &s.reason],
    )
    .await?;
    tx.execute(
        "INSERT INTO sites (site, province, name, online, status_at, last_heard) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (site) DO UPDATE SET province = excluded.province,
           name = CASE WHEN excluded.name = '' THEN sites.name ELSE excluded.name END,
           online = excluded.online, status_at = excluded.status_at,
           last_heard = greatest(sites.last_heard, excluded.last_heard)",
        &[&s.site, &s.province, &s.name, &s.online, &s.at, &now],
    )
    .await?;
    Ok(())
}

/// A site above its contiguous mark: (site, province, contiguous, max seq known to
/// exist, where to walk from, the stored rows after that as (seq, is store_recovered)).
pub(crate) type SiteTail = (String, String, i64, i64, i64, Vec<(i64, bool)>);

/// Sites with seqs above their contiguous mark. One aggregate row per site; a site whose
/// stored seqs above the mark are all there (count = span) needs no rows; only sites
/// with a hole get their seqs read (at most `limit` per site).
pub(crate) async fn gaps(
    client: &Client,
    limit: i64,
) -> Result<Vec<SiteTail>, tokio_postgres::Error> {
    let sums = client
        .query(
            "SELECT s.site, s.province, s.contiguous, s.max_seq, count(e.seq), max(e.seq)
             FROM sites s LEFT JOIN events e ON e.site = s.site AND e.seq > s.contiguous
             WHERE s.max_seq > s.contiguous
             GROUP BY s.site, s.province, s.contiguous, s.max_seq
             ORDER BY s.site",
            &[],
        )
        .await?;
    let mut out: Vec<SiteTail> = Vec::with_capacity(sums.len());
    for r in sums {
        let (site, prov): (String, String) = (r.get(0), r.get(1));
        let (c, max_seq, n): (i64, i64, i64) = (r.get(2), r.get(3), r.get(4));
        let top: Option<i64> = r.get(5);
        match top {
            Some(top) if top - c == n => out.push((site, prov, c, max_seq, top, Vec::new())),
            None => out.push((site, prov, c, max_seq, c, Vec::new())),
            Some(_) => {
                let rows = client
                    .query(
                        "SELECT seq, kind = 'store_recovered' FROM events
                         WHERE site = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                        &[&site, &c, &limit],
                    )
                    .await?;
                let after = rows.iter().map(|x| (x.get(0), x.get(1))).collect();
                out.push((site, prov, c, max_seq, c, after));
            }
        }
    }
    Ok(out)
}

/// Move contiguous marks forward (never back).
pub(crate) async fn set_contiguous(
    client: &Client,
    marks: &[(String, i64)],
) -> Result<(), tokio_postgres::Error> {
    if marks.is_empty() {
        return Ok(());
    }
    let s: Vec<&str> = marks.iter().map(|m| m.0.as_str()).collect();
    let c: Vec<i64> = marks.iter().map(|m| m.1).collect();
    client
        .execute(
            "UPDATE sites SET contiguous = greatest(sites.contiguous, t.c)
             FROM unnest($1::text[], $2::int8[]) AS t(s, c) WHERE sites.site = t.s",
            &[&s, &c],
        )
        .await?;
    Ok(())
}

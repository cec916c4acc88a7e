//! Messages from the broker → rows for PostgreSQL (pure): topic split, JSON parse, one
//! `EventRow` per event, the status and metrics rows, and the site-days an outage makes
//! dirty. Malformed messages are logged and skipped.

use super::config::ProvinceConfig;
use super::db::{Batch, EventRow, StatusRow};
use crate::core::time::Day;
use rumqttc::v5::mqttbytes::v5::Publish;
use serde_json::Value;

/// `{prefix}/{province}/{site}/{leaf}` → (province, site, leaf).
fn split_topic<'a>(prefix: &str, topic: &'a str) -> Option<(&'a str, &'a str, &'a str)> {
    let rest = topic.strip_prefix(prefix)?.strip_prefix('/')?;
    let mut it = rest.split('/');
    let (p, s, l) = (it.next()?, it.next()?, it.next()?);
    it.next().is_none().then_some((p, s, l))
}

pub(crate) fn day_text(day: Day) -> String {
    day.to_string()
}

/// Turn the received messages into rows. Malformed messages are logged and dropped
/// (they are still acknowledged: sending them again would not make them valid).
pub(crate) fn to_batch<'a>(
    cfg: &ProvinceConfig,
    pubs: impl IntoIterator<Item = &'a Publish>,
    now: i64,
) -> Batch {
    let mut b = Batch::default();
    for p in pubs {
        let Ok(topic) = std::str::from_utf8(&p.topic) else {
            continue;
        };
        let Some((prov, site, leaf)) = split_topic(&cfg.prefix, topic) else {
            tracing::warn!(%topic, "message on an unexpected topic ignored");
            continue;
        };
        let v: Value = match serde_json::from_slice(&p.payload) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(%topic, %e, "message that is not JSON ignored");
                continue;
            }
        };
        match leaf {
            "events" => {
                b.seen.push((site.to_string(), prov.to_string()));
                for e in v
                    .get("events")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(row) = event_row(cfg, site, e, &mut b.dirty) {
                        b.events.push(row);
                    }
                }
            }
            "status" => {
                let online = v.get("online").and_then(Value::as_bool).unwrap_or(false);
                b.statuses.push(StatusRow {
                    site: site.to_string(),
                    province: prov.to_string(),
                    name: v
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    online,
                    at: v.get("at").and_then(Value::as_i64).unwrap_or(now),
                    reason: v.get("reason").and_then(Value::as_str).map(str::to_string),
                });
            }
            "metrics" => {
                let at = v.get("at").and_then(Value::as_i64).unwrap_or(now);
                let published = v
                    .pointer("/backlog/published_seq")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                b.metrics.push((
                    site.to_string(),
                    prov.to_string(),
                    v.to_string(),
                    at,
                    published,
                ));
            }
            _ => {}
        }
    }
    b
}

fn event_row(
    cfg: &ProvinceConfig,
    site: &str,
    e: &Value,
    dirty: &mut Vec<(String, String)>,
) -> Option<EventRow> {
    if e.get("site")
        .and_then(Value::as_str)
        .is_some_and(|s| s != site)
    {
        tracing::warn!(%site, "an event naming another site was ignored");
        return None;
    }
    let seq = e.get("seq").and_then(Value::as_i64).filter(|s| *s > 0)?;
    let at = e.get("at").and_then(Value::as_i64).unwrap_or(0);
    let kind = e
        .pointer("/event/kind")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let rule = crate::core::time::DayRule {
        utc_offset_minutes: cfg.hours.utc_offset_min,
        day_start_minutes: 0,
    };
    let day = e
        .get("day")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| day_text(rule.local_date(at)));
    if kind == "power_restored" || kind == "uplink_restored" {
        let from = e
            .pointer("/event/down_from")
            .and_then(Value::as_i64)
            .unwrap_or(at);
        let to = e
            .pointer("/event/down_to")
            .and_then(Value::as_i64)
            .unwrap_or(at);
        // Every day the outage covers (bounded: a month at most).
        let (mut d, last) = (rule.local_date(from.min(to)), rule.local_date(to));
        for _ in 0..31 {
            dirty.push((site.to_string(), day_text(d)));
            if d >= last {
                break;
            }
            d = d.next();
        }
    }
    Some(EventRow {
        site: site.to_string(),
        seq,
        at,
        day,
        kind: kind.to_string(),
        clock_ok: e.get("clock_ok").and_then(Value::as_bool).unwrap_or(true),
        body: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_split() {
        assert_eq!(
            split_topic("layso/v1", "layso/v1/hcm/a-1/events"),
            Some(("hcm", "a-1", "events"))
        );
        assert_eq!(split_topic("layso/v1", "layso/v1/hcm/a-1/x/events"), None);
        assert_eq!(split_topic("layso/v1", "other/hcm/a/events"), None);
    }
}

//! The uplink's own state for the status page (`GET /api/v1/state` → `uplink`): what the
//! shell reports about itself.

use super::Shell;
use serde_json::json;
use std::time::Duration;
use tokio::time::Instant;

impl Shell {
    /// Update the JSON shown by `GET /api/v1/state` (at most twice a second unless forced).
    pub(super) fn refresh_status(&mut self, force: bool) {
        if !force
            && self
                .status_refreshed
                .is_some_and(|t| t.elapsed() < Duration::from_millis(500))
        {
            return;
        }
        self.status_refreshed = Some(Instant::now());
        let (count, oldest) = self.reader.backlog().unwrap_or((0, None));
        let now = crate::sys::wall_ms();
        let refusing = self.refusals.refusing(self.outbox.paused(now));
        let v = json!({
            "broker": self.broker(),
            "tls": self.s.tls.is_some(),
            "client_id": self.s.client_id,
            "topic_root": self.s.topic_root,
            "connected": self.connected_since.is_some(),
            "connected_since": self.connected_since,
            "down_since": self.outage.down_since(),
            "connections": self.reconnects,
            "last_error": self.last_error.as_ref().map(|(at, e)| json!({"at": at, "message": e})),
            "published_seq": self.outbox.cursor(),
            "in_flight": self.outbox.in_flight(),
            "backlog": {"count": count, "oldest_at": oldest},
            "refusing": refusing,
            "refusals": self.refusals.count(),
            "last_refusal": self.refusals.last().map(|r| json!({
                "at": r.at, "message": r.message, "reason": r.reason,
                "topic": self.s.topic(r.message),
            })),
            "last_metrics_at": self.last_metrics_at,
        });
        let _ = self.status_tx.send(Some(v));
    }
}

//! The uplink's own state for the status page (`GET /api/v1/state` → `uplink`) and the
//! names of MQTT 5 PUBACK reason codes: what the shell reports about itself.

use super::Shell;
use rumqttc::v5::mqttbytes::v5::PubAckReason;
use serde_json::json;
use std::time::Duration;
use tokio::time::Instant;

pub(super) fn reason_name(r: PubAckReason) -> &'static str {
    match r {
        PubAckReason::Success => "success",
        PubAckReason::NoMatchingSubscribers => "no_matching_subscribers",
        PubAckReason::UnspecifiedError => "unspecified_error",
        PubAckReason::ImplementationSpecificError => "implementation_specific_error",
        PubAckReason::NotAuthorized => "not_authorized",
        PubAckReason::TopicNameInvalid => "topic_name_invalid",
        PubAckReason::PacketIdentifierInUse => "packet_identifier_in_use",
        PubAckReason::QuotaExceeded => "quota_exceeded",
        PubAckReason::PayloadFormatInvalid => "payload_format_invalid",
    }
}

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
        let refusing = match (&self.last_refusal, self.last_accept_at) {
            (Some((at, _, _)), Some(ok)) => *at > ok,
            (Some(_), None) => true,
            _ => false,
        } || self.outbox.paused(now);
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
            "refusals": self.refusals,
            "last_refusal": self.last_refusal.as_ref().map(|(at, msg, why)| json!({
                "at": at, "message": msg, "reason": why,
                "topic": self.s.topic(msg),
            })),
            "last_metrics_at": self.last_metrics_at,
        });
        let _ = self.status_tx.send(Some(v));
    }
}

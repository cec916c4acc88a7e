//! What a broker's PUBACK means for the uplink (its verdict) and the refusal state
//! (refusing or not, the last refusal, when to retry). Pure: time and randomness are
//! arguments; the shell only feeds reason codes in and reads the state back.

use super::protocol::{Ack, Backoff, Slot};
use rumqttc::v5::mqttbytes::v5::PubAckReason;

/// The reason code's name as shown on the status page and in logs.
pub(crate) fn reason_name(r: PubAckReason) -> &'static str {
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

/// Whether the broker's answer counts as delivery. "No matching subscribers" holds only
/// event batches back, and only when `hold_without_subscribers` is set; status and
/// metrics are live figures, so for them it is delivery. Every other non-success code
/// (refused by the ACL, quota, bad topic …) is a refusal.
pub(crate) fn verdict(
    reason: PubAckReason,
    slot: Option<Slot>,
    hold_without_subscribers: bool,
) -> Ack {
    let hold = hold_without_subscribers && matches!(slot, Some(Slot::Batch(_)));
    match reason {
        PubAckReason::Success => Ack::Accepted,
        PubAckReason::NoMatchingSubscribers if !hold => Ack::Accepted,
        other => Ack::Refused(reason_name(other).to_string()),
    }
}

/// One refused message: when, which kind (`events`, `status`, `metrics`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) at: i64,
    pub(crate) message: &'static str,
    pub(crate) reason: String,
}

/// The uplink's refusal state: how many refusals, the last one, the last accepted
/// message, and the backoff that spaces retries of a refused batch.
#[derive(Debug, Clone, Default)]
pub(crate) struct Refusals {
    backoff: Backoff,
    last: Option<Refusal>,
    last_accept_at: Option<i64>,
    count: u64,
}

impl Refusals {
    /// When to retry after `verdict` at `now_ms`: `now_ms` for an accepted message, later
    /// (by the refusal backoff; `random` is any uniformly random u64) for a refused one.
    pub(crate) fn retry_at(&mut self, verdict: &Ack, now_ms: i64, random: u64) -> i64 {
        match verdict {
            Ack::Accepted => now_ms,
            Ack::Refused(_) => now_ms + self.backoff.next_delay(random).as_millis() as i64,
        }
    }

    /// The cursor advanced: the broker accepts again; the next refusal waits 1 s again.
    pub(crate) fn accepted(&mut self, now_ms: i64) {
        self.backoff.reset();
        self.last_accept_at = Some(now_ms);
    }

    /// The broker refused a `slot` message for `reason`.
    pub(crate) fn refused(&mut self, now_ms: i64, slot: Slot, reason: String) {
        self.count += 1;
        self.last = Some(Refusal {
            at: now_ms,
            message: slot.name(),
            reason,
        });
    }

    /// Refusing: the last answer that mattered was a refusal, or sending is `paused`
    /// (by [`super::protocol::Outbox::paused`]) until a retry time.
    pub(crate) fn refusing(&self, paused: bool) -> bool {
        let last_was_refusal = match (&self.last, self.last_accept_at) {
            (Some(r), Some(ok)) => r.at > ok,
            (Some(_), None) => true,
            _ => false,
        };
        last_was_refusal || paused
    }

    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    pub(crate) fn last(&self) -> Option<&Refusal> {
        self.last.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_is_accepted_for_every_kind() {
        for slot in [
            Some(Slot::Batch(1)),
            Some(Slot::Status),
            Some(Slot::Metrics),
            None,
        ] {
            assert_eq!(verdict(PubAckReason::Success, slot, true), Ack::Accepted);
        }
    }

    #[test]
    fn no_subscribers_holds_only_batches_and_only_when_configured() {
        let r = PubAckReason::NoMatchingSubscribers;
        assert_eq!(
            verdict(r, Some(Slot::Batch(7)), true),
            Ack::Refused("no_matching_subscribers".into())
        );
        assert_eq!(verdict(r, Some(Slot::Batch(7)), false), Ack::Accepted);
        assert_eq!(verdict(r, Some(Slot::Status), true), Ack::Accepted);
        assert_eq!(verdict(r, Some(Slot::Metrics), true), Ack::Accepted);
    }

    #[test]
    fn acl_and_other_errors_are_refusals() {
        for (r, name) in [
            (PubAckReason::NotAuthorized, "not_authorized"),
            (PubAckReason::QuotaExceeded, "quota_exceeded"),
            (PubAckReason::TopicNameInvalid, "topic_name_invalid"),
            (PubAckReason::UnspecifiedError, "unspecified_error"),
        ] {
            assert_eq!(
                verdict(r, Some(Slot::Status), false),
                Ack::Refused(name.into())
            );
        }
    }

    #[test]
    fn refusal_state_follows_the_last_answer() {
        let mut r = Refusals::default();
        assert!(!r.refusing(false));
        assert!(r.refusing(true), "a pause alone counts as refusing");
        let refused = Ack::Refused("not_authorized".into());
        let retry = r.retry_at(&refused, 10_000, 0);
        assert!(
            retry >= 11_000,
            "retry waits at least the backoff's 1 s: {retry}"
        );
        r.refused(10_000, Slot::Batch(1), "not_authorized".into());
        assert!(r.refusing(false));
        assert_eq!(r.count(), 1);
        let last = r.last().cloned();
        assert_eq!(
            last,
            Some(Refusal {
                at: 10_000,
                message: "events",
                reason: "not_authorized".into()
            })
        );
        // A second refusal backs off further.
        let second = r.retry_at(&refused, 20_000, 0) - 20_000;
        assert!(second >= 1_000);
        r.accepted(30_000);
        assert!(!r.refusing(false), "an accept after the refusal ends it");
        assert_eq!(r.count(), 1, "the count is kept");
        assert_eq!(r.retry_at(&Ack::Accepted, 40_000, 0), 40_000);
        // The backoff restarted from its first step.
        let again = r.retry_at(&refused, 50_000, u64::MAX) - 50_000;
        assert!((1_000..=1_000).contains(&again), "{again}");
    }
}

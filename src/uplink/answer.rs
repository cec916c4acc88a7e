//! The shell side of re-send requests (`resend.rs` holds the rules): subscribe to
//! `{topic_root}/resend` on every connection, take requests, and publish the requested
//! stored entries again on the `events` topic, a batch at a time, through the same
//! client queue and acknowledgement tracking as everything else.

use super::link::Link;
use super::protocol::{self, Slot};
use super::{resend, Shell};
use std::borrow::Cow;

impl Shell {
    pub(super) fn subscribe_resend<L: Link>(&mut self, link: &mut L) {
        let topic = self.s.topic("resend");
        if let Err(e) = link.subscribe(topic.clone()) {
            tracing::warn!(%e, %topic, "cannot subscribe to re-send requests");
        }
    }

    pub(super) fn on_resend_request(&mut self, topic: &str, payload: &[u8]) {
        if topic != self.s.topic("resend") {
            return;
        }
        match resend::parse(payload) {
            Ok(r) => {
                let taken = self.resender.request(r);
                tracing::info!(
                    from = r.from,
                    to = r.to,
                    taken,
                    "the province asked for entries again"
                );
            }
            Err(e) => tracing::warn!(%e, "ignored a re-send request"),
        }
    }

    /// Publish the next batch of a re-send answer, if one is under way and the client
    /// has room (one batch per call; called after every event).
    pub(super) fn answer_resend<L: Link>(&mut self, link: &mut L) {
        let Some((after, to)) = self.resender.next_read() else {
            return;
        };
        let limit = self.durable_limit().min(to);
        if after >= limit {
            self.resender.finish();
            return;
        }
        let rows = match self.read_batch(after) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(%e, "cannot read the log to answer a re-send request");
                self.resender.finish();
                return;
            }
        };
        let jsons: Vec<(u64, Cow<'_, [u8]>)> = rows
            .iter()
            .take_while(|(seq, _)| *seq <= limit)
            .map(|(seq, bytes)| {
                let j = crate::log::json_of(*seq, bytes)
                    .unwrap_or_else(|why| Cow::Owned(protocol::unreadable_entry(*seq, &why)));
                (*seq, j)
            })
            .collect();
        let refs: Vec<(u64, &[u8])> = jsons.iter().map(|(s, j)| (*s, j.as_ref())).collect();
        let Some(batch) = protocol::build_batch(&self.site_id, &refs, self.s.batch_max_bytes)
        else {
            self.resender.finish();
            return;
        };
        let topic = self.s.topic("events");
        if link.publish(topic, false, batch.payload).is_ok() {
            self.outbox.other_queued(Slot::Resend);
            self.resender.sent_upto(batch.to_seq);
        }
    }
}

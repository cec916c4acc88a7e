//! The uplink's protocol logic, sans I/O: building event batches from stored entries,
//! tracking which batches the broker acknowledged (and so how far the persisted cursor
//! may advance), reconnect backoff with jitter, and outage bookkeeping. Time and
//! randomness are arguments; nothing here touches the network, the store or a clock.
//!
//! # Acknowledgement mapping
//!
//! rumqttc does not tell which `publish` call a PUBACK answers. Every message the uplink
//! hands to the client is QoS 1, and the client's event loop takes requests in the order
//! they were queued and reports each one as `Outgoing::Publish(pkid)` when it assigns
//! its packet id. So the [`Outbox`] keeps the queued messages in a FIFO; each
//! `Outgoing::Publish(pkid)` pops the front and binds it to `pkid`; the PUBACK for
//! `pkid` then resolves exactly that message. A new client and event loop is made for
//! every connection, so nothing queued for an old connection can be reported on a new
//! one, and [`Outbox::on_connected`] forgets everything in flight and resumes from the
//! persisted cursor.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

// ---------------------------------------------------------------- batches

/// One `events` message: `{site, from_seq, to_seq, count, events: [...]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub from_seq: u64,
    pub to_seq: u64,
    pub count: usize,
    pub payload: Vec<u8>,
}

/// JSON string literal of `s` (quotes included).
pub(crate) fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// Build a batch from stored entries `(seq, entry JSON)` in seq order, taking as many as
/// fit in `max_bytes` of payload (always at least one). Each event gets a `site` field
/// in front so it can be deduplicated on `(site, seq)` on its own; the entry JSON is
/// copied, not re-encoded. `None` when `entries` is empty.
pub fn build_batch(site: &str, entries: &[(u64, &[u8])], max_bytes: usize) -> Option<Batch> {
    let first = entries.first()?;
    let site_lit = json_str(site);
    let head_fixed = format!("{{\"site\":{site_lit},\"from_seq\":");
    let per_event_extra = "{\"site\":".len() + site_lit.len() + 1;
    // Bound on the fixed part: two u64 and a count at most 20 digits each.
    let overhead = head_fixed.len() + 100;
    let mut take = 0usize;
    let mut size = overhead;
    for (_, json) in entries {
        let add = json.len() + per_event_extra + 1;
        if take > 0 && size + add > max_bytes {
            break;
        }
        size += add;
        take += 1;
    }
    let chosen = &entries[..take];
    let last = chosen.last().unwrap_or(first);
    let mut p = Vec::with_capacity(size);
    p.extend_from_slice(head_fixed.as_bytes());
    p.extend_from_slice(
        format!(
            "{},\"to_seq\":{},\"count\":{},\"events\":[",
            first.0, last.0, take
        )
        .as_bytes(),
    );
    for (i, (_, json)) in chosen.iter().enumerate() {
        if i > 0 {
            p.push(b',');
        }
        push_with_site(&mut p, &site_lit, json);
    }
    p.extend_from_slice(b"]}");
    Some(Batch {
        from_seq: first.0,
        to_seq: last.0,
        count: take,
        payload: p,
    })
}

/// Append `json` (an object) with `"site":<site_lit>` as its first member.
fn push_with_site(out: &mut Vec<u8>, site_lit: &str, json: &[u8]) {
    let body = json.strip_prefix(b"{").unwrap_or(json);
    out.extend_from_slice(b"{\"site\":");
    out.extend_from_slice(site_lit.as_bytes());
    if body.first() != Some(&b'}') {
        out.push(b',');
    }
    out.extend_from_slice(body);
}

/// The JSON of an entry that could not be read from the store, so that its seq is still
/// accounted for instead of blocking the uplink forever.
pub(crate) fn unreadable_entry(seq: u64, why: &str) -> Vec<u8> {
    format!(
        "{{\"seq\":{seq},\"event\":{{\"kind\":\"unreadable\",\"why\":{}}}}}",
        json_str(why)
    )
    .into_bytes()
}

// ---------------------------------------------------------------- acknowledgements

/// What a queued QoS 1 message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Slot {
    /// An events batch, by its first seq.
    Batch(u64),
    Status,
    Metrics,
    /// An events batch answering a re-send request (does not move the cursor).
    Resend,
}

impl Slot {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Slot::Batch(_) | Slot::Resend => "events",
            Slot::Status => "status",
            Slot::Metrics => "metrics",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BatchState {
    Sent,
    Acked,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct InFlight {
    from: u64,
    to: u64,
    state: BatchState,
}

/// How the broker answered one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ack {
    Accepted,
    /// A reason code the uplink does not count as delivery (e.g. `not_authorized`).
    Refused(String),
}

/// What a PUBACK changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct AckEffect {
    /// The cursor may now be persisted at this seq.
    pub advance_to: Option<u64>,
    /// A message was refused: which kind, and why.
    pub refused: Option<(Slot, String)>,
    /// The PUBACK matched nothing the outbox knows (ignored).
    pub unknown: bool,
}

/// Batches in flight and the acknowledged cursor. One per uplink; reset on connect.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    cursor: u64,
    /// Last seq included in a batch handed to the client.
    sent_upto: u64,
    batches: VecDeque<InFlight>,
    awaiting_pkid: VecDeque<Slot>,
    by_pkid: HashMap<u16, Slot>,
    max_in_flight: usize,
    /// After a refusal: no new batches before this time (ms), and not before every
    /// batch in flight is resolved.
    paused_until: Option<i64>,
}

impl Outbox {
    /// `cursor`: the persisted published seq (every seq <= it was acknowledged).
    pub(crate) fn new(cursor: u64, max_in_flight: usize) -> Outbox {
        Outbox {
            cursor,
            sent_upto: cursor,
            batches: VecDeque::new(),
            awaiting_pkid: VecDeque::new(),
            by_pkid: HashMap::new(),
            max_in_flight: max_in_flight.max(1),
            paused_until: None,
        }
    }

    pub(crate) fn cursor(&self) -> u64 {
        self.cursor
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.batches.len()
    }

    /// Messages of any kind handed to the client and not yet answered.
    pub(crate) fn unanswered(&self) -> usize {
        self.awaiting_pkid.len() + self.by_pkid.len()
    }

    /// A new connection: whatever was in flight is forgotten (it will be sent again
    /// from the cursor). A pause for a refusal stays in force.
    pub(crate) fn on_connected(&mut self) {
        self.batches.clear();
        self.awaiting_pkid.clear();
        self.by_pkid.clear();
        self.sent_upto = self.cursor;
    }

    /// Whether a new batch may be sent now; if so, the seq it must start after.
    pub(crate) fn wants_batch(&mut self, now_ms: i64) -> Option<u64> {
        if let Some(until) = self.paused_until {
            let unresolved = self.batches.iter().any(|b| b.state == BatchState::Sent);
            if now_ms < until || unresolved {
                return None;
            }
            // Resume: resend everything after the cursor, the refused batch first.
            self.paused_until = None;
            self.batches.clear();
            self.sent_upto = self.cursor;
        }
        (self.batches.len() < self.max_in_flight).then_some(self.sent_upto)
    }

    /// Whether sending is paused by a refusal at `now_ms`.
    pub(crate) fn paused(&self, now_ms: i64) -> bool {
        self.paused_until.is_some_and(|u| now_ms < u)
    }

    /// A batch was handed to the client.
    pub(crate) fn batch_queued(&mut self, from: u64, to: u64) {
        self.batches.push_back(InFlight {
            from,
            to,
            state: BatchState::Sent,
        });
        self.sent_upto = self.sent_upto.max(to);
        self.awaiting_pkid.push_back(Slot::Batch(from));
    }

    /// Another QoS 1 message (status, metrics) was handed to the client.
    pub(crate) fn other_queued(&mut self, slot: Slot) {
        self.awaiting_pkid.push_back(slot);
    }

    /// What `pkid` was assigned to, if anything.
    pub(crate) fn slot_of(&self, pkid: u16) -> Option<Slot> {
        self.by_pkid.get(&pkid).copied()
    }

    /// The client assigned `pkid` to the oldest queued message.
    pub(crate) fn on_outgoing(&mut self, pkid: u16) {
        if pkid == 0 {
            return; // QoS 0: nothing to acknowledge
        }
        if let Some(slot) = self.awaiting_pkid.pop_front() {
            self.by_pkid.insert(pkid, slot);
        }
    }

    /// The broker answered `pkid`. `retry_at_ms`: when to try again after a refusal.
    pub(crate) fn on_puback(&mut self, pkid: u16, ack: Ack, retry_at_ms: i64) -> AckEffect {
        let Some(slot) = self.by_pkid.remove(&pkid) else {
            return AckEffect {
                unknown: true,
                ..AckEffect::default()
            };
        };
        let mut effect = AckEffect::default();
        let refused = match &ack {
            Ack::Accepted => None,
            Ack::Refused(why) => Some(why.clone()),
        };
        if let Slot::Batch(from) = slot {
            if let Some(b) = self.batches.iter_mut().find(|b| b.from == from) {
                b.state = if refused.is_some() {
                    BatchState::Rejected
                } else {
                    BatchState::Acked
                };
            }
            if refused.is_some() {
                self.paused_until = Some(retry_at_ms);
            }
            let mut advanced = None;
            while let Some(front) = self.batches.front() {
                if front.state != BatchState::Acked {
                    break;
                }
                // Batches are cut one after another from the cursor, so an acknowledged
                // front batch always continues it (seq gaps inside are entries that do
                // not exist).
                self.cursor = front.to;
                advanced = Some(front.to);
                self.batches.pop_front();
            }
            effect.advance_to = advanced;
        }
        effect.refused = refused.map(|why| (slot, why));
        effect
    }
}

// ---------------------------------------------------------------- backoff

/// Reconnect delays: exponential from 1 s to 60 s, each drawn uniformly from the upper
/// half of its step ("equal jitter"), never below 1 s (the shared [`crate::backoff::Backoff`]).
#[derive(Debug, Clone)]
pub struct Backoff(crate::backoff::Backoff);

impl Default for Backoff {
    fn default() -> Self {
        Backoff(crate::backoff::Backoff::new(Self::MIN, Self::MAX))
    }
}

impl Backoff {
    pub(crate) const MIN: Duration = Duration::from_secs(1);
    pub(crate) const MAX: Duration = Duration::from_secs(60);

    /// The delay before the next attempt; `random` is any uniformly random u64.
    pub(crate) fn next_delay(&mut self, random: u64) -> Duration {
        self.0.next_delay_jittered(random)
    }

    pub(crate) fn reset(&mut self) {
        self.0.reset();
    }
}

/// A small xorshift generator for jitter (not for secrets).
#[derive(Debug, Clone)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn new(seed: u64) -> Jitter {
        Jitter(seed | 1)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

// ---------------------------------------------------------------- outages

/// Tracks broker reachability and yields an outage record when it comes back.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outage {
    down_since: Option<i64>,
}

impl Outage {
    /// The connection was lost (or a first attempt failed) at `now_ms`.
    pub(crate) fn lost(&mut self, now_ms: i64) {
        if self.down_since.is_none() {
            self.down_since = Some(now_ms);
        }
    }

    /// Connected at `now_ms`: `(down_from, down_to)` when this ends an outage.
    pub(crate) fn connected(&mut self, now_ms: i64) -> Option<(i64, i64)> {
        self.down_since.take().map(|from| (from, now_ms.max(from)))
    }

    pub(crate) fn down_since(&self) -> Option<i64> {
        self.down_since
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64) -> (u64, Vec<u8>) {
        (
            seq,
            format!("{{\"seq\":{seq},\"at\":1,\"event\":{{\"kind\":\"day_started\"}}}}")
                .into_bytes(),
        )
    }

    #[test]
    fn batch_is_valid_json_with_site_on_every_event() -> Result<(), serde_json::Error> {
        let es: Vec<_> = (5..8).map(entry).collect();
        let refs: Vec<(u64, &[u8])> = es.iter().map(|(s, v)| (*s, v.as_slice())).collect();
        let b = build_batch("s-1", &refs, 1 << 20)
            .ok_or_else(|| serde_json::Error::io(std::io::Error::other("no batch")))?;
        assert_eq!((b.from_seq, b.to_seq, b.count), (5, 7, 3));
        let v: serde_json::Value = serde_json::from_slice(&b.payload)?;
        assert_eq!(v["site"], "s-1");
        assert_eq!(v["count"], 3);
        let events = v["events"].as_array().cloned().unwrap_or_default();
        assert_eq!(events.len(), 3);
        for (i, e) in events.iter().enumerate() {
            assert_eq!(e["site"], "s-1");
            assert_eq!(e["seq"], 5 + i as u64);
        }
        Ok(())
    }

    #[test]
    fn batch_respects_byte_limit_but_takes_at_least_one() {
        let es: Vec<_> = (1..=100).map(entry).collect();
        let refs: Vec<(u64, &[u8])> = es.iter().map(|(s, v)| (*s, v.as_slice())).collect();
        for limit in [10usize, 500, 2000, 5000] {
            let b = build_batch("site", &refs, limit).unwrap_or_else(|| panic!("batch"));
            assert!(b.count >= 1);
            assert!(
                b.count == 1 || b.payload.len() <= limit,
                "{limit}: {}",
                b.payload.len()
            );
            assert_eq!(b.to_seq, b.count as u64);
        }
        assert!(build_batch("site", &[], 100).is_none());
        let u = unreadable_entry(9, "bad \"version\"");
        let b = build_batch("x", &[(9, &u)], 100).unwrap_or_else(|| panic!("batch"));
        assert!(serde_json::from_slice::<serde_json::Value>(&b.payload).is_ok());
    }

    #[test]
    fn cursor_advances_only_over_contiguous_acks() {
        let mut o = Outbox::new(0, 3);
        assert_eq!(o.wants_batch(0), Some(0));
        o.batch_queued(1, 10);
        o.other_queued(Slot::Status);
        assert_eq!(o.wants_batch(0), Some(10));
        o.batch_queued(11, 20);
        o.batch_queued(21, 30);
        assert_eq!(o.wants_batch(0), None, "window full");
        for pkid in 1..=4 {
            o.on_outgoing(pkid);
        }
        // pkid 1 = batch 1..10, 2 = status, 3 = 11..20, 4 = 21..30
        let e = o.on_puback(4, Ack::Accepted, 0);
        assert_eq!(
            e.advance_to, None,
            "a later batch alone does not move the cursor"
        );
        let e = o.on_puback(2, Ack::Accepted, 0);
        assert_eq!(e.advance_to, None);
        let e = o.on_puback(1, Ack::Accepted, 0);
        assert_eq!(e.advance_to, Some(10));
        let e = o.on_puback(3, Ack::Accepted, 0);
        assert_eq!(e.advance_to, Some(30), "both contiguous batches now count");
        assert_eq!(o.cursor(), 30);
        assert!(o.on_puback(3, Ack::Accepted, 0).unknown);
    }

    /// An outbox at `cursor` (window 4) that queued both batches and handed them to the
    /// client as packets 1 and 2.
    fn two_batches_sent(cursor: u64, batches: [(u64, u64); 2]) -> Outbox {
        let mut o = Outbox::new(cursor, 4);
        for (from, to) in batches {
            o.batch_queued(from, to);
        }
        o.on_outgoing(1);
        o.on_outgoing(2);
        o
    }

    #[test]
    fn refused_batch_is_never_counted_and_is_resent_after_the_pause() {
        let mut o = two_batches_sent(100, [(101, 110), (111, 120)]);
        let e = o.on_puback(1, Ack::Refused("not_authorized".into()), 5_000);
        assert_eq!(e.refused, Some((Slot::Batch(101), "not_authorized".into())));
        assert_eq!(e.advance_to, None);
        assert!(o.paused(1_000));
        let e = o.on_puback(2, Ack::Accepted, 5_000);
        assert_eq!(e.advance_to, None, "the gap at 101..110 holds the cursor");
        assert_eq!(o.wants_batch(4_999), None);
        assert_eq!(o.wants_batch(5_000), Some(100), "resend from the cursor");
        assert_eq!(o.cursor(), 100);
    }

    #[test]
    fn pause_waits_for_every_batch_in_flight() {
        let mut o = two_batches_sent(0, [(1, 1), (2, 2)]);
        o.on_puback(1, Ack::Refused("quota_exceeded".into()), 10);
        assert_eq!(o.wants_batch(20), None, "batch 2 still unresolved");
        o.on_puback(2, Ack::Refused("quota_exceeded".into()), 30);
        assert_eq!(o.wants_batch(29), None);
        assert_eq!(o.wants_batch(30), Some(0));
    }

    #[test]
    fn reconnect_forgets_in_flight_and_resumes_from_cursor() {
        let mut o = Outbox::new(0, 2);
        o.batch_queued(1, 5);
        o.on_outgoing(1);
        o.on_puback(1, Ack::Accepted, 0);
        o.batch_queued(6, 9);
        o.other_queued(Slot::Metrics);
        o.on_connected();
        assert_eq!(o.cursor(), 5);
        assert_eq!(o.in_flight(), 0);
        assert_eq!(o.wants_batch(0), Some(5));
        // A stale pkid from the old connection resolves nothing.
        assert!(o.on_puback(2, Ack::Accepted, 0).unknown);
    }

    #[test]
    fn backoff_grows_with_jitter_within_bounds() {
        let mut b = Backoff::default();
        let mut j = Jitter::new(42);
        let mut prev_hi = 0;
        for attempt in 0..12 {
            let d = b.next_delay(j.next_u64()).as_millis() as u64;
            assert!((1000..=60_000).contains(&d), "attempt {attempt}: {d}");
            let step = (1000u64 << attempt).min(60_000);
            assert!(
                d >= (step / 2).max(1000) && d <= step,
                "attempt {attempt}: {d}"
            );
            prev_hi = prev_hi.max(d);
        }
        assert!(prev_hi >= 30_000);
        b.reset();
        assert_eq!(b.next_delay(7).as_millis(), 1000);
        let mut a = Backoff::default();
        a.next_delay(0);
        let x = a.next_delay(0);
        let mut c = Backoff::default();
        c.next_delay(0);
        let y = c.next_delay(u64::MAX - 1);
        assert_ne!(x, y, "jitter changes the delay");
    }

    #[test]
    fn outage_recorded_once_per_loss() {
        let mut o = Outage::default();
        assert_eq!(o.connected(5), None);
        o.lost(10);
        o.lost(20);
        assert_eq!(o.connected(30), Some((10, 30)));
        assert_eq!(o.connected(40), None);
    }
}

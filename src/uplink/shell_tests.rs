//! The uplink shell against a fake MQTT client (no broker): acknowledged batches advance
//! the persisted cursor, a refusal stops the drain, and a new connection resends from
//! the cursor. The real-broker behaviour is covered by tests/uplink_*.rs.

use super::link::{Link, LinkEvent};
use super::protocol::Outbox;
use super::{End, Shell};
use crate::core::Command;
use crate::engine::{self, Handle, Options};
use rumqttc::v5::mqttbytes::v5::PubAckReason;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

type Answer = Box<dyn FnMut(&str) -> Option<PubAckReason> + Send>;

/// A broker in a box: every publish is sent at once under the next packet id and
/// answered by `answer(topic)` (`None`: never answered). When nothing is left to
/// report, the connection "drops".
struct Fake {
    events: VecDeque<LinkEvent>,
    published: Vec<(String, bool, Vec<u8>)>,
    subscribed: Vec<String>,
    next_pkid: u16,
    answer: Answer,
    disconnected: bool,
}

impl Fake {
    fn new(answer: Answer) -> Fake {
        Fake {
            events: VecDeque::from([LinkEvent::ConnAck]),
            published: Vec::new(),
            subscribed: Vec::new(),
            next_pkid: 0,
            answer,
            disconnected: false,
        }
    }

    /// `(from_seq, to_seq)` of each events batch published, in order.
    fn batches(&self) -> Vec<(u64, u64)> {
        self.published
            .iter()
            .filter(|(t, _, _)| t.ends_with("/events"))
            .filter_map(|(_, _, p)| serde_json::from_slice::<serde_json::Value>(p).ok())
            .map(|v| {
                (
                    v["from_seq"].as_u64().unwrap_or(0),
                    v["to_seq"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    }
}

impl Link for Fake {
    fn publish(&mut self, topic: String, retain: bool, payload: Vec<u8>) -> Result<(), String> {
        self.next_pkid += 1;
        self.events.push_back(LinkEvent::Sent(self.next_pkid));
        if let Some(reason) = (self.answer)(&topic) {
            self.events.push_back(LinkEvent::PubAck {
                pkid: self.next_pkid,
                reason,
            });
        }
        self.published.push((topic, retain, payload));
        Ok(())
    }

    fn subscribe(&mut self, filter: String) -> Result<(), String> {
        self.subscribed.push(filter);
        Ok(())
    }

    // Cancel-safe like the real one: the event is taken only when polled.
    async fn poll(&mut self) -> Result<LinkEvent, String> {
        self.events
            .pop_front()
            .ok_or_else(|| "the fake broker hung up".to_string())
    }

    fn disconnect(&mut self) {
        self.disconnected = true;
    }
}

struct Bench {
    shell: Shell,
    handle: Handle,
    _stop: watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

/// An engine over a fresh store with `tickets` issued, and an uplink shell over it that
/// sends batches of `batch` events, `in_flight` at a time.
async fn bench(tickets: usize, batch: usize, in_flight: u16) -> Bench {
    let dir = tempfile::tempdir().expect("a temp dir");
    let text = include_str!("../../config/dev.toml");
    let mut config = crate::config::parse(text, "dev.toml", None).expect("dev config parses");
    config.store.path = dir.path().join("store");
    let config = Arc::new(config);
    let (log, report) =
        crate::log::EventLog::open(&config.store.path, &config.site.id, 0).expect("store opens");
    let opts = Options::on_system_clock();
    let handle = engine::start(config.clone(), log, report, opts).expect("engine starts");
    for _ in 0..tickets {
        let cmd = Command::Issue {
            service: "A".into(),
            priority: false,
            source: "test".into(),
        };
        handle.execute(cmd).await.expect("ticket issued");
    }
    let mut view = handle.watch_view();
    let last = handle.reader().last_seq().expect("log readable");
    for _ in 0..200 {
        if view.borrow().last_seq >= last {
            break;
        }
        let _ = tokio::time::timeout(Duration::from_millis(50), view.changed()).await;
    }
    assert!(view.borrow().last_seq >= last, "entries made durable");
    let uc = config.uplink.as_ref().expect("dev config has an [uplink]");
    let mut settings = uc.settings(&config.site.id, &config.site.province);
    settings.batch_max_events = batch;
    settings.in_flight = in_flight;
    let (status_tx, _) = watch::channel(None);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shell = Shell::new(settings, &config, handle.clone(), 0, status_tx, stop_rx);
    shell.outbox = Outbox::new(0, usize::from(in_flight));
    Bench {
        shell,
        handle,
        _stop: stop_tx,
        _dir: dir,
    }
}

async fn serve(shell: &mut Shell, link: &mut Fake) -> End {
    let hour = Duration::from_secs(3600);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + hour, hour);
    tokio::time::timeout(Duration::from_secs(20), shell.serve(link, &mut tick))
        .await
        .expect("the session ends when the fake hangs up")
}

fn last_seq(h: &Handle) -> u64 {
    h.reader().last_seq().expect("log readable")
}

#[tokio::test]
async fn acknowledged_batches_advance_the_persisted_cursor() {
    let mut b = bench(7, 2, 2).await;
    let last = last_seq(&b.handle);
    assert!(last >= 7);
    let mut link = Fake::new(Box::new(|_| Some(PubAckReason::Success)));
    assert!(matches!(serve(&mut b.shell, &mut link).await, End::Lost(_)));
    let batches = link.batches();
    assert_eq!(batches.first().map(|b| b.0), Some(1));
    for w in batches.windows(2) {
        assert_eq!(
            w[1].0,
            w[0].1 + 1,
            "batches follow one another: {batches:?}"
        );
    }
    assert!(
        batches.iter().all(|(f, t)| t - f < 2),
        "at most 2 events each"
    );
    assert_eq!(batches.last().map(|b| b.1), Some(last));
    assert_eq!(b.shell.outbox.cursor(), last);
    assert_eq!(
        b.handle.reader().published().ok(),
        Some(last),
        "cursor persisted"
    );
    assert_eq!(b.shell.refusals.count(), 0);
    assert!(link
        .published
        .iter()
        .any(|(t, r, _)| t.ends_with("/status") && *r));
}

#[tokio::test]
async fn a_refusal_stops_the_drain() {
    let mut b = bench(5, 2, 1).await;
    let mut link = Fake::new(Box::new(|topic| {
        Some(if topic.ends_with("/events") {
            PubAckReason::NotAuthorized
        } else {
            PubAckReason::Success
        })
    }));
    assert!(matches!(serve(&mut b.shell, &mut link).await, End::Lost(_)));
    assert_eq!(
        link.batches(),
        vec![(1, 2)],
        "nothing more after the refusal"
    );
    assert_eq!(b.shell.outbox.cursor(), 0);
    assert_eq!(b.handle.reader().published().ok(), Some(0));
    assert_eq!(b.shell.refusals.count(), 1);
    let last = b
        .shell
        .refusals
        .last()
        .cloned()
        .expect("a refusal is recorded");
    assert_eq!(
        (last.message, last.reason.as_str()),
        ("events", "not_authorized")
    );
    let now = crate::sys::wall_ms();
    assert!(
        b.shell.outbox.paused(now),
        "retry waits for the refusal backoff"
    );
    assert!(b.shell.refusals.refusing(b.shell.outbox.paused(now)));
}

#[tokio::test]
async fn a_new_connection_resends_from_the_cursor() {
    let mut b = bench(6, 2, 2).await;
    let last = last_seq(&b.handle);
    // First connection: the first batch is acknowledged, the second never is.
    let mut events_seen = 0;
    let mut first = Fake::new(Box::new(move |topic| {
        if !topic.ends_with("/events") {
            return Some(PubAckReason::Success);
        }
        events_seen += 1;
        (events_seen == 1).then_some(PubAckReason::Success)
    }));
    assert!(matches!(
        serve(&mut b.shell, &mut first).await,
        End::Lost(_)
    ));
    let sent = first.batches();
    assert_eq!(sent.get(..2), Some(&[(1, 2), (3, 4)][..]), "{sent:?}");
    assert_eq!(b.handle.reader().published().ok(), Some(2));
    // Second connection: everything after the cursor goes again, starting at seq 3.
    let mut second = Fake::new(Box::new(|_| Some(PubAckReason::Success)));
    assert!(matches!(
        serve(&mut b.shell, &mut second).await,
        End::Lost(_)
    ));
    let again = second.batches();
    assert_eq!(again.first(), Some(&(3, 4)), "{again:?}");
    assert_eq!(again.last().map(|b| b.1), Some(last));
    assert_eq!(b.handle.reader().published().ok(), Some(last));
    // Each connection subscribes to the province's re-send requests, and to nothing else.
    assert_eq!(second.subscribed.len(), 1, "{:?}", second.subscribed);
    assert!(
        second.subscribed[0].ends_with("/resend"),
        "{:?}",
        second.subscribed
    );
    assert!(!second.disconnected);
}

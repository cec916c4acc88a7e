//! The MQTT client as the uplink shell sees it: a small [`Link`] trait (publish,
//! subscribe, poll the next event, disconnect) with the rumqttc client behind it, so the
//! shell's logic runs against a fake client in unit tests and a real broker otherwise.

use rumqttc::v5::mqttbytes::v5::{Packet, PubAckReason};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, ConnectionError, Event, EventLoop, MqttOptions};
use rumqttc::Outgoing;
use std::future::Future;
use tokio::sync::mpsc;

/// What the client reports, reduced to what the uplink acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkEvent {
    /// The broker accepted the connection.
    ConnAck,
    /// The client sent the oldest queued QoS 1 message under this packet id.
    Sent(u16),
    /// The broker answered packet `pkid` with `reason`.
    PubAck { pkid: u16, reason: PubAckReason },
    /// A message from the broker on a topic the link subscribed to.
    Publish { topic: String, payload: Vec<u8> },
    /// Anything else (pings, suback …).
    Other,
}

/// One connection's MQTT client. Every publish is QoS 1; `Err` from `poll` means the
/// connection is gone (the shell makes a new link for the next attempt).
pub(crate) trait Link {
    /// Queue a message without waiting; `Err` when the client's queue is full.
    fn publish(&mut self, topic: String, retain: bool, payload: Vec<u8>) -> Result<(), String>;
    /// Queue a subscription (QoS 1) without waiting.
    fn subscribe(&mut self, filter: String) -> Result<(), String>;
    /// The next event, in order. Cancel-safe: dropping the future loses no event.
    fn poll(&mut self) -> impl Future<Output = Result<LinkEvent, String>> + Send;
    /// Ask for a clean disconnect.
    fn disconnect(&mut self);
}

/// The real client: rumqttc's `AsyncClient`, its event loop driven by a task.
pub(crate) struct Rumqtt {
    client: AsyncClient,
    rx: mpsc::Receiver<Result<Event, ConnectionError>>,
    pump: tokio::task::JoinHandle<()>,
}

impl Rumqtt {
    /// Start connecting with `opts`; `cap`: the client's request queue length.
    pub(crate) fn connect(opts: MqttOptions, cap: usize) -> Rumqtt {
        let (client, eventloop) = AsyncClient::new(opts, cap);
        let (tx, rx) = mpsc::channel(256);
        let pump = tokio::spawn(pump(eventloop, tx));
        Rumqtt { client, rx, pump }
    }
}

impl Drop for Rumqtt {
    fn drop(&mut self) {
        self.pump.abort();
    }
}

impl Link for Rumqtt {
    fn publish(&mut self, topic: String, retain: bool, payload: Vec<u8>) -> Result<(), String> {
        self.client
            .try_publish(topic, QoS::AtLeastOnce, retain, payload)
            .map_err(|e| e.to_string())
    }

    fn subscribe(&mut self, filter: String) -> Result<(), String> {
        self.client
            .try_subscribe(filter, QoS::AtLeastOnce)
            .map_err(|e| e.to_string())
    }

    async fn poll(&mut self) -> Result<LinkEvent, String> {
        match self.rx.recv().await {
            Some(Ok(Event::Incoming(Packet::ConnAck(_)))) => Ok(LinkEvent::ConnAck),
            Some(Ok(Event::Incoming(Packet::PubAck(ack)))) => Ok(LinkEvent::PubAck {
                pkid: ack.pkid,
                reason: ack.reason,
            }),
            Some(Ok(Event::Outgoing(Outgoing::Publish(pkid)))) => Ok(LinkEvent::Sent(pkid)),
            Some(Ok(Event::Incoming(Packet::Publish(p)))) => Ok(LinkEvent::Publish {
                topic: String::from_utf8_lossy(&p.topic).into_owned(),
                payload: p.payload.to_vec(),
            }),
            Some(Ok(_)) => Ok(LinkEvent::Other),
            Some(Err(e)) => Err(e.to_string()),
            None => Err("the MQTT event loop ended".into()),
        }
    }

    fn disconnect(&mut self) {
        let _ = self.client.try_disconnect();
    }
}

/// Drive the rumqttc event loop and forward what it yields, in order. Ends after the
/// first error: the shell makes a new client for the next attempt (and does the backoff).
async fn pump(mut eventloop: EventLoop, tx: mpsc::Sender<Result<Event, ConnectionError>>) {
    loop {
        let r = eventloop.poll().await;
        let failed = r.is_err();
        if tx.send(r).await.is_err() || failed {
            return;
        }
    }
}

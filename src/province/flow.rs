//! Flow control between the collector's MQTT reader and its database writer: a bounded
//! hand-off that stops *reading* from the broker (instead of blocking inside the MQTT
//! event loop) while the writer is behind, so that memory stays bounded whatever the
//! broker sends, and acknowledgements keep flowing.
//!
//! Why a bound on our side and not only MQTT 5 Receive Maximum: the collector sends
//! Receive Maximum in CONNECT, but Mosquitto before 2.0.13 (Debian 12 ships 2.0.11) does
//! not honour it once it has a queue for the client: each in-order PUBACK moves up to
//! Receive Maximum queued messages into flight (eclipse/mosquitto#2306, fixed in 2.0.13).
//! With this bound the excess stays in the broker (TCP pushes back), not in the collector.
//!
//! `Budget` is the pure bookkeeping; `Flow` wraps it for the reader and writer tasks.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use tokio::sync::Notify;

/// Messages and payload bytes handed from the reader to the writer and not yet done with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Budget {
    /// Most messages held (received and not yet acknowledged): Receive Maximum.
    pub max_messages: usize,
    /// Most payload bytes held (received and not yet parsed into rows).
    pub max_bytes: usize,
    pub messages: usize,
    pub bytes: usize,
    pub peak_messages: usize,
    pub peak_bytes: usize,
    /// How many times the reader stopped reading because the budget was spent.
    pub pauses: u64,
}

impl Budget {
    pub(crate) fn new(max_messages: usize, max_bytes: usize) -> Budget {
        Budget {
            max_messages: max_messages.max(1),
            max_bytes: max_bytes.max(1),
            messages: 0,
            bytes: 0,
            peak_messages: 0,
            peak_bytes: 0,
            pauses: 0,
        }
    }

    /// The reader may read one more message. One message may overshoot `max_bytes` (its
    /// size is known only once read; at most the broker's maximum packet size).
    pub(crate) fn may_read(&self) -> bool {
        self.messages < self.max_messages && self.bytes < self.max_bytes
    }

    /// A message of `bytes` was read and handed over.
    pub(crate) fn take(&mut self, bytes: usize) {
        self.messages += 1;
        self.bytes += bytes;
        self.peak_messages = self.peak_messages.max(self.messages);
        self.peak_bytes = self.peak_bytes.max(self.bytes);
    }

    /// Payloads parsed into rows: their bytes are free again.
    pub(crate) fn parsed(&mut self, bytes: usize) {
        self.bytes = self.bytes.saturating_sub(bytes);
    }

    /// Messages acknowledged (or given up on a lost connection): free again.
    pub(crate) fn done(&mut self, messages: usize) {
        self.messages = self.messages.saturating_sub(messages);
    }
}

/// The budget shared by the reader and the writer, with a wake-up for the reader.
#[derive(Debug)]
pub(crate) struct Flow {
    budget: Mutex<Budget>,
    freed: Notify,
    /// Which broker connection this is (one more at each CONNACK).
    conn: AtomicU64,
    /// Shutting down: the reader no longer waits (it must send DISCONNECT).
    closing: AtomicBool,
}

impl Flow {
    pub(crate) fn new(max_messages: usize, max_bytes: usize) -> Flow {
        Flow {
            budget: Mutex::new(Budget::new(max_messages, max_bytes)),
            freed: Notify::new(),
            conn: AtomicU64::new(0),
            closing: AtomicBool::new(false),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Budget) -> T) -> T {
        // A panic while holding this lock cannot leave the counters half-updated (each
        // update is one statement); go on with them.
        let mut b = match self.budget.lock() {
            Ok(b) => b,
            Err(p) => p.into_inner(),
        };
        f(&mut b)
    }

    /// A new connection to the broker is up.
    pub(crate) fn connected(&self) {
        self.conn.fetch_add(1, Ordering::SeqCst);
    }

    /// The current connection's number.
    pub(crate) fn connection(&self) -> u64 {
        self.conn.load(Ordering::SeqCst)
    }

    pub(crate) fn snapshot(&self) -> Budget {
        self.with(|b| b.clone())
    }

    /// Wait (reader side) until one more message may be read. Does not block the MQTT
    /// event loop: the reader simply does not poll it meanwhile.
    pub(crate) async fn wait_room(&self) {
        let mut counted = false;
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if self.closing.load(Ordering::SeqCst) {
                return;
            }
            let ok = self.with(|b| {
                let ok = b.may_read();
                if !ok && !counted {
                    b.pauses += 1;
                }
                ok
            });
            if ok {
                return;
            }
            counted = true;
            freed.await;
        }
    }

    /// Stop making the reader wait (shutdown).
    pub(crate) fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.freed.notify_one();
    }

    pub(crate) fn take(&self, bytes: usize) {
        self.with(|b| b.take(bytes));
    }

    pub(crate) fn parsed(&self, bytes: usize) {
        self.with(|b| b.parsed(bytes));
        self.freed.notify_one();
    }

    pub(crate) fn done(&self, messages: usize) {
        self.with(|b| b.done(messages));
        self.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_counts_messages_and_bytes() {
        let mut b = Budget::new(3, 100);
        assert!(b.may_read());
        b.take(40);
        b.take(40);
        assert!(b.may_read());
        b.take(40); // overshoots the bytes by one message, and fills the count
        assert!(!b.may_read());
        assert_eq!((b.peak_messages, b.peak_bytes), (3, 120));
        b.parsed(120);
        assert!(!b.may_read(), "still 3 messages unacknowledged");
        b.done(1);
        assert!(b.may_read());
        b.done(10);
        b.parsed(10);
        assert_eq!((b.messages, b.bytes), (0, 0));
    }

    #[tokio::test]
    async fn the_reader_waits_until_the_writer_frees_room() {
        let f = std::sync::Arc::new(Flow::new(1, 1000));
        f.wait_room().await;
        f.take(10);
        let f2 = f.clone();
        let waiter = tokio::spawn(async move { f2.wait_room().await });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        f.done(1);
        let r = tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await;
        assert!(matches!(r, Ok(Ok(()))));
        assert_eq!(f.snapshot().pauses, 1);
    }
}

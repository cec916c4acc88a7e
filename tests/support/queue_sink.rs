//! A small real ticket queue standing in for the engine behind `CounterSink`: Next takes the
//! next waiting ticket, the others act on the counter's current ticket; every applied press is
//! logged, and what each counter shows is published on a watch channel like the engine's feed.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use layso::devices::keypad::{CounterDisplays, CounterSink, KeyAction};
use tokio::sync::watch;

pub struct QueueSink {
    inner: Mutex<Inner>,
    shown: Mutex<Option<watch::Sender<CounterDisplays>>>,
}

struct Inner {
    next_number: u32,
    current: BTreeMap<u16, Option<String>>,
    log: Vec<(u16, KeyAction, Instant)>,
}

impl QueueSink {
    /// A queue whose first ticket is A001; `counters` start with nothing current.
    pub fn new(counters: &[u16]) -> (Self, watch::Receiver<CounterDisplays>) {
        let current: BTreeMap<u16, Option<String>> = counters.iter().map(|&c| (c, None)).collect();
        let (tx, rx) = watch::channel(current.clone());
        (
            QueueSink {
                inner: Mutex::new(Inner {
                    next_number: 1,
                    current,
                    log: Vec::new(),
                }),
                shown: Mutex::new(Some(tx)),
            },
            rx,
        )
    }

    /// Presses applied so far, in order.
    pub fn log(&self) -> Vec<(u16, KeyAction)> {
        self.inner
            .lock()
            .map(|i| i.log.iter().map(|&(c, a, _)| (c, a)).collect())
            .unwrap_or_default()
    }

    /// When the last press was applied.
    pub fn last_applied_at(&self) -> Option<Instant> {
        self.inner.lock().ok()?.log.last().map(|l| l.2)
    }

    /// Set what a counter shows from outside the keypads (e.g. a call made on the web page).
    pub fn show(&self, counter: u16, label: Option<String>) {
        if let Ok(mut i) = self.inner.lock() {
            i.current.insert(counter, label);
            let current = i.current.clone();
            drop(i);
            self.publish(&current);
        }
    }

    /// The label the next Next will call.
    pub fn peek_next(&self) -> String {
        self.inner
            .lock()
            .map(|i| format!("A{:03}", i.next_number))
            .unwrap_or_default()
    }

    /// Stop publishing: the adapter sees the sender gone and shuts down.
    pub fn close(&self) {
        if let Ok(mut s) = self.shown.lock() {
            s.take();
        }
    }

    fn publish(&self, current: &BTreeMap<u16, Option<String>>) {
        if let Ok(s) = self.shown.lock() {
            if let Some(tx) = s.as_ref() {
                let _ = tx.send(current.clone());
            }
        }
    }
}

impl CounterSink for QueueSink {
    async fn press(&self, counter: u16, action: KeyAction) -> Result<Option<String>, String> {
        let mut i = self
            .inner
            .lock()
            .map_err(|_| "queue lock poisoned".to_string())?;
        if !i.current.contains_key(&counter) {
            return Err(format!("counter {counter} does not exist"));
        }
        let now = match action {
            KeyAction::Next => {
                let label = format!("A{:03}", i.next_number);
                i.next_number += 1;
                Some(label)
            }
            KeyAction::Recall | KeyAction::Pause | KeyAction::Open | KeyAction::Rate(_) => {
                i.current.get(&counter).cloned().flatten()
            }
            KeyAction::Skip | KeyAction::Complete | KeyAction::Transfer => None,
        };
        i.current.insert(counter, now.clone());
        i.log.push((counter, action, Instant::now()));
        let current = i.current.clone();
        drop(i);
        self.publish(&current);
        Ok(now)
    }
}

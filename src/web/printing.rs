//! The kiosk's print desk: turns each durable `TicketIssued` into a print job, remembers
//! whether the job got into the printer's queue (so the kiosk can say "not printed"),
//! and lets the kiosk that issued a ticket reprint it once, within
//! [`REPRINT_WINDOW_MS`] of issue, with a single-use token given only in the issue
//! answer.
//!
//! "From the kiosk itself" means: whoever received the issue answer (the kiosk page that
//! asked), on a same-origin request (the guard refuses other web pages). Another page
//! cannot read the answer (no CORS), so it cannot learn the token.

use crate::config::Config;
use crate::core::{Entry, Event};
use crate::devices::printer::job::PrintJob;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::sync::{mpsc, watch};

/// How long after issue a ticket may be reprinted (once).
pub(crate) const REPRINT_WINDOW_MS: i64 = 5 * 60 * 1000;
/// Recent tickets remembered for reprints.
const KEEP: usize = 256;
/// How long an issue answer waits to learn whether its job was queued.
const OUTCOME_WAIT: Duration = Duration::from_millis(500);

struct Record {
    seq: u64,
    job: PrintJob,
    queued: bool,
    token: Option<String>,
    used: bool,
}

/// Why a reprint was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReprintRefusal {
    /// No ticket has this token (never given, or long forgotten).
    UnknownToken,
    /// This ticket was reprinted already.
    Used(String),
    /// More than the reprint window has passed since issue.
    Expired(String),
    /// The printer's queue is full; try again in a moment (the token stays valid).
    QueueFull(String),
}

/// See the module documentation.
pub struct PrintDesk {
    jobs: mpsc::Sender<PrintJob>,
    book: Mutex<VecDeque<Record>>,
    last_seq: watch::Sender<u64>,
}

impl PrintDesk {
    /// A desk that puts jobs on `jobs` (the printer adapter's queue).
    pub fn new(jobs: mpsc::Sender<PrintJob>) -> PrintDesk {
        PrintDesk {
            jobs,
            book: Mutex::new(VecDeque::new()),
            last_seq: watch::channel(0).0,
        }
    }

    /// The print job for a durable entry, if it is a `TicketIssued`; queues it and
    /// records whether it was queued. Returns false when the queue was full.
    pub fn feed(&self, config: &Config, entry: &Entry) -> bool {
        let Event::TicketIssued {
            ticket,
            service,
            priority,
            ahead,
            ..
        } = &entry.event
        else {
            return true;
        };
        let deadline_ms = config
            .printer
            .as_ref()
            .map_or(entry.at + 30_000, |pc| pc.deadline_for(entry.at));
        let job = PrintJob {
            site_name: config.site.name.clone(),
            service_name: config
                .service(service)
                .map_or_else(|| service.clone(), |s| s.name_vi.clone()),
            ticket: ticket.clone(),
            priority: *priority,
            issued_at_ms: entry.at,
            utc_offset_minutes: config.site.rule.utc_offset_minutes,
            waiting_ahead: *ahead,
            qr: None,
            deadline_ms,
        };
        let queued = self.jobs.try_send(job.clone()).is_ok();
        if let Ok(mut book) = self.book.lock() {
            book.push_back(Record {
                seq: entry.seq,
                job,
                queued,
                token: None,
                used: false,
            });
            while book.len() > KEEP {
                book.pop_front();
            }
        }
        self.last_seq.send_if_modified(|s| {
            let newer = entry.seq > *s;
            if newer {
                *s = entry.seq;
            }
            newer
        });
        queued
    }

    /// Whether the job of ticket `seq` was queued: `None` if that is not known within a
    /// moment (the printer feed is behind).
    pub(crate) async fn outcome(&self, seq: u64) -> Option<bool> {
        let mut rx = self.last_seq.subscribe();
        let _ = tokio::time::timeout(OUTCOME_WAIT, rx.wait_for(|s| *s >= seq)).await;
        let book = self.book.lock().ok()?;
        match book.iter().rev().find(|r| r.seq == seq) {
            Some(r) => Some(r.queued),
            // The feed moved past it without a job: it fell behind and skipped it.
            None if *rx.borrow() >= seq => Some(false),
            None => None,
        }
    }

    /// A fresh single-use reprint token for ticket `seq` (None if it is not known).
    pub(crate) fn token(&self, seq: u64) -> Option<String> {
        let mut raw = [0u8; 16];
        getrandom::fill(&mut raw).ok()?;
        let token: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        let mut book = self.book.lock().ok()?;
        let r = book.iter_mut().rev().find(|r| r.seq == seq)?;
        r.token = Some(token.clone());
        Some(token)
    }

    /// Reprint the ticket of `token` (at `now_ms`); returns its number.
    pub(crate) fn reprint(&self, token: &str, now_ms: i64) -> Result<String, ReprintRefusal> {
        let mut book = self.book.lock().map_err(|_| ReprintRefusal::UnknownToken)?;
        let r = book
            .iter_mut()
            .find(|r| {
                r.token
                    .as_deref()
                    .is_some_and(|t| bool::from(t.as_bytes().ct_eq(token.as_bytes())))
            })
            .ok_or(ReprintRefusal::UnknownToken)?;
        let ticket = r.job.ticket.clone();
        if r.used {
            return Err(ReprintRefusal::Used(ticket));
        }
        if now_ms.saturating_sub(r.job.issued_at_ms) > REPRINT_WINDOW_MS {
            return Err(ReprintRefusal::Expired(ticket));
        }
        let mut job = r.job.clone();
        let timeout = job.deadline_ms.saturating_sub(job.issued_at_ms).max(1_000);
        job.deadline_ms = now_ms.saturating_add(timeout);
        if self.jobs.try_send(job).is_err() {
            return Err(ReprintRefusal::QueueFull(ticket));
        }
        r.used = true;
        Ok(ticket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Day;

    fn config() -> Config {
        let text = include_str!("../../config/dev.toml");
        match crate::config::parse(text, "dev.toml", None) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    fn issued(seq: u64, at: i64, ticket: &str) -> Entry {
        Entry {
            seq,
            at,
            clock_ok: true,
            day: Day::from_ymd(2026, 12, 1)
                .unwrap_or(Day::from_ymd(2026, 1, 1).unwrap_or_else(|| panic!("day"))),
            event: Event::TicketIssued {
                ticket: ticket.into(),
                service: "A".into(),
                number: seq as u32,
                priority: false,
                ahead: 0,
                source: "kiosk".into(),
            },
        }
    }

    #[tokio::test]
    async fn full_queue_is_reported_and_reprint_is_once_within_the_window() {
        let c = config();
        let (tx, mut rx) = mpsc::channel(1);
        let desk = PrintDesk::new(tx);
        assert!(desk.feed(&c, &issued(1, 1_000, "A001")));
        assert!(
            !desk.feed(&c, &issued(2, 2_000, "A002")),
            "queue of one is full"
        );
        assert_eq!(desk.outcome(1).await, Some(true));
        assert_eq!(desk.outcome(2).await, Some(false));
        assert_eq!(rx.recv().await.map(|j| j.ticket), Some("A001".into()));

        let t1 = desk.token(1).unwrap_or_default();
        let t2 = desk.token(2).unwrap_or_default();
        assert_eq!(t1.len(), 32);
        assert_ne!(t1, t2);
        assert_eq!(
            desk.reprint("nope", 3_000),
            Err(ReprintRefusal::UnknownToken)
        );
        assert_eq!(desk.reprint(&t2, 3_000), Ok("A002".into()));
        let again = rx.recv().await;
        assert_eq!(again.as_ref().map(|j| j.ticket.as_str()), Some("A002"));
        assert!(again.is_some_and(|j| j.deadline_ms > 3_000));
        assert_eq!(
            desk.reprint(&t2, 3_001),
            Err(ReprintRefusal::Used("A002".into()))
        );
        assert_eq!(
            desk.reprint(&t1, 1_000 + REPRINT_WINDOW_MS + 1),
            Err(ReprintRefusal::Expired("A001".into()))
        );
        // Within the window, but the queue is full: refused, and the token still works.
        assert!(desk.feed(&c, &issued(3, 4_000, "A003")));
        assert_eq!(
            desk.reprint(&t1, 5_000),
            Err(ReprintRefusal::QueueFull("A001".into()))
        );
        let _ = rx.recv().await;
        assert_eq!(desk.reprint(&t1, 5_000), Ok("A001".into()));
    }
}

//! layso (Vietnamese *lấy số*, "take a number"): the queue-ticket daemon of a commune
//! public administrative service center. The design (code map, data flow,
//! invariants) is `docs/architecture.md`; this is its short form.
//!
//! # Map of the code (where is the thing that does X)
//!
//! - `core/` — the queue rules, pure: `decide(&state, command, now)` and
//!   `apply(&mut state, &entry)`; business days and the clock rule in `core/time.rs`;
//!   commands and bilingual rejections in `core/command.rs`; record format in
//!   `core/event.rs`.
//! - `core/rating.rs` — officers signed in at counters and the rating binding rules (one
//!   rating per ticket, the ticket just finished there, within the window); `report/` —
//!   the daily report folded from one day's log entries (pure) and its CSV;
//!   `web/ratings.rs` — sign-in, ratings (`/rate/{n}`, `/report`: `web/pages.rs`);
//!   `devices/button_action.rs` and `devices/keypad_keys.rs` — rating buttons and keys.
//! - `config.rs` — TOML → checked `Config`; every problem with line:column. One checker
//!   per section in `config/` (`site`, `services`, `counters`, `store`, `devices`, `web`,
//!   `ratings`, `uplink` — the `[uplink]` types, re-exported as `uplink::config`).
//! - `codec.rs` — the stored record format (versioned: compact v2, JSON v1 still read).
//! - `log/` — the durable event log: `mod.rs` appends (durable once sled and the journal
//!   are flushed), metadata, the acknowledged mark; `block.rs` the CRC-checked sled block
//!   format; `journal.rs` the second copy (CRC-framed day files); `hwm.rs` the high-water
//!   mark kept outside sled (two CRC'd slots, pwrite + fdatasync); `open.rs` the checked
//!   open and the reopen after a write failure; `reconcile.rs` compares the copies,
//!   restores and reports losses; `reader.rs` reads only (replay, backlog);
//!   `cursor.rs` the one other write handle: the uplink's published cursor and pruning.
//! - `engine.rs` — the single writer thread: decide → append → apply → one flush per
//!   batch (group commit) → reply → broadcast; the `Handle` adapters use;
//!   `engine/view.rs` the `View` the pages read; `engine/store.rs` — the flusher, store health, rollback to the durable state and
//!   the reopen probe while the store cannot write.
//! - `devices/printer/` — ESC/POS ticket printing: pure encoder and status parser,
//!   serial/file/TCP transports, the adapter task (docs/printer.md).
//! - `web/` — axum: JSON API under `/api/v1`, the SSE event stream, embedded pages.
//!   `web/serve.rs` the server loop (header/idle timeouts, connection cap, client gone?);
//!   `web/guard.rs` same-origin + JSON for changes, JSON bodies for every error;
//!   `web/printing.rs` print outcome per ticket and single-use reprint tokens.
//! - `adapters.rs` — feeds the device adapters from the engine (print jobs, current
//!   tickets, calls) and turns their presses and health into engine commands.
//! - `uplink/` — MQTT 5 to the province: `protocol.rs` batches, PUBACK → cursor
//!   tracking, backoff, outages (pure); `refusal.rs` PUBACK verdicts and the refusal
//!   state (pure); `metrics.rs` figures from the log (pure); `link.rs` the MQTT client
//!   behind a small trait (rumqttc; a fake in `shell_tests.rs`); `tls.rs` rustls (ring);
//!   `mod.rs` the shell.
//! - `daemon.rs` — `layso run`: wiring, signals, systemd notify; `cli.rs` — commands
//!   and exit codes; `sys.rs` — the wall clock, kernel clock status, host uptime and sd_notify.
//! - `status/` — the status in plain words: `advice.rs` problem → code, sentence and what to
//!   do (pure); `report.rs` the plain-language fields of `GET /api/v1/state` (pure);
//!   `text.rs` + `cli.rs` `layso status` (docs/pages.md).
//! - `devices/` — GPIO buttons (pure debouncer + gpio-cdev reader), MAX7219 and HD44780
//!   counter displays (embedded-hal drivers on linux-embedded-hal), serial LED boards
//!   (frame templates, tokio-serial adapter), their config and `validate`; see
//!   `docs/devices.md`.
//!   `devices/supervisor.rs` restarts every adapter with backoff and stops them with one
//!   cancellation token; `devices/health.rs` the typed `DeviceHealth` report;
//!   `devices/display/` counter displays (config, validate, blink, surface, runner);
//!   `devices/serial.rs` the one list of baud rates; `backoff.rs` the one retry backoff.
//! - `voice/` — spoken calls: Vietnamese number reading, voice packs, the announcer
//!   (aplay); the display page's announcement endpoint is `web/voice.rs` (docs/voice.md).
//! - `province/` (feature `province`, not in the board package) — the province side:
//!   collector into PostgreSQL, gap re-send requests, figures, dashboard, weekly report;
//!   see `docs/province.md`. The site answers re-send requests in `uplink/resend.rs`.
//!
//! # Invariants
//!
//! - `core` does no I/O: no tokio, no sled, no clock reads, no randomness. Time is an
//!   argument. All queue rules live there and nowhere else.
//! - Only the engine thread writes entries or changes the state (the uplink's `LogCursor`
//!   writes only the published mark and prunes; `LogReader` only reads). A ticket number
//!   is shown or printed only after its `TicketIssued` entry is durable in both copies.
//! - The state is always the fold of the durable log: a command whose write failed leaves
//!   no trace; the event stream carries only durable entries.
//! - The store is checked, not trusted, on every open: sled, the journal and the
//!   high-water mark are compared; losses are restored or reported, never silent.
//! - `seq` only grows, across restarts and quarantines; within a business day no
//!   ticket number repeats (the high-water mark outside sled covers a lost store).
//! - Effective time never goes backwards relative to the last logged entry, so a
//!   closed business day never reopens.
//! - Adapters never block the engine; a failed device becomes a `DeviceStatus` entry; an
//!   adapter that ends or panics is restarted by the supervisor.
//! - The uplink reads the log; it is never fed by the engine.
//! - A command's reply is sent only after the view shows its batch (read your writes).
//! - Visibility is `pub(crate)` unless tests/ or benches/ name the item.

// Visibility is `pub(crate)` unless tests/ or benches/ name the item: every `pub` that
// cannot be reached from outside the crate is reported.
#![warn(unreachable_pub)]

pub mod adapters;
pub(crate) mod backoff;
pub mod cli;
pub(crate) mod codec;
pub mod config;
pub mod core;
pub(crate) mod daemon;
pub mod devices;
pub mod engine;
pub mod log;
#[cfg(feature = "province")]
pub mod province;
pub mod report;
pub(crate) mod status;
pub(crate) mod sys;
pub mod uplink;
pub mod voice;
pub mod web;

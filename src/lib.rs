//! layso (Vietnamese *lấy số*, "take a number"): the queue-ticket daemon of a commune
//! public administrative service center. See `../shared/DESIGN.md` for the why.
//!
//! # Map of the code (where is the thing that does X)
//!
//! - `core/` — the queue rules, pure: `decide(&state, command, now)` and
//!   `apply(&mut state, &entry)`; business days and the clock rule in `core/time.rs`;
//!   commands and bilingual rejections in `core/command.rs`; record format in
//!   `core/event.rs`.
//! - `config.rs` — TOML → checked `Config`; every problem with line:column.
//! - `codec.rs` — the stored record format (versioned: compact v2, JSON v1 still read).
//! - `log.rs` — the sled event log: durable appends, replay of the current day,
//!   metadata (boot count, last alive, clean shutdown → `PowerRestored`), the uplink
//!   cursor, retention, quarantine of a store that will not open, the high-water mark
//!   file kept outside sled.
//! - `engine.rs` — the single writer thread: decide → append → apply → one flush per
//!   batch (group commit) → reply → broadcast; the `Handle` adapters use; the `View`.
//! - `devices/printer/` — ESC/POS ticket printing: pure encoder and status parser,
//!   serial/file/TCP transports, the adapter task (docs/printer.md).
//! - `web/` — axum: JSON API under `/api/v1`, the SSE event stream, embedded pages.
//! - `adapters.rs` — feeds the device adapters from the engine (print jobs, current
//!   tickets, calls) and turns their presses and health into engine commands.
//! - `uplink/` — MQTT 5 to the province: `protocol.rs` batches, PUBACK → cursor
//!   tracking, backoff, outages (pure); `metrics.rs` figures from the log (pure);
//!   `config.rs` the `[uplink]` section; `tls.rs` rustls (ring); `mod.rs` the shell.
//! - `daemon.rs` — `layso run`: wiring, signals, systemd notify; `cli.rs` — commands
//!   and exit codes; `sys.rs` — the wall clock, kernel clock status, host uptime and sd_notify.
//! - `devices/` — GPIO buttons (pure debouncer + gpio-cdev reader), MAX7219 and HD44780
//!   counter displays (embedded-hal drivers on linux-embedded-hal), serial LED boards
//!   (frame templates, tokio-serial adapter), their config and `validate`; see
//!   `docs/devices.md`.
//! - `province/` (feature `province`, not in the board package) — the province side:
//!   collector into PostgreSQL, gap re-send requests, figures, dashboard, weekly report;
//!   see `docs/province.md`. The site answers re-send requests in `uplink/resend.rs`.
//!
//! # Invariants
//!
//! - `core` does no I/O: no tokio, no sled, no clock reads, no randomness. Time is an
//!   argument. All queue rules live there and nowhere else.
//! - Only the engine thread writes the log or changes the state. A ticket number is
//!   shown or printed only after its `TicketIssued` entry is durable (flushed).
//! - `seq` only grows, across restarts and quarantines; within a business day no
//!   ticket number repeats (the high-water mark outside sled covers a lost store).
//! - Effective time never goes backwards relative to the last logged entry, so a
//!   closed business day never reopens.
//! - Adapters never block the engine; a failed device becomes a `DeviceStatus` entry.
//! - The uplink reads the log; it is never fed by the engine.

pub mod adapters;
pub mod cli;
pub mod codec;
pub mod config;
pub mod core;
pub mod daemon;
pub mod devices;
pub mod engine;
pub mod log;
#[cfg(feature = "province")]
pub mod province;
pub mod sys;
pub mod uplink;
pub mod web;

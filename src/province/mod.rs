//! The province side (feature `province`): a collector on the province's MQTT 5 broker
//! that stores every site's events exactly once in PostgreSQL and asks sites to send
//! gaps again, the per-site/day figures computed from those events, the dashboard and
//! the weekly report. See docs/province.md.
//!
//! - `config.rs` — `config/province/*.toml` → checked `ProvinceConfig`.
//! - `collector.rs` — MQTT session, batch → commit → ack, gap watcher, figures worker;
//!   `flow.rs` — the bounded hand-off between its MQTT reader and its writer;
//!   `rows.rs` — messages → rows (pure).
//! - `db.rs` + `migrations/` — schema (versioned, applied at start) and batch writes.
//! - `gaps.rs` — contiguity and re-send timing (pure).
//! - `figures.rs` — a site-day's figures and availability (pure); `figures/people.rs`
//!   its citizens' ratings and per-officer figures (pure, the board's daily report's
//!   definitions); `store.rs` their rows.
//! - `web.rs` + `assets/` — the dashboard (`web/people.rs` a center's ratings and
//!   officers); `report.rs` — the weekly XLSX/CSV (`report/people.rs` its ratings,
//!   reasons and officers sections).
//! - `cli.rs` — `layso province run|check|report`.

pub(crate) mod cli;
pub(crate) mod collector;
pub(crate) mod config;
pub(crate) mod db;
pub(crate) mod figures;
pub(crate) mod flow;
pub(crate) mod gaps;
pub mod report;
pub(crate) mod rows;
pub(crate) mod store;
pub(crate) mod web;

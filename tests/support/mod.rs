//! Shared test harness: the real daemon binary, free ports, temp configs.
#![allow(dead_code)]

pub mod daemon;
pub mod dev_config;
pub mod kiosk;
pub mod process;
pub mod rng;

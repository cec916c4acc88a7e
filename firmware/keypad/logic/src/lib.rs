#![no_std]
//! Board-independent keypad firmware logic (placeholder).

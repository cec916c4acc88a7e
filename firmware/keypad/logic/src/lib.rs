//! Board-independent logic of the layso counter keypad: Modbus RTU slave framing, the register
//! map, the acknowledged press queue, button debouncing, the 7-segment display, RS-485 direction
//! sequencing, the bus address — and the bus master's codec, so the daemon shares the exact map.
//!
//! Everything is a pure state machine: time is passed in, nothing here touches hardware.

#![no_std]

#[cfg(test)]
extern crate std;

pub mod address;
pub mod buttons;
pub mod crc;
pub mod frame;
pub mod keypad;
pub mod master;
pub mod queue;
pub mod regs;
pub mod rs485;
pub mod segments;

pub use keypad::{Keypad, KeypadConfig, Layout};
pub use regs::KeyCode;

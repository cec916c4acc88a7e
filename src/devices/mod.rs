//! Device adapters on the board: the ticket printer, GPIO buttons, counter displays
//! (MAX7219 over SPI, HD44780 over I2C) and serial LED boards, with their configuration,
//! validation and supervision. Every device is optional; a failing one is reported and
//! retried, never allowed to stop the engine.

pub mod board;
pub mod button_action;
pub mod buttons;
pub(crate) mod display;
pub mod hd44780;
pub(crate) mod health;
pub mod keypad;
mod keypad_keys;
pub mod ledboard;
pub mod max7219;
pub mod printer;
pub(crate) mod serial;
pub(crate) mod supervisor;
pub(crate) mod translit;

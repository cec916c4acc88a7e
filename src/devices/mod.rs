//! Devices on the board: GPIO buttons, counter displays (MAX7219 over SPI, HD44780 over I2C)
//! and serial LED boards, with their configuration, validation and supervision.

pub mod board;
pub mod buttons;
pub mod hd44780;
pub mod ledboard;
pub mod max7219;
pub mod translit;

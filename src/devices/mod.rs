//! Device adapters: printers, displays, buttons, keypads.
pub mod keypad;
pub mod printer;

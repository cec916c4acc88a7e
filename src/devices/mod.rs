//! Device adapters: printers, displays, buttons, keypads.
pub mod printer;

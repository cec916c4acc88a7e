pub mod keypad;

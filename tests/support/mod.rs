pub mod keypad_sim;
pub mod queue_sink;

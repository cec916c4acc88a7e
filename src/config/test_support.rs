//! Helpers for the config checkers' unit tests: a config text's problems as
//! `line:column message` strings, and the assertion that one of them is at a place and says
//! something.

/// The problems `parse` finds in `text`, each as `line:column message` (empty when it parses).
pub(crate) fn located_problems(text: &str) -> Vec<String> {
    match super::parse(text, "t.toml", None) {
        Ok(_) => vec![],
        Err(e) => e
            .problems
            .iter()
            .map(|p| format!("{}:{} {}", p.line, p.column, p.message))
            .collect(),
    }
}

/// Asserts that some problem starts with `at` (`"line:column"`) and contains `says`.
#[track_caller]
pub(crate) fn assert_problem(problems: &[String], at: &str, says: &str) {
    assert!(
        problems
            .iter()
            .any(|m| m.starts_with(at) && m.contains(says)),
        "{problems:?}"
    );
}

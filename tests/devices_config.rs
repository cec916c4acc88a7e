//! Device configuration: real TOML text, serde strictness, and `validate` spans pointing at the
//! offending key's value.

use layso::devices::board::{validate, ButtonActionConfig, DevicesConfig, DisplayKind};

const SERVICES: &[&str] = &["A", "B"];
const COUNTERS: &[u16] = &[1, 2, 3];

/// A consistent devices section (buttons, counter displays, an LED board), shared with the
/// `layso check` test in cli.rs.
const GOOD: &str = include_str!("fixtures/devices.toml");

fn parse(text: &str) -> DevicesConfig {
    toml::from_str(text).unwrap_or_else(|e| panic!("does not parse: {e}"))
}

/// `validate`'s errors for `text` against services A, B and counters 1–3: (span, message).
fn spans(text: &str) -> Vec<(std::ops::Range<usize>, String)> {
    let d = parse(text);
    validate(
        &d.buttons,
        &d.counter_displays,
        &d.led_boards,
        SERVICES,
        COUNTERS,
    )
}

/// As [`spans`], each span as the text it covers.
fn check(text: &str) -> Vec<(String, String)> {
    spans(text)
        .into_iter()
        .map(|(span, msg)| (text[span].to_string(), msg))
        .collect()
}

/// Serde's error for `text`, empty when it parses.
fn serde_error(text: &str) -> String {
    toml::from_str::<DevicesConfig>(text)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

/// `GOOD` with `edit.0` replaced by `edit.1` has exactly one error: its span covers `span`
/// and its message contains each of `parts`.
#[track_caller]
fn assert_one_error(edit: (&str, &str), span: &str, parts: &[&str]) {
    let (text, at, msg) = one_error(edit);
    assert_eq!(&text[at], span);
    for part in parts {
        assert!(msg.contains(part), "{part:?} in {msg}");
    }
}

/// `GOOD` with `edit.0` replaced by `edit.1`, which must have exactly one error: (that text,
/// the error's span, its message).
#[track_caller]
fn one_error(edit: (&str, &str)) -> (String, std::ops::Range<usize>, String) {
    let text = GOOD.replace(edit.0, edit.1);
    let mut errs = spans(&text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    let (span, msg) = errs.remove(0);
    (text, span, msg)
}

/// Asserts that one of `errs` points at `span` and its message contains `part`.
#[track_caller]
fn assert_error_at(errs: &[(String, String)], span: &str, part: &str) {
    assert!(
        errs.iter().any(|(s, m)| s == span && m.contains(part)),
        "no error at {span} saying {part:?}: {errs:?}"
    );
}

#[test]
fn consistent_config_parses_and_validates() {
    let d = parse(GOOD);
    assert_eq!(d.buttons.len(), 4);
    assert_eq!(
        d.buttons[1].action.get_ref(),
        &ButtonActionConfig::Issue {
            service: "A".into(),
            priority: true
        }
    );
    assert_eq!(d.buttons[0].debounce_ms(), 30);
    assert_eq!(d.buttons[1].min_interval_ms(), 2000);
    assert_eq!(*d.counter_displays[1].kind.get_ref(), DisplayKind::Hd44780);
    assert_eq!(d.counter_displays[0].chips(), 3);
    assert_eq!(check(GOOD), Vec::<(String, String)>::new());
}

#[test]
fn unknown_service_in_a_button_action() {
    assert_one_error(
        (
            r#"service = "A", priority = true"#,
            r#"service = "Z", priority = true"#,
        ),
        r#"{ kind = "issue", service = "Z", priority = true }"#,
        &["unknown service \"Z\"", "A, B"],
    );
}

#[test]
fn two_buttons_on_one_line_point_at_the_second_line_key() {
    // Same line written two ways: "gpiochip0" and "/dev/gpiochip0".
    let (text, span, msg) = one_error(("line = 27", "line = 17"));
    assert_eq!(&text[span.clone()], "17");
    // The span is the second button's `line`, not the first one's.
    let second = text
        .find("line = 17")
        .and_then(|i| text[i + 1..].find("line = 17").map(|j| i + 1 + j));
    assert_eq!(Some(span.start - "line = ".len()), second);
    assert!(msg.contains("already used by button 1"), "{msg}");
}

#[test]
fn counter_display_for_a_counter_that_does_not_exist() {
    assert_one_error(
        ("counters = [1, 2, 3]", "counters = [1, 9, 3]"),
        "9",
        &["counter 9, which does not exist", "1, 2, 3"],
    );
}

#[test]
fn button_counter_action_for_a_missing_counter() {
    assert_one_error(
        (
            r#"{ kind = "next", counter = 2 }"#,
            r#"{ kind = "next", counter = 7 }"#,
        ),
        r#"{ kind = "next", counter = 7 }"#,
        &[],
    );
}

#[test]
fn display_options_that_do_not_fit_their_kind_or_range() {
    let text = GOOD
        .replace("intensity = 4", "intensity = 16\ncolumns = 20")
        .replace(
            "counters = [1, 2]\nlabel",
            "counters = [1, 2, 3, 1, 2]\nlabel",
        )
        .replace("rows = 4", "rows = 3");
    let errs = check(&text);
    let spans: Vec<&str> = errs.iter().map(|(s, _)| s.as_str()).collect();
    // intensity out of range, columns on a max7219, rows 3, counters 1 and 2 listed twice,
    // and five counters on an LCD.
    assert!(spans.contains(&"16"), "{errs:?}");
    assert_error_at(&errs, "20", "`columns` applies only to kind = \"hd44780\"");
    assert_error_at(&errs, "3", "rows 3");
    assert_eq!(
        errs.iter()
            .filter(|(_, m)| m.contains("listed twice"))
            .count(),
        2,
        "{errs:?}"
    );
    assert_error_at(&errs, "[1, 2, 3, 1, 2]", "do not fit on 3 rows");
    assert_eq!(errs.len(), 6, "{errs:?}");
}

#[test]
fn led_board_checks() {
    let text = GOOD
        .replace(
            "text = \"{ticket} -> {counter}\"",
            "text = \"{ticket} -> {desk}\"\nbaud = 9601\ncounters = [4]",
        )
        .replace(
            "checksum = \"xor\"",
            "checksum = \"xor\"\nchecksum_at = \"before_suffix\"\nchecksum_to = \"end_of_suffix\"",
        );
    let errs = check(&text);
    assert_error_at(
        &errs,
        "\"{ticket} -> {desk}\"",
        "unknown placeholder {desk}",
    );
    assert_error_at(&errs, "9601", "9600");
    assert_error_at(&errs, "4", "counter 4");
    assert_error_at(&errs, "\"end_of_suffix\"", "cannot cover the suffix");
    assert_eq!(errs.len(), 4, "{errs:?}");
}

#[test]
fn duplicate_names_and_ports() {
    let board = GOOD
        .split("[[led_boards]]")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let text = format!("{GOOD}\n[[led_boards]]{board}");
    let errs = check(&text);
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(
        errs[0].1.contains("name is used twice") && errs[0].0 == "\"hall\"",
        "{errs:?}"
    );
    assert!(
        errs[1].1.contains("already used by board \"hall\""),
        "{errs:?}"
    );
}

#[test]
fn serde_rejects_unknown_keys_and_kinds_with_a_position() {
    let text = GOOD.replace("debounce_ms = 40", "debounce = 40");
    let err = serde_error(&text);
    assert!(err.contains("unknown field `debounce`"), "{err}");
    let text = GOOD.replace(r#"kind = "next""#, r#"kind = "skip""#);
    let err = serde_error(&text);
    assert!(err.contains("skip") && err.contains("line"), "{err}");
    let text = GOOD.replace(
        r#"{ kind = "recall", counter = 2 }"#,
        r#"{ kind = "recall", counter = 2, service = "A" }"#,
    );
    assert!(
        toml::from_str::<DevicesConfig>(&text).is_err(),
        "extra key in an action is rejected"
    );
    let text = GOOD.replace(r#"kind = "max7219""#, r#"kind = "ssd1306""#);
    let err = serde_error(&text);
    assert!(err.contains("max7219") && err.contains("hd44780"), "{err}");
}

#[test]
fn frame_without_an_end_points_at_the_frame_table() {
    let (text, span, msg) = one_error(("suffix = [0x03]\n", ""));
    assert!(msg.contains("where the text ends"), "{msg}");
    // The span lies inside the [led_boards.frame] table.
    let table = text.find("[led_boards.frame]").unwrap_or(usize::MAX);
    assert!(
        span.start >= table && span.end <= text.len() && span.start < span.end,
        "{span:?} {:?}",
        &text[span.clone()]
    );
    assert!(
        text[span.clone()].starts_with("[led_boards.frame]"),
        "{:?}",
        &text[span.clone()]
    );
}

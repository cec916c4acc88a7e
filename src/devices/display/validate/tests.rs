//! The exact messages of the checks every named display and LED board entry gets: a unique
//! name, a device path that is set and not taken by another entry of its section.

use super::*;

/// Each problem of `text` as (the text its span points at, the message).
fn problems(text: &str) -> Result<Vec<(String, String)>, String> {
    let c: DevicesConfig = toml::from_str(text).map_err(|e| e.to_string())?;
    let errs = validate(&[], &c.counter_displays, &c.led_boards, &[], &[1]);
    Ok(errs
        .into_iter()
        .map(|(span, message)| (text[span].to_string(), message))
        .collect())
}

#[test]
fn names_twice_and_paths_empty_or_taken_say_what_to_do() -> Result<(), String> {
    let text = include_str!("names_and_paths.toml");
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    let want = vec![
        s(
            "\"hall\"",
            "counter display \"hall\": the name is used twice; display names must be unique",
        ),
        s(
            "\"/dev/spidev0.0\"",
            "counter display \"hall\": device /dev/spidev0.0 is already driven by display \"hall\"; chain the counters in one entry instead",
        ),
        s(
            "\" \"",
            "counter display \"desk\": device is empty; expected e.g. \"/dev/spidev0.0\" or \"/dev/i2c-1\"",
        ),
        s(
            "\"wall\"",
            "LED board \"wall\": the name is used twice; board names must be unique",
        ),
        s(
            "\"\"",
            "LED board \"wall\": port is empty; expected e.g. \"/dev/layso-ledboard-hall\"",
        ),
        s(
            "\"/dev/ttyUSB0\"",
            "LED board \"door\": port /dev/ttyUSB0 is already used by board \"wall\"; boards on one bus share one entry (address_is_counter = true)",
        ),
    ];
    let got = problems(text)?;
    assert_eq!(got, want);
    Ok(())
}

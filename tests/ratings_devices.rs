//! Citizen ratings from hardware: three GPIO buttons per counter (config → debouncer →
//! engine) and a keypad in the rating layout on the RS-485 bus, next to an ordinary
//! counter keypad, through the firmware-in-the-loop simulator.

#[path = "support/api.rs"]
mod api;
#[path = "support/keypad_sim.rs"]
mod keypad_sim;
#[path = "support/queue_sink.rs"]
mod queue_sink;

use std::sync::Arc;
use std::time::Duration;

use keypad_sim::{bus_config, wait_for, SimBus, SimOptions};
use layso::core::rating::RatingLevel;
use layso::core::{Command, Event};
use layso::devices::button_action::rate_command;
use layso::devices::buttons::{ButtonAction, Debouncer};
use layso::devices::keypad::{self, KeyAction};
use layso_keypad::KeyCode;
use queue_sink::QueueSink;

const BUTTONS: &str = r#"
[[buttons]]
name = "rate 1 very"
chip = "gpiochip0"
line = 17
action = { kind = "rate", counter = 1, level = "very_satisfied" }

[[buttons]]
name = "rate 1 ok"
chip = "gpiochip0"
line = 27
action = { kind = "rate", counter = 1, level = "satisfied" }

[[buttons]]
name = "rate 1 bad"
chip = "gpiochip0"
line = 22
action = { kind = "rate", counter = 1, level = "unsatisfied" }
"#;

#[tokio::test]
async fn gpio_rating_buttons_rate_the_ticket_just_served() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = api::dev_config(BUTTONS, &dir.path().join("store"));

    // The "Chưa hài lòng" button, pressed with contact bounce.
    let cfg = &config.buttons[2];
    let mut d = Debouncer::from_config(cfg, true, 0);
    let mut actions = Vec::new();
    for (t, level) in [(1000, false), (1002, true), (1004, false), (1300, true)] {
        actions.extend(d.on_edge(level, t));
    }
    actions.extend(d.on_tick(2000));
    let want = ButtonAction::Rate {
        counter: 1,
        level: RatingLevel::Unsatisfied,
    };
    assert_eq!(actions, vec![want.clone()]);

    let h = api::start_engine(&config);
    let issue = Command::Issue {
        service: "A".into(),
        priority: false,
        source: "test".into(),
    };
    h.execute(issue).await.expect("issue");
    h.execute(Command::Next { counter: 1 }).await.expect("next");
    h.execute(Command::Complete { counter: 1 })
        .await
        .expect("complete");
    let ButtonAction::Rate { counter, level } = want else {
        panic!("not a rating action")
    };
    let out = h.execute(rate_command(counter, level)).await.expect("rate");
    assert!(
        matches!(&out.entries[0].event, Event::Rated { ticket, level: RatingLevel::Unsatisfied, .. } if ticket == "A001"),
        "{:?}",
        out.entries
    );
    // A second press of any rating button is refused: one rating per ticket.
    assert!(h
        .execute(rate_command(1, RatingLevel::Satisfied))
        .await
        .is_err());
    h.stop().await;
}

#[test]
fn a_wrong_rating_button_is_reported_with_line_and_column() {
    // (replace, with, the line to point at, the message after `line:column: `)
    for (from, to, needle, message) in [
        (
            "level = \"satisfied\"",
            "level = \"happy\"",
            "level = \"happy\"",
            "unknown variant `happy`, expected one of `very_satisfied`",
        ),
        (
            "counter = 1, level = \"satisfied\"",
            "counter = 9, level = \"satisfied\"",
            "counter = 9, level",
            "button 2: action refers to counter 9, which does not exist",
        ),
    ] {
        let text = include_str!("../config/dev.toml").to_string() + &BUTTONS.replace(from, to);
        let line = line_of(&text, needle);
        let err = match layso::config::parse(&text, "dev.toml", None) {
            Ok(_) => panic!("{to} must be refused"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.starts_with(&format!("dev.toml:{line}:10: {message}")),
            "{err}"
        );
    }
}

/// The 1-based line of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map_or(0, |i| i + 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rating_keypad_next_to_an_old_style_counter_keypad() {
    let mut opts = SimOptions::new(vec![1, 2]);
    opts.rating_pads = vec![2];
    let sim = SimBus::start(opts).expect("pseudo-terminal for the simulated bus");
    let pads = [(1u8, 3u16), (2, 3)];
    let (sink, rx) = QueueSink::new(&[3]);
    let sink = Arc::new(sink);
    let task = tokio::spawn(keypad::run(
        bus_config(sim.path(), &pads),
        sink.clone(),
        rx,
        |_, _, _| {},
    ));

    // The counter keypad (default layout, as every keypad built so far) calls.
    sim.press(1, KeyCode::Next);
    wait_for("A001 called", Duration::from_secs(5), || {
        sink.log() == vec![(3, KeyAction::Next)]
    })
    .await;
    // The citizen presses "Chưa hài lòng" on the rating keypad.
    sim.press(2, KeyCode::RateUnsatisfied);
    wait_for("the rating applied", Duration::from_secs(5), || {
        sink.log().len() == 2
    })
    .await;
    assert_eq!(
        sink.log(),
        vec![
            (3, KeyAction::Next),
            (3, KeyAction::Rate(RatingLevel::Unsatisfied))
        ]
    );
    // Applied once and acknowledged: the rating keypad's queue empties.
    wait_for("rating press acknowledged", Duration::from_secs(2), || {
        sim.view(2).is_some_and(|v| v.queued == 0)
    })
    .await;
    // The rating keypad's other buttons report nothing.
    assert_eq!(sink.log().len(), 2);
    sink.close();
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
}

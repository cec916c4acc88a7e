//! Button debounce / minimum-interval logic fed with synthetic edge sequences.

use layso::devices::board::ButtonConfig;
use layso::devices::buttons::{ButtonAction, ButtonBank, Debouncer};

const HIGH: bool = true;
const LOW: bool = false;

fn issue_a() -> ButtonAction {
    ButtonAction::Issue {
        service: "A".into(),
        priority: false,
    }
}

/// Active-low button, 30 ms debounce, 1500 ms minimum interval, released (high) at t = 0.
fn button() -> Debouncer {
    Debouncer::new(issue_a(), true, 30, 1500, HIGH, 0)
}

/// Feeds `(time, level)` edges and ticks every millisecond from 0 to `until`; returns the
/// actions with the time they came out.
fn run(d: &mut Debouncer, edges: &[(u64, bool)], until: u64) -> Vec<(u64, ButtonAction)> {
    let mut out = Vec::new();
    let mut e = edges.iter().peekable();
    for t in 0..=until {
        while let Some((at, level)) = e.peek() {
            if *at != t {
                break;
            }
            if let Some(a) = d.on_edge(*level, t) {
                out.push((t, a));
            }
            e.next();
        }
        if let Some(a) = d.on_tick(t) {
            out.push((t, a));
        }
    }
    out
}

#[test]
fn contact_bounce_gives_one_action_after_the_level_settles() {
    let mut d = button();
    let edges = [
        (1000, LOW),
        (1002, HIGH),
        (1003, LOW),
        (1005, HIGH),
        (1006, LOW), // settles pressed
        (1200, HIGH),
        (1201, LOW),
        (1202, HIGH), // settles released
    ];
    assert_eq!(run(&mut d, &edges, 3000), vec![(1036, issue_a())]);
    assert!(!d.is_pressed());
}

#[test]
fn glitch_shorter_than_debounce_is_ignored() {
    let mut d = button();
    assert!(run(&mut d, &[(500, LOW), (529, HIGH)], 2000).is_empty());
}

#[test]
fn long_press_fires_once_and_release_fires_nothing() {
    let mut d = button();
    let out = run(&mut d, &[(100, LOW), (10_000, HIGH)], 12_000);
    assert_eq!(out, vec![(130, issue_a())]);
    // Pressed again later: a new action.
    let out = {
        let mut more = Vec::new();
        more.extend(d.on_edge(LOW, 13_000));
        more.extend(d.on_tick(13_030));
        more
    };
    assert_eq!(out, vec![issue_a()]);
}

#[test]
fn impatient_double_press_gives_one_action() {
    let mut d = button();
    let edges = [(100, LOW), (250, HIGH), (400, LOW), (500, HIGH)];
    assert_eq!(run(&mut d, &edges, 3000), vec![(130, issue_a())]);
}

#[test]
fn hammering_gives_one_action_until_the_button_is_left_alone() {
    let mut d = button();
    // A press every 600 ms for 5 s: every press falls within 1500 ms of the previous one.
    let mut edges = Vec::new();
    for k in 0..9u64 {
        edges.push((100 + k * 600, LOW));
        edges.push((200 + k * 600, HIGH));
    }
    // Then left alone for 2 s and pressed once more.
    edges.push((7000, LOW));
    edges.push((7100, HIGH));
    assert_eq!(
        run(&mut d, &edges, 8000),
        vec![(130, issue_a()), (7030, issue_a())]
    );
}

#[test]
fn press_recognised_from_an_edge_when_no_tick_came() {
    let mut d = button();
    assert_eq!(d.on_edge(LOW, 100), None);
    assert_eq!(d.next_deadline(), Some(130));
    // The reader was late: the release edge shows the press had held for 200 ms.
    assert_eq!(d.on_edge(HIGH, 300), Some(issue_a()));
    assert_eq!(d.on_tick(400), None);
}

#[test]
fn button_held_at_start_fires_only_after_release_and_new_press() {
    let mut d = Debouncer::new(issue_a(), true, 30, 1500, LOW, 0);
    assert!(d.is_pressed());
    let out = run(&mut d, &[(5000, HIGH), (6000, LOW)], 7000);
    assert_eq!(out, vec![(6030, issue_a())]);
}

#[test]
fn active_high_button() {
    let next = ButtonAction::Next { counter: 3 };
    let mut d = Debouncer::new(next.clone(), false, 20, 500, LOW, 0);
    let out = run(
        &mut d,
        &[(100, HIGH), (101, LOW), (102, HIGH), (300, LOW)],
        1000,
    );
    assert_eq!(out, vec![(122, next)]);
}

#[test]
fn two_buttons_pressed_at_once_each_fire_once() {
    let a = issue_a();
    let b = ButtonAction::Issue {
        service: "A".into(),
        priority: true,
    };
    let c = ButtonAction::Recall { counter: 2 };
    let mut bank = ButtonBank::new(vec![
        Debouncer::new(a.clone(), true, 30, 1500, HIGH, 0),
        Debouncer::new(b.clone(), true, 30, 1500, HIGH, 0),
        Debouncer::new(c.clone(), true, 30, 1500, HIGH, 0),
    ]);
    // Buttons 0 and 1 pressed 3 ms apart, each bouncing; button 2 untouched.
    let edges: [(u64, usize, bool); 8] = [
        (100, 0, LOW),
        (101, 0, HIGH),
        (102, 0, LOW),
        (103, 1, LOW),
        (104, 1, HIGH),
        (106, 1, LOW),
        (900, 0, HIGH),
        (950, 1, HIGH),
    ];
    let mut out = Vec::new();
    let mut i = 0;
    for t in 0..2000u64 {
        while i < edges.len() && edges[i].0 == t {
            for act in bank.on_edge(edges[i].1, edges[i].2, t) {
                out.push((t, act));
            }
            i += 1;
        }
        if bank.next_deadline().is_some_and(|d| d <= t) {
            for act in bank.on_tick(t) {
                out.push((t, act));
            }
        }
    }
    assert_eq!(out, vec![(132, a), (136, b)]);
}

#[derive(serde::Deserialize)]
struct Doc {
    buttons: Vec<ButtonConfig>,
}

#[test]
fn debouncer_from_config_uses_its_timing_and_action() {
    let doc: Doc = toml::from_str(
        r#"
[[buttons]]
chip = "gpiochip0"
line = 17
debounce_ms = 50
min_interval_ms = 2000
action = { kind = "issue", service = "B", priority = true }
"#,
    )
    .expect("valid button config");
    let cfg = &doc.buttons[0];
    assert!(cfg.active_low);
    assert_eq!(cfg.chip_path(), "/dev/gpiochip0");
    let mut d = Debouncer::from_config(cfg, HIGH, 0);
    let want = ButtonAction::Issue {
        service: "B".into(),
        priority: true,
    };
    let out = run(
        &mut d,
        &[
            (100, LOW),
            (200, HIGH),
            (1900, LOW),
            (2000, HIGH),
            (4500, LOW),
        ],
        5000,
    );
    assert_eq!(out, vec![(150, want.clone()), (4550, want)]);
}

// ------------------------------------------------------------------------------------------
// The async shell (`drive`) with a synthetic line in real time
// ------------------------------------------------------------------------------------------

use layso::devices::buttons::{drive, Ended, LineInput};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// A line whose edges come from a channel; `level` is what a sample reads.
struct FakeLine {
    edges: mpsc::UnboundedReceiver<bool>,
    level: Arc<AtomicBool>,
}

impl LineInput for FakeLine {
    async fn next_level(&mut self) -> Option<Result<bool, String>> {
        self.edges.recv().await.map(Ok)
    }
    fn sample(&mut self) -> Result<bool, String> {
        Ok(self.level.load(Ordering::SeqCst))
    }
}

#[tokio::test]
async fn shell_debounces_real_time_edges_and_resyncs_a_lost_edge() {
    let (edge_tx, edges) = mpsc::unbounded_channel();
    let level = Arc::new(AtomicBool::new(HIGH));
    let mut line = FakeLine {
        edges,
        level: level.clone(),
    };
    let (out, mut actions) = mpsc::channel(8);
    let origin = tokio::time::Instant::now();
    let deb = Debouncer::new(issue_a(), true, 20, 300, HIGH, 0);
    let task = tokio::spawn(async move { drive(deb, &mut line, &out, origin).await });

    // A bouncing press: one action, about 20 ms after the last bounce.
    for l in [LOW, HIGH, LOW, HIGH, LOW] {
        level.store(l, Ordering::SeqCst);
        edge_tx.send(l).expect("shell listens");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let got = tokio::time::timeout(Duration::from_millis(500), actions.recv()).await;
    assert_eq!(got, Ok(Some(issue_a())));
    // Held for 400 ms: nothing more.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(actions.try_recv().is_err());

    // The release edge is lost (kernel queue overflow) and the button is pressed again without
    // an edge either: only the once-a-second sample can notice. It sees the release first...
    level.store(HIGH, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    // ... then the next press is an ordinary edge and counts.
    level.store(LOW, Ordering::SeqCst);
    edge_tx.send(LOW).expect("shell listens");
    let got = tokio::time::timeout(Duration::from_millis(500), actions.recv()).await;
    assert_eq!(
        got,
        Ok(Some(issue_a())),
        "the lost release was recovered by sampling"
    );

    // The line goes away: the shell says so, so the reader can reopen it.
    drop(edge_tx);
    let ended = tokio::time::timeout(Duration::from_secs(2), task).await;
    assert!(matches!(ended, Ok(Ok(Ended::InputFailed(_)))), "{ended:?}");
}

#[tokio::test]
async fn shell_stops_when_the_engine_is_gone() {
    let (_edge_tx, edges) = mpsc::unbounded_channel();
    let mut line = FakeLine {
        edges,
        level: Arc::new(AtomicBool::new(HIGH)),
    };
    let (out, actions) = mpsc::channel(8);
    let deb = Debouncer::new(issue_a(), true, 20, 300, HIGH, 0);
    let origin = tokio::time::Instant::now();
    let task = tokio::spawn(async move { drive(deb, &mut line, &out, origin).await });
    drop(actions);
    let ended = tokio::time::timeout(Duration::from_secs(2), task).await;
    assert!(matches!(ended, Ok(Ok(Ended::OutputClosed))), "{ended:?}");
}

//! A hall LED board through the whole daemon: a counter calls a number over the HTTP
//! API and the board emulator (on a pseudo-terminal, reached through tokio-serial) shows
//! it; unplugging and replugging the board is survived and reported in the state.

#[allow(dead_code)]
#[path = "support/ledboard_emu.rs"]
mod ledboard_emu;
mod support;

use layso::devices::board::LedBoardConfig;
use ledboard_emu::LedBoardEmu;
use serde_json::Value;
use std::time::Duration;
use support::daemon::Site;

fn board_toml(link: &std::path::Path) -> String {
    let example = include_str!("../config/ledboard-ascii-xor.toml");
    example
        .lines()
        .map(|l| {
            if l.starts_with("port = ") {
                format!("port = {:?}", link.display().to_string())
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn call_next(client: &reqwest::Client, site: &Site) -> String {
    let v: Value = client
        .post(site.url("/api/v1/counters/1/next"))
        .bearer_auth("counter1-dev")
        .send()
        .await
        .expect("next")
        .json()
        .await
        .expect("json");
    v["current"]["ticket"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn wait_board(client: &reqwest::Client, site: &Site, want: &str) {
    site.wait_device(client, "hall", want, Duration::from_secs(40))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counter_call_reaches_the_led_board_and_replug_is_survived() {
    let tmp = tempfile::tempdir().expect("tmp");
    let link = tmp.path().join("layso-ledboard-hall");
    let toml_text = board_toml(&link);
    #[derive(serde::Deserialize)]
    struct Doc {
        led_boards: Vec<LedBoardConfig>,
    }
    let doc: Doc = toml::from_str(&toml_text).expect("example parses");
    let template = doc.led_boards[0].frame.get_ref().clone();
    let emu = LedBoardEmu::plug(&link, template.clone()).expect("pty");
    let site = Site::new(&format!("\n{toml_text}\n"));
    let d = tokio::task::block_in_place(|| site.start());
    let client = reqwest::Client::new();
    for _ in 0..3 {
        site.issue(&client, "A").await;
    }
    wait_board(&client, &site, "ok").await;
    assert_eq!(call_next(&client, &site).await, "A001");
    assert!(
        emu.wait_for_text("A001 -> Quay 1", Duration::from_secs(10))
            .is_some(),
        "board shows the call; got {:?}",
        emu.frames()
            .iter()
            .map(|f| f.frame.text.clone())
            .collect::<Vec<_>>()
    );

    emu.unplug();
    // A call while the board is unplugged fails to reach it (reported in the state) and
    // is shown once the board is back.
    assert_eq!(call_next(&client, &site).await, "A002");
    wait_board(&client, &site, "failed").await;
    let emu2 = LedBoardEmu::plug(&link, template).expect("pty again");
    wait_board(&client, &site, "ok").await;
    assert!(emu2
        .wait_for_text("A002 -> Quay 1", Duration::from_secs(40))
        .is_some());
    assert_eq!(call_next(&client, &site).await, "A003");
    assert!(emu2
        .wait_for_text("A003 -> Quay 1", Duration::from_secs(10))
        .is_some());
    assert!(emu2.errors().is_empty(), "{:?}", emu2.errors());
    d.kill9();
}

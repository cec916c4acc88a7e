//! Spoken calls end to end: the default pack is built with espeak-ng, `layso check`
//! validates a pack with line:column errors, `layso announce` writes the WAV, and a
//! counter's call through the real daemon reaches a fake `aplay` (a script recording its
//! arguments and the audio) exactly as assembled; a missing player shows as `speaker`
//! "missing".

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support::daemon::{config_text, free_port, Daemon, Site, BIN};
use support::process::run_ok;

/// What to do when the `layso` binary cannot be run.
const BUILT: &str = "cargo builds it for the integration tests";

/// Build the default pack into `dir/pack` (the CI pack build). Needs espeak-ng.
fn build_pack(dir: &Path) -> PathBuf {
    let ok = Command::new("espeak-ng").arg("--version").output().is_ok();
    assert!(
        ok,
        "espeak-ng is missing: install it with `apt-get install espeak-ng` (scripts/test.sh does)"
    );
    let pack = dir.join("pack");
    let stdout = run_ok(
        "build-pack",
        BUILT,
        Command::new(BIN)
            .args(["voice", "build-pack", "--out"])
            .arg(&pack),
    );
    assert!(String::from_utf8_lossy(&stdout).contains("clips written"));
    pack
}

/// The dev config with its `[voice]` pointed at `pack` and the player replaced.
fn voice_config(port: u16, dir: &Path, pack: &Path, player: &str) -> String {
    let text = config_text(port, dir, "");
    let mut out = String::new();
    let mut in_voice = false;
    for line in text.lines() {
        if line.starts_with('[') {
            in_voice = line == "[voice]";
            if in_voice {
                out += &format!(
                    "[voice]\nwhere = \"board\"\ndialect = \"south\"\npack = {:?}\n{player}\n",
                    pack.display().to_string()
                );
                continue;
            }
        }
        if !in_voice {
            out += line;
            out.push('\n');
        }
    }
    out
}

fn fake_aplay(dir: &Path) -> PathBuf {
    let script = dir.join("aplay");
    let rec = dir.join("played");
    std::fs::create_dir_all(&rec).expect("dir");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nn=$(date +%s%N)\necho \"$@\" > {rec}/$n.args\ncat > {rec}/$n.wav\n",
            rec = rec.display()
        ),
    )
    .expect("write fake aplay");
    let _ = Command::new("chmod").arg("+x").arg(&script).status();
    script
}

/// Recorded plays longer than `min_bytes` (the start-up probe is 50 ms of silence).
fn plays(dir: &Path, min_bytes: usize) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir.join("played"))
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_else(|_| Vec::new());
    v.sort();
    v.into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .filter_map(|p| {
            let wav = std::fs::read(&p).ok()?;
            let args = std::fs::read_to_string(p.with_extension("args")).ok()?;
            (wav.len() > min_bytes).then_some((args, wav))
        })
        .collect()
}

/// A temp dir with the test pack built in it and a `layso.toml` using it with `player`:
/// (the dir, the pack, the config).
fn pack_site(player: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().expect("tmp");
    let pack = build_pack(tmp.path());
    let cfg = tmp.path().join("layso.toml");
    std::fs::write(&cfg, voice_config(free_port(), tmp.path(), &pack, player)).expect("write");
    (tmp, pack, cfg)
}

#[test]
fn check_validates_the_pack_with_line_and_column() {
    let (_tmp, pack, cfg) = pack_site("player = \"file\"");
    let check = |what: &str| {
        let out = Command::new(BIN)
            .args(["check", "--config"])
            .arg(&cfg)
            .output()
            .expect("check");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            what.to_string(),
        )
    };
    let (code, err, _) = check("good pack");
    assert_eq!(code, Some(0), "{err}");

    // `layso voice clips` lists what to record, with the words.
    let out = Command::new(BIN)
        .args(["voice", "clips", "--config"])
        .arg(&cfg)
        .output()
        .expect("clips");
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(list.contains("cau-xin-moi-cong-dan-co-so-thu-tu\tcau-xin-moi-cong-dan-co-so-thu-tu.wav\tXin mời công dân có số thứ tự"), "{list}");
    assert!(list.contains("so-ngan\tso-ngan.wav\tngàn"), "{list}");

    // A missing clip, a silent clip: exit 2, each named, at the `pack` key.
    std::fs::remove_file(pack.join("so-tu.wav")).expect("rm");
    let silent = vec![0u8; 44 + 4000];
    let mut silent_wav = std::fs::read(pack.join("so-hai.wav")).expect("read");
    silent_wav.truncate(44);
    silent_wav.extend_from_slice(&silent[44..]);
    silent_wav[40..44].copy_from_slice(&4000u32.to_le_bytes());
    std::fs::write(pack.join("so-hai.wav"), silent_wav).expect("write");
    let (code, err, _) = check("broken pack");
    assert_eq!(code, Some(2), "{err}");
    let text = std::fs::read_to_string(&cfg).expect("read");
    let line = text
        .lines()
        .position(|l| l.starts_with("pack = "))
        .expect("pack line")
        + 1;
    let at = format!("{}:{line}:8: [voice] clip", cfg.display());
    assert!(err.contains(&at), "want {at} in:\n{err}");
    assert!(
        err.contains("'so-tu'") && err.contains("cannot read"),
        "{err}"
    );
    assert!(err.contains("'so-hai'") && err.contains("silent"), "{err}");
}

#[test]
fn announce_writes_the_wav_and_prints_the_text() {
    let (tmp, _pack, cfg) = pack_site("player = \"file\"\ndigits = \"digits\"");
    let wav = tmp.path().join("call.wav");
    let stdout = run_ok(
        "announce",
        BUILT,
        Command::new(BIN)
            .args(["announce", "--config"])
            .arg(&cfg)
            .args(["--ticket", "A012", "--counter", "3", "--out"])
            .arg(&wav),
    );
    assert_eq!(
        String::from_utf8_lossy(&stdout).trim(),
        "Xin mời công dân có số thứ tự a không một hai đến quầy số ba"
    );
    let pcm = layso::voice::wav::parse(&std::fs::read(&wav).expect("read wav")).expect("a WAV");
    assert_eq!(pcm.rate, 22_050);
    assert!(pcm.ms() > 3_000 && pcm.ms() < 15_000, "{} ms", pcm.ms());
}

/// A site with the test pack and `player(site dir)` as its `[voice]` player, its daemon
/// started, once the speaker reports `speaker`.
async fn voice_site(
    player: impl FnOnce(&Path) -> String,
    speaker: &str,
) -> (Site, Daemon, reqwest::Client) {
    let site = Site::new("");
    let pack = build_pack(site.dir.path());
    let player = player(site.dir.path());
    std::fs::write(
        &site.config,
        voice_config(site.port, site.dir.path(), &pack, &player),
    )
    .expect("write");
    let daemon = site.start();
    let client = reqwest::Client::new();
    site.wait_device(&client, "speaker", speaker, Duration::from_secs(20))
        .await;
    (site, daemon, client)
}

/// Issues a ticket for `service` and calls it at `counter`; the ticket's number.
async fn issue_and_call(
    site: &Site,
    client: &reqwest::Client,
    service: &str,
    counter: u16,
) -> String {
    let t = site.issue(client, service).await;
    let ticket = t["ticket"]["ticket"].as_str().unwrap_or_default();
    site.counter(client, counter, "next").await;
    ticket.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_call_is_played_through_aplay() {
    let (site, _daemon, client) = voice_site(
        |dir| {
            let aplay = fake_aplay(dir);
            format!(
                "player = \"alsa\"\naplay = {:?}\nalsa_device = \"hdmi:CARD=vc4hdmi0,DEV=0\"",
                aplay.display().to_string()
            )
        },
        "ok",
    )
    .await;

    let ticket = issue_and_call(&site, &client, "A", 1).await;
    // A quick recall of the same ticket is merged into the call being said.
    site.counter(&client, 1, "recall").await;

    let start = Instant::now();
    let mut got = Vec::new();
    while start.elapsed() < Duration::from_secs(20) {
        got = plays(site.dir.path(), 20_000);
        if !got.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        got.len(),
        1,
        "one announcement; daemon log:\n{}",
        site.daemon_log()
    );
    let (args, wav) = &got[0];
    assert_eq!(args.trim(), "-q -t wav -D hdmi:CARD=vc4hdmi0,DEV=0 -");
    // Exactly what the library assembles for this call with this site's settings.
    let config = layso::config::load(&site.config).expect("config");
    let vc = config.voice.clone().expect("[voice]");
    let voice = layso::voice::Voice::load(&vc, &config).expect("pack");
    assert_eq!(
        voice.speech.text(&ticket, 1),
        format!(
            "Xin mời công dân có số thứ tự a {} đến quầy số một",
            layso::voice::reading::words_text(&layso::voice::reading::number(
                ticket[1..].parse().unwrap_or(0),
                layso::voice::reading::Dialect::South
            ))
        )
    );
    assert!(
        *wav == voice.render_wav(&ticket, 1),
        "the played audio differs from the assembled announcement"
    );
    // The recall stayed merged.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        plays(site.dir.path(), 20_000).len(),
        1,
        "a recall within seconds is merged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_player_is_reported_as_speaker_missing() {
    let (site, _daemon, client) = voice_site(
        |_| "player = \"alsa\"\naplay = \"/nonexistent/aplay\"".into(),
        "missing",
    )
    .await;
    // Tickets go on regardless.
    site.issue(&client, "A").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_player_writes_each_call_as_a_wav() {
    let (site, _daemon, client) = voice_site(
        |dir| {
            let out_dir = dir.join("voice-out");
            format!(
                "player = \"file\"\nout_dir = {:?}",
                out_dir.display().to_string()
            )
        },
        "ok",
    )
    .await;
    let out_dir = site.dir.path().join("voice-out");
    let ticket = issue_and_call(&site, &client, "B", 2).await;
    let start = Instant::now();
    let mut files = Vec::new();
    while start.elapsed() < Duration::from_secs(20) && files.is_empty() {
        files = std::fs::read_dir(&out_dir)
            .map(|r| {
                r.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(files.len(), 1, "{files:?}\n{}", site.daemon_log());
    assert!(
        files[0].starts_with("call-") && files[0].ends_with(&format!("-{ticket}.wav")),
        "{files:?}"
    );
    let pcm = layso::voice::wav::parse(&std::fs::read(out_dir.join(&files[0])).expect("read"))
        .expect("a WAV");
    assert!(pcm.ms() > 3_000, "{} ms", pcm.ms());
}

//! Plays an announcement on the board: ALSA through an `aplay` child (no C libraries to
//! cross-build; `-D` reaches HDMI and USB audio alike) or WAV files for laptops; classifies
//! failures into the `speaker` device states ok / missing / error.

use super::config::PlayerKind;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// The `speaker` device's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Ok,
    /// No player program, or no such sound device (unplugged USB speaker, HDMI TV off).
    Missing,
    /// The device is there but playing failed.
    Error,
}

/// Why playing failed, with the device state it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlayError {
    pub health: Health,
    pub detail: String,
}

/// What a successful play measured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Played {
    /// When the first audio bytes were handed to the device, on the monotonic clock (for
    /// the benchmark).
    pub first_sample: std::time::Instant,
}

#[derive(Debug, Clone)]
pub struct Player {
    pub kind: PlayerKind,
}

/// Words in aplay's errors that mean the device is not there.
const MISSING_HINTS: [&str; 5] = [
    "No such file or directory",
    "No such device",
    "cannot find card",
    "Unknown PCM",
    "no soundcards found",
];

impl Player {
    pub(crate) fn describe(&self) -> String {
        match &self.kind {
            PlayerKind::Alsa { command, device } => format!(
                "ALSA via `{command}`{}",
                device
                    .as_ref()
                    .map(|d| format!(" -D {d}"))
                    .unwrap_or_default()
            ),
            PlayerKind::File { dir } => format!("WAV files in {}", dir.display()),
        }
    }

    /// Play a WAV (mono 16-bit). `name` names the file for the file player. Waits until
    /// the audio has been played (aplay exits when the device has drained it).
    pub(crate) async fn play(&self, wav: &[u8], name: &str) -> Result<Played, PlayError> {
        match &self.kind {
            PlayerKind::File { dir } => {
                let path: PathBuf = dir.join(format!("{name}.wav"));
                let io = |e: std::io::Error| PlayError {
                    health: Health::Error,
                    detail: format!(
                        "cannot write {}: {e}; make out_dir writable",
                        path.display()
                    ),
                };
                tokio::fs::create_dir_all(dir).await.map_err(io)?;
                let first_sample = std::time::Instant::now();
                // Whole files only: written aside, then renamed into place.
                let part = dir.join(format!(".{name}.wav.part"));
                tokio::fs::write(&part, wav).await.map_err(io)?;
                tokio::fs::rename(&part, &path).await.map_err(io)?;
                Ok(Played { first_sample })
            }
            PlayerKind::Alsa { command, device } => {
                let mut cmd = Command::new(command);
                cmd.args(["-q", "-t", "wav"]);
                if let Some(d) = device {
                    cmd.args(["-D", d]);
                }
                cmd.arg("-")
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .kill_on_drop(true);
                let mut child = cmd.spawn().map_err(|e| PlayError {
                    health: Health::Missing,
                    detail: format!(
                        "cannot start `{command}`: {e}; install alsa-utils (apt-get install alsa-utils) or set [voice] aplay"
                    ),
                })?;
                let mut first_sample = std::time::Instant::now();
                if let Some(mut stdin) = child.stdin.take() {
                    // Header and the first 100 ms of audio first, then the rest.
                    let first = wav.len().min(44 + 4410);
                    let wrote = stdin.write_all(&wav[..first]).await;
                    first_sample = std::time::Instant::now();
                    if wrote.is_ok() {
                        let _ = stdin.write_all(&wav[first..]).await;
                    }
                    drop(stdin);
                }
                // Longest announcement is well under a minute; never hang on a stuck device.
                let out = tokio::time::timeout(Duration::from_secs(90), child.wait_with_output())
                    .await
                    .map_err(|_| PlayError {
                        health: Health::Error,
                        detail: format!(
                            "`{command}` did not finish within 90 s; the sound device seems stuck"
                        ),
                    })?
                    .map_err(|e| PlayError {
                        health: Health::Error,
                        detail: format!("waiting for `{command}`: {e}"),
                    })?;
                if out.status.success() {
                    return Ok(Played { first_sample });
                }
                let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
                let health = if MISSING_HINTS.iter().any(|h| err.contains(h)) {
                    Health::Missing
                } else {
                    Health::Error
                };
                Err(PlayError {
                    health,
                    detail: format!(
                        "`{}` failed ({}): {err}; check the speaker and [voice] alsa_device (list devices with `aplay -L`)",
                        self.describe(),
                        out.status
                    ),
                })
            }
        }
    }

    /// Check the device by playing 50 ms of silence.
    pub(crate) async fn probe(&self, rate: u32) -> Result<(), PlayError> {
        let silence = super::wav::Pcm {
            rate,
            samples: vec![0; super::wav::samples_for(rate, 50)],
        };
        match &self.kind {
            PlayerKind::File { dir } => {
                tokio::fs::create_dir_all(dir).await.map_err(|e| PlayError {
                    health: Health::Error,
                    detail: format!("cannot create {}: {e}", dir.display()),
                })
            }
            PlayerKind::Alsa { .. } => self.play(&silence.to_wav(), "probe").await.map(|_| ()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn missing_player_and_failing_device_are_told_apart() {
        let p = Player {
            kind: PlayerKind::Alsa {
                command: "/nonexistent/aplay".into(),
                device: None,
            },
        };
        let e = p.probe(22_050).await.err();
        assert_eq!(e.map(|e| e.health), Some(Health::Missing));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // Stand-in players that read the sound and fail with what aplay prints.
        let cases = [
            (
                "aplay",
                "aplay: main:831: audio open error: No such file or directory",
                Health::Missing,
            ),
            ("aplay2", "underrun!!!", Health::Error),
        ];
        for (name, says, health) in cases {
            let script = dir.path().join(name);
            let body = format!("#!/bin/sh\ncat >/dev/null\necho '{says}' >&2\nexit 1\n");
            std::fs::write(&script, body).unwrap_or_else(|e| panic!("{e}"));
            let _ = std::process::Command::new("chmod")
                .arg("+x")
                .arg(&script)
                .status();
            let player = Player {
                kind: PlayerKind::Alsa {
                    command: script.display().to_string(),
                    device: Some("hdmi:CARD=vc4hdmi0".into()),
                },
            };
            let e = player.probe(22_050).await.err();
            assert_eq!(e.as_ref().map(|e| e.health), Some(health), "{says}");
            if health == Health::Error {
                assert!(e.is_some_and(|e| e.detail.contains("underrun")));
            }
        }
    }
}

//! The `[voice]` section: what is said (template, dialect, digits, repeat), where it plays
//! (board, display, none), the pack and the player; checked with line:column spans.

use super::reading::{Dialect, DigitsMode};
use super::template::{self, Speech};
use crate::config::defaults::written_or;
use serde::Deserialize;
use std::ops::Range;
use std::path::PathBuf;
use toml::Spanned;

/// Where the packaged default pack is installed.
pub(crate) const DEFAULT_PACK: &str = "/usr/share/layso/voice";

/// `[voice]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoiceConfig {
    /// false: no announcements at all (default true).
    pub enabled: Option<bool>,
    /// "board" (the Pi's speaker), "display" (the hall display page), "none".
    #[serde(rename = "where")]
    pub place: Option<Spanned<String>>,
    pub template: Option<Spanned<String>>,
    /// "north" or "south".
    pub dialect: Option<Spanned<String>>,
    /// "number" (A012: "a mười hai") or "digits" ("a không một hai").
    pub digits: Option<Spanned<String>>,
    /// How many times the announcement is said, 1 to 3 (default 1).
    pub repeat: Option<Spanned<u8>>,
    /// Play the chime first (default true).
    pub chime: Option<bool>,
    /// The voice pack directory (default /usr/share/layso/voice).
    pub pack: Option<Spanned<PathBuf>>,
    /// "alsa" (an `aplay` child) or "file" (WAVs written into `out_dir`, for laptops).
    pub player: Option<Spanned<String>>,
    /// ALSA device for `aplay -D` (e.g. "default", "hdmi:CARD=vc4hdmi0", "plughw:CARD=Device").
    pub alsa_device: Option<Spanned<String>>,
    /// The aplay command (default "aplay").
    pub aplay: Option<Spanned<String>>,
    /// Where the file player writes (default ./var/voice).
    pub out_dir: Option<PathBuf>,
}

/// Where announcements are played.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    Board,
    Display,
    None,
}

impl Place {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Place::Board => "board",
            Place::Display => "display",
            Place::None => "none",
        }
    }
}

/// How the board plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlayerKind {
    Alsa {
        command: String,
        device: Option<String>,
    },
    File {
        dir: PathBuf,
    },
}

fn choice<'a>(
    v: &'a Option<Spanned<String>>,
    allowed: &[&'a str],
    key: &str,
    out: &mut Vec<(Range<usize>, String)>,
) -> &'a str {
    match v {
        None => allowed[0],
        Some(s) => match allowed.iter().find(|a| **a == s.get_ref().as_str()) {
            Some(a) => a,
            None => {
                out.push((
                    s.span(),
                    format!(
                        "[voice] {key} = \"{}\" is not known; use one of: {}",
                        s.get_ref(),
                        allowed
                            .iter()
                            .map(|a| format!("\"{a}\""))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
                allowed[0]
            }
        },
    }
}

impl VoiceConfig {
    /// Problems with their spans; the pack itself is checked by [`Self::check_pack`].
    pub fn validate(&self) -> Vec<(Range<usize>, String)> {
        let mut out = Vec::new();
        choice(
            &self.place,
            &["board", "display", "none"],
            "where",
            &mut out,
        );
        choice(&self.dialect, &["north", "south"], "dialect", &mut out);
        choice(&self.digits, &["number", "digits"], "digits", &mut out);
        choice(&self.player, &["alsa", "file"], "player", &mut out);
        if let Some(t) = &self.template {
            if let Err(e) = template::parse(t.get_ref()) {
                out.push((t.span(), format!("[voice] {e}")));
            }
        }
        if let Some(r) = &self.repeat {
            if !(1..=3).contains(r.get_ref()) {
                out.push((
                    r.span(),
                    format!(
                        "[voice] repeat = {}: use 1 to 3 (times the call is said)",
                        r.get_ref()
                    ),
                ));
            }
        }
        for (v, key) in [(&self.alsa_device, "alsa_device"), (&self.aplay, "aplay")] {
            if let Some(s) = v {
                if s.get_ref().trim().is_empty() {
                    out.push((
                        s.span(),
                        format!("[voice] {key} is empty; remove it for the default"),
                    ));
                }
            }
        }
        out
    }

    pub(crate) fn enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }

    /// Where it plays; `None` when disabled.
    pub(crate) fn place(&self) -> Place {
        if !self.enabled() {
            return Place::None;
        }
        match self.place.as_ref().map(|s| s.get_ref().as_str()) {
            Some("display") => Place::Display,
            Some("none") => Place::None,
            _ => Place::Board,
        }
    }

    pub(crate) fn pack_dir(&self) -> PathBuf {
        self.pack
            .as_ref()
            .map_or_else(|| PathBuf::from(DEFAULT_PACK), |p| p.get_ref().clone())
    }

    pub fn player(&self) -> PlayerKind {
        match self.player.as_ref().map(|s| s.get_ref().as_str()) {
            Some("file") => PlayerKind::File {
                dir: self
                    .out_dir
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("./var/voice")),
            },
            _ => PlayerKind::Alsa {
                command: self
                    .aplay
                    .as_ref()
                    .map_or_else(|| "aplay".to_string(), |a| a.get_ref().clone()),
                device: self.alsa_device.as_ref().map(|d| d.get_ref().clone()),
            },
        }
    }

    /// The speech settings for a site (a valid config: call after `validate`).
    pub(crate) fn speech(&self, config: &crate::config::Config) -> Speech {
        let text = self
            .template
            .as_ref()
            .map_or(template::DEFAULT, |t| t.get_ref().as_str());
        let template = template::parse(text)
            .or_else(|_| template::parse(template::DEFAULT))
            .unwrap_or(template::Template {
                segments: vec![template::Segment::Ticket],
            });
        let mut prefixes: Vec<String> = config.services.iter().map(|s| s.prefix.clone()).collect();
        prefixes.sort_by_key(|p| std::cmp::Reverse(p.len()));
        Speech {
            template,
            dialect: match self.dialect.as_ref().map(|s| s.get_ref().as_str()) {
                Some("south") => Dialect::South,
                _ => Dialect::North,
            },
            digits: match self.digits.as_ref().map(|s| s.get_ref().as_str()) {
                Some("digits") => DigitsMode::Digits,
                _ => DigitsMode::Number,
            },
            repeat: written_or(&self.repeat, 1).clamp(1, 3),
            chime: self.chime.unwrap_or(true),
            prefixes,
            counter_names: config
                .counters
                .iter()
                .map(|c| (c.number, c.name.clone()))
                .collect(),
        }
    }

    /// When voice is on: the pack loads and holds every clip the site needs.
    pub(crate) fn check_pack(&self, config: &crate::config::Config) -> Vec<(Range<usize>, String)> {
        if self.place() == Place::None {
            return Vec::new();
        }
        let span = self.pack.as_ref().map_or(0..0, |p| p.span());
        let problems = match super::pack::load(&self.pack_dir()) {
            Ok(pack) => pack.missing(&self.speech(config).needed_clips()),
            Err(p) => p,
        };
        problems
            .into_iter()
            .map(|p| (span.clone(), format!("[voice] {p}")))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    /// The shared one-counter site, its counter named (spoken in calls), then `[voice]`.
    const SITE: &str = concat!(
        include_str!("../config/fixtures/one_counter.toml"),
        r#"name = "Quầy hộ tịch"

[voice]
"#
    );

    fn problems(voice: &str) -> Vec<String> {
        crate::config::test_support::located_problems(&format!("{SITE}{voice}"))
    }

    #[test]
    fn every_voice_key_is_checked_with_line_and_column() {
        assert_eq!(
            problems("where = \"display\"\ndialect = \"south\"\n"),
            Vec::<String>::new()
        );
        let p = problems(
            "where = \"tv\"\ndialect = \"central\"\ndigits = \"roman\"\nrepeat = 5\ntemplate = \"Mời {counter}\"\nplayer = \"pulse\"\naplay = \" \"\n",
        );
        let want = [
            "17:9 [voice] where = \"tv\" is not known; use one of: \"board\", \"display\", \"none\"",
            "18:11 [voice] dialect = \"central\" is not known",
            "19:10 [voice] digits = \"roman\"",
            "20:10 [voice] repeat = 5: use 1 to 3",
            "21:12 [voice] template never says the ticket",
            "22:10 [voice] player = \"pulse\"",
            "23:9 [voice] aplay is empty",
        ];
        assert_eq!(p.len(), want.len(), "{p:#?}");
        for (got, want) in p.iter().zip(want) {
            assert!(got.starts_with(want), "{got} should start with {want}");
        }
        let unknown = problems("volume = 3\n");
        assert!(
            unknown[0].starts_with("17:1 unknown field `volume`"),
            "{unknown:?}"
        );
    }

    #[test]
    fn settings_follow_the_config() {
        let text = format!("{SITE}dialect = \"south\"\ndigits = \"digits\"\nrepeat = 2\ntemplate = \"Mời {{ticket}} đến {{counter_name}}\"\n");
        let c = crate::config::parse(&text, "t.toml", None).unwrap_or_else(|e| panic!("{e}"));
        let vc = c.voice.clone().unwrap_or_default();
        assert_eq!(vc.place(), super::Place::Board);
        let s = vc.speech(&c);
        assert_eq!(
            s.text("A024", 1),
            "Mời a không hai bốn đến Quầy hộ tịch Mời a không hai bốn đến Quầy hộ tịch"
        );
        assert!(
            matches!(vc.player(), super::PlayerKind::Alsa { ref command, device: None } if command == "aplay")
        );
    }
}

//! Spoken calls in Vietnamese, offline: a chime and "Xin mời công dân có số thứ tự A012
//! đến quầy số 3" assembled from a voice pack's WAV clips, played on the board (ALSA) or by
//! the hall display page. See docs/voice.md.
//!
//! - `reading.rs` — numbers, digits and letters as Vietnamese words, North and South (pure).
//! - `template.rs` — the site's template and the script of one call (pure).
//! - `wav.rs` — WAV PCM parse/write, silence trimming, the chime (pure).
//! - `pack.rs` — the pack manifest, loading and validating clips, assembly.
//! - `queue.rs` — no overlap, merge of quick recalls, 60 s expiry (pure).
//! - `player.rs` — `aplay` child or WAV files; `speaker` health.
//! - `announcer.rs` — the adapter task fed by the engine's calls.
//! - `espeak.rs` — `layso voice build-pack` with espeak-ng's Vietnamese voice.
//! - `config.rs` — `[voice]`; `cli.rs` — `layso voice …`, `layso announce`. The
//!   announcement endpoint for the display page is `web/voice.rs`.

pub mod announcer;
pub mod cli;
pub mod config;
pub mod espeak;
pub mod pack;
pub mod player;
pub mod queue;
pub mod reading;
pub mod template;
pub mod wav;

pub use config::VoiceConfig;

use std::sync::Arc;

/// A site's voice: what it says and the pack it says it with.
#[derive(Debug, Clone)]
pub struct Voice {
    pub speech: template::Speech,
    pub pack: Arc<pack::Pack>,
}

impl Voice {
    /// Load the pack of a site's `[voice]` and check it holds every clip needed.
    pub fn load(vc: &VoiceConfig, config: &crate::config::Config) -> Result<Voice, Vec<String>> {
        let speech = vc.speech(config);
        let pack = pack::load(&vc.pack_dir())?;
        let missing = pack.missing(&speech.needed_clips());
        if !missing.is_empty() {
            return Err(missing);
        }
        Ok(Voice {
            speech,
            pack: Arc::new(pack),
        })
    }

    /// The announcement of a call as audio.
    pub fn render(&self, ticket: &str, counter: u16) -> wav::Pcm {
        self.pack.render(&self.speech.script(ticket, counter))
    }

    /// The announcement of a call as a WAV file.
    pub fn render_wav(&self, ticket: &str, counter: u16) -> Vec<u8> {
        self.pack.render_wav(&self.speech.script(ticket, counter))
    }
}

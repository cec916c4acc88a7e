//! `layso voice build-pack`: the default pack, spoken by espeak-ng's Vietnamese voice
//! (`espeak-ng -v vi -w clip.wav "text"`), no network; plus the generated chime.

use super::pack::{ClipEntry, Manifest, MANIFEST};
use super::reading::{Dialect, Word};
use super::template::{self, Speech, CHIME};
use super::wav;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// espeak-ng writes 22 050 Hz mono 16-bit.
pub(crate) const ESPEAK_RATE: u32 = 22_050;

/// Every clip the default pack holds: both dialects' number words, all 26 letters, the
/// default template's phrases, and what `site` (a configured site) needs on top.
pub fn default_clips(site: Option<&Speech>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut add = |id: String, text: String| {
        if !out.iter().any(|(i, _)| *i == id) {
            out.push((id, text));
        }
    };
    if let Ok(t) = template::parse(template::DEFAULT) {
        for s in &t.segments {
            if let template::Segment::Text(text) = s {
                add(template::phrase_id(text), text.clone());
            }
        }
    }
    for d in [Dialect::North, Dialect::South] {
        for w in Word::number_words(d) {
            add(w.clip_id(), w.text().into());
        }
    }
    for c in 'A'..='Z' {
        let w = Word::Letter(c);
        add(w.clip_id(), w.text().into());
    }
    if let Some(s) = site {
        for (id, text) in s.needed_clips() {
            if id != CHIME {
                add(id, text);
            }
        }
    }
    out
}

/// Build a pack into `out` with `espeak` (the espeak-ng program). Returns the clip count.
pub fn build(out: &Path, espeak: &str, clips: &[(String, String)]) -> Result<usize, String> {
    std::fs::create_dir_all(out).map_err(|e| {
        format!(
            "cannot create {}: {e}; give a writable directory",
            out.display()
        )
    })?;
    let mut manifest = Manifest {
        voice: "espeak-ng vi (layso default pack)".into(),
        rate: ESPEAK_RATE,
        clips: BTreeMap::new(),
    };
    for (id, text) in clips {
        let file = PathBuf::from(format!("{id}.wav"));
        let path = out.join(&file);
        let status = std::process::Command::new(espeak)
            .args(["-v", "vi", "-s", "150", "-w"])
            .arg(&path)
            .arg(text)
            .status()
            .map_err(|e| {
                format!("cannot run `{espeak}`: {e}; install it with `apt-get install espeak-ng`")
            })?;
        if !status.success() {
            return Err(format!(
                "`{espeak} -v vi -w {} \"{text}\"` failed ({status}); is the Vietnamese voice installed (`espeak-ng --voices=vi`)?",
                path.display()
            ));
        }
        // Store the clip trimmed: smaller on disk, and what a recorded pack should look like.
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let pcm = wav::parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        if pcm.rate != ESPEAK_RATE {
            return Err(format!(
                "{} is {} Hz; this espeak-ng writes an unexpected rate (expected {ESPEAK_RATE})",
                path.display(),
                pcm.rate
            ));
        }
        std::fs::write(&path, pcm.trimmed(super::pack::MARGIN_MS).to_wav())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        manifest.clips.insert(
            id.clone(),
            ClipEntry {
                file,
                text: text.clone(),
            },
        );
    }
    let chime = PathBuf::from(format!("{CHIME}.wav"));
    std::fs::write(out.join(&chime), wav::chime(ESPEAK_RATE).to_wav())
        .map_err(|e| format!("{}: {e}", out.display()))?;
    manifest.clips.insert(
        CHIME.into(),
        ClipEntry {
            file: chime,
            text: "(chuông)".into(),
        },
    );
    let text =
        toml::to_string_pretty(&manifest).map_err(|e| format!("cannot write the manifest: {e}"))?;
    let header = "# layso voice pack: clip id -> WAV file (PCM 16-bit mono) and the words it says.\n# Replace any file with your own recording at the same rate; check with `layso check`.\n";
    std::fs::write(out.join(MANIFEST), format!("{header}{text}"))
        .map_err(|e| format!("{}: {e}", out.join(MANIFEST).display()))?;
    Ok(manifest.clips.len())
}

//! Voice packs: a directory of WAV clips named in `pack.toml`; loading, validating (missing
//! clip, wrong format or rate, silence) and assembling an announcement from a script.

use super::template::{Step, CHIME};
use super::wav::{self, Pcm};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The manifest's file name inside a pack directory.
pub(crate) const MANIFEST: &str = "pack.toml";

/// Silence kept around each clip when trimming.
pub(crate) const MARGIN_MS: u32 = 15;

/// `pack.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Manifest {
    /// What made the pack, for people ("espeak-ng vi", "giọng chị Lan, UBND phường X").
    #[serde(default)]
    pub voice: String,
    /// Sample rate of every clip, Hz.
    pub rate: u32,
    /// Clip id → file and the words it says.
    pub clips: BTreeMap<String, ClipEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClipEntry {
    /// File name relative to the pack directory.
    pub file: PathBuf,
    /// The words in the clip.
    pub text: String,
}

/// A loaded pack: every clip trimmed of silence, in memory as little-endian 16-bit PCM
/// bytes, ready to be copied into a WAV.
#[derive(Debug, Clone)]
pub struct Pack {
    pub dir: PathBuf,
    pub voice: String,
    pub rate: u32,
    pub clips: BTreeMap<String, Vec<u8>>,
}

fn le_bytes(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

/// Read and check every clip of the pack in `dir`. Problems name the file and say what
/// would be right.
pub fn load(dir: &Path) -> Result<Pack, Vec<String>> {
    let mpath = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&mpath).map_err(|e| {
        vec![format!(
            "cannot read the voice pack manifest {}: {e}; build a pack with `layso voice build-pack --out {}` or record one (docs/voice.md)",
            mpath.display(),
            dir.display()
        )]
    })?;
    let manifest: Manifest = toml::from_str(&text)
        .map_err(|e| vec![format!("{}: {}", mpath.display(), e.message().trim())])?;
    if !wav::RATES.contains(&manifest.rate) {
        return Err(vec![format!(
            "{}: rate = {} is not supported; use one of {:?}",
            mpath.display(),
            manifest.rate,
            wav::RATES
        )]);
    }
    let mut problems = Vec::new();
    let mut clips = BTreeMap::new();
    for (id, entry) in &manifest.clips {
        let path = dir.join(&entry.file);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                problems.push(format!(
                    "clip '{id}' (\"{}\"): cannot read {}: {e}; record it or fix `file` in {MANIFEST}",
                    entry.text,
                    path.display()
                ));
                continue;
            }
        };
        match wav::parse(&bytes) {
            Err(e) => problems.push(format!("clip '{id}': {}: {e}", path.display())),
            Ok(p) if p.rate != manifest.rate => problems.push(format!(
                "clip '{id}': {} is {} Hz but the pack is {} Hz; resample it (e.g. `sox in.wav -r {} out.wav`)",
                path.display(),
                p.rate,
                manifest.rate,
                manifest.rate
            )),
            Ok(p) if p.peak() < wav::MIN_PEAK => problems.push(format!(
                "clip '{id}': {} is silent (loudest sample {} of 32767); record \"{}\" again, louder (peaks near -6 dBFS)",
                path.display(),
                p.peak(),
                entry.text
            )),
            Ok(p) => {
                clips.insert(id.clone(), le_bytes(&p.trimmed(MARGIN_MS).samples));
            }
        }
    }
    // A pack without its own chime gets the generated one.
    clips
        .entry(CHIME.to_string())
        .or_insert_with(|| le_bytes(&wav::chime(manifest.rate).samples));
    if problems.is_empty() {
        Ok(Pack {
            dir: dir.to_path_buf(),
            voice: manifest.voice,
            rate: manifest.rate,
            clips,
        })
    } else {
        Err(problems)
    }
}

impl Pack {
    /// Clips the site needs that the pack lacks. The chime may be absent: it is generated.
    pub(crate) fn missing(&self, needed: &[(String, String)]) -> Vec<String> {
        needed
            .iter()
            .filter(|(id, _)| id != CHIME && !self.clips.contains_key(id))
            .map(|(id, text)| {
                format!(
                    "the voice pack {} has no clip '{id}' (says \"{text}\"); record it and add it to {MANIFEST} (see `layso voice clips`)",
                    self.dir.display()
                )
            })
            .collect()
    }

    /// Bytes of audio held in memory.
    pub fn memory_bytes(&self) -> usize {
        self.clips.iter().map(|(k, v)| k.len() + v.len()).sum()
    }

    /// Assemble a script into a WAV file: clips back to back, pauses as silence, one
    /// allocation of the exact size. A missing clip is skipped (`layso check` and the
    /// daemon's start-up catch it first).
    pub(crate) fn render_wav(&self, script: &[Step]) -> Vec<u8> {
        let pause = |ms: u32| wav::samples_for(self.rate, ms) * 2;
        let total: usize = script
            .iter()
            .map(|s| match s {
                Step::Pause(ms) => pause(*ms),
                Step::Clip { id, .. } => self.clips.get(id).map_or(0, Vec::len),
            })
            .sum();
        let mut out = Vec::with_capacity(44 + total);
        out.extend_from_slice(&wav::header(self.rate, total / 2));
        for step in script {
            match step {
                Step::Pause(ms) => out.resize(out.len() + pause(*ms), 0),
                Step::Clip { id, .. } => match self.clips.get(id) {
                    Some(c) => out.extend_from_slice(c),
                    None => tracing::warn!(clip = %id, "voice pack has no such clip; skipped"),
                },
            }
        }
        out
    }

    /// The same as samples.
    pub(crate) fn render(&self, script: &[Step]) -> Pcm {
        let wav = self.render_wav(script);
        Pcm {
            rate: self.rate,
            samples: wav
                .get(44..)
                .unwrap_or_default()
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voice::template::Step;

    fn clip(rate: u32, pad_ms: u32, loud_ms: u32, level: i16) -> Pcm {
        let mut s = vec![0i16; wav::samples_for(rate, pad_ms)];
        s.extend(
            (0..wav::samples_for(rate, loud_ms)).map(|i| if i % 2 == 0 { level } else { -level }),
        );
        s.extend(vec![0i16; wav::samples_for(rate, pad_ms)]);
        Pcm { rate, samples: s }
    }

    fn write_pack(dir: &Path, clips: &[(&str, Pcm)], rate: u32) {
        let mut m = Manifest {
            voice: "test".into(),
            rate,
            clips: BTreeMap::new(),
        };
        for (id, p) in clips {
            let file = PathBuf::from(format!("{id}.wav"));
            std::fs::write(dir.join(&file), p.to_wav()).unwrap_or_else(|e| panic!("{e}"));
            m.clips.insert(
                id.to_string(),
                ClipEntry {
                    file,
                    text: id.to_string(),
                },
            );
        }
        let text = toml::to_string(&m).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join(MANIFEST), text).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn assembly_is_trimmed_clips_plus_pauses() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let rate = 22_050;
        write_pack(
            dir.path(),
            &[
                ("a", clip(rate, 300, 200, 9000)),
                ("b", clip(rate, 100, 350, 9000)),
            ],
            rate,
        );
        let pack = load(dir.path()).unwrap_or_else(|e| panic!("{e:?}"));
        let m = wav::samples_for(rate, MARGIN_MS);
        assert_eq!(
            pack.clips["a"].len(),
            2 * (wav::samples_for(rate, 200) + 2 * m)
        );
        let script = vec![
            Step::Clip {
                id: "a".into(),
                text: String::new(),
            },
            Step::Pause(220),
            Step::Clip {
                id: "b".into(),
                text: String::new(),
            },
        ];
        let out = pack.render(&script);
        let want = wav::samples_for(rate, 200)
            + wav::samples_for(rate, 350)
            + 4 * m
            + wav::samples_for(rate, 220);
        assert_eq!(out.samples.len(), want);
        let bytes = pack.render_wav(&script);
        assert_eq!(bytes, out.to_wav());
        let back = wav::parse(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((back.rate, back.samples.len()), (rate, want));
        assert!(pack.memory_bytes() >= want * 2 - wav::samples_for(rate, 220) * 2);
    }

    #[test]
    fn validation_names_every_problem() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        write_pack(
            dir.path(),
            &[
                ("quiet", clip(22_050, 10, 200, 300)),
                ("rate", clip(16_000, 10, 200, 9000)),
                ("gone", clip(22_050, 10, 200, 9000)),
            ],
            22_050,
        );
        std::fs::remove_file(dir.path().join("gone.wav")).unwrap_or_else(|e| panic!("{e}"));
        let problems = load(dir.path()).err().unwrap_or_default();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems
            .iter()
            .any(|p| p.contains("'quiet'") && p.contains("silent")));
        assert!(problems
            .iter()
            .any(|p| p.contains("'rate'") && p.contains("16000 Hz")));
        assert!(problems
            .iter()
            .any(|p| p.contains("'gone'") && p.contains("cannot read")));

        let ok = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        write_pack(ok.path(), &[("a", clip(22_050, 10, 200, 9000))], 22_050);
        let pack = load(ok.path()).unwrap_or_else(|e| panic!("{e:?}"));
        let missing = pack.missing(&[
            ("a".into(), "a".into()),
            ("so-hai".into(), "hai".into()),
            (CHIME.into(), String::new()),
        ]);
        assert_eq!(missing.len(), 1);
        assert!(missing[0].contains("'so-hai'"));
    }
}

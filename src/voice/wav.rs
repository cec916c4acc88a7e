//! WAV PCM in and out (16-bit mono), silence trimming, pauses and the generated chime:
//! the sample-level work of assembling an announcement (pure, no I/O).

use std::fmt;

/// Sample rates a pack may use.
pub(crate) const RATES: [u32; 4] = [16_000, 22_050, 44_100, 48_000];

/// Samples quieter than this (|s|, 16-bit) count as silence when trimming: about -36 dBFS.
pub(crate) const SILENCE: i16 = 500;

/// A clip whose loudest sample is below this is "silent" (about -30 dBFS).
pub(crate) const MIN_PEAK: i16 = 1000;

/// Mono 16-bit PCM audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pcm {
    pub rate: u32,
    pub samples: Vec<i16>,
}

/// Why bytes are not a WAV file a pack can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WavError {
    NotWav,
    Truncated,
    Format {
        format: u16,
        channels: u16,
        bits: u16,
    },
}

impl fmt::Display for WavError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WavError::NotWav => write!(f, "not a WAV file (no RIFF/WAVE header)"),
            WavError::Truncated => write!(f, "the WAV file is cut short (no complete fmt and data chunks)"),
            WavError::Format { format, channels, bits } => write!(
                f,
                "format {format} with {channels} channel(s) of {bits} bits; use PCM (format 1), mono, 16-bit (e.g. `sox in.wav -b 16 -c 1 -r 22050 out.wav`)"
            ),
        }
    }
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// Parse a WAV file: RIFF/WAVE, PCM format 1 (or WAVE_FORMAT_EXTENSIBLE with PCM), mono,
/// 16-bit. Other chunks (LIST, fact…) are skipped.
pub fn parse(bytes: &[u8]) -> Result<Pcm, WavError> {
    if bytes.get(0..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WAVE") {
        return Err(WavError::NotWav);
    }
    let mut at = 12;
    let mut fmt: Option<(u16, u16, u32, u16)> = None;
    while let (Some(id), Some(len)) = (bytes.get(at..at + 4), u32_at(bytes, at + 4)) {
        let body = at + 8;
        let len = len as usize;
        match id {
            b"fmt " => {
                let mut format = u16_at(bytes, body).ok_or(WavError::Truncated)?;
                let channels = u16_at(bytes, body + 2).ok_or(WavError::Truncated)?;
                let rate = u32_at(bytes, body + 4).ok_or(WavError::Truncated)?;
                let bits = u16_at(bytes, body + 14).ok_or(WavError::Truncated)?;
                if format == 0xFFFE {
                    // WAVE_FORMAT_EXTENSIBLE: the real format is the sub-format GUID's first word.
                    format = u16_at(bytes, body + 24).unwrap_or(format);
                }
                fmt = Some((format, channels, rate, bits));
            }
            b"data" => {
                let (format, channels, rate, bits) = fmt.ok_or(WavError::Truncated)?;
                if format != 1 || channels != 1 || bits != 16 {
                    return Err(WavError::Format {
                        format,
                        channels,
                        bits,
                    });
                }
                // espeak-ng writing to a pipe leaves the length at 0x7fffffff: take what is there.
                let end = body.saturating_add(len).min(bytes.len());
                let data = bytes.get(body..end).ok_or(WavError::Truncated)?;
                let samples = data
                    .chunks_exact(2)
                    .map(|c| i16::from_le_bytes([c[0], c[1]]))
                    .collect();
                return Ok(Pcm { rate, samples });
            }
            _ => {}
        }
        at = body.saturating_add(len).saturating_add(len & 1);
    }
    Err(WavError::Truncated)
}

/// The 44-byte header of a mono 16-bit PCM WAV with `n` samples.
pub(crate) fn header(rate: u32, n: usize) -> [u8; 44] {
    let data = (n as u32).saturating_mul(2);
    let mut h = [0u8; 44];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&data.saturating_add(36).to_le_bytes());
    h[8..16].copy_from_slice(b"WAVEfmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes());
    h[22..24].copy_from_slice(&1u16.to_le_bytes());
    h[24..28].copy_from_slice(&rate.to_le_bytes());
    h[28..32].copy_from_slice(&rate.saturating_mul(2).to_le_bytes());
    h[32..34].copy_from_slice(&2u16.to_le_bytes());
    h[34..36].copy_from_slice(&16u16.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data.to_le_bytes());
    h
}

impl Pcm {
    /// The whole WAV file.
    pub(crate) fn to_wav(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(44 + self.samples.len() * 2);
        out.extend_from_slice(&header(self.rate, self.samples.len()));
        for s in &self.samples {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out
    }

    /// The loudest sample's magnitude.
    pub(crate) fn peak(&self) -> i16 {
        self.samples
            .iter()
            .map(|s| s.saturating_abs())
            .max()
            .unwrap_or(0)
    }

    /// Duration in milliseconds.
    pub fn ms(&self) -> u64 {
        if self.rate == 0 {
            return 0;
        }
        self.samples.len() as u64 * 1000 / u64::from(self.rate)
    }

    /// Cut leading and trailing silence, keeping `margin_ms` of it each side so word
    /// onsets and tails are not clipped.
    pub(crate) fn trimmed(&self, margin_ms: u32) -> Pcm {
        let loud = |s: &i16| s.saturating_abs() >= SILENCE;
        let Some(first) = self.samples.iter().position(loud) else {
            return Pcm {
                rate: self.rate,
                samples: Vec::new(),
            };
        };
        let last = self.samples.iter().rposition(loud).unwrap_or(first);
        let margin = samples_for(self.rate, margin_ms);
        let start = first.saturating_sub(margin);
        let end = (last + 1 + margin).min(self.samples.len());
        Pcm {
            rate: self.rate,
            samples: self.samples[start..end].to_vec(),
        }
    }
}

/// Number of samples in `ms` milliseconds at `rate`.
pub(crate) fn samples_for(rate: u32, ms: u32) -> usize {
    (u64::from(rate) * u64::from(ms) / 1000) as usize
}

/// A two-tone "ding-dong" (880 Hz then 659 Hz, decaying), the chime before a call.
pub(crate) fn chime(rate: u32) -> Pcm {
    let mut samples = Vec::new();
    for (freq, ms) in [(880.0f32, 450u32), (659.25f32, 900u32)] {
        let n = samples_for(rate, ms);
        for i in 0..n {
            let t = i as f32 / rate as f32;
            let attack = (i as f32 / (rate as f32 * 0.01)).min(1.0);
            let decay = (-3.0 * t / (ms as f32 / 1000.0)).exp();
            let v = (2.0 * std::f32::consts::PI * freq * t).sin() * attack * decay * 12_000.0;
            samples.push(v as i16);
        }
    }
    Pcm { rate, samples }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, silent_ms: u32, loud_ms: u32) -> Pcm {
        let mut s = vec![0i16; samples_for(rate, silent_ms)];
        s.extend((0..samples_for(rate, loud_ms)).map(|i| if i % 2 == 0 { 8000 } else { -8000 }));
        s.extend(vec![3i16; samples_for(rate, silent_ms)]);
        Pcm { rate, samples: s }
    }

    #[test]
    fn wav_round_trip_and_header_fields() {
        let p = tone(22_050, 100, 200);
        let bytes = p.to_wav();
        assert_eq!(&bytes[0..4], b"RIFF");
        assert_eq!(u32_at(&bytes, 24), Some(22_050));
        assert_eq!(u32_at(&bytes, 40), Some(p.samples.len() as u32 * 2));
        assert_eq!(parse(&bytes), Ok(p));
    }

    #[test]
    fn rejects_stereo_8bit_and_garbage() {
        let mut b = tone(16_000, 0, 10).to_wav();
        b[22] = 2;
        assert!(matches!(
            parse(&b),
            Err(WavError::Format { channels: 2, .. })
        ));
        let mut b = tone(16_000, 0, 10).to_wav();
        b[34] = 8;
        assert!(matches!(parse(&b), Err(WavError::Format { bits: 8, .. })));
        assert_eq!(parse(b"hello"), Err(WavError::NotWav));
        assert_eq!(
            parse(&tone(16_000, 0, 10).to_wav()[..30]),
            Err(WavError::Truncated)
        );
    }

    #[test]
    fn trimming_keeps_the_margin_only() {
        let p = tone(16_000, 300, 200);
        let t = p.trimmed(20);
        assert_eq!(
            t.samples.len(),
            samples_for(16_000, 200) + 2 * samples_for(16_000, 20)
        );
        assert!(tone(16_000, 300, 0).trimmed(20).samples.is_empty());
    }

    #[test]
    fn chime_is_loud_and_timed() {
        let c = chime(22_050);
        assert_eq!(
            c.samples.len(),
            samples_for(22_050, 450) + samples_for(22_050, 900)
        );
        assert!(c.peak() > MIN_PEAK);
    }
}

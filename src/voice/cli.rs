//! `layso voice build-pack|clips`, `layso announce`, and the pack check of `layso check`.

use super::{espeak, Voice, VoiceConfig};
use crate::cli::{EXIT_BAD_CONFIG, EXIT_FAILURE};
use crate::config::{self, Config};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub(crate) enum VoiceCmd {
    /// Build the default voice pack with espeak-ng's Vietnamese voice (no network).
    BuildPack {
        /// The pack directory to write (e.g. /usr/share/layso/voice).
        #[arg(long)]
        out: PathBuf,
        /// Also make the clips this site's template and counter names need.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// The espeak-ng program.
        #[arg(long, default_value = "espeak-ng")]
        espeak: String,
    },
    /// List every clip a site's pack needs, with its file name and the words to record.
    Clips {
        #[arg(long, short, default_value = config::DEFAULT_PATH)]
        config: PathBuf,
    },
}

#[derive(Args)]
pub(crate) struct AnnounceArgs {
    #[arg(long, short, default_value = config::DEFAULT_PATH)]
    config: PathBuf,
    /// The ticket, e.g. A012.
    #[arg(long)]
    ticket: String,
    /// The counter number.
    #[arg(long)]
    counter: u16,
    /// The WAV file to write.
    #[arg(long)]
    out: PathBuf,
}

fn load(path: &Path) -> Result<Config, ExitCode> {
    config::load(path).map_err(|e| {
        eprint!("{e}");
        eprintln!("fix them and run `layso check --config {}`", path.display());
        ExitCode::from(EXIT_BAD_CONFIG)
    })
}

fn voice_config(c: &Config) -> VoiceConfig {
    c.voice.clone().unwrap_or_default()
}

pub(crate) fn voice(cmd: VoiceCmd) -> ExitCode {
    match cmd {
        VoiceCmd::BuildPack {
            out,
            config,
            espeak: program,
        } => {
            let site = match config.as_deref().map(load).transpose() {
                Ok(c) => c.map(|c| voice_config(&c).speech(&c)),
                Err(code) => return code,
            };
            let clips = espeak::default_clips(site.as_ref());
            match espeak::build(&out, &program, &clips) {
                Ok(n) => {
                    println!("voice pack with {n} clips written to {}", out.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("layso voice build-pack: {e}");
                    ExitCode::from(EXIT_FAILURE)
                }
            }
        }
        VoiceCmd::Clips { config } => {
            let c = match load(&config) {
                Ok(c) => c,
                Err(code) => return code,
            };
            use std::io::Write;
            let vc = voice_config(&c);
            let mut out = format!(
                "# clips for {} (pack {}): id, file, words to say\n",
                c.site.id,
                vc.pack_dir().display()
            );
            for (id, text) in vc.speech(&c).needed_clips() {
                out += &format!("{id}\t{id}.wav\t{text}\n");
            }
            // Often piped into `head` or a spreadsheet: a closed pipe is not an error.
            let _ = std::io::stdout().lock().write_all(out.as_bytes());
            ExitCode::SUCCESS
        }
    }
}

pub(crate) fn announce(a: AnnounceArgs) -> ExitCode {
    let c = match load(&a.config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if !c.counters.iter().any(|k| k.number == a.counter) {
        eprintln!(
            "counter {} is not configured in {}; configured: {:?}",
            a.counter,
            a.config.display(),
            c.counters.iter().map(|k| k.number).collect::<Vec<_>>()
        );
        return ExitCode::from(EXIT_BAD_CONFIG);
    }
    let vc = voice_config(&c);
    let voice = match Voice::load(&vc, &c) {
        Ok(v) => v,
        Err(problems) => {
            for p in problems {
                eprintln!("{p}");
            }
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };
    let pcm = voice.render(&a.ticket, a.counter);
    if let Err(e) = std::fs::write(&a.out, pcm.to_wav()) {
        eprintln!("cannot write {}: {e}", a.out.display());
        return ExitCode::from(EXIT_FAILURE);
    }
    println!("{}", voice.speech.text(&a.ticket, a.counter));
    eprintln!(
        "{} written: {:.2} s at {} Hz",
        a.out.display(),
        pcm.ms() as f64 / 1000.0,
        pcm.rate
    );
    ExitCode::SUCCESS
}

/// For `layso check`: when voice is on, the pack must load and hold every clip. Problems
/// are printed `file:line:column: message` at the `pack` key. Returns false on problems.
pub(crate) fn check_pack(path: &Path, c: &Config) -> bool {
    let Some(vc) = &c.voice else {
        return true;
    };
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let loc = config::Locator::new(&text);
    let dir = vc.pack_dir();
    if vc.place() != super::config::Place::None && !dir.exists() {
        // A laptop before its first `build-pack`: the daemon runs, the speaker is "missing".
        let span = vc.pack.as_ref().map_or(0..0, |p| p.span());
        let p = loc.problem(span, "");
        println!(
            "{}:{}:{}: warning: there is no voice pack at {}: calls will not be spoken; build it with `layso voice build-pack --out {}`",
            path.display(),
            p.line,
            p.column,
            dir.display(),
            dir.display()
        );
        return true;
    }
    let problems = vc.check_pack(c);
    if problems.is_empty() {
        return true;
    }
    for (span, msg) in &problems {
        let p = loc.problem(span.clone(), msg.clone());
        eprintln!("{}:{}:{}: {}", path.display(), p.line, p.column, p.message);
    }
    eprintln!(
        "{} problem(s) with the voice pack; fix them, or build the default pack with `layso voice build-pack --out {}`",
        problems.len(),
        vc.pack_dir().display()
    );
    false
}

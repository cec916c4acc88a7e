//! The command line: `run`, `check`, and their exit codes.

use crate::config;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes: 0 success, 1 the daemon failed while running, 2 bad configuration or usage.
pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_BAD_CONFIG: u8 = 2;

#[derive(Parser)]
#[command(
    name = "layso",
    version,
    about = "Queue tickets for public administrative service centers"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the daemon.
    Run {
        #[arg(long, short, default_value = config::DEFAULT_PATH)]
        config: PathBuf,
    },
    /// Check a configuration file and print a summary (exit 2 if it has problems).
    Check {
        #[arg(long, short, default_value = config::DEFAULT_PATH)]
        config: PathBuf,
    },
    /// Show the running daemon's status in plain words (exit 0 healthy, 1 needs attention,
    /// 2 bad usage or configuration, 3 daemon unreachable).
    Status {
        #[arg(long, short, default_value = config::DEFAULT_PATH)]
        config: PathBuf,
        /// Print the state document as JSON (for scripts).
        #[arg(long)]
        json: bool,
        /// Language: vi (default) or en.
        #[arg(long, default_value = "vi")]
        lang: String,
    },
    /// Print a test ticket: every Vietnamese letter, the digits and a QR code.
    PrintTest {
        #[arg(long, short, default_value = config::DEFAULT_PATH)]
        config: PathBuf,
    },
    /// Spoken calls: build the default voice pack, list the clips to record.
    Voice {
        #[command(subcommand)]
        cmd: crate::voice::cli::VoiceCmd,
    },
    /// Write the announcement of a call to a WAV file and print what it says.
    Announce(crate::voice::cli::AnnounceArgs),
    /// The province side: collector, dashboard and weekly report (PostgreSQL).
    #[cfg(feature = "province")]
    #[command(subcommand)]
    Province(crate::province::cli::ProvinceCmd),
}

pub(crate) fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("LAYSO_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // Under systemd the journal adds time stamps and has no colours.
    let journal = std::env::var_os("JOURNAL_STREAM").is_some();
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if journal {
        b.without_time().with_ansi(false).init();
    } else {
        b.init();
    }
}

fn load(path: &std::path::Path) -> Result<config::Config, ExitCode> {
    config::load(path).map_err(|e| {
        eprint!("{e}");
        eprintln!(
            "{} problem(s) in {}; fix them and run `layso check --config {}` again",
            e.problems.len(),
            path.display(),
            path.display()
        );
        ExitCode::from(EXIT_BAD_CONFIG)
    })
}

/// Terminal commands end quietly when their reader goes away (`layso check | head`), as
/// Unix tools do, instead of panicking on a broken pipe. Not for `run`: the daemon keeps
/// ignoring SIGPIPE and sees EPIPE as an error on the one pipe or socket concerned.
fn default_sigpipe() {
    // SAFETY: setting a signal's disposition to its default has no preconditions; done
    // before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(
        cli.command,
        Cmd::Check { .. } | Cmd::Status { .. } | Cmd::Announce(_)
    ) {
        default_sigpipe();
    }
    match cli.command {
        #[cfg(feature = "province")]
        Cmd::Province(cmd) => crate::province::cli::main(cmd),
        Cmd::Check { config } => match load(&config) {
            Ok(c) => {
                for w in &c.warnings {
                    println!(
                        "{}:{}:{}: warning: {}",
                        config.display(),
                        w.line,
                        w.column,
                        w.message
                    );
                }
                if !crate::voice::cli::check_pack(&config, &c) {
                    return ExitCode::from(EXIT_BAD_CONFIG);
                }
                println!("{}: OK\n{}", config.display(), c.summary());
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Cmd::Status { config, json, lang } => crate::status::cli::run(&config, json, &lang),
        Cmd::Voice { cmd } => crate::voice::cli::voice(cmd),
        Cmd::Announce(a) => crate::voice::cli::announce(a),
        Cmd::PrintTest { config } => {
            let c = match load(&config) {
                Ok(c) => c,
                Err(code) => return code,
            };
            print_test(&c)
        }
        Cmd::Run { config } => {
            let c = match load(&config) {
                Ok(c) => c,
                Err(code) => return code,
            };
            init_tracing();
            for w in &c.warnings {
                tracing::warn!(
                    "{}:{}:{}: {}",
                    config.display(),
                    w.line,
                    w.column,
                    w.message
                );
            }
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(2);
            let rt = match runtime(builder) {
                Ok(rt) => rt,
                Err(code) => return code,
            };
            match rt.block_on(crate::daemon::run(c)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e}");
                    eprintln!("layso: {e}");
                    ExitCode::from(EXIT_FAILURE)
                }
            }
        }
    }
}

fn print_test(c: &config::Config) -> ExitCode {
    use crate::devices::printer;
    let Some(pc) = &c.printer else {
        eprintln!(
            "no [printer] section in the configuration; add one (see config/layso.example.toml)"
        );
        return ExitCode::from(EXIT_BAD_CONFIG);
    };
    let bytes = match printer::test_ticket(pc) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("cannot build the test ticket: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let target = printer::transport::describe(pc);
    match rt.block_on(printer::transport::send_once(pc, &bytes)) {
        Ok(()) => {
            println!("test ticket sent to {target} ({} bytes)", bytes.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("could not print on {target}: {e}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn runtime(mut builder: tokio::runtime::Builder) -> Result<tokio::runtime::Runtime, ExitCode> {
    builder.enable_all().build().map_err(|e| {
        eprintln!("cannot start the async runtime: {e}");
        ExitCode::from(EXIT_FAILURE)
    })
}

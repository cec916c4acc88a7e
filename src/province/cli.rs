//! `layso province run|check|report`: the collector, its configuration check and the
//! weekly report from the command line. Exit codes as for the daemon (0, 1, 2).

use crate::cli::{EXIT_BAD_CONFIG, EXIT_FAILURE};
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

const DEFAULT: &str = "/etc/layso/province.toml";

#[derive(Subcommand)]
pub enum ProvinceCmd {
    /// Run the collector and the dashboard.
    Run {
        #[arg(long, short, default_value = DEFAULT)]
        config: PathBuf,
    },
    /// Check a collector configuration and print a summary (exit 2 if it has problems).
    Check {
        #[arg(long, short, default_value = DEFAULT)]
        config: PathBuf,
    },
    /// Write the weekly report (one row per center, a totals row).
    Report {
        #[arg(long, short, default_value = DEFAULT)]
        config: PathBuf,
        /// ISO week, e.g. 2026-W49.
        #[arg(long)]
        week: String,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// xlsx (default) or csv.
        #[arg(long, default_value = "xlsx")]
        format: String,
    },
}

fn load(path: &std::path::Path) -> Result<super::config::ProvinceConfig, ExitCode> {
    super::config::load(path).map_err(|e| {
        eprint!("{e}");
        eprintln!(
            "{} problem(s) in {}; fix them and run `layso province check --config {}` again",
            e.problems.len(),
            path.display(),
            path.display()
        );
        ExitCode::from(EXIT_BAD_CONFIG)
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("cannot start the async runtime: {e}");
            ExitCode::from(EXIT_FAILURE)
        })
}

pub fn main(cmd: ProvinceCmd) -> ExitCode {
    match cmd {
        ProvinceCmd::Check { config } => match load(&config) {
            Ok(c) => {
                println!("{}: OK\n{}", config.display(), c.summary());
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        ProvinceCmd::Run { config } => {
            let c = match load(&config) {
                Ok(c) => c,
                Err(code) => return code,
            };
            crate::cli::init_tracing();
            let rt = match runtime() {
                Ok(rt) => rt,
                Err(code) => return code,
            };
            match rt.block_on(run(c)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e}");
                    eprintln!("layso province: {e}");
                    ExitCode::from(EXIT_FAILURE)
                }
            }
        }
        ProvinceCmd::Report {
            config,
            week,
            out,
            format,
        } => {
            let c = match load(&config) {
                Ok(c) => c,
                Err(code) => return code,
            };
            if let Err(e) = super::report::parse_week(&week) {
                eprintln!("{e}");
                return ExitCode::from(EXIT_BAD_CONFIG);
            }
            if format != "xlsx" && format != "csv" {
                eprintln!("--format {format}: use xlsx or csv");
                return ExitCode::from(EXIT_BAD_CONFIG);
            }
            let rt = match runtime() {
                Ok(rt) => rt,
                Err(code) => return code,
            };
            match rt.block_on(report(&c, &week, &format)) {
                Ok(bytes) => match std::fs::write(&out, &bytes) {
                    Ok(()) => {
                        println!(
                            "{}: report for {week} ({} bytes)",
                            out.display(),
                            bytes.len()
                        );
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("cannot write {}: {e}", out.display());
                        ExitCode::from(EXIT_FAILURE)
                    }
                },
                Err(e) => {
                    eprintln!("layso province report: {e}");
                    ExitCode::from(EXIT_FAILURE)
                }
            }
        }
    }
}

async fn report(
    c: &super::config::ProvinceConfig,
    week: &str,
    format: &str,
) -> Result<Vec<u8>, String> {
    let mut client = super::db::connect(&c.database_url).await?;
    super::db::migrate(&mut client).await?;
    // Bring the figures up to date first (the collector may be behind or stopped).
    let now = crate::sys::wall_ms();
    for _ in 0..10_000 {
        let n = super::store::recompute_some(&client, &c.hours, now, 500, 0)
            .await
            .map_err(|e| format!("recomputing figures: {e}"))?;
        if n == 0 {
            break;
        }
    }
    let report = super::report::build(&client, week).await?;
    if format == "csv" {
        Ok(super::report::to_csv(&report))
    } else {
        super::report::to_xlsx(&report, week)
    }
}

async fn run(c: super::config::ProvinceConfig) -> Result<(), String> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let signals = tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::error!("cannot install signal handlers");
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("stopping");
        let _ = stop_tx.send(true);
    });
    let r = super::collector::run(c, stop_rx).await;
    signals.abort();
    r
}

//! The command line: argument parsing, dispatch, and the exit-code contract
//! (0 ok, 1 drift or a doctor problem, 2 bad usage or bad input — and then nothing written).

mod clean;
mod doctor;
mod generate;
mod scan;

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::repo::Repo;

#[derive(Debug, Parser)]
#[command(
    name = "si-nixify",
    version,
    about = "Rewrite Buck2 download toolchains into system toolchains backed by a Nix devshell"
)]
pub struct Cli {
    /// The Buck2 repo (default: the project containing the current directory).
    #[arg(long, global = true, value_name = "DIR")]
    repo: Option<PathBuf>,
    /// Colour output.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    color: Color,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// What is there, what downloads, what the toolchains will need.
    Scan(scan::Args),
    /// Rewrite toolchains/BUCK onto system toolchains (and the devshell to match).
    Generate(generate::Args),
    /// Check this machine: tools on PATH, a real link probe, host, stale state.
    Doctor(doctor::Args),
    /// Stop buck2 and remove the stale toolchain extractions under buck-out.
    Clean(clean::Args),
}

/// Exit codes of the CLI contract.
pub mod exit {
    pub const OK: i32 = 0;
    pub const DRIFT: i32 = 1;
    pub const BAD_INPUT: i32 = 2;
}

/// Run the CLI with the process's arguments; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::BAD_INPUT
            } else {
                exit::OK
            };
            let _ = e.print();
            return code;
        }
    };
    // A bug must not greet the user with a Rust panic and a backtrace: say what happened and
    // that nothing was written (every write is a rename of a complete temp file, so a panic
    // can never leave a half-written file).
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let _ = writeln!(
            std::io::stderr(),
            "error: internal error in si-nixify{at}: {what}\n  help: nothing was written; please report this with the input files"
        );
    }));
    match std::panic::catch_unwind(|| run(cli)) {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => {
            if is_broken_pipe(&e) {
                return exit::OK;
            }
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            exit::BAD_INPUT
        }
        Err(_) => exit::BAD_INPUT,
    }
}

/// `si-nixify scan | head` closes stdout early; that is not an error worth a message.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    let start = match &cli.repo {
        Some(dir) => dir.clone(),
        None => std::env::current_dir()?,
    };
    let repo = Repo::discover(&start)?;
    let mut out = std::io::stdout().lock();
    let code = match cli.command {
        Command::Scan(args) => scan::run(repo, &args, &mut out)?,
        Command::Generate(args) => generate::run(repo, &args, &mut out)?,
        Command::Doctor(args) => doctor::run(repo, &args, &mut out)?,
        Command::Clean(args) => clean::run(repo, &args, &mut out)?,
    };
    out.flush()?;
    Ok(code)
}

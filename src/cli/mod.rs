//! The command line: argument parsing, dispatch, and the exit-code contract
//! (0 ok, 1 drift or a doctor problem, 2 bad usage or bad input — and then nothing written).

mod clean;
mod doctor;
mod generate;
mod progress;
mod report;
mod scan;
pub mod style;
pub mod table;

use std::io::Write;
use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::error::UserError;
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
    /// Colour output: `auto` colours a terminal unless NO_COLOR is set (CLICOLOR_FORCE forces
    /// it); `always` and `never` win over the environment.
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
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    #[command(hide = true)]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout: si-nixify(1), or si-nixify-SUBCOMMAND(1).
    #[command(hide = true)]
    Man {
        /// A subcommand (scan, generate, doctor, clean) whose own page to print.
        subcommand: Option<String>,
    },
}

impl Command {
    /// Whether the command may write files: only then is "nothing was written" news.
    fn writes(&self) -> bool {
        match self {
            Command::Generate(args) => args.writes(),
            Command::Clean(args) => !args.dry_run,
            _ => false,
        }
    }
}

/// The clap definition, with the colour choice it is to print in (also used by the man page
/// and completion generators, and by tests).
pub fn command() -> clap::Command {
    Cli::command()
}

/// Exit codes of the CLI contract.
pub mod exit {
    pub const OK: i32 = 0;
    pub const DRIFT: i32 = 1;
    pub const BAD_INPUT: i32 = 2;
}

/// Run the CLI with the process's arguments; returns the exit code.
pub fn main() -> i32 {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let choice = style::requested(&args);
    choice.write_global();
    let parsed = command()
        .color(style::for_clap(choice))
        .try_get_matches_from(&args)
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
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
            anstream::stderr(),
            "{} internal error in si-nixify{at}: {what}\n  {} nothing was written; please report this with the input files",
            style::paint(style::ERROR, "error:"),
            style::paint(style::HINT, "help:"),
        );
    }));
    let writes = cli.command.writes();
    match std::panic::catch_unwind(|| run(cli)) {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => {
            if is_broken_pipe(&e) {
                return exit::OK;
            }
            let _ = report_error(&e, writes, &mut anstream::stderr());
            exit::BAD_INPUT
        }
        Err(_) => exit::BAD_INPUT,
    }
}

/// `error: file:line:col: what` in red and bold, then `help:` with what to do; a command that
/// writes adds that it wrote nothing (all files are planned before any is written).
fn report_error(e: &anyhow::Error, writes: bool, err: &mut impl Write) -> std::io::Result<()> {
    let error = style::paint(style::ERROR, "error:");
    match e.downcast_ref::<UserError>() {
        Some(u) => {
            match &u.at {
                Some(at) => writeln!(
                    err,
                    "{error} {}: {}",
                    style::paint(style::HEADER, at),
                    u.message
                )?,
                None => writeln!(err, "{error} {}", u.message)?,
            }
            if let Some(hint) = &u.hint {
                writeln!(err, "  {} {hint}", style::paint(style::HINT, "help:"))?;
            }
        }
        None => writeln!(err, "{error} {e:#}")?,
    }
    if writes {
        writeln!(
            err,
            "  {} nothing was written",
            style::paint(style::HINT, "note:")
        )?;
    }
    Ok(())
}

/// The clap command a man page documents: the whole CLI, or one subcommand titled
/// `si-nixify-<name>` (the name the main page's SUBCOMMANDS section refers to), with the
/// global options it inherits.
fn man_page_of(subcommand: Option<&str>) -> Result<clap::Command, UserError> {
    let mut cli = command();
    cli.build();
    let Some(name) = subcommand else {
        return Ok(cli);
    };
    let public = |c: &&clap::Command| !c.is_hide_set() && c.get_name() != "help";
    let names: Vec<&str> = cli
        .get_subcommands()
        .filter(public)
        .map(|c| c.get_name())
        .collect();
    let sub = cli
        .get_subcommands()
        .filter(public)
        .find(|c| c.get_name() == name)
        .ok_or_else(|| {
            UserError::new(format!("no subcommand `{name}` to document"))
                .hint(format!("pass one of: {}", names.join(", ")))
        })?;
    Ok(sub
        .clone()
        .display_name(format!("si-nixify-{name}"))
        .bin_name(format!("si-nixify {name}")))
}

/// clap_complete 4.6 escapes the `-` of `si-nixify` one way where it sets `cmd`
/// (`si__nixify__subcmd__generate`) and another in the `case` labels that match it
/// (`si__subcmd__nixify__subcmd__generate`), so no subcommand's options would complete in bash.
fn bash_case_labels_fixed(script: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(script)
        .replace("si__subcmd__nixify", "si__nixify")
        .into_bytes()
}

/// `si-nixify scan | head` closes stdout early; that is not an error worth a message.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    let mut out = anstream::stdout().lock();
    match &cli.command {
        Command::Completions { shell } => {
            // Into a buffer first: clap_complete panics on a write error (`| head`).
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut command(), "si-nixify", &mut script);
            if *shell == clap_complete::Shell::Bash {
                script = bash_case_labels_fixed(&script);
            }
            out.write_all(&script)?;
            out.flush()?;
            return Ok(exit::OK);
        }
        Command::Man { subcommand } => {
            clap_mangen::Man::new(man_page_of(subcommand.as_deref())?).render(&mut out)?;
            return Ok(exit::OK);
        }
        _ => {}
    }
    let start = match &cli.repo {
        Some(dir) => dir.clone(),
        None => std::env::current_dir()?,
    };
    let repo = Repo::discover(&start)?;
    let code = match cli.command {
        Command::Scan(args) => scan::run(repo, &args, &mut out)?,
        Command::Generate(args) => generate::run(repo, &args, &mut out)?,
        Command::Doctor(args) => doctor::run(repo, &args, &mut out)?,
        Command::Clean(args) => clean::run(repo, &args, &mut out)?,
        Command::Completions { .. } | Command::Man { .. } => exit::OK,
    };
    out.flush()?;
    Ok(code)
}

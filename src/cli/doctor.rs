//! `si-nixify doctor`: is this machine ready to build the repo?

use std::io::Write;

use super::progress::Progress;
use super::style::{self, count, paint};
use super::table::{Cell, Table};
use crate::doctor::{self, Options, Report, Status};
use crate::inventory::Context;
use crate::repo::Repo;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the schema_version 1 JSON document instead of a table.
    #[arg(long)]
    json: bool,
    /// Skip the compile + link + run probes.
    #[arg(long)]
    no_probe: bool,
}

pub fn run(repo: Repo, args: &Args, out: &mut impl Write) -> anyhow::Result<i32> {
    let ctx = Context::load(repo)?;
    let working = Progress::working(
        "checking tools on PATH and probing compile + link + run",
        !args.json,
    );
    let report = doctor::examine(
        &ctx,
        &Options {
            probe: !args.no_probe,
        },
    )?;
    drop(working);
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        print_table(&report, out)?;
    }
    Ok(if report.ok {
        super::exit::OK
    } else {
        super::exit::DRIFT
    })
}

fn status_cell(status: Status) -> Cell {
    match status {
        Status::Ok => Cell::styled(style::OK, "ok"),
        Status::Warn => Cell::styled(style::WARN, "warn"),
        Status::Fail => Cell::styled(style::ERROR, "FAIL"),
    }
}

/// One row per finding; what was seen (and the fix) continues under its first line.
fn print_table(report: &Report, out: &mut impl Write) -> std::io::Result<()> {
    let mut table = Table::new(0);
    for f in &report.findings {
        let mut seen = f.seen.trim_end().to_owned();
        if let Some(fix) = &f.fix {
            seen.push_str(&format!("\nfix: {fix}"));
        }
        table.row([
            status_cell(f.status),
            Cell::from(f.check.as_str()),
            Cell::from(f.subject.as_str()),
            Cell::from(seen),
        ]);
    }
    table.write(out)?;
    let fails = report
        .findings
        .iter()
        .filter(|f| f.status == Status::Fail)
        .count();
    let warns = report
        .findings
        .iter()
        .filter(|f| f.status == Status::Warn)
        .count();
    let verdict = if fails > 0 {
        paint(style::ERROR, "not ready:")
    } else {
        paint(style::OK, "ready:")
    };
    writeln!(
        out,
        "\n{verdict} {}, {}",
        count(fails, "problem", "problems"),
        count(warns, "warning", "warnings")
    )
}

//! `si-nixify doctor`: is this machine ready to build the repo?

use std::io::Write;

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
    let report = doctor::examine(
        &ctx,
        &Options {
            probe: !args.no_probe,
        },
    )?;
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

fn print_table(report: &Report, out: &mut impl Write) -> std::io::Result<()> {
    for f in &report.findings {
        let status = match f.status {
            Status::Ok => "ok  ",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        };
        let mut lines = f.seen.lines();
        writeln!(
            out,
            "{status}  {:<8} {:<20} {}",
            f.check,
            f.subject,
            lines.next().unwrap_or_default()
        )?;
        for line in lines {
            writeln!(out, "{:<36}{line}", "")?;
        }
        if let Some(fix) = &f.fix {
            writeln!(out, "{:<36}fix: {fix}", "")?;
        }
    }
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
    writeln!(out, "\n{fails} problem(s), {warns} warning(s)")
}

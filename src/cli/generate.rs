//! `si-nixify generate`: plan the rewrite, then print it (`--check`, `--dry-run`) or write it.

use std::io::Write;

use serde_json::json;

use crate::inventory::{self, Context};
use crate::plan::{self, Plan};
use crate::repo::Repo;
use crate::write;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Exit 1 if the files would change; print the diff; write nothing.
    #[arg(long, conflicts_with = "dry_run")]
    check: bool,
    /// Print the diff and the reasons; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print a JSON report instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(repo: Repo, args: &Args, out: &mut impl Write) -> anyhow::Result<i32> {
    let ctx = Context::load(repo)?;
    let inv = inventory::take(&ctx)?;
    let plan = plan::plan(&ctx, &inv)?;
    for w in &plan.warnings {
        eprintln!("warning: {w}");
    }
    let diff = write::unified_diff(&plan.file, &plan.old, &plan.new);
    let writes = !(args.check || args.dry_run || plan.is_noop());
    if writes {
        write::write_atomic(&ctx.repo.root, &plan.file, &plan.new)?;
    }
    if args.json {
        print_json(&plan, &diff, writes, out)?;
    } else {
        print_text(&plan, &diff, args, out)?;
    }
    Ok(if args.check && !plan.is_noop() {
        super::exit::DRIFT
    } else {
        super::exit::OK
    })
}

fn print_text(plan: &Plan, diff: &str, args: &Args, out: &mut impl Write) -> std::io::Result<()> {
    if plan.is_noop() {
        writeln!(
            out,
            "nothing to do: {} is already on system toolchains",
            plan.file.display()
        )?;
        return Ok(());
    }
    if args.check || args.dry_run {
        write!(out, "{diff}")?;
    }
    writeln!(out, "\nChanges to {}:", plan.file.display())?;
    for c in &plan.changes {
        let place = if c.target.is_empty() {
            String::new()
        } else {
            format!("{} (line {}): ", c.target, c.line)
        };
        writeln!(out, "  {place}{} {} — {}", c.action, c.detail, c.reason)?;
    }
    if args.check {
        writeln!(
            out,
            "\n{} is out of date: run `si-nixify generate`",
            plan.file.display()
        )?;
    } else if !args.dry_run {
        writeln!(out, "\nwrote {}", plan.file.display())?;
    }
    Ok(())
}

fn print_json(plan: &Plan, diff: &str, wrote: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let doc = json!({
        "schema_version": 1,
        "changed": !plan.is_noop(),
        "wrote": wrote,
        "files": if plan.is_noop() { json!([]) } else { json!([{ "path": plan.file, "diff": diff }]) },
        "changes": plan.changes,
        "warnings": plan.warnings,
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)?;
    Ok(())
}

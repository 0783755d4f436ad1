//! `si-nixify scan`: print the inventory as a table or as JSON.

use std::io::Write;

use crate::inventory::{self, Context, Inventory};
use crate::repo::Repo;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the schema_version 1 JSON document instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(repo: Repo, args: &Args, out: &mut impl Write) -> anyhow::Result<i32> {
    let ctx = Context::load(repo)?;
    let inv = inventory::take(&ctx)?;
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &inv)?;
        writeln!(out)?;
    } else {
        print_table(&inv, out)?;
    }
    for w in &inv.warnings {
        eprintln!("warning: {w}");
    }
    Ok(super::exit::OK)
}

fn print_table(inv: &Inventory, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{} ({})",
        inv.toolchains_file.display(),
        inv.root.display()
    )?;
    writeln!(out, "\nTargets:")?;
    for t in &inv.targets {
        let detail = match (&t.replacement, &t.distribution) {
            (Some(r), Some(d)) => format!("→ {r} (was built from :{d})"),
            (Some(r), None) => format!("→ {r}"),
            (None, Some(d)) => format!("references :{d}"),
            (None, None) => String::new(),
        };
        writeln!(
            out,
            "  {:>5}  {:<13} {:<32} {:<36} {}",
            t.line,
            t.status.as_str(),
            t.name,
            t.rule,
            detail
        )?;
    }
    writeln!(out, "\nDistributions (downloaded archives):")?;
    for d in &inv.distributions {
        writeln!(
            out,
            "  {:>5}  {:<24} {:<8} {}",
            d.line,
            d.name,
            d.family.as_deref().unwrap_or("?"),
            d.version.as_deref().unwrap_or("?")
        )?;
        for a in &d.artifacts {
            writeln!(
                out,
                "         {}/{}  {}",
                a.os,
                a.arch,
                a.url.as_deref().unwrap_or("(url unknown)")
            )?;
        }
        if let Some(note) = &d.url_note {
            writeln!(out, "         url unknown because {note}")?;
        }
    }
    writeln!(out, "\nRemote references:")?;
    for r in &inv.remote_references {
        writeln!(
            out,
            "  {}:{}  {:<14} {}",
            r.file,
            r.line,
            r.kind,
            r.url.as_deref().unwrap_or("")
        )?;
    }
    writeln!(out, "\nRequired tools (from PATH once rewritten):")?;
    for t in &inv.required_tools {
        let platform = t
            .platform
            .as_deref()
            .map(|p| format!(" [{p}]"))
            .unwrap_or_default();
        writeln!(
            out,
            "  {:<14} {:<20}{}  {}",
            t.binary, t.nix, platform, t.why
        )?;
    }
    Ok(())
}

//! `si-nixify scan`: print the inventory as a table or as JSON; `--all` audits every BUCK and
//! .bzl file of the repo for remote references.

use std::io::Write;
use std::path::PathBuf;

use crate::inputs::{FlakeChoice, Inputs, Scan};
use crate::inventory::{self, all, Inventory};
use crate::repo::Repo;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the schema_version 1 JSON document instead of a table.
    #[arg(long)]
    json: bool,
    /// Walk every BUCK and .bzl file of the repo (honouring .gitignore and [project] ignore)
    /// and list every remote reference; files that fail to parse are reported (exit 1).
    #[arg(long)]
    all: bool,
}

pub fn run(repo: Repo, args: &Args, out: &mut impl Write) -> anyhow::Result<i32> {
    if args.all {
        return run_all(repo, args, out);
    }
    let inv = Inputs::read(repo, &FlakeChoice::Default)?.inventory()?;
    emit(&inv, args, out)?;
    Ok(super::exit::OK)
}

fn emit(inv: &Scan, args: &Args, out: &mut impl Write) -> anyhow::Result<()> {
    if args.json {
        serde_json::to_writer_pretty(&mut *out, inv)?;
        writeln!(out)?;
    } else {
        print_table(inv, out)?;
    }
    for w in &inv.warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}

/// The toolchains inventory (when the repo has a readable one) with the whole repo's remote
/// references, written as they are found (memory stays flat on any repo size); parse
/// failures anywhere are listed, not fatal.
fn run_all(repo: Repo, args: &Args, out: &mut impl Write) -> anyhow::Result<i32> {
    let mut failures = Vec::new();
    let read = Inputs::read(repo.clone(), &FlakeChoice::Default);
    let mut inv = match read.and_then(|inputs| inputs.inventory()) {
        Ok(inv) => inv,
        Err(e) => {
            failures.push(all::ParseFailure {
                file: "toolchains".to_owned(),
                message: e.to_string(),
            });
            Scan::from(Inventory::empty(repo.root.clone(), PathBuf::new()))
        }
    };
    inv.remote_references.clear();
    let mut io_error = None;
    let (files, more) = if args.json {
        let mut doc = serde_json::to_value(&inv)?;
        let map = doc.as_object_mut().map(std::mem::take).unwrap_or_default();
        writeln!(out, "{{")?;
        for (key, value) in map.iter().filter(|(k, _)| *k != "remote_references") {
            writeln!(
                out,
                "  {}: {},",
                serde_json::to_string(key)?,
                indented(value, 2)?
            )?;
        }
        write!(out, "  \"remote_references\": [")?;
        let mut first = true;
        let scanned = all::scan_streaming(&repo, |r| {
            let line = serde_json::to_string(&r).unwrap_or_default();
            let sep = if std::mem::take(&mut first) { "" } else { "," };
            if let Err(e) = write!(out, "{sep}\n    {line}") {
                io_error.get_or_insert(e);
            }
        })?;
        writeln!(out, "{}],", if first { "" } else { "\n  " })?;
        scanned
    } else {
        print_head(&inv, out)?;
        writeln!(out, "\nRemote references (whole repo):")?;
        all::scan_streaming(&repo, |r| {
            if let Err(e) = print_reference(&r, out) {
                io_error.get_or_insert(e);
            }
        })?
    };
    if let Some(e) = io_error {
        return Err(e.into());
    }
    failures.extend(more);
    if args.json {
        writeln!(out, "  \"files_scanned\": {files},")?;
        let failures_json = serde_json::to_value(&failures)?;
        writeln!(
            out,
            "  \"parse_failures\": {}",
            indented(&failures_json, 2)?
        )?;
        writeln!(out, "}}")?;
    } else {
        writeln!(out, "  ({files} files read)")?;
        print_tail(&inv, out)?;
    }
    for f in &failures {
        eprintln!("error: skipped {}: {}", f.file, f.message);
    }
    Ok(if failures.is_empty() {
        super::exit::OK
    } else {
        super::exit::DRIFT
    })
}

/// Pretty JSON of `value`, its continuation lines indented by `by` spaces.
fn indented(value: &serde_json::Value, by: usize) -> serde_json::Result<String> {
    let pretty = serde_json::to_string_pretty(value)?;
    Ok(pretty.replace('\n', &format!("\n{}", " ".repeat(by))))
}

fn print_table(inv: &Scan, out: &mut impl Write) -> std::io::Result<()> {
    print_head(inv, out)?;
    writeln!(out, "\nRemote references:")?;
    for r in &inv.remote_references {
        print_reference(r, out)?;
    }
    print_tail(inv, out)
}

fn print_reference(r: &inventory::RemoteReference, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "  {}:{}  {:<14} {}",
        r.file,
        r.line,
        r.kind,
        r.url.as_deref().unwrap_or("")
    )
}

fn print_head(inv: &Inventory, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{} ({})",
        inv.toolchains_file.display(),
        inv.root.display()
    )?;
    writeln!(out, "\nTargets:")?;
    let several_files = inv.toolchains_files.len() > 1;
    for (i, t) in inv.targets.iter().enumerate() {
        if several_files && (i == 0 || inv.targets[i - 1].file != t.file) {
            writeln!(out, "  {}:", t.file.display())?;
        }
        let detail = match (&t.replacement, &t.distribution) {
            (Some(r), Some(d)) => format!("→ {r} (was built from :{d})"),
            (Some(r), None) => format!("→ {r}"),
            (None, Some(d)) => format!("references :{d}"),
            (None, None) if !t.resolves_to.is_empty() => {
                format!("alias of {}", t.resolves_to.join(", "))
            }
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
        // Lines of another file than the main one say which file.
        let line = if d.file == inv.toolchains_file {
            d.line.to_string()
        } else {
            format!("{}:{}", d.file.display(), d.line)
        };
        writeln!(
            out,
            "  {:>5}  {:<24} {:<8} {}",
            line,
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
    Ok(())
}

fn print_tail(inv: &Scan, out: &mut impl Write) -> std::io::Result<()> {
    for e in &inv.external_cells {
        writeln!(
            out,
            "\nExternal cell `{}` ({}): {}",
            e.cell, e.origin, e.source
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
    for d in &inv.version_drift {
        writeln!(out, "\ndrift: {} — {}", d.message, d.fix)?;
    }
    Ok(())
}

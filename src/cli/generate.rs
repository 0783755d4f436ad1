//! `si-nixify generate`: plan the rewrite of toolchains/BUCK and of the devshell, then print it
//! (`--check`, `--dry-run`) or write it, all files or none.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::error::UserError;
use crate::flake::{self, generated, Addition};
use crate::inputs::{FlakeChoice, Inputs, Scan};
use crate::inventory::Inventory;
use crate::plan::{self, Plan};
use crate::repo::Repo;
use crate::write::{self, FileChange};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Exit 1 if any file would change; print the diff; write nothing.
    #[arg(long, conflicts_with = "dry_run")]
    check: bool,
    /// Print the diff and the reasons; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Leave flake.nix alone (and write no nix/buck2-toolchains.nix).
    #[arg(long, conflicts_with = "flake")]
    no_flake: bool,
    /// The Nix file whose devShell runs buck2 (default: flake.nix at the repo root).
    #[arg(long, value_name = "FILE")]
    flake: Option<PathBuf>,
    /// In a repo without flake.nix, also write a minimal flake.nix whose devShell uses
    /// nix/buck2-toolchains.nix.
    #[arg(long, conflicts_with_all = ["no_flake", "flake"])]
    init_flake: bool,
    /// Print a JSON report instead of text.
    #[arg(long)]
    json: bool,
}

/// Everything one run would change.
struct Outcome {
    /// One plan per build file of the toolchains cell, the main file first.
    builds: Vec<Plan>,
    additions: Vec<Addition>,
    changes: Vec<FileChange>,
    notes: Vec<String>,
}

pub fn run(repo: Repo, args: &Args, out: &mut impl Write) -> anyhow::Result<i32> {
    let choice = match (&args.flake, args.no_flake) {
        (Some(f), _) => FlakeChoice::File(absolute(&repo.root, f)),
        (None, true) => FlakeChoice::Skip,
        (None, false) => FlakeChoice::Default,
    };
    let inputs = Inputs::read(repo, &choice)?;
    let inv = inputs.inventory()?;
    let outcome = plan_all(&inputs, &inv, args)?;
    let mut said = std::collections::BTreeSet::new();
    for w in outcome.builds.iter().flat_map(|p| &p.warnings) {
        if said.insert(w) {
            eprintln!("warning: {w}");
        }
    }
    for d in &inv.version_drift {
        eprintln!("drift: {} — {}", d.message, d.fix);
    }
    let changed = outcome.changes.iter().any(|c| !c.is_noop());
    let writes = changed && !(args.check || args.dry_run);
    if writes {
        write::commit(&inputs.ctx.repo.root, &outcome.changes)?;
    }
    if args.json {
        print_json(&outcome, &inv, writes, out)?;
    } else {
        print_text(&outcome, args, writes, out)?;
    }
    Ok(if args.check && changed {
        super::exit::DRIFT
    } else {
        super::exit::OK
    })
}

fn absolute(root: &Path, file: &Path) -> PathBuf {
    if file.is_absolute() {
        file.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| root.join(file), |d| d.join(file))
    }
}

fn plan_all(inputs: &Inputs, inv: &Inventory, args: &Args) -> Result<Outcome, UserError> {
    let ctx = &inputs.ctx;
    let builds = plan::plan_all(ctx, inv)?;
    let mut changes: Vec<FileChange> = builds
        .iter()
        .map(|p| FileChange {
            path: p.file.clone(),
            old: Some(p.old.clone()),
            new: p.new.clone(),
        })
        .collect();
    let mut additions = Vec::new();
    // Which copy of each external cell was read (its rule schemas included).
    let mut notes: Vec<String> = inv
        .external_cells
        .iter()
        .filter(|e| e.read_from.is_some())
        .map(|e| {
            format!(
                "`{}` is an external cell ({}): read {}",
                e.cell, e.origin, e.source
            )
        })
        .collect();
    match &inputs.flake {
        Some(f) => {
            let fp = flake::plan(f, &inv.required_tools, &ctx.know)?;
            additions = fp.additions;
            changes.push(FileChange {
                path: fp.path,
                old: Some(fp.old),
                new: fp.new,
            });
        }
        None if !args.no_flake => {
            let path = PathBuf::from(generated::TOOLCHAINS_NIX);
            let old = std::fs::read_to_string(ctx.repo.root.join(&path)).ok();
            let new =
                generated::toolchains_nix(&inv.toolchains_file, &inv.required_tools, &ctx.know)?;
            changes.push(FileChange { path, old, new });
            if args.init_flake {
                let path = PathBuf::from("flake.nix");
                changes.push(FileChange {
                    path,
                    old: None,
                    new: generated::init_flake()?,
                });
            } else {
                notes.push(format!(
                    "no flake.nix here: use {} from your devShell, e.g. `packages = [ pkgs.buck2 ] ++ import ./{} {{ inherit pkgs; }};` (or run with --init-flake)",
                    generated::TOOLCHAINS_NIX,
                    generated::TOOLCHAINS_NIX
                ));
            }
        }
        None => {}
    }
    if args.init_flake && inputs.flake.is_some() {
        return Err(UserError::new("--init-flake: flake.nix exists already")
            .in_file(Path::new("flake.nix"))
            .hint("run without --init-flake: generate patches the existing flake"));
    }
    Ok(Outcome {
        builds,
        additions,
        changes,
        notes,
    })
}

fn print_text(o: &Outcome, args: &Args, wrote: bool, out: &mut impl Write) -> std::io::Result<()> {
    let changed: Vec<&FileChange> = o.changes.iter().filter(|c| !c.is_noop()).collect();
    let warnings = o.builds.iter().map(|p| p.warnings.len()).sum::<usize>();
    if changed.is_empty() {
        if warnings == 0 {
            let what = match o.builds.len() {
                1 => o.builds[0].file.display().to_string(),
                n => format!("the toolchains cell ({n} build files)"),
            };
            writeln!(out, "nothing to do: {what} is already on system toolchains and the devshell provides what they call")?;
        } else {
            writeln!(out, "nothing si-nixify knows how to change; {warnings} warning(s) above name what it left alone")?;
        }
        return Ok(());
    }
    if args.check || args.dry_run {
        for c in &changed {
            write!(out, "{}", c.diff())?;
        }
    }
    for build in o.builds.iter().filter(|p| !p.is_noop()) {
        writeln!(out, "\nChanges to {}:", build.file.display())?;
        for c in &build.changes {
            let place = if c.target.is_empty() {
                String::new()
            } else {
                format!("{} (line {}): ", c.target, c.line)
            };
            writeln!(out, "  {place}{} {} — {}", c.action, c.detail, c.reason)?;
        }
    }
    for a in &o.additions {
        let platform = a
            .platform
            .as_deref()
            .map(|p| format!(" ({p} only)"))
            .unwrap_or_default();
        writeln!(
            out,
            "  devshell: add {}{platform} to `{}` (line {}) — provides {}",
            a.nix,
            a.list,
            a.line,
            a.binaries.join(", ")
        )?;
    }
    for n in &o.notes {
        writeln!(out, "\n{n}")?;
    }
    let names: Vec<String> = changed
        .iter()
        .map(|c| c.path.display().to_string())
        .collect();
    if args.check {
        writeln!(
            out,
            "\nout of date: {} (run `si-nixify generate`)",
            names.join(", ")
        )?;
    } else if wrote {
        writeln!(out, "\nwrote {}", names.join(", "))?;
    }
    Ok(())
}

fn print_json(o: &Outcome, inv: &Scan, wrote: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let files: Vec<_> = o
        .changes
        .iter()
        .filter(|c| !c.is_noop())
        .map(|c| json!({ "path": c.path, "diff": c.diff() }))
        .collect();
    let doc = json!({
        "schema_version": 1,
        "changed": !files.is_empty(),
        "wrote": wrote,
        "files": files,
        "changes": changes_with_file(&o.builds),
        "devshell_additions": o.additions,
        "version_drift": inv.version_drift,
        "warnings": o.builds.iter().flat_map(|p| &p.warnings).collect::<Vec<_>>(),
        "notes": o.notes,
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)?;
    Ok(())
}

/// Every build file's changes, each saying which file it is in.
fn changes_with_file(builds: &[Plan]) -> Vec<serde_json::Value> {
    builds
        .iter()
        .flat_map(|p| {
            p.changes.iter().map(move |c| {
                let mut v = serde_json::to_value(c).unwrap_or_default();
                if let Some(map) = v.as_object_mut() {
                    map.insert("file".to_owned(), json!(p.file));
                }
                v
            })
        })
        .collect()
}

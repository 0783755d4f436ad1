//! `si-nixify generate`: plan the rewrite of toolchains/BUCK and of the devshell, then print it
//! (`--check`, `--dry-run`) or write it, all files or none.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::error::UserError;
use crate::flake::{self, generated, Addition};
use crate::inventory::{self, pins, Context, FlakeChoice, Inventory};
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
    /// Also keep the versions the download toolchains pinned: versioned nixpkgs attributes
    /// (`llvmPackages_20.clang`, `python313`) and the rust-toolchain channel, where this nixpkgs
    /// has the exact version.
    #[arg(long, conflicts_with = "no_flake")]
    pin_versions: bool,
    /// Also pin the toolchains to Nix store paths: a `buck2-toolchains` flake output, and Buck2
    /// targets that realise it with `nix build` and give the toolchains their tools (runs nix).
    #[arg(long, conflicts_with_all = ["no_flake", "flake", "init_flake"])]
    nix_pinned: bool,
    /// Print a JSON report instead of text.
    #[arg(long)]
    json: bool,
}

/// Everything one run would change.
struct Outcome {
    buck: Plan,
    additions: Vec<Addition>,
    changes: Vec<FileChange>,
    notes: Vec<String>,
    pinned: Option<crate::pinned::Report>,
}

pub fn run(repo: Repo, args: &Args, out: &mut impl Write) -> anyhow::Result<i32> {
    let choice = match (&args.flake, args.no_flake) {
        (Some(f), _) => FlakeChoice::File(absolute(&repo.root, f)),
        (None, true) => FlakeChoice::Skip,
        (None, false) => FlakeChoice::Default,
    };
    let ctx = Context::load_with(repo, &choice)?;
    let inv = inventory::take(&ctx)?;
    let mut outcome = plan_all(&ctx, &inv, args)?;
    if args.nix_pinned {
        outcome.pinned = Some(crate::pinned::extend(&ctx, &mut outcome.changes)?);
    }
    for w in &outcome.buck.warnings {
        eprintln!("warning: {w}");
    }
    for d in &inv.version_drift {
        eprintln!("drift: {} — {}", d.message, d.fix);
    }
    let changed = outcome.changes.iter().any(|c| !c.is_noop());
    let writes = changed && !(args.check || args.dry_run);
    if writes {
        write::commit(&ctx.repo.root, &outcome.changes)?;
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

fn plan_all(ctx: &Context, inv: &Inventory, args: &Args) -> Result<Outcome, UserError> {
    let buck = plan::plan(ctx, inv)?;
    let mut changes = vec![FileChange {
        path: buck.file.clone(),
        old: Some(buck.old.clone()),
        new: buck.new.clone(),
    }];
    // The pins go with the deleted distribution targets: keep them for scan and doctor.
    let current = pins::from_distributions(inv);
    if !current.is_empty() && !buck.is_noop() {
        let path = PathBuf::from(pins::PINS_FILE);
        let old = std::fs::read_to_string(ctx.repo.root.join(&path)).ok();
        let new = pins::render(&inv.pins);
        changes.push(FileChange { path, old, new });
    }
    let mut additions = Vec::new();
    let mut notes = Vec::new();
    match &ctx.flake {
        Some(f) => {
            let (tools, pin_edits) = if args.pin_versions {
                if let Some((path, old, new)) =
                    flake::pin::rust_toolchain_edit(&ctx.repo.root, &inv.version_drift)?
                {
                    changes.push(FileChange {
                        path,
                        old: Some(old),
                        new,
                    });
                }
                (
                    flake::pin::versioned_tools(&inv.required_tools, &inv.pins, f, &ctx.know),
                    flake::pin::element_edits(f, &inv.version_drift),
                )
            } else {
                (inv.required_tools.clone(), Vec::new())
            };
            let fp = flake::plan(f, &tools, &ctx.know, &pin_edits)?;
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
    if args.init_flake && ctx.flake.is_some() {
        return Err(UserError::new("--init-flake: flake.nix exists already")
            .in_file(Path::new("flake.nix"))
            .hint("run without --init-flake: generate patches the existing flake"));
    }
    Ok(Outcome {
        buck,
        additions,
        changes,
        notes,
        pinned: None,
    })
}

fn print_text(o: &Outcome, args: &Args, wrote: bool, out: &mut impl Write) -> std::io::Result<()> {
    let changed: Vec<&FileChange> = o.changes.iter().filter(|c| !c.is_noop()).collect();
    if changed.is_empty() {
        if o.buck.warnings.is_empty() {
            writeln!(out, "nothing to do: {} is already on system toolchains and the devshell provides what they call", o.buck.file.display())?;
        } else {
            writeln!(out, "nothing si-nixify knows how to change; {} warning(s) above name what it left alone", o.buck.warnings.len())?;
        }
        return Ok(());
    }
    if args.check || args.dry_run {
        for c in &changed {
            write!(out, "{}", c.diff())?;
        }
    }
    if !o.buck.is_noop() {
        writeln!(out, "\nChanges to {}:", o.buck.file.display())?;
        for c in &o.buck.changes {
            let place = if c.target.is_empty() {
                String::new()
            } else {
                format!("{} (line {}): ", c.target, c.line)
            };
            writeln!(out, "  {place}{} {} — {}", c.action, c.detail, c.reason)?;
        }
    }
    for a in &o.additions {
        if let Some(old) = &a.replaces {
            writeln!(
                out,
                "  devshell: replace {old} with {} in `{}` (line {}) — {}",
                a.nix,
                a.list,
                a.line,
                a.why.as_deref().unwrap_or_default()
            )?;
            continue;
        }
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
    if let Some(p) = &o.pinned {
        writeln!(out, "\nPinned to Nix store paths ({}):", p.system)?;
        for r in &p.reasons {
            writeln!(out, "  {r}")?;
        }
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

fn print_json(
    o: &Outcome,
    inv: &Inventory,
    wrote: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
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
        "changes": o.buck.changes,
        "devshell_additions": o.additions,
        "version_drift": inv.version_drift,
        "warnings": o.buck.warnings,
        "notes": o.notes,
        "nix_pinned": o.pinned,
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)?;
    Ok(())
}

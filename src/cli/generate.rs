//! `si-nixify generate`: plan the rewrite of toolchains/BUCK and of the devshell, then print it
//! (`--check`, `--dry-run`) or write it, all files or none.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::report;
use super::style::{self, count, paint};
use super::table::{section, Table};
use crate::downloads;
use crate::error::UserError;
use crate::flake::{self, generated, Addition};
use crate::inputs::{FlakeChoice, Inputs, Scan};
use crate::inventory::{self, pins};
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
    /// Print a JSON report instead of text (the same as --format json).
    #[arg(long, conflicts_with = "format")]
    json: bool,
    /// How to report: `text` for people; `json`; `github` for workflow annotations at
    /// file:line; `sarif` (2.1.0) for code-scanning and other CI.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Github,
    Sarif,
}

impl Args {
    /// Whether this run may write files.
    pub fn writes(&self) -> bool {
        !(self.check || self.dry_run)
    }

    fn format(&self) -> Format {
        if self.json {
            Format::Json
        } else {
            self.format
        }
    }
}

/// Everything one run would change.
struct Outcome {
    /// One plan per build file of the toolchains cell, the main file first.
    builds: Vec<Plan>,
    additions: Vec<Addition>,
    changes: Vec<FileChange>,
    notes: Vec<String>,
    pinned: Option<crate::pinned::Report>,
}

pub fn run(repo: Repo, args: &Args, out: &mut impl Write) -> anyhow::Result<i32> {
    let choice = match (&args.flake, args.no_flake) {
        (Some(f), _) => FlakeChoice::File(existing_flake(&repo.root, f)?),
        (None, true) => FlakeChoice::Skip,
        (None, false) => FlakeChoice::Default,
    };
    let inputs = Inputs::read(repo, &choice)?;
    // Macro calls with a system mode of their own are switched to it first (issue 12,
    // point 2): everything after reads the switched calls.
    let switched = plan::switch::system_modes(&inputs.ctx);
    let inputs = if switched.is_empty() {
        inputs
    } else {
        Inputs {
            ctx: inputs
                .ctx
                .with_build_texts(&plan::switch::texts(&switched))?,
            flake: inputs.flake,
        }
    };
    let mut inv = inputs.inventory_before_downloads()?;
    {
        let inv = &mut inv.inventory;
        let know = &inputs.ctx.know;
        plan::switch::add_tools(&switched, know, &mut inv.required_tools, &mut inv.warnings);
    }
    let mut outcome = plan_all(&inputs, &inv, args, &switched)?;
    // The input's evaluation, made at most once a run however many steps ask for it.
    let mut input = InputEvaluation::default();
    let mut judged = downloads_after_rewrite(&inputs, &inv, &outcome, &mut input);
    // Downloads the rewrite by rule name leaves: toolchains are judged by what their rules do
    // (issue 12). SI never gets here, and pays nothing for it.
    if !judged.left.is_empty() && take_generic_moves(&inputs, &mut inv, &mut input) {
        outcome = plan_all(&inputs, &inv, args, &switched)?;
        judged = downloads_after_rewrite(&inputs, &inv, &outcome, &mut input);
    }
    outcome.add_cell_warnings(inv.warnings.len(), &judged.warnings);
    inv.inventory.set_downloads(judged);
    if args.nix_pinned {
        outcome.pinned = Some(crate::pinned::extend(&inputs, &mut outcome.changes)?);
    }
    let changed = outcome.changes.iter().any(|c| !c.is_noop());
    let writes = changed && args.writes();
    if writes {
        write::commit(&inputs.ctx.repo.root, &outcome.changes)?;
    }
    match args.format() {
        Format::Json => print_json(&outcome, &inv, writes, out)?,
        Format::Text => print_text(&outcome, &inv, args, writes, out)?,
        Format::Github => report::github(&outcome.report(&inv), out)?,
        Format::Sarif => report::sarif(&outcome.report(&inv), out)?,
    }
    // A download the rewrite leaves in place is never hidden: exit 1, each one listed.
    Ok(
        if (args.check && changed) || !inv.downloads_left.is_empty() {
            super::exit::DRIFT
        } else {
            super::exit::OK
        },
    )
}

/// The input cell evaluated, once: the fallback of [`downloads_after_rewrite`] and the
/// generic moves both read it.
#[derive(Default)]
struct InputEvaluation(Option<downloads::Evaluated>);

impl InputEvaluation {
    fn get(&mut self, inputs: &Inputs) -> &downloads::Evaluated {
        let ctx = &inputs.ctx;
        self.0.get_or_insert_with(|| {
            downloads::of_sources(&ctx.repo, &ctx.sources, &downloads::Options::default())
        })
    }
}

/// Reclassify the toolchains by what their rules do ([`inventory::generic`]); whether any
/// target changed.
fn take_generic_moves(inputs: &Inputs, inv: &mut Scan, input: &mut InputEvaluation) -> bool {
    let ctx = &inputs.ctx;
    let found = input.get(inputs);
    inv.inventory.classify_generic(ctx, found)
}

/// The downloads the rewrite leaves in place. When what it writes is written out (system
/// toolchains and plain rule calls: SI after the rewrite), they are read from that, and the
/// interpreter is never started; otherwise the input is evaluated and each download that no
/// replaced target accounts for is left.
fn downloads_after_rewrite(
    inputs: &Inputs,
    inv: &Scan,
    outcome: &Outcome,
    input: &mut InputEvaluation,
) -> inventory::JudgedDownloads {
    let ctx = &inputs.ctx;
    let written: Vec<(PathBuf, String)> = outcome
        .builds
        .iter()
        .map(|p| (p.file.clone(), p.new.clone()))
        .collect();
    let after = ctx.sources.with_build_texts(&ctx.repo, &written).ok();
    if let Some(found) = after.and_then(|s| downloads::as_written(&ctx.repo, &s)) {
        return inventory::judge_downloads(found, &[], &inv.kept, &ctx.know);
    }
    inventory::judge_downloads(
        input.get(inputs).clone(),
        &inv.targets,
        &inv.kept,
        &ctx.know,
    )
}

impl Outcome {
    /// Warnings about the cell found after planning, said with the main file's, after the
    /// first `at` (the inventory's own).
    fn add_cell_warnings(&mut self, at: usize, warnings: &[String]) {
        let main = &mut self.builds[0].warnings;
        let at = at.min(main.len());
        main.splice(at..at, warnings.iter().cloned());
    }

    /// The plan of a build file, if `path` is one.
    fn plan_for(&self, path: &Path) -> Option<&Plan> {
        self.builds.iter().find(|p| p.file == path)
    }

    /// Every build file's warnings, each once (a warning about a shared .bzl comes from
    /// every file that loads it).
    fn warnings(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for w in self.builds.iter().flat_map(|p| &p.warnings) {
            if !out.contains(w) {
                out.push(w.clone());
            }
        }
        out
    }

    /// Every finding with its place, for the CI formats.
    fn report(&self, inv: &Scan) -> Vec<report::Finding> {
        let main = self.builds[0].file.display().to_string();
        let mut out = Vec::new();
        for change in self.changes.iter().filter(|c| !c.is_noop()) {
            let path = change.path.display().to_string();
            if let Some(plan) = self.plan_for(&change.path) {
                for c in &plan.changes {
                    out.push(report::Finding::error(
                        "out-of-date",
                        &path,
                        c.line.max(1),
                        format!(
                            "{}{} {} — {} (run `si-nixify generate`)",
                            target_prefix(c),
                            c.action,
                            c.detail,
                            c.reason
                        ),
                    ));
                }
            } else {
                let additions: Vec<&Addition> = self.additions.iter().collect();
                if additions.is_empty() || change.old.is_none() {
                    out.push(report::Finding::error(
                        "out-of-date",
                        &path,
                        1,
                        if change.old.is_none() {
                            format!("{path} would be created (run `si-nixify generate`)")
                        } else {
                            format!("{path} would change (run `si-nixify generate`)")
                        },
                    ));
                }
                for a in additions.into_iter().filter(|_| change.old.is_some()) {
                    out.push(report::Finding::error(
                        "out-of-date",
                        &path,
                        a.line.max(1),
                        format!("{} (run `si-nixify generate`)", addition_text(a)),
                    ));
                }
            }
        }
        for d in &inv.version_drift {
            out.push(report::Finding::warning(
                "version-drift",
                &d.file,
                d.line.max(1),
                format!("{}; {}", d.message, d.fix),
            ));
        }
        for w in &self.warnings() {
            out.push(report::Finding::from_warning(w, &main));
        }
        for d in &inv.downloads_left {
            out.push(report::Finding::error(
                "download-left",
                &d.file.display().to_string(),
                d.line.max(1),
                format!(
                    "`{}` (rule `{}`) still downloads: {}",
                    d.target, d.rule, d.fix
                ),
            ));
        }
        out
    }
}

fn target_prefix(c: &plan::Change) -> String {
    if c.target.is_empty() {
        String::new()
    } else {
        format!("{}: ", c.target)
    }
}

fn addition_text(a: &Addition) -> String {
    if let Some(old) = &a.replaces {
        return format!(
            "replace {old} with {} in `{}` — {}",
            a.nix,
            a.list,
            a.why.as_deref().unwrap_or_default()
        );
    }
    let platform = a
        .platform
        .as_deref()
        .map(|p| format!(" ({p} only)"))
        .unwrap_or_default();
    format!(
        "add {}{platform} to `{}` — provides {}",
        a.nix,
        a.list,
        a.binaries.join(", ")
    )
}

/// `--flake FILE` as an absolute path, when it names a file inside the repo.
fn existing_flake(root: &Path, file: &Path) -> Result<PathBuf, UserError> {
    let path = absolute(root, file);
    if !path.is_file() {
        return Err(UserError::new(format!(
            "--flake `{}`: no such file",
            file.display()
        ))
        .hint("name the Nix file whose devShell runs buck2 (e.g. --flake flake.nix), or pass --no-flake"));
    }
    let inside = path
        .canonicalize()
        .ok()
        .zip(root.canonicalize().ok())
        .is_some_and(|(p, r)| p.starts_with(r));
    if !inside {
        return Err(UserError::new(format!(
            "--flake `{}` is outside the repo `{}`",
            file.display(),
            root.display()
        ))
        .hint("generate only edits files inside the repo; pass a flake inside it, or --no-flake"));
    }
    Ok(path.canonicalize().unwrap_or(path))
}

fn absolute(root: &Path, file: &Path) -> PathBuf {
    if file.is_absolute() {
        file.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| root.join(file), |d| d.join(file))
    }
}

fn plan_all(
    inputs: &Inputs,
    inv: &Scan,
    args: &Args,
    switched: &[plan::switch::Switched],
) -> Result<Outcome, UserError> {
    let ctx = &inputs.ctx;
    let mut builds = plan::plan_all(ctx, inv)?;
    // A switched file changes from what was read, the switches first.
    for s in switched {
        if let Some(p) = builds.iter_mut().find(|p| p.file == s.file) {
            p.old = s.original.clone();
            p.changes.splice(0..0, s.changes.iter().cloned());
        }
    }
    let mut changes: Vec<FileChange> = builds
        .iter()
        .map(|p| FileChange {
            path: p.file.clone(),
            old: Some(p.old.clone()),
            new: p.new.clone(),
        })
        .collect();
    if let Some((path, new)) = plan::path_tool_file(ctx, inv) {
        let old = std::fs::read_to_string(ctx.repo.root.join(&path)).ok();
        changes.push(FileChange { path, old, new });
    }
    // The pins go with the deleted distribution targets: keep them for scan and doctor.
    // (Pins read from the file are already in it; only the toolchains' own pins are news.)
    if inv.pins.iter().any(|p| !p.recorded) && builds.iter().any(|p| !p.is_noop()) {
        let path = PathBuf::from(pins::PINS_FILE);
        let old = std::fs::read_to_string(ctx.repo.root.join(&path)).ok();
        let new = pins::render(&inv.pins);
        changes.push(FileChange { path, old, new });
    }
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
    // A devshell whose package lists are not recognisable is no error: the generated file is
    // written instead, with a note saying where the packages should go.
    let unpatchable = inputs.flake.as_ref().filter(|f| f.segments.is_empty());
    if let Some(f) = unpatchable {
        notes.push(format!(
            "{}: no devshell package list found (looked for mkShell's packages, buildInputs and nativeBuildInputs); add the tools of {} to your devShell by hand, or pass --flake FILE to name the file with it",
            f.path.display(),
            generated::TOOLCHAINS_NIX
        ));
    }
    match inputs.flake.as_ref().filter(|f| !f.segments.is_empty()) {
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
            if unpatchable.is_some() {
                // Said above: the flake is there, only its package list is not.
            } else if args.init_flake {
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
        pinned: None,
    })
}

/// The text report, in reading order: the diffs, then what changes in each file and why, then
/// notes, drift and warnings, then one summary line.
fn print_text(
    o: &Outcome,
    inv: &Scan,
    args: &Args,
    wrote: bool,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let changed: Vec<&FileChange> = o.changes.iter().filter(|c| !c.is_noop()).collect();
    if !args.writes() {
        for c in &changed {
            write!(out, "{}", style::diff(&c.diff()))?;
        }
    }
    for c in &changed {
        print_file_changes(o, c, out)?;
    }
    if let Some(p) = &o.pinned {
        let mut rows = Table::new(2);
        for r in &p.reasons {
            rows.row([r.clone()]);
        }
        section(
            out,
            &format!("Pinned to Nix store paths ({}):", p.system),
            &rows,
        )?;
    }
    for n in &o.notes {
        writeln!(out, "\n{} {n}", paint(style::HINT, "note:"))?;
    }
    super::scan::print_notices(&inv.version_drift, &o.warnings(), out)?;
    writeln!(
        out,
        "\n{}{}",
        summary(o, &changed, args, wrote),
        downloads_left_clause(inv)
    )
}

/// `Changes to <file>:` and one line per change, with its target, line and reason.
fn print_file_changes(o: &Outcome, c: &FileChange, out: &mut impl Write) -> std::io::Result<()> {
    let mut rows = Table::new(2);
    if let Some(plan) = o.plan_for(&c.path) {
        for change in &plan.changes {
            // Load bookkeeping has no target; a load added to a file without one has no line.
            let place = if change.target.is_empty() && change.line == 0 {
                "top of file".to_owned()
            } else if change.target.is_empty() {
                format!("line {}", change.line)
            } else {
                format!("{} (line {})", change.target, change.line)
            };
            rows.row([
                place,
                format!("{} {} — {}", change.action, change.detail, change.reason),
            ]);
        }
    } else if c.old.is_none() {
        rows.row([format!("new file, {} lines", c.new.lines().count())]);
    } else if o.additions.is_empty() {
        rows.row(["updated".to_owned()]);
    } else {
        for a in &o.additions {
            rows.row([format!("line {}", a.line), addition_text(a)]);
        }
    }
    let verb = if c.old.is_none() {
        "New file"
    } else {
        "Changes to"
    };
    section(out, &format!("{verb} {}:", c.path.display()), &rows)
}

/// `; 2 downloads left that si-nixify cannot rewrite (listed above)`, when there are any.
fn downloads_left_clause(inv: &Scan) -> String {
    match inv.downloads_left.len() {
        0 => String::new(),
        n => format!(
            "; {} left that si-nixify cannot rewrite (listed above, exit 1)",
            count(n, "download", "downloads")
        ),
    }
}

/// The last line: what happened, or would have.
fn summary(o: &Outcome, changed: &[&FileChange], args: &Args, wrote: bool) -> String {
    let names = changed
        .iter()
        .map(|c| c.path.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let files = count(changed.len(), "file", "files");
    if changed.is_empty() {
        let warnings = o.warnings();
        return if warnings.is_empty() {
            let what = match o.builds.len() {
                1 => o.builds[0].file.display().to_string(),
                n => format!("the toolchains cell ({n} build files)"),
            };
            let on = if o.pinned.as_ref().is_some_and(|p| !p.packages.is_empty()) {
                "pinned Nix toolchains, their store paths current,"
            } else {
                "system toolchains"
            };
            format!(
                "nothing to do: {what} is already on {on} and the devshell provides what they call"
            )
        } else {
            let n = warnings.len();
            format!(
                "nothing si-nixify knows how to change; {} above {} what it left alone",
                count(n, "warning", "warnings"),
                if n == 1 { "names" } else { "name" }
            )
        };
    }
    if args.check {
        format!(
            "{} {files} out of date ({names}); run `si-nixify generate`, nothing written",
            paint(style::ERROR, "check failed:")
        )
    } else if args.dry_run {
        format!("dry run: {files} would change ({names}), nothing written")
    } else if wrote {
        format!("{} {files}: {names}", paint(style::OK, "wrote"))
    } else {
        String::new()
    }
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
        "warnings": o.warnings(),
        "downloads_left": inv.downloads_left,
        "notes": o.notes,
        "nix_pinned": o.pinned,
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

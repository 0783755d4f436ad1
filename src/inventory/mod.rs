//! What is there: every target of toolchains/BUCK classified, every distribution with its
//! artifacts, every remote reference, and the tools the toolchains will call. `scan` prints
//! this; `plan` builds on it.

pub mod all;
pub mod distributions;
pub mod pins;
pub mod references;
pub mod targets;
pub mod tools;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::UserError;
use crate::flake::drift::Drift;
use crate::flake::Flake;
use crate::know::Knowledge;
use crate::read::{Module, Sources};
use crate::repo::Repo;
pub use distributions::{Artifact, Distribution};
pub use references::RemoteReference;
pub use targets::{Status, Target};
pub use tools::RequiredTool;

/// The `scan --json` document (schema_version 1; see DESIGN.md).
#[derive(Debug, Clone, Serialize)]
pub struct Inventory {
    pub schema_version: u32,
    pub root: PathBuf,
    pub toolchains_file: PathBuf,
    pub targets: Vec<Target>,
    pub distributions: Vec<Distribution>,
    pub remote_references: Vec<RemoteReference>,
    pub required_tools: Vec<RequiredTool>,
    /// The versions the download toolchains pin (or pinned, per `.si-nixify/pins.json`).
    pub pins: Vec<pins::Pin>,
    /// Pinned versions the devshell does not match (empty without a flake).
    pub version_drift: Vec<Drift>,
    pub warnings: Vec<String>,
    /// `scan --all`: how many BUCK/.bzl files were read, and those that failed to parse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files_scanned: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parse_failures: Option<Vec<all::ParseFailure>>,
}

impl Inventory {
    /// An inventory with nothing in it (a repo whose toolchains could not be read).
    pub fn empty(root: PathBuf, toolchains_file: PathBuf) -> Inventory {
        Inventory {
            schema_version: 1,
            root,
            toolchains_file,
            targets: Vec::new(),
            distributions: Vec::new(),
            remote_references: Vec::new(),
            required_tools: Vec::new(),
            pins: Vec::new(),
            version_drift: Vec::new(),
            warnings: Vec::new(),
            files_scanned: None,
            parse_failures: None,
        }
    }
}

/// Which Nix file holds the devshell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum FlakeChoice {
    /// `flake.nix` at the root, if there is one.
    #[default]
    Default,
    /// `--flake FILE`, root-relative or absolute inside the root.
    File(PathBuf),
    /// `--no-flake`.
    Skip,
}

/// Everything read for one run, kept together so `plan` need not read again.
pub struct Context {
    pub repo: Repo,
    pub know: Knowledge,
    pub sources: Sources,
    pub flake: Option<Flake>,
}

impl Context {
    pub fn load(repo: Repo) -> Result<Context, UserError> {
        Context::load_with(repo, &FlakeChoice::Default)
    }

    /// Read everything a run needs, the flake included, before anything is planned: a syntax
    /// error in any file stops the run before a single byte is written.
    pub fn load_with(repo: Repo, flake: &FlakeChoice) -> Result<Context, UserError> {
        let know = Knowledge::load(&repo.root)?;
        let buck = repo.toolchains_file()?;
        let sources = Sources::read(&repo, &buck)?;
        let flake = match flake {
            FlakeChoice::Skip => None,
            FlakeChoice::Default => {
                let path = Path::new("flake.nix");
                repo.root
                    .join(path)
                    .is_file()
                    .then(|| Flake::read(&repo.root, path))
                    .transpose()?
            }
            FlakeChoice::File(path) => {
                let rel = path.strip_prefix(&repo.root).unwrap_or(path).to_path_buf();
                Some(Flake::read(&repo.root, &rel)?)
            }
        };
        Ok(Context {
            repo,
            know,
            sources,
            flake,
        })
    }

    pub fn buck(&self) -> &Module {
        self.sources.buck_module()
    }

    /// This context with toolchains/BUCK's text replaced and no flake (for fuzzing and
    /// property tests: many BUCK texts against one repo, nothing on disk changes).
    pub fn with_buck_text(&self, text: String) -> Result<Context, UserError> {
        Ok(Context {
            repo: self.repo.clone(),
            know: self.know.clone(),
            sources: self.sources.with_buck_text(&self.repo, text)?,
            flake: None,
        })
    }
}

/// Inventory and plan in one: the rewrite `generate` would write for toolchains/BUCK.
pub fn rewrite(ctx: &Context) -> Result<crate::plan::Plan, UserError> {
    let inv = take(ctx)?;
    crate::plan::plan(ctx, &inv)
}

pub fn take(ctx: &Context) -> Result<Inventory, UserError> {
    let buck = ctx.buck();
    let targets = targets::classify(buck, &ctx.know);
    let calls = targets::calls(buck);
    let mut distributions: Vec<Distribution> = Vec::new();
    for t in &targets {
        let call = &calls[t.call_index];
        if t.status == Status::Distribution && ctx.know.distributions.contains_key(call.rule) {
            distributions.push(distributions::describe(
                &ctx.sources,
                &ctx.know,
                call,
                t.line,
                &calls,
            ));
        } else if let Some((family, rule)) = ctx.know.toolchains.get(call.rule) {
            distributions.extend(distributions::describe_macro(
                &ctx.sources,
                family,
                rule,
                call,
                t.line,
            ));
        }
    }
    let mut required_tools = tools::required(buck, &targets, &ctx.know);
    let family_pins = pins::from_distributions_of(&targets, &distributions, &ctx.sources.buck);
    let path_tools = tools::path_tools(&ctx.sources, buck, &targets, &distributions, &ctx.know);
    let tool_pins = tools::add_path_tools(
        &mut required_tools,
        path_tools,
        &family_pins,
        &ctx.sources.buck,
    );
    let warnings = unknown_download_rules(&ctx.sources.buck, &targets);
    let mut inv = Inventory {
        schema_version: 1,
        root: ctx.repo.root.clone(),
        toolchains_file: ctx.sources.buck.clone(),
        remote_references: remote_references(ctx)?,
        targets,
        distributions,
        required_tools,
        pins: Vec::new(),
        version_drift: Vec::new(),
        warnings,
        files_scanned: None,
        parse_failures: None,
    };
    let mut current = family_pins;
    current.extend(tool_pins);
    inv.pins = pins::merge(current, pins::recorded(&ctx.repo.root)?);
    if let Some(flake) = &ctx.flake {
        inv.version_drift = crate::flake::drift::find(&ctx.repo.root, &inv, flake, &ctx.know);
    }
    Ok(inv)
}

/// Rules that look like they download but the knowledge base does not know: left alone,
/// and named so the user can teach the tool about them.
fn unknown_download_rules(file: &Path, targets: &[Target]) -> Vec<String> {
    targets
        .iter()
        .filter(|t| t.status == Status::Other)
        .filter(|t| looks_hermetic(&t.rule))
        .map(|t| {
            format!(
                "{}:{}: `{}` looks like a download toolchain but the knowledge base does not know rule `{}`; it is left unchanged (teach it in .si-nixify/*.json)",
                file.display(), t.line, t.name, t.rule
            )
        })
        .collect()
}

pub fn looks_hermetic(rule: &str) -> bool {
    // Names are all there is to go on for a rule the knowledge base does not know.
    ["download", "fetch", "hermetic", "_distribution", "_dist"]
        .iter()
        .any(|w| rule.contains(w))
}

/// References in every module read, plus the toolchains cell's other .bzl files.
fn remote_references(ctx: &Context) -> Result<Vec<RemoteReference>, UserError> {
    let mut seen: BTreeSet<&Path> = BTreeSet::new();
    let mut out = Vec::new();
    for module in ctx.sources.modules.values() {
        seen.insert(&module.path);
        out.extend(references::in_module(module));
    }
    for path in cell_starlark_files(&ctx.repo)? {
        if !seen.contains(path.as_path()) {
            out.extend(references::in_module(&Module::read(&ctx.repo.root, &path)?));
        }
    }
    out.sort();
    Ok(out)
}

/// `.bzl` files directly in the toolchains cell directory (not loaded by BUCK, still shipped).
fn cell_starlark_files(repo: &Repo) -> Result<Vec<PathBuf>, UserError> {
    let dir = repo.toolchains_dir();
    let entries = std::fs::read_dir(repo.root.join(&dir))
        .map_err(|e| UserError::new(format!("cannot list `{}`: {e}", dir.display())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| dir.join(e.file_name()))
        .filter(|p| p.extension().is_some_and(|x| x == "bzl"))
        .collect();
    files.sort();
    Ok(files)
}

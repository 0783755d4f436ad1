//! What is there: every target of the toolchains cell's build files classified, every
//! distribution with its artifacts, every remote reference, and the tools the toolchains
//! will call. `scan` prints this; `plan` builds on it. Nothing here looks at the flake or
//! plans anything: data flows on from here, never back.

pub mod all;
pub mod distributions;
pub mod generic;
pub mod kept;
pub mod left;
pub mod pins;
pub mod references;
pub mod targets;
pub mod tools;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::downloads::{self, Download};
use crate::error::UserError;
use crate::know::Knowledge;
use crate::read::{Module, Sources};
use crate::repo::Repo;
pub use distributions::{Artifact, Distribution};
pub use kept::Kept;
pub use left::DownloadLeft;
pub use references::RemoteReference;
pub use targets::{Status, Target};
pub use tools::RequiredTool;

/// What the toolchains cell holds: with the flake's version drift (`inputs::Scan`), the
/// `scan --json` document (schema_version 1; see DESIGN.md).
#[derive(Debug, Clone, Serialize)]
pub struct Inventory {
    pub schema_version: u32,
    pub root: PathBuf,
    /// The main (top package's) build file of the toolchains cell.
    pub toolchains_file: PathBuf,
    /// Every build file of the toolchains cell, `toolchains_file` first.
    pub toolchains_files: Vec<PathBuf>,
    pub targets: Vec<Target>,
    pub distributions: Vec<Distribution>,
    pub remote_references: Vec<RemoteReference>,
    pub required_tools: Vec<RequiredTool>,
    /// The versions the download toolchains pin (or pinned, per `.si-nixify/pins.json`).
    pub pins: Vec<pins::Pin>,
    /// Every download of the cell, found by evaluating its build files: native
    /// `http_archive`/`http_file`/`remote_file` targets and rules whose implementations call
    /// `download_file`, written out or made by macros and loops.
    pub downloads: Vec<Download>,
    /// The downloads the rewrite leaves in place (`generate` exits 1 over them).
    pub downloads_left: Vec<DownloadLeft>,
    /// Downloads kept because a user the rewrite leaves alone still needs them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<Kept>,
    pub warnings: Vec<String>,
    /// `[external_cells]` and where their files were read from (rule schemas included).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_cells: Vec<ExternalCellUse>,
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
            toolchains_files: Vec::new(),
            toolchains_file,
            targets: Vec::new(),
            distributions: Vec::new(),
            remote_references: Vec::new(),
            required_tools: Vec::new(),
            pins: Vec::new(),
            downloads: Vec::new(),
            downloads_left: Vec::new(),
            kept: Vec::new(),
            warnings: Vec::new(),
            external_cells: Vec::new(),
            files_scanned: None,
            parse_failures: None,
        }
    }

    /// The targets of one build file, in file order.
    pub fn targets_in<'a>(&'a self, file: &'a Path) -> impl Iterator<Item = &'a Target> + 'a {
        self.targets.iter().filter(move |t| t.file == file)
    }
}

/// An external cell, and which copy of it was read.
#[derive(Debug, Clone, Serialize)]
pub struct ExternalCellUse {
    pub cell: String,
    /// `bundled` or `git <origin> @ <commit>`.
    pub origin: String,
    /// The directory read, or null when no copy was found.
    pub read_from: Option<PathBuf>,
    /// In words: which copy, or why none.
    pub source: String,
}

fn external_cells(repo: &Repo) -> Vec<ExternalCellUse> {
    repo.external
        .iter()
        .map(|(cell, e)| ExternalCellUse {
            cell: cell.clone(),
            origin: e.origin_text(),
            read_from: e.read_from.clone(),
            source: if e.read_from.is_some() {
                e.source.clone()
            } else {
                format!(
                    "no copy found (looked in {}); rule schemas from si-nixify's built-in copies",
                    e.looked_in(cell)
                )
            },
        })
        .collect()
}

/// The toolchains cell as read: the repo, its knowledge base and its parsed files.
pub struct Context {
    pub repo: Repo,
    pub know: Knowledge,
    pub sources: Sources,
    /// The repo's build and .bzl files outside the cell, read once a run when first asked
    /// for (what names a download from outside: [`kept`], [`generic`], the macro switch);
    /// shared by the contexts made from this one.
    outside: std::sync::Arc<std::sync::OnceLock<Vec<(PathBuf, String)>>>,
}

impl Context {
    /// Read every build file of the toolchains cell and everything they load: a syntax
    /// error in any of them stops the run before a single byte is written.
    pub fn load(repo: Repo) -> Result<Context, UserError> {
        let know = Knowledge::load(&repo.root)?;
        let builds = repo.toolchains_files()?;
        let sources = Sources::read(&repo, &builds)?;
        Ok(Context {
            repo,
            know,
            sources,
            outside: Default::default(),
        })
    }

    /// The main build file.
    pub fn buck(&self) -> &Module {
        self.sources.buck_module()
    }

    /// The same cell with some build files' texts replaced (a macro call switched to its
    /// system mode).
    pub fn with_build_texts(&self, texts: &[(PathBuf, String)]) -> Result<Context, UserError> {
        Ok(Context {
            repo: self.repo.clone(),
            know: self.know.clone(),
            sources: self.sources.with_build_texts(&self.repo, texts)?,
            outside: self.outside.clone(),
        })
    }

    /// This context with the main build file's text replaced (for fuzzing and property
    /// tests: many BUCK texts against one repo, nothing on disk changes).
    pub fn with_buck_text(&self, text: String) -> Result<Context, UserError> {
        Ok(Context {
            repo: self.repo.clone(),
            know: self.know.clone(),
            sources: self.sources.with_buck_text(&self.repo, text)?,
            outside: self.outside.clone(),
        })
    }

    /// Every build and .bzl file of the repo outside the cell (the prelude's left out), with
    /// its root-relative path: walked and read once a run.
    pub fn files_outside_cell(&self) -> &[(PathBuf, String)] {
        self.outside
            .get_or_init(|| kept::read_files_outside_cell(self))
    }
}

/// What is there, downloads included: the cell is evaluated (or read as written) for them.
pub fn take(ctx: &Context) -> Result<Inventory, UserError> {
    let mut inv = take_before_downloads(ctx)?;
    let found = downloads::of_sources(&ctx.repo, &ctx.sources, &downloads::Options::default());
    inv.classify_generic(ctx, &found);
    let judged = judge_downloads(found, &inv.targets, &inv.kept, &ctx.know);
    inv.set_downloads(judged);
    Ok(inv)
}

/// The downloads found in a cell, judged: those that `replaced` (the targets the rewrite
/// deletes or turns into system toolchains) do not account for are left.
#[derive(Debug, Clone)]
pub struct JudgedDownloads {
    pub downloads: Vec<Download>,
    pub left: Vec<DownloadLeft>,
    /// One per file not evaluated, then one per download left.
    pub warnings: Vec<String>,
}

pub fn judge_downloads(
    found: downloads::Evaluated,
    replaced: &[Target],
    kept: &[Kept],
    know: &crate::know::Knowledge,
) -> JudgedDownloads {
    let (mut left, libraries) = left::downloads_left(replaced, &found, know);
    kept::explain(&mut left, kept);
    let mut warnings: Vec<String> = found
        .failed
        .iter()
        .map(|(file, e)| not_evaluated(file, e))
        .collect();
    warnings.extend(left.iter().map(left::warning));
    warnings.extend(left::libraries_warning(&libraries));
    JudgedDownloads {
        downloads: found.downloads,
        left,
        warnings,
    }
}

impl Inventory {
    /// Reclassify the targets by what their rules do ([`generic`]), then give back the
    /// downloads that something left alone still uses ([`kept`]); whether any target changed.
    pub fn classify_generic(&mut self, ctx: &Context, found: &downloads::Evaluated) -> bool {
        let changed = generic::classify(ctx, &mut self.targets, found, &mut self.required_tools);
        self.kept
            .extend(kept::keep_what_is_still_used(ctx, &mut self.targets));
        changed
    }

    /// Add the downloads (their warnings after the others).
    pub fn set_downloads(&mut self, judged: JudgedDownloads) {
        self.downloads = judged.downloads;
        self.downloads_left = judged.left;
        self.warnings.extend(judged.warnings);
    }
}

/// What is there but the downloads (`downloads`, `downloads_left` empty): `generate` finds
/// those in what it writes ([`set_downloads`](Inventory::set_downloads)).
pub fn take_before_downloads(ctx: &Context) -> Result<Inventory, UserError> {
    let mut targets = Vec::new();
    let mut distributions: Vec<Distribution> = Vec::new();
    let mut required_tools: Vec<RequiredTool> = Vec::new();
    for buck in ctx.sources.build_modules() {
        let file_targets = targets::classify(buck, &ctx.know);
        let calls = targets::calls(buck);
        for t in &file_targets {
            let call = &calls[t.call_index];
            if t.status == Status::Distribution && ctx.know.distributions.contains_key(call.rule) {
                let mut d =
                    distributions::describe(&ctx.sources, &ctx.know, buck, call, t.line, &calls)?;
                d.file = buck.path.clone();
                distributions.push(d);
            } else if let Some((family, rule)) = ctx
                .know
                .toolchains
                .get(call.rule)
                .filter(|_| t.status == Status::Hermetic)
            {
                distributions.extend(distributions::describe_macro(
                    &ctx.sources,
                    buck,
                    family,
                    rule,
                    call,
                    t.line,
                )?);
            }
        }
        let named = tools::named_in_text_attrs(&ctx.sources, buck, &ctx.know);
        for tool in tools::required(buck, &file_targets, &ctx.know)
            .into_iter()
            .chain(named)
        {
            if !required_tools.contains(&tool) {
                required_tools.push(tool);
            }
        }
        targets.extend(file_targets);
    }
    targets::link(&mut targets, &ctx.repo);
    let kept = kept::keep_what_is_still_used(ctx, &mut targets);
    let family_pins = pins::from_distributions_of(&targets, &distributions);
    let mut tool_pins = Vec::new();
    for buck in ctx.sources.build_modules() {
        let file_targets: Vec<Target> = targets
            .iter()
            .filter(|t| t.file == buck.path)
            .cloned()
            .collect();
        let path_tools =
            tools::path_tools(&ctx.sources, buck, &file_targets, &distributions, &ctx.know);
        tool_pins.extend(tools::add_path_tools(
            &mut required_tools,
            path_tools,
            &family_pins,
            &buck.path,
        ));
    }
    let mut current = family_pins;
    current.extend(tool_pins);
    let pins = pins::merge(current, pins::recorded(&ctx.repo.root)?);
    let mut warnings = ctx.repo.warnings.clone();
    warnings.extend(
        ctx.sources
            .build_modules()
            .flat_map(|m| made_in_unread_cells(ctx, m)),
    );
    let (remote_references, unread) = remote_references(ctx);
    warnings.extend(unread);
    Ok(Inventory {
        schema_version: 1,
        root: ctx.repo.root.clone(),
        toolchains_file: ctx.sources.buck.clone(),
        toolchains_files: ctx.sources.builds.clone(),
        remote_references,
        targets,
        distributions,
        required_tools,
        pins,
        downloads: Vec::new(),
        downloads_left: Vec::new(),
        kept,
        warnings,
        external_cells: external_cells(&ctx.repo),
        files_scanned: None,
        parse_failures: None,
    })
}

/// References in every module read, plus the toolchains cell's other .bzl files; files that
/// do not parse are named in warnings (nothing needs them, so they are no error).
fn remote_references(ctx: &Context) -> (Vec<RemoteReference>, Vec<String>) {
    let mut seen: BTreeSet<&Path> = BTreeSet::new();
    let mut out = Vec::new();
    let mut unread = Vec::new();
    for module in ctx.sources.modules.values() {
        seen.insert(&module.path);
        out.extend(references::in_module(module));
    }
    for (path, e) in &ctx.sources.unreadable {
        seen.insert(path);
        unread.push(not_needed(e));
    }
    for path in cell_starlark_files(&ctx.repo) {
        if !seen.contains(path.as_path()) {
            match Module::read(&ctx.repo.root, &path) {
                Ok(module) => out.extend(references::in_module(&module)),
                Err(e) => unread.push(not_needed(&e)),
            }
        }
    }
    out.sort();
    (out, unread)
}

/// Targets a build file makes by calling into an external cell other than the bundled
/// prelude that is not on disk (JonasKruckenberg/buck2_buildbuddy's
/// `rust_toolchain.stable.latest.default(…)` from its git cell `buck2tf`): what such a rule does
/// cannot be read, so whether it downloads is said to be unknown, never passed over.
fn made_in_unread_cells(ctx: &Context, module: &Module) -> Vec<String> {
    let mut out = Vec::new();
    for stmt in &module.stmts {
        let crate::read::Stmt::Expr(node) = stmt else {
            continue;
        };
        let crate::read::Expr::Call { func, args } = &node.expr else {
            continue;
        };
        let Some(root) = root_name(func) else {
            continue;
        };
        let Some((label, _)) = module.loaded_symbol(root) else {
            continue;
        };
        let Some(crate::repo::Label::Cell { cell, .. }) = crate::repo::Label::parse(label) else {
            continue;
        };
        let name = ctx.repo.cell_name(&cell);
        let bundled = ctx
            .repo
            .external
            .get(name)
            .is_some_and(|e| matches!(e.origin, crate::repo::external::Origin::Bundled));
        if !ctx.repo.is_external_unavailable(label) || bundled {
            continue;
        }
        let target = args
            .iter()
            .find(|a| a.name.as_deref() == Some("name"))
            .and_then(|a| a.value.as_str())
            .unwrap_or("?");
        out.push(format!(
            "{}:{}: `{target}` is made by `{}` from the external cell `{name}`, which is not on disk (si-nixify never fetches): whether it downloads is unknown; let buck2 fetch the cell once (any `buck2 build`), then run si-nixify again",
            module.path.display(),
            module.line(node.span.start),
            &module.text[func.span.start..func.span.end]
        ));
    }
    out
}

/// `f` of `f(…)`, `f.a.b(…)`.
fn root_name(func: &crate::read::Node) -> Option<&str> {
    match &func.expr {
        crate::read::Expr::Ident(n) => Some(n),
        crate::read::Expr::Dot(inner, _) => root_name(inner),
        _ => None,
    }
}

fn not_evaluated(file: &Path, e: &UserError) -> String {
    format!(
        "{} was not evaluated ({e}); downloads made there by macros or loops may be missing, the targets written out in it were read by name",
        file.display()
    )
}

fn not_needed(e: &UserError) -> String {
    let at = e.at.as_ref().map(|a| format!("{a}: ")).unwrap_or_default();
    format!(
        "{at}{}; the file was not read (nothing the toolchains need is in it)",
        e.message
    )
}

/// `.bzl` files of the toolchains cell, in every package (not loaded by a build file, still
/// shipped).
fn cell_starlark_files(repo: &Repo) -> Vec<PathBuf> {
    repo.toolchains_starlark_files()
}

//! Downloads found by what they do, not by their names (issue 11, points 4 and 5).
//!
//! A download is a target whose rule is a native `http_archive`, `http_file` or
//! `remote_file`, or a rule whose implementation calls `ctx.actions.download_file`
//! (directly, through helpers, through an anon target: [`behaviour`]). Targets are found by
//! evaluating the build files, so those made by macros (`rust_toolchains()`), by loops over
//! release tables and by comprehensions are found as surely as those written out:
//!
//! - [`downloads`] evaluates with the `starlark` crate (Buck2's own interpreter) and recording
//!   stand-ins for Buck2's globals ([`engine`], [`standins`]);
//! - [`buck2::downloads`] asks a real `buck2` instead (`buck2 uquery … --output-all-attributes`
//!   and `buck2 targets --stack`), when the caller has one.
//!
//! Either way the answer is an [`Evaluated`]: every target with its evaluated attrs, and every
//! [`Download`] with its URLs, sha256, the file:line a person edits, and the targets that use
//! it. A rule that downloads at build time from data it reads then (a dynamic action) is a
//! [`Download`] too, with `dynamic` set and a warning: never passed over in silence.
//!
//! ```no_run
//! # use si_nixify::{downloads, repo::Repo};
//! let repo = Repo::discover(std::path::Path::new(".")).unwrap();
//! let buck = repo.toolchains_file().unwrap();
//! let found = downloads::downloads(&repo, &[buck], &downloads::Options::default());
//! for d in &found.downloads {
//!     println!("{}: {} {:?} {:?}", d.edit_at, d.label, d.urls, d.sha256);
//! }
//! ```

pub mod behaviour;
pub mod buck2;
#[cfg(feature = "eval")]
pub mod engine;
pub mod graph;
#[cfg(feature = "eval")]
pub mod standins;
pub mod written;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::UserError;
use crate::read::Sources;
use crate::repo::Repo;

/// A target recorded while a build file was evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluatedTarget {
    /// `cell//package:name`.
    pub label: String,
    /// Root-relative directory of the build file.
    pub package: PathBuf,
    pub name: String,
    /// The rule's kind: the exported name of a `rule()`, or the native rule's name.
    pub rule: String,
    /// Every attr as the evaluation left it (a `select()` is `{"select": {…}}`, a value
    /// Buck2 would provide is a string `<…>`).
    pub attrs: BTreeMap<String, serde_json::Value>,
    /// The statement of the build file that led to this target: what a person edits.
    pub call: Site,
    /// The rule call itself (inside a macro when one made the target).
    pub rule_call: Site,
    /// Every Starlark frame from the build file down to the rule call.
    pub stack: Vec<Site>,
    /// Where `NAME = rule(…)` is, for a rule the repo defines; `None` for native rules.
    pub rule_defined_at: Option<Site>,
    /// Labels the rule's schema gives attrs the call left out (`elm = attrs.exec_dep(default =
    /// "prelude-nri//elm:elm_compiler_binary")` in NoRedInk/noredink-ui): edges of the graph
    /// too, so a download reached only through a default is found, not hidden.
    pub defaults: BTreeMap<String, serde_json::Value>,
}

/// The build file being evaluated: what `package_name()` answers and where targets go.
#[derive(Debug, Clone)]
pub struct Package {
    pub cell: String,
    /// Path of the package inside its cell (`""` for the cell root).
    pub path_in_cell: String,
    /// Root-relative directory.
    pub dir: PathBuf,
    pub build_file: PathBuf,
}

impl Package {
    /// The package of a root-relative build file.
    pub fn of(repo: &Repo, build_file: &Path) -> Package {
        let dir = build_file.parent().unwrap_or(Path::new("")).to_path_buf();
        let (cell, cell_dir) = repo
            .cell_of(&dir)
            .map(|(c, d)| (c.to_owned(), d.to_path_buf()))
            .unwrap_or_else(|| ("root".to_owned(), PathBuf::new()));
        let path_in_cell = dir
            .strip_prefix(&cell_dir)
            .unwrap_or(&dir)
            .to_string_lossy()
            .into_owned();
        Package {
            cell,
            path_in_cell,
            dir,
            build_file: build_file.to_path_buf(),
        }
    }

    /// `cell//path:name`.
    pub fn label(&self, name: &str) -> String {
        format!("{}//{}:{}", self.cell, self.path_in_cell, name)
    }
}

/// What reading (or evaluating) a set of build files recorded, before downloads are told
/// apart.
pub struct Evaluation<'s> {
    pub targets: Vec<EvaluatedTarget>,
    /// Every file read (build files and what they load), parsed, with the load graph: what
    /// [`behaviour`] reads (the caller's own when nothing new was read).
    pub sources: std::borrow::Cow<'s, Sources>,
    /// Files whose text the IR could not hold (the IR parser's dialect lacks a feature the
    /// file uses); their rules' behaviour is unknown.
    pub unparsed: Vec<(PathBuf, String)>,
    /// Build files whose evaluation stopped, with why: the targets they made before the
    /// error are in `targets`, the rest are unknown.
    pub failed: Vec<(PathBuf, UserError)>,
}

/// A root-relative file and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Site {
    pub file: PathBuf,
    pub line: usize,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// The machine `host_info()` describes while build files are evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// Buck2's names: `linux`, `macos`, `windows`, `freebsd`.
    pub os: String,
    /// Buck2's names: `x86_64`, `aarch64`, …
    pub arch: String,
}

impl Default for Host {
    fn default() -> Host {
        Host {
            os: "linux".to_owned(),
            arch: "x86_64".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub host: Host,
}

/// Everything the evaluation found.
#[derive(Debug, Clone)]
pub struct Evaluated {
    pub targets: Vec<EvaluatedTarget>,
    pub downloads: Vec<Download>,
    /// Things the user should know: dynamic downloads, files whose rules could not be read.
    pub warnings: Vec<String>,
    /// Build files whose evaluation stopped, with the located error: their downloads past
    /// that point are unknown.
    pub failed: Vec<(PathBuf, UserError)>,
}

/// How a download is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Via {
    /// Buck2's native `http_archive`, `http_file` or `remote_file`.
    Native,
    /// A rule of the repo whose implementation calls `download_file` there.
    Rule { download_file: Site },
    /// A download made at build time inside a dynamic action, from data read then: URLs and
    /// sha256 are not known before the build.
    Dynamic {
        registered_at: Site,
        download_file: Site,
        /// Files the callback reads (the `dynamic = […]` attrs' values), root-relative.
        data: Vec<PathBuf>,
    },
}

/// One download.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Download {
    pub label: String,
    pub rule: String,
    pub via: Via,
    /// Empty when the URL is built inside the rule's implementation or at build time.
    pub urls: Vec<String>,
    pub sha256: Option<String>,
    pub strip_prefix: Option<String>,
    pub version: Option<String>,
    /// The build file statement a person edits (the macro call, for a macro's downloads).
    pub edit_at: Site,
    /// The rule call itself.
    pub rule_call: Site,
    /// Labels of the targets whose attrs name this one (a downloading toolchain rule names
    /// itself).
    pub used_by: Vec<String>,
    /// The toolchains cell's targets that reach it, directly or through other targets'
    /// attrs: the toolchains that would download it.
    pub toolchains: Vec<String>,
}

impl Download {
    pub fn dynamic(&self) -> bool {
        matches!(self.via, Via::Dynamic { .. })
    }
}

/// Without the interpreter (built without the `eval` feature): a cell whose targets are all
/// written out is read as written ([`written`]); otherwise every build file is named as not
/// evaluated, so that their targets are judged by rule name.
#[cfg(not(feature = "eval"))]
pub fn of_sources(repo: &Repo, sources: &Sources, _options: &Options) -> Evaluated {
    if let Some(found) = written::evaluation(repo, sources) {
        return found_in(found);
    }
    let why = UserError::new(
        "this si-nixify was built without the `eval` feature (cargo install --features eval)",
    );
    Evaluated {
        targets: Vec::new(),
        downloads: Vec::new(),
        warnings: Vec::new(),
        failed: sources
            .builds
            .iter()
            .map(|f| (f.clone(), why.clone()))
            .collect(),
    }
}

/// The downloads of a cell whose every target is written out, without the interpreter;
/// `None` when some statement needs evaluating ([`written`]).
pub fn as_written(repo: &Repo, sources: &Sources) -> Option<Evaluated> {
    read_as_written(repo, sources).map(found_in)
}

/// The cell read from its syntax tree, when that is all evaluating it would find: no macro,
/// loop or computed value, and no rule default naming a target elsewhere (a toolchain rule's
/// `elm` defaulting to `prelude-nri//elm:elm_compiler_binary`), which evaluation follows.
fn read_as_written<'s>(repo: &Repo, sources: &'s Sources) -> Option<Evaluation<'s>> {
    written::evaluation(repo, sources).filter(|w| {
        !w.targets
            .iter()
            .any(|t| !label_defaults(&sources.modules, t).is_empty())
    })
}

/// Buck2's native rules that download.
pub const NATIVE_DOWNLOAD_RULES: [&str; 3] = ["http_archive", "http_file", "remote_file"];

/// Evaluate `build_files` (root-relative) and report their targets and downloads.
///
/// A build file that does not evaluate is in [`Evaluated::failed`] with a [`UserError`] at
/// the file:line the interpreter names (a syntax error, a load that does not resolve, a call
/// that fails as it would in Buck2); the other files' downloads are still found.
#[cfg(feature = "eval")]
pub fn downloads(repo: &Repo, build_files: &[PathBuf], options: &Options) -> Evaluated {
    found_in(engine::evaluate(repo, None, build_files, &options.host))
}

/// [`downloads`] of the cell `sources` were read from, from the texts read: the build files
/// the rest of the run works on.
///
/// A cell whose every target is written out (no macro, loop or computed value) is read as
/// written instead ([`written`]): evaluating it would record the same targets, and starting
/// the interpreter costs more than the rest of a `generate` on SI.
#[cfg(feature = "eval")]
pub fn of_sources(repo: &Repo, sources: &Sources, options: &Options) -> Evaluated {
    match read_as_written(repo, sources) {
        Some(found) => found_in(found),
        None => by_evaluation(repo, sources, options),
    }
}

/// [`of_sources`] by the interpreter, whatever the files hold (tests compare the two ways).
#[cfg(feature = "eval")]
pub fn by_evaluation(repo: &Repo, sources: &Sources, options: &Options) -> Evaluated {
    let (small, large): (Vec<PathBuf>, Vec<PathBuf>) =
        sources.builds.iter().cloned().partition(|f| {
            sources
                .modules
                .get(f)
                .is_none_or(|m| m.text.len() <= MAX_EVALUATED_BYTES)
        });
    let mut found = found_in(engine::evaluate(repo, Some(sources), &small, &options.host));
    found.failed.extend(large.into_iter().map(|f| {
        let why = UserError::new(format!(
            "larger than {} MB: not evaluated, its targets are read as written",
            MAX_EVALUATED_BYTES >> 20
        ));
        (f, why)
    }));
    found
}

/// Build files above this size are read, not evaluated: a toolchains BUCK file is kilobytes,
/// one of megabytes is generated, and its evaluation would cost memory and seconds per MB.
#[cfg(feature = "eval")]
const MAX_EVALUATED_BYTES: usize = 4 << 20;

fn found_in(eval: Evaluation<'_>) -> Evaluated {
    let cell = &eval.sources.builds;
    let mut behaviours: std::collections::BTreeMap<Site, Option<behaviour::Behaviour>> =
        Default::default();
    let mut warnings: Vec<String> = eval
        .unparsed
        .iter()
        .map(|(file, why)| {
            format!(
                "{}: rules defined here were not read for downloads: {why}",
                file.display()
            )
        })
        .collect();
    let mut downloads = Vec::new();
    let graph = graph::Graph::of(&eval.targets);
    for (i, t) in eval.targets.iter().enumerate() {
        let via = match &t.rule_defined_at {
            None if NATIVE_DOWNLOAD_RULES.contains(&t.rule.as_str()) => Some(Via::Native),
            None => None,
            Some(at) => {
                // Read once per rule, not per target: a BUCK file may call one rule 10⁵ times.
                let b = behaviours
                    .entry(at.clone())
                    .or_insert_with(|| behaviour::of_rule_at(&eval.sources, &at.file, at.line));
                b.as_ref().and_then(|b| via_of(b, t))
            }
        };
        if let Some(via) = via {
            let mut d = download(t, via, &eval.targets, &graph, i);
            d.toolchains = graph::in_cell(&eval.targets, &graph.reaching(i), cell);
            downloads.push(d);
        }
    }
    for d in downloads.iter().filter(|d| d.dynamic()) {
        warnings.push(format!(
            "{}: `{}` downloads at build time from data it reads then (a dynamic action); its URLs and sha256 are not known before the build",
            d.edit_at, d.label
        ));
    }
    Evaluated {
        targets: eval.targets,
        downloads,
        warnings,
        failed: eval.failed,
    }
}

fn via_of(b: &behaviour::Behaviour, t: &EvaluatedTarget) -> Option<Via> {
    if let Some(at) = &b.download {
        return Some(Via::Rule {
            download_file: at.clone(),
        });
    }
    let d = b.dynamic.as_ref()?;
    let data = d
        .data_attrs
        .iter()
        .filter_map(|a| t.attrs.get(a))
        .flat_map(strings)
        .filter(|s| !s.contains(':'))
        .map(|s| t.package.join(s))
        .collect();
    Some(Via::Dynamic {
        registered_at: d.registered_at.clone(),
        download_file: d.download.clone(),
        data,
    })
}

/// Download `t` (target `i` of `all`, whose attrs `graph` holds).
fn download(
    t: &EvaluatedTarget,
    via: Via,
    all: &[EvaluatedTarget],
    graph: &graph::Graph,
    i: usize,
) -> Download {
    let text = |k: &str| t.attrs.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    // Every branch of a `select()` of URLs counts (zsol/buck-py-demo selects a CPython build
    // per OS and CPU).
    let urls = match (t.attrs.get("urls"), t.attrs.get("url")) {
        (Some(list @ serde_json::Value::Array(_)), _) => strings(list),
        (_, Some(url)) => strings(url),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|u| u.contains("://"))
    .map(str::to_owned)
    .collect();
    let mut used_by: Vec<String> = graph
        .users(i)
        .iter()
        .map(|&u| all[u].label.clone())
        .filter(|l| *l != t.label)
        .collect();
    if matches!(via, Via::Rule { .. } | Via::Dynamic { .. }) && used_by.is_empty() {
        // A downloading rule nothing refers to is used as itself (a toolchain that fetches
        // its own distribution).
        used_by.push(t.label.clone());
    }
    Download {
        label: t.label.clone(),
        rule: t.rule.clone(),
        via,
        urls,
        sha256: text("sha256"),
        strip_prefix: text("strip_prefix"),
        version: text("version"),
        edit_at: t.call.clone(),
        rule_call: t.rule_call.clone(),
        used_by,
        toolchains: Vec::new(),
    }
}

/// The labels `t`'s attrs name (`cell//pkg:x`, `//pkg:x`, `//pkg:x[sub]`, inside
/// `$(location …)` too), as (cell, package, name); an empty cell is `t`'s own.
fn labels_named(t: &EvaluatedTarget) -> impl Iterator<Item = (&str, &str, &str)> {
    let own_cell = t.label.split_once("//").map_or("", |(c, _)| c);
    t.attrs
        .values()
        .chain(t.defaults.values())
        .flat_map(strings)
        .filter_map(move |s| {
            let s = macro_argument(s).unwrap_or(s);
            let s = s.split('[').next().unwrap_or(s);
            let (cell, rest) = s.split_once("//")?;
            let (package, name) = rest.split_once(':')?;
            let cell = if cell.is_empty() { own_cell } else { cell };
            let name = name.split(['/', ')', ' ']).next().unwrap_or(name);
            Some((cell, package, name))
        })
}

/// Build files of the packages `t`'s attrs name in other packages, that exist and are not
/// provided by Buck2 itself.
pub(crate) fn named_packages(repo: &Repo, t: &EvaluatedTarget) -> Vec<PathBuf> {
    let own_cell = t.label.split_once("//").map_or("", |(c, _)| c);
    labels_named(t)
        .filter_map(|(cell, package, _)| {
            if repo.is_external_unavailable(&format!("@{cell}//{package}:x")) {
                return None;
            }
            let dir = repo.cell_dir_from(own_cell, cell)?.join(package);
            let names = repo.buildfile_names_of(repo.cell_name(cell));
            names
                .iter()
                .map(|n| dir.join(n))
                .find(|f| repo.root.join(f).is_file())
        })
        .filter(|f| f.parent() != Some(t.package.as_path()))
        .collect()
}

/// The targets `t`'s attrs name in other packages, as (root-relative package dir, name).
#[cfg(feature = "eval")]
pub(crate) fn named_targets(repo: &Repo, t: &EvaluatedTarget) -> Vec<(PathBuf, String)> {
    let own_cell = t.label.split_once("//").map_or("", |(c, _)| c);
    labels_named(t)
        .filter_map(|(cell, package, name)| {
            let dir = repo.cell_dir_from(own_cell, cell)?.join(package);
            Some((dir, name.to_owned()))
        })
        .collect()
}

/// The labels `t`'s rule schema gives as defaults to the attrs its call left out
/// ([`EvaluatedTarget::defaults`]), read from the rule's file in `modules`.
pub(crate) fn label_defaults(
    modules: &BTreeMap<PathBuf, std::sync::Arc<crate::read::Module>>,
    t: &EvaluatedTarget,
) -> BTreeMap<String, serde_json::Value> {
    let Some(site) = t.rule_defined_at.as_ref() else {
        return BTreeMap::new();
    };
    let Some(schema) = modules.get(&site.file).and_then(|m| {
        crate::read::schema::all_rule_schemas(m)
            .into_iter()
            .find(|s| s.line == site.line)
    }) else {
        return BTreeMap::new();
    };
    schema
        .attrs
        .iter()
        .filter(|(attr, _)| !t.attrs.contains_key(*attr))
        .filter_map(|(attr, a)| {
            let label = a.default_str.as_deref().filter(|d| d.contains("//"))?;
            Some((attr.clone(), serde_json::Value::String(label.to_owned())))
        })
        .collect()
}

/// Every string inside a JSON value.
pub(crate) fn strings(v: &serde_json::Value) -> Vec<&str> {
    match v {
        serde_json::Value::String(s) => vec![s.as_str()],
        serde_json::Value::Array(items) => items.iter().flat_map(strings).collect(),
        serde_json::Value::Object(map) => map.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// The target inside `$(location X)`, `$(exe X)` and the like.
pub(crate) fn macro_argument(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("$(")?;
    let inner = &inner[..inner.find(')')?];
    inner.split_whitespace().nth(1)
}

/// Paths of the build files of a toolchains cell: the cell's build file and those of its
/// sub-packages (directories holding a build file), in path order.
pub fn cell_build_files(repo: &Repo, dir: &Path) -> Vec<PathBuf> {
    let names = repo.buildfile_names();
    let mut out = Vec::new();
    let walker = ignore::WalkBuilder::new(repo.root.join(dir))
        .hidden(false)
        .git_ignore(false)
        .sort_by_file_path(|a, b| a.cmp(b))
        .build();
    for entry in walker.flatten() {
        if !entry.file_type().is_some_and(|t| t.is_dir()) {
            continue;
        }
        if let Some(file) = names
            .iter()
            .map(|n| entry.path().join(n))
            .find(|p| p.is_file())
        {
            out.push(repo.rel(&file).to_path_buf());
        }
    }
    out
}

//! Evaluate build files with the `starlark` crate, the interpreter Buck2 is built on, with
//! the recording stand-ins of [`super::standins`] for Buck2's globals.
//!
//! `load()` labels resolve through [`crate::repo::resolve_load`] as everywhere else; every
//! loaded file is evaluated once and frozen, like Buck2 does. A load from a cell Buck2
//! provides itself and that is not on disk (`prelude = bundled`) gives stand-ins for the
//! symbols asked for.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use starlark::environment::{FrozenModule, Globals, Module};
use starlark::eval::{Evaluator, FileLoader};
use starlark::syntax::{AstModule, Dialect, DialectTypes};
use starlark_syntax::syntax::ast::{AstStmt, ExprP};
use starlark_syntax::syntax::uniplate::Visit;

use super::standins::{self, NativeFn, Opaque, Recorder};
use super::{named_packages, named_targets, Evaluation, Host, Package};
use crate::error::{Location, UserError};
use crate::read::ir;
use crate::read::Sources;
use crate::repo::{resolve_load, Repo};

/// Evaluate `build_files` (root-relative) in order.
///
/// A file `read` already holds is evaluated from that text (what the rest of the run sees,
/// also when it is not what is on disk); any other file is read from disk.
pub fn evaluate(
    repo: &Repo,
    read: Option<&Sources>,
    build_files: &[PathBuf],
    host: &Host,
) -> Evaluation<'static> {
    let globals = standins::globals();
    let engine = Engine {
        repo,
        read,
        global_names: globals.names().map(|n| n.as_str().to_owned()).collect(),
        recorder: Recorder {
            targets: RefCell::default(),
            rules: RefCell::default(),
            package: RefCell::default(),
            config: repo.config.clone(),
            host: host.clone(),
            globals: globals.clone(),
        },
        globals,
        frozen: RefCell::default(),
        loading: RefCell::default(),
        parsed: RefCell::default(),
        unparsed: RefCell::default(),
        load_targets: RefCell::default(),
        error: RefCell::default(),
    };
    // One file that does not evaluate (a stand-in this evaluation lacks, a `fail()` taken on
    // this host) leaves the others' targets known.
    let mut failed = Vec::new();
    for file in build_files {
        if let Err(e) = engine.eval_build_file(file) {
            failed.push((file.clone(), e));
        }
    }
    // The toolchains' tools may come from targets elsewhere (dtolnay/buck2-rustc-bootstrap's
    // `rust_toolchain` takes `rust//stage0:rustc`, whose package downloads): the packages
    // their attrs name are evaluated too, and theirs in turn, as far as the graph goes.
    // Only the targets named are followed on, not every target of a file reached: a package
    // of the repo's own (SI's `bin/…`) would otherwise pull in the repo, down to a 700-crate
    // third-party BUCK.
    engine.fill_defaults();
    let mut evaluated: BTreeSet<PathBuf> = build_files.iter().cloned().collect();
    let mut wanted: Vec<usize> = (0..engine.recorder.targets.borrow().len()).collect();
    let mut followed: BTreeSet<usize> = BTreeSet::new();
    let mut named: BTreeSet<(PathBuf, String)> = BTreeSet::new();
    while !wanted.is_empty() && evaluated.len() < MAX_FOLLOWED_FILES {
        let next: BTreeSet<PathBuf> = {
            let targets = engine.recorder.targets.borrow();
            for &i in &wanted {
                named.extend(named_targets(repo, &targets[i]));
            }
            wanted
                .iter()
                .flat_map(|&i| named_packages(repo, &targets[i]))
                .filter(|f| !evaluated.contains(f))
                .collect()
        };
        followed.extend(wanted.iter().copied());
        for file in next {
            evaluated.insert(file.clone());
            if let Err(e) = engine.eval_build_file(&file) {
                failed.push((file, e));
            }
        }
        engine.fill_defaults();
        let targets = engine.recorder.targets.borrow();
        wanted = (0..targets.len())
            .filter(|i| !followed.contains(i))
            .filter(|&i| named.contains(&(targets[i].package.clone(), targets[i].name.clone())))
            .collect();
    }
    let Engine {
        recorder,
        parsed,
        load_targets,
        unparsed,
        ..
    } = engine;
    let parsed = parsed.into_inner();
    let mut targets = recorder.targets.into_inner();
    for t in &mut targets {
        snap_to_statement(&parsed, &mut t.call);
        snap_to_statement(&parsed, &mut t.rule_call);
    }
    Evaluation {
        targets,
        sources: std::borrow::Cow::Owned(Sources {
            buck: build_files.first().cloned().unwrap_or_default(),
            builds: build_files.to_vec(),
            modules: parsed,
            load_targets: load_targets.into_inner(),
            unreadable: Default::default(),
        }),
        unparsed: unparsed.into_inner(),
        failed,
    }
}

/// A site in a build file, moved to the first line of the top-level statement holding it:
/// the interpreter places a call over several lines at a line inside it (an argument's
/// `select()` in zsol/buck-py-demo), and a person edits the statement. A site inside a
/// `def` (a macro's rule call) stays where it is.
fn snap_to_statement(
    parsed: &std::collections::BTreeMap<PathBuf, std::sync::Arc<crate::read::Module>>,
    site: &mut super::Site,
) {
    let Some(module) = parsed.get(&site.file) else {
        return;
    };
    // Only a call statement: a comprehension's targets keep the line of the call in it.
    let start = module.stmts.iter().find_map(|s| {
        let crate::read::Stmt::Expr(node) = s else {
            return None;
        };
        if !matches!(node.expr, crate::read::Expr::Call { .. }) {
            return None;
        }
        let span = node.span;
        let (first, last) = (module.line(span.start), module.line(span.end));
        (first..=last).contains(&site.line).then_some(first)
    });
    if let Some(first) = start {
        site.line = first;
    }
}

/// How many build files the dependency walk evaluates at most: a toolchain's tools are a
/// few packages away, not the whole repo.
const MAX_FOLLOWED_FILES: usize = 400;

/// Buck2's dialect: types are written but not checked (annotations name Buck2 types this
/// evaluation does not define), f-strings allowed.
fn dialect() -> Dialect {
    Dialect {
        enable_types: DialectTypes::ParseOnly,
        enable_f_strings: true,
        ..Dialect::Extended
    }
}

struct Engine<'r> {
    repo: &'r Repo,
    read: Option<&'r Sources>,
    globals: Globals,
    global_names: BTreeSet<String>,
    recorder: Recorder,
    frozen: RefCell<BTreeMap<PathBuf, FrozenModule>>,
    /// Files being evaluated, outermost first: a load of one of them is a cycle.
    loading: RefCell<Vec<PathBuf>>,
    parsed: RefCell<BTreeMap<PathBuf, std::sync::Arc<ir::Module>>>,
    unparsed: RefCell<Vec<(PathBuf, String)>>,
    load_targets: RefCell<BTreeMap<(PathBuf, String), PathBuf>>,
    /// The first error with a location raised inside a load; the interpreter only carries
    /// text across its `FileLoader` boundary, so the original is kept here.
    error: RefCell<Option<UserError>>,
}

/// Resolves the loads of one file.
struct Loader<'e, 'r> {
    engine: &'e Engine<'r>,
    from: PathBuf,
}

impl FileLoader for Loader<'_, '_> {
    fn load(&self, label: &str) -> starlark::Result<FrozenModule> {
        self.engine.load(&self.from, label).map_err(|e| {
            let text = e.to_string();
            self.engine.error.borrow_mut().get_or_insert(e);
            anyhow::anyhow!(text).into()
        })
    }
}

/// How a file's free names are filled before it runs.
#[derive(Clone, Copy, PartialEq)]
enum FileKind {
    /// A free name in a build file is a native rule (`http_archive(…)`).
    Build,
    /// A free name in a .bzl file is a Buck2 global (`DefaultInfo`, `cmd_args`).
    Bzl,
}

impl Engine<'_> {
    fn eval_build_file(&self, file: &Path) -> Result<(), UserError> {
        *self.recorder.package.borrow_mut() = Some(Package::of(self.repo, file));
        let result = self.eval_file(file, FileKind::Build).map(drop);
        *self.recorder.package.borrow_mut() = None;
        result
    }

    fn load(&self, from: &Path, label: &str) -> Result<FrozenModule, UserError> {
        let at = self.load_location(from, label);
        // `load("@prelude//:prelude.bzl", "native")` asks the prelude for Buck2's own `native`:
        // given the global, not the whole prelude evaluated (which these stand-ins may not
        // carry through), whether or not the prelude is on disk.
        if self.repo.is_external_unavailable(label)
            || self.asks_only_globals(from, label)
            || is_prelude_rules(label)
        {
            return self.unavailable_module(from, label);
        }
        let target = resolve_load(self.repo, label, from, &at)?;
        self.load_targets
            .borrow_mut()
            .insert((from.to_path_buf(), label.to_owned()), target.clone());
        if let Some(m) = self.frozen.borrow().get(&target) {
            return Ok(m.clone());
        }
        if self.loading.borrow().contains(&target) {
            return Err(UserError::new(format!(
                "`{label}` is loaded while it is itself being loaded (a load cycle)"
            ))
            .at(at)
            .hint("Buck2 rejects load cycles too; break the cycle"));
        }
        let module = if target.extension().is_some_and(|x| x == "json") {
            self.json_module(&target)?
        } else {
            self.eval_file(&target, FileKind::Bzl)?
        };
        self.frozen.borrow_mut().insert(target, module.clone());
        Ok(module)
    }

    /// Whether every symbol `from` loads from `label` is one of the globals (`native`).
    fn asks_only_globals(&self, from: &Path, label: &str) -> bool {
        let symbols = self.symbols_asked(from, label);
        !symbols.is_empty() && symbols.iter().all(|s| self.global_names.contains(s))
    }

    /// The names (as the loaded file spells them) that `from` loads from `label`.
    fn symbols_asked(&self, from: &Path, label: &str) -> Vec<String> {
        self.parsed
            .borrow()
            .get(from)
            .map(|m| {
                m.loads()
                    .filter(|l| l.module == label)
                    .flat_map(|l| l.symbols.iter().map(|s| s.their.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Where `load(label, …)` is written in `from`, for errors.
    fn load_location(&self, from: &Path, label: &str) -> Location {
        let parsed = self.parsed.borrow();
        parsed
            .get(from)
            .and_then(|m| {
                m.loads()
                    .find(|l| l.module == label)
                    .map(|l| m.location(l.module_span.start))
            })
            .unwrap_or(Location {
                file: from.to_path_buf(),
                line: 1,
                col: 1,
            })
    }

    /// A file Buck2 would provide (a bundled prelude): each symbol `from` asks of it is a
    /// stand-in native function, so that calling a bundled rule records a target.
    fn unavailable_module(&self, from: &Path, label: &str) -> Result<FrozenModule, UserError> {
        let symbols = self.symbols_asked(from, label);
        Module::with_temp_heap(|module| {
            for s in &symbols {
                // `load("@prelude//:prelude.bzl", "native")` is Buck2's `native` itself.
                match self.globals.iter().find(|(name, _)| name == s) {
                    Some((_, global)) => module.set(s, global.to_value()),
                    None => module.set(s, module.heap().alloc(NativeFn(s.clone()))),
                }
            }
            module.freeze()
        })
        .map_err(|e| UserError::new(format!("cannot stand in for `{label}`: {e:?}")))
    }

    /// Buck2 loads a `.json` file as a module whose one symbol, `value`, is the document.
    fn json_module(&self, path: &Path) -> Result<FrozenModule, UserError> {
        let text = self.text_of(path)?;
        let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            UserError::new(format!("invalid JSON: {e}")).at(Location {
                file: path.to_path_buf(),
                line: e.line().max(1),
                col: e.column().max(1),
            })
        })?;
        Module::with_temp_heap(|module| {
            module.set("value", module.heap().alloc(doc));
            module.freeze()
        })
        .map_err(|e| UserError::new(format!("cannot load `{}`: {e:?}", path.display())))
    }

    /// Record, for every target of a rule the repo defines, the labels its schema gives the
    /// attrs the call left out ([`EvaluatedTarget::defaults`]).
    fn fill_defaults(&self) {
        let parsed = self.parsed.borrow();
        for t in self.recorder.targets.borrow_mut().iter_mut() {
            if t.defaults.is_empty() {
                t.defaults = super::label_defaults(&parsed, t);
            }
        }
    }

    fn text_of(&self, path: &Path) -> Result<String, UserError> {
        match self.read.and_then(|s| s.modules.get(path)) {
            Some(m) => Ok(m.text.clone()),
            None => ir::read_text(&self.repo.root, path),
        }
    }

    fn eval_file(&self, path: &Path, kind: FileKind) -> Result<FrozenModule, UserError> {
        let text = self.text_of(path)?;
        let name = path.to_string_lossy();
        // The IR (what `behaviour` reads) of the same text: the one the run already read, else
        // parsed here (earlier eras' annotations and all).
        let read = self.read.and_then(|s| s.modules.get(path)).cloned();
        let parse = || ir::Module::parse(path, text.clone()).map(std::sync::Arc::new);
        match read.map_or_else(parse, Ok) {
            Ok(m) => {
                self.parsed.borrow_mut().insert(path.to_path_buf(), m);
            }
            Err(e) => self
                .unparsed
                .borrow_mut()
                .push((path.to_path_buf(), e.to_string())),
        }
        // Annotations are blanked out before running: they name Buck2 types, and those of
        // 2023 (`ctx: "context"`, `[str]`) are no longer valid type expressions at all.
        let ast = AstModule::parse(&name, crate::read::without_annotations(&text), &dialect())
            .map_err(|e| starlark_error(path, &e))?;
        let free = free_names(ast.statement(), &self.global_names);
        self.loading.borrow_mut().push(path.to_path_buf());
        let result = Module::with_temp_heap(|module| {
            for name in &free {
                let value = match kind {
                    FileKind::Build => module.heap().alloc(NativeFn(name.clone())),
                    FileKind::Bzl => module.heap().alloc(Opaque(name.clone())),
                };
                module.set(name, value);
            }
            let loader = Loader {
                engine: self,
                from: path.to_path_buf(),
            };
            {
                let mut eval = Evaluator::new(&module);
                eval.set_loader(&loader);
                eval.extra = Some(&self.recorder);
                if let Err(e) = eval.eval_module(ast, &self.globals) {
                    return Err(self
                        .error
                        .borrow_mut()
                        .take()
                        .unwrap_or_else(|| starlark_error(path, &e)));
                }
            }
            module.freeze().map_err(|e| {
                UserError::new(format!("cannot freeze `{}`: {e:?}", path.display())).in_file(path)
            })
        });
        self.loading.borrow_mut().pop();
        result
    }
}

/// Every identifier a file mentions that is not a global: the names Buck2 would provide
/// (or the file binds itself, which then shadows the stand-in).
fn free_names(stmt: &AstStmt, globals: &BTreeSet<String>) -> BTreeSet<String> {
    fn visit(v: Visit<'_, starlark_syntax::syntax::ast::AstNoPayload>, out: &mut BTreeSet<String>) {
        match v {
            Visit::Expr(e) => {
                if let ExprP::Identifier(id) = &e.node {
                    out.insert(id.node.ident.clone());
                }
                e.visit_expr(|c| visit(Visit::Expr(c), out));
            }
            Visit::Stmt(s) => s.visit_children(|c| visit(c, out)),
        }
    }
    let mut out = BTreeSet::new();
    stmt.visit_children(|c| visit(c, &mut out));
    out.retain(|n| !globals.contains(n));
    out
}

/// A Starlark error as a [`UserError`] at the place the interpreter names.
fn starlark_error(path: &Path, e: &starlark::Error) -> UserError {
    let at = e
        .span()
        .map(|s| {
            let r = s.resolve();
            Location {
                file: PathBuf::from(r.file),
                line: r.span.begin.line + 1,
                col: r.span.begin.column + 1,
            }
        })
        .unwrap_or(Location {
            file: path.to_path_buf(),
            line: 1,
            col: 1,
        });
    UserError::new(format!("evaluating Starlark: {}", e.without_diagnostic()))
        .at(at)
        .hint("si-nixify evaluates build files as Buck2 would, with stand-ins for Buck2's own globals; fix the code there, or report what Buck2 accepts and this did not")
}

/// `@prelude//:rules.bzl`: the prelude binds its rules there with Buck2's `load_symbols`,
/// which binds nothing here, so what is loaded from it (`http_archive` in
/// andreabedini/timbuktu's `defs.bzl`) is the native stand-in, as for a bundled prelude.
fn is_prelude_rules(label: &str) -> bool {
    matches!(
        crate::repo::Label::parse(label),
        Some(crate::repo::Label::Cell { cell, package, file })
            if cell == "prelude" && package.is_empty() && file == "rules.bzl"
    )
}

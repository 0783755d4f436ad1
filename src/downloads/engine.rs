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
use starlark_syntax::codemap::Spanned;
use starlark_syntax::syntax::ast::{AstStmt, ExprP, ParameterP, StmtP};
use starlark_syntax::syntax::uniplate::Visit;

use super::standins::{self, EvaluatedTarget, NativeFn, Opaque, Package, Recorder, RuleDef};
use super::Host;
use crate::error::{Location, UserError};
use crate::read::ir;
use crate::read::Sources;
use crate::repo::{resolve_load, Repo};

/// What evaluating a set of build files recorded.
pub struct Evaluation {
    pub targets: Vec<EvaluatedTarget>,
    pub rules: Vec<RuleDef>,
    /// Every file read (build files and what they load), parsed, with the load graph: what
    /// [`super::behaviour`] reads.
    pub sources: Sources,
    /// Files whose text the IR could not hold (the IR parser's dialect lacks a feature the
    /// file uses); their rules' behaviour is unknown.
    pub unparsed: Vec<(PathBuf, String)>,
}

/// Evaluate `build_files` (root-relative) in order.
pub fn evaluate(
    repo: &Repo,
    build_files: &[PathBuf],
    host: &Host,
) -> Result<Evaluation, UserError> {
    let globals = standins::globals();
    let engine = Engine {
        repo,
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
    for file in build_files {
        engine.eval_build_file(file)?;
    }
    let Engine {
        recorder,
        parsed,
        load_targets,
        unparsed,
        ..
    } = engine;
    Ok(Evaluation {
        targets: recorder.targets.into_inner(),
        rules: recorder.rules.into_inner(),
        sources: Sources {
            buck: build_files.first().cloned().unwrap_or_default(),
            builds: build_files.to_vec(),
            modules: parsed.into_inner(),
            load_targets: load_targets.into_inner(),
            unreadable: Default::default(),
        },
        unparsed: unparsed.into_inner(),
    })
}

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
    globals: Globals,
    global_names: BTreeSet<String>,
    recorder: Recorder,
    frozen: RefCell<BTreeMap<PathBuf, FrozenModule>>,
    /// Files being evaluated, outermost first: a load of one of them is a cycle.
    loading: RefCell<Vec<PathBuf>>,
    parsed: RefCell<BTreeMap<PathBuf, ir::Module>>,
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
        let dir = file.parent().unwrap_or(Path::new("")).to_path_buf();
        let (cell, cell_dir) = self
            .repo
            .cell_of(&dir)
            .map(|(c, d)| (c.to_owned(), d.to_path_buf()))
            .unwrap_or_else(|| ("root".to_owned(), PathBuf::new()));
        let path_in_cell = dir
            .strip_prefix(&cell_dir)
            .unwrap_or(&dir)
            .to_string_lossy()
            .into_owned();
        *self.recorder.package.borrow_mut() = Some(Package {
            cell,
            path_in_cell,
            dir,
            build_file: file.to_path_buf(),
        });
        let result = self.eval_file(file, FileKind::Build).map(drop);
        *self.recorder.package.borrow_mut() = None;
        result
    }

    fn load(&self, from: &Path, label: &str) -> Result<FrozenModule, UserError> {
        let at = self.load_location(from, label);
        if self.repo.is_external_unavailable(label) {
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
        let symbols: Vec<String> = self
            .parsed
            .borrow()
            .get(from)
            .map(|m| {
                m.loads()
                    .filter(|l| l.module == label)
                    .flat_map(|l| l.symbols.iter().map(|s| s.their.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Module::with_temp_heap(|module| {
            for s in &symbols {
                module.set(s, module.heap().alloc(NativeFn(s.clone())));
            }
            module.freeze()
        })
        .map_err(|e| UserError::new(format!("cannot stand in for `{label}`: {e:?}")))
    }

    /// Buck2 loads a `.json` file as a module whose one symbol, `value`, is the document.
    fn json_module(&self, path: &Path) -> Result<FrozenModule, UserError> {
        let text = ir::read_text(&self.repo.root, path)?;
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

    fn eval_file(&self, path: &Path, kind: FileKind) -> Result<FrozenModule, UserError> {
        let text = ir::read_text(&self.repo.root, path)?;
        let name = path.to_string_lossy();
        let (text, ast) = parse_any_era(&name, text).map_err(|e| starlark_error(path, &e))?;
        // The IR (what `behaviour` reads) is parsed from the same text, lines unchanged.
        match ir::Module::parse(path, text.clone()) {
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
        let ast = AstModule::parse(
            &name,
            without_annotations(&text, ast.statement()),
            &dialect(),
        )
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

/// Parse `text`; a type annotation of 2023 (`[str]`, `"context"`) that today's parser
/// rejects is replaced by `_` and the parse retried: annotations are blanked before running
/// anyway, and nothing reads them.
fn parse_any_era(name: &str, mut text: String) -> Result<(String, AstModule), starlark::Error> {
    for _ in 0..10_000 {
        match AstModule::parse(name, text.clone(), &dialect()) {
            Ok(ast) => return Ok((text, ast)),
            Err(e) if e.to_string().contains("in type expression") => {
                let Some(span) = e.span().map(|s| s.span) else {
                    return Err(e);
                };
                let (start, mut end) = (span.begin().get() as usize, span.end().get() as usize);
                // `Provider.type` is reported at `Provider`: the `.type` goes too.
                if text.get(end..).is_some_and(|t| t.starts_with(".type")) {
                    end += ".type".len();
                }
                if end <= start || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
                    return Err(e);
                }
                let blank: String = text[start..end]
                    .chars()
                    .enumerate()
                    .map(|(i, c)| {
                        if c == '\n' {
                            c
                        } else if i == 0 {
                            '_'
                        } else {
                            ' '
                        }
                    })
                    .collect();
                text.replace_range(start..end, &blank);
            }
            Err(e) => return Err(e),
        }
    }
    AstModule::parse(name, text.clone(), &dialect()).map(|ast| (text, ast))
}

/// `text` with every type annotation (`: T` of a parameter or assignment, `-> T` of a def)
/// replaced by spaces, so that lines and columns stay where they were.
fn without_annotations(text: &str, stmt: &AstStmt) -> String {
    let mut blank: Vec<(usize, usize)> = Vec::new();
    collect_annotations(text, stmt, &mut blank);
    let mut bytes = text.as_bytes().to_vec();
    for (start, end) in blank {
        for b in bytes.get_mut(start..end).into_iter().flatten() {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    }
    // Only whole annotations were blanked: they start and end at token boundaries, so the
    // text stays UTF-8 (a multi-byte character inside a string annotation became spaces).
    String::from_utf8(bytes).unwrap_or_else(|_| text.to_owned())
}

fn collect_annotations(text: &str, stmt: &AstStmt, out: &mut Vec<(usize, usize)>) {
    match &stmt.node {
        StmtP::Def(def) => {
            for p in &def.params {
                if let ParameterP::Normal(name, Some(ty), _)
                | ParameterP::Args(name, Some(ty))
                | ParameterP::KwArgs(name, Some(ty)) = &p.node
                {
                    out.push((name.end(), ty.end()));
                }
            }
            if let Some(ty) = &def.return_type {
                let start = ty.begin();
                if let Some(arrow) = text.get(..start).and_then(|t| t.rfind("->")) {
                    out.push((arrow, ty.end()));
                }
            }
        }
        StmtP::Assign(a) => {
            if let Some(ty) = &a.ty {
                out.push((a.lhs.end(), ty.end()));
            }
        }
        _ => {}
    }
    stmt.visit_stmt(|s| collect_annotations(text, s, out));
}

/// Byte offsets of a parsed node.
trait SpanOf {
    fn begin(&self) -> usize;
    fn end(&self) -> usize;
}

impl<T> SpanOf for Spanned<T> {
    fn begin(&self) -> usize {
        self.span.begin().get() as usize
    }
    fn end(&self) -> usize {
        self.span.end().get() as usize
    }
}

//! Pipeline step 2: parse every build file of the toolchains cell and every .bzl they load,
//! transitively, with `starlark_syntax` (any Buck2 era's, see `era`), and answer questions
//! about them (where is a symbol defined, what is a rule's schema, what does an expression
//! evaluate to).

mod era;

/// `text` with every type annotation (`: T`, `-> T`) blanked byte for byte: lines and columns
/// stay where they were. Found by the lexer, brackets and all (`-> (str, str)`).
pub fn without_annotations(text: &str) -> String {
    let blanked = era::blank(text, &era::annotation_spans(text));
    era::as_free_names(&blanked, &era::string_type_spans(&blanked))
}
pub mod eval;
pub mod ir;
pub mod path_calls;
pub mod schema;

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::UserError;
use crate::repo::{resolve_load, Repo};
pub use ir::{Arg, Expr, Load, Module, Node, Span, Stmt};

/// The toolchains cell's build files and the closure of files they load.
#[derive(Debug, Clone)]
pub struct Sources {
    /// Root-relative path of the cell's main build file (its top package's).
    pub buck: PathBuf,
    /// Every build file of the cell, `buck` first.
    pub builds: Vec<PathBuf>,
    /// Shared, so that a run may hold two views of the cell (before and after a rewrite)
    /// without copying every parsed file.
    pub modules: BTreeMap<PathBuf, Arc<Module>>,
    /// (loading file, load label) → loaded file.
    pub load_targets: BTreeMap<(PathBuf, String), PathBuf>,
    /// Loaded files that do not parse, with why. Only the build files must parse; one of
    /// these is an error only when something needs its content (see `require`).
    pub unreadable: BTreeMap<PathBuf, UserError>,
}

impl Sources {
    /// Read `builds` (the main one first) and everything they load. A file is read once
    /// however often it is loaded.
    pub fn read(repo: &Repo, builds: &[PathBuf]) -> Result<Sources, UserError> {
        let modules = builds
            .iter()
            .map(|b| Module::read(&repo.root, b).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        Sources::closure(repo, modules, BTreeMap::new())
    }

    /// The same files, with build files' texts replaced (what a rewrite would write), the
    /// files they load read as needed.
    pub fn with_build_texts(
        &self,
        repo: &Repo,
        texts: &[(PathBuf, String)],
    ) -> Result<Sources, UserError> {
        let mut known = self.modules.clone();
        let mut roots = Vec::new();
        for b in &self.builds {
            known.remove(b);
            roots.push(match texts.iter().find(|(p, _)| p == b) {
                Some((path, text)) => Arc::new(Module::parse(path, text.clone())?),
                None => self.modules.get(b).cloned().ok_or_else(|| {
                    UserError::new("internal error: a build file of the cell was not read")
                        .in_file(b)
                })?,
            });
        }
        Sources::closure(repo, roots, known)
    }

    /// The same files, with the main build file's text replaced (fuzzing and property tests
    /// rewrite many BUCK texts against one repo without touching the disk).
    pub fn with_buck_text(&self, repo: &Repo, text: String) -> Result<Sources, UserError> {
        self.with_build_texts(repo, &[(self.buck.clone(), text)])
    }

    /// `builds` and the closure of their loads; files in `known` are not read again.
    fn closure(
        repo: &Repo,
        builds: Vec<Arc<Module>>,
        mut known: BTreeMap<PathBuf, Arc<Module>>,
    ) -> Result<Sources, UserError> {
        let mut sources = Sources {
            buck: builds[0].path.clone(),
            builds: builds.iter().map(|m| m.path.clone()).collect(),
            modules: BTreeMap::new(),
            load_targets: BTreeMap::new(),
            unreadable: BTreeMap::new(),
        };
        let mut queue = VecDeque::from(builds);
        while let Some(module) = queue.pop_front() {
            let path = module.path.clone();
            if sources.modules.contains_key(&path) {
                continue;
            }
            for load in module.loads() {
                if repo.is_external_unavailable(&load.module) {
                    continue;
                }
                let at = module.location(load.module_span.start);
                let target = resolve_load(repo, &load.module, &path, &at)?;
                sources
                    .load_targets
                    .insert((path.clone(), load.module.clone()), target.clone());
                let pending = sources.modules.contains_key(&target)
                    || sources.unreadable.contains_key(&target)
                    || queue.iter().any(|m| m.path == target);
                if !pending {
                    match known.remove(&target) {
                        Some(m) => queue.push_back(m),
                        None => match Module::read(&repo.root, &target) {
                            Ok(m) => queue.push_back(Arc::new(m)),
                            Err(e) => {
                                sources.unreadable.insert(target, e);
                            }
                        },
                    }
                }
            }
            sources.modules.insert(path, module);
        }
        Ok(sources)
    }

    /// The cell's build files, parsed, `buck` first.
    pub fn build_modules(&self) -> impl Iterator<Item = &Module> {
        self.builds
            .iter()
            .filter_map(|b| self.modules.get(b).map(|m| &**m))
    }

    pub fn buck_module(&self) -> &Module {
        &self.modules[&self.buck]
    }

    /// The file a load statement in `from` points at.
    pub fn load_target(&self, from: &Path, label: &str) -> Option<&Path> {
        self.load_targets
            .get(&(from.to_path_buf(), label.to_owned()))
            .map(PathBuf::as_path)
    }

    /// The parsed file at `path`; an unreadable one is an error here, where its content is
    /// needed (`why` says for what), located where it failed.
    pub fn require(&self, path: &Path, why: &str) -> Result<Option<&Module>, UserError> {
        if let Some(e) = self.unreadable.get(path) {
            let mut e = e.clone();
            e.message = format!("{} (needed to {why})", e.message);
            return Err(e);
        }
        Ok(self.modules.get(path).map(|m| &**m))
    }

    /// Follow `name` as seen in `from` through loads to the file that defines it.
    /// Returns the defining module and the name it has there.
    pub fn definition(&self, from: &Path, name: &str) -> Option<(&Module, String)> {
        self.find_definition(from, name).ok().flatten()
    }

    /// `definition`, where a file on the way that does not parse is the error.
    pub fn find_definition(
        &self,
        from: &Path,
        name: &str,
    ) -> Result<Option<(&Module, String)>, UserError> {
        let why = format!("find the definition of `{name}`");
        let mut file = from.to_path_buf();
        let mut name = name.to_owned();
        for _ in 0..64 {
            let Some(module) = self.require(&file, &why)? else {
                return Ok(None);
            };
            if module.defines(&name) {
                return Ok(Some((module, name)));
            }
            let Some((label, their)) = module.loaded_symbol(&name) else {
                return Ok(None);
            };
            let Some(next) = self.load_target(&file, label) else {
                return Ok(None);
            };
            file = next.to_path_buf();
            name = their.to_owned();
        }
        Ok(None)
    }

    /// Every file `start` loads, transitively, must parse: for reading what they define
    /// together (which download rule a factory reaches).
    pub fn require_closure(&self, start: &Path, why: &str) -> Result<(), UserError> {
        let mut seen = std::collections::BTreeSet::new();
        let mut queue = VecDeque::from([start.to_path_buf()]);
        while let Some(path) = queue.pop_front() {
            if !seen.insert(path.clone()) {
                continue;
            }
            let Some(module) = self.require(&path, why)? else {
                continue;
            };
            for load in module.loads() {
                queue.extend(self.load_target(&path, &load.module).map(Path::to_path_buf));
            }
        }
        Ok(())
    }

    /// The value `name` has in `from`: a top-level assignment where it is defined, or the
    /// document of a JSON file loaded as `value` (Buck2 loads `.json` files that way).
    pub fn value_of(&self, from: &Path, name: &str) -> Option<&Node> {
        let module = self.modules.get(from)?;
        if let Some(v) = module.top_level_value(name) {
            return Some(v);
        }
        let (label, their) = module.loaded_symbol(name)?;
        let target = self.load_target(from, label)?;
        if target.extension().is_some_and(|x| x == "json") && their == "value" {
            // An unreadable JSON table reads as no table here; `require` reports it.
            return self
                .modules
                .get(target)?
                .stmts
                .iter()
                .find_map(|s| match s {
                    Stmt::Expr(n) => Some(n),
                    _ => None,
                });
        }
        self.value_of(target, their)
    }
}

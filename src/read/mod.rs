//! Pipeline step 2: parse toolchains/BUCK and every .bzl it loads, transitively, with
//! `starlark_syntax`, and answer questions about them (where is a symbol defined, what is a
//! rule's schema, what does an expression evaluate to).

pub mod eval;
pub mod ir;
pub mod path_calls;
pub mod schema;

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use crate::error::UserError;
use crate::repo::{resolve_load, Repo};
pub use ir::{Arg, Expr, Load, Module, Node, Span, Stmt};

/// The toolchains build file and the closure of files it loads.
#[derive(Debug, Clone)]
pub struct Sources {
    /// Root-relative path of toolchains/BUCK.
    pub buck: PathBuf,
    pub modules: BTreeMap<PathBuf, Module>,
    /// (loading file, load label) → loaded file.
    pub load_targets: BTreeMap<(PathBuf, String), PathBuf>,
}

impl Sources {
    /// Read `buck` and everything it loads. A file is read once however often it is loaded.
    pub fn read(repo: &Repo, buck: &Path) -> Result<Sources, UserError> {
        let module = Module::read(&repo.root, buck)?;
        Sources::closure(repo, module, BTreeMap::new())
    }

    /// The same files, with toolchains/BUCK's text replaced (fuzzing and property tests
    /// rewrite many BUCK texts against one repo without touching the disk).
    pub fn with_buck_text(&self, repo: &Repo, text: String) -> Result<Sources, UserError> {
        let module = Module::parse(&self.buck, text)?;
        let mut known = self.modules.clone();
        known.remove(&self.buck);
        Sources::closure(repo, module, known)
    }

    /// `buck` and the closure of its loads; files in `known` are not read again.
    fn closure(
        repo: &Repo,
        buck: Module,
        mut known: BTreeMap<PathBuf, Module>,
    ) -> Result<Sources, UserError> {
        let mut sources = Sources {
            buck: buck.path.clone(),
            modules: BTreeMap::new(),
            load_targets: BTreeMap::new(),
        };
        let mut queue = VecDeque::from([buck]);
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
                if !sources.modules.contains_key(&target) && !queue.iter().any(|m| m.path == target)
                {
                    let next = match known.remove(&target) {
                        Some(m) => m,
                        None => Module::read(&repo.root, &target)?,
                    };
                    queue.push_back(next);
                }
            }
            sources.modules.insert(path, module);
        }
        Ok(sources)
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

    /// Follow `name` as seen in `from` through loads to the file that defines it.
    /// Returns the defining module and the name it has there.
    pub fn definition(&self, from: &Path, name: &str) -> Option<(&Module, String)> {
        let mut file = from.to_path_buf();
        let mut name = name.to_owned();
        for _ in 0..64 {
            let module = self.modules.get(&file)?;
            if module.defines(&name) {
                return Some((module, name));
            }
            let (label, their) = module.loaded_symbol(&name)?;
            file = self.load_target(&file, label)?.to_path_buf();
            name = their.to_owned();
        }
        None
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

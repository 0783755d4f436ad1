//! Pipeline step 2: parse toolchains/BUCK and every .bzl it loads, transitively, with
//! `starlark_syntax`, and answer questions about them (where is a symbol defined, what is a
//! rule's schema, what does an expression evaluate to).

pub mod eval;
pub mod ir;
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
        let mut sources = Sources {
            buck: buck.to_path_buf(),
            modules: BTreeMap::new(),
            load_targets: BTreeMap::new(),
        };
        let mut queue = VecDeque::from([buck.to_path_buf()]);
        while let Some(path) = queue.pop_front() {
            if sources.modules.contains_key(&path) {
                continue;
            }
            let module = Module::read(&repo.root, &path)?;
            for load in module.loads() {
                if repo.is_external_unavailable(&load.module) {
                    continue;
                }
                let at = module.location(load.module_span.start);
                let target = resolve_load(repo, &load.module, &path, &at)?;
                sources
                    .load_targets
                    .insert((path.clone(), load.module.clone()), target.clone());
                queue.push_back(target);
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
            if defines(module, &name) {
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

fn defines(module: &Module, name: &str) -> bool {
    module.stmts.iter().any(|s| match s {
        Stmt::Def(d) => d.name == name,
        Stmt::Assign { targets, .. } => targets.iter().any(|t| t == name),
        _ => false,
    })
}

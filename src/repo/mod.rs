//! Pipeline step 1: find the Buck2 project, read its cells, resolve load labels to files.

pub mod buckconfig;
pub mod label;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::UserError;
pub use buckconfig::BuckConfig;
pub use label::{resolve_load, Label};

/// A Buck2 project on disk.
#[derive(Debug, Clone)]
pub struct Repo {
    /// Absolute, canonical project root.
    pub root: PathBuf,
    pub config: BuckConfig,
    /// Cell name → directory relative to `root` ("" for the root cell).
    pub cells: BTreeMap<String, PathBuf>,
    /// Alias → cell name, already resolved through chains of aliases.
    pub aliases: BTreeMap<String, String>,
}

impl Repo {
    /// Open the project that contains `start` (a directory inside it, or its root).
    pub fn discover(start: &Path) -> Result<Repo, UserError> {
        let start = start.canonicalize().map_err(|e| {
            UserError::new(format!("cannot open `{}`: {e}", start.display()))
                .hint("pass an existing directory with --repo")
        })?;
        if !start.is_dir() {
            return Err(UserError::new(format!(
                "`{}` is a file, not a directory",
                start.display()
            ))
            .hint(format!(
                "pass the repo's directory with --repo (this file is in `{}`)",
                start.parent().unwrap_or(Path::new("/")).display()
            )));
        }
        let root = find_root(&start).ok_or_else(|| {
            UserError::new(format!(
                "`{}` is not inside a Buck2 project: no `.buckroot` or `.buckconfig` found in it or any parent",
                start.display()
            ))
            .hint("run inside a Buck2 repo or pass --repo DIR")
        })?;
        Repo::open(root)
    }

    /// Open a project whose root is known.
    pub fn open(root: PathBuf) -> Result<Repo, UserError> {
        // Root-relative, like every other path in a message; invalid UTF-8 is located.
        let text = crate::read::ir::read_text(&root, Path::new(".buckconfig")).map_err(|e| {
            if e.at.as_ref().is_some_and(|at| at.line > 0) {
                e
            } else {
                e.hint("every Buck2 project root needs a readable .buckconfig")
            }
        })?;
        let config = buckconfig::parse(&text, Path::new(".buckconfig"))?;
        let cells = read_cells(&config);
        let aliases = read_aliases(&config)?;
        Ok(Repo {
            root,
            config,
            cells,
            aliases,
        })
    }

    /// The directory of a cell, by name or alias, relative to the root.
    pub fn cell_dir(&self, name: &str) -> Option<&Path> {
        let name = self.aliases.get(name).map(String::as_str).unwrap_or(name);
        self.cells.get(name).map(PathBuf::as_path)
    }

    /// The cell a root-relative path belongs to: the cell with the longest matching directory.
    pub fn cell_of(&self, rel: &Path) -> Option<(&str, &Path)> {
        self.cells
            .iter()
            .filter(|(_, dir)| rel.starts_with(dir))
            .max_by_key(|(_, dir)| dir.components().count())
            .map(|(name, dir)| (name.as_str(), dir.as_path()))
    }

    /// The toolchains cell's directory (Buck2's convention is a cell named `toolchains`).
    pub fn toolchains_dir(&self) -> PathBuf {
        self.cell_dir("toolchains")
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("toolchains"))
    }

    /// Build file names, `[buildfile] name` (or `name_v2`) else Buck2's default `BUCK`.
    pub fn buildfile_names(&self) -> Vec<String> {
        for key in ["name_v2", "name"] {
            let names = self.config.list("buildfile", key);
            if !names.is_empty() {
                return names;
            }
        }
        vec!["BUCK".to_owned()]
    }

    /// The toolchains cell's build file, relative to the root.
    pub fn toolchains_file(&self) -> Result<PathBuf, UserError> {
        let dir = self.toolchains_dir();
        let names = self.buildfile_names();
        names
            .iter()
            .map(|n| dir.join(n))
            .find(|p| self.root.join(p).is_file())
            .ok_or_else(|| {
                UserError::new(format!(
                    "no toolchains build file: looked for {} in `{}`",
                    names.join(", "),
                    dir.display()
                ))
                .in_file(Path::new(".buckconfig"))
                .hint("define a `toolchains` cell in [cells] whose directory holds a BUCK file")
            })
    }

    /// Root-relative form of an absolute path under the root.
    pub fn rel<'a>(&self, abs: &'a Path) -> &'a Path {
        abs.strip_prefix(&self.root).unwrap_or(abs)
    }

    /// Whether `label` lives in a cell Buck2 provides itself (`[external_cells] prelude =
    /// bundled`) that is not checked out here: such loads cannot be read, and are not errors.
    pub fn is_external_unavailable(&self, label: &str) -> bool {
        let Some(Label::Cell { cell, .. }) = Label::parse(label) else {
            return false;
        };
        let cell = self.aliases.get(&cell).cloned().unwrap_or(cell);
        self.config.get("external_cells", &cell).is_some()
            && !self
                .cell_dir(&cell)
                .is_some_and(|d| self.root.join(d).is_dir())
    }

    /// `[project] ignore` globs, as written.
    pub fn ignore_globs(&self) -> Vec<String> {
        self.config.list("project", "ignore")
    }
}

/// Like buck2: the nearest directory holding `.buckroot`, else the topmost holding `.buckconfig`.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    let mut topmost_config = None;
    for dir in start.ancestors() {
        if dir.join(".buckroot").exists() {
            return Some(dir.to_path_buf());
        }
        if dir.join(".buckconfig").is_file() {
            topmost_config = Some(dir.to_path_buf());
        }
    }
    topmost_config
}

fn read_cells(config: &BuckConfig) -> BTreeMap<String, PathBuf> {
    // `[repositories]` is the Buck1-era name of `[cells]`; `[cells]` wins where both exist.
    let mut cells = BTreeMap::new();
    for section in ["repositories", "cells"] {
        for (name, entry) in config.section(section) {
            cells.insert(name.to_owned(), normalize_dir(&entry.value));
        }
    }
    cells
        .entry("root".to_owned())
        .or_insert_with(|| PathBuf::from(""));
    cells
}

fn read_aliases(config: &BuckConfig) -> Result<BTreeMap<String, String>, UserError> {
    let raw: BTreeMap<&str, &buckconfig::Entry> = config.section("cell_aliases").collect();
    let mut aliases = BTreeMap::new();
    for (&alias, entry) in &raw {
        // Follow alias → alias chains; a loop is a config error.
        let mut target = entry.value.as_str();
        let mut hops = 0;
        while let Some(next) = raw.get(target) {
            hops += 1;
            if hops > raw.len() {
                return Err(
                    UserError::new(format!("cell alias `{alias}` loops back on itself")).at(
                        crate::error::Location {
                            file: PathBuf::from(".buckconfig"),
                            line: entry.line,
                            col: 1,
                        },
                    ),
                );
            }
            target = next.value.as_str();
        }
        // Aliases to cells that do not exist are kept: only a load through one is an error,
        // and that error names the load.
        aliases.insert(alias.to_owned(), target.to_owned());
    }
    Ok(aliases)
}

fn normalize_dir(value: &str) -> PathBuf {
    let trimmed = value.trim().trim_end_matches('/');
    let trimmed = trimmed.strip_prefix("./").unwrap_or(trimmed);
    if trimmed == "." || trimmed.is_empty() {
        PathBuf::new()
    } else {
        PathBuf::from(trimmed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_with(config: &str) -> (tempfile::TempDir, Repo) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".buckconfig"), config).unwrap();
        let repo = Repo::open(dir.path().to_path_buf()).unwrap();
        (dir, repo)
    }

    #[test]
    fn aliases_resolve_through_chains() {
        let (_d, repo) =
            repo_with("[cells]\nprelude = prelude\n[cell_aliases]\nconfig = p2\np2 = prelude\n");
        assert_eq!(repo.cell_dir("config"), Some(Path::new("prelude")));
        assert_eq!(repo.cell_dir("prelude"), Some(Path::new("prelude")));
    }

    #[test]
    fn repositories_section_is_read_too() {
        let (_d, repo) = repo_with("[repositories]\nold = third/old\n");
        assert_eq!(repo.cell_dir("old"), Some(Path::new("third/old")));
        assert_eq!(repo.cell_dir("root"), Some(Path::new("")));
    }

    #[test]
    fn root_is_buckroot_else_topmost_buckconfig() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("a/b/c");
        std::fs::create_dir_all(&inner).unwrap();
        std::fs::write(dir.path().join("a/.buckconfig"), "[cells]\n").unwrap();
        std::fs::write(dir.path().join("a/b/.buckconfig"), "[cells]\n").unwrap();
        assert_eq!(find_root(&inner).unwrap(), dir.path().join("a"));
        std::fs::write(dir.path().join("a/b/.buckroot"), "").unwrap();
        assert_eq!(find_root(&inner).unwrap(), dir.path().join("a/b"));
    }

    #[test]
    fn alias_loop_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".buckconfig"),
            "[cell_aliases]\na = b\nb = a\n",
        )
        .unwrap();
        let err = Repo::open(dir.path().to_path_buf()).unwrap_err();
        assert!(err.message.contains("loops"), "{err}");
    }
}

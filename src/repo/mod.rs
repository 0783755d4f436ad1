//! Pipeline step 1: find the Buck2 project, read its cells, resolve load labels to files.

pub mod buckconfig;
pub mod external;
pub mod label;
mod packages;

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
    /// Cell name → directory its files are read from, relative to `root` ("" for the root
    /// cell). An external cell maps to its checkout, wherever buck2 put it (see `external`).
    pub cells: BTreeMap<String, PathBuf>,
    /// Alias → cell name, already resolved through chains of aliases.
    pub aliases: BTreeMap<String, String>,
    /// A cell's own `.buckconfig` (Buck2 reads one per cell: its `[buildfile]` and
    /// `[cell_aliases]` apply to that cell's files).
    pub cell_configs: BTreeMap<String, BuckConfig>,
    /// `[external_cells]`: cells buck2 provides itself rather than the repo.
    pub external: BTreeMap<String, external::ExternalCell>,
    /// What was left unread, and why (said with the inventory's warnings).
    pub warnings: Vec<String>,
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
        if let Err(e) = crate::text::read_text(&root, Path::new(".buckconfig")) {
            return Err(if e.at.as_ref().is_some_and(|at| at.line > 0) {
                e
            } else {
                e.hint("every Buck2 project root needs a readable .buckconfig")
            });
        }
        let config = buckconfig::load(&root, Path::new(""))?;
        let mut cells = read_cells(&config, Path::new(""));
        let aliases = read_aliases(&config)?;
        let toolchains = aliases
            .get("toolchains")
            .cloned()
            .unwrap_or_else(|| "toolchains".to_owned());
        let mut warnings = Vec::new();
        let cell_configs = read_cell_configs(&root, &mut cells, &toolchains, &mut warnings)?;
        let external = external::resolve(&root, &config, &mut cells);
        Ok(Repo {
            root,
            config,
            cells,
            aliases,
            cell_configs,
            external,
            warnings,
        })
    }

    /// The directory of a cell, by name or alias, relative to the root.
    pub fn cell_dir(&self, name: &str) -> Option<&Path> {
        self.cells.get(self.cell_name(name)).map(PathBuf::as_path)
    }

    /// The prelude cell's directory, when it has one of its own (not the root).
    pub fn prelude_dir(&self) -> Option<&Path> {
        self.cell_dir("prelude")
            .filter(|d| !d.as_os_str().is_empty())
    }

    /// The cell a name or root-level alias stands for.
    pub fn cell_name<'a>(&'a self, name: &'a str) -> &'a str {
        self.aliases.get(name).map(String::as_str).unwrap_or(name)
    }

    /// The directory of cell `name` as written in a file of cell `from`: that cell's own
    /// `[cell_aliases]` first, then the root's.
    pub fn cell_dir_from(&self, from: &str, name: &str) -> Option<&Path> {
        let local = self
            .cell_configs
            .get(from)
            .and_then(|c| c.get("cell_aliases", name));
        match local {
            Some(target) => self.cell_dir(target),
            None => self.cell_dir(name),
        }
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

    /// Build file names of `cell`: its own `[buildfile] name` (or `name_v2`), else the root's,
    /// else Buck2's default `BUCK`. Buck2 takes the first name that exists in a package.
    pub fn buildfile_names_of(&self, cell: &str) -> Vec<String> {
        let configs = self
            .cell_configs
            .get(cell)
            .into_iter()
            .chain([&self.config]);
        for config in configs {
            for key in ["name_v2", "name"] {
                let names = config.list("buildfile", key);
                if !names.is_empty() {
                    return names;
                }
            }
        }
        vec!["BUCK".to_owned()]
    }

    /// Build file names of the root cell.
    pub fn buildfile_names(&self) -> Vec<String> {
        self.buildfile_names_of("root")
    }

    /// The toolchains cell's main build file (its top package's), relative to the root.
    pub fn toolchains_file(&self) -> Result<PathBuf, UserError> {
        Ok(self.toolchains_files()?.remove(0))
    }

    /// Every package build file of the toolchains cell, the top package's first, then in path
    /// order. Nested cells, `buck-out` and `[project] ignore` are not part of it.
    pub fn toolchains_files(&self) -> Result<Vec<PathBuf>, UserError> {
        let dir = self.toolchains_dir();
        let cell = self
            .cell_of(&dir)
            .map(|(name, _)| name.to_owned())
            .unwrap_or_else(|| "toolchains".to_owned());
        let names = self.buildfile_names_of(&cell);
        let files = if dir.as_os_str().is_empty() {
            // A toolchains cell that is the root cell would make every package of the repo a
            // toolchains package: only its top build file is taken.
            names
                .iter()
                .map(PathBuf::from)
                .filter(|p| self.root.join(p).is_file())
                .take(1)
                .collect()
        } else {
            packages::build_files(self, &dir, &names)
        };
        if files.is_empty() {
            return Err(UserError::new(format!(
                "no toolchains build file: looked for {} in `{}` and its packages",
                names.join(", "),
                dir.display()
            ))
            .in_file(Path::new(".buckconfig"))
            .hint("define a `toolchains` cell in [cells] whose directory holds a BUCK file"));
        }
        Ok(files)
    }

    /// Every `.bzl` file of the toolchains cell, in any of its packages.
    pub fn toolchains_starlark_files(&self) -> Vec<PathBuf> {
        packages::starlark_files(self, &self.toolchains_dir())
    }

    /// Every build file name any cell uses (`scan --all` reads them all).
    pub fn all_buildfile_names(&self) -> Vec<String> {
        let mut names = self.buildfile_names();
        for cell in self.cell_configs.keys() {
            for n in self.buildfile_names_of(cell) {
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
        names
    }

    /// Root-relative form of an absolute path under the root.
    pub fn rel<'a>(&self, abs: &'a Path) -> &'a Path {
        abs.strip_prefix(&self.root).unwrap_or(abs)
    }

    /// Whether `label` lives in a cell Buck2 provides itself (`[external_cells] prelude =
    /// bundled`) that no checkout of could be found: such loads cannot be read, and are not
    /// errors.
    pub fn is_external_unavailable(&self, label: &str) -> bool {
        let Some(Label::Cell { cell, .. }) = Label::parse(label) else {
            return false;
        };
        self.external
            .get(self.cell_name(&cell))
            .is_some_and(|e| e.read_from.is_none())
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

/// `[cells]` of a config read in directory `base` (paths there are relative to it).
fn read_cells(config: &BuckConfig, base: &Path) -> BTreeMap<String, PathBuf> {
    // `[repositories]` is the Buck1-era name of `[cells]`; `[cells]` wins where both exist.
    let mut cells = BTreeMap::new();
    for section in ["repositories", "cells"] {
        for (name, entry) in config.section(section) {
            cells.insert(
                name.to_owned(),
                normalize_dir(&base.join(&entry.value).to_string_lossy()),
            );
        }
    }
    cells
        .entry("root".to_owned())
        .or_insert_with(|| PathBuf::from(""));
    cells
}

/// The own `.buckconfig` of every non-root cell that has one. Cells it names that the root
/// does not are added (their paths are relative to that cell).
///
/// Only the toolchains cell's own config must read: for another cell a config this parser
/// rejects is a warning, not an error (its settings only matter to that cell's own files).
fn read_cell_configs(
    root: &Path,
    cells: &mut BTreeMap<String, PathBuf>,
    toolchains: &str,
    warnings: &mut Vec<String>,
) -> Result<BTreeMap<String, BuckConfig>, UserError> {
    let mut out = BTreeMap::new();
    let nested: Vec<(String, PathBuf)> = cells
        .iter()
        .filter(|(_, dir)| !dir.as_os_str().is_empty())
        .map(|(n, d)| (n.clone(), d.clone()))
        .collect();
    for (name, dir) in nested {
        if !root.join(&dir).join(".buckconfig").is_file() {
            continue;
        }
        let config = match buckconfig::load(root, &dir) {
            Ok(config) => config,
            Err(e) if name != toolchains => {
                let at = e.at.as_ref().map(|a| format!("{a}: ")).unwrap_or_default();
                warnings.push(format!(
                    "{at}{}; cell `{name}`'s own settings were not read (the toolchains need none of them)",
                    e.message
                ));
                continue;
            }
            Err(e) => return Err(e),
        };
        for (cell, path) in read_cells(&config, &dir) {
            cells.entry(cell).or_insert(path);
        }
        out.insert(name, config);
    }
    Ok(out)
}

fn read_aliases(config: &BuckConfig) -> Result<BTreeMap<String, String>, UserError> {
    // `[repository_aliases]` is the Buck1-era name of `[cell_aliases]`.
    let raw: BTreeMap<&str, &buckconfig::Entry> = config
        .section("repository_aliases")
        .chain(config.section("cell_aliases"))
        .collect();
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
                            file: entry.file.clone(),
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

/// `./a/b/`, `a/../c`, `.` as one plain relative path ("" for the root).
fn normalize_dir(value: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for c in Path::new(value.trim()).components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::Normal(part) => out.push(part),
            _ => {}
        }
    }
    out
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
    fn toolchains_files_span_packages_but_not_nested_cells_or_ignored_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join(".buckconfig"),
            "[cells]\nroot = .\ntoolchains = tc\nvendor = tc/vendor\n[project]\nignore = tc/tmp\n",
        )
        .unwrap();
        for f in [
            "tc/b/BUCK",
            "tc/a/BUCK",
            "tc/a/deep/BUCK",
            "tc/vendor/BUCK",
            "tc/tmp/BUCK",
            "tc/buck-out/BUCK",
        ] {
            std::fs::create_dir_all(root.join(f).parent().unwrap()).unwrap();
            std::fs::write(root.join(f), "").unwrap();
        }
        let repo = Repo::open(root.to_path_buf()).unwrap();
        // No top-level build file: the first package in path order is the main one.
        assert_eq!(
            repo.toolchains_files().unwrap(),
            ["tc/a/BUCK", "tc/a/deep/BUCK", "tc/b/BUCK"].map(PathBuf::from)
        );
        std::fs::write(root.join("tc/BUCK"), "").unwrap();
        assert_eq!(repo.toolchains_file().unwrap(), PathBuf::from("tc/BUCK"));
    }

    #[test]
    fn only_the_toolchains_cells_own_config_must_parse() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join(".buckconfig"),
            "[cells]\nroot = .\nother = other\ntoolchains = tc\n",
        )
        .unwrap();
        for d in ["other", "tc"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
            std::fs::write(root.join(d).join(".buckconfig"), "not a config\n").unwrap();
        }
        let err = Repo::open(root.to_path_buf()).unwrap_err();
        assert_eq!(err.at.unwrap().file, Path::new("tc/.buckconfig"));
        std::fs::write(root.join("tc/.buckconfig"), "[buildfile]\nname = TARGETS\n").unwrap();
        let repo = Repo::open(root.to_path_buf()).unwrap();
        assert!(
            repo.warnings[0].starts_with("other/.buckconfig:1:1: expected `key = value`"),
            "{:?}",
            repo.warnings
        );
        assert_eq!(repo.buildfile_names_of("toolchains"), ["TARGETS"]);
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

//! The packages of a cell: every directory below it whose build file Buck2 would read.

use std::path::{Path, PathBuf};

use ignore::WalkBuilder;

use super::Repo;

/// Build files of the cell at `dir` (root-relative): per directory, the first of `names` that
/// exists, as Buck2 picks it. The top package comes first, then the rest in path order.
/// Directories that are other cells, `buck-out` and `[project] ignore` entries are skipped.
pub fn build_files(repo: &Repo, dir: &Path, names: &[String]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = cell_dirs(repo, dir)
        .into_iter()
        .filter_map(|d| names.iter().map(|n| d.join(n)).find(|p| p.is_file()))
        .map(|p| repo.rel(&p).to_path_buf())
        .collect();
    // The walk yields the top directory first; keep it there, sort the rest by path.
    if files.len() > 1 {
        let top_has_file = files[0].parent() == Some(dir);
        let rest = if top_has_file { 1 } else { 0 };
        files[rest..].sort();
    }
    files
}

/// Every `.bzl` file of the cell at `dir`, in path order (same skips as `build_files`).
pub fn starlark_files(repo: &Repo, dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = cell_dirs(repo, dir)
        .into_iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flat_map(|entries| entries.filter_map(Result::ok))
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "bzl") && p.is_file())
        .map(|p| repo.rel(&p).to_path_buf())
        .collect();
    files.sort();
    files
}

/// The absolute directories of the cell at `dir`, its top one first.
fn cell_dirs(repo: &Repo, dir: &Path) -> Vec<PathBuf> {
    let other_cells: Vec<PathBuf> = repo
        .cells
        .values()
        .filter(|d| d.as_path() != dir && d.starts_with(dir))
        .map(|d| repo.root.join(d))
        .collect();
    let ignored: Vec<PathBuf> = repo
        .ignore_globs()
        .iter()
        .map(|g| {
            repo.root
                .join(g.trim_start_matches("./").trim_end_matches('/'))
        })
        .collect();
    // Buck2 does not read .gitignore: a package is a package whether git tracks it or not.
    let walk = WalkBuilder::new(repo.root.join(dir))
        .standard_filters(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(move |e| {
            let p = e.path();
            let name = e.file_name();
            let skipped = name == ".git"
                || name == "buck-out"
                || other_cells.iter().any(|c| c == p)
                || ignored.iter().any(|i| i == p);
            !skipped
        })
        .build();
    walk.filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| t.is_dir()))
        .map(|e| e.into_path())
        .collect()
}

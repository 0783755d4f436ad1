//! The packages of a cell: every directory below it whose build file Buck2 would read.

use std::path::{Path, PathBuf};

use ignore::WalkBuilder;

use super::Repo;

/// Build files of the cell at `dir` (root-relative): per directory, the first of `names` that
/// exists, as Buck2 picks it. The top package comes first, then the rest in path order.
/// Directories that are other cells, `buck-out` and `[project] ignore` entries are skipped.
pub fn build_files(repo: &Repo, dir: &Path, names: &[String]) -> Vec<PathBuf> {
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
    let top = repo.root.join(dir);
    // Buck2 does not read .gitignore: a package is a package whether git tracks it or not.
    let walk = WalkBuilder::new(&top)
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
    let mut files: Vec<PathBuf> = walk
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| t.is_dir()))
        .filter_map(|e| names.iter().map(|n| e.path().join(n)).find(|p| p.is_file()))
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

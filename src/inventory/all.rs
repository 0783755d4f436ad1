//! `scan --all`: every BUCK and .bzl file of the repo (honouring .gitignore and `[project]
//! ignore`), parsed in parallel, each reduced to its remote references as soon as it is read
//! so memory stays flat however large the repo. A file that fails to parse is reported and
//! skipped.

use std::path::{Path, PathBuf};

use ignore::overrides::OverrideBuilder;
use ignore::WalkBuilder;
use rayon::prelude::*;
use serde::Serialize;

use super::references::{self, RemoteReference};
use crate::error::UserError;
use crate::read::Module;
use crate::repo::Repo;

#[derive(Debug, Clone, Serialize)]
pub struct ParseFailure {
    pub file: String,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct RepoScan {
    pub files: usize,
    pub references: Vec<RemoteReference>,
    pub failures: Vec<ParseFailure>,
}

/// The Starlark files Buck2 would read: build files by `[buildfile] name` and `.bzl` files.
pub fn starlark_files(repo: &Repo) -> Result<Vec<PathBuf>, UserError> {
    let mut overrides = OverrideBuilder::new(&repo.root);
    for glob in repo.ignore_globs() {
        // `[project] ignore` entries name paths from the root; ignore a directory's contents too.
        let glob = glob.trim_start_matches("./").trim_end_matches('/');
        for pattern in [format!("!/{glob}"), format!("!/{glob}/**")] {
            overrides.add(&pattern).map_err(|e| {
                UserError::new(format!("bad `[project] ignore` entry `{glob}`: {e}"))
                    .in_file(Path::new(".buckconfig"))
            })?;
        }
    }
    let overrides = overrides.build().map_err(|e| {
        UserError::new(format!("bad `[project] ignore`: {e}")).in_file(Path::new(".buckconfig"))
    })?;
    let names = repo.buildfile_names();
    let mut files: Vec<PathBuf> = WalkBuilder::new(&repo.root)
        .hidden(false)
        .git_ignore(true)
        .require_git(false)
        .overrides(overrides)
        .filter_entry(|e| e.file_name() != ".git" && e.file_name() != "buck-out")
        .build()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .filter(|e| {
            let name = e.file_name().to_string_lossy();
            name.ends_with(".bzl") || names.iter().any(|n| *n == name)
        })
        .map(|e| {
            e.path()
                .strip_prefix(&repo.root)
                .unwrap_or(e.path())
                .to_path_buf()
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Parse every file in parallel and keep only its remote references.
pub fn scan(repo: &Repo) -> Result<RepoScan, UserError> {
    let files = starlark_files(repo)?;
    let results: Vec<Result<Vec<RemoteReference>, ParseFailure>> = files
        .par_iter()
        .map(|path| {
            Module::read(&repo.root, path)
                .map(|m| references::in_module(&m))
                .map_err(|e| ParseFailure {
                    file: path.display().to_string(),
                    message: e.to_string(),
                })
        })
        .collect();
    let mut out = RepoScan {
        files: files.len(),
        ..RepoScan::default()
    };
    for r in results {
        match r {
            Ok(refs) => out.references.extend(refs),
            Err(f) => out.failures.push(f),
        }
    }
    out.references.sort();
    Ok(out)
}

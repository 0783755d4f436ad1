//! `scan --all`: every build file (by each cell's `[buildfile] name`) and .bzl file of the
//! repo (honouring .gitignore and `[project] ignore`), parsed in parallel, each reduced to
//! its remote references as soon as it is read so memory stays flat however large the repo.
//! A file that fails to parse is reported and skipped.

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
    /// `file:line:col: what was wrong` (the file named once; no advice about writing, which
    /// a read-only scan never does).
    pub message: String,
}

impl ParseFailure {
    pub fn from_error(e: &UserError, file: &str) -> ParseFailure {
        ParseFailure {
            file: e
                .at
                .as_ref()
                .map_or_else(|| file.to_owned(), |at| at.file.display().to_string()),
            message: e.headline(),
        }
    }
}

#[derive(Debug, Default)]
pub struct RepoScan {
    pub files: usize,
    pub references: Vec<RemoteReference>,
    pub failures: Vec<ParseFailure>,
}

/// The Starlark files Buck2 would read (build files by `[buildfile] name`, and `.bzl`
/// files), as a lazy walk in a stable order: nothing is collected up front.
pub fn starlark_files(repo: &Repo) -> Result<impl Iterator<Item = PathBuf> + '_, UserError> {
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
    let names = repo.all_buildfile_names();
    let walk = WalkBuilder::new(&repo.root)
        .hidden(false)
        .git_ignore(true)
        .require_git(false)
        .overrides(overrides)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(|e| e.file_name() != ".git" && e.file_name() != "buck-out")
        .build();
    Ok(walk
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .filter(move |e| {
            let name = e.file_name().to_string_lossy();
            if name.ends_with(".bzl") {
                return true;
            }
            // A build file is read only when no name before it in the list exists beside it
            // (`TARGETS.v2, TARGETS`: TARGETS is shadowed where TARGETS.v2 is).
            match names.iter().position(|n| *n == name) {
                Some(i) => {
                    let dir = e.path().parent().unwrap_or(Path::new(""));
                    !names[..i].iter().any(|earlier| dir.join(earlier).is_file())
                }
                None => false,
            }
        })
        .map(|e| {
            e.path()
                .strip_prefix(&repo.root)
                .unwrap_or(e.path())
                .to_path_buf()
        }))
}

/// Which files `scan --all` parses. By default only those whose bytes could hold a reference
/// ([`references::may_hold_reference`]): the rest are read, counted and passed over. `Every`
/// parses them too, to report their syntax errors (`scan --all --parse-all`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parse {
    Candidates,
    Every,
}

/// How many files are parsed in parallel before their references are handed on: memory
/// stays bounded by one batch, however large the repo.
const BATCH: usize = 512;

/// Parse every file, in parallel batches, handing each file's remote references to `sink`
/// in walk order. Returns the number of files read and those that failed to parse.
pub fn scan_streaming(
    repo: &Repo,
    parse: Parse,
    sink: impl FnMut(RemoteReference),
) -> Result<(usize, Vec<ParseFailure>), UserError> {
    scan_streaming_with_progress(repo, parse, sink, |_| {})
}

/// [`scan_streaming`], telling `progress` how many files each batch read.
pub fn scan_streaming_with_progress(
    repo: &Repo,
    parse: Parse,
    mut sink: impl FnMut(RemoteReference),
    mut progress: impl FnMut(usize),
) -> Result<(usize, Vec<ParseFailure>), UserError> {
    let mut files = starlark_files(repo)?;
    let mut count = 0;
    let mut failures = Vec::new();
    let mut batch: Vec<PathBuf> = files.by_ref().take(BATCH).collect();
    while !batch.is_empty() {
        count += batch.len();
        // The walk goes on (one thread) while the batch it gave is read and parsed (all).
        let (results, next) = rayon::join(
            || {
                batch
                    .par_iter()
                    .map(|path| {
                        references_in_file(repo, path, parse)
                            .map_err(|e| ParseFailure::from_error(&e, &path.display().to_string()))
                    })
                    .collect::<Vec<Result<Vec<RemoteReference>, ParseFailure>>>()
            },
            || files.by_ref().take(BATCH).collect::<Vec<PathBuf>>(),
        );
        progress(batch.len());
        for r in results {
            match r {
                Ok(refs) => refs.into_iter().for_each(&mut sink),
                Err(f) => failures.push(f),
            }
        }
        batch = next;
    }
    Ok((count, failures))
}

/// One file's references; a file whose bytes rule every reference out is not parsed
/// (unless `parse` is `Every`).
fn references_in_file(
    repo: &Repo,
    path: &Path,
    parse: Parse,
) -> Result<Vec<RemoteReference>, UserError> {
    let text = crate::read::ir::read_text(&repo.root, path)?;
    if parse == Parse::Candidates && !references::may_hold_reference(&text) {
        return Ok(Vec::new());
    }
    Ok(references::in_module(&Module::parse(path, text)?))
}

/// Every remote reference of the repo, collected (tests and benchmarks).
pub fn scan(repo: &Repo, parse: Parse) -> Result<RepoScan, UserError> {
    let mut references = Vec::new();
    let (files, failures) = scan_streaming(repo, parse, |r| references.push(r))?;
    Ok(RepoScan {
        files,
        references,
        failures,
    })
}

//! `clean`: stop the repo's buck2 daemon and remove the toolchain extractions Buck2 left
//! under buck-out (read-only files included). Never touches anything outside the repo's
//! buck-out, and refuses when buck-out is a symlink that leaves the repo.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::doctor::stale::EXTRACTED;
use crate::error::UserError;
use crate::repo::Repo;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `buck2 kill` in the repo root, with the buck2 found on PATH.
    KillDaemon(PathBuf),
    /// Make writable and remove this root-relative directory.
    Remove(PathBuf),
}

impl Step {
    pub fn describe(&self) -> String {
        match self {
            Step::KillDaemon(buck2) => format!("run `{} kill` in the repo root", buck2.display()),
            Step::Remove(dir) => format!("make {} writable and remove it", dir.display()),
        }
    }
}

/// What `clean` would do. Errors when buck-out (or a directory on the way to the
/// extractions) is a symlink that resolves outside the repo.
pub fn plan(repo: &Repo) -> Result<Vec<Step>, UserError> {
    let mut steps = Vec::new();
    if let Ok(buck2) = which::which("buck2") {
        steps.push(Step::KillDaemon(buck2));
    }
    let root = repo
        .root
        .canonicalize()
        .unwrap_or_else(|_| repo.root.clone());
    let mut path = root.clone();
    for part in Path::new(EXTRACTED).components() {
        path.push(part);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            return Ok(steps);
        };
        if meta.file_type().is_symlink() {
            let target = path.canonicalize().unwrap_or_else(|_| path.clone());
            if !target.starts_with(&root) {
                return Err(UserError::new(format!(
                    "refusing to clean: {} is a symlink to {}, outside the repo",
                    path.strip_prefix(&root).unwrap_or(&path).display(),
                    target.display()
                ))
                .hint("remove the symlink or clean that directory by hand"));
            }
        }
    }
    if path.is_dir() {
        steps.push(Step::Remove(PathBuf::from(EXTRACTED)));
    }
    Ok(steps)
}

/// Carry out the steps; returns a line per step done.
pub fn execute(repo: &Repo, steps: &[Step]) -> Result<Vec<String>, UserError> {
    let mut done = Vec::new();
    for step in steps {
        match step {
            Step::KillDaemon(buck2) => {
                let out = duct::cmd(buck2, ["kill"])
                    .dir(&repo.root)
                    .stdin_null()
                    .stdout_capture()
                    .stderr_capture()
                    .unchecked()
                    .run()
                    .map_err(|e| {
                        UserError::new(format!("cannot run `{} kill`: {e}", buck2.display()))
                    })?;
                let said = String::from_utf8_lossy(&out.stderr).trim().to_owned();
                done.push(format!(
                    "buck2 kill: {}",
                    if said.is_empty() {
                        "done".to_owned()
                    } else {
                        said
                    }
                ));
            }
            Step::Remove(rel) => {
                let dir = repo.root.join(rel);
                make_dirs_writable(&dir).map_err(|e| {
                    UserError::new(format!("cannot make {} writable: {e}", rel.display()))
                })?;
                std::fs::remove_dir_all(&dir)
                    .map_err(|e| UserError::new(format!("cannot remove {}: {e}", rel.display())))?;
                done.push(format!("removed {}", rel.display()));
            }
        }
    }
    Ok(done)
}

/// Give the owner rwx on every directory below `dir` (entries are removed through their
/// directory, so files need no change). Symlinks are never followed.
fn make_dirs_writable(dir: &Path) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(dir)?;
    if !meta.is_dir() {
        return Ok(());
    }
    let mut perms = meta.permissions();
    perms.set_mode(perms.mode() | 0o700);
    std::fs::set_permissions(dir, perms)?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            make_dirs_writable(&entry.path())?;
        }
    }
    Ok(())
}

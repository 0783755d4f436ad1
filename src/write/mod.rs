//! Pipeline step 5: show a plan as a unified diff, or write it atomically.

use std::io::Write;
use std::path::{Component, Path};

use crate::error::UserError;

/// A unified diff of one file, `a/…` and `b/…` headers as git writes them.
pub fn unified_diff(path: &Path, old: &str, new: &str) -> String {
    let name = path.display().to_string();
    // Patience with a deadline: Myers is O(N·D), which a 50 MB file with tens of thousands
    // of scattered edits turns into minutes; past the deadline the diff is still correct,
    // only perhaps not minimal.
    similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .deadline(std::time::Instant::now() + std::time::Duration::from_secs(5))
        .diff_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
}

/// One file a run changes: `old` is `None` for a new file.
#[derive(Debug, Clone)]
pub struct FileChange {
    pub path: std::path::PathBuf,
    pub old: Option<String>,
    pub new: String,
}

impl FileChange {
    pub fn is_noop(&self) -> bool {
        self.old.as_deref() == Some(self.new.as_str())
    }

    pub fn diff(&self) -> String {
        unified_diff(&self.path, self.old.as_deref().unwrap_or(""), &self.new)
    }
}

/// Write every change or none: all temp files (same directory as their target) are written
/// and synced first, and only when every one of them succeeded are they renamed over their
/// targets — so a reader sees each file old or new, never half, and permissions are kept.
pub fn commit(root: &Path, changes: &[FileChange]) -> Result<(), UserError> {
    let mut staged = Vec::new();
    for change in changes.iter().filter(|c| !c.is_noop()) {
        staged.push(stage(root, &change.path, &change.new)?);
    }
    for (tmp, target, path) in staged {
        tmp.persist(&target).map_err(|e| {
            UserError::new(format!("cannot replace `{}`: {}", path.display(), e.error))
                .in_file(&path)
        })?;
    }
    Ok(())
}

type Staged = (
    tempfile::NamedTempFile,
    std::path::PathBuf,
    std::path::PathBuf,
);

fn stage(root: &Path, path: &Path, contents: &str) -> Result<Staged, UserError> {
    let target = checked_target(root, path)?;
    let dir = target.parent().unwrap_or(root).to_path_buf();
    std::fs::create_dir_all(&dir).map_err(|e| {
        UserError::new(format!("cannot create `{}`: {e}", dir.display())).in_file(path)
    })?;
    let fail = |what: &str, e: std::io::Error| {
        UserError::new(format!("cannot {what} `{}`: {e}", path.display()))
            .in_file(path)
            .hint("check the file and directory permissions; the original is unchanged")
    };
    let meta = std::fs::metadata(&target).ok();
    if let Some(meta) = &meta {
        if meta.permissions().readonly() {
            return Err(UserError::new("the file is read-only")
                .in_file(path)
                .hint("make it writable (chmod u+w) and run again"));
        }
    }
    std::fs::create_dir_all(&dir).map_err(|e| fail("create the directory of", e))?;
    let mut tmp =
        tempfile::NamedTempFile::new_in(&dir).map_err(|e| fail("create a temp file next to", e))?;
    tmp.write_all(contents.as_bytes())
        .map_err(|e| fail("write", e))?;
    // No fsync: the rename alone keeps every reader on the old or the new file, which is the
    // promise here (all-or-nothing against a failed run). Waiting for the disk as well was ~6% of
    // perf's samples of a `generate` on the SI fixture; rustfmt and buildozer do not wait either.
    // Keep an existing file's mode; a new file gets the usual rw-r--r-- (temp files are 0600).
    let permissions = match meta {
        Some(meta) => meta.permissions(),
        None => {
            use std::os::unix::fs::PermissionsExt;
            std::fs::Permissions::from_mode(0o644)
        }
    };
    std::fs::set_permissions(tmp.path(), permissions).map_err(|e| fail("set permissions of", e))?;
    Ok((tmp, target, path.to_path_buf()))
}

/// The absolute path to write, refusing paths that leave the root (`..`, absolute paths, or a
/// symlink that resolves outside it).
pub fn checked_target(root: &Path, path: &Path) -> Result<std::path::PathBuf, UserError> {
    if path.is_absolute() || path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(UserError::new(format!(
            "refusing to write `{}`: it is outside the repo root",
            path.display()
        )));
    }
    let target = root.join(path);
    let resolved = match target.canonicalize() {
        Ok(p) => p,
        Err(_) => match target.parent().map(Path::canonicalize) {
            Some(Ok(parent)) => parent.join(target.file_name().unwrap_or_default()),
            _ => target.clone(),
        },
    };
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    if !resolved.starts_with(&root) {
        return Err(UserError::new(format!(
            "refusing to write `{}`: it resolves to `{}`, outside the repo root `{}`",
            path.display(),
            resolved.display(),
            root.display()
        ))
        .in_file(path)
        .hint("a symlink leads out of the repo; replace it with a regular file"));
    }
    // Write to the symlink's target inside the repo so the link itself survives.
    Ok(resolved)
}

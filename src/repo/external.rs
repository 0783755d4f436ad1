//! `[external_cells]`: cells buck2 provides itself instead of the repo, and where a copy of
//! their files can be read.
//!
//! - `bundled` (the prelude compiled into the buck2 binary): buck2 unpacks it to
//!   `buck-out/v2/external_cells/bundled/<cell>/` when a build needs it
//!   (facebook/buck2#1079, #1457), and `buck2 expand-external-cell <cell>` writes it to the
//!   cell's path (buck2.build/docs/users/commands/expand-external-cell).
//! - `git` (`[external_cell_<cell>] git_origin, commit_hash`): buck2 clones it to
//!   `buck-out/v2/external_cells/git/<commit_hash>/` (facebook/buck2#684).
//!
//! An expanded copy at the cell's own path wins, then the copy under buck-out, then (for
//! `bundled`) the buck2 on PATH; with none of them the cell's files cannot be read, and
//! only what needs them says so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::BuckConfig;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Bundled,
    Git {
        origin: String,
        commit: String,
    },
    /// A cell of `[cells]` whose directory is a git submodule that is not checked out (empty
    /// or absent): Buck2 would read it once `git submodule update --init` has run.
    Submodule {
        url: Option<String>,
    },
}

/// Where the files of an external cell were found.
#[derive(Debug, Clone)]
pub struct ExternalCell {
    pub origin: Origin,
    /// Root-relative (or absolute, for a copy outside the repo) directory read from.
    pub read_from: Option<PathBuf>,
    /// How the copy was found, for messages ("the copy buck2 unpacked at buck-out/…").
    pub source: String,
    /// Keeps a temporary expansion alive as long as the repo is open.
    #[allow(dead_code)]
    keep: Option<Arc<tempfile::TempDir>>,
}

/// Every external cell of `config`; each found copy replaces the cell's directory in `cells`.
pub fn resolve(
    root: &Path,
    config: &BuckConfig,
    cells: &mut BTreeMap<String, PathBuf>,
) -> BTreeMap<String, ExternalCell> {
    let mut out = BTreeMap::new();
    for (name, entry) in config.section("external_cells") {
        let origin = match entry.value.as_str() {
            "bundled" => Origin::Bundled,
            "git" => {
                let section = format!("external_cell_{name}");
                Origin::Git {
                    origin: config.get(&section, "git_origin").unwrap_or("").to_owned(),
                    commit: config.get(&section, "commit_hash").unwrap_or("").to_owned(),
                }
            }
            // `disabled`: the repo's own copy at the cell path is the cell.
            _ => continue,
        };
        let path = cells
            .get(name)
            .cloned()
            .unwrap_or_else(|| PathBuf::from(name));
        let cell = find(root, name, &path, origin);
        if let Some(dir) = &cell.read_from {
            cells.insert(name.to_owned(), dir.clone());
        }
        out.insert(name.to_owned(), cell);
    }
    for (name, path) in cells.iter() {
        if out.contains_key(name) || has_files(&root.join(path)) {
            continue;
        }
        if let Some(url) = submodule_at(root, path) {
            out.insert(name.clone(), unavailable(Origin::Submodule { url }));
        }
    }
    out
}

/// The URL of the submodule `.gitmodules` declares at `path` (`Some(None)` when it declares
/// one without a URL); `None` when `path` is no submodule. `.gitmodules` is git-config
/// syntax, which the buckconfig reader reads as well (`[submodule "name"]`, `key = value`).
fn submodule_at(root: &Path, path: &Path) -> Option<Option<String>> {
    let text = std::fs::read_to_string(root.join(".gitmodules")).ok()?;
    let modules = super::buckconfig::parse(&text, Path::new(".gitmodules")).ok()?;
    let wanted = path.to_string_lossy();
    modules
        .sections
        .iter()
        .filter(|(section, _)| section.starts_with("submodule"))
        .find(|(_, keys)| {
            keys.get("path")
                .is_some_and(|p| p.value.trim_end_matches('/') == wanted.trim_end_matches('/'))
        })
        .map(|(_, keys)| keys.get("url").map(|u| u.value.clone()))
}

fn find(root: &Path, name: &str, path: &Path, origin: Origin) -> ExternalCell {
    let found = |read_from: PathBuf, source: String, keep| ExternalCell {
        origin: origin.clone(),
        read_from: Some(read_from),
        source,
        keep,
    };
    if has_files(&root.join(path)) {
        return found(
            path.to_path_buf(),
            format!("the expanded copy at `{}`", path.display()),
            None,
        );
    }
    let (unpacked, what) = match &origin {
        Origin::Bundled => (
            Path::new("buck-out/v2/external_cells/bundled").join(name),
            "the bundled prelude buck2 unpacked",
        ),
        Origin::Git { commit, .. } => (
            Path::new("buck-out/v2/external_cells/git").join(commit),
            "the git checkout buck2 made",
        ),
        // Never reached: submodule cells are found in `resolve`, copies are not looked for.
        Origin::Submodule { .. } => return unavailable(origin),
    };
    if has_files(&root.join(&unpacked)) {
        return found(
            unpacked.clone(),
            format!("{what} at `{}`", unpacked.display()),
            None,
        );
    }
    if origin == Origin::Bundled {
        if let Some((dir, buck2)) = expand_with_buck2(name) {
            let read_from = dir.path().join(name);
            return found(
                read_from,
                format!("the cell bundled in `{}`", buck2.display()),
                Some(Arc::new(dir)),
            );
        }
    }
    unavailable(origin)
}

fn unavailable(origin: Origin) -> ExternalCell {
    ExternalCell {
        origin,
        read_from: None,
        source: String::new(),
        keep: None,
    }
}

impl ExternalCell {
    /// `bundled`, or `git <origin> @ <commit>`.
    pub fn origin_text(&self) -> String {
        match &self.origin {
            Origin::Bundled => "bundled".to_owned(),
            Origin::Git { origin, commit } => format!("git {origin} @ {commit}"),
            Origin::Submodule { url: Some(url) } => format!("git submodule {url}"),
            Origin::Submodule { url: None } => "git submodule".to_owned(),
        }
    }

    /// Where a copy was looked for, for the message when none was found.
    pub fn looked_in(&self, name: &str) -> String {
        match &self.origin {
            Origin::Bundled => format!(
                "buck-out/v2/external_cells/bundled/{name}, the cell's path, or a buck2 on PATH"
            ),
            Origin::Git { commit, .. } => format!(
                "buck-out/v2/external_cells/git/{commit} or the cell's path (si-nixify never fetches)"
            ),
            Origin::Submodule { .. } => {
                "the cell's path, an uninitialised submodule (`git submodule update --init` checks it out)"
                    .to_owned()
            }
        }
    }
}

fn has_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some())
}

/// Ask the buck2 on PATH for its bundled cell: `buck2 expand-external-cell` in a scratch
/// project of its own (never in the user's repo, which it would write into), then stop the
/// daemon that started.
fn expand_with_buck2(name: &str) -> Option<(tempfile::TempDir, PathBuf)> {
    let buck2 = std::env::var_os("SI_NIXIFY_BUCK2")
        .map(PathBuf::from)
        .or_else(|| which::which("buck2").ok())?;
    let dir = tempfile::tempdir().ok()?;
    let config =
        format!("[cells]\nroot = .\n{name} = {name}\n\n[external_cells]\n{name} = bundled\n");
    std::fs::write(dir.path().join(".buckconfig"), config).ok()?;
    std::fs::write(dir.path().join(".buckroot"), "").ok()?;
    let run = |args: &[&str]| -> Option<bool> {
        let handle = duct::cmd(&buck2, args)
            .dir(dir.path())
            .stdin_null()
            .stdout_null()
            .stderr_null()
            .unchecked()
            .start()
            .ok()?;
        // A buck2 that hangs (a daemon that never comes up) must not hang the tool: past the
        // deadline it is stopped and the next source is used.
        let deadline = std::time::Instant::now() + BUCK2_DEADLINE;
        loop {
            if let Some(out) = handle.try_wait().ok()? {
                return Some(out.status.success());
            }
            if std::time::Instant::now() > deadline {
                let _ = handle.kill();
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    let expanded = run(&["--isolation-dir", "si-nixify", "expand-external-cell", name]);
    let _ = run(&["--isolation-dir", "si-nixify", "kill"]);
    (expanded? && has_files(&dir.path().join(name))).then_some((dir, buck2))
}

/// How long one buck2 command may take (a cold daemon start included).
const BUCK2_DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);

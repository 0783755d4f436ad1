//! Load labels (`@cell//pkg:file.bzl`, `cell//pkg:file.bzl`, `//pkg:file.bzl`, `:file.bzl`) to
//! files. Buck2 also accepts the older `@cell//pkg/file.bzl` form (no colon); so does this.

use std::path::{Path, PathBuf};

use super::Repo;
use crate::error::{Location, UserError};

/// A parsed load label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Label {
    /// `@cell//pkg:file` or `cell//pkg:file`.
    Cell {
        cell: String,
        package: String,
        file: String,
    },
    /// `//pkg:file`: same cell as the loading file.
    CellRelative { package: String, file: String },
    /// `:file`: same package (directory) as the loading file.
    PackageRelative { file: String },
    /// `file.bzl`, `../lib/file.bzl`: a path from the loading file's directory, which Buck2
    /// also accepts in `load()` (`parse_import_with_config`, `join_normalized`).
    PathRelative { path: String },
}

impl Label {
    pub fn parse(text: &str) -> Option<Label> {
        if let Some(file) = text.strip_prefix(':') {
            return (!file.is_empty()).then(|| Label::PackageRelative {
                file: file.to_owned(),
            });
        }
        if !text.contains("//") && !text.contains(':') && !text.is_empty() {
            return Some(Label::PathRelative {
                path: text.to_owned(),
            });
        }
        let text = text.strip_prefix('@').unwrap_or(text);
        let (cell, path) = text.split_once("//")?;
        let (package, file) = match path.rsplit_once(':') {
            Some((package, file)) => (package.to_owned(), file.to_owned()),
            // Old form: the last path segment is the file.
            None => match path.rsplit_once('/') {
                Some((package, file)) => (package.to_owned(), file.to_owned()),
                None => (String::new(), path.to_owned()),
            },
        };
        if file.is_empty() {
            return None;
        }
        Some(if cell.is_empty() {
            Label::CellRelative { package, file }
        } else {
            Label::Cell {
                cell: cell.to_owned(),
                package,
                file,
            }
        })
    }
}

/// Resolve `label`, written in the root-relative file `from` at `at`, to a root-relative path
/// of an existing file.
pub fn resolve_load(
    repo: &Repo,
    label: &str,
    from: &Path,
    at: &Location,
) -> Result<PathBuf, UserError> {
    let parsed = Label::parse(label).ok_or_else(|| {
        UserError::new(format!("`{label}` is not a load label"))
            .at(at.clone())
            .hint("load labels look like `@cell//package:file.bzl` or `:file.bzl`")
    })?;
    let path = match &parsed {
        Label::PackageRelative { file } => from.parent().unwrap_or(Path::new("")).join(file),
        Label::PathRelative { path } => {
            normalized(&from.parent().unwrap_or(Path::new("")).join(path))
        }
        Label::CellRelative { package, file } => {
            let (_, cell_dir) = repo.cell_of(from).unwrap_or(("root", Path::new("")));
            cell_dir.join(package).join(file)
        }
        Label::Cell {
            cell,
            package,
            file,
        } => {
            let from_cell = repo.cell_of(from).map_or("root", |(name, _)| name);
            let cell_dir = repo.cell_dir_from(from_cell, cell).ok_or_else(|| {
                UserError::new(format!(
                    "load of `{label}` names cell `{cell}`, which .buckconfig does not define"
                ))
                .at(at.clone())
                .hint(format!(
                    "add `{cell} = <dir>` under [cells] (or [cell_aliases]) in .buckconfig"
                ))
            })?;
            cell_dir.join(package).join(file)
        }
    };
    if !repo.root.join(&path).is_file() {
        return Err(UserError::new(format!(
            "load of `{label}` points at `{}`, which does not exist",
            path.display()
        ))
        .at(at.clone())
        .hint("commit the missing file or remove the load"));
    }
    Ok(path)
}

/// `a/b/../c` → `a/c`, without asking the file system (as Buck2 joins a relative load).
fn normalized(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_label_forms() {
        assert_eq!(
            Label::parse("@prelude-si//toolchains:rust.bzl"),
            Some(Label::Cell {
                cell: "prelude-si".into(),
                package: "toolchains".into(),
                file: "rust.bzl".into()
            })
        );
        assert_eq!(
            Label::parse("prelude//:x.bzl"),
            Some(Label::Cell {
                cell: "prelude".into(),
                package: "".into(),
                file: "x.bzl".into()
            })
        );
        assert_eq!(
            Label::parse("//a/b:c.bzl"),
            Some(Label::CellRelative {
                package: "a/b".into(),
                file: "c.bzl".into()
            })
        );
        assert_eq!(
            Label::parse(":t.bzl"),
            Some(Label::PackageRelative {
                file: "t.bzl".into()
            })
        );
        assert_eq!(
            Label::parse("@prelude-si//deno/toolchain.bzl"),
            Some(Label::Cell {
                cell: "prelude-si".into(),
                package: "deno".into(),
                file: "toolchain.bzl".into()
            })
        );
        assert_eq!(
            Label::parse("defs.bzl"),
            Some(Label::PathRelative {
                path: "defs.bzl".into()
            })
        );
        assert_eq!(Label::parse("cell//pkg:"), None);
        assert_eq!(Label::parse(":"), None);
    }

    fn repo() -> (tempfile::TempDir, Repo) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join(".buckconfig"),
            "[cells]\nroot = .\ntools = third/tools\n[cell_aliases]\nalias = tools\n",
        )
        .unwrap();
        for f in [
            "third/tools/defs/a.bzl",
            "pkg/b.bzl",
            "pkg/sub/c.bzl",
            "third/tools/top.bzl",
        ] {
            std::fs::create_dir_all(root.join(f).parent().unwrap()).unwrap();
            std::fs::write(root.join(f), "").unwrap();
        }
        let repo = Repo::open(root.to_path_buf()).unwrap();
        (dir, repo)
    }

    fn at() -> Location {
        Location {
            file: "pkg/BUCK".into(),
            line: 3,
            col: 6,
        }
    }

    #[test]
    fn resolves_all_four_forms_through_aliases() {
        let (_d, repo) = repo();
        let from = Path::new("pkg/sub/BUCK");
        let r = |l: &str| resolve_load(&repo, l, from, &at()).map_err(|e| e.to_string());
        assert_eq!(r("@tools//defs:a.bzl"), Ok("third/tools/defs/a.bzl".into()));
        assert_eq!(r("alias//defs:a.bzl"), Ok("third/tools/defs/a.bzl".into()));
        assert_eq!(r("//pkg:b.bzl"), Ok("pkg/b.bzl".into()));
        assert_eq!(r(":c.bzl"), Ok("pkg/sub/c.bzl".into()));
        // A bare path, as andreabedini/timbuktu's `load("defs.bzl", …)`.
        assert_eq!(r("c.bzl"), Ok("pkg/sub/c.bzl".into()));
        assert_eq!(r("../b.bzl"), Ok("pkg/b.bzl".into()));
        assert_eq!(r("@tools//:top.bzl"), Ok("third/tools/top.bzl".into()));
        // `//` is relative to the loading file's cell, not the root cell.
        let in_tools = Path::new("third/tools/defs/BUCK");
        assert_eq!(
            resolve_load(&repo, "//:top.bzl", in_tools, &at()).unwrap(),
            PathBuf::from("third/tools/top.bzl")
        );
    }

    #[test]
    fn missing_file_and_missing_cell_are_errors_with_the_load_location() {
        let (_d, repo) = repo();
        let err = resolve_load(&repo, ":nope.bzl", Path::new("pkg/BUCK"), &at()).unwrap_err();
        assert_eq!(err.at, Some(at()));
        assert!(
            err.to_string()
                .starts_with("pkg/BUCK:3:6: load of `:nope.bzl` points at `pkg/nope.bzl`"),
            "{err}"
        );
        let err = resolve_load(&repo, "@ghost//x:y.bzl", Path::new("pkg/BUCK"), &at()).unwrap_err();
        assert!(err.message.contains("cell `ghost`"), "{err}");
        assert_eq!(err.at, Some(at()));
    }
}

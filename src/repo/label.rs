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
}

impl Label {
    pub fn parse(text: &str) -> Option<Label> {
        if let Some(file) = text.strip_prefix(':') {
            return (!file.is_empty()).then(|| Label::PackageRelative {
                file: file.to_owned(),
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
pub fn resolve_load(repo: &Repo, label: &str, from: &Path, at: &Location) -> Result<PathBuf, UserError> {
    let parsed = Label::parse(label).ok_or_else(|| {
        UserError::new(format!("`{label}` is not a load label"))
            .at(at.clone())
            .hint("load labels look like `@cell//package:file.bzl` or `:file.bzl`")
    })?;
    let path = match &parsed {
        Label::PackageRelative { file } => from.parent().unwrap_or(Path::new("")).join(file),
        Label::CellRelative { package, file } => {
            let (_, cell_dir) = repo.cell_of(from).unwrap_or(("root", Path::new("")));
            cell_dir.join(package).join(file)
        }
        Label::Cell {
            cell,
            package,
            file,
        } => {
            let cell_dir = repo.cell_dir(cell).ok_or_else(|| {
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
            Some(Label::PackageRelative { file: "t.bzl".into() })
        );
        assert_eq!(
            Label::parse("@prelude-si//deno/toolchain.bzl"),
            Some(Label::Cell {
                cell: "prelude-si".into(),
                package: "deno".into(),
                file: "toolchain.bzl".into()
            })
        );
        assert_eq!(Label::parse("nonsense"), None);
        assert_eq!(Label::parse(":"), None);
    }
}

//! Which downloads the rewrite leaves in place: every download the evaluation found
//! ([`crate::downloads`]) that no target the rewrite replaces accounts for. Never hidden:
//! `generate` exits 1 over any of them.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::targets::{Status, Target};
use crate::downloads::{Download, Evaluated};
use crate::know::Knowledge;

/// A download the rewrite leaves in place.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DownloadLeft {
    /// The statement a person edits (the macro call, for a macro's downloads).
    pub file: PathBuf,
    pub line: usize,
    pub target: String,
    pub rule: String,
    /// Empty when the URL is built inside a rule's implementation or at build time.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// The targets that use it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub used_by: Vec<String>,
    /// The toolchains cell's targets that reach it: the toolchains left downloading.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub toolchains: Vec<String>,
    /// Made at build time from data read then (a dynamic action).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dynamic: bool,
    /// What a person must do about it.
    pub fix: String,
    /// Why the rewrite keeps it: a use it leaves alone still needs it ([`super::kept`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept_because: Option<String>,
}

/// The downloads of `found` the rewrite does not remove, then — for build files that did not
/// evaluate — the targets whose rule names look like downloads (names are all there is to go
/// on there).
pub fn downloads_left(
    targets: &[Target],
    found: &Evaluated,
    know: &Knowledge,
) -> (Vec<DownloadLeft>, Vec<DownloadLeft>) {
    let (libraries, mut left): (Vec<DownloadLeft>, Vec<DownloadLeft>) = found
        .downloads
        .iter()
        .filter(|d| !rewritten(targets, d))
        .map(left_of)
        .partition(|d| is_library_source(d, know));
    let unevaluated: Vec<&Path> = found.failed.iter().map(|(f, _)| f.as_path()).collect();
    left.extend(
        targets
            .iter()
            .filter(|t| unevaluated.contains(&t.file.as_path()))
            .filter(|t| t.status == Status::Other && looks_like_a_download(&t.rule))
            .filter(|t| !left.iter().any(|l| l.file == t.file && l.line == t.line))
            .map(named_like_a_download)
            .collect::<Vec<_>>(),
    );
    left.sort_by(|a, b| (&a.file, a.line, &a.target).cmp(&(&b.file, b.line, &b.target)));
    (left, libraries)
}

/// A download of a library's source from a package registry (a wheel, a crate): not a
/// toolchain, so it stays and is no reason to exit 1. Every URL must be a registry's.
fn is_library_source(d: &DownloadLeft, know: &Knowledge) -> bool {
    !d.urls.is_empty()
        && d.urls
            .iter()
            .all(|u| know.library_urls.iter().any(|l| u.contains(l.as_str())))
}

/// One warning naming the library downloads kept, so that none is passed over in silence.
pub fn libraries_warning(libraries: &[DownloadLeft]) -> Option<String> {
    let first = libraries.first()?;
    Some(format!(
        "{}:{}: {} download{} of library sources from package registries ({}{}) stay{}: they are no toolchain (see `scan --json`, downloads[])",
        first.file.display(),
        first.line,
        libraries.len(),
        if libraries.len() == 1 { "" } else { "s" },
        first.target,
        if libraries.len() > 1 { ", …" } else { "" },
        if libraries.len() == 1 { "s" } else { "" },
    ))
}

/// Whether the statement that makes `d` is one the rewrite replaces: a distribution it
/// deletes, or a download toolchain it turns into a system one.
fn rewritten(targets: &[Target], d: &Download) -> bool {
    targets.iter().any(|t| {
        t.file == d.edit_at.file
            && t.line == d.edit_at.line
            && matches!(t.status, Status::Distribution | Status::Hermetic)
    })
}

fn left_of(d: &Download) -> DownloadLeft {
    let fix = if d.dynamic() {
        format!(
            "`{}` downloads at build time from data it reads then; replace the toolchain that uses it with one from PATH by hand (e.g. the prelude's system_*_toolchain)",
            d.rule
        )
    } else {
        format!(
            "si-nixify cannot rewrite what uses `{}` (rule `{}`) yet: put the toolchain onto tools from PATH by hand (the prelude's system_*_toolchain), or teach si-nixify the rule in .si-nixify/*.json (see README, 'Teaching si-nixify a rule')",
            d.label, d.rule
        )
    };
    DownloadLeft {
        file: d.edit_at.file.clone(),
        line: d.edit_at.line,
        target: d.label.clone(),
        rule: d.rule.clone(),
        urls: d.urls.clone(),
        used_by: d.used_by.clone(),
        toolchains: d.toolchains.clone(),
        dynamic: d.dynamic(),
        fix,
        kept_because: None,
    }
}

fn named_like_a_download(t: &Target) -> DownloadLeft {
    DownloadLeft {
        file: t.file.clone(),
        line: t.line,
        target: t.name.clone(),
        rule: t.rule.clone(),
        urls: Vec::new(),
        used_by: Vec::new(),
        toolchains: Vec::new(),
        dynamic: false,
        fix: format!(
            "teach si-nixify rule `{}` in .si-nixify/*.json (see README, 'Teaching si-nixify a rule'), or rewrite the target onto tools from PATH by hand",
            t.rule
        ),
        kept_because: None,
    }
}

/// The one-line warning for a download left.
pub fn warning(d: &DownloadLeft) -> String {
    let what = if d.dynamic {
        "downloads at build time from data it reads then (a dynamic action)".to_owned()
    } else {
        match d.urls.first() {
            Some(url) => format!("downloads {url}"),
            None => format!("downloads (rule `{}`)", d.rule),
        }
    };
    let others = |labels: &[String]| -> Vec<String> {
        labels.iter().filter(|l| **l != d.target).cloned().collect()
    };
    let toolchains = others(&d.toolchains);
    let users = match (toolchains.is_empty(), others(&d.used_by)) {
        (false, _) => format!(" for {}", toolchains.join(", ")),
        (true, used) if !used.is_empty() => format!(" for {}", used.join(", ")),
        _ => String::new(),
    };
    let kept = d
        .kept_because
        .as_ref()
        .map(|k| format!(" ({k})"))
        .unwrap_or_default();
    format!(
        "{}:{}: `{}` {what}{users}; si-nixify leaves it unchanged{kept}",
        d.file.display(),
        d.line,
        d.target
    )
}

/// Names are all there is to go on for a rule whose file could not be evaluated.
pub fn looks_like_a_download(rule: &str) -> bool {
    ["download", "fetch", "hermetic", "_distribution", "_dist"]
        .iter()
        .any(|w| rule.contains(w))
        || crate::downloads::NATIVE_DOWNLOAD_RULES.contains(&rule)
}

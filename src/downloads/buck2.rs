//! The same answer as [`super::downloads`], from a real `buck2` on PATH (or named by
//! `SI_NIXIFY_BUCK2`): `buck2 uquery "<cell>//..." --output-all-attributes --json` gives
//! every target's rule kind and evaluated attrs, `buck2 targets --stack <cell>//...` each
//! target's call stack. Neither builds or downloads anything.
//!
//! UNTESTED: no `buck2` exists where this was written; the output shapes below are those
//! documented for Buck2 (June 2025). The starlark-crate path is the tested one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{behaviour, Evaluated, EvaluatedTarget, Site, Via};
use crate::error::UserError;
use crate::read::Sources;
use crate::repo::Repo;

/// The `buck2` to use: `SI_NIXIFY_BUCK2` when set, else `buck2` when on PATH.
pub fn find() -> Option<PathBuf> {
    match std::env::var_os("SI_NIXIFY_BUCK2") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => which::which("buck2").ok(),
    }
}

/// Targets and downloads of `pattern` (`toolchains//...`), as `buck2` evaluates them.
pub fn downloads(repo: &Repo, buck2: &Path, pattern: &str) -> Result<Evaluated, UserError> {
    let query = run(
        repo,
        buck2,
        &["uquery", pattern, "--output-all-attributes", "--json"],
    )?;
    let stacks = run(repo, buck2, &["targets", "--stack", pattern])?;
    let attrs: BTreeMap<String, BTreeMap<String, serde_json::Value>> = serde_json::from_str(&query)
        .map_err(|e| {
            UserError::new(format!(
                "`buck2 uquery` printed something other than JSON: {e}"
            ))
        })?;
    let stacks = parse_stacks(&stacks);
    let targets: Vec<EvaluatedTarget> = attrs
        .into_iter()
        .map(|(label, attrs)| target(repo, label, attrs, &stacks))
        .collect();
    let mut downloads = Vec::new();
    let graph = super::graph::Graph::of(&targets);
    for (i, t) in targets.iter().enumerate() {
        if let Some(via) = via(repo, t) {
            downloads.push(super::download(t, via, &targets, &graph, i));
        }
    }
    Ok(Evaluated {
        targets,
        downloads,
        warnings: Vec::new(),
        failed: Vec::new(),
    })
}

fn run(repo: &Repo, buck2: &Path, args: &[&str]) -> Result<String, UserError> {
    let out = std::process::Command::new(buck2)
        .args(args)
        .current_dir(&repo.root)
        .output()
        .map_err(|e| UserError::new(format!("cannot run `{}`: {e}", buck2.display())))?;
    if !out.status.success() {
        return Err(UserError::new(format!(
            "`{} {}` failed: {}",
            buck2.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `buck2 targets --stack` text: a label on its own line, then its frames indented,
/// `File "toolchains/BUCK", line 6, in <module>` outermost first.
fn parse_stacks(text: &str) -> BTreeMap<String, Vec<Site>> {
    let mut out: BTreeMap<String, Vec<Site>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if !line.starts_with(char::is_whitespace) {
            current = Some(trimmed.to_owned());
            out.entry(trimmed.to_owned()).or_default();
            continue;
        }
        let (Some(label), Some(site)) = (&current, frame(trimmed)) else {
            continue;
        };
        out.entry(label.clone()).or_default().push(site);
    }
    out
}

/// `File "path", line N, in name` → path:N.
fn frame(line: &str) -> Option<Site> {
    let rest = line.strip_prefix("File \"")?;
    let (file, rest) = rest.split_once('"')?;
    let rest = rest.trim_start_matches(',').trim().strip_prefix("line ")?;
    let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some(Site {
        file: PathBuf::from(file),
        line: n.parse().ok()?,
    })
}

fn target(
    repo: &Repo,
    label: String,
    mut attrs: BTreeMap<String, serde_json::Value>,
    stacks: &BTreeMap<String, Vec<Site>>,
) -> EvaluatedTarget {
    let kind = attrs
        .remove("buck.type")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    // `buck.package` is `cell//pkg:BUCK`: the build file.
    let build_file = attrs
        .get("buck.package")
        .and_then(|v| v.as_str())
        .and_then(|p| label_path(repo, p));
    attrs.retain(|k, _| !k.starts_with("buck."));
    let stack = stacks.get(&label).cloned().unwrap_or_default();
    let fallback = Site {
        file: build_file.clone().unwrap_or_default(),
        line: 0,
    };
    let call = stack.first().cloned().unwrap_or_else(|| fallback.clone());
    let rule_call = stack.last().cloned().unwrap_or(fallback);
    let name = label
        .rsplit_once(':')
        .map_or(label.as_str(), |(_, n)| n)
        .to_owned();
    // A rule of the repo is reported as `cell//path/file.bzl:name`; a native one by name.
    let (rule, rule_defined_at) = match kind.rsplit_once(':') {
        Some((file, rule)) => (
            rule.to_owned(),
            label_path(repo, &format!("{file}:")).map(|f| Site { file: f, line: 0 }),
        ),
        None => (kind.clone(), None),
    };
    EvaluatedTarget {
        package: build_file
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default(),
        label,
        name,
        rule,
        attrs,
        call,
        rule_call,
        stack,
        rule_defined_at,
        defaults: Default::default(),
    }
}

/// `cell//pkg:file` (or `cell//pkg/file.bzl:` for a rule's file) as a root-relative path.
fn label_path(repo: &Repo, label: &str) -> Option<PathBuf> {
    let (cell, rest) = label.split_once("//")?;
    let dir = repo.cell_dir(cell.trim_start_matches('@'))?;
    let path = match rest.rsplit_once(':') {
        Some((pkg, "")) => PathBuf::from(pkg),
        Some((pkg, file)) => Path::new(pkg).join(file),
        None => PathBuf::from(rest),
    };
    Some(dir.join(path))
}

fn via(repo: &Repo, t: &EvaluatedTarget) -> Option<Via> {
    let Some(at) = &t.rule_defined_at else {
        return super::NATIVE_DOWNLOAD_RULES
            .contains(&t.rule.as_str())
            .then_some(Via::Native);
    };
    let sources = Sources::read(repo, std::slice::from_ref(&at.file)).ok()?;
    let b = behaviour::of_rule(&sources, &at.file, &t.rule)?;
    super::via_of(&b, t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacks_are_read_outermost_first() {
        let text = "toolchains//:rust-dist-x86_64-linux\n  File \"toolchains/BUCK\", line 6, in <module>\n  File \"toolchains/rust_releases.bzl\", line 31, in rust_toolchains\ntoolchains//:python_bootstrap\n  File \"toolchains/BUCK\", line 4, in <module>\n";
        let s = parse_stacks(text);
        let rust = &s["toolchains//:rust-dist-x86_64-linux"];
        assert_eq!(rust.len(), 2);
        assert_eq!(rust[0].to_string(), "toolchains/BUCK:6");
        assert_eq!(rust[1].to_string(), "toolchains/rust_releases.bzl:31");
        assert_eq!(s["toolchains//:python_bootstrap"][0].line, 4);
    }
}

//! What each target in toolchains/BUCK is: a download, a hermetic toolchain built from one, a
//! system toolchain, a custom rule still pointing at a download, or something else.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::know::Knowledge;
use crate::read::{Arg, Module, Node, Span};
use crate::repo::Repo;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Distribution,
    Hermetic,
    /// A rule that only ran a downloaded binary: becomes `si_nixify_path_tool`.
    PathTool,
    System,
    Custom,
    Other,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Distribution => "distribution",
            Status::Hermetic => "hermetic",
            Status::PathTool => "path_tool",
            Status::System => "system",
            Status::Custom => "custom",
            Status::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub name: String,
    pub rule: String,
    /// The build file it is declared in.
    pub file: PathBuf,
    pub line: usize,
    pub status: Status,
    pub family: Option<String>,
    pub replacement: Option<String>,
    pub distribution: Option<String>,
    /// For a `toolchain_alias`: the targets its `actual` (through any `select`) leads to,
    /// following alias chains, as `toolchains//pkg:name`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resolves_to: Vec<String>,
    /// The targets of the cell its attrs name (`:x`, `//pkg:x`, `$(location :x)/…`), as
    /// `toolchains//pkg:name`: the edges of the cell's graph.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deps: Vec<String>,
    /// Index of the call among the build file's top-level calls.
    #[serde(skip)]
    pub call_index: usize,
    /// What stands in for a rule the knowledge base does not name, found by what the rule
    /// does ([`super::generic`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stand_in: Option<super::generic::StandIn>,
    /// For a macro call whose every target goes or is replaced: the targets written out in
    /// its place.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub made: Vec<super::generic::MadeTarget>,
    /// Not a rule call but a top-level statement that makes targets (a list comprehension
    /// over a release table): deleted whole when every target it makes goes.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub comprehension: bool,
    #[serde(skip)]
    pub span: Span,
}

/// A top-level rule call of the BUCK file.
pub struct Call<'a> {
    pub node: &'a Node,
    pub rule: &'a str,
    pub args: &'a [Arg],
}

impl<'a> Call<'a> {
    pub fn kwarg(&self, name: &str) -> Option<&'a Arg> {
        self.args.iter().find(|a| a.name.as_deref() == Some(name))
    }

    /// The span of the rule name being called (`hermetic_rust_toolchain` in `…(`).
    pub fn rule_span(&self) -> Span {
        match &self.node.expr {
            crate::read::Expr::Call { func, .. } => func.span,
            _ => self.node.span,
        }
    }

    pub fn name(&self) -> Option<&'a str> {
        self.kwarg("name").and_then(|a| a.value.as_str())
    }
}

pub fn calls(module: &Module) -> Vec<Call<'_>> {
    module
        .calls()
        .map(|(node, rule, args)| Call { node, rule, args })
        .collect()
}

/// The target a BUCK-local reference names: `:x`, `:x[sub]`, `$(location :x)/bin/tool`.
pub fn referenced_target(value: &str) -> Option<&str> {
    let label = match value.find("$(location :") {
        Some(i) => &value[i + "$(location ".len()..],
        None => value,
    };
    let label = label.strip_prefix(':')?;
    let end = label.find([')', '[', '/', ' ']).unwrap_or(label.len());
    Some(&label[..end])
}

/// Whether target `referenced` is `dist` or one a distribution macro made from it:
/// macros name helper targets by suffixing their `name` (`rust_dist-extraction`).
pub fn belongs_to(referenced: &str, dist: &str) -> bool {
    referenced == dist
        || referenced
            .strip_prefix(dist)
            .is_some_and(|rest| rest.starts_with(['-', '_']))
}

/// Classify every call of the BUCK file.
pub fn classify(module: &Module, know: &Knowledge) -> Vec<Target> {
    // Distribution targets first (named download rules, then the fetchers only they use), so
    // that custom rules can be told apart from others.
    let calls = calls(module);
    let mut dist_names: Vec<&str> = calls
        .iter()
        .filter(|c| know.distributions.contains_key(c.rule))
        .filter_map(|c| c.name())
        .collect();
    let mut fetched = fetched_only_by_distributions(&calls, know, &dist_names);
    dist_names.extend(fetched.iter().map(|(name, _)| *name));
    let aliases = aliases_of_distributions(&calls, know, &mut dist_names);
    fetched.extend(aliases);
    calls
        .iter()
        .enumerate()
        .map(|(index, call)| {
            let mut t = classify_call(module, know, call, index, &dist_names);
            if let Some((_, family)) = fetched.iter().find(|(n, _)| Some(*n) == call.name()) {
                t.status = Status::Distribution;
                t.family = family.clone();
            }
            t
        })
        .collect()
}

/// `alias(actual = select({os: ":zig-x86_64-linux", …}))` whose every branch is a
/// distribution (aherrmann/buck2-conan-toolchain-example): the alias picks a download, so it
/// goes with them. Chains of such aliases too; each is added to `dist_names`.
fn aliases_of_distributions<'a>(
    calls: &[Call<'a>],
    know: &Knowledge,
    dist_names: &mut Vec<&'a str>,
) -> Vec<(&'a str, Option<String>)> {
    let mut out = Vec::new();
    loop {
        let found = calls.iter().find_map(|c| {
            let name = c.name()?;
            if !matches!(c.rule, "alias" | "toolchain_alias") || dist_names.contains(&name) {
                return None;
            }
            let actuals: Vec<&str> = c
                .kwarg("actual")?
                .value
                .strings()
                .into_iter()
                .filter_map(|s| s.as_str())
                .filter(|s| s.contains(':') && !s.contains("//os:") && !s.contains("//cpu:"))
                .collect();
            let all_distributions = !actuals.is_empty()
                && actuals.iter().all(|a| {
                    referenced_target(a)
                        .is_some_and(|r| dist_names.iter().any(|d| belongs_to(r, d)))
                });
            all_distributions.then(|| {
                let first = referenced_target(actuals[0]).unwrap_or_default();
                let family = calls
                    .iter()
                    .find(|d| d.name() == Some(first))
                    .and_then(|d| know.family_of(d.rule))
                    .map(str::to_owned);
                (name, family)
            })
        });
        match found {
            Some(alias) => {
                dist_names.push(alias.0);
                out.push(alias);
            }
            None => return out,
        }
    }
}

/// Fetcher targets (`http_archive`) that distributions refer to and nothing else does, with
/// the family of the distribution that uses them.
fn fetched_only_by_distributions<'a>(
    calls: &[Call<'a>],
    know: &Knowledge,
    dist_names: &[&str],
) -> Vec<(&'a str, Option<String>)> {
    calls
        .iter()
        .filter(|c| know.fetchers.iter().any(|f| f == c.rule))
        .filter_map(|fetcher| {
            let name = fetcher.name()?;
            let users: Vec<&Call> = calls
                .iter()
                .filter(|c| c.name() != Some(name))
                .filter(|c| references(c).contains(&name))
                .collect();
            let all_distributions = !users.is_empty()
                && users
                    .iter()
                    .all(|u| u.name().is_some_and(|n| dist_names.contains(&n)));
            all_distributions.then(|| {
                let family = know.family_of(users[0].rule).map(str::to_owned);
                (name, family)
            })
        })
        .collect()
}

/// Every BUCK-local target a call's attrs refer to.
fn references<'a>(call: &Call<'a>) -> Vec<&'a str> {
    call.args
        .iter()
        .filter(|a| a.name.as_deref() != Some("name"))
        .flat_map(|a| a.value.strings())
        .filter_map(|s| s.as_str().and_then(referenced_target))
        .collect()
}

fn classify_call(
    module: &Module,
    know: &Knowledge,
    call: &Call,
    call_index: usize,
    dist_names: &[&str],
) -> Target {
    let mut target = Target {
        name: call.name().unwrap_or_default().to_owned(),
        rule: call.rule.to_owned(),
        file: module.path.clone(),
        resolves_to: alias_actuals(call),
        deps: written_labels(call),
        line: module.line(call.node.span.start),
        status: Status::Other,
        family: know.family_of(call.rule).map(str::to_owned),
        replacement: None,
        distribution: None,
        call_index,
        stand_in: None,
        made: Vec::new(),
        comprehension: false,
        span: call.node.span,
    };
    if know.distributions.contains_key(call.rule) {
        target.status = Status::Distribution;
    } else if let Some((_, rule)) = know
        .toolchains
        .get(call.rule)
        .filter(|(_, rule)| takes_its_distribution(call, rule))
    {
        target.status = Status::Hermetic;
        target.replacement = Some(rule.replacement.rule.clone());
        target.distribution = rule
            .distribution_attr
            .as_deref()
            .and_then(|a| call.kwarg(a))
            .and_then(|a| a.value.as_str())
            .and_then(referenced_target)
            .map(str::to_owned);
    } else if let Some(dist) = distribution_reference(call, dist_names) {
        target.status = Status::Custom;
        target.distribution = Some(dist.to_owned());
    } else if know.system_rules.contains_key(call.rule) || call.rule.starts_with("system_") {
        target.status = Status::System;
    }
    target
}

/// Whether `call` is the rule the knowledge base describes, not another repo's rule of the
/// same name: it is given its distribution through the attr the knowledge names
/// (WebAssembly/wasi-testsuite's own `hermetic_rust_toolchain` takes `host_distribution`,
/// SI's takes `distribution`).
fn takes_its_distribution(call: &Call, rule: &crate::know::ToolchainRule) -> bool {
    rule.distribution_attr
        .as_deref()
        .is_none_or(|attr| call.kwarg(attr).is_some())
}

/// The first distribution any string in the call's attrs refers to.
pub fn distribution_reference<'a>(call: &Call, dist_names: &[&'a str]) -> Option<&'a str> {
    call.args
        .iter()
        .filter(|a| a.name.as_deref() != Some("name"))
        .flat_map(|a| a.value.strings())
        .filter_map(|s| s.as_str().and_then(referenced_target))
        .find_map(|r| dist_names.iter().copied().find(|d| belongs_to(r, d)))
}

/// The labels a `toolchain_alias`'s `actual` names (every branch of a `select`), as written.
fn alias_actuals(call: &Call) -> Vec<String> {
    if call.rule != "toolchain_alias" {
        return Vec::new();
    }
    call.kwarg("actual")
        .map(|a| a.value.strings())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| s.as_str())
        // `select` keys are config settings, not targets: only values are kept, and values
        // are labels (`:x`, `//p:x`, `cell//p:x`).
        .filter(|s| s.contains(':') && !s.contains("//os:") && !s.contains("//cpu:"))
        .map(str::to_owned)
        .collect()
}

/// Every string of the call's attrs (but `name` and `visibility`) that is a target label,
/// the label inside `$(location …)` included; resolved to the cell's targets in `link`.
fn written_labels(call: &Call) -> Vec<String> {
    call.args
        .iter()
        .filter(|a| !matches!(a.name.as_deref(), Some("name" | "visibility")))
        .flat_map(|a| a.value.strings())
        .filter_map(|s| s.as_str())
        .map(|s| match s.find("$(location ") {
            Some(i) => &s[i + "$(location ".len()..],
            None => s,
        })
        .map(|s| &s[..s.find([')', ' ', '[']).unwrap_or(s.len())])
        .filter(|s| s.starts_with(':') || (s.contains("//") && s.contains(':')))
        .map(str::to_owned)
        .collect()
}

/// `cell//pkg:name` of a label written in `file`, when it names a target of the toolchains
/// cell.
pub fn toolchains_label(repo: &Repo, file: &Path, label: &str) -> Option<String> {
    let dir = repo.toolchains_dir();
    let package_of_file = file.parent()?.strip_prefix(&dir).ok()?;
    let (cell, rest) = match label.split_once("//") {
        Some((cell, rest)) => (Some(cell.trim_start_matches('@')), rest),
        None => (None, label),
    };
    let (package, name) = rest.split_once(':')?;
    let in_cell = match cell {
        None | Some("") => true,
        Some(c) => repo.cell_dir(c) == Some(dir.as_path()),
    };
    if !in_cell {
        return None;
    }
    let package = match (cell, label.starts_with(':')) {
        (None, true) => package_of_file.to_string_lossy().into_owned(),
        _ => package.to_owned(),
    };
    Some(format!("toolchains//{package}:{name}"))
}

/// The target of the cell a string written in `file` names, as `(package, name)`: a label
/// (`:x`, `//pkg:x`, `toolchains//pkg:x`) or one inside `$(location …)`, its sub-target and
/// path cut off.
pub fn cell_target_named(repo: &Repo, file: &Path, text: &str) -> Option<(String, String)> {
    let written = match text.find("$(location ") {
        Some(i) => &text[i + "$(location ".len()..],
        None => text,
    };
    let written = &written[..written.find([')', ' ']).unwrap_or(written.len())];
    if !written.starts_with(':') && !written.contains("//") {
        return None;
    }
    let full = toolchains_label(repo, file, written)?;
    let (package, name) = full.strip_prefix("toolchains//")?.split_once(':')?;
    let name = &name[..name.find(['[', '/']).unwrap_or(name.len())];
    Some((package.to_owned(), name.to_owned()))
}

/// Link the cell's targets into a graph: each target's `deps` resolved to the targets of
/// the cell they name, and each `toolchain_alias` to what it finally selects, through chains
/// of aliases.
pub fn link(targets: &mut [Target], repo: &Repo) {
    let dir = repo.toolchains_dir();
    let known: std::collections::BTreeSet<String> =
        targets.iter().map(|t| label_in(&dir, t)).collect();
    for t in targets.iter_mut() {
        let mut deps: Vec<String> = t
            .deps
            .iter()
            .filter_map(|l| toolchains_label(repo, &t.file, l))
            .filter(|l| known.contains(l))
            .collect();
        deps.sort();
        deps.dedup();
        t.deps = deps;
    }
    follow_aliases(targets, repo);
}

/// `toolchains//pkg:name` of a target.
pub fn label_in(dir: &Path, t: &Target) -> String {
    let package = t
        .file
        .parent()
        .and_then(|p| p.strip_prefix(dir).ok())
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("toolchains//{package}:{}", t.name)
}

fn follow_aliases(targets: &mut [Target], repo: &Repo) {
    let dir = repo.toolchains_dir();
    let label_of = |t: &Target| label_in(&dir, t);
    let by_label: std::collections::BTreeMap<String, (Vec<String>, PathBuf)> = targets
        .iter()
        .map(|t| (label_of(t), (t.resolves_to.clone(), t.file.clone())))
        .collect();
    for t in targets.iter_mut().filter(|t| !t.resolves_to.is_empty()) {
        let mut out: Vec<String> = Vec::new();
        let mut queue: Vec<(String, PathBuf)> = t
            .resolves_to
            .iter()
            .map(|l| (l.clone(), t.file.clone()))
            .collect();
        let mut seen = std::collections::BTreeSet::new();
        while let Some((label, from)) = queue.pop() {
            let Some(full) = toolchains_label(repo, &from, &label) else {
                continue;
            };
            if !seen.insert(full.clone()) {
                continue;
            }
            match by_label.get(&full) {
                Some((next, file)) if !next.is_empty() => {
                    queue.extend(next.iter().map(|l| (l.clone(), file.clone())))
                }
                _ => out.push(full),
            }
        }
        out.sort();
        t.resolves_to = out;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_found_in_labels_and_locations() {
        assert_eq!(referenced_target(":rust_dist"), Some("rust_dist"));
        assert_eq!(referenced_target(":x[sub]"), Some("x"));
        assert_eq!(
            referenced_target("$(location :deno_dist-extraction)/toolchain/bin/deno"),
            Some("deno_dist-extraction")
        );
        assert_eq!(referenced_target("root//:clippy.toml"), None);
        assert_eq!(referenced_target("deno"), None);
    }

    #[test]
    fn macro_helper_targets_belong_to_their_distribution() {
        assert!(belongs_to("deno_dist-extraction", "deno_dist"));
        assert!(belongs_to("deno_dist", "deno_dist"));
        assert!(!belongs_to("deno_distant", "deno_dist"));
    }
}

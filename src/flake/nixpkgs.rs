//! Which attributes the nixpkgs that the flake locks really has. A versioned attribute
//! (`go_1_24`, `llvmPackages_16`, `python310`) comes and goes between releases, and advice
//! naming a missing one breaks the devshell. With `nix` on PATH the locked nixpkgs is asked
//! (`builtins.hasAttr`, offline, with a time limit); without, or when that fails, a data table
//! of releases (toolchains/nixpkgs.json) answers.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::know::{Knowledge, NixpkgsRelease};

/// How long `nix eval` may take: importing nixpkgs takes seconds; a store path that would
/// have to be downloaded fails at once with `--offline`.
const NIX_LIMIT: Duration = Duration::from_secs(90);

/// The nixpkgs input of flake.lock, as far as choosing a release needs it.
#[derive(Debug, Clone, Default)]
pub struct Locked {
    /// `locked` of the node, as JSON (what `builtins.fetchTree` takes).
    pub locked: Value,
    /// `original.ref` (`nixos-25.05`, `nixpkgs-unstable`).
    pub reference: Option<String>,
    pub last_modified: Option<i64>,
}

/// Where the answers came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Nix,
    Table(String),
}

/// The attributes known to exist, among those asked.
#[derive(Debug, Clone)]
pub struct Attrs {
    pub present: BTreeSet<String>,
    pub source: Source,
}

impl Attrs {
    pub fn has(&self, attr: &str) -> bool {
        self.present.contains(head(attr))
    }

    pub fn describe(&self) -> String {
        match &self.source {
            Source::Nix => "the locked nixpkgs (evaluated with nix)".to_owned(),
            Source::Table(r) => format!("nixpkgs {r} (si-nixify's release table)"),
        }
    }
}

/// `llvmPackages_20.clang` → `llvmPackages_20`: existence is a top-level question.
fn head(attr: &str) -> &str {
    attr.split('.').next().unwrap_or(attr)
}

/// The nixpkgs node of `flake.lock` beside the flake, if there is one.
pub fn locked(flake_dir: &Path) -> Option<Locked> {
    let text = std::fs::read_to_string(flake_dir.join("flake.lock")).ok()?;
    let lock: Value = serde_json::from_str(&text).ok()?;
    let nodes = lock.get("nodes")?;
    let root = lock.get("root").and_then(Value::as_str).unwrap_or("root");
    let input = nodes.get(root)?.get("inputs")?.get("nixpkgs")?;
    // An input is a node name, or a `follows` path whose last element names it.
    let name = match input {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.last()?.as_str()?.to_owned(),
        _ => return None,
    };
    let node = nodes.get(&name)?;
    let locked = node.get("locked")?.clone();
    Some(Locked {
        last_modified: locked.get("lastModified").and_then(Value::as_i64),
        reference: node
            .get("original")
            .and_then(|o| o.get("ref"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        locked,
    })
}

/// Which of `candidates` exist in the locked nixpkgs.
pub fn check(lock: Option<&Locked>, candidates: &[String], know: &Knowledge) -> Attrs {
    if let Some(present) = lock.and_then(|l| ask_nix(l, candidates)) {
        return Attrs {
            present,
            source: Source::Nix,
        };
    }
    let release = release_for(lock, &know.nixpkgs_releases);
    Attrs {
        present: release
            .map(|r| {
                candidates
                    .iter()
                    .filter(|c| r.attrs.iter().any(|a| a == head(c)))
                    .map(|c| head(c).to_owned())
                    .collect()
            })
            .unwrap_or_default(),
        source: Source::Table(release.map_or("(unknown)".to_owned(), |r| r.release.clone())),
    }
}

/// The table's release for a lock: the one its `ref` names (`nixos-25.05` → 25.05), else the
/// newest whose date is not after the lock's `lastModified`, else the newest.
pub fn release_for<'a>(
    lock: Option<&Locked>,
    releases: &'a [NixpkgsRelease],
) -> Option<&'a NixpkgsRelease> {
    if let Some(r) = lock.and_then(|l| l.reference.as_deref()) {
        if let Some(found) = releases.iter().find(|rel| r.contains(&rel.release)) {
            return Some(found);
        }
    }
    if let Some(t) = lock.and_then(|l| l.last_modified) {
        if let Some(found) = releases
            .iter()
            .filter(|r| r.released_unix <= t)
            .max_by_key(|r| r.released_unix)
        {
            return Some(found);
        }
    }
    releases.iter().max_by_key(|r| r.released_unix)
}

/// `nix eval` of `builtins.hasAttr` for each candidate on the locked source, offline.
fn ask_nix(lock: &Locked, candidates: &[String]) -> Option<BTreeSet<String>> {
    let nix = which::which("nix").ok()?;
    let heads: BTreeSet<&str> = candidates.iter().map(|c| head(c)).collect();
    let names = heads
        .iter()
        .map(|h| format!("\"{h}\""))
        .collect::<Vec<_>>()
        .join(" ");
    let expr = format!(
        "let pkgs = import (builtins.fetchTree (builtins.fromJSON ''{}'')) {{ }}; in builtins.filter (a: builtins.hasAttr a pkgs) [ {names} ]",
        lock.locked
    );
    let args = [
        "--extra-experimental-features",
        "nix-command flakes",
        "--offline",
        "eval",
        "--impure",
        "--json",
        "--expr",
        &expr,
    ]
    .map(str::to_owned);
    let out = crate::process::run(&nix, &args, None, NIX_LIMIT)?;
    if !out.success {
        return None;
    }
    let names: Vec<String> = serde_json::from_str(out.stdout.trim()).ok()?;
    Some(names.into_iter().collect())
}

//! Version drift: the versions toolchains/BUCK pinned (through its distributions) against what
//! the devshell really provides. Reported, never hidden, with the line to change.

use std::path::Path;

use serde::Serialize;

use super::devshell::{binaries_of, path_chain};
use super::Flake;
use crate::inventory::{Inventory, Status};
use crate::know::Knowledge;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Drift {
    pub family: String,
    pub pinned: String,
    /// Where the pin was: the distribution target's line in toolchains/BUCK.
    pub pinned_line: usize,
    pub provided_by: String,
    pub file: String,
    pub line: usize,
    pub message: String,
    pub fix: String,
}

/// The version each family was pinned to by the distributions its hermetic toolchains used:
/// (family, version, line of the distribution target).
pub fn pins(inv: &Inventory) -> Vec<(String, String, usize)> {
    let mut out: Vec<(String, String, usize)> = Vec::new();
    for t in inv.targets.iter().filter(|t| t.status == Status::Hermetic) {
        let Some(dist) = inv
            .distributions
            .iter()
            .find(|d| Some(&d.name) == t.distribution.as_ref())
        else {
            continue;
        };
        if let (Some(family), Some(version)) = (&dist.family, &dist.version) {
            if !out.iter().any(|(f, _, _)| f == family) {
                out.push((family.clone(), version.clone(), dist.line));
            }
        }
    }
    out
}

pub fn find(root: &Path, inv: &Inventory, flake: &Flake, know: &Knowledge) -> Vec<Drift> {
    let mut out = Vec::new();
    for (family, pinned, pinned_line) in pins(inv) {
        let Some(tool) = inv
            .required_tools
            .iter()
            .find(|t| t.pinned_by.as_deref() == Some(family.as_str()))
        else {
            continue;
        };
        let Some((element, line)) = flake.segments.iter().find_map(|s| {
            s.elements
                .iter()
                .find(|e| binaries_of(&flake.root, &e.text, know).contains(&tool.binary))
                .map(|e| (e.text.clone(), flake.line(e.span.start)))
        }) else {
            continue;
        };
        let base = Drift {
            family: family.clone(),
            pinned: pinned.clone(),
            pinned_line,
            provided_by: element.clone(),
            file: flake.path.display().to_string(),
            line,
            message: String::new(),
            fix: String::new(),
        };
        let chain = path_chain(&flake.root, &element);
        if chain.iter().any(|p| p.ends_with("fromRustupToolchainFile")) {
            if let Some(d) = rustup_file_drift(root, flake, &base) {
                out.push(d);
            }
            continue;
        }
        let Some(versioned) = know
            .nix_versions
            .iter()
            .find(|v| v.binary == tool.binary)
            .and_then(|v| v.for_version(&pinned))
        else {
            continue;
        };
        let head = chain.last().cloned().unwrap_or_default();
        if head == versioned || chain.contains(&versioned) {
            continue;
        }
        out.push(Drift {
            message: format!(
                "toolchains/BUCK:{pinned_line} pinned {family} {pinned}, but {}:{line} provides `{}`, nixpkgs' default version",
                base.file,
                element.trim()
            ),
            fix: format!("use `{versioned}` at {}:{line} to keep {family} at {}", base.file, major_minor(&pinned)),
            ..base
        });
    }
    out
}

fn major_minor(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

/// `rust-bin.fromRustupToolchainFile ./rust-toolchain`: compare the file's channel.
fn rustup_file_drift(root: &Path, flake: &Flake, base: &Drift) -> Option<Drift> {
    let marker = "fromRustupToolchainFile";
    let at = flake.text.find(marker)? + marker.len();
    let arg = flake.text[at..].split_whitespace().next()?;
    let arg = arg.trim_end_matches([';', ')']);
    let file = flake
        .path
        .parent()
        .unwrap_or(Path::new(""))
        .join(arg.trim_start_matches("./"));
    let text = std::fs::read_to_string(root.join(&file)).ok()?;
    let (index, channel) = text.lines().enumerate().find_map(|(i, l)| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == "channel").then(|| (i, v.trim().trim_matches('"').to_owned()))
    })?;
    if channel == base.pinned {
        return None;
    }
    let flake_line = flake.line(at);
    Some(Drift {
        message: format!(
            "toolchains/BUCK:{} pinned {} {}, but {}:{flake_line} takes it from {} whose channel is \"{channel}\"",
            base.pinned_line,
            base.family,
            base.pinned,
            base.file,
            file.display()
        ),
        fix: format!(
            "set `channel = \"{}\"` at {}:{} (or accept the drift)",
            base.pinned,
            file.display(),
            index + 1
        ),
        line: flake_line,
        ..base.clone()
    })
}

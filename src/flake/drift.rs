//! Version drift: the versions toolchains/BUCK pinned (through its distributions) against what
//! the devshell really provides. Reported, never hidden, with the line to change.

use std::path::Path;

use serde::Serialize;

use super::devshell::path_chain;
use super::nixpkgs::{self, Attrs};
use super::Flake;
use crate::inventory::Inventory;
use crate::know::Knowledge;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Drift {
    pub family: String,
    pub pinned: String,
    /// Where the pin was: the distribution target's line in toolchains/BUCK.
    pub pinned_line: usize,
    /// `toolchains/BUCK:48`, or that with "(recorded in .si-nixify/pins.json)" after generate.
    pub pinned_at: String,
    pub provided_by: String,
    pub file: String,
    pub line: usize,
    pub message: String,
    pub fix: String,
    /// The attribute that keeps the pinned version (or the nearest one this nixpkgs has), and
    /// whether it is the exact version; `None` when no such attribute exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggested: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub exact: bool,
    /// The rust-toolchain file whose `channel` differs from the pin (root-relative).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_file: Option<std::path::PathBuf>,
}

pub fn find(root: &Path, inv: &Inventory, flake: &Flake, know: &Knowledge) -> Vec<Drift> {
    let mut out = Vec::new();
    // (drift so far, the versioned attribute's candidates) for the nixpkgs check, done once.
    let mut versioned: Vec<(Drift, Vec<String>)> = Vec::new();
    for pin in &inv.pins {
        let (family, pinned, pinned_line) = (pin.family.clone(), pin.version.clone(), pin.line);
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
                .find(|e| flake.binaries_of(&e.text, know).contains(&tool.binary))
                .map(|e| (e.text.clone(), flake.line(e.span.start)))
        }) else {
            // Not in the devshell: generate adds nixpkgs' default version, which a
            // channel pin (`nightly-2025-04-17`) never is.
            if let Some(d) = channel_pin_drift(flake, pin, tool, know) {
                out.push(d);
            }
            continue;
        };
        let base = Drift {
            family: family.clone(),
            pinned: pinned.clone(),
            pinned_line,
            pinned_at: pin.origin(),
            provided_by: element.clone(),
            file: flake.path.display().to_string(),
            line,
            message: String::new(),
            fix: String::new(),
            suggested: None,
            exact: false,
            channel_file: None,
        };
        let chain = path_chain(&flake.root, &element);
        if chain.iter().any(|p| p.ends_with("fromRustupToolchainFile")) {
            if let Some(d) = rustup_file_drift(root, flake, &base) {
                out.push(d);
            }
            continue;
        }
        let Some(template) = know.nix_versions.iter().find(|v| v.binary == tool.binary) else {
            continue;
        };
        let candidates = template.candidates(&pinned);
        let Some(exact) = candidates.first() else {
            continue;
        };
        let head = chain.last().cloned().unwrap_or_default();
        if &head == exact || chain.contains(exact) {
            continue;
        }
        versioned.push((base, candidates));
    }
    if versioned.is_empty() {
        return out;
    }
    let all: Vec<String> = versioned
        .iter()
        .flat_map(|(_, c)| c.iter().cloned())
        .collect();
    let attrs = nixpkgs::check(nixpkgs::locked(&flake.dir).as_ref(), &all, know);
    for (base, candidates) in versioned {
        out.push(advise(base, &candidates, &attrs));
    }
    out
}

/// A tool pinned to a channel build (`rustfmt` nightly-2025-04-17) that the devshell lacks:
/// the package generate adds is a release, so the nightly-only behaviour the repo relied on
/// (`rustfmt`'s `unstable-features`) is gone. The fix comes from the knowledge base's
/// `channel_attr` for the binary.
fn channel_pin_drift(
    flake: &Flake,
    pin: &crate::inventory::pins::Pin,
    tool: &crate::inventory::RequiredTool,
    know: &Knowledge,
) -> Option<Drift> {
    let (channel, date) = pin.version.split_once('-')?;
    if date.is_empty() || channel.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let template = know
        .nix_versions
        .iter()
        .find(|v| v.binary == tool.binary)
        .and_then(|v| v.channel_attr.as_deref())?;
    let attr = template
        .replace("{channel}", channel)
        .replace("{date}", date);
    let line = flake
        .segments
        .first()
        .map_or(1, |s| flake.line(s.list.start));
    Some(Drift {
        family: pin.family.clone(),
        pinned: pin.version.clone(),
        pinned_line: pin.line,
        pinned_at: pin.origin(),
        provided_by: tool.nix.clone(),
        file: flake.path.display().to_string(),
        line,
        message: format!(
            "{} pinned {} {}, but the devshell has no `{}`: generate adds `{}`, a release build, not {channel}",
            pin.origin(),
            tool.binary,
            pin.version,
            tool.binary,
            tool.nix
        ),
        fix: format!(
            "to keep {} at {}, put `{attr}` in the devshell at {}:{line} instead (rust-overlay), or accept the drift",
            tool.binary, pin.version, flake.path.display()
        ),
        suggested: Some(attr),
        exact: false,
        channel_file: None,
    })
}

/// The drift message and fix for a family whose pinned version a versioned attribute could
/// keep: the exact one when this nixpkgs has it, else the nearest it has, else none.
fn advise(base: Drift, candidates: &[String], attrs: &Attrs) -> Drift {
    let element = base.provided_by.trim().to_owned();
    let message = format!(
        "{} pinned {} {}, but {}:{} provides `{element}`",
        base.pinned_at, base.family, base.pinned, base.file, base.line
    );
    let at = format!("{}:{}", base.file, base.line);
    let keep = major_minor(&base.pinned);
    let exact = &candidates[0];
    let nearest = candidates.iter().find(|c| attrs.has(c));
    let (fix, suggested, is_exact) = match nearest {
        Some(c) if c == exact => (
            format!("use `{c}` at {at} to keep {} at {keep}", base.family),
            Some(c.clone()),
            true,
        ),
        Some(c) => (
            format!(
                "no exact version in {} (`{exact}` does not exist); nearest is `{c}`: use it at {at}, or accept the drift",
                attrs.describe()
            ),
            Some(c.clone()),
            false,
        ),
        None => (
            format!(
                "no exact version in {} (`{exact}` does not exist) and no nearby one: accept the drift, or bring {} {keep} in through an overlay",
                attrs.describe(),
                base.family
            ),
            None,
            false,
        ),
    };
    Drift {
        message,
        fix,
        suggested,
        exact: is_exact,
        ..base
    }
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
            "{} pinned {} {}, but {}:{flake_line} takes it from {} whose channel is \"{channel}\"",
            base.pinned_at,
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
        channel_file: Some(file.clone()),
        ..base.clone()
    })
}

//! `generate --pin-versions`: the edits that keep the versions the download toolchains pinned,
//! where this nixpkgs has the exact attribute — `clang` → `llvmPackages_20.clang`, `python3`
//! → `python313`, the rust-toolchain file's channel — applied losslessly (a splice in the
//! flake, toml_edit for the toolchain file). A drift whose exact version is missing is left
//! as a drift: pinning to a neighbour would be a guess.

use std::path::PathBuf;

use super::drift::Drift;
use super::Flake;
use crate::error::UserError;
use crate::inventory::pins::Pin;
use crate::inventory::RequiredTool;
use crate::know::Knowledge;
use crate::plan::Edit;

/// A flake element to replace with the versioned attribute.
pub fn element_edits(flake: &Flake, drifts: &[Drift]) -> Vec<Edit> {
    let mut out = Vec::new();
    for d in drifts.iter().filter(|d| d.exact) {
        let Some(attr) = &d.suggested else {
            continue;
        };
        let found = flake.segments.iter().find_map(|s| {
            s.elements
                .iter()
                .find(|e| e.text == d.provided_by && flake.line(e.span.start) == d.line)
        });
        let Some(element) = found else {
            continue;
        };
        let text = element.text.trim();
        if text.contains(|c: char| c.is_whitespace() || "({[".contains(c)) {
            continue; // an expression, not an attribute: leave it to a person
        }
        out.push(Edit::replace(
            element.span,
            super::devshell::spelled_like(text, attr),
        ));
    }
    out
}

/// The rust-toolchain file with its channel set to the pinned version, when a drift says the
/// channel differs: (path relative to the root, old text, new text).
pub fn rust_toolchain_edit(
    root: &std::path::Path,
    drifts: &[Drift],
) -> Result<Option<(PathBuf, String, String)>, UserError> {
    let Some(d) = drifts.iter().find(|d| d.channel_file.is_some()) else {
        return Ok(None);
    };
    let Some(file) = &d.channel_file else {
        return Ok(None);
    };
    let old = std::fs::read_to_string(root.join(file)).map_err(|e| {
        UserError::new(format!("cannot read the rust toolchain file: {e}")).in_file(file)
    })?;
    let mut doc: toml_edit::DocumentMut = old.parse().map_err(|e: toml_edit::TomlError| {
        UserError::new(format!("TOML syntax error: {}", e.message()))
            .in_file(file)
            .hint("fix the rust toolchain file, or run without --pin-versions")
    })?;
    let Some(table) = doc.get_mut("toolchain").and_then(|t| t.as_table_like_mut()) else {
        return Ok(None);
    };
    let Some(channel) = table.get_mut("channel") else {
        return Ok(None);
    };
    let decor = channel.as_value().map(|v| v.decor().clone());
    let mut value = toml_edit::Value::from(d.pinned.as_str());
    if let Some(decor) = decor {
        *value.decor_mut() = decor;
    }
    *channel = toml_edit::Item::Value(value);
    Ok(Some((file.clone(), old, doc.to_string())))
}

/// Required tools with their nixpkgs attribute versioned to the pin where this nixpkgs has
/// it (`ld.lld` pinned by clang 20 → `llvmPackages_20.bintools`), so a package the devshell
/// lacks is added at the pinned version.
pub fn versioned_tools(
    tools: &[RequiredTool],
    pins: &[Pin],
    flake: &Flake,
    know: &Knowledge,
) -> Vec<RequiredTool> {
    let wanted: Vec<(usize, String)> = tools
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let pin = pins
                .iter()
                .find(|p| Some(&p.family) == t.pinned_by.as_ref())?;
            let template = know.nix_versions.iter().find(|v| v.binary == t.binary)?;
            Some((i, template.for_version(&pin.version)?))
        })
        .collect();
    if wanted.is_empty() {
        return tools.to_vec();
    }
    let names: Vec<String> = wanted.iter().map(|(_, a)| a.clone()).collect();
    let attrs = super::nixpkgs::check(super::nixpkgs::locked(&flake.dir).as_ref(), &names, know);
    let mut out = tools.to_vec();
    for (i, attr) in wanted {
        if attrs.has(&attr) {
            out[i].nix = attr;
        }
    }
    out
}

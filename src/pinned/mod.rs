//! `generate --nix-pinned`: toolchains whose tools are Nix store paths, not PATH lookups.
//!
//! On top of the plain rewrite (system toolchains + devshell), this adds:
//! - `nix/buck2-toolchains-pinned.nix`, the packages the toolchains call, per system, from the
//!   nixpkgs the root flake.lock pins, and a `buck2-toolchains` output in flake.nix using it;
//! - `nix_pinned.bzl` beside the toolchains file (rules that realise a package with `nix build`
//!   and toolchain rules whose tools point into those packages);
//! - in the toolchains file, pinned macros instead of the system rules, and one `nix_package`
//!   target per package, recording the store path `nix build` printed (so `--check` sees a
//!   changed flake.lock or package as drift).
//!
//! The store paths come from running nix at generate time: without nix, nothing is written.

mod buck;
mod flake;
pub mod know;
pub mod nix;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::UserError;
use crate::inputs::Inputs;
use crate::read::Module;
use crate::write::FileChange;

/// The Nix file with the pinned packages, root-relative (flake.nix imports it).
pub const PINNED_NIX: &str = "nix/buck2-toolchains-pinned.nix";
/// The rules file, written beside the toolchains file.
pub const RULES_BZL: &str = "nix_pinned.bzl";
const RULES_TEXT: &str = include_str!("../../nix/pinned/nix_pinned.bzl");
const PINNED_TEMPLATE: &str = include_str!("../../nix/templates/buck2-toolchains-pinned.nix.hbs");

/// One package the pinned toolchains take tools from.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct Package {
    /// The nixpkgs attribute (`llvmPackages.bintools`).
    pub attr: String,
    /// Its name in the `buck2-toolchains.<system>` output (`llvmPackages-bintools`).
    pub name: String,
    /// The Buck2 target in the toolchains file (`nix-llvmPackages-bintools`).
    pub target: String,
    /// The binaries the toolchains take from it.
    pub binaries: Vec<String>,
    /// What `nix build` printed for it on `system`.
    pub store_path: String,
}

/// What the pinned layer added, for the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub system: String,
    pub packages: Vec<Package>,
    /// One line per change, with its reason.
    pub reasons: Vec<String>,
}

/// The flake output name and Buck2 target name of a nixpkgs attribute.
pub fn package_name(attr: &str) -> String {
    attr.replace('.', "-")
}

/// Add the pinned layer to a planned run: `changes[0]` is the toolchains file; the flake's
/// change (if the plain plan made one) is updated in place, new files are appended.
pub fn extend(inputs: &Inputs, changes: &mut Vec<FileChange>) -> Result<Report, UserError> {
    let ctx = &inputs.ctx;
    let root = &ctx.repo.root;
    let flake = root_flake(inputs)?;
    let rules = know::Rules::builtin()?;
    let buck_path = changes[0].path.clone();
    let buck_text = changes[0].new.clone();
    let module = Module::parse(&buck_path, buck_text.clone())?;
    let pinned_calls = buck::pinned_calls(&module, &rules);
    if pinned_calls.is_empty() {
        return Ok(Report {
            system: String::new(),
            packages: Vec::new(),
            reasons: vec![format!(
                "nothing to pin: {} calls none of {}",
                buck_path.display(),
                rules.system_rule_names().join(", ")
            )],
        });
    }
    let tools = buck::tools_by_binary(&pinned_calls, &rules, &ctx.know);
    let mut packages = packages_of(&tools);
    let pinned_nix = render_pinned_nix(&buck_path, &packages)?;
    let nix = nix::find()?;
    let (system, paths) = nix::store_paths(&nix, root, &pinned_nix, &packages)?;
    for (p, path) in packages.iter_mut().zip(paths) {
        p.store_path = path;
    }
    let mut reasons = Vec::new();
    let new_buck = buck::rewrite(
        ctx,
        &module,
        &pinned_calls,
        &tools,
        &packages,
        &system,
        &mut reasons,
    )?;
    changes[0].new = new_buck;
    let flake_index = changes.iter().position(|c| c.path == flake);
    let flake_text = match flake_index {
        Some(i) => changes[i].new.clone(),
        None => crate::read::ir::read_text(root, &flake)?,
    };
    let new_flake = flake::add_output(&flake, &flake_text, &mut reasons)?;
    match flake_index {
        Some(i) => changes[i].new = new_flake,
        None => changes.push(FileChange {
            path: flake.clone(),
            old: Some(flake_text),
            new: new_flake,
        }),
    }
    changes.push(new_file(root, PathBuf::from(PINNED_NIX), pinned_nix));
    let rules_path = buck_path.parent().unwrap_or(Path::new("")).join(RULES_BZL);
    changes.push(new_file(root, rules_path, RULES_TEXT.to_owned()));
    for p in &packages {
        reasons.push(format!(
            "package :{} builds `buck2-toolchains.{system}.{}` (nixpkgs `{}`) = {} — provides {}",
            p.target,
            p.name,
            p.attr,
            p.store_path,
            p.binaries.join(", ")
        ));
    }
    Ok(Report {
        system,
        packages,
        reasons,
    })
}

/// `--nix-pinned` builds from the root flake and its lock: the lock is what pins the packages.
fn root_flake(inputs: &Inputs) -> Result<PathBuf, UserError> {
    let ctx = &inputs.ctx;
    let path = PathBuf::from("flake.nix");
    match &inputs.flake {
        Some(f) if f.path == path => {}
        _ => {
            return Err(UserError::new(
                "--nix-pinned needs the root flake.nix: its `buck2-toolchains` output is what the Buck2 targets build",
            )
            .in_file(&path)
            .hint("run at a repo with flake.nix (and flake.lock) at its root"))
        }
    }
    if !ctx.repo.root.join("flake.lock").is_file() {
        return Err(UserError::new(
            "--nix-pinned needs flake.lock: without it nothing pins the packages",
        )
        .in_file(Path::new("flake.lock"))
        .hint("run `nix flake lock` first"));
    }
    Ok(path)
}

fn new_file(root: &Path, path: PathBuf, new: String) -> FileChange {
    let old = std::fs::read_to_string(root.join(&path)).ok();
    FileChange { path, old, new }
}

/// One package per nixpkgs attribute, sorted, with the binaries taken from it.
fn packages_of(tools: &BTreeMap<String, String>) -> Vec<Package> {
    let mut by_attr: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (binary, attr) in tools {
        by_attr.entry(attr).or_default().push(binary.clone());
    }
    by_attr
        .into_iter()
        .map(|(attr, binaries)| Package {
            attr: attr.to_owned(),
            name: package_name(attr),
            target: format!("nix-{}", package_name(attr)),
            binaries,
            store_path: String::new(),
        })
        .collect()
}

fn render_pinned_nix(toolchains_file: &Path, packages: &[Package]) -> Result<String, UserError> {
    let mut hb = handlebars::Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    hb.render_template(
        PINNED_TEMPLATE,
        &serde_json::json!({
            "toolchains_file": toolchains_file.display().to_string(),
            "packages": packages,
        }),
    )
    .map_err(|e| UserError::new(format!("internal error rendering a Nix template: {e}")))
}

//! Running nix at generate time: the store paths the toolchains will use are the ones
//! `nix build` prints now, for this machine's system.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Package;
use crate::error::UserError;

/// Builds can download or compile; this only guards against a nix that never returns.
const LIMIT: Duration = Duration::from_secs(3600);

/// `nix` on PATH, or an error: without it there are no store paths to record.
pub fn find() -> Result<PathBuf, UserError> {
    which::which("nix").map_err(|_| {
        UserError::new(
            "--nix-pinned runs `nix build` to learn the store paths, and `nix` is not on PATH",
        )
        .hint("install Nix (or run inside `nix develop`) and run again")
    })
}

/// The options every call needs: flakes are experimental in Nix 2.8 and still opt-in.
fn base_args() -> Vec<String> {
    ["--extra-experimental-features", "nix-command flakes"]
        .map(str::to_owned)
        .to_vec()
}

/// A Nix string literal.
fn nix_string(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace("${", "\\${");
    format!("\"{escaped}\"")
}

/// Build every package as the generated output will (the same expression, applied to the
/// root flake's locked `nixpkgs` input) and return (system, store paths in package order).
/// `--impure` only for `builtins.getFlake` of a path and `builtins.currentSystem`: the files
/// are not written yet, so the flake cannot be asked for its new output.
pub fn store_paths(
    nix: &Path,
    root: &Path,
    pinned_nix: &str,
    packages: &[Package],
) -> Result<(String, Vec<String>), UserError> {
    let root_text = root.display().to_string();
    let names: Vec<String> = packages.iter().map(|p| nix_string(&p.name)).collect();
    let selected = format!(
        "let\n  flake = builtins.getFlake {};\n  all = ({pinned_nix}) {{ nixpkgs = flake.inputs.nixpkgs; }};\n  pkgs = all.${{builtins.currentSystem}};\nin builtins.listToAttrs (map (name: {{ inherit name; value = pkgs.${{name}}; }}) [ {} ])",
        nix_string(&root_text),
        names.join(" ")
    );
    let system = current_system(nix, root)?;
    // `nix build --json` does not keep the order of its installables: the paths come from
    // evaluating each package's outPath by name, the build realises them.
    let by_name = run(
        nix,
        root,
        &[
            "eval",
            "--impure",
            "--json",
            "--expr",
            &format!("builtins.mapAttrs (_: p: p.outPath) ({selected})"),
        ],
    )?;
    let by_name: std::collections::BTreeMap<String, String> = serde_json::from_str(&by_name)
        .map_err(|e| {
            UserError::new(format!(
                "`nix eval` printed no store paths ({e}): {by_name}"
            ))
        })?;
    let built = run(
        nix,
        root,
        &[
            "build",
            "--no-link",
            "--json",
            "--impure",
            "--expr",
            &format!("builtins.attrValues ({selected})"),
        ],
    )?;
    let built = out_paths(&built).unwrap_or_default();
    let paths: Vec<String> = packages
        .iter()
        .map(|p| by_name.get(&p.name).cloned().unwrap_or_default())
        .collect();
    if let Some(missing) = paths.iter().find(|p| !built.contains(p)) {
        return Err(UserError::new(format!(
            "`nix build` did not print `{missing}`, which `nix eval` gave as a pinned package's store path"
        )));
    }
    Ok((system, paths))
}

/// The Nix system of this machine (`x86_64-linux`): the key of the recorded store paths.
pub fn current_system(nix: &Path, root: &Path) -> Result<String, UserError> {
    let args = [
        "eval",
        "--impure",
        "--raw",
        "--expr",
        "builtins.currentSystem",
    ];
    Ok(run(nix, root, &args)?.trim().to_owned())
}

/// Realise one package of the root flake's `buck2-toolchains` output, as the package target
/// does at build time, and return its store path.
pub fn realise(nix: &Path, root: &Path, system: &str, name: &str) -> Result<String, UserError> {
    let installable = format!(
        "{}#{}.{system}.{name}",
        root.display(),
        super::flake::OUTPUT
    );
    let built = run(nix, root, &["build", "--no-link", "--json", &installable])?;
    out_paths(&built)
        .and_then(|paths| paths.into_iter().next())
        .ok_or_else(|| UserError::new(format!("`nix build {installable}` printed no store path")))
}

fn run(nix: &Path, root: &Path, args: &[&str]) -> Result<String, UserError> {
    let mut all = base_args();
    all.extend(args.iter().map(|a| (*a).to_owned()));
    let shown = format!("nix {}", args.first().copied().unwrap_or_default());
    let out = crate::process::run(nix, &all, Some(root), LIMIT).ok_or_else(|| {
        UserError::new(format!("`{shown}` did not start or did not finish"))
            .hint("check that nix runs (`nix --version`) and try again")
    })?;
    if !out.success {
        return Err(UserError::new(format!(
            "`{shown}` failed for the pinned packages:\n{}",
            out.stderr.trim_end()
        ))
        .in_file(Path::new("flake.lock"))
        .hint("the packages must build from the nixpkgs flake.lock pins (`nix flake lock`, substituters or a network)"));
    }
    Ok(out.stdout)
}

/// The `out` output (else the first) of each entry of `nix build --json`.
pub fn out_paths(json: &str) -> Option<Vec<String>> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    v.as_array()?
        .iter()
        .map(|entry| {
            let outputs = entry.get("outputs")?.as_object()?;
            outputs
                .get("out")
                .or_else(|| outputs.values().next())?
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

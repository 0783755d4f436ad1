//! Files written for a repo without a flake: `nix/buck2-toolchains.nix` (a function from `pkgs`
//! to the packages the toolchains call) and, with `--init-flake`, a minimal flake.nix using it.

use std::path::Path;

use handlebars::Handlebars;
use serde_json::json;

use crate::error::UserError;
use crate::inventory::RequiredTool;
use crate::know::Knowledge;

pub const TOOLCHAINS_NIX: &str = "nix/buck2-toolchains.nix";
const LIB_NIX: &str = include_str!("../../nix/lib.nix");
const TOOLCHAINS_TEMPLATE: &str = include_str!("../../nix/templates/buck2-toolchains.nix.hbs");
const FLAKE_TEMPLATE: &str = include_str!("../../nix/templates/flake.nix.hbs");

/// nixpkgs attributes by platform: (every platform, Linux only, Darwin only), each sorted and
/// without repeats.
pub fn attrs_by_platform(tools: &[RequiredTool]) -> (Vec<String>, Vec<String>, Vec<String>) {
    let pick = |platform: Option<&str>| {
        let mut v: Vec<String> = tools
            .iter()
            .filter(|t| t.platform.as_deref() == platform)
            .map(|t| t.nix.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let all = pick(None);
    let only = |p| {
        pick(Some(p))
            .into_iter()
            .filter(|a| !all.contains(a))
            .collect::<Vec<_>>()
    };
    let (linux, darwin) = (only("linux"), only("darwin"));
    (all, linux, darwin)
}

fn render(template: &str, data: &serde_json::Value) -> Result<String, UserError> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    hb.render_template(template, data)
        .map_err(|e| UserError::new(format!("internal error rendering a Nix template: {e}")))
}

/// `tools` minus those every mkShell already has (its stdenv's binutils).
pub fn toolchains_nix(
    toolchains_file: &Path,
    tools: &[RequiredTool],
    know: &Knowledge,
) -> Result<String, UserError> {
    let implicit = know.mkshell_provides(None);
    let needed: Vec<RequiredTool> = tools
        .iter()
        .filter(|t| !implicit.contains(&t.binary))
        .cloned()
        .collect();
    let (all, linux, darwin) = attrs_by_platform(&needed);
    let lib: String = LIB_NIX
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| {
            if l.trim().is_empty() {
                "\n".to_owned()
            } else {
                format!("    {l}\n")
            }
        })
        .collect();
    render(
        TOOLCHAINS_TEMPLATE,
        &json!({
            "toolchains_file": toolchains_file.display().to_string(),
            "lib": lib.trim_end(),
            "all": all,
            "linux": linux,
            "darwin": darwin,
        }),
    )
}

pub fn init_flake() -> Result<String, UserError> {
    render(FLAKE_TEMPLATE, &json!({ "toolchains_nix": TOOLCHAINS_NIX }))
}

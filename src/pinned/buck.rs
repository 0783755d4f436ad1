//! The toolchains file under `--nix-pinned`: system rules become the pinned macros of
//! nix_pinned.bzl (same attrs plus `nix_tools`), and one `nix_package` target per package.

use std::collections::{BTreeMap, BTreeSet};

use super::know::{PinnedRule, Rules};
use super::{Package, RULES_BZL};
use crate::error::UserError;
use crate::inventory::targets::{calls, Call};
use crate::inventory::Context;
use crate::know::Knowledge;
use crate::plan::{edit, loads, Edit};
use crate::read::{Module, Span};

const PACKAGE_RULE: &str = "nix_package";

/// A toolchain call to pin (or already pinned), with the rule it stands for.
pub struct PinnedCall<'a> {
    pub call: Call<'a>,
    pub rule: &'a PinnedRule,
}

pub fn pinned_calls<'a>(module: &'a Module, rules: &'a Rules) -> Vec<PinnedCall<'a>> {
    calls(module)
        .into_iter()
        .filter_map(|call| {
            rules
                .for_rule(call.rule)
                .map(|rule| PinnedCall { call, rule })
        })
        .collect()
}

/// Binaries a pinned rule takes from packages, with their nixpkgs attribute: the system rule's
/// tools from the knowledge base, then the rule's extras.
fn rule_tools(rule: &PinnedRule, know: &Knowledge) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some((_, system)) = know.system_rules.get(&rule.system_rule) {
        for t in &system.tools {
            out.insert(t.binary.clone(), t.nix.clone());
        }
    }
    for t in &rule.extra_tools {
        out.entry(t.binary.clone()).or_insert_with(|| t.nix.clone());
    }
    out
}

/// Every binary any pinned call takes, with its nixpkgs attribute.
pub fn tools_by_binary(
    pinned: &[PinnedCall],
    _rules: &Rules,
    know: &Knowledge,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for p in pinned {
        out.extend(rule_tools(p.rule, know));
    }
    out
}

/// The new text of the toolchains file.
pub fn rewrite(
    ctx: &Context,
    module: &Module,
    pinned: &[PinnedCall],
    tools: &BTreeMap<String, String>,
    packages: &[Package],
    system: &str,
    reasons: &mut Vec<String>,
) -> Result<String, UserError> {
    let text = module.text.as_str();
    let target_of: BTreeMap<&str, &str> = packages
        .iter()
        .map(|p| (p.attr.as_str(), p.target.as_str()))
        .collect();
    let mut edits = Vec::new();
    let mut added = BTreeSet::new();
    for p in pinned {
        let name = p.call.name().unwrap_or_default();
        let line = module.line(p.call.node.span.start);
        if p.call.rule == p.rule.system_rule {
            edits.push(Edit::replace(p.call.rule_span(), p.rule.macro_name.clone()));
            reasons.push(format!(
                "{} (line {line}): replaced {} → {} — its tools come from Nix packages (store paths), not PATH",
                name, p.rule.system_rule, p.rule.macro_name
            ));
        }
        added.insert(p.rule.macro_name.clone());
        let own: BTreeMap<String, &str> = rule_tools(p.rule, &ctx.know)
            .into_keys()
            .filter_map(|b| {
                let attr = tools.get(&b)?;
                Some((b, *target_of.get(attr.as_str())?))
            })
            .collect();
        edits.push(nix_tools_edit(text, &p.call, &own));
    }
    added.insert(PACKAGE_RULE.to_owned());
    edits.push(packages_edit(module, packages, system));
    let after = edit::apply(text, &edits).map_err(internal)?;
    let used = loads::used_names(&module.path, &after)?;
    let already: BTreeSet<&str> = module
        .loads()
        .filter(|l| l.module == format!(":{RULES_BZL}"))
        .flat_map(|l| l.symbols.iter().map(|s| s.local.as_str()))
        .collect();
    let to_load: Vec<(String, String)> = added
        .iter()
        .filter(|r| !already.contains(r.as_str()))
        .map(|r| (r.clone(), format!(":{RULES_BZL}")))
        .collect();
    let mut load_changes = Vec::new();
    edits.extend(loads::plan(
        ctx,
        module,
        &used,
        &to_load,
        &mut load_changes,
    )?);
    for c in load_changes {
        reasons.push(format!("{} — {}", c.detail, c.reason));
    }
    let new = edit::apply(text, &edits).map_err(internal)?;
    Module::parse(&module.path, new.clone()).map_err(|e| {
        UserError::new(format!(
            "internal error: the pinned toolchains file would not parse ({e}); nothing was written"
        ))
    })?;
    Ok(new)
}

fn internal(e: String) -> UserError {
    UserError::new(format!(
        "internal error while planning --nix-pinned: {e}; nothing was written"
    ))
}

/// `nix_tools = {...}`: replace the value where the call has one, else add it as the last
/// argument, in the call's own indentation.
fn nix_tools_edit(text: &str, call: &Call, tools: &BTreeMap<String, &str>) -> Edit {
    let indent = call
        .args
        .first()
        .map(|a| {
            let start = text[..a.span.start].rfind('\n').map_or(0, |i| i + 1);
            text[start..a.span.start].to_owned()
        })
        .unwrap_or_else(|| "    ".to_owned());
    let mut value = String::from("{\n");
    for (binary, target) in tools {
        value.push_str(&format!("{indent}    \"{binary}\": \":{target}\",\n"));
    }
    value.push_str(&format!("{indent}}}"));
    if let Some(arg) = call.kwarg("nix_tools") {
        return Edit::replace(arg.value.span, value);
    }
    let last_end = call
        .args
        .last()
        .map_or(call.node.span.end - 1, |a| a.span.end);
    let rest = &text[last_end..call.node.span.end];
    let ws = rest.len() - rest.trim_start().len();
    if rest[ws..].starts_with(',') {
        Edit::insert(last_end + ws + 1, format!("\n{indent}nix_tools = {value},"))
    } else {
        Edit::insert(last_end, format!(",\n{indent}nix_tools = {value}"))
    }
}

/// The `nix_package` targets: they replace the ones a previous run wrote (kept together at the
/// end of the file), or go at the end.
fn packages_edit(module: &Module, packages: &[Package], system: &str) -> Edit {
    let text = module.text.as_str();
    let block: Vec<String> = packages.iter().map(|p| package_call(p, system)).collect();
    let block = block.join("\n");
    let existing: Vec<Call> = calls(module)
        .into_iter()
        .filter(|c| c.rule == PACKAGE_RULE)
        .collect();
    match (existing.first(), existing.last()) {
        (Some(first), Some(last)) => {
            let start = text[..first.node.span.start]
                .rfind('\n')
                .map_or(0, |i| i + 1);
            let end = text[last.node.span.end..]
                .find('\n')
                .map_or(text.len(), |i| last.node.span.end + i + 1);
            Edit::replace(Span { start, end }, block)
        }
        _ => {
            let sep = if text.ends_with('\n') { "\n" } else { "\n\n" };
            Edit::insert(text.len(), format!("{sep}{block}"))
        }
    }
}

fn package_call(p: &Package, system: &str) -> String {
    format!(
        "{PACKAGE_RULE}(\n    name = \"{}\",\n    attr = \"{}\",\n    store_paths = {{\n        \"{system}\": \"{}\",\n    }},\n    visibility = [\"PUBLIC\"],\n)\n",
        p.target, p.name, p.store_path
    )
}

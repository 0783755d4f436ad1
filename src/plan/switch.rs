//! A macro's own system mode (issue 12, point 2): a macro call that makes downloads, where
//! one of the macro's arguments switches them off (andreiltd/wasmono's
//! `wasm_demo_toolchains(node_version = None)` makes `system_jco_toolchain(name = "jco")`
//! instead of downloading Node.js and installing jco with it). The call is given that
//! argument before anything else is planned; the rest of the pipeline then works on what
//! the switched call makes.
//!
//! The switch is found by evaluation, not by reading the macro's conditions: each parameter
//! with a default is tried with the value that turns a feature off (`None`, or the other
//! bool), and one is taken when the call then makes fewer downloads, no target it did not
//! make before, and none of the targets it stops making is named anywhere else.

use std::path::PathBuf;

use super::Change;
use crate::downloads::{self, Evaluated, Site};
use crate::inventory::Context;
use crate::read::ir::{Expr, Param};
use crate::read::path_calls::{self, PathCall};
use crate::read::Module;

/// A build file whose macro calls were switched to their system mode.
#[derive(Debug, Clone)]
pub struct Switched {
    pub file: PathBuf,
    /// The file as it was read.
    pub original: String,
    /// The file with the switched arguments: what the rest of the pipeline reads.
    pub text: String,
    pub changes: Vec<Change>,
    /// What the targets the switched calls now make run from PATH, by target: the devshell
    /// must have them.
    pub path_calls: Vec<(String, String, PathCall)>,
}

/// Every macro call of the cell's build files switched to its system mode, where it has one.
pub fn system_modes(ctx: &Context) -> Vec<Switched> {
    let macro_files: Vec<&Module> = ctx
        .sources
        .build_modules()
        .filter(|m| !macro_calls(ctx, m).is_empty())
        .collect();
    // SI's cell calls rules only: nothing is evaluated for it here.
    if macro_files.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut found = downloads::of_sources(&ctx.repo, &ctx.sources, &Default::default());
    for module in macro_files {
        let mut text = module.text.clone();
        let mut changes = Vec::new();
        let mut runs = Vec::new();
        // One call at a time, each on the text the earlier switches left.
        let lines: Vec<usize> = macro_calls(ctx, module).iter().map(|c| c.line).collect();
        for line in lines {
            let site = Site {
                file: module.path.clone(),
                line,
            };
            if let Some(taken) = best_switch(ctx, &module.path, &text, &site, &found) {
                runs.extend(run_from_path(&taken.sources, &found, &taken.found, &site));
                text = taken.text;
                found = taken.found;
                changes.push(taken.change);
            }
        }
        if !changes.is_empty() {
            out.push(Switched {
                file: module.path.clone(),
                original: module.text.clone(),
                text,
                changes,
                path_calls: runs,
            });
        }
    }
    out
}

/// A top-level call of a `def` the file loads (a macro), by line.
struct MacroCall {
    line: usize,
    name: String,
    params: Vec<Param>,
}

fn macro_calls(ctx: &Context, module: &Module) -> Vec<MacroCall> {
    module
        .calls()
        .filter_map(|(node, func, _)| {
            let (def_module, name) = ctx.sources.find_definition(&module.path, func).ok()??;
            let def = def_module.def(&name)?;
            let switchable = def.params.iter().any(|p| off_value(p).is_some());
            switchable.then(|| MacroCall {
                line: module.line(node.span.start),
                name: func.to_owned(),
                params: def.params.clone(),
            })
        })
        .collect()
}

/// The value that turns off what a parameter's default turns on: `None` for a value,
/// the other bool for a bool. `None` when the default is already off.
fn off_value(p: &Param) -> Option<&'static str> {
    match &p.default.as_ref()?.expr {
        Expr::Ident(b) if b == "True" => Some("False"),
        Expr::Ident(b) if b == "False" => Some("True"),
        Expr::Ident(none) if none == "None" => None,
        Expr::Str(_) | Expr::Int(_) | Expr::List(_) | Expr::Dict(_) | Expr::Tuple(_) => {
            Some("None")
        }
        // A constant (`jco_version = DEFAULT_JCO_VERSION`).
        Expr::Ident(_) | Expr::Dot(..) => Some("None"),
        _ => None,
    }
}

/// The switch of the call at `site` that leaves it the fewest downloads, if one qualifies:
/// the new text, its evaluation, and the change to report.
fn best_switch(
    ctx: &Context,
    file: &std::path::Path,
    text: &str,
    site: &Site,
    found: &Evaluated,
) -> Option<Candidate> {
    let before = downloads_at(found, site);
    if before == 0 {
        return None;
    }
    let module = Module::parse(file, text.to_owned()).ok()?;
    let call = macro_calls(ctx, &module)
        .into_iter()
        .find(|c| c.line == site.line)?;
    let made_before = names_made_at(found, site);
    let mut best: Option<(usize, Candidate)> = None;
    for param in &call.params {
        let Some(value) = off_value(param) else {
            continue;
        };
        let Some(new_text) = with_argument(&module, site.line, &param.name, value) else {
            continue;
        };
        let Ok(sources) = ctx
            .sources
            .with_build_texts(&ctx.repo, &[(file.to_path_buf(), new_text.clone())])
        else {
            continue;
        };
        let after = downloads::of_sources(&ctx.repo, &sources, &Default::default());
        if after.failed.iter().any(|(f, _)| f == file) {
            continue;
        }
        let left = downloads_at(&after, site);
        let made_after = names_made_at(&after, site);
        let gone: Vec<&String> = made_before
            .iter()
            .filter(|n| !made_after.contains(n))
            .collect();
        let qualifies = left < before
            && made_after.iter().all(|n| made_before.contains(n))
            && best.as_ref().is_none_or(|(n, _)| left < *n)
            && !gone.iter().any(|n| still_named(ctx, &after, n));
        if qualifies {
            let change = Change {
                target: call.name.clone(),
                line: site.line,
                action: "set".to_owned(),
                detail: format!("`{} = {value}`", param.name),
                reason: format!(
                    "the macro's own switch: `{}` then makes {} download{} fewer and no longer makes {}, which nothing else names",
                    call.name,
                    before - left,
                    if before - left == 1 { "" } else { "s" },
                    gone.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                ),
            };
            best = Some((
                left,
                Candidate {
                    text: new_text,
                    sources,
                    found: after,
                    change,
                },
            ));
        }
    }
    best.map(|(_, taken)| taken)
}

/// A switch tried: the file with it, the cell read and evaluated with it, and the change.
struct Candidate {
    text: String,
    sources: crate::read::Sources,
    found: Evaluated,
    change: Change,
}

/// The PATH programs of the targets the switch made of another rule than before
/// (`jco`: `jco_toolchain` → `system_jco_toolchain`), as (target, rule, call), read from the
/// switched cell.
fn run_from_path(
    sources: &crate::read::Sources,
    before: &Evaluated,
    after: &Evaluated,
    site: &Site,
) -> Vec<(String, String, PathCall)> {
    after
        .targets
        .iter()
        .filter(|t| t.call == *site)
        .filter(|t| {
            !before
                .targets
                .iter()
                .any(|b| b.call == *site && b.name == t.name && b.rule == t.rule)
        })
        .filter_map(|t| Some((t, t.rule_defined_at.as_ref()?)))
        .flat_map(|(t, at)| {
            path_calls::of_rule(sources, &at.file, &t.rule)
                .into_iter()
                .map(|pc| (t.name.clone(), t.rule.clone(), pc))
        })
        .collect()
}

fn downloads_at(found: &Evaluated, site: &Site) -> usize {
    found
        .downloads
        .iter()
        .filter(|d| d.edit_at == *site)
        .count()
}

fn names_made_at(found: &Evaluated, site: &Site) -> Vec<String> {
    found
        .targets
        .iter()
        .filter(|t| t.call == *site)
        .map(|t| t.name.clone())
        .collect()
}

/// Whether a target of the switched cell names target `name` in its attrs or through its
/// rule's defaults (`_node_toolchain = attrs.toolchain_dep(default = "toolchains//:node")`),
/// or a file outside the cell names it. (Rules nothing calls any more name what they like.)
fn still_named(ctx: &Context, after: &Evaluated, name: &str) -> bool {
    let in_cell = after.targets.iter().any(|t| {
        [&t.attrs, &t.defaults]
            .iter()
            .any(|m| names_target(&serde_json::to_string(m).unwrap_or_default(), name))
    });
    in_cell
        || ctx
            .files_outside_cell()
            .iter()
            .any(|(_, text)| names_target(text, name))
}

fn names_target(text: &str, name: &str) -> bool {
    let pattern = format!(":{name}");
    text.match_indices(&pattern).any(|(i, _)| {
        let quoted_before = text[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c == '"' || c == '\'' || c.is_alphanumeric() || c == '/');
        let next = text[i + pattern.len()..].chars().next();
        quoted_before && !next.is_some_and(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
    })
}

/// The file with `param = value` in the call at `line`: the argument's value replaced when
/// the call passes it, else the argument added as the call's last.
fn with_argument(module: &Module, line: usize, param: &str, value: &str) -> Option<String> {
    let (node, _, args) = module
        .calls()
        .find(|(node, _, _)| module.line(node.span.start) == line)?;
    let text = &module.text;
    if let Some(arg) = args.iter().find(|a| a.name.as_deref() == Some(param)) {
        return Some(splice(
            text,
            arg.value.span.start,
            arg.value.span.end,
            value,
        ));
    }
    let close = node.span.end - 1;
    if text.as_bytes().get(close) != Some(&b')') {
        return None;
    }
    let Some(last) = args.last() else {
        return Some(splice(text, close, close, &format!("{param} = {value}")));
    };
    let between = &text[last.span.end..close];
    if !between.contains('\n') {
        return Some(splice(
            text,
            last.span.end,
            last.span.end,
            &format!(", {param} = {value}"),
        ));
    }
    // One argument per line: a new line after the last, indented like it.
    let line_start = text[..last.span.start].rfind('\n').map_or(0, |i| i + 1);
    let indent = &text[line_start..last.span.start];
    Some(
        match between.trim_start_matches([' ', '\t']).strip_prefix(',') {
            Some(_) => {
                let after_comma = last.span.end + between.find(',').unwrap_or(0) + 1;
                splice(
                    text,
                    after_comma,
                    after_comma,
                    &format!("\n{indent}{param} = {value},"),
                )
            }
            None => splice(
                text,
                last.span.end,
                last.span.end,
                &format!(",\n{indent}{param} = {value}"),
            ),
        },
    )
}

fn splice(text: &str, start: usize, end: usize, with: &str) -> String {
    format!("{}{with}{}", &text[..start], &text[end..])
}

/// The switched texts, for [`Context`]s built on them.
pub fn texts(switched: &[Switched]) -> Vec<(PathBuf, String)> {
    switched
        .iter()
        .map(|s| (s.file.clone(), s.text.clone()))
        .collect()
}

/// Add what the switched calls' targets run from PATH to `required`; a program no nixpkgs
/// package is known to provide is said in a warning instead, never guessed.
pub fn add_tools(
    switched: &[Switched],
    know: &crate::know::Knowledge,
    required: &mut Vec<crate::inventory::RequiredTool>,
    warnings: &mut Vec<String>,
) {
    for (target, rule, pc) in switched.iter().flat_map(|s| &s.path_calls) {
        let why = format!(
            "`{target}` (rule `{rule}`) runs `{}` from PATH ({}:{})",
            pc.binary,
            pc.file.display(),
            pc.line
        );
        let known = know.provides.values().any(|bins| bins.contains(&pc.binary));
        if known {
            crate::inventory::tools::add(
                required,
                crate::inventory::RequiredTool {
                    binary: pc.binary.clone(),
                    why,
                    nix: know.nix_attr_for(&pc.binary),
                    platform: None,
                    pinned_by: None,
                    pinned: None,
                },
            );
        } else {
            warnings.push(format!(
                "{why}; si-nixify knows no nixpkgs package that provides it: add one to the devshell by hand"
            ));
        }
    }
}

//! Pipeline step 4: the edits that move the toolchains cell's build files onto system
//! toolchains, each with its reason, validated against the schemas of the rules the repo
//! really has.

pub mod edit;
pub mod loads;
mod schemas;
pub mod switch;

use std::path::PathBuf;

use serde::Serialize;

use crate::error::UserError;
use crate::inventory::generic::{MadeTarget, StandIn};
use crate::inventory::targets::{belongs_to, calls, cell_target_named, Call};
use crate::inventory::tools::strings_with_platform;
use crate::inventory::{Context, Inventory, Status};
use crate::know::{AttrAction, ToolchainRule};
use crate::read::schema::RuleSchema;
use crate::read::{Arg, Expr, Module, Node, Span};
pub use edit::Edit;

/// One change shown to the user.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Change {
    pub target: String,
    pub line: usize,
    /// `deleted`, `replaced`, `dropped`, `renamed`, `set`, `rewrote`, `load`.
    pub action: String,
    pub detail: String,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub file: PathBuf,
    pub old: String,
    pub new: String,
    pub changes: Vec<Change>,
    pub warnings: Vec<String>,
}

impl Plan {
    pub fn is_noop(&self) -> bool {
        self.old == self.new
    }
}

/// Inventory and plan in one: the rewrite `generate` would write for the main build file.
pub fn rewrite(ctx: &Context) -> Result<Plan, UserError> {
    let inv = crate::inventory::take(ctx)?;
    plan(ctx, &inv)
}

/// Plan the rewrite of the toolchains cell's main build file.
pub fn plan(ctx: &Context, inv: &Inventory) -> Result<Plan, UserError> {
    plan_file(ctx, inv, ctx.buck())
}

/// Plan the rewrite of every build file of the toolchains cell, main file first. One bad
/// file fails them all: the caller writes all of them or none.
pub fn plan_all(ctx: &Context, inv: &Inventory) -> Result<Vec<Plan>, UserError> {
    ctx.sources
        .build_modules()
        .map(|module| plan_file(ctx, inv, module))
        .collect()
}

/// Plan the rewrite of one build file of the cell.
fn plan_file(ctx: &Context, inv: &Inventory, module: &Module) -> Result<Plan, UserError> {
    // The inventory's warnings are about the cell as a whole: said once, with the main file.
    let warnings = if module.path == ctx.sources.buck {
        inv.warnings.clone()
    } else {
        Vec::new()
    };
    let mut p = Planner {
        ctx,
        module,
        text: &module.text,
        edits: Vec::new(),
        changes: Vec::new(),
        warnings,
        added_rules: Vec::new(),
        schemas: std::collections::BTreeMap::new(),
    };
    let calls = calls(module);
    // Every distribution of the cell, by package: a custom rule may point at one in another
    // package (`//rust:dist`) as well as in its own (`:dist`).
    let dists: Vec<(String, &str)> = inv
        .targets
        .iter()
        .filter(|t| t.status == Status::Distribution)
        .map(|t| (package_of(ctx, &t.file), t.name.as_str()))
        .collect();
    for target in inv.targets_in(&module.path) {
        let kept_rule = target.stand_in.as_ref().filter(|s| s.keeps_rule());
        if target.comprehension {
            match kept_rule {
                Some(stand_in) => p.repoint_in_comprehension(target, stand_in)?,
                None => p.delete_comprehension(target),
            }
            continue;
        }
        let call = &calls[target.call_index];
        if let Some(stand_in) = kept_rule {
            p.repoint(&target.name, target.line, call.args, stand_in)?;
            continue;
        }
        match target.status {
            Status::Distribution => p.delete_distribution(call, target.line)?,
            Status::Hermetic if !target.made.is_empty() => {
                p.rewrite_macro_call(call, target.line, &target.made, &dists)?
            }
            Status::Hermetic => match &target.stand_in {
                Some(stand_in) => p.replace_generic(call, target.line, stand_in, &dists)?,
                None => p.replace_hermetic(call, target.line)?,
            },
            Status::PathTool => match &target.stand_in {
                Some(stand_in) => p.replace_with_path_tool(call, target.line, stand_in),
                None => p.fix_references(call, &dists)?,
            },
            _ => p.fix_references(call, &dists)?,
        }
    }
    let without_loads = edit::apply(p.text, &p.edits).map_err(internal)?;
    let used = loads::used_names(&module.path, &without_loads)?;
    let added = std::mem::take(&mut p.added_rules);
    let load_edits = loads::plan(p.ctx, module, &used, &added, &mut p.changes)?;
    p.edits.extend(load_edits);
    let new = edit::apply(p.text, &p.edits).map_err(internal)?;
    // The result must parse: a broken file is never written.
    Module::parse(&module.path, new.clone()).map_err(|e| {
        UserError::new(format!(
            "internal error: the rewritten file would not parse ({e})"
        ))
        .hint("please report this with the input file")
    })?;
    Ok(Plan {
        file: module.path.clone(),
        old: p.text.to_owned(),
        new,
        changes: p.changes,
        warnings: p.warnings,
    })
}

/// A target a macro made, with the attrs it is written out with (as Starlark, sorted).
type Written = (MadeTarget, Vec<(String, String)>);

/// What `si_nixify_path_tool.bzl` holds.
const PATH_TOOL_TEXT: &str = include_str!("si_nixify_path_tool.bzl");

/// The file defining `si_nixify_path_tool`, beside the cell's root build file, when the
/// rewrite uses it: (root-relative path, text).
pub fn path_tool_file(ctx: &Context, inv: &Inventory) -> Option<(PathBuf, String)> {
    let rule = crate::inventory::generic::PATH_TOOL_RULE;
    // Written out in place of a call, or among the targets a macro call is rewritten into.
    inv.targets
        .iter()
        .any(|t| t.status == Status::PathTool || t.made.iter().any(|m| m.rule == rule))
        .then(|| {
            let dir = ctx
                .sources
                .buck
                .parent()
                .unwrap_or(std::path::Path::new(""));
            (
                dir.join(crate::inventory::generic::PATH_TOOL_FILE),
                PATH_TOOL_TEXT.to_owned(),
            )
        })
}

fn internal(e: String) -> UserError {
    UserError::new(format!("internal error while planning: {e}"))
}

struct Planner<'a> {
    ctx: &'a Context,
    module: &'a Module,
    text: &'a str,
    edits: Vec<Edit>,
    changes: Vec<Change>,
    warnings: Vec<String>,
    /// Replacement rules the BUCK file now calls, with the load label the knowledge base gives.
    added_rules: Vec<(String, String)>,
    /// Schemas already read, by (rule, load label): every hermetic target of a family checks
    /// against the same one, and reading it means parsing a prelude file.
    schemas: std::collections::BTreeMap<(String, String), schemas::Found>,
}

/// A list inside an attr value, with which of its elements to remove.
struct ListFilter {
    list: Span,
    items: Vec<Span>,
    remove: Vec<bool>,
}

/// What happens to one argument of a rewritten call.
enum ArgFate {
    Remove(String),
    /// Kept, maybe under a new name (`(to, reason)`), maybe with some flags removed.
    Keep {
        rename: Option<(String, String)>,
        filters: Vec<ListFilter>,
        filter_reason: String,
    },
}

impl ArgFate {
    fn keep() -> ArgFate {
        ArgFate::Keep {
            rename: None,
            filters: Vec::new(),
            filter_reason: String::new(),
        }
    }
}

impl<'a> Planner<'a> {
    fn schema_of(&mut self, rule: &str, label: &str) -> Result<schemas::Found, UserError> {
        let key = (rule.to_owned(), label.to_owned());
        if let Some(found) = self.schemas.get(&key) {
            return Ok(found.clone());
        }
        let found = schemas::for_rule(self.ctx, self.module, rule, label)?;
        self.schemas.insert(key, found.clone());
        Ok(found)
    }

    fn change(&mut self, target: &str, line: usize, action: &str, detail: String, reason: String) {
        self.changes.push(Change {
            target: target.to_owned(),
            line,
            action: action.to_owned(),
            detail,
            reason,
        });
    }

    fn delete_distribution(&mut self, call: &Call, line: usize) -> Result<(), UserError> {
        self.edits.push(Edit::delete(edit::statement_region(
            self.text,
            call.node.span,
        )));
        self.change(
            call.name().unwrap_or_default(),
            line,
            "deleted",
            format!("{}(...)", call.rule),
            if matches!(call.rule, "alias" | "toolchain_alias") {
                "picked one of the deleted downloads per platform; nothing is left to pick"
            } else {
                "downloads a pre-built archive; the devshell provides the tools instead"
            }
            .to_owned(),
        );
        Ok(())
    }

    /// A list comprehension whose every target goes (downloads over a release table).
    fn delete_comprehension(&mut self, target: &crate::inventory::Target) {
        self.edits
            .push(Edit::delete(edit::statement_region(self.text, target.span)));
        // Named by the call written in it (a macro's, not the rule the macro calls).
        let called = self
            .first_call_in(target.span, &|_| true)
            .map_or(target.rule.as_str(), |(f, _)| f)
            .to_owned();
        self.change(
            &target.name,
            target.line,
            "deleted",
            format!("[{called}(...) for …]"),
            "makes downloads of pre-built archives, and nothing is left that uses them; the devshell provides the tools instead".to_owned(),
        );
    }

    /// The repo's own rule kept: the attrs that held paths into a download get the binaries'
    /// names instead (`deno = ["deno"]`).
    fn repoint(
        &mut self,
        target: &str,
        line: usize,
        args: &[Arg],
        stand_in: &StandIn,
    ) -> Result<(), UserError> {
        for (attr, value) in &stand_in.path_values {
            let arg = args
                .iter()
                .find(|a| a.name.as_deref() == Some(attr.as_str()))
                .ok_or_else(|| {
                    internal(format!("`{target}` has no `{attr}` written out to rewrite"))
                })?;
            let literal = starlark_literal(value)
                .ok_or_else(|| internal(format!("`{attr}` of `{target}` has no Starlark form")))?;
            self.edits
                .push(Edit::replace(arg.value.span, literal.clone()));
            self.change(
                target,
                line,
                "rewrote",
                format!("`{attr}` → `{literal}`"),
                stand_in.why.clone(),
            );
        }
        Ok(())
    }

    /// A comprehension whose rule call is kept: its attrs are rewritten once, in the call
    /// inside it, for every target it makes.
    fn repoint_in_comprehension(
        &mut self,
        target: &crate::inventory::Target,
        stand_in: &StandIn,
    ) -> Result<(), UserError> {
        let (_, args) = self
            .first_call_in(target.span, &|f| f == target.rule)
            .ok_or_else(|| {
                internal(format!(
                    "no `{}(…)` call in the comprehension at line {}",
                    target.rule, target.line
                ))
            })?;
        let name = format!("[{}(...) for …]", target.rule);
        self.repoint(&name, target.line, args, stand_in)
    }

    /// The first call of a plain name `is_wanted` accepts inside the top-level statement
    /// at `span` (a comprehension): (name, args).
    fn first_call_in(
        &self,
        span: Span,
        is_wanted: &dyn Fn(&str) -> bool,
    ) -> Option<(&'a str, &'a [Arg])> {
        let module: &'a Module = self.module;
        let node = module.stmts.iter().find_map(|s| match s {
            crate::read::Stmt::Expr(node) if node.span == span => Some(node),
            _ => None,
        })?;
        let mut first = None;
        node.walk(&mut |n| {
            if first.is_none() {
                first = n.as_named_call().filter(|(f, _)| is_wanted(f));
            }
        });
        first
    }

    fn replace_hermetic(&mut self, call: &Call, line: usize) -> Result<(), UserError> {
        let ctx = self.ctx;
        let (_, rule) = &ctx.know.toolchains[call.rule];
        self.replace_with(call, line, rule)
    }

    /// A toolchain of a rule the knowledge base does not name, found by the provider its
    /// implementation constructs: the same move as for a known one, with the attr actions
    /// read off the call — an attr naming a deleted download goes, and so does one the system
    /// rule has no place for.
    fn replace_generic(
        &mut self,
        call: &Call,
        line: usize,
        stand_in: &StandIn,
        dists: &[(String, &str)],
    ) -> Result<(), UserError> {
        let found = self.schema_of(&stand_in.rule, &stand_in.load)?;
        let mut attrs = std::collections::BTreeMap::new();
        for arg in call.args {
            let Some(name) = arg.name.as_deref() else {
                continue;
            };
            if self.ctx.know.is_common_attr(name) || stand_in.set_attrs.contains_key(name) {
                continue;
            }
            let points_at = arg
                .value
                .strings()
                .into_iter()
                .find_map(|s| self.deleted_distribution(s.as_str().unwrap_or_default(), dists));
            // The evaluated value is what counts: an f-string or a macro's select hides the
            // label from the source.
            let points_at = points_at.or_else(|| stand_in.names_deleted.get(name).cloned());
            let reason = match points_at {
                Some(dist) => format!(
                    "pointed at `{dist}`, which downloaded the tools; {} runs them from PATH",
                    stand_in.rule
                ),
                None if !found.schema.accepts(name) => format!(
                    "{} has no `{name}`: it told `{}` how to use what it downloaded",
                    stand_in.rule, call.rule
                ),
                None => continue,
            };
            attrs.insert(name.to_owned(), AttrAction::Drop { reason });
        }
        let rule = ToolchainRule {
            rule: call.rule.to_owned(),
            distribution_attr: None,
            replacement: crate::know::Replacement {
                rule: stand_in.rule.clone(),
                load: stand_in.load.clone(),
                set_attrs: stand_in.set_attrs.clone(),
                adds_targets: Vec::new(),
            },
            attrs,
            drop_values: None,
            archives_attr: None,
            version_after: None,
        };
        self.replace_with(call, line, &rule)?;
        self.warn_of_cross_rust_targets(call, &stand_in.rule);
        // Say how the toolchain was recognised: by the provider its rule constructs.
        let target = call.name().unwrap_or_default();
        if let Some(c) = self
            .changes
            .iter_mut()
            .find(|c| c.target == target && c.action == "replaced")
        {
            c.reason = format!(
                "{} (schema: {}:{})",
                stand_in.why,
                found.schema.file.display(),
                found.schema.line
            );
        }
        Ok(())
    }

    /// A macro call whose downloads go, replaced by the targets it made, written out under
    /// the same names: its toolchains as their stand-ins (with the attrs the system rule
    /// takes), its native targets (an alias over them) as it made them.
    fn rewrite_macro_call(
        &mut self,
        call: &Call,
        line: usize,
        made: &[MadeTarget],
        dists: &[(String, &str)],
    ) -> Result<(), UserError> {
        let mut written = Vec::new();
        for m in made {
            written.push(self.made_target_attrs(call, line, m, dists)?);
        }
        let written = self.collapse_identical_branches(call, line, written);
        let mut text = String::new();
        for (m, attrs) in &written {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(&format!(
                "{}(\n    name = {},\n",
                m.rule,
                serde_json::to_string(&m.name).unwrap_or_default()
            ));
            for (k, v) in attrs {
                text.push_str(&format!("    {k} = {v},\n"));
            }
            text.push(')');
            let reason = match &m.stand_in {
                Some(s) => s.why.clone(),
                None => format!("the macro made it; kept as it was (`{}`)", m.rule),
            };
            self.change(
                &m.name,
                line,
                "rewrote",
                format!("{}(...) made `{}` → {}", call.rule, m.name, m.rule),
                reason,
            );
            if let Some(s) = &m.stand_in {
                if !self.module_loads(&s.rule)
                    && !self.added_rules.iter().any(|(r, _)| r == &s.rule)
                {
                    self.added_rules.push((s.rule.clone(), s.load.clone()));
                }
            }
        }
        self.edits.push(Edit::replace(call.node.span, text));
        Ok(())
    }

    /// The attrs a target a macro made is written out with, sorted, as Starlark: the
    /// stand-in's schema decides which stay; the others are dropped, with reasons.
    fn made_target_attrs(
        &mut self,
        call: &Call,
        line: usize,
        m: &MadeTarget,
        dists: &[(String, &str)],
    ) -> Result<Written, UserError> {
        let mut attrs: Vec<(String, String)> = Vec::new();
        let schema = match &m.stand_in {
            Some(s) => {
                let found = self.schema_of(&s.rule, &s.load)?;
                if let Some(w) = found.warning.filter(|w| !self.warnings.contains(w)) {
                    self.warnings.push(w);
                }
                for (k, v) in &s.set_attrs {
                    if found.schema.accepts(k) {
                        attrs.push((k.clone(), serde_json::to_string(v).unwrap_or_default()));
                    }
                }
                if let Some(exe) = &s.exe {
                    attrs.push((
                        "exe".to_owned(),
                        serde_json::to_string(exe).unwrap_or_default(),
                    ));
                }
                Some(found.schema)
            }
            None => None,
        };
        let accepts = |a: &str| {
            schema
                .as_ref()
                .is_none_or(|s| self.ctx.know.is_common_attr(a) || s.accepts(a))
        };
        let mut dropped = Vec::new();
        for (k, v) in &m.attrs {
            if k == "name" || v.is_null() || attrs.iter().any(|(a, _)| a == k) {
                continue;
            }
            let names_a_download = crate::downloads::strings(v)
                .into_iter()
                .find_map(|s| self.deleted_distribution(s, dists));
            let rendered = (names_a_download.is_none() && accepts(k))
                .then(|| starlark_literal(v))
                .flatten();
            match rendered {
                Some(r) => attrs.push((k.clone(), r)),
                None => dropped.push((
                    k.clone(),
                    match names_a_download {
                        Some(d) => format!("pointed at `{d}`, which downloaded the tools"),
                        None if crate::downloads::strings(v).iter().any(|s| s.starts_with(':')) => format!(
                            "named what `{}` made from the download, which goes with it; {} runs its tools from PATH",
                            call.rule, m.rule
                        ),
                        None => format!("{} has no place for it", m.rule),
                    },
                )),
            }
        }
        for (k, reason) in dropped {
            self.change(&m.name, line, "dropped", format!("`{k}`"), reason);
        }
        attrs.sort();
        Ok((m.clone(), attrs))
    }

    /// A `toolchain_alias` the macro made over per-platform toolchains that are now all the
    /// same (one `system_rust_toolchain` for every platform) becomes that toolchain, under the
    /// alias's name; the per-platform ones go, when nothing else names them (issue 12,
    /// point 4).
    fn collapse_identical_branches(
        &mut self,
        call: &Call,
        line: usize,
        written: Vec<Written>,
    ) -> Vec<Written> {
        let mut gone: Vec<String> = Vec::new();
        let mut collapsed: Vec<(String, Written)> = Vec::new();
        for (alias, alias_attrs) in written.iter().filter(|(m, _)| m.rule == "toolchain_alias") {
            let Some(actual) = alias.attrs.get("actual") else {
                continue;
            };
            let branches: Vec<&Written> = crate::downloads::strings(actual)
                .into_iter()
                .filter_map(|label| {
                    let name = label.strip_prefix(':')?;
                    written.iter().find(|(m, _)| m.name == name)
                })
                .collect();
            let labels = crate::downloads::strings(actual).len();
            let Some((first, first_attrs)) = branches.first() else {
                continue;
            };
            let identical = branches.len() == labels
                && branches.len() > 1
                && first.stand_in.is_some()
                && branches
                    .iter()
                    .all(|(m, a)| m.rule == first.rule && a == first_attrs);
            if !identical
                || branches
                    .iter()
                    .any(|(m, _)| self.named_elsewhere(call, &m.name))
            {
                continue;
            }
            let mut attrs = first_attrs.clone();
            attrs.retain(|(k, _)| k != "visibility");
            attrs.extend(
                alias_attrs
                    .iter()
                    .filter(|(k, _)| k == "visibility")
                    .cloned(),
            );
            attrs.sort();
            let names: Vec<String> = branches
                .iter()
                .map(|(m, _)| format!("`{}`", m.name))
                .collect();
            self.change(
                &alias.name,
                line,
                "collapsed",
                format!(
                    "toolchain_alias over {} → one {}",
                    names.join(", "),
                    first.rule
                ),
                format!(
                    "every branch of its select is now the same `{}`",
                    first.rule
                ),
            );
            gone.extend(branches.iter().map(|(m, _)| m.name.clone()));
            let mut one = first.clone();
            one.name = alias.name.clone();
            collapsed.push((alias.name.clone(), (one, attrs)));
        }
        written
            .into_iter()
            .filter(|(m, _)| !gone.contains(&m.name))
            .map(
                |(m, attrs)| match collapsed.iter().find(|(a, _)| *a == m.name) {
                    Some((_, one)) => one.clone(),
                    None => (m, attrs),
                },
            )
            .collect()
    }

    /// Whether a build file of the cell names target `name` (`":name"`, `"name"`) outside the
    /// macro call being rewritten: then it must keep its own target.
    fn named_elsewhere(&self, call: &Call, name: &str) -> bool {
        let patterns = [format!(":{name}\""), format!("\"{name}\"")];
        let names = |text: &str| patterns.iter().any(|p| text.contains(p.as_str()));
        self.ctx.sources.build_modules().any(|m| {
            if m.path == self.module.path {
                let span = call.node.span;
                names(&self.text[..span.start]) || names(&self.text[span.end..])
            } else {
                names(&m.text)
            }
        })
    }

    /// A Rust toolchain that builds for a triple no devshell rustc has the std of (wasm32-wasip1):
    /// the download brought that std; the devshell must now.
    fn warn_of_cross_rust_targets(&mut self, call: &Call, rule: &str) {
        if rule != "system_rust_toolchain" {
            return;
        }
        let Some(arg) = call.kwarg("rustc_target_triple") else {
            return;
        };
        let hosts = &self.ctx.know.rust_host_triples;
        for (triple, _) in strings_with_platform(&arg.value, None) {
            if hosts.iter().any(|h| h == triple) {
                continue;
            }
            let w = format!(
                "{}:{}: `{}` builds for `{triple}`, whose std the download brought: the devshell's rustc must have it (rust-overlay: `rust-bin.stable.latest.default.override {{ targets = [ \"{triple}\" ]; }}`)",
                self.module.path.display(),
                self.module.location(arg.span.start).line,
                call.name().unwrap_or_default()
            );
            if !self.warnings.contains(&w) {
                self.warnings.push(w);
            }
        }
    }

    /// A rule that only ran a downloaded binary becomes `si_nixify_path_tool`, running the
    /// binary from PATH; the attrs every rule has are kept.
    fn replace_with_path_tool(&mut self, call: &Call, line: usize, stand_in: &StandIn) {
        let target = call.name().unwrap_or_default().to_owned();
        let exe = stand_in.exe.as_deref().unwrap_or_default();
        let mut text = format!(
            "{}(\n    name = {},\n    exe = {},\n",
            stand_in.rule,
            serde_json::to_string(&target).unwrap_or_default(),
            serde_json::to_string(exe).unwrap_or_default()
        );
        for arg in call.args {
            match arg.name.as_deref() {
                Some("name") | None => {}
                Some(name) if self.ctx.know.is_common_attr(name) => {
                    text.push_str(&format!("    {},\n", self.module.source(arg.span)));
                }
                Some(name) => self.change(
                    &target,
                    self.module.location(arg.span.start).line,
                    "dropped",
                    format!("`{name}`"),
                    format!("configured how `{}` used the download", call.rule),
                ),
            }
        }
        text.push(')');
        self.edits.push(Edit::replace(call.node.span, text));
        self.change(
            &target,
            line,
            "replaced",
            format!("{} → {} (`{exe}`)", call.rule, stand_in.rule),
            stand_in.why.clone(),
        );
        if !self.added_rules.iter().any(|(r, _)| r == &stand_in.rule) {
            self.added_rules
                .push((stand_in.rule.clone(), stand_in.load.clone()));
        }
    }

    fn replace_with(
        &mut self,
        call: &Call,
        line: usize,
        rule: &ToolchainRule,
    ) -> Result<(), UserError> {
        let target = call.name().unwrap_or_default().to_owned();
        let schema = self.schema_of(&rule.replacement.rule, &rule.replacement.load)?;
        if let Some(w) = &schema.warning {
            if !self.warnings.contains(w) {
                self.warnings.push(w.clone());
            }
        }
        let schema = &schema.schema;
        self.edits.push(Edit::replace(
            call.rule_span(),
            rule.replacement.rule.clone(),
        ));
        self.change(
            &target,
            line,
            "replaced",
            format!("{} → {}", call.rule, rule.replacement.rule),
            format!(
                "{} downloads its tools; {} calls them from PATH (schema: {}:{})",
                call.rule,
                rule.replacement.rule,
                schema.file.display(),
                schema.line
            ),
        );
        if !self.module_loads(&rule.replacement.rule)
            && !self
                .added_rules
                .iter()
                .any(|(r, _)| r == &rule.replacement.rule)
        {
            self.added_rules
                .push((rule.replacement.rule.clone(), rule.replacement.load.clone()));
        }
        // Each attr the rewritten call ends up with, and where it stands (None: inserted).
        let mut final_attrs: Vec<(String, Option<Span>)> = Vec::new();
        let mut removed = Vec::new();
        for arg in call.args {
            let at = self.module.location(arg.span.start);
            let Some(name) = arg.name.as_deref() else {
                return Err(UserError::new(format!(
                    "positional argument in `{}` call of `{target}`",
                    call.rule
                ))
                .at(at)
                .hint("Buck2 rule calls take only `name = value` arguments"));
            };
            let fate = self.arg_fate(rule, schema, &target, name, &arg.value, at.line)?;
            match fate {
                ArgFate::Remove(reason) => {
                    removed.push(arg.span);
                    self.change(&target, at.line, "dropped", format!("`{name}`"), reason);
                }
                ArgFate::Keep {
                    rename,
                    filters,
                    filter_reason,
                } => {
                    let mut final_name = name.to_owned();
                    if let Some((to, reason)) = rename {
                        let name_span = Span {
                            start: arg.span.start,
                            end: arg.span.start + name.len(),
                        };
                        self.edits.push(Edit::replace(name_span, to.clone()));
                        self.change(
                            &target,
                            at.line,
                            "renamed",
                            format!("`{name}` → `{to}`"),
                            reason,
                        );
                        final_name = to;
                    }
                    self.apply_filters(&target, at.line, name, &filters, &filter_reason);
                    final_attrs.push((final_name, Some(arg.span)));
                }
            }
        }
        self.remove_args(call, &removed);
        self.set_attrs(call, rule, schema, &target, line, &mut final_attrs);
        self.keep_differing_defaults(call, rule, schema, &target, line, &mut final_attrs)?;
        self.validate(call, schema, &target, &final_attrs)?;
        self.add_targets(call, rule, &target, line)
    }

    /// An attr the call leaves to its default, where the hermetic rule's default (a string)
    /// differs from the system rule's — `link_style` "static" vs "shared" — is written out
    /// with the old default, so the build keeps behaving as before.
    fn keep_differing_defaults(
        &mut self,
        call: &Call,
        rule: &ToolchainRule,
        schema: &RuleSchema,
        target: &str,
        line: usize,
        final_attrs: &mut Vec<(String, Option<Span>)>,
    ) -> Result<(), UserError> {
        let Some(hermetic) = schemas::for_call(self.ctx, self.module, call.rule)? else {
            return Ok(());
        };
        for (attr, old) in &hermetic.attrs {
            let Some(new) = schema.attrs.get(attr) else {
                continue;
            };
            // Only two string literals can be compared; a select() default is not one.
            let (Some(old_default), Some(new_default)) = (&old.default_str, &new.default_str)
            else {
                continue;
            };
            let dropped = match rule.attrs.get(attr) {
                Some(AttrAction::Drop { .. }) => true,
                Some(AttrAction::DropIfEmpty { .. }) => old_default.is_empty(),
                _ => false,
            };
            let set = final_attrs.iter().any(|(a, _)| a == attr) || call.kwarg(attr).is_some();
            if dropped || set || !schema.accepts(attr) || new_default == old_default {
                continue;
            }
            let literal = serde_json::to_string(old_default).unwrap_or_default();
            self.insert_arg(call, final_attrs, attr, &literal);
            self.change(
                target,
                line,
                "set",
                format!("`{attr} = {literal}`"),
                format!(
                    "{} defaulted `{attr}` to {literal} and {} defaults it to \"{new_default}\": kept so the build does not change",
                    call.rule, schema.rule
                ),
            );
        }
        Ok(())
    }

    /// Targets the hermetic macro declared besides itself (`remote_python_toolchain`'s
    /// `<name>_bootstrap`), written out as their system rules after the call.
    fn add_targets(
        &mut self,
        call: &Call,
        rule: &ToolchainRule,
        target: &str,
        line: usize,
    ) -> Result<(), UserError> {
        for add in &rule.replacement.adds_targets {
            let name = add.name.replace("{name}", target);
            let switched_off = add
                .unless_false
                .as_deref()
                .and_then(|a| call.kwarg(a))
                .is_some_and(|a| a.value.as_ident() == Some("False"));
            let exists = calls(self.module)
                .iter()
                .any(|c| c.name() == Some(name.as_str()));
            if switched_off || exists {
                continue;
            }
            let found = self.schema_of(&add.rule, &add.load)?;
            if let Some(w) = found.warning {
                self.warnings.push(w);
            }
            let visibility = call
                .kwarg("visibility")
                .filter(|_| {
                    found.schema.accepts("visibility") || self.ctx.know.is_common_attr("visibility")
                })
                .map(|a| format!("    {},\n", self.module.source(a.span)))
                .unwrap_or_default();
            let end = self.text[call.node.span.end..]
                .find('\n')
                .map_or(self.text.len(), |i| call.node.span.end + i + 1);
            self.edits.push(Edit::insert(
                end,
                format!("\n{}(\n    name = \"{name}\",\n{visibility})\n", add.rule),
            ));
            if !self.module_loads(&add.rule)
                && !self.added_rules.iter().any(|(r, _)| r == &add.rule)
            {
                self.added_rules.push((add.rule.clone(), add.load.clone()));
            }
            self.change(
                target,
                line,
                "added",
                format!("{}(name = \"{name}\")", add.rule),
                format!(
                    "{} also declared `:{name}`; the system rule takes its place",
                    call.rule
                ),
            );
        }
        Ok(())
    }

    /// Decide one argument of a hermetic call, from the knowledge base and the schema.
    fn arg_fate(
        &self,
        rule: &ToolchainRule,
        schema: &RuleSchema,
        target: &str,
        name: &str,
        value: &Node,
        line: usize,
    ) -> Result<ArgFate, UserError> {
        if self.ctx.know.is_common_attr(name) {
            return Ok(ArgFate::keep());
        }
        let drop_values = rule.drop_values.as_ref();
        let is_dropped = |s: &str| drop_values.is_some_and(|d| d.values.iter().any(|v| v == s));
        let flags: Vec<&str> = strings_with_platform(value, None)
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        let all_dropped = !flags.is_empty() && flags.iter().all(|f| is_dropped(f));
        let values_reason = drop_values.map(|d| d.reason.clone()).unwrap_or_default();
        let action = rule.attrs.get(name).cloned().unwrap_or(AttrAction::Keep);
        let fate = match action {
            AttrAction::Drop { reason } => ArgFate::Remove(reason),
            _ if all_dropped => {
                let mut unique: Vec<&str> = Vec::new();
                for f in flags {
                    if !unique.contains(&f) {
                        unique.push(f);
                    }
                }
                ArgFate::Remove(format!(
                    "every flag in it ({}) {values_reason}",
                    unique.join(", ")
                ))
            }
            AttrAction::DropIfEmpty { reason } if is_empty_value(value) => ArgFate::Remove(reason),
            other => ArgFate::Keep {
                rename: match other {
                    AttrAction::Rename { to, reason } => Some((to, reason)),
                    _ => None,
                },
                filters: list_filters(value, &is_dropped),
                filter_reason: values_reason,
            },
        };
        if let ArgFate::Keep { rename, .. } = &fate {
            let final_name = rename.as_ref().map_or(name, |(to, _)| to.as_str());
            if !schema.accepts(final_name) {
                let known = rule.attrs.get(name).and_then(|a| match a {
                    AttrAction::DropIfEmpty { reason } => Some(reason.as_str()),
                    _ => None,
                });
                return Err(self.not_in_schema(schema, target, name, final_name, line, known));
            }
        }
        Ok(fate)
    }

    fn not_in_schema(
        &self,
        schema: &RuleSchema,
        target: &str,
        name: &str,
        final_name: &str,
        line: usize,
        dropped_only_if_empty: Option<&str>,
    ) -> UserError {
        let why = match dropped_only_if_empty {
            // The knowledge base drops it only when empty, and this one holds flags.
            Some(reason) => format!("it still holds flags, and {reason}"),
            None => "the knowledge base says nothing about it".to_owned(),
        };
        UserError::new(format!(
            "`{name}` of `{target}` has no place in `{}`: its schema ({}:{}) has no settable attr `{final_name}`, and {why}",
            schema.rule,
            schema.file.display(),
            schema.line
        ))
        .at(crate::error::Location {
            file: self.module.path.clone(),
            line,
            col: 5,
        })
        .hint("remove or move the attr by hand, or teach si-nixify what to do with it in .si-nixify/*.json")
    }

    fn apply_filters(
        &mut self,
        target: &str,
        line: usize,
        attr: &str,
        filters: &[ListFilter],
        reason: &str,
    ) {
        for f in filters {
            let dropped: Vec<&str> = f
                .items
                .iter()
                .zip(&f.remove)
                .filter(|(_, r)| **r)
                .map(|(s, _)| self.module.source(*s))
                .collect();
            self.change(
                target,
                line,
                "dropped",
                format!("{} from `{attr}`", dropped.join(", ")),
                reason.to_owned(),
            );
            self.edits.extend(edit::remove_items(
                self.text,
                &f.items,
                &f.remove,
                f.list.start + 1,
            ));
        }
    }

    fn remove_args(&mut self, call: &Call, removed: &[Span]) {
        if removed.is_empty() {
            return;
        }
        let spans: Vec<Span> = call.args.iter().map(|a| a.span).collect();
        let remove: Vec<bool> = spans.iter().map(|s| removed.contains(s)).collect();
        let open = self.open_paren(call);
        self.edits
            .extend(edit::remove_items(self.text, &spans, &remove, open + 1));
    }

    fn open_paren(&self, call: &Call) -> usize {
        let end = call.rule_span().end;
        end + self.text[end..].find('(').unwrap_or(0)
    }

    /// Attrs the replacement needs set (`deno_exe = "deno"`), where its schema has them.
    fn set_attrs(
        &mut self,
        call: &Call,
        rule: &ToolchainRule,
        schema: &RuleSchema,
        target: &str,
        line: usize,
        final_attrs: &mut Vec<(String, Option<Span>)>,
    ) {
        for (attr, value) in &rule.replacement.set_attrs {
            if !schema.accepts(attr) {
                continue;
            }
            let literal = serde_json::to_string(value).unwrap_or_default();
            if let Some(existing) = call.kwarg(attr) {
                self.edits
                    .push(Edit::replace(existing.value.span, literal.clone()));
            } else {
                self.insert_arg(call, final_attrs, attr, &literal);
            }
            self.change(
                target,
                line,
                "set",
                format!("`{attr} = {literal}`"),
                format!("{} takes the tool from PATH", schema.rule),
            );
        }
    }

    /// Insert `attr = literal` where buildifier would put it: after `name`, before the first
    /// kept attr whose name sorts after it (else after the last), in the call's layout.
    fn insert_arg(
        &mut self,
        call: &Call,
        final_attrs: &mut Vec<(String, Option<Span>)>,
        attr: &str,
        literal: &str,
    ) {
        let arg = format!("{attr} = {literal}");
        let placed: Vec<(&str, Span)> = final_attrs
            .iter()
            .filter_map(|(n, s)| s.map(|s| (n.as_str(), s)))
            .filter(|(n, _)| *n != "name")
            .collect();
        let edit = match placed.iter().find(|(n, _)| *n > attr) {
            Some((_, before)) => {
                let line_start = self.text[..before.start].rfind('\n').map_or(0, |i| i + 1);
                let indent = &self.text[line_start..before.start];
                if indent.trim().is_empty() {
                    Edit::insert(line_start, format!("{indent}{arg},\n"))
                } else {
                    Edit::insert(before.start, format!("{arg}, "))
                }
            }
            None => {
                let after = placed
                    .last()
                    .map(|(_, s)| *s)
                    .or_else(|| call.kwarg("name").map(|a| a.span))
                    .or_else(|| call.args.first().map(|a| a.span));
                let Some(after) = after else { return };
                let (at, text) = self.insertion_after(after, &arg);
                Edit::insert(at, text)
            }
        };
        self.edits.push(edit);
        final_attrs.push((attr.to_owned(), None));
    }

    /// Where and what to insert so a new argument follows `after` in the call's layout.
    fn insertion_after(&self, after: Span, arg: &str) -> (usize, String) {
        let line_start = self.text[..after.start].rfind('\n').map_or(0, |i| i + 1);
        let indent = &self.text[line_start..after.start];
        let line_end = self.text[after.end..]
            .find('\n')
            .map_or(self.text.len(), |i| after.end + i + 1);
        let rest = self.text[after.end..line_end].trim();
        if indent.trim().is_empty() && (rest == "," || rest.is_empty()) {
            (line_end, format!("{indent}{arg},\n"))
        } else {
            (after.end, format!(", {arg}"))
        }
    }

    fn validate(
        &self,
        call: &Call,
        schema: &RuleSchema,
        target: &str,
        final_attrs: &[(String, Option<Span>)],
    ) -> Result<(), UserError> {
        for (attr, info) in &schema.attrs {
            if !info.optional && !final_attrs.iter().any(|(a, _)| a == attr) {
                return Err(UserError::new(format!(
                    "`{target}` would become `{}` without its required attr `{attr}` (schema: {}:{})",
                    schema.rule,
                    schema.file.display(),
                    schema.line
                ))
                .at(self.module.location(call.node.span.start))
                .hint(format!(
                    "add `{attr}` to the call, or a `set_attrs` entry in the knowledge base"
                )));
            }
        }
        Ok(())
    }

    /// Rewrite or drop attrs of other calls that still point at deleted distributions.
    /// The deleted distribution a string points at, as this file would write it: `:dist` in
    /// its own package, `toolchains//pkg:dist` in another.
    fn deleted_distribution(&self, text: &str, dists: &[(String, &str)]) -> Option<String> {
        let (package, name) = cell_target_named(&self.ctx.repo, &self.module.path, text)?;
        let own = package_of(self.ctx, &self.module.path);
        dists
            .iter()
            .find(|(p, d)| *p == package && belongs_to(&name, d))
            .map(|(p, d)| {
                if *p == own {
                    format!(":{d}")
                } else {
                    format!("toolchains//{p}:{d}")
                }
            })
    }

    fn fix_references(&mut self, call: &Call, dists: &[(String, &str)]) -> Result<(), UserError> {
        let target = call.name().unwrap_or_default().to_owned();
        let mut removed = Vec::new();
        for arg in call.args {
            let Some(name) = arg.name.as_deref() else {
                continue;
            };
            if name == "name" {
                continue;
            }
            for s in arg.value.strings() {
                let text = s.as_str().unwrap_or_default();
                let Some(dist) = self.deleted_distribution(text, dists) else {
                    continue;
                };
                let at = self.module.location(s.span.start);
                let is_whole_value = std::ptr::eq(s, &arg.value);
                if text.contains("$(location ") {
                    let tool = crate::inventory::kept::tool_named_by(text).ok_or_else(|| {
                        UserError::new(format!(
                            "`{name}` of `{target}` uses `{text}`, which points into the deleted distribution `{dist}` without naming a tool"
                        ))
                        .at(at.clone())
                        .hint("replace it by hand with the tool's name on PATH")
                    })?;
                    self.edits.push(Edit::replace(
                        s.span,
                        serde_json::to_string(tool).unwrap_or_default(),
                    ));
                    self.change(
                        &target,
                        at.line,
                        "rewrote",
                        format!("`{name} = \"{text}\"` → `\"{tool}\"`"),
                        format!("`{dist}` is deleted; `{tool}` comes from the devshell's PATH"),
                    );
                } else if is_whole_value {
                    let schema = schemas::for_call(self.ctx, self.module, call.rule)?.ok_or_else(|| {
                        UserError::new(format!(
                            "`{name}` of `{target}` points at the deleted distribution `{dist}`, and the schema of `{}` was not found to tell whether it may be left out",
                            call.rule
                        ))
                        .at(at.clone())
                        .hint("remove the attr by hand if the rule falls back to a tool on PATH")
                    })?;
                    if !schema.is_optional(name) {
                        return Err(UserError::new(format!(
                            "`{name}` of `{target}` points at the deleted distribution `{dist}`, but `{}` requires it (schema: {}:{})",
                            call.rule,
                            schema.file.display(),
                            schema.line
                        ))
                        .at(at)
                        .hint("make the attr optional in the rule (attrs.option) with a PATH fallback, then run again"));
                    }
                    removed.push(arg.span);
                    self.change(
                        &target,
                        at.line,
                        "dropped",
                        format!("`{name}`"),
                        format!(
                            "pointed at the deleted distribution `{dist}`; `{}` makes it optional ({}:{})",
                            call.rule,
                            schema.file.display(),
                            schema.line
                        ),
                    );
                } else {
                    return Err(UserError::new(format!(
                        "`{name}` of `{target}` refers to the deleted distribution `{dist}` inside a larger value"
                    ))
                    .at(at)
                    .hint("rewrite that value by hand to use a tool from PATH"));
                }
            }
        }
        self.remove_args(call, &removed);
        Ok(())
    }

    fn module_loads(&self, rule: &str) -> bool {
        self.module.loaded_symbol(rule).is_some()
    }
}

/// A build file's package inside the toolchains cell (`rust` for `toolchains/rust/BUCK`).
fn package_of(ctx: &Context, file: &std::path::Path) -> String {
    file.parent()
        .and_then(|p| p.strip_prefix(ctx.repo.toolchains_dir()).ok())
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// An evaluated attr value written as Starlark: `{"select": {…}}` is a `select()`, `{"+":
/// [a, b]}` a concatenation; `None` for a value only Buck2 knows (`<…>`).
fn starlark_literal(v: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    Some(match v {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.starts_with('<') && s.ends_with('>') => return None,
        Value::String(s) => serde_json::to_string(s).ok()?,
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(starlark_literal)
                .collect::<Option<Vec<_>>>()?
                .join(", ")
        ),
        Value::Object(map) => match (map.len(), map.iter().next()) {
            (1, Some((k, inner))) if k == "select" => {
                format!("select({})", starlark_literal(inner)?)
            }
            (1, Some((k, Value::Array(parts)))) if k == "+" => parts
                .iter()
                .map(starlark_literal)
                .collect::<Option<Vec<_>>>()?
                .join(" + "),
            _ => format!(
                "{{{}}}",
                map.iter()
                    .map(|(k, v)| Some(format!(
                        "{}: {}",
                        serde_json::to_string(k).ok()?,
                        starlark_literal(v)?
                    )))
                    .collect::<Option<Vec<_>>>()?
                    .join(", ")
            ),
        },
    })
}

/// Element removals for every list in `value` that holds a dropped flag.
fn list_filters(value: &Node, is_dropped: &dyn Fn(&str) -> bool) -> Vec<ListFilter> {
    let mut filters = Vec::new();
    value.walk(&mut |n| {
        if let Expr::List(items) = &n.expr {
            let remove: Vec<bool> = items
                .iter()
                .map(|i| i.as_str().is_some_and(is_dropped))
                .collect();
            if remove.iter().any(|r| *r) {
                filters.push(ListFilter {
                    list: n.span,
                    items: items.iter().map(|i| i.span).collect(),
                    remove,
                });
            }
        }
    });
    filters
}

/// `""`, `[]`, `{}`, `None`.
fn is_empty_value(node: &Node) -> bool {
    match &node.expr {
        Expr::Str(s) => s.is_empty(),
        Expr::List(items) | Expr::Tuple(items) => items.is_empty(),
        Expr::Dict(pairs) => pairs.is_empty(),
        Expr::Ident(name) => name == "None",
        _ => false,
    }
}

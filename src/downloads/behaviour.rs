//! Which rules download, found by what their implementations do rather than by their names.
//!
//! A rule downloads when its `impl` calls `ctx.actions.download_file(…)`, directly, through
//! helper functions (in the same file or loaded), or through a rule it instantiates with
//! `ctx.actions.anon_target(s)(…)`. A download inside a `ctx.actions.dynamic_output(f = …)`
//! callback (or a `dynamic_actions(impl = …)` used through `dynamic_output_new`) happens at
//! build time from data read then: such a rule is reported as dynamic, never passed over.
//!
//! This reads the parsed IR ([`crate::read::ir`]); it never runs anything.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::Site;
use crate::read::ir::{Arg, Def, Expr, Module, Node, Stmt};
use crate::read::Sources;

/// What a rule's implementation does that matters here.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Behaviour {
    /// The first `download_file` call reached from the implementation at analysis time.
    pub download: Option<Site>,
    /// A download reached only through a dynamic-output callback.
    pub dynamic: Option<Dynamic>,
    /// Providers the implementation constructs (`RustToolchainInfo(…)`) and provider helpers
    /// it calls (`cxx_toolchain_infos(…)`), by Buck2's naming convention (`…Info`,
    /// `…_infos`): what the rule gives its users, and so what can stand in for it.
    pub provides: BTreeSet<String>,
    /// Providers the implementation takes from its deps (`ctx.attrs.bin[CraneInfo]`): what it
    /// needs of the targets it names, beyond what a tool on PATH gives.
    pub reads: BTreeSet<String>,
}

impl Behaviour {
    pub fn downloads(&self) -> bool {
        self.download.is_some() || self.dynamic.is_some()
    }
}

/// A download made at build time, from inside a dynamic action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dynamic {
    /// The `dynamic_output(…)` / `dynamic_output_new(…)` call.
    pub registered_at: Site,
    /// The `download_file` call inside the callback.
    pub download: Site,
    /// Attrs whose artifacts the callback reads (`dynamic = [ctx.attrs.manifest]`): the data
    /// the URLs come from.
    pub data_attrs: Vec<String>,
}

/// Functions are followed this deep; real helpers nest two or three levels.
const MAX_DEPTH: u8 = 12;

/// The behaviour of the rule whose `NAME = rule(…)` (or `anon_rule(…)`) call starts on
/// `line` of `file`. `None` when no such call is there.
pub fn of_rule_at(sources: &Sources, file: &Path, line: usize) -> Option<Behaviour> {
    let module = sources.modules.get(file)?;
    let impl_name = module.stmts.iter().find_map(|s| match s {
        Stmt::Assign { value, .. } if module.line(value.span.start) == line => impl_of(value),
        _ => None,
    })?;
    let mut walk = Walk {
        sources,
        seen: BTreeSet::new(),
    };
    Some(walk.function(module, &[], &impl_name, 0))
}

/// The behaviour of rule `name` as seen from `from` (following loads).
pub fn of_rule(sources: &Sources, from: &Path, name: &str) -> Option<Behaviour> {
    let (module, name) = sources.definition(from, name)?;
    let line = module.line(module.top_level_value(&name)?.span.start);
    of_rule_at(sources, &module.path.clone(), line)
}

/// `impl = f` of a `rule(…)`, `anon_rule(…)` or `dynamic_actions(…)` call.
fn impl_of(value: &Node) -> Option<String> {
    let (func, args) = value.as_named_call()?;
    if !matches!(func, "rule" | "anon_rule" | "dynamic_actions") {
        return None;
    }
    kwarg(args, "impl")?.as_ident().map(str::to_owned)
}

fn kwarg<'a>(args: &'a [Arg], name: &str) -> Option<&'a Node> {
    args.iter()
        .find(|a| a.name.as_deref() == Some(name))
        .map(|a| &a.value)
}

struct Walk<'a> {
    sources: &'a Sources,
    /// (file, function) pairs already followed: recursion and diamonds end here.
    seen: BTreeSet<(PathBuf, String)>,
}

impl<'a> Walk<'a> {
    /// Follow function `name` as seen from `module`, inside a body whose nested `def`s are
    /// `locals` (a callback defined inside the implementation is found there first).
    fn function(
        &mut self,
        module: &'a Module,
        locals: &[&'a Def],
        name: &str,
        depth: u8,
    ) -> Behaviour {
        if depth > MAX_DEPTH {
            return Behaviour::default();
        }
        if let Some(def) = locals.iter().find(|d| d.name == name) {
            return self.body(module, def, depth);
        }
        let Some((defining, their)) = self.sources.definition(&module.path, name) else {
            return Behaviour::default();
        };
        if !self.seen.insert((defining.path.clone(), their.clone())) {
            return Behaviour::default();
        }
        if let Some(def) = defining.def(&their) {
            return self.body(defining, def, depth);
        }
        // `_fetch = rule(impl = …)` reached by name (an anon target's rule), or
        // `_dyn = dynamic_actions(impl = …)` called to make a dynamic action.
        match defining.top_level_value(&their) {
            Some(value)
                if value
                    .as_named_call()
                    .is_some_and(|(f, _)| f == "dynamic_actions") =>
            {
                let inner = impl_of(value).map(|i| self.function(defining, &[], &i, depth + 1));
                as_dynamic(
                    inner.unwrap_or_default(),
                    defining.location_site(value),
                    &[],
                )
            }
            Some(value) => match impl_of(value) {
                Some(i) => self.function(defining, &[], &i, depth + 1),
                None => Behaviour::default(),
            },
            None => Behaviour::default(),
        }
    }

    fn body(&mut self, module: &'a Module, def: &'a Def, depth: u8) -> Behaviour {
        let locals: Vec<&Def> = def
            .body
            .iter()
            .filter_map(|s| match s {
                Stmt::Def(d) => Some(d),
                _ => None,
            })
            .collect();
        let mut found = Behaviour::default();
        for node in def.body.iter().filter_map(statement_node) {
            let mut calls = Vec::new();
            node.walk(&mut |n| match &n.expr {
                Expr::Call { func, args } => calls.push((n, func.as_ref(), args.as_slice())),
                Expr::Index(_, key) => {
                    if let Some(p) = key.as_ident().filter(|p| is_provider_name(p)) {
                        found.reads.insert(p.to_owned());
                    }
                }
                _ => {}
            });
            for (call, func, args) in calls {
                let next = self.call(module, &locals, call, func, args, depth);
                merge(&mut found, next);
            }
        }
        found
    }

    /// What one call inside a function body leads to.
    fn call(
        &mut self,
        module: &'a Module,
        locals: &[&'a Def],
        call: &Node,
        func: &Node,
        args: &'a [Arg],
        depth: u8,
    ) -> Behaviour {
        // A local function handed to a call as a value (`promise.map(handle_archive)` in
        // sluongng/buck2-go) runs as part of this rule: what it constructs counts.
        let mut callbacks = Behaviour::default();
        for a in args.iter().filter(|a| a.name.is_none()) {
            if let Some(def) = a
                .value
                .as_ident()
                .and_then(|n| locals.iter().find(|d| d.name == n))
            {
                if self
                    .seen
                    .insert((module.path.clone(), format!("{}#callback", def.name)))
                {
                    merge(&mut callbacks, self.body(module, def, depth + 1));
                }
            }
        }
        let mut found = self.call_itself(module, locals, call, func, args, depth);
        merge(&mut found, callbacks);
        found
    }

    /// What a call leads to by what it calls.
    fn call_itself(
        &mut self,
        module: &'a Module,
        locals: &[&'a Def],
        call: &Node,
        func: &Node,
        args: &'a [Arg],
        depth: u8,
    ) -> Behaviour {
        match &func.expr {
            Expr::Dot(_, method) if method == "download_file" => Behaviour {
                download: Some(module.location_site(call)),
                ..Behaviour::default()
            },
            Expr::Dot(_, method) if method == "anon_target" || method == "anon_targets" => {
                // The rule values passed in: `anon_target(_fetch, {…})`,
                // `anon_targets([(_fetch, {…}), …])`.
                let mut rules = Vec::new();
                // `anon_target(native.http_archive, {…})` (sluongng/buck2-go's Go SDK): the
                // native fetcher itself, a download made by this rule.
                let native_fetch = args.iter().filter(|a| a.name.is_none()).any(|a| {
                    matches!(&a.value.expr, Expr::Dot(_, f) if is_native_fetcher(f))
                        || a.value.as_ident().is_some_and(is_native_fetcher)
                });
                if native_fetch {
                    return Behaviour {
                        download: Some(module.location_site(call)),
                        ..Behaviour::default()
                    };
                }
                for a in args.iter().filter(|a| a.name.is_none()) {
                    a.value.walk(&mut |n| {
                        if let Some(id) = n.as_ident() {
                            rules.push(id.to_owned());
                        }
                    });
                }
                let mut found = Behaviour::default();
                for r in rules {
                    // The anon target's providers are its own, not this rule's.
                    let inner = Behaviour {
                        provides: BTreeSet::new(),
                        ..self.function(module, locals, &r, depth + 1)
                    };
                    merge(&mut found, inner);
                }
                found
            }
            Expr::Dot(_, method) if method == "dynamic_output" => {
                let Some(f) = kwarg(args, "f").and_then(Node::as_ident) else {
                    return Behaviour::default();
                };
                let inner = self.function(module, locals, f, depth + 1);
                let data = kwarg(args, "dynamic").map(ctx_attrs_in).unwrap_or_default();
                as_dynamic(inner, module.location_site(call), &data)
            }
            Expr::Ident(name) if fetches_in_prelude(self.sources, module, name) => Behaviour {
                download: Some(module.location_site(call)),
                ..Behaviour::default()
            },
            Expr::Ident(name) => {
                let mut found = self.function(module, locals, name, depth + 1);
                if is_provider_name(name) {
                    found.provides.insert(name.clone());
                }
                found
            }
            _ => Behaviour::default(),
        }
    }
}

/// A behaviour reached through a dynamic action: its downloads happen at build time.
fn as_dynamic(inner: Behaviour, registered_at: Site, data_attrs: &[String]) -> Behaviour {
    let download = inner
        .download
        .or_else(|| inner.dynamic.as_ref().map(|d| d.download.clone()));
    Behaviour {
        download: None,
        // What the callback constructs is the dynamic action's, not the rule's.
        provides: BTreeSet::new(),
        reads: inner.reads,
        dynamic: download.map(|download| Dynamic {
            registered_at,
            download,
            data_attrs: data_attrs.to_vec(),
        }),
    }
}

/// The prelude's own implementations of its fetchers, which rules of a repo call to fetch
/// (andreiltd/componentize-qjs: `return [http_archive_impl(ctx)[0]]`).
const PRELUDE_FETCH_IMPLS: &[&str] = &["http_archive_impl", "http_file_impl", "http_file_shared"];

/// Whether `name` in `module` is one of [`PRELUDE_FETCH_IMPLS`], loaded from the prelude and
/// not readable there (a bundled prelude is not on disk): with the prelude on disk, the walk
/// reaches its `download_file` instead.
fn fetches_in_prelude(sources: &Sources, module: &Module, name: &str) -> bool {
    let Some((label, their)) = module.loaded_symbol(name) else {
        return false;
    };
    label.trim_start_matches('@').starts_with("prelude//")
        && PRELUDE_FETCH_IMPLS.contains(&their)
        && sources.definition(&module.path, name).is_none()
}

/// Buck2's rules that download what they are given (`http_archive`, `http_file`).
fn is_native_fetcher(name: &str) -> bool {
    matches!(name, "http_archive" | "http_file" | "remote_file")
}

/// Buck2's naming convention for providers and the helpers that build a toolchain's set of
/// them.
fn is_provider_name(name: &str) -> bool {
    name.ends_with("Info") || name.ends_with("_infos")
}

fn merge(into: &mut Behaviour, other: Behaviour) {
    into.provides.extend(other.provides);
    into.reads.extend(other.reads);
    if into.download.is_none() {
        into.download = other.download;
    }
    if into.dynamic.is_none() {
        into.dynamic = other.dynamic;
    }
}

fn statement_node(stmt: &Stmt) -> Option<&Node> {
    match stmt {
        Stmt::Assign { value, .. } | Stmt::Expr(value) | Stmt::Return(Some(value)) => Some(value),
        _ => None,
    }
}

/// `X` of every `ctx.attrs.X` in an expression.
fn ctx_attrs_in(node: &Node) -> Vec<String> {
    let mut out = Vec::new();
    node.walk(&mut |n| {
        if let Expr::Dot(inner, attr) = &n.expr {
            if matches!(&inner.expr, Expr::Dot(_, a) if a == "attrs") && !out.contains(attr) {
                out.push(attr.clone());
            }
        }
    });
    out
}

trait LocationSite {
    fn location_site(&self, node: &Node) -> Site;
}

impl LocationSite for Module {
    fn location_site(&self, node: &Node) -> Site {
        Site {
            file: self.path.clone(),
            line: self.line(node.span.start),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn sources(files: &[(&str, &str)]) -> Sources {
        let modules: BTreeMap<PathBuf, std::sync::Arc<Module>> = files
            .iter()
            .map(|(p, t)| {
                let path = PathBuf::from(p);
                let module = Module::parse(&path, (*t).to_owned()).unwrap();
                (path.clone(), std::sync::Arc::new(module))
            })
            .collect();
        let mut load_targets = BTreeMap::new();
        for (path, m) in &modules {
            for l in m.loads() {
                let target = path
                    .parent()
                    .unwrap()
                    .join(l.module.trim_start_matches(':'));
                load_targets.insert((path.clone(), l.module.clone()), target);
            }
        }
        Sources {
            buck: PathBuf::from(files[0].0),
            builds: vec![PathBuf::from(files[0].0)],
            modules,
            load_targets,
            unreadable: Default::default(),
        }
    }

    #[test]
    fn download_through_a_loaded_helper() {
        let s = sources(&[
            (
                "t/defs.bzl",
                "load(\":util.bzl\", \"fetch\")\n\ndef _impl(ctx):\n    return fetch(ctx)\n\nr = rule(impl = _impl, attrs = {})\n",
            ),
            (
                "t/util.bzl",
                "def fetch(ctx):\n    out = ctx.actions.declare_output(\"x\")\n    ctx.actions.download_file(out.as_output(), ctx.attrs.url)\n    return out\n",
            ),
        ]);
        let b = of_rule(&s, Path::new("t/defs.bzl"), "r").unwrap();
        assert_eq!(
            b.download,
            Some(Site {
                file: "t/util.bzl".into(),
                line: 3
            })
        );
        assert!(b.dynamic.is_none());
    }

    #[test]
    fn a_rule_that_only_runs_tools_does_not_download() {
        let s = sources(&[(
            "t/defs.bzl",
            "def _impl(ctx):\n    ctx.actions.run(cmd_args(\"tar\"), category = \"x\")\n    return []\n\nr = rule(impl = _impl)\n",
        )]);
        assert!(!of_rule(&s, Path::new("t/defs.bzl"), "r")
            .unwrap()
            .downloads());
    }

    #[test]
    fn dynamic_actions_callback_download_is_dynamic() {
        let s = sources(&[(
            "t/defs.bzl",
            "def _dyn(actions, manifest, out):\n    actions.download_file(out, \"u\")\n    return []\n\n_d = dynamic_actions(impl = _dyn, attrs = {})\n\ndef _impl(ctx):\n    ctx.actions.dynamic_output_new(_d(manifest = ctx.attrs.m))\n    return []\n\nr = rule(impl = _impl)\n",
        )]);
        let b = of_rule(&s, Path::new("t/defs.bzl"), "r").unwrap();
        assert!(b.download.is_none());
        let d = b.dynamic.unwrap();
        assert_eq!(d.download.line, 2);
        assert_eq!(d.registered_at.line, 5);
    }

    #[test]
    fn recursion_ends() {
        let s = sources(&[(
            "t/defs.bzl",
            "def a(ctx):\n    return b(ctx)\n\ndef b(ctx):\n    return a(ctx)\n\nr = rule(impl = a)\n",
        )]);
        assert!(!of_rule(&s, Path::new("t/defs.bzl"), "r")
            .unwrap()
            .downloads());
    }
}

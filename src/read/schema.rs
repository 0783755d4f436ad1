//! Rule schemas: the attrs of `NAME = rule(impl = …, attrs = {…})`, read from the repo's own
//! .bzl files so that a rewrite is checked against the prelude the repo really uses.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::ir::{Expr, Module, Node};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrSchema {
    /// The attr may be left out (it has a default, or is `attrs.option`).
    pub optional: bool,
    /// `attrs.default_only(...)` or `_private`: a call may not set it.
    pub default_only: bool,
    /// The default, when it is a string literal (used to derive URLs).
    pub default_str: Option<String>,
    /// The `attrs.…` calls from the outside in: `["option", "list", "arg"]` for
    /// `attrs.option(attrs.list(attrs.arg()))`. Empty when the value is not such a call.
    pub kind: Vec<String>,
}

impl AttrSchema {
    /// Whether the attr holds command text (`attrs.arg()`, `attrs.string()`, in lists,
    /// options or selects): a tool on PATH can be named there by its binary's name.
    pub fn takes_text(&self) -> bool {
        let inner = self
            .kind
            .iter()
            .find(|k| !matches!(k.as_str(), "option" | "list" | "default_only"));
        matches!(inner.map(String::as_str), Some("arg" | "string"))
    }
}

#[derive(Debug, Clone)]
pub struct RuleSchema {
    pub rule: String,
    /// Root-relative file and 1-based line of the `rule(...)` call.
    pub file: PathBuf,
    pub line: usize,
    pub attrs: BTreeMap<String, AttrSchema>,
    /// The `impl = …` function name.
    pub impl_name: Option<String>,
}

impl RuleSchema {
    /// Whether a call may set `attr`.
    pub fn accepts(&self, attr: &str) -> bool {
        self.attrs.get(attr).is_some_and(|a| !a.default_only)
    }

    pub fn is_optional(&self, attr: &str) -> bool {
        self.attrs.get(attr).is_some_and(|a| a.optional)
    }
}

/// The schema of rule `name` defined at the top level of `module`, if it is a `rule(...)`.
pub fn rule_schema(module: &Module, name: &str) -> Option<RuleSchema> {
    let value = module.top_level_value(name)?;
    let (func, args) = value.as_named_call()?;
    if func != "rule" {
        return None;
    }
    let kwarg = |k: &str| args.iter().find(|a| a.name.as_deref() == Some(k));
    let mut attrs = BTreeMap::new();
    if let Some(a) = kwarg("attrs") {
        collect_attrs(module, &a.value, &mut attrs, 0);
    }
    Some(RuleSchema {
        rule: name.to_owned(),
        file: module.path.clone(),
        line: module.line(value.span.start),
        attrs,
        impl_name: kwarg("impl").and_then(|a| a.value.as_ident().map(str::to_owned)),
    })
}

/// Every top-level `X = rule(...)` in a module.
pub fn all_rule_schemas(module: &Module) -> Vec<RuleSchema> {
    module
        .stmts
        .iter()
        .filter_map(|s| match s {
            super::Stmt::Assign { targets, .. } if targets.len() == 1 => {
                rule_schema(module, &targets[0])
            }
            _ => None,
        })
        .collect()
}

/// Attrs from a dict literal, a name bound to one, or `a | b` of those.
fn collect_attrs(module: &Module, node: &Node, out: &mut BTreeMap<String, AttrSchema>, depth: u8) {
    if depth > 8 {
        return;
    }
    match &node.expr {
        Expr::Dict(pairs) => {
            for (key, value) in pairs {
                if let Some(key) = key.as_str() {
                    out.insert(key.to_owned(), attr_schema(key, value));
                }
            }
        }
        Expr::Ident(name) => {
            if let Some(v) = module.top_level_value(name) {
                collect_attrs(module, v, out, depth + 1);
            }
        }
        Expr::Op(a, "|" | "+", b) => {
            collect_attrs(module, a, out, depth + 1);
            collect_attrs(module, b, out, depth + 1);
        }
        _ => {}
    }
}

fn attr_schema(name: &str, value: &Node) -> AttrSchema {
    let (kind, args) = attr_call(value);
    let default = args.and_then(|args| {
        args.iter()
            .find(|a| a.name.as_deref() == Some("default"))
            .map(|a| &a.value)
    });
    let default_only = kind == Some("default_only") || name.starts_with('_');
    AttrSchema {
        optional: default.is_some() || kind == Some("option") || default_only,
        default_only,
        default_str: default.and_then(|d| d.as_str().map(str::to_owned)),
        kind: kind_chain(value),
    }
}

/// `attrs.option(attrs.list(attrs.arg()))` → `["option", "list", "arg"]`: each call's kind,
/// following its first positional argument.
fn kind_chain(value: &Node) -> Vec<String> {
    let mut chain = Vec::new();
    let mut at = Some(value);
    while let (Some(kind), Some(args)) = at.map(attr_call).unwrap_or((None, None)) {
        chain.push(kind.to_owned());
        at = args.iter().find(|a| a.name.is_none()).map(|a| &a.value);
    }
    chain
}

/// `attrs.KIND(args…)` → (KIND, args).
fn attr_call(value: &Node) -> (Option<&str>, Option<&[super::ir::Arg]>) {
    match &value.expr {
        Expr::Call { func, args } => match &func.expr {
            Expr::Dot(_, kind) => (Some(kind.as_str()), Some(args.as_slice())),
            _ => (None, Some(args.as_slice())),
        },
        _ => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn reads_defaults_options_and_default_only() {
        let m = Module::parse(
            Path::new("p/toolchains/x.bzl"),
            r#"
_COMMON = {"extra": attrs.string(default = "e")}
my_rule = rule(
    impl = _impl,
    attrs = {
        "required": attrs.string(),
        "opt": attrs.option(attrs.string()),
        "dflt": attrs.string(default = "https://example.invalid/base"),
        "hidden": attrs.default_only(attrs.list(attrs.arg(), default = [])),
        "_private": attrs.dep(default = "//:x"),
    } | _COMMON,
)
"#
            .into(),
        )
        .unwrap();
        let s = rule_schema(&m, "my_rule").unwrap();
        assert_eq!(s.impl_name.as_deref(), Some("_impl"));
        assert!(s.accepts("required") && !s.is_optional("required"));
        assert!(s.is_optional("opt"));
        assert_eq!(
            s.attrs["dflt"].default_str.as_deref(),
            Some("https://example.invalid/base")
        );
        assert!(!s.accepts("hidden") && !s.accepts("_private"));
        assert!(s.accepts("extra"));
        assert!(!s.accepts("missing"));
        assert_eq!(s.attrs["hidden"].kind, ["default_only", "list", "arg"]);
        assert!(s.attrs["hidden"].takes_text() && s.attrs["opt"].takes_text());
        assert!(!s.attrs["_private"].takes_text());
        assert_eq!(s.line, 3);
    }
}

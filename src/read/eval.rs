//! Just enough evaluation to learn, from a repo's own .bzl code, which URL a download rule
//! fetches: string literals, `+`, `.format(...)`, `.rstrip(...)`, local names, and
//! `ctx.attrs.X` (the attr's default when it has one, else a named hole filled later).
//!
//! Everything else is "unknown" and the caller reports why no URL could be derived.

use std::collections::BTreeMap;

use super::ir::{Arg, Expr, Module, Node, Stmt};
use super::schema::{all_rule_schemas, RuleSchema};

/// A string with holes: `https://x/{family}/{version}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(pub Vec<Piece>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Lit(String),
    /// An attr of the download rule with no default: filled from the calling macro's values.
    Hole(String),
}

impl Template {
    fn lit(s: &str) -> Template {
        Template(vec![Piece::Lit(s.to_owned())])
    }

    fn concat(mut self, other: Template) -> Template {
        self.0.extend(other.0);
        self
    }

    fn as_lit(&self) -> Option<String> {
        self.0
            .iter()
            .map(|p| match p {
                Piece::Lit(s) => Some(s.as_str()),
                Piece::Hole(_) => None,
            })
            .collect::<Option<Vec<_>>>()
            .map(|v| v.concat())
    }

    /// The hole names, in order, without repeats.
    pub fn holes(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for p in &self.0 {
            if let Piece::Hole(h) = p {
                if !out.contains(&h.as_str()) {
                    out.push(h);
                }
            }
        }
        out
    }

    /// Fill every hole from `values`; the first missing hole name is the error.
    pub fn fill(&self, values: &BTreeMap<String, String>) -> Result<String, String> {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Piece::Lit(s) => out.push_str(s),
                Piece::Hole(h) => out.push_str(values.get(h).ok_or_else(|| h.clone())?),
            }
        }
        Ok(out)
    }
}

/// A rule whose implementation calls `ctx.actions.download_file(out, URL, …)`.
#[derive(Debug, Clone)]
pub struct DownloadRule {
    pub schema: RuleSchema,
    /// 1-based line of the `download_file` call.
    pub call_line: usize,
    /// `None` when the URL expression uses something this evaluator does not follow.
    pub url: Option<Template>,
}

/// Every download rule defined in `module`.
pub fn download_rules(module: &Module) -> Vec<DownloadRule> {
    all_rule_schemas(module)
        .into_iter()
        .filter_map(|schema| {
            let def = module.def(schema.impl_name.as_deref()?)?;
            let env = local_bindings(&def.body);
            let (call, args) = find_method_call(&def.body, "download_file")?;
            let url_arg = args
                .iter()
                .find(|a| a.name.as_deref() == Some("url"))
                .or_else(|| args.iter().filter(|a| a.name.is_none()).nth(1))?;
            let url = Evaluator {
                env: &env,
                schema: &schema,
            }
            .eval(&url_arg.value, 0);
            Some(DownloadRule {
                call_line: module.line(call.span.start),
                url,
                schema,
            })
        })
        .collect()
}

/// The last assignment to each plain local name in a function body.
fn local_bindings(body: &[Stmt]) -> BTreeMap<&str, &Node> {
    let mut env = BTreeMap::new();
    for s in body {
        if let Stmt::Assign { targets, value, .. } = s {
            if let [name] = targets.as_slice() {
                env.insert(name.as_str(), value);
            }
        }
    }
    env
}

/// The first call `….method(args)` anywhere in a body.
fn find_method_call<'a>(body: &'a [Stmt], method: &str) -> Option<(&'a Node, &'a [Arg])> {
    let mut found = None;
    for s in body {
        let node = match s {
            Stmt::Expr(n) | Stmt::Assign { value: n, .. } | Stmt::Return(Some(n)) => n,
            _ => continue,
        };
        node.walk(&mut |n| {
            if found.is_some() {
                return;
            }
            if let Expr::Call { func, args } = &n.expr {
                if matches!(&func.expr, Expr::Dot(_, m) if m == method) {
                    found = Some((n, args.as_slice()));
                }
            }
        });
        if found.is_some() {
            break;
        }
    }
    found
}

struct Evaluator<'a> {
    env: &'a BTreeMap<&'a str, &'a Node>,
    schema: &'a RuleSchema,
}

impl Evaluator<'_> {
    fn eval(&self, node: &Node, depth: u8) -> Option<Template> {
        if depth > 16 {
            return None;
        }
        match &node.expr {
            Expr::Str(s) => Some(Template::lit(s)),
            Expr::Ident(name) => self.eval(self.env.get(name.as_str())?, depth + 1),
            Expr::Dot(inner, attr) if is_ctx_attrs(inner) => Some(self.attr_value(attr)),
            Expr::Op(a, "+", b) => Some(self.eval(a, depth + 1)?.concat(self.eval(b, depth + 1)?)),
            Expr::Call { func, args } => match &func.expr {
                Expr::Dot(recv, method) => self.method(recv, method, args, depth),
                _ => None,
            },
            _ => None,
        }
    }

    fn attr_value(&self, attr: &str) -> Template {
        match self
            .schema
            .attrs
            .get(attr)
            .and_then(|a| a.default_str.as_ref())
        {
            Some(default) => Template::lit(default),
            None => Template(vec![Piece::Hole(attr.to_owned())]),
        }
    }

    fn method(&self, recv: &Node, method: &str, args: &[Arg], depth: u8) -> Option<Template> {
        let recv = self.eval(recv, depth + 1)?;
        match method {
            "format" => {
                let fmt = recv.as_lit()?;
                let positional: Vec<Template> = args
                    .iter()
                    .filter(|a| a.name.is_none())
                    .map(|a| self.eval(&a.value, depth + 1))
                    .collect::<Option<_>>()?;
                let named: BTreeMap<&str, Template> = args
                    .iter()
                    .filter_map(|a| Some((a.name.as_deref()?, &a.value)))
                    .map(|(n, v)| Some((n, self.eval(v, depth + 1)?)))
                    .collect::<Option<_>>()?;
                format_template(&fmt, &positional, &named)
            }
            "rstrip" | "lstrip" | "strip" => {
                let chars = match args.first() {
                    Some(a) => a.value.as_str()?.to_owned(),
                    None => " \t\n".to_owned(),
                };
                // Only literal text can be stripped; a hole is taken as already clean.
                let lit = recv.as_lit()?;
                let set: &[char] = &chars.chars().collect::<Vec<_>>();
                let out = match method {
                    "rstrip" => lit.trim_end_matches(set),
                    "lstrip" => lit.trim_start_matches(set),
                    _ => lit.trim_matches(set),
                };
                Some(Template::lit(out))
            }
            _ => None,
        }
    }
}

fn is_ctx_attrs(node: &Node) -> bool {
    matches!(&node.expr, Expr::Dot(ctx, a) if a == "attrs" && ctx.as_ident() == Some("ctx"))
}

/// Starlark `str.format` over templates: `{}` in order, `{0}` by index, `{name}` by keyword.
fn format_template(
    fmt: &str,
    positional: &[Template],
    named: &BTreeMap<&str, Template>,
) -> Option<Template> {
    let mut out = Template(Vec::new());
    let mut next = 0;
    let mut rest = fmt;
    while let Some(open) = rest.find(['{', '}']) {
        let (before, after) = rest.split_at(open);
        out = out.concat(Template::lit(before));
        if let Some(after) = after.strip_prefix("{{") {
            out = out.concat(Template::lit("{"));
            rest = after;
            continue;
        }
        if let Some(after) = after.strip_prefix("}}") {
            out = out.concat(Template::lit("}"));
            rest = after;
            continue;
        }
        let close = after.find('}')?;
        let field = &after[1..close];
        let value = if field.is_empty() {
            next += 1;
            positional.get(next - 1)?
        } else if let Ok(i) = field.parse::<usize>() {
            positional.get(i)?
        } else {
            named.get(field)?
        };
        out = out.concat(value.clone());
        rest = &after[close + 1..];
    }
    Some(out.concat(Template::lit(rest)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const RULE: &str = r#"
def _dl_impl(ctx):
    name = "{}-{}.tar.gz".format(ctx.attrs.family, ctx.attrs.version)
    url = "{}/{}/{}".format(ctx.attrs.base.rstrip("/"), ctx.attrs.family, name)
    out = ctx.actions.declare_output(name)
    ctx.actions.download_file(out.as_output(), url, sha256 = ctx.attrs.sha256)
    return [DefaultInfo(default_output = out)]

dl = rule(
    impl = _dl_impl,
    attrs = {
        "base": attrs.string(default = "https://mirror.invalid/tc/"),
        "family": attrs.string(),
        "version": attrs.string(),
        "sha256": attrs.string(),
    },
)
"#;

    #[test]
    fn derives_url_template_from_rule_code() {
        let m = Module::parse(Path::new("a.bzl"), RULE.into()).unwrap();
        let rules = download_rules(&m);
        assert_eq!(rules.len(), 1);
        let url = rules[0].url.clone().unwrap();
        assert_eq!(url.holes(), vec!["family", "version"]);
        let values = BTreeMap::from([
            ("family".to_owned(), "zig".to_owned()),
            ("version".to_owned(), "0.1".to_owned()),
        ]);
        assert_eq!(
            url.fill(&values).unwrap(),
            "https://mirror.invalid/tc/zig/zig-0.1.tar.gz"
        );
        assert_eq!(rules[0].call_line, 6);
    }

    #[test]
    fn unknown_expression_gives_no_url() {
        let text = RULE.replace("url, sha256", "compute_url(ctx), sha256");
        let m = Module::parse(Path::new("a.bzl"), text).unwrap();
        assert!(download_rules(&m)[0].url.is_none());
    }

    #[test]
    fn format_supports_index_and_escapes() {
        let t = format_template(
            "{1}{{x}}{0}",
            &[Template::lit("a"), Template::lit("b")],
            &BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(t.as_lit().unwrap(), "b{x}a");
    }
}

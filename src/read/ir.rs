//! A small owned view of a parsed Starlark file: the parts the pipeline looks at, each with its
//! byte span in the original text, so that later steps can splice edits without re-printing.
//!
//! `starlark_syntax` does the parsing; this module only converts its AST into plain data so the
//! rest of the tool needs no lifetimes or payload generics.

use std::path::{Path, PathBuf};

use starlark_syntax::codemap::Spanned;
use starlark_syntax::syntax::ast::{
    ArgumentP, AssignTargetP, AstExpr, AstLiteral, AstNoPayload, AstStmt, BinOp, ExprP, ParameterP,
    StmtP,
};
use starlark_syntax::syntax::{AstModule, Dialect};

use crate::error::{Location, UserError};

/// Byte range `[start, end)` in a file's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    fn of<T>(spanned: &Spanned<T>) -> Span {
        Span {
            start: spanned.span.begin().get() as usize,
            end: spanned.span.end().get() as usize,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Expr {
    Str(String),
    Int(String),
    Ident(String),
    List(Vec<Node>),
    Tuple(Vec<Node>),
    Dict(Vec<(Node, Node)>),
    Call {
        func: Box<Node>,
        args: Vec<Arg>,
    },
    Dot(Box<Node>, String),
    Index(Box<Node>, Box<Node>),
    /// Binary operator, written as in source (`+`, `|`, `%`, `==` …).
    Op(Box<Node>, &'static str, Box<Node>),
    If {
        then: Box<Node>,
        cond: Box<Node>,
        otherwise: Box<Node>,
    },
    /// Anything the pipeline does not model (comprehensions, lambdas, f-strings, slices…),
    /// with the expressions inside it: walks still see the names and calls there (a
    /// comprehension of download calls uses its macro's load).
    Other(Vec<Node>),
}

#[derive(Debug, Clone)]
pub struct Node {
    pub expr: Expr,
    pub span: Span,
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.expr {
            Expr::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_ident(&self) -> Option<&str> {
        match &self.expr {
            Expr::Ident(s) => Some(s),
            _ => None,
        }
    }

    /// Call arguments when this node is a call of a plain name: `name(args)`.
    pub fn as_named_call(&self) -> Option<(&str, &[Arg])> {
        match &self.expr {
            Expr::Call { func, args } => func.as_ident().map(|f| (f, args.as_slice())),
            _ => None,
        }
    }

    /// Visit this node and every node below it, depth first.
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Node)) {
        f(self);
        match &self.expr {
            Expr::List(items) | Expr::Tuple(items) => items.iter().for_each(|n| n.walk(f)),
            Expr::Dict(pairs) => pairs.iter().for_each(|(k, v)| {
                k.walk(f);
                v.walk(f)
            }),
            Expr::Call { func, args } => {
                func.walk(f);
                args.iter().for_each(|a| a.value.walk(f));
            }
            Expr::Dot(inner, _) => inner.walk(f),
            Expr::Index(a, b) | Expr::Op(a, _, b) => {
                a.walk(f);
                b.walk(f);
            }
            Expr::If {
                then,
                cond,
                otherwise,
            } => {
                then.walk(f);
                cond.walk(f);
                otherwise.walk(f);
            }
            Expr::Other(children) => {
                for c in children {
                    c.walk(f);
                }
            }
            Expr::Str(_) | Expr::Int(_) | Expr::Ident(_) => {}
        }
    }

    /// Every string literal in this expression, with its node.
    pub fn strings(&self) -> Vec<&Node> {
        let mut out = Vec::new();
        self.walk(&mut |n| {
            if matches!(n.expr, Expr::Str(_)) {
                out.push(n)
            }
        });
        out
    }
}

#[derive(Debug, Clone)]
pub struct Arg {
    /// `Some` for `name = value`.
    pub name: Option<String>,
    pub value: Node,
    /// The whole argument, `name = value` included.
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct LoadSymbol {
    pub local: String,
    pub their: String,
    /// `local = "their"` or `"their"`, without the trailing comma.
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Load {
    pub module: String,
    pub module_span: Span,
    pub symbols: Vec<LoadSymbol>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub default: Option<Node>,
}

#[derive(Debug, Clone)]
pub struct Def {
    pub name: String,
    pub params: Vec<Param>,
    /// Statements of the body, nested `if`/`for` bodies flattened in source order.
    pub body: Vec<Stmt>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum Stmt {
    Load(Load),
    Assign {
        /// Names bound (`a = …`, `a, b = …`); empty for `x.y = …` or `x[i] = …`.
        targets: Vec<String>,
        value: Node,
        span: Span,
    },
    Def(Def),
    Expr(Node),
    Return(Option<Node>),
    Other(Span),
}

/// Visit every expression node of a statement, inside `def` bodies too.
pub fn walk_stmt<'a>(stmt: &'a Stmt, f: &mut impl FnMut(&'a Node)) {
    match stmt {
        Stmt::Assign { value, .. } | Stmt::Expr(value) | Stmt::Return(Some(value)) => value.walk(f),
        Stmt::Def(def) => def.body.iter().for_each(|s| walk_stmt(s, f)),
        Stmt::Load(_) | Stmt::Return(None) | Stmt::Other(_) => {}
    }
}

/// One parsed Starlark file.
#[derive(Debug, Clone)]
pub struct Module {
    /// Root-relative path.
    pub path: PathBuf,
    pub text: String,
    pub stmts: Vec<Stmt>,
    line_starts: Vec<usize>,
    /// Top-level name → index in `stmts` of its last binding (`def` or assignment): lookups
    /// stay O(log n) in a BUCK file of hundreds of thousands of targets.
    bindings: std::collections::BTreeMap<String, usize>,
}

impl Module {
    /// Parse `text` as Starlark (Buck2's dialect: types and top-level statements allowed).
    /// Files of earlier Buck2 eras whose only fault, to today's parser, is an old type
    /// annotation are read too (see `era`); spans still point into `text` as written.
    pub fn parse(path: &Path, text: String) -> Result<Module, UserError> {
        let ast = parse_any_era(path, &text)?;
        let stmts = top_level(ast.statement());
        let mut bindings = std::collections::BTreeMap::new();
        for (i, stmt) in stmts.iter().enumerate() {
            match stmt {
                Stmt::Def(d) => {
                    bindings.insert(d.name.clone(), i);
                }
                Stmt::Assign { targets, .. } => {
                    for t in targets {
                        bindings.insert(t.clone(), i);
                    }
                }
                _ => {}
            }
        }
        Ok(Module {
            path: path.to_path_buf(),
            line_starts: line_starts(&text),
            text,
            stmts,
            bindings,
        })
    }

    /// Read and parse a root-relative file.
    pub fn read(root: &Path, path: &Path) -> Result<Module, UserError> {
        let text = read_text(root, path)?;
        Module::parse(path, text)
    }

    pub fn location(&self, offset: usize) -> Location {
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let col = self
            .text
            .get(start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        Location {
            file: self.path.clone(),
            line,
            col,
        }
    }

    pub fn line(&self, offset: usize) -> usize {
        self.location(offset).line
    }

    pub fn loads(&self) -> impl Iterator<Item = &Load> {
        self.stmts.iter().filter_map(|s| match s {
            Stmt::Load(l) => Some(l),
            _ => None,
        })
    }

    /// The load that binds `name` here: (module label, name in that module).
    pub fn loaded_symbol(&self, name: &str) -> Option<(&str, &str)> {
        self.loads().find_map(|l| {
            l.symbols
                .iter()
                .find(|s| s.local == name)
                .map(|s| (l.module.as_str(), s.their.as_str()))
        })
    }

    /// Top-level calls of a plain name, `rule(...)`: the targets of a BUCK file.
    pub fn calls(&self) -> impl Iterator<Item = (&Node, &str, &[Arg])> {
        self.stmts.iter().filter_map(|s| match s {
            Stmt::Expr(node) => node.as_named_call().map(|(f, a)| (node, f, a)),
            _ => None,
        })
    }

    /// The value bound to a top-level name, `NAME = value`.
    pub fn top_level_value(&self, name: &str) -> Option<&Node> {
        match self.stmts.get(*self.bindings.get(name)?)? {
            Stmt::Assign { targets, value, .. } if targets.len() == 1 => Some(value),
            _ => None,
        }
    }

    pub fn def(&self, name: &str) -> Option<&Def> {
        match self.stmts.get(*self.bindings.get(name)?)? {
            Stmt::Def(d) => Some(d),
            _ => None,
        }
    }

    /// Whether `name` is bound at the top level (by `def` or assignment).
    pub fn defines(&self, name: &str) -> bool {
        self.bindings.contains_key(name)
    }

    pub fn source(&self, span: Span) -> &str {
        &self.text[span.start..span.end]
    }
}

pub use crate::text::read_text;

/// Buck2's dialect: the extended one with f-strings, which Buck2 accepts in BUCK and .bzl
/// files (thoughtpolice/a, wasmono use them).
pub fn buck2_dialect() -> Dialect {
    Dialect {
        enable_f_strings: true,
        ..Dialect::Extended
    }
}

/// Today's dialect first; when that fails inside a type annotation, the same text with its
/// annotations blanked. Any other failure is the file's own error, reported where it is.
fn parse_any_era(path: &Path, text: &str) -> Result<AstModule, UserError> {
    let name = path.to_string_lossy();
    let strict = match AstModule::parse(&name, text.to_owned(), &buck2_dialect()) {
        Ok(ast) => return Ok(ast),
        Err(e) => e,
    };
    let at = strict.span().map(|s| s.span.begin().get() as usize);
    let annotations = super::era::annotation_spans(text);
    let in_annotation = at.is_some_and(|at| {
        annotations
            .iter()
            .any(|s| s.start <= at && at < s.end.max(s.start + 1))
    });
    if !in_annotation {
        return Err(syntax_error(path, &strict));
    }
    let blanked = super::era::blank(text, &annotations);
    AstModule::parse(&name, blanked, &buck2_dialect()).map_err(|e| syntax_error(path, &e))
}

fn syntax_error(path: &Path, e: &starlark_syntax::Error) -> UserError {
    let (line, col) = e
        .span()
        .map(|s| {
            let r = s.resolve_span();
            (r.begin.line + 1, r.begin.column + 1)
        })
        .unwrap_or((1, 1));
    UserError::new(format!("Starlark syntax error: {}", e.kind()))
        .at(Location {
            file: path.to_path_buf(),
            line,
            col,
        })
        .hint("fix the syntax there and run again")
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

fn top_level(stmt: &AstStmt) -> Vec<Stmt> {
    let mut out = Vec::new();
    flatten(stmt, &mut out);
    out
}

/// Convert a statement, flattening statement lists and `if`/`for` bodies into `out`.
fn flatten(stmt: &AstStmt, out: &mut Vec<Stmt>) {
    let span = Span::of(stmt);
    match &stmt.node {
        StmtP::Statements(items) => items.iter().for_each(|s| flatten(s, out)),
        StmtP::If(_, body) => flatten(body, out),
        StmtP::IfElse(_, branches) => {
            flatten(&branches.0, out);
            flatten(&branches.1, out);
        }
        StmtP::For(f) => flatten(&f.body, out),
        StmtP::Expression(e) => out.push(Stmt::Expr(node(e))),
        StmtP::Return(e) => out.push(Stmt::Return(e.as_ref().map(node))),
        StmtP::Assign(a) => out.push(Stmt::Assign {
            targets: assign_names(&a.lhs),
            value: node(&a.rhs),
            span,
        }),
        StmtP::Def(d) => {
            let mut body = Vec::new();
            flatten(&d.body, &mut body);
            out.push(Stmt::Def(Def {
                name: d.name.node.ident.clone(),
                params: d
                    .params
                    .iter()
                    .filter_map(|p| match &p.node {
                        ParameterP::Normal(name, _, default) => Some(Param {
                            name: name.node.ident.clone(),
                            default: default.as_deref().map(node),
                        }),
                        _ => None,
                    })
                    .collect(),
                body,
                span,
            }))
        }
        StmtP::Load(l) => out.push(Stmt::Load(Load {
            module: l.module.node.clone(),
            module_span: Span::of(&l.module),
            symbols: l
                .args
                .iter()
                .map(|a| LoadSymbol {
                    local: a.local.node.ident.clone(),
                    their: a.their.node.clone(),
                    span: Span {
                        start: (a.local.span.begin().get() as usize)
                            .min(a.their.span.begin().get() as usize),
                        end: a.their.span.end().get() as usize,
                    },
                })
                .collect(),
            span,
        })),
        StmtP::AssignModify(..) | StmtP::Break | StmtP::Continue | StmtP::Pass => {
            out.push(Stmt::Other(span))
        }
    }
}

fn assign_names(target: &Spanned<AssignTargetP<AstNoPayload>>) -> Vec<String> {
    match &target.node {
        AssignTargetP::Identifier(id) => vec![id.node.ident.clone()],
        AssignTargetP::Tuple(items) => items.iter().flat_map(assign_names).collect(),
        AssignTargetP::Index(_) | AssignTargetP::Dot(..) => Vec::new(),
    }
}

fn node(e: &AstExpr) -> Node {
    let expr = match &e.node {
        ExprP::Literal(AstLiteral::String(s)) => Expr::Str(s.node.clone()),
        ExprP::Literal(AstLiteral::Int(i)) => Expr::Int(i.node.to_string()),
        ExprP::Identifier(id) => Expr::Ident(id.node.ident.clone()),
        ExprP::List(items) => Expr::List(items.iter().map(node).collect()),
        ExprP::Tuple(items) => Expr::Tuple(items.iter().map(node).collect()),
        ExprP::Dict(pairs) => Expr::Dict(pairs.iter().map(|(k, v)| (node(k), node(v))).collect()),
        ExprP::Call(func, args) => Expr::Call {
            func: Box::new(node(func)),
            args: args
                .args
                .iter()
                .map(|a| Arg {
                    name: match &a.node {
                        ArgumentP::Named(n, _) => Some(n.node.clone()),
                        _ => None,
                    },
                    value: node(a.node.expr()),
                    span: Span::of(a),
                })
                .collect(),
        },
        ExprP::Dot(inner, field) => Expr::Dot(Box::new(node(inner)), field.node.clone()),
        ExprP::Index(pair) => Expr::Index(Box::new(node(&pair.0)), Box::new(node(&pair.1))),
        ExprP::Op(a, op, b) => Expr::Op(Box::new(node(a)), op_text(*op), Box::new(node(b))),
        ExprP::If(parts) => Expr::If {
            cond: Box::new(node(&parts.0)),
            then: Box::new(node(&parts.1)),
            otherwise: Box::new(node(&parts.2)),
        },
        other => {
            let mut children = Vec::new();
            other.visit_expr(|c| children.push(node(c)));
            Expr::Other(children)
        }
    };
    Node {
        expr,
        span: Span::of(e),
    }
}

fn op_text(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::BitOr => "|",
        BinOp::Percent => "%",
        BinOp::Equal => "==",
        BinOp::NotEqual => "!=",
        BinOp::And => "and",
        BinOp::Or => "or",
        BinOp::In => "in",
        BinOp::NotIn => "not in",
        _ => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_error_has_line_and_column() {
        let err =
            Module::parse(Path::new("t/BUCK"), "x = 1\nfoo(\n  a = ,\n)\n".into()).unwrap_err();
        let at = err.at.clone().unwrap();
        assert_eq!((at.line, at.col), (3, 7), "{err}");
        assert!(
            err.to_string()
                .starts_with("t/BUCK:3:7: Starlark syntax error"),
            "{err}"
        );
    }

    #[test]
    fn f_strings_parse_as_buck2_reads_them() {
        // thoughtpolice/a's buck/toolchains/deno/BUILD builds target names with f-strings.
        let text =
            "v = \"1.2\"\n[x(name = f\"deno-{v}\") for p in [\"a\"]]\ny(name = f\"t-{v}\")\n";
        let m = Module::parse(Path::new("BUILD"), text.to_owned()).unwrap();
        assert_eq!(m.stmts.len(), 3);
    }

    #[test]
    fn annotations_of_2023_parse_and_keep_their_spans() {
        let text = "def f(ctx: \"context\", n: [str]) -> [\"provider\"]:\n    x: LinkerInfo.type = g(\"k\")\n    return [x]\n\nr = rule(impl = f, attrs = {})\n";
        let m =
            Module::parse(Path::new("old.bzl"), text.into()).expect("2023 annotations are valid");
        assert_eq!(m.text, text, "the text is kept as written");
        let def = m.def("f").unwrap();
        assert_eq!(def.params.len(), 2);
        let Stmt::Assign { value, .. } = &def.body[0] else {
            panic!("{:?}", def.body[0])
        };
        assert_eq!(m.source(value.span), "g(\"k\")");
        assert!(m.top_level_value("r").is_some());
    }

    #[test]
    fn a_real_error_in_a_2023_file_is_still_reported_where_it_is() {
        let text = "def f(ctx: \"context\") -> [\"provider\"]:\n    return [\n\nx = 1\n";
        let err = Module::parse(Path::new("old.bzl"), text.into()).unwrap_err();
        let at = err.at.unwrap();
        assert_eq!(at.line, 4, "{}", err.message);
        // And an annotation today's parser rejects is not itself an error.
        assert!(Module::parse(Path::new("t.bzl"), "def f(a: \"x\"):\n    pass\n".into()).is_ok());
    }

    #[test]
    fn calls_keep_argument_spans() {
        let m = Module::parse(Path::new("BUCK"), "r(name = \"a\", v = [1])\n".into()).unwrap();
        let (_, rule, args) = m.calls().next().unwrap();
        assert_eq!(rule, "r");
        assert_eq!(m.source(args[0].span), "name = \"a\"");
        assert_eq!(m.source(args[1].value.span), "[1]");
    }

    #[test]
    fn invalid_utf8_is_located() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("BUCK"), b"ok()\nx = \"\xff\"\n").unwrap();
        let err = read_text(dir.path(), Path::new("BUCK")).unwrap_err();
        let at = err.at.unwrap();
        assert_eq!((at.line, at.col), (2, 6));
    }

    #[test]
    fn locations_count_characters() {
        let m = Module::parse(Path::new("f.bzl"), "a = \"é\"\nb = 2\n".into()).unwrap();
        let at = m.location(m.text.find('b').unwrap());
        assert_eq!((at.line, at.col), (2, 1));
    }
}

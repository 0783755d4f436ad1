//! Targets read as written: when every top-level statement of every build file of the cell is
//! a `load` or a call of a rule with literal arguments, evaluating the files would record
//! exactly those calls. They are then read from the syntax tree and the interpreter is never
//! started: building its globals alone costs more than the rest of a `generate` on SI (the
//! starlark crate parses every builtin's docstring as it registers it).
//!
//! Anything else — a macro, a loop, a named constant, a call of a function, a target outside
//! the cell that an attr names — and the cell is evaluated ([`super::of_sources`]). What is
//! read here must be what the evaluation records, field for field: `tests/eval.rs` compares
//! the two on every fixture this reading takes.

use serde_json::{json, Value};

use super::{named_packages, EvaluatedTarget, Evaluation, Package, Site};
use crate::read::{Expr, Module, Node, Sources, Stmt};
use crate::repo::Repo;

/// The names the evaluation's globals bind (Starlark's own, the extensions Buck2 enables,
/// and si-nixify's stand-ins): a call of one of them is not a rule call. `tests/eval.rs`
/// checks this list against the interpreter's.
pub const GLOBAL_NAMES: &[&str] = &[
    "False",
    "None",
    "True",
    "__internal__",
    "abs",
    "all",
    "any",
    "attrs",
    "bool",
    "bytes",
    "call_stack",
    "call_stack_frame",
    "chr",
    "debug",
    "dict",
    "dir",
    "enum",
    "enumerate",
    "eval_type",
    "fail",
    "field",
    "filter",
    "float",
    "get_base_path",
    "get_cell_name",
    "getattr",
    "glob",
    "hasattr",
    "hash",
    "host_info",
    "int",
    "is_select",
    "isinstance",
    "json",
    "len",
    "list",
    "load_symbols",
    "map",
    "max",
    "min",
    "native",
    "ord",
    "package_name",
    "partial",
    "print",
    "provider",
    "range",
    "read_config",
    "read_root_config",
    "record",
    "repr",
    "reversed",
    "rule",
    "rule_exists",
    "select",
    "set",
    "sorted",
    "starlark_rust_internal",
    "str",
    "struct",
    "tuple",
    "type",
    "typing",
    "zip",
];

/// The cell's targets as written, with `sources` as what the rules' behaviour is read
/// from; `None` when some statement needs the interpreter.
pub fn evaluation<'s>(repo: &Repo, sources: &'s Sources) -> Option<Evaluation<'s>> {
    if !sources.unreadable.is_empty() {
        return None;
    }
    let mut targets = Vec::new();
    for file in &sources.builds {
        let module = sources.modules.get(file)?;
        let package = Package::of(repo, file);
        for stmt in &module.stmts {
            match stmt {
                Stmt::Load(_) => {}
                Stmt::Expr(call) => targets.push(target(repo, sources, module, &package, call)?),
                _ => return None,
            }
        }
    }
    // The evaluation follows attrs into other packages; those are not read here.
    if targets.iter().any(|t| !named_packages(repo, t).is_empty()) {
        return None;
    }
    Some(Evaluation {
        targets,
        sources: std::borrow::Cow::Borrowed(sources),
        unparsed: Vec::new(),
        failed: Vec::new(),
    })
}

/// The target a top-level `rule(name = …, …)` statement records.
fn target(
    repo: &Repo,
    sources: &Sources,
    module: &Module,
    package: &Package,
    call: &Node,
) -> Option<EvaluatedTarget> {
    let (func, args) = call.as_named_call()?;
    let (rule, rule_defined_at) = rule_of(repo, sources, module, func)?;
    let mut attrs = std::collections::BTreeMap::new();
    for arg in args {
        let name = arg.name.clone()?;
        let value = data(module, &arg.value)?.into_json();
        if attrs.insert(name, value).is_some() {
            return None;
        }
    }
    let name = attrs.get("name")?.as_str()?.to_owned();
    let site = Site {
        file: package.build_file.clone(),
        line: module.line(call.span.start),
    };
    Some(EvaluatedTarget {
        label: package.label(&name),
        package: package.dir.clone(),
        name,
        rule,
        attrs,
        call: site.clone(),
        rule_call: site.clone(),
        stack: vec![site],
        rule_defined_at,
        defaults: Default::default(),
    })
}

/// The rule a build file's name calls: (its kind, where `rule()` made it); `None` when the
/// name is anything but a rule.
fn rule_of(
    repo: &Repo,
    sources: &Sources,
    module: &Module,
    func: &str,
) -> Option<(String, Option<Site>)> {
    if module.defines(func) {
        return None;
    }
    let Some((label, their)) = module.loaded_symbol(func) else {
        // A free name is a native rule (`http_archive`), unless it is a global.
        return (!GLOBAL_NAMES.contains(&func)).then(|| (func.to_owned(), None));
    };
    if repo.is_external_unavailable(label) {
        // A symbol of a cell Buck2 provides itself: a native rule of that name.
        return (!GLOBAL_NAMES.contains(&their)).then(|| (their.to_owned(), None));
    }
    let file = sources.load_target(&module.path, label)?;
    let defining = sources.modules.get(file)?;
    let at = rule_assignment(defining, their)?;
    Some((
        their.to_owned(),
        Some(Site {
            file: file.to_path_buf(),
            line: defining.line(at),
        }),
    ))
}

/// Where `name = rule(…)` calls `rule`, when that is the one top-level binding of `name` and
/// `rule` is the global.
fn rule_assignment(module: &Module, name: &str) -> Option<usize> {
    if bound_here(module, "rule") {
        return None;
    }
    let mut bindings = module.stmts.iter().filter(|s| binds(s, name));
    let (Some(Stmt::Assign { targets, value, .. }), None) = (bindings.next(), bindings.next())
    else {
        return None;
    };
    match (targets.as_slice(), value.as_named_call()) {
        ([only], Some(("rule", _))) if only == name => Some(value.span.start),
        _ => None,
    }
}

/// Whether the file binds `name` itself (top-level assignment, `def`, or load), so that it is
/// not the global of that name.
fn bound_here(module: &Module, name: &str) -> bool {
    module.defines(name) || module.loaded_symbol(name).is_some()
}

fn binds(stmt: &Stmt, name: &str) -> bool {
    match stmt {
        Stmt::Assign { targets, .. } => targets.iter().any(|t| t == name),
        Stmt::Def(d) => d.name == name,
        Stmt::Load(l) => l.symbols.iter().any(|s| s.local == name),
        _ => false,
    }
}

/// An attr value as the evaluation's `to_json` leaves it; a `select()` is kept apart, since
/// `+` treats it differently from plain data.
enum Data {
    Plain(Value),
    Select(Value),
}

impl Data {
    fn into_json(self) -> Value {
        match self {
            Data::Plain(v) | Data::Select(v) => v,
        }
    }
}

/// A literal (strings, ints, `True`/`False`/`None`, lists, tuples, dicts with string keys,
/// `select()`, `+` of those); `None` for anything to evaluate.
fn data(module: &Module, node: &Node) -> Option<Data> {
    let plain = |v| Some(Data::Plain(v));
    match &node.expr {
        Expr::Str(s) => plain(Value::String(s.clone())),
        Expr::Int(i) => plain(json!(i.parse::<i64>().ok()?)),
        Expr::Ident(name) if bound_here(module, name) => None,
        Expr::Ident(name) => match name.as_str() {
            "True" => plain(Value::Bool(true)),
            "False" => plain(Value::Bool(false)),
            "None" => plain(Value::Null),
            _ => None,
        },
        Expr::List(items) | Expr::Tuple(items) => plain(Value::Array(
            items
                .iter()
                .map(|i| data(module, i).map(Data::into_json))
                .collect::<Option<_>>()?,
        )),
        Expr::Dict(entries) => {
            let mut map = serde_json::Map::new();
            for (k, v) in entries {
                let key = k.as_str()?.to_owned();
                if map.insert(key, data(module, v)?.into_json()).is_some() {
                    return None;
                }
            }
            plain(Value::Object(map))
        }
        // `select({...})`, the global: its one positional argument.
        Expr::Call { .. } => match node.as_named_call()? {
            ("select", [branches]) if branches.name.is_none() && !bound_here(module, "select") => {
                let branches = data(module, &branches.value)?.into_json();
                Some(Data::Select(json!({ "select": branches })))
            }
            _ => None,
        },
        Expr::Op(l, "+", r) => add(data(module, l)?, data(module, r)?),
        _ => None,
    }
}

/// `l + r` as Starlark computes it, with the stand-in `select()`'s `+` (both sides kept).
fn add(l: Data, r: Data) -> Option<Data> {
    match (l, r) {
        (Data::Select(l), r) => Some(Data::Select(json!({ "+": [l, r.into_json()] }))),
        (l, Data::Select(r)) => Some(Data::Select(json!({ "+": [l.into_json(), r] }))),
        (Data::Plain(Value::Array(mut l)), Data::Plain(Value::Array(r))) => {
            l.extend(r);
            Some(Data::Plain(Value::Array(l)))
        }
        (Data::Plain(Value::String(l)), Data::Plain(Value::String(r))) => {
            Some(Data::Plain(Value::String(l + &r)))
        }
        _ => None,
    }
}

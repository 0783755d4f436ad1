//! What a rule's implementation runs from PATH. A toolchain rule that falls back to a bare
//! command when its distribution attr is gone (`cmd_args("rustfmt")`), or always runs one
//! (`cmd_args("taplo")`), needs that binary in the devshell once the downloads are removed:
//! reading the implementation is how si-nixify knows (SI's `si_rust_toolchain`,
//! `toml_toolchain`).

use super::ir::{Expr, Module, Node, Stmt};
use super::schema::rule_schema;
use super::Sources;

/// A binary a rule implementation runs from PATH, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathCall {
    pub binary: String,
    /// Root-relative file and 1-based line of the `cmd_args("…")`.
    pub file: std::path::PathBuf,
    pub line: usize,
}

/// The PATH binaries of rule `rule` as seen from `from`: its `impl` function's
/// `cmd_args("<command>")` calls, and those of the functions it calls in the same file.
pub fn of_rule(sources: &Sources, from: &std::path::Path, rule: &str) -> Vec<PathCall> {
    let Some((module, name)) = sources.definition(from, rule) else {
        return Vec::new();
    };
    let Some(impl_name) = rule_schema(module, &name).and_then(|s| s.impl_name) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut seen = vec![impl_name.clone()];
    collect_from_def(module, &impl_name, &mut seen, &mut out, 0);
    out
}

fn collect_from_def(
    module: &Module,
    def: &str,
    seen: &mut Vec<String>,
    out: &mut Vec<PathCall>,
    depth: u8,
) {
    if depth > 4 {
        return;
    }
    let Some(body) = module.stmts.iter().find_map(|s| match s {
        Stmt::Def(d) if d.name == def => Some(&d.body),
        _ => None,
    }) else {
        return;
    };
    let mut helpers = Vec::new();
    for stmt in body {
        let node = match stmt {
            Stmt::Assign { value, .. } => value,
            Stmt::Expr(n) | Stmt::Return(Some(n)) => n,
            _ => continue,
        };
        node.walk(&mut |n: &Node| {
            if let Some(call) = path_call(module, n) {
                if !out.iter().any(|c: &PathCall| c.binary == call.binary) {
                    out.push(call);
                }
            } else if let Some((f, _)) = n.as_named_call() {
                helpers.push(f.to_owned());
            }
        });
    }
    for helper in helpers {
        if !seen.contains(&helper) {
            seen.push(helper.clone());
            collect_from_def(module, &helper, seen, out, depth + 1);
        }
    }
}

/// `cmd_args("name")`: a call whose first positional argument is a bare command name.
fn path_call(module: &Module, n: &Node) -> Option<PathCall> {
    let Expr::Call { func, args } = &n.expr else {
        return None;
    };
    if func.as_ident() != Some("cmd_args") {
        return None;
    }
    let first = args.iter().find(|a| a.name.is_none())?;
    let binary = first.value.as_str()?;
    is_command_name(binary).then(|| PathCall {
        binary: binary.to_owned(),
        file: module.path.clone(),
        line: module.line(n.span.start),
    })
}

/// `rustfmt`, `cargo-sort`, `python3`: starts with a letter, no path, no flag, no format
/// placeholder, no spaces.
fn is_command_name(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'))
}

#[cfg(test)]
mod tests {
    use super::is_command_name;

    #[test]
    fn command_names_are_bare_words() {
        for yes in ["rustfmt", "cargo-sort", "python3", "ld.lld", "g++"] {
            assert!(is_command_name(yes), "{yes}");
        }
        for no in [
            "",
            "/bin/cargo",
            "--check",
            "{}/bin/x",
            "a b",
            "$(location :x)",
        ] {
            assert!(!is_command_name(no), "{no}");
        }
    }
}

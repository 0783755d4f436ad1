//! flake.nix under `--nix-pinned`: one more output, `buck2-toolchains`, imported from
//! nix/buck2-toolchains-pinned.nix with the flake's own `nixpkgs` input (so flake.lock pins it).
//!
//! The outputs function's body is wrapped, `(BODY) // { buck2-toolchains = …; }`, as a splice
//! at rnix node boundaries: whatever shape the body has (an attrset, flake-utils'
//! eachDefaultSystem, a let), its text stays as it was.

use std::path::Path;

use rnix::ast::{self, HasEntry};
use rowan::ast::AstNode;

use super::PINNED_NIX;
use crate::error::UserError;

pub(crate) const OUTPUT: &str = "buck2-toolchains";

/// The flake text with the `buck2-toolchains` output (unchanged when it has it already).
pub fn add_output(path: &Path, text: &str, reasons: &mut Vec<String>) -> Result<String, UserError> {
    let root = rnix::Root::parse(text);
    if let Some(err) = root.errors().first() {
        return Err(UserError::new(format!("Nix syntax error: {err}")).in_file(path));
    }
    let lambda = outputs_lambda(&root.tree()).ok_or_else(|| {
        UserError::new("no `outputs = inputs: …;` function found")
            .in_file(path)
            .hint("--nix-pinned adds a `buck2-toolchains` output to the flake's outputs function")
    })?;
    let body = lambda
        .body()
        .ok_or_else(|| UserError::new("outputs function has no body").in_file(path))?;
    let range = body.syntax().text_range();
    let (start, end) = (usize::from(range.start()), usize::from(range.end()));
    if already_added(&body) {
        return Ok(text.to_owned());
    }
    let nixpkgs = nixpkgs_reference(&lambda).ok_or_else(|| {
        UserError::new("the outputs function does not bind the `nixpkgs` input")
            .at(crate::error::Location::from_offset(path, text, usize::from(lambda.syntax().text_range().start())))
            .hint("name it in the argument pattern (`{ self, nixpkgs, ... }:`) or bind the inputs (`inputs@{ ... }:`)")
    })?;
    let line = crate::error::Location::from_offset(path, text, start).line;
    reasons.push(format!(
        "{} (line {line}): added the `{OUTPUT}` output (import ./{PINNED_NIX} with `{nixpkgs}`) — the packages the pinned toolchains build, from the nixpkgs flake.lock pins",
        path.display()
    ));
    let addition = format!(
        "\n    // {{\n      # The packages the pinned Buck2 toolchains build (si-nixify generate --nix-pinned).\n      {OUTPUT} = import ./{PINNED_NIX} {{ nixpkgs = {nixpkgs}; }};\n    }}"
    );
    Ok(format!(
        "{}({}){addition}{}",
        &text[..start],
        &text[start..end],
        &text[end..]
    ))
}

fn outputs_lambda(root: &ast::Root) -> Option<ast::Lambda> {
    let ast::Expr::AttrSet(set) = root.expr()? else {
        return None;
    };
    set.attrpath_values().find_map(|entry| {
        let path = entry.attrpath()?;
        let names: Vec<String> = path
            .attrs()
            .map(|a| a.syntax().text().to_string())
            .collect();
        if names != ["outputs"] {
            return None;
        }
        match entry.value()? {
            ast::Expr::Lambda(l) => Some(l),
            _ => None,
        }
    })
}

/// A previous run's wrap: `(…) // { buck2-toolchains = …; }`.
fn already_added(body: &ast::Expr) -> bool {
    let ast::Expr::BinOp(op) = body else {
        return false;
    };
    let Some(ast::Expr::AttrSet(set)) = op.rhs() else {
        return false;
    };
    set.attrpath_values()
        .any(|e| e.attrpath().is_some_and(|p| p.syntax().text() == OUTPUT))
}

/// How the body refers to the nixpkgs input: `nixpkgs` when the pattern names it, else
/// `inputs.nixpkgs` through the `@` binding or a plain argument name.
fn nixpkgs_reference(lambda: &ast::Lambda) -> Option<String> {
    match lambda.param()? {
        ast::Param::IdentParam(p) => Some(format!("{}.nixpkgs", p.ident()?.syntax().text())),
        ast::Param::Pattern(p) => {
            let named = p
                .pat_entries()
                .any(|e| e.ident().is_some_and(|i| i.syntax().text() == "nixpkgs"));
            if named {
                return Some("nixpkgs".to_owned());
            }
            let bind = p.pat_bind()?.ident()?;
            Some(format!("{}.nixpkgs", bind.syntax().text()))
        }
    }
}

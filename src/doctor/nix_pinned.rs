//! A cell written by `generate --nix-pinned`: its toolchains take their tools from the store
//! paths of `nix_package` targets, so `nix` must be on PATH and each package must realise to
//! the path the toolchains file records for this machine's system. Nothing is checked in a
//! cell without `nix_package` targets.

use std::collections::BTreeMap;

use super::{Finding, Status};
use crate::inventory::targets::calls;
use crate::inventory::Context;
use crate::pinned;
use crate::read::Expr;

const CHECK: &str = "nix-pinned";

/// One `nix_package(...)` of the cell, as written.
struct Recorded {
    target: String,
    /// The name in the flake's `buck2-toolchains.<system>` output.
    attr: String,
    /// System → store path, as `generate --nix-pinned` recorded them.
    store_paths: BTreeMap<String, String>,
    /// `file:line` of the call.
    at: String,
}

pub fn check(ctx: &Context, findings: &mut Vec<Finding>) {
    let packages = recorded(ctx);
    if packages.is_empty() {
        return;
    }
    let nix = match pinned::nix::find() {
        Ok(nix) => nix,
        Err(_) => {
            findings.push(
                Finding::new(
                    CHECK,
                    "nix",
                    Status::Fail,
                    format!(
                        "not on PATH, and the toolchains' {} nix_package targets run it to realise their tools",
                        packages.len()
                    ),
                )
                .fix("install Nix, or run inside `nix develop`"),
            );
            return;
        }
    };
    let root = &ctx.repo.root;
    let system = match pinned::nix::current_system(&nix, root) {
        Ok(system) => system,
        Err(e) => {
            findings.push(Finding::new(CHECK, "nix", Status::Fail, e.message).fix(
                "check that `nix --extra-experimental-features 'nix-command flakes' eval --impure --expr builtins.currentSystem` runs",
            ));
            return;
        }
    };
    findings.push(Finding::new(
        CHECK,
        "nix",
        Status::Ok,
        format!("{} ({system})", nix.display()),
    ));
    for p in &packages {
        findings.push(realised(&nix, ctx, &system, p));
    }
}

/// Whether package `p` realises to what its target records for `system`.
fn realised(nix: &std::path::Path, ctx: &Context, system: &str, p: &Recorded) -> Finding {
    let subject = format!(":{}", p.target);
    let regenerate = "run `si-nixify generate --nix-pinned` (on this system) and commit the result";
    let Some(recorded) = p.store_paths.get(system) else {
        return Finding::new(
            CHECK,
            &subject,
            Status::Fail,
            format!("{}: no store path recorded for {system}", p.at),
        )
        .fix(regenerate);
    };
    match pinned::nix::realise(nix, &ctx.repo.root, system, &p.attr) {
        Ok(path) if &path == recorded => {
            Finding::new(CHECK, &subject, Status::Ok, format!("realises {path}"))
        }
        Ok(path) => Finding::new(
            CHECK,
            &subject,
            Status::Fail,
            format!(
                "builds {path}, but {} records {recorded}: flake.lock or the package changed since generate",
                p.at
            ),
        )
        .fix(regenerate),
        Err(e) => Finding::new(CHECK, &subject, Status::Fail, e.message)
            .fix(e.hint.unwrap_or_else(|| regenerate.to_owned())),
    }
}

/// Every `nix_package(...)` call of the cell's build files.
fn recorded(ctx: &Context) -> Vec<Recorded> {
    let mut out = Vec::new();
    for module in ctx.sources.build_modules() {
        for call in calls(module).iter().filter(|c| c.rule == "nix_package") {
            let text = |name: &str| {
                call.kwarg(name)
                    .and_then(|a| a.value.as_str())
                    .map(str::to_owned)
            };
            let (Some(target), Some(attr)) = (text("name"), text("attr")) else {
                continue;
            };
            let store_paths = match call.kwarg("store_paths").map(|a| &a.value.expr) {
                Some(Expr::Dict(entries)) => entries
                    .iter()
                    .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned())))
                    .collect(),
                _ => BTreeMap::new(),
            };
            out.push(Recorded {
                target,
                attr,
                store_paths,
                at: format!(
                    "{}:{}",
                    module.path.display(),
                    module.line(call.node.span.start)
                ),
            });
        }
    }
    out
}

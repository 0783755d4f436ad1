//! Load statements after a rewrite: symbols no longer used go (and loads left empty), the
//! replacement rules' symbols come in, merged into an existing load of the same file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::edit::{self, Edit};
use super::Change;
use crate::error::UserError;
use crate::inventory::Context;
use crate::read::{Expr, Load, Module, Stmt};
use crate::repo::{resolve_load, Label};

/// Every name used outside load statements.
pub fn used_names(path: &Path, text: &str) -> Result<BTreeSet<String>, UserError> {
    let module = Module::parse(path, text.to_owned())?;
    Ok(names_in(&module))
}

fn names_in(module: &Module) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for stmt in &module.stmts {
        if let Stmt::Expr(n) | Stmt::Assign { value: n, .. } = stmt {
            n.walk(&mut |x| {
                if let Expr::Ident(id) = &x.expr {
                    names.insert(id.clone());
                }
            });
        }
    }
    names
}

pub fn plan(
    ctx: &Context,
    module: &Module,
    used_after: &BTreeSet<String>,
    added: &[(String, String)],
    changes: &mut Vec<Change>,
) -> Result<Vec<Edit>, UserError> {
    let text = module.text.as_str();
    let used_before = names_in(module);
    let mut edits = Vec::new();
    let mut deleted_loads = BTreeSet::new();
    let removals: Vec<Vec<bool>> = module
        .loads()
        .map(|load| {
            load.symbols
                .iter()
                .map(|s| {
                    // Unused now: either it was used before, or it names a download rule the
                    // knowledge base knows (loaded but never called is still dead weight).
                    let known_download = ctx.know.distributions.contains_key(&s.their)
                        || ctx.know.toolchains.contains_key(&s.their);
                    !used_after.contains(&s.local)
                        && (used_before.contains(&s.local) || known_download)
                })
                .collect()
        })
        .collect();
    // Every load goes and new ones come: the new block takes the old one's lines, so the
    // old lines go without the blank line after them (see `new_load`).
    let block_replaced =
        !added.is_empty() && !removals.is_empty() && removals.iter().all(|r| r.iter().all(|x| *x));
    for ((index, load), remove) in module.loads().enumerate().zip(removals) {
        if !remove.iter().any(|r| *r) {
            continue;
        }
        for (s, _) in load.symbols.iter().zip(&remove).filter(|(_, r)| **r) {
            changes.push(Change {
                target: String::new(),
                line: module.line(s.span.start),
                action: "load".to_owned(),
                detail: format!("removed `{}` from load of `{}`", s.local, load.module),
                reason: "no longer used".to_owned(),
            });
        }
        if block_replaced {
            edits.push(Edit::delete(edit::line_region(text, load.span)));
            deleted_loads.insert(index);
        } else if remove.iter().all(|r| *r) {
            edits.push(Edit::delete(edit::statement_region(text, load.span)));
            deleted_loads.insert(index);
        } else {
            let spans: Vec<_> = load.symbols.iter().map(|s| s.span).collect();
            edits.extend(edit::remove_items(
                text,
                &spans,
                &remove,
                load.module_span.end,
            ));
        }
    }
    edits.extend(add_symbols(ctx, module, added, &deleted_loads, changes)?);
    Ok(edits)
}

/// Insert each new symbol into a kept load of the same file, or a new load line.
fn add_symbols(
    ctx: &Context,
    module: &Module,
    added: &[(String, String)],
    deleted_loads: &BTreeSet<usize>,
    changes: &mut Vec<Change>,
) -> Result<Vec<Edit>, UserError> {
    let text = module.text.as_str();
    let loads: Vec<(usize, &Load)> = module
        .loads()
        .enumerate()
        .filter(|(i, _)| !deleted_loads.contains(i))
        .collect();
    let mut by_label: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for (rule, label) in added {
        by_label
            .entry(as_the_file_writes_it(ctx, module, label))
            .or_default()
            .insert(rule);
    }
    // New loads that land at the same place go in cell order, then label order, so
    // `@prelude//…` comes before `@prelude-si//…` as buildifier sorts them.
    let mut by_label: Vec<(String, BTreeSet<&str>)> = by_label.into_iter().collect();
    by_label.sort_by(|(a, _), (b, _)| load_order_key(a).cmp(&load_order_key(b)));
    let mut edits = Vec::new();
    for (label, rules) in &by_label {
        let label = label.as_str();
        let rules = rules.clone();
        let at = module.location(0);
        let target = resolve_load(&ctx.repo, label, &module.path, &at).ok();
        let same_file = loads.iter().find(|(_, l)| {
            l.module == label
                || target.is_some()
                    && ctx.sources.load_target(&module.path, &l.module) == target.as_deref()
        });
        for rule in &rules {
            changes.push(Change {
                target: String::new(),
                line: 0,
                action: "load".to_owned(),
                detail: format!("added `{rule}` from `{label}`"),
                reason: "the rewritten toolchains call it".to_owned(),
            });
        }
        match same_file {
            Some((_, load)) => {
                for rule in rules {
                    edits.push(insert_symbol(text, load, rule));
                }
            }
            None => edits.push(new_load(text, module, &loads, label, &rules)),
        }
    }
    Ok(edits)
}

/// `label` with its cell written the way the file already names that cell: a cell whose own
/// `.buckconfig` calls the prelude `upstream` gets `@upstream//…`, not a second spelling.
fn as_the_file_writes_it(ctx: &Context, module: &Module, label: &str) -> String {
    let Some(Label::Cell { cell, .. }) = Label::parse(label) else {
        return label.to_owned();
    };
    let from = ctx.repo.cell_of(&module.path).map_or("root", |(n, _)| n);
    let dir = ctx.repo.cell_dir_from(from, &cell);
    let spelled = module.loads().find_map(|l| match Label::parse(&l.module)? {
        Label::Cell { cell: used, .. } if used != cell => {
            (dir.is_some() && ctx.repo.cell_dir_from(from, &used) == dir).then_some(used)
        }
        _ => None,
    });
    let uses_it_as_is = module.loads().any(
        |l| matches!(Label::parse(&l.module), Some(Label::Cell { cell: used, .. }) if used == cell),
    );
    match spelled {
        Some(used) if !uses_it_as_is => {
            let rest = label
                .trim_start_matches('@')
                .trim_start_matches(cell.as_str());
            format!("@{used}{rest}")
        }
        _ => label.to_owned(),
    }
}

/// Insert `"rule"` into `load`, in sorted position, matching its one-line or one-per-line layout.
fn insert_symbol(text: &str, load: &Load, rule: &str) -> Edit {
    let quoted = format!("\"{rule}\"");
    let symbols = &load.symbols;
    let before = symbols.iter().position(|s| s.their.as_str() > rule);
    // The separator between two items as the file writes it (`, ` or `,\n    `).
    let separator = |prev_end: usize, next_start: usize| {
        let between = &text[prev_end..next_start];
        between.trim_start_matches(|c: char| c != ',').to_owned()
    };
    match before {
        Some(i) => {
            let prev_end = if i == 0 {
                load.module_span.end
            } else {
                symbols[i - 1].span.end
            };
            let sep = separator(prev_end, symbols[i].span.start);
            Edit::insert(symbols[i].span.start, format!("{quoted}{sep}"))
        }
        None => {
            let last_end = symbols.last().map_or(load.module_span.end, |s| s.span.end);
            let prev_end = match symbols.len() {
                0 => load.module_span.start,
                1 => load.module_span.end,
                n => symbols[n - 2].span.end,
            };
            let start_of_last = symbols
                .last()
                .map_or(load.module_span.start, |s| s.span.start);
            let sep = separator(prev_end, start_of_last);
            let sep = if sep.is_empty() { ", ".to_owned() } else { sep };
            Edit::insert(last_end, format!("{sep}{quoted}"))
        }
    }
}

/// How buildifier sorts a block of loads: labels with an explicit `@repo` first, then `//…`,
/// then package-relative `:…`; within those by repo, package, file
/// (`@prelude//toolchains:x.bzl` < `@prelude//toolchains/go:y.bzl` < `@prelude-si//…`).
fn load_order_key(label: &str) -> (bool, bool, &str, &str, &str) {
    let explicit = label.starts_with('@');
    let (relative, repo, rest) = match label.split_once("//") {
        Some((repo, rest)) => (false, repo.trim_start_matches('@'), rest),
        None => (true, "", label),
    };
    let (package, file) = rest.split_once(':').unwrap_or((rest, ""));
    (!explicit, relative, repo, package, file)
}

/// A new `load(...)` line where buildifier would sort it: before the first kept load that
/// sorts after it, else after the last load (or at the top of a file without loads).
fn new_load(
    text: &str,
    module: &Module,
    loads: &[(usize, &Load)],
    label: &str,
    rules: &BTreeSet<&str>,
) -> Edit {
    let line = format!(
        "load(\"{label}\", {})\n",
        rules
            .iter()
            .map(|r| format!("\"{r}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let key = load_order_key(label);
    let line_start = |offset: usize| text[..offset].rfind('\n').map_or(0, |i| i + 1);
    if let Some((_, next)) = loads.iter().find(|(_, l)| load_order_key(&l.module) > key) {
        return Edit::insert(line_start(next.span.start), line);
    }
    match loads.last() {
        Some((_, last)) => {
            let end = last.span.end;
            let at = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
            Edit::insert(at, line)
        }
        // Every load of the file went (`block_replaced`): the new ones take the first one's
        // place, and the blank line that followed the old block still follows the new one.
        None => match module.loads().next() {
            Some(first) => Edit::insert(line_start(first.span.start), line),
            None => Edit::insert(0, format!("{line}\n")),
        },
    }
}

//! Toolchains judged by what their rules do, not by their names (issue 12, points 1 and 4).
//!
//! The knowledge base names SI's rules and the prelude's examples. Other repos download
//! their toolchains through rules of their own: an `http_archive` of a Rust release feeding a
//! custom rule that returns `RustToolchainInfo`, a release binary wrapped by a rule that
//! returns a `RunInfo`. Starting from every download the name-based rewrite leaves, this walks
//! up the cell's graph (who names whom in their attrs) to the first target that can stand on
//! PATH tools instead:
//!
//! - a rule whose implementation constructs a prelude toolchain provider becomes the
//!   prelude's system rule for it ([`Knowledge::provider_toolchain`]);
//! - a rule that gives only `DefaultInfo` and `RunInfo` becomes `si_nixify_path_tool`
//!   running the binary the download stood for ([`Knowledge::download_tool`]).
//!
//! Targets between the downloads and those (extractions, aliases) go when every user of theirs
//! is replaced or goes too; a download goes when all of its users do. Only targets written out
//! in a build file are edited: what a macro makes is left, and reported.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::targets::{Status, Target};
use super::tools::{add, RequiredTool};
use super::Context;
use crate::downloads::{behaviour, graph::Graph, Download, Evaluated, EvaluatedTarget};
use crate::know::Knowledge;

/// The rule `si_nixify_path_tool` lives in this file, written beside the cell's root build
/// file when a rewrite uses it.
pub const PATH_TOOL_FILE: &str = "si_nixify_path_tool.bzl";
pub const PATH_TOOL_RULE: &str = "si_nixify_path_tool";

/// What stands in for a target the knowledge base does not name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StandIn {
    /// The system rule (or `si_nixify_path_tool`) that replaces the target's rule.
    pub rule: String,
    /// Where it is loaded from; for the path tool, relative to the cell (`//:…`).
    pub load: String,
    /// Attrs to set where the schema has them (a cross compiler's `compiler`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub set_attrs: BTreeMap<String, String>,
    /// For the path tool: the binary it runs from PATH.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    /// Why: the provider found, or the download's tool.
    pub why: String,
    /// Attrs whose evaluated value names a target that goes (`$(location :cpython…)` built
    /// by an f-string or a macro's select): dropped, whatever the source looks like.
    /// (attr → the label of a target it names that goes).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub names_deleted: BTreeMap<String, String>,
    /// The repo's own rule kept, with binaries on PATH named where the download's paths were
    /// (`deno = ["deno"]` for `$(location :deno-x86_64)/deno`): attr → its new value, in the
    /// evaluator's form (`{"select": …}`). Empty for a rule replaced by another.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub path_values: BTreeMap<String, serde_json::Value>,
}

impl StandIn {
    /// Whether the target keeps its rule and only its download paths change.
    pub fn keeps_rule(&self) -> bool {
        !self.path_values.is_empty()
    }
}

/// A target a macro call made, and what stands in for it: the call is replaced by these,
/// written out under the same names (issue 12, point 2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MadeTarget {
    pub name: String,
    /// The rule written out: the stand-in's, or a native rule kept as the macro called it
    /// (`toolchain_alias` over the toolchains it made).
    pub rule: String,
    pub stand_in: Option<StandIn>,
    /// The attrs the macro gave it, as evaluated.
    #[serde(skip)]
    pub attrs: BTreeMap<String, serde_json::Value>,
}

/// What happens to one evaluated target.
#[derive(Debug, Clone, PartialEq)]
enum Fate {
    Replace(StandIn),
    Delete,
}

/// Reclassify the targets the name-based pass left alone that reach a download; add the tools
/// the replacements call. Returns whether any target changed.
pub fn classify(
    ctx: &Context,
    targets: &mut Vec<Target>,
    found: &Evaluated,
    required_tools: &mut Vec<RequiredTool>,
) -> bool {
    let fates = fates(ctx, targets, found);
    let mut changed = false;
    let mut comprehensions: Vec<Target> = Vec::new();
    let mut made: BTreeMap<(std::path::PathBuf, usize), Vec<MadeTarget>> = BTreeMap::new();
    for (i, fate) in &fates {
        let t = &found.targets[*i];
        if let Fate::Replace(stand_in) = fate {
            add_tools(&ctx.know, stand_in, found, t, required_tools);
            if t.call != t.rule_call {
                made.entry((t.call.file.clone(), t.call.line))
                    .or_default()
                    .push(MadeTarget {
                        name: t.name.clone(),
                        rule: stand_in.rule.clone(),
                        stand_in: Some(stand_in.clone()),
                        attrs: t.attrs.clone(),
                    });
                continue;
            }
        }
        let Some(target) = targets.iter_mut().find(|x| match fate {
            Fate::Delete => x.file == t.call.file && x.line == t.call.line,
            Fate::Replace(_) => is_written_as(x, t),
        }) else {
            if let Some(span) = comprehension_at(ctx, &t.call) {
                let mut target = comprehension_target(t, span);
                if let Fate::Replace(stand_in) = fate {
                    // Only a rule kept with new attrs gets here (see `fates`).
                    target.status = Status::Custom;
                    target.stand_in = Some(stand_in.clone());
                }
                comprehensions.push(target);
                changed = true;
            }
            continue;
        };
        match fate {
            // (A macro call that also made a replaced target is rewritten below instead.)
            Fate::Delete => target.status = Status::Distribution,
            Fate::Replace(stand_in) => {
                target.status = if stand_in.exe.is_some() {
                    Status::PathTool
                } else if stand_in.keeps_rule() {
                    Status::Custom
                } else {
                    Status::Hermetic
                };
                target.replacement = Some(stand_in.rule.clone());
                target.stand_in = Some(stand_in.clone());
            }
        }
        changed = true;
    }
    comprehensions.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    comprehensions.dedup_by(|a, b| a.file == b.file && a.line == b.line);
    targets.extend(comprehensions);
    for ((file, line), mut made) in made {
        // The native targets the call also made (an alias over its toolchains) are kept.
        for (j, o) in found.targets.iter().enumerate() {
            if o.call.file == file
                && o.call.line == line
                && kept_native(o)
                && !fates.contains_key(&j)
            {
                made.push(MadeTarget {
                    name: o.name.clone(),
                    rule: o.rule.clone(),
                    stand_in: None,
                    attrs: o.attrs.clone(),
                });
            }
        }
        if let Some(target) = targets
            .iter_mut()
            .find(|x| x.file == file && x.line == line)
        {
            target.status = Status::Hermetic;
            target.replacement = made
                .iter()
                .find_map(|m| m.stand_in.as_ref())
                .map(|s| s.rule.clone());
            target.made = made;
            changed = true;
        }
    }
    changed
}

/// The fate of every evaluated target the generic moves touch, by index.
fn fates(ctx: &Context, targets: &[Target], found: &Evaluated) -> BTreeMap<usize, Fate> {
    let index: BTreeMap<&str, usize> = found
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| (t.label.as_str(), i))
        .collect();
    // A call statement of a build file the name-based pass left alone.
    let call_left_alone = |i: usize| {
        let t = &found.targets[i];
        targets
            .iter()
            .any(|x| x.file == t.call.file && x.line == t.call.line && left_alone(ctx, x))
    };
    // A statement the name-based pass already deletes or replaces (a release archive under
    // `hermetic_rust_toolchain`): its downloads may have other users to replace
    // (ysimonson/gruel's `rustfmt` over the same archive), and it lets go of what it named.
    let taken_by_name = |i: usize| {
        let t = &found.targets[i];
        targets.iter().any(|x| {
            x.file == t.call.file
                && x.line == t.call.line
                && matches!(x.status, Status::Distribution | Status::Hermetic)
        })
    };
    // Such a statement, or a comprehension: it can be deleted.
    let statement_known =
        |i: usize| call_left_alone(i) || comprehension_at(ctx, &found.targets[i].call).is_some();
    // A rule call written out there, or made by a macro call there: it can be replaced
    // (a macro call only when everything it makes is replaced or goes: checked below).
    let written_out = |i: usize| {
        let t = &found.targets[i];
        if t.call == t.rule_call {
            targets.iter().any(|x| is_written_as(x, t))
        } else {
            call_left_alone(i)
        }
    };
    let downloads: Vec<(usize, &Download)> = found
        .downloads
        .iter()
        .filter(|d| !d.dynamic())
        .filter_map(|d| index.get(d.label.as_str()).map(|i| (*i, d)))
        .filter(|(i, _)| statement_known(*i) || taken_by_name(*i))
        .collect();
    // No download here (SI: `classify` is not even called when the name-based pass took them
    // all): nothing to walk, no graph to build.
    if downloads.is_empty() {
        return BTreeMap::new();
    }
    let graph = Graph::of(&found.targets);
    let statements = Statements::of(found);
    let tool_of = |i: usize| -> Option<&crate::know::DownloadTool> {
        let d = downloads.iter().find(|(j, _)| *j == i)?.1;
        d.urls
            .iter()
            .find_map(|u| ctx.know.download_tool(u))
            .or_else(|| tool_of_rule_file(ctx, d))
    };
    // A rule called in a comprehension keeps its rule: only its attrs can be edited there,
    // once for all the targets it makes.
    let in_comprehension = |i: usize| {
        let t = &found.targets[i];
        t.call == t.rule_call && comprehension_at(ctx, &t.call).is_some()
    };
    let stand_in = |i: usize, reached: &[usize]| {
        if written_out(i) {
            stand_in_for(ctx, found, &graph, i, reached, &tool_of)
        } else if in_comprehension(i) {
            stand_in_for(ctx, found, &graph, i, reached, &tool_of).filter(StandIn::keeps_rule)
        } else {
            None
        }
    };
    let mut replace: BTreeMap<usize, StandIn> = BTreeMap::new();
    let mut pending: BTreeSet<usize> = BTreeSet::new();
    for (d, _) in &downloads {
        // The downloading rule may itself be the toolchain (an anon-target download).
        if let Some(s) = stand_in(*d, &[*d]) {
            replace.insert(*d, s);
            continue;
        }
        pending.insert(*d);
        let mut frontier = vec![*d];
        while let Some(below) = frontier.pop() {
            for &u in graph.users(below) {
                if replace.contains_key(&u) || pending.contains(&u) || !statement_known(u) {
                    continue;
                }
                let reached = reached_downloads(&graph, &downloads, u);
                match stand_in(u, &reached) {
                    Some(s) => {
                        replace.insert(u, s);
                    }
                    None => {
                        pending.insert(u);
                        frontier.push(u);
                    }
                }
            }
        }
    }
    drop_differing_edits(&statements, &mut replace, &in_comprehension);
    let lets_go = |u: usize, p: usize| {
        let t = &found.targets[u];
        let is_system_call = t.call == t.rule_call
            && targets
                .iter()
                .any(|x| is_written_as(x, t) && x.status == Status::System);
        taken_by_name(u) || (is_system_call && optional_attrs_name(ctx, &graph, t, p))
    };
    // Only a fetcher's target (`http_archive`): a rule that downloads may be the toolchain.
    let unused = |p: usize| {
        let t = &found.targets[p];
        let native = downloads
            .iter()
            .any(|(j, d)| *j == p && d.via == crate::downloads::Via::Native);
        native
            && tool_of(p).is_some()
            && !ctx
                .files_outside_cell()
                .iter()
                .any(|(_, text)| names_target(text, &t.name))
    };
    for (d, _) in &downloads {
        if graph.users(*d).is_empty() && unused(*d) {
            pending.insert(*d);
        }
    }
    let release = Release {
        lets_go: &lets_go,
        unused: &unused,
    };
    let mut deleted = deletable(
        &graph,
        found,
        &statements,
        &replace,
        &release,
        pending.clone(),
    );
    // A macro call is rewritten only as a whole: a target it makes that neither goes nor is
    // replaced keeps the call, and the targets it made stay as they are.
    loop {
        let partial: Vec<usize> = replace
            .keys()
            .copied()
            .filter(|i| {
                let t = &found.targets[*i];
                t.call != t.rule_call
                    && statements.of_target(*i).iter().any(|&j| {
                        !replace.contains_key(&j)
                            && !deleted.contains(&j)
                            && !kept_native(&found.targets[j])
                    })
            })
            .collect();
        if partial.is_empty() {
            break;
        }
        for i in partial {
            replace.remove(&i);
        }
        deleted = deletable(
            &graph,
            found,
            &statements,
            &replace,
            &release,
            pending.clone(),
        );
    }
    let mut out: BTreeMap<usize, Fate> = BTreeMap::new();
    for (i, mut s) in replace {
        s.names_deleted = attrs_naming(&found.targets, i, &deleted, &graph);
        out.insert(i, Fate::Replace(s));
    }
    for i in deleted {
        out.insert(i, Fate::Delete);
    }
    out
}

/// A comprehension's call is edited once for every target it makes: when they would need
/// different values (or some would not change), none is edited.
fn drop_differing_edits(
    statements: &Statements,
    replace: &mut BTreeMap<usize, StandIn>,
    in_comprehension: &dyn Fn(usize) -> bool,
) {
    let differing: Vec<usize> = replace
        .iter()
        .filter(|(i, s)| {
            in_comprehension(**i)
                && statements.of_target(**i).iter().any(|j| {
                    replace
                        .get(j)
                        .is_none_or(|o| o.path_values != s.path_values || o.rule != s.rule)
                })
        })
        .map(|(i, _)| *i)
        .collect();
    for i in differing {
        replace.remove(&i);
    }
}

/// The evaluated targets grouped by the build-file statement that made them, built once: a
/// macro call's or comprehension's targets go (or stay) together.
struct Statements<'e> {
    found: &'e Evaluated,
    by_site: BTreeMap<&'e crate::downloads::Site, Vec<usize>>,
}

impl<'e> Statements<'e> {
    fn of(found: &'e Evaluated) -> Statements<'e> {
        let mut by_site: BTreeMap<&crate::downloads::Site, Vec<usize>> = BTreeMap::new();
        for (i, t) in found.targets.iter().enumerate() {
            by_site.entry(&t.call).or_default().push(i);
        }
        Statements { found, by_site }
    }

    /// Every target made by the statement that made target `i` (`i` included).
    fn of_target(&self, i: usize) -> &[usize] {
        self.by_site
            .get(&self.found.targets[i].call)
            .map_or(&[], Vec::as_slice)
    }
}

/// For a rule that builds its URL itself (`"https://dl.google.com/go/{}".format(…)` in
/// sluongng/buck2-go), the tool a URL written in the file of its `download_file` (or
/// `anon_target` of a fetcher) stands for.
fn tool_of_rule_file<'k>(ctx: &'k Context, d: &Download) -> Option<&'k crate::know::DownloadTool> {
    let crate::downloads::Via::Rule { download_file } = &d.via else {
        return None;
    };
    let module = ctx.sources.modules.get(&download_file.file)?;
    let mut found = None;
    for stmt in &module.stmts {
        crate::read::ir::walk_stmt(stmt, &mut |n| {
            if found.is_none() {
                found = n
                    .as_str()
                    .filter(|s| s.contains("://"))
                    .and_then(|u| ctx.know.download_tool(u));
            }
        });
    }
    found
}

/// The attrs of `t` whose values name one of `deleted`.
fn attrs_naming(
    targets: &[EvaluatedTarget],
    i: usize,
    deleted: &BTreeSet<usize>,
    graph: &Graph,
) -> BTreeMap<String, String> {
    let t = &targets[i];
    t.attrs
        .iter()
        .filter_map(|(k, v)| {
            let named = graph.named_in(t, v);
            let gone = named.iter().find(|d| deleted.contains(d))?;
            Some((k.clone(), targets[*gone].label.clone()))
        })
        .collect()
}

/// A target of a native rule (`toolchain_alias`, `alias`, `filegroup`): a macro call
/// rewritten as a whole writes it out as the macro made it; it needs no load.
fn kept_native(t: &EvaluatedTarget) -> bool {
    t.rule_defined_at.is_none()
        && !matches!(
            t.rule.as_str(),
            "http_archive" | "http_file" | "remote_file"
        )
}

/// The top-level statement of a build file of the cell at `site` when it is no rule call
/// (a list comprehension making targets): its span.
fn comprehension_at(ctx: &Context, site: &crate::downloads::Site) -> Option<crate::read::Span> {
    let module = ctx.sources.build_modules().find(|m| m.path == site.file)?;
    module.stmts.iter().find_map(|s| match s {
        crate::read::ir::Stmt::Expr(node)
            if !matches!(node.expr, crate::read::Expr::Call { .. })
                && (module.line(node.span.start)..=module.line(node.span.end))
                    .contains(&site.line) =>
        {
            Some(node.span)
        }
        _ => None,
    })
}

/// The inventory entry of a comprehension statement that goes.
fn comprehension_target(t: &EvaluatedTarget, span: crate::read::Span) -> Target {
    Target {
        name: t.name.clone(),
        rule: t.rule.clone(),
        file: t.call.file.clone(),
        line: t.call.line,
        status: Status::Distribution,
        family: None,
        replacement: None,
        distribution: None,
        resolves_to: Vec::new(),
        deps: Vec::new(),
        call_index: usize::MAX,
        stand_in: None,
        made: Vec::new(),
        comprehension: true,
        span,
    }
}

/// A target the name-based pass neither deletes nor replaces.
/// Whether the name-based pass left target `x` as it is: neither deleted nor replaced, and
/// not a system rule — unless that "system" rule is the repo's own and only shares a name
/// the knowledge base knows (thoughtpolice/bucktools' `deno_toolchain(deno = [$(location
/// :1.46.3-x86_64-unknown-linux-gnu)/deno])` is not SI's).
fn left_alone(ctx: &Context, x: &Target) -> bool {
    untouched(x.status) || (x.status == Status::System && is_own_rule(ctx, x))
}

/// A rule defined in the repo, not in the prelude (nor a native one).
fn is_own_rule(ctx: &Context, x: &Target) -> bool {
    let prelude = ctx.repo.prelude_dir();
    matches!(
        ctx.sources.find_definition(&x.file, &x.rule),
        Ok(Some((m, _))) if !prelude.is_some_and(|p| m.path.starts_with(p))
    ) && !x.rule.starts_with("system_")
}

fn untouched(status: Status) -> bool {
    !matches!(
        status,
        Status::Distribution | Status::Hermetic | Status::System
    )
}

/// Whether inventory target `x` is the written-out call that made evaluated target `t`.
fn is_written_as(x: &Target, t: &EvaluatedTarget) -> bool {
    x.file == t.call.file && x.line == t.call.line && x.name == t.name
}

/// The downloads target `u` reaches through attrs without passing another download: the
/// ones it uses, not the tools those are unpacked with (smoltar in thoughtpolice/a).
fn reached_downloads(graph: &Graph, downloads: &[(usize, &Download)], u: usize) -> Vec<usize> {
    let is_download = |i: usize| downloads.iter().any(|(d, _)| *d == i);
    downloads
        .iter()
        .map(|(d, _)| *d)
        .filter(|d| {
            let mut seen = BTreeSet::from([*d]);
            let mut stack = vec![*d];
            while let Some(at) = stack.pop() {
                if at == u {
                    return true;
                }
                if at != *d && is_download(at) {
                    continue;
                }
                stack.extend(graph.users(at).iter().filter(|x| seen.insert(**x)));
            }
            false
        })
        .collect()
}

/// The pending targets that go: those whose every user is replaced or goes too (and that
/// have a user: a download nobody in the cell names may be used from outside it), made by a
/// statement all of whose targets go or are replaced (a macro's download and its extraction
/// go together).
fn deletable(
    graph: &Graph,
    found: &Evaluated,
    statements: &Statements,
    replace: &BTreeMap<usize, StandIn>,
    release: &Release,
    pending: BTreeSet<usize>,
) -> BTreeSet<usize> {
    let mut deleted = pending;
    loop {
        let keep: Vec<usize> = deleted
            .iter()
            .copied()
            .filter(|p| {
                let users = graph.users(*p);
                let used_elsewhere = (users.is_empty()
                    && !aliases_own_downloads(graph, found, statements, &deleted, *p)
                    && !(release.unused)(*p))
                    || users.iter().any(|u| {
                        !replace.contains_key(u)
                            && !deleted.contains(u)
                            && !(release.lets_go)(*u, *p)
                    });
                let statement_stays = statements.of_target(*p).iter().any(|&j| {
                    !deleted.contains(&j)
                        && !replace.contains_key(&j)
                        && !kept_native(&found.targets[j])
                });
                used_elsewhere || statement_stays
            })
            .collect();
        if keep.is_empty() {
            return deleted;
        }
        for k in keep {
            deleted.remove(&k);
        }
    }
}

/// What lets a target go although the walk replaced none of its users.
struct Release<'a> {
    /// (user, target): the user is a system rule already, and the attr naming the target may
    /// be left out (`system_cxx_toolchain(_cxx_tools_info = ":cxx-tools")` over a downloaded
    /// LLVM in rsJames-ttrpg/kerrigan): the attr is dropped, the target goes.
    lets_go: &'a dyn Fn(usize, usize) -> bool,
    /// A download of a known tool that nobody names, in the cell or anywhere else in the
    /// repo (zsol/buck-py-demo's `custom_cpython_archive`): dead, so it goes.
    unused: &'a dyn Fn(usize) -> bool,
}

/// Whether target `p` is an `alias` over targets its own statement made that go too
/// (`download_deno` aliases its per-platform archives as `2.3.5.zip`): a name for the
/// download, which goes with it even though nobody in the cell names it.
fn aliases_own_downloads(
    graph: &Graph,
    found: &Evaluated,
    statements: &Statements,
    deleted: &BTreeSet<usize>,
    p: usize,
) -> bool {
    let t = &found.targets[p];
    let named: BTreeSet<usize> = t
        .attrs
        .values()
        .flat_map(|v| graph.named_in(t, v))
        .collect();
    t.rule == "alias"
        && !named.is_empty()
        && named
            .iter()
            .all(|n| deleted.contains(n) && statements.of_target(p).contains(n))
}

/// Whether every attr of `t` naming target `p` may be left out of `t`'s rule (its schema, as
/// the repo's prelude has it, gives it a default; a `_private` attr always has one).
fn optional_attrs_name(ctx: &Context, graph: &Graph, t: &EvaluatedTarget, p: usize) -> bool {
    let schema = t.rule_defined_at.as_ref().and_then(|site| {
        let module = ctx.sources.modules.get(&site.file)?;
        crate::read::schema::all_rule_schemas(module)
            .into_iter()
            .find(|s| s.line == site.line)
    });
    let naming: Vec<&String> = t
        .attrs
        .iter()
        .filter(|(_, v)| graph.named_in(t, v).contains(&p))
        .map(|(k, _)| k)
        .collect();
    !naming.is_empty()
        && naming
            .iter()
            .all(|k| k.starts_with('_') || schema.as_ref().is_some_and(|s| s.is_optional(k)))
}

/// Whether `text` names a target called `name` (`:name`, followed by no more of a name).
fn names_target(text: &str, name: &str) -> bool {
    let pattern = format!(":{name}");
    text.match_indices(&pattern).any(|(i, _)| {
        !text[i + pattern.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
    })
}

/// The load label of the path tool's file, beside the cell's root build file, as the cell's
/// own build files name it.
pub fn path_tool_label(ctx: &Context) -> String {
    let package = crate::downloads::Package::of(&ctx.repo, &ctx.sources.buck);
    format!("//{}:{PATH_TOOL_FILE}", package.path_in_cell)
}

/// What can stand in for target `i`, which reaches the downloads `reached`.
fn stand_in_for<'k>(
    ctx: &'k Context,
    found: &Evaluated,
    graph: &Graph,
    i: usize,
    reached: &[usize],
    tool_of: &dyn Fn(usize) -> Option<&'k crate::know::DownloadTool>,
) -> Option<StandIn> {
    let t = &found.targets[i];
    let site = t.rule_defined_at.as_ref()?;
    let provides = behaviour::of_rule_at(&ctx.sources, &site.file, site.line)?.provides;
    let tools: Vec<&crate::know::DownloadTool> =
        reached.iter().filter_map(|d| tool_of(*d)).collect();
    // A download nobody here knows may be a cross compiler (wasi-sdk): the host's tools would
    // build for the wrong machine, so the target is left, and reported.
    let all_known = tools.len() == reached.len();
    if let Some(p) = ctx.know.provider_toolchain(&provides).filter(|_| all_known) {
        let mut set_attrs = p.replacement.set_attrs.clone();
        for tool in &tools {
            set_attrs.extend(tool.set_attrs.clone());
        }
        return Some(StandIn {
            rule: p.replacement.rule.clone(),
            load: p.replacement.load.clone(),
            set_attrs,
            exe: None,
            why: format!(
                "`{}` constructs `{}` (rule at {site}); `{}` gives it from tools on PATH",
                t.rule, p.provider, p.replacement.rule
            ),
            names_deleted: BTreeMap::new(),
            path_values: BTreeMap::new(),
        });
    }
    path_tool_for(ctx, found, graph, i, &provides, &tools).or_else(|| {
        all_known
            .then(|| own_path_form(ctx, found, graph, i, reached, &tools))
            .flatten()
    })
}

/// `si_nixify_path_tool` for a target that only runs what it downloads: its rule gives a
/// `RunInfo`, and nothing else its users read (`crane_binary` also gives `CraneInfo`, which
/// `oci_toolchain` never takes from it).
fn path_tool_for(
    ctx: &Context,
    found: &Evaluated,
    graph: &Graph,
    i: usize,
    provides: &BTreeSet<String>,
    tools: &[&crate::know::DownloadTool],
) -> Option<StandIn> {
    let t = &found.targets[i];
    let extra: Vec<&String> = provides
        .iter()
        .filter(|p| !matches!(p.as_str(), "DefaultInfo" | "RunInfo"))
        .collect();
    let runs = provides.contains("RunInfo")
        && (extra.is_empty() || users_read_none_of(ctx, found, graph, i, &extra));
    let tool = tools.first()?;
    let exe = binary_run_by(t, tool)?;
    let same = tools.iter().all(|x| x.binaries.contains(&exe));
    (runs && same).then(|| StandIn {
        rule: PATH_TOOL_RULE.to_owned(),
        load: path_tool_label(ctx),
        set_attrs: BTreeMap::new(),
        exe: Some(exe.clone()),
        why: format!(
            "`{}` only runs what it downloads ({}){}: `{exe}` from PATH does the same",
            t.rule,
            tool.why,
            if extra.is_empty() {
                String::new()
            } else {
                let names: Vec<&str> = extra.iter().map(|p| p.as_str()).collect();
                format!(", and its users read none of {}", names.join(", "))
            }
        ),
        names_deleted: BTreeMap::new(),
        path_values: BTreeMap::new(),
    })
}

/// Whether target `i` has users, all of rules the repo defines, none of whose
/// implementations reads one of `providers` from the targets it names.
fn users_read_none_of(
    ctx: &Context,
    found: &Evaluated,
    graph: &Graph,
    i: usize,
    providers: &[&String],
) -> bool {
    let users = graph.users(i);
    !users.is_empty()
        && users.iter().all(|u| {
            let Some(site) = found.targets[*u].rule_defined_at.as_ref() else {
                return false;
            };
            behaviour::of_rule_at(&ctx.sources, &site.file, site.line)
                .is_some_and(|b| providers.iter().all(|p| !b.reads.contains(*p)))
        })
}

/// The repo's own rule kept, its download paths replaced by the binaries' names, where its
/// schema takes command text there (`deno = attrs.list(attrs.arg())` holding
/// `$(location :deno-x86_64)/deno` becomes `["deno"]`). Every attr naming a download must
/// take such text and point at one of the download's binaries; else `None`.
fn own_path_form(
    ctx: &Context,
    found: &Evaluated,
    graph: &Graph,
    i: usize,
    reached: &[usize],
    tools: &[&crate::know::DownloadTool],
) -> Option<StandIn> {
    let t = &found.targets[i];
    let site = t.rule_defined_at.as_ref()?;
    let module = ctx.sources.modules.get(&site.file)?;
    let schema = crate::read::schema::all_rule_schemas(module)
        .into_iter()
        .find(|s| s.line == site.line)?;
    let binaries: BTreeSet<&str> = tools
        .iter()
        .flat_map(|t| t.binaries.iter().map(String::as_str))
        .collect();
    let names_download = |s: &str| {
        graph
            .named_in(t, &serde_json::Value::String(s.to_owned()))
            .iter()
            .any(|n| reached.contains(n))
    };
    let mut path_values = BTreeMap::new();
    for (attr, value) in &t.attrs {
        if !crate::downloads::strings(value)
            .into_iter()
            .any(names_download)
        {
            continue;
        }
        if !schema.attrs.get(attr).is_some_and(|a| a.takes_text()) {
            return None;
        }
        let new = on_path(value, &|s: &str| {
            if !names_download(s) {
                return Some(s.to_owned());
            }
            let bin = located_binary(s)?;
            binaries.contains(bin).then(|| bin.to_owned())
        })?;
        path_values.insert(attr.clone(), new);
    }
    if path_values.is_empty() {
        return None;
    }
    let named: Vec<String> = path_values
        .iter()
        .map(|(a, v)| format!("`{a}` = {}", crate::downloads::strings(v).join(", ")))
        .collect();
    Some(StandIn {
        rule: t.rule.clone(),
        load: String::new(),
        set_attrs: BTreeMap::new(),
        exe: None,
        why: format!(
            "`{}` takes command text ({}:{}): {} from PATH, in place of {}",
            t.rule,
            schema.file.display(),
            schema.line,
            named.join("; "),
            tools.first().map_or("the download", |t| t.why.as_str())
        ),
        names_deleted: BTreeMap::new(),
        path_values,
    })
}

/// `value` with each string mapped by `f` (`None` from `f`: `None`), and each `select()`
/// whose branches all end up equal collapsed to that value (the Linux and macOS branches of
/// `deno` both name `deno` now).
fn on_path(
    value: &serde_json::Value,
    f: &dyn Fn(&str) -> Option<String>,
) -> Option<serde_json::Value> {
    use serde_json::Value;
    Some(match value {
        Value::String(s) => Value::String(f(s)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| on_path(v, f))
                .collect::<Option<Vec<_>>>()?,
        ),
        Value::Object(map) => {
            let mapped: serde_json::Map<String, Value> = map
                .iter()
                .map(|(k, v)| Some((k.clone(), on_path(v, f)?)))
                .collect::<Option<_>>()?;
            match mapped.get("select") {
                Some(Value::Object(branches)) if mapped.len() == 1 => {
                    let mut values = branches.values();
                    let first = values.next()?.clone();
                    if values.all(|v| *v == first) {
                        first
                    } else {
                        Value::Object(mapped)
                    }
                }
                _ => Value::Object(mapped),
            }
        }
        other => other.clone(),
    })
}

/// The binary a path into a download names: `$(location :deno-x86_64)/deno` → `deno`,
/// `…/bin/node.exe` → `node` (the devshell's tools have no `.exe`).
fn located_binary(s: &str) -> Option<&str> {
    let after = &s[s.find(')')? + 1..];
    let last = after.rsplit('/').next()?;
    let bin = last.strip_suffix(".exe").unwrap_or(last);
    (!bin.is_empty()).then_some(bin)
}

/// Which of a download's binaries a wrapper runs: its only one, else the one the target or
/// its rule is named after (`rustfmt(name = "rustfmt", …)` over a Rust release). `None` when
/// that cannot be told.
fn binary_run_by(t: &EvaluatedTarget, tool: &crate::know::DownloadTool) -> Option<String> {
    if let [only] = tool.binaries.as_slice() {
        return Some(only.clone());
    }
    tool.binaries
        .iter()
        .find(|b| **b == t.name || **b == t.rule)
        .cloned()
}

/// The tools a stand-in calls: the system rule's, and the binaries of the downloads it
/// replaces (a cross compiler, a path tool's binary).
fn add_tools(
    know: &Knowledge,
    stand_in: &StandIn,
    found: &Evaluated,
    t: &EvaluatedTarget,
    out: &mut Vec<RequiredTool>,
) {
    if let Some((_, rule)) = know.system_rules.get(&stand_in.rule) {
        for tool in &rule.tools {
            add(out, RequiredTool::of(tool));
        }
    }
    let used: Vec<&Download> = found
        .downloads
        .iter()
        .filter(|d| {
            d.toolchains.contains(&t.label) || d.used_by.contains(&t.label) || d.label == t.label
        })
        .collect();
    for tool in used
        .iter()
        .flat_map(|d| d.urls.iter())
        .filter_map(|u| know.download_tool(u))
    {
        // A system rule's own tools are listed above; a download's binaries count only where
        // they replace them (a cross compiler's, set through `set_attrs`).
        let named: Vec<String>;
        let binaries: &[String] = match &stand_in.exe {
            Some(exe) => std::slice::from_ref(exe),
            None if stand_in.keeps_rule() => {
                let values: Vec<&str> = stand_in
                    .path_values
                    .values()
                    .flat_map(crate::downloads::strings)
                    .collect();
                named = tool
                    .binaries
                    .iter()
                    .filter(|b| values.contains(&b.as_str()))
                    .cloned()
                    .collect();
                &named
            }
            None if !tool.set_attrs.is_empty() => &tool.binaries,
            None => &[],
        };
        for b in binaries {
            add(
                out,
                RequiredTool {
                    binary: b.clone(),
                    why: format!("{} calls `{b}` from PATH in place of {}", t.label, tool.why),
                    nix: tool.nix_of.get(b).unwrap_or(&tool.nix).clone(),
                    platform: None,
                    pinned_by: None,
                    pinned: None,
                },
            );
        }
    }
}

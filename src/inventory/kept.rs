//! Downloads that stay because something the rewrite does not rewrite still uses them: a
//! build file outside the toolchains cell (`$(location toolchains//:gcc-dist)/bin/…-gcc` in
//! concordia-fsae/firmware's `third_party/BUCK`, the rust archives kerrigan's `tools/BUCK`
//! genrules copy), or a call in the cell whose attr uses the download in a way no tool name
//! can replace (`cp -r $(location :protoc[include]) $OUT`, JonasKruckenberg/buck2_buildbuddy).
//! Deleting such a download would break its user, so it stays and is listed (exit 1) with
//! the use that holds it.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::targets::{self, belongs_to, Status, Target};
use super::Context;
use crate::read::schema::rule_schema;

/// A download kept, and the use that keeps it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Kept {
    /// `toolchains//pkg:name`.
    pub target: String,
    pub because: String,
}

/// Return the distributions of `targets` to the cell where a user the rewrite leaves alone
/// still needs them (their status becomes `Other`, so they are neither deleted nor treated
/// as gone), with why. A kept target keeps what it names in turn.
pub fn keep_what_is_still_used(ctx: &Context, targets: &mut [Target]) -> Vec<Kept> {
    if !targets.iter().any(|t| t.status == Status::Distribution) {
        return Vec::new();
    }
    let uses = Uses::in_cell(ctx, targets);
    let outside: std::cell::OnceCell<OutsideNames> = std::cell::OnceCell::new();
    let mut kept: Vec<Kept> = Vec::new();
    loop {
        let next = targets
            .iter()
            .enumerate()
            .filter(|(_, t)| t.status == Status::Distribution && !t.comprehension)
            .find_map(|(i, t)| {
                let label = label_of(ctx, t);
                uses.keeping(ctx, targets, &kept, &label)
                    .or_else(|| {
                        outside
                            .get_or_init(|| OutsideNames::of(ctx.files_outside_cell()))
                            .naming(&label)
                    })
                    .map(|why| (i, label, why))
            });
        let Some((i, target, because)) = next else {
            return kept;
        };
        targets[i].status = Status::Other;
        kept.push(Kept { target, because });
    }
}

/// Say in each kept download's entry what keeps it.
pub fn explain(left: &mut [super::DownloadLeft], kept: &[Kept]) {
    for d in left.iter_mut() {
        // The download itself, or a kept target it is fetched for (a `-dist` over its
        // `-dist-archive`, a distribution macro's over the download it makes).
        let because = kept.iter().find_map(|k| {
            if k.target == d.target {
                Some(k.because.clone())
            } else {
                (d.used_by.contains(&k.target) || d.toolchains.contains(&k.target))
                    .then(|| format!("`{}` uses it and stays: {}", k.target, k.because))
            }
        });
        if let Some(because) = because {
            d.fix = format!(
                "{because}: rewrite that use onto the tool on PATH (or drop it), then run si-nixify again"
            );
            d.kept_because = Some(because);
        }
    }
}

/// `toolchains//pkg:name` of a target of the cell.
fn label_of(ctx: &Context, t: &Target) -> String {
    targets::label_in(&ctx.repo.toolchains_dir(), t)
}

/// One string of a call's attr that names a target of the cell.
struct Use {
    user: usize,
    attr: String,
    text: String,
    line: usize,
    /// The string is the attr's whole value.
    whole: bool,
}

/// Every use of a cell target in the attrs of the cell's calls, by the target named
/// (`(package, name)`, sub-target and path cut off): read once per run.
struct Uses(std::collections::BTreeMap<(String, String), Vec<Use>>);

impl Uses {
    fn in_cell(ctx: &Context, targets: &[Target]) -> Uses {
        let mut by_target: std::collections::BTreeMap<(String, String), Vec<Use>> =
            Default::default();
        for module in ctx.sources.build_modules() {
            let calls = targets::calls(module);
            for (user, t) in targets.iter().enumerate() {
                if t.file != module.path || t.comprehension {
                    continue;
                }
                let Some(call) = calls.get(t.call_index) else {
                    continue;
                };
                for arg in call.args {
                    let Some(attr) = arg.name.as_deref().filter(|n| *n != "name") else {
                        continue;
                    };
                    for s in arg.value.strings() {
                        let text = s.as_str().unwrap_or_default();
                        let Some(named) = targets::cell_target_named(&ctx.repo, &module.path, text)
                        else {
                            continue;
                        };
                        by_target.entry(named).or_default().push(Use {
                            user,
                            attr: attr.to_owned(),
                            text: text.to_owned(),
                            line: module.line(s.span.start),
                            whole: std::ptr::eq(s, &arg.value),
                        });
                    }
                }
            }
        }
        Uses(by_target)
    }

    /// Why `label` must stay for one of its uses, if one needs it.
    fn keeping(
        &self,
        ctx: &Context,
        targets: &[Target],
        kept: &[Kept],
        label: &str,
    ) -> Option<String> {
        let (package, name) = label.strip_prefix("toolchains//")?.split_once(':')?;
        // The target itself and those a distribution macro made from it (`name-extraction`).
        let key = (package.to_owned(), name.to_owned());
        self.0
            .range(key..)
            .take_while(|((p, n), _)| p == package && n.starts_with(name))
            .filter(|((_, n), _)| belongs_to(n, name))
            .flat_map(|(_, uses)| uses)
            .find_map(|u| {
                let user = &targets[u.user];
                if kept.iter().any(|k| k.target == label_of(ctx, user)) {
                    return Some(format!(
                        "`{}` ({}:{}) stays, and it names this download",
                        user.name,
                        user.file.display(),
                        user.line
                    ));
                }
                (is_only_repointed(user) && !repointable(ctx, user, u)).then(|| {
                    format!(
                        "`{}` ({}:{}) uses it in `{}` (`{}`), which si-nixify can neither point at a tool on PATH nor drop",
                        user.name,
                        user.file.display(),
                        u.line,
                        u.attr,
                        u.text
                    )
                })
            })
    }
}

/// The plan rewrites these calls' references in place and nothing else about them.
fn is_only_repointed(u: &Target) -> bool {
    let replaced = matches!(u.status, Status::Distribution | Status::Hermetic)
        || (u.status == Status::PathTool && u.stand_in.is_some());
    let repointed_by_its_stand_in = u.stand_in.as_ref().is_some_and(|s| s.keeps_rule());
    !replaced && !repointed_by_its_stand_in
}

/// Whether the plan can repoint this use: a tool in the download becomes the tool's name,
/// a whole label on an attr the rule lets go is dropped.
fn repointable(ctx: &Context, user: &Target, u: &Use) -> bool {
    if tool_named_by(&u.text).is_some() {
        return true;
    }
    u.whole
        && !u.text.contains("$(")
        && ctx
            .sources
            .find_definition(&user.file, &user.rule)
            .ok()
            .flatten()
            .and_then(|(m, name)| rule_schema(m, &name))
            .is_some_and(|schema| schema.is_optional(&u.attr))
}

/// The tool a whole value points at inside a download: `$(location :dist)/bin/rustc`,
/// `$(location :cpython[python])`, `$(location :deno)/deno`. Not a directory of headers or
/// libraries (`[include]`, `/lib/libpython3.so`), and nothing around it: a command that
/// copies from the download (`cp $(location :d[bin/protoc]) $OUT`) is no tool's name.
pub fn tool_named_by(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("$(location ")?;
    let close = rest.find(')')?;
    let (label, after) = (&rest[..close], &rest[close + 1..]);
    let path = if after.is_empty() {
        label.split_once('[')?.1.strip_suffix(']')?
    } else {
        after.strip_prefix('/')?
    };
    if path.contains(char::is_whitespace) || path.contains('$') {
        return None;
    }
    let tool = path.rsplit('/').next()?;
    let not_a_tool =
        NOT_TOOLS.contains(&tool) || NOT_TOOL_EXTENSIONS.iter().any(|ext| tool.ends_with(ext));
    (!tool.is_empty() && !not_a_tool).then_some(tool)
}

/// Directories a download's sub-target or path names that hold no program.
const NOT_TOOLS: &[&str] = &[
    "include", "lib", "lib64", "share", "headers", "sysroot", "libexec",
];
/// Files that are no program either.
const NOT_TOOL_EXTENSIONS: &[&str] = &[".h", ".so", ".a", ".dylib", ".dll", ".lib", ".jar"];

/// Every `//pkg:name` written in the files outside the cell, with the first `file:line` that
/// writes it: one pass over the files, then a lookup per download.
struct OutsideNames(std::collections::BTreeMap<String, (PathBuf, usize)>);

impl OutsideNames {
    fn of(files: &[(PathBuf, String)]) -> OutsideNames {
        let mut first = std::collections::BTreeMap::new();
        for (file, text) in files {
            for at in memchr::memmem::find_iter(text.as_bytes(), "//") {
                let rest = &text[at..];
                let end = rest[2..]
                    .find(|c: char| {
                        !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':' | '+'))
                    })
                    .map_or(rest.len(), |e| e + 2);
                let written = &rest[..end];
                // `//pkg:name`, a sub-target or path after it cut off by the search above.
                if written.contains(':') {
                    first
                        .entry(written.to_owned())
                        .or_insert_with(|| (file.clone(), text[..at].matches('\n').count() + 1));
                }
            }
        }
        OutsideNames(first)
    }

    /// Where `label` (`toolchains//pkg:name`) is named outside the cell, in words.
    fn naming(&self, label: &str) -> Option<String> {
        let written = label.strip_prefix("toolchains")?;
        let (file, line) = self.0.get(written)?;
        Some(format!(
            "{}:{line} names it, outside the toolchains cell, where si-nixify rewrites nothing",
            file.display()
        ))
    }
}

/// Every build file and .bzl file of the repo outside the toolchains cell, with its
/// root-relative path ([`Context::files_outside_cell`] keeps them for the run).
pub fn read_files_outside_cell(ctx: &Context) -> Vec<(PathBuf, String)> {
    let cell = ctx.repo.toolchains_dir();
    // The prelude names no target of the repo's toolchains cell: its files are not read.
    let prelude = ctx.repo.prelude_dir().map(Path::to_path_buf);
    let names = ctx.repo.buildfile_names();
    let root = ctx.repo.root.clone();
    let skipped: Vec<PathBuf> = std::iter::once(cell).chain(prelude).collect();
    let found = std::sync::Mutex::new(Vec::new());
    ignore::WalkBuilder::new(&ctx.repo.root)
        // The cell and the prelude are not walked at all (the prelude is most of the
        // directories of a vendored-prelude repo).
        .filter_entry(move |e| {
            let rel = e.path().strip_prefix(&root).unwrap_or(e.path());
            !skipped.iter().any(|s| rel == s.as_path())
        })
        // In parallel: on SI's checkout (700 directories outside the cell) the walk is
        // most of what keeping costs.
        .build_parallel()
        .run(|| {
            Box::new(|entry| {
                let Ok(e) = entry else {
                    return ignore::WalkState::Continue;
                };
                let file = e.file_name().to_string_lossy();
                let wanted = e.file_type().is_some_and(|t| t.is_file())
                    && (file.ends_with(".bzl") || names.iter().any(|n| *n == file));
                if let Some(text) = wanted
                    .then(|| std::fs::read_to_string(e.path()).ok())
                    .flatten()
                {
                    let rel = ctx.repo.rel(e.path()).to_path_buf();
                    found
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((rel, text));
                }
                ignore::WalkState::Continue
            })
        });
    let mut files = found.into_inner().unwrap_or_else(|p| p.into_inner());
    // The order the threads met them in is not the files' order: sorted, the first file named
    // in a message is the same every run.
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::tool_named_by;

    #[test]
    fn a_tool_is_a_whole_value_naming_a_program_in_the_download() {
        assert_eq!(tool_named_by("$(location :rust)/bin/rustc"), Some("rustc"));
        assert_eq!(
            tool_named_by("$(location :cpython[python])"),
            Some("python")
        );
        assert_eq!(tool_named_by("$(location :deno)/deno"), Some("deno"));
        assert_eq!(tool_named_by("$(location :p[bin/protoc])"), Some("protoc"));
    }

    #[test]
    fn headers_libraries_and_commands_name_no_tool() {
        assert_eq!(tool_named_by("$(location :p[include])"), None);
        assert_eq!(tool_named_by("$(location :py)/lib/libpython3.so"), None);
        assert_eq!(tool_named_by("cp $(location :p[bin/protoc]) $OUT"), None);
        assert_eq!(tool_named_by("$(location :p[bin/protoc]) $OUT"), None);
        assert_eq!(tool_named_by("-L$(location :py[lib])"), None);
        assert_eq!(tool_named_by(":dist"), None);
    }
}

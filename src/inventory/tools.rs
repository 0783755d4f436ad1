//! Required tools: the binaries the toolchains call from PATH once they are system rules.

use serde::Serialize;

use super::distributions::Distribution;
use super::pins::Pin;
use super::targets::{belongs_to, calls, referenced_target, Call, Status, Target};
use crate::know::Knowledge;
use crate::read::{path_calls, Expr, Module, Node, Sources};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RequiredTool {
    pub binary: String,
    pub why: String,
    pub nix: String,
    /// `linux` / `darwin` when only that OS needs it; `None` for every OS.
    pub platform: Option<String>,
    /// The family whose distribution version the tool should match.
    #[serde(skip)]
    pub pinned_by: Option<String>,
    /// The version a distribution pinned for this very binary (`rustfmt` nightly-2025-04-17).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned: Option<String>,
}

impl RequiredTool {
    /// A system rule's tool, as the knowledge base lists it.
    pub fn of(tool: &crate::know::Tool) -> RequiredTool {
        RequiredTool {
            binary: tool.binary.clone(),
            why: tool.why.clone(),
            nix: tool.nix.clone(),
            platform: tool.platform.clone(),
            pinned_by: tool.pinned_by.clone(),
            pinned: None,
        }
    }
}

/// Tools the targets need after the rewrite: the replacement's (or system rule's) tools, plus
/// tools that flags such as `-fuse-ld=lld` pull in.
pub fn required(module: &Module, targets: &[Target], know: &Knowledge) -> Vec<RequiredTool> {
    let mut out: Vec<RequiredTool> = Vec::new();
    let all_calls = calls(module);
    for target in targets {
        let effective_rule = match target.status {
            Status::Hermetic => target.replacement.as_deref(),
            Status::Distribution => None,
            _ => Some(target.rule.as_str()),
        };
        if let Some((_, rule)) = effective_rule.and_then(|r| know.system_rules.get(r)) {
            if target.status != Status::Distribution {
                let call = &all_calls[target.call_index];
                for tool in binaries_named(call, &target.name, &rule.binary_attrs, know) {
                    add(&mut out, tool);
                }
            }
            for tool in &rule.tools {
                add(&mut out, RequiredTool::of(tool));
            }
        }
        if target.status == Status::Distribution {
            continue;
        }
        let call = &all_calls[target.call_index];
        if let Some(tool) = path_tool_binary(call, &target.name, know) {
            add(&mut out, tool);
        }
        for arg in call.args {
            let attr = arg.name.as_deref().unwrap_or("an argument");
            for (s, platform) in strings_with_platform(&arg.value, None) {
                for flag_tool in &know.flag_tools {
                    if s.contains(&flag_tool.flag) {
                        add(
                            &mut out,
                            RequiredTool {
                                binary: flag_tool.binary.clone(),
                                why: flag_tool
                                    .why
                                    .replace("{attr}", attr)
                                    .replace("{target}", &target.name),
                                nix: flag_tool.nix.clone(),
                                platform: platform.map(str::to_owned),
                                pinned_by: None,
                                pinned: None,
                            },
                        );
                    }
                }
            }
        }
    }
    out
}

/// The binaries a system rule's call names in its binary attrs (`compiler =
/// "arm-none-eabi-gcc"`): plain names only, a path or a label is no PATH tool.
fn binaries_named(
    call: &Call,
    target: &str,
    attrs: &[String],
    know: &Knowledge,
) -> Vec<RequiredTool> {
    attrs
        .iter()
        .filter_map(|a| Some((a, call.kwarg(a)?.value.as_str()?)))
        .filter(|(_, b)| !b.is_empty() && !b.contains(['/', ':', '$']))
        .map(|(a, b)| RequiredTool {
            binary: b.to_owned(),
            why: format!(
                "`{target}` ({}) runs `{b}` from PATH as its `{a}`",
                call.rule
            ),
            nix: know.nix_attr_for(b),
            platform: None,
            pinned_by: None,
            pinned: None,
        })
        .collect()
}

/// What an `si_nixify_path_tool` target (written by an earlier rewrite) runs from PATH.
fn path_tool_binary(call: &Call, target: &str, know: &Knowledge) -> Option<RequiredTool> {
    if call.rule != super::generic::PATH_TOOL_RULE {
        return None;
    }
    let exe = call.kwarg("exe")?.value.as_str()?;
    Some(RequiredTool {
        binary: exe.to_owned(),
        why: format!("`{target}` ({}) runs `{exe}` from PATH", call.rule),
        nix: know.nix_attr_for(exe),
        platform: None,
        pinned_by: None,
        pinned: None,
    })
}

/// Merge a tool into the list: one entry per binary, reasons joined, and needed on every
/// platform if any reason needs it everywhere.
pub fn add(out: &mut Vec<RequiredTool>, tool: RequiredTool) {
    match out.iter_mut().find(|t| t.binary == tool.binary) {
        Some(existing) => {
            if !existing.why.split("; ").any(|w| w == tool.why) {
                existing.why = format!("{}; {}", existing.why, tool.why);
            }
            if existing.platform != tool.platform {
                existing.platform = None;
            }
            existing.pinned_by = existing.pinned_by.take().or(tool.pinned_by);
            existing.pinned = existing.pinned.take().or(tool.pinned);
        }
        None => out.push(tool),
    }
}

/// String literals in an expression, each with the OS a surrounding `select` branch limits it
/// to (`"config//os:linux": [...]` → linux).
pub fn strings_with_platform<'a>(
    node: &'a Node,
    platform: Option<&'a str>,
) -> Vec<(&'a str, Option<&'a str>)> {
    let mut out = Vec::new();
    match &node.expr {
        Expr::Str(s) => out.push((s.as_str(), platform)),
        Expr::Call { func, args } if func.as_ident() == Some("select") => {
            for arg in args {
                if let Expr::Dict(pairs) = &arg.value.expr {
                    for (key, value) in pairs {
                        let branch = key.as_str().and_then(os_of_condition).or(platform);
                        out.extend(strings_with_platform(value, branch));
                    }
                }
            }
        }
        Expr::List(items) | Expr::Tuple(items) => {
            for item in items {
                out.extend(strings_with_platform(item, platform));
            }
        }
        Expr::Op(a, _, b) => {
            out.extend(strings_with_platform(a, platform));
            out.extend(strings_with_platform(b, platform));
        }
        Expr::Dict(pairs) => {
            for (_, v) in pairs {
                out.extend(strings_with_platform(v, platform));
            }
        }
        _ => {}
    }
    out
}

/// `config//os:linux`, `prelude//os:macos` → the OS name used in tool entries.
fn os_of_condition(condition: &str) -> Option<&'static str> {
    let (_, name) = condition.rsplit_once("os:")?;
    match name {
        "linux" => Some("linux"),
        "macos" | "darwin" => Some("darwin"),
        "windows" => Some("windows"),
        _ => None,
    }
}

/// Binaries named in the command-text attrs of the repo's own rules (`deno_toolchain(deno =
/// ["deno"])`, as a rewrite leaves it): a plain name that a known download provides
/// (`download_tools`) is a tool the toolchain runs from PATH. Calls inside comprehensions
/// count too.
pub fn named_in_text_attrs(
    sources: &Sources,
    module: &Module,
    know: &Knowledge,
) -> Vec<RequiredTool> {
    let mut out: Vec<RequiredTool> = Vec::new();
    for stmt in &module.stmts {
        let crate::read::Stmt::Expr(node) = stmt else {
            continue;
        };
        node.walk(&mut |n| {
            // The path tool's `exe` is read by `path_tool_binary`.
            let Some((rule, args)) = n
                .as_named_call()
                .filter(|(r, _)| *r != super::generic::PATH_TOOL_RULE)
            else {
                return;
            };
            let Some(schema) = sources
                .definition(&module.path, rule)
                .and_then(|(m, name)| crate::read::schema::rule_schema(m, &name))
            else {
                return;
            };
            for arg in args {
                let Some(attr) = arg.name.as_deref() else {
                    continue;
                };
                if !schema.attrs.get(attr).is_some_and(|a| a.takes_text()) {
                    continue;
                }
                for b in arg.value.strings().iter().filter_map(|s| s.as_str()) {
                    let Some(tool) = know
                        .download_tools
                        .iter()
                        .find(|t| t.binaries.iter().any(|x| x == b))
                    else {
                        continue;
                    };
                    add(
                        &mut out,
                        RequiredTool {
                            binary: b.to_owned(),
                            why: format!(
                                "`{rule}` runs `{b}` from PATH as its `{attr}` ({}:{})",
                                module.path.display(),
                                module.line(arg.span.start)
                            ),
                            nix: tool.nix_of.get(b).unwrap_or(&tool.nix).clone(),
                            platform: None,
                            pinned_by: None,
                            pinned: None,
                        },
                    );
                }
            }
        });
    }
    out
}

/// Binaries the implementations of the repo's own toolchain rules run from PATH
/// (`cmd_args("taplo")`, the `cmd_args("rustfmt")` fallback once `rustfmt_dist` is gone). A
/// binary named in an attr that pointed at a distribution (`rustfmt_dist`, `cargo_dist`) is
/// pinned by that distribution's version.
pub fn path_tools(
    sources: &Sources,
    module: &Module,
    targets: &[Target],
    distributions: &[Distribution],
    know: &Knowledge,
) -> Vec<(RequiredTool, Option<ToolPin>)> {
    let all_calls = calls(module);
    let mut out: Vec<(RequiredTool, Option<ToolPin>)> = Vec::new();
    for target in targets
        .iter()
        .filter(|t| matches!(t.status, Status::Custom | Status::Other))
    {
        let call = &all_calls[target.call_index];
        for pc in path_calls::of_rule(sources, &module.path, &target.rule) {
            if out.iter().any(|(t, _)| t.binary == pc.binary) {
                continue;
            }
            let pin = pinning_distribution(call, &pc.binary, distributions);
            let tool = RequiredTool {
                why: format!(
                    "`{}` (rule `{}`) runs `{}` from PATH ({}:{})",
                    target.name,
                    target.rule,
                    pc.binary,
                    pc.file.display(),
                    pc.line
                ),
                nix: know.nix_attr_for(&pc.binary),
                platform: None,
                pinned_by: pin.as_ref().map(|_| pc.binary.clone()),
                pinned: pin.as_ref().map(|p| p.version.clone()),
                binary: pc.binary,
            };
            out.push((tool, pin));
        }
    }
    out
}

/// Add the PATH tools to `required`; returns the pins of binaries pinned by a distribution
/// of their own (`rustfmt_nightly_dist`). A binary the family's own distribution pins
/// (`cargo_dist = ":rust_dist"`) follows that family's pin instead.
pub fn add_path_tools(
    required: &mut Vec<RequiredTool>,
    path_tools: Vec<(RequiredTool, Option<ToolPin>)>,
    family_pins: &[Pin],
    toolchains_file: &std::path::Path,
) -> Vec<Pin> {
    let mut out = Vec::new();
    for (mut tool, pin) in path_tools {
        let family = pin.as_ref().and_then(|tp| {
            family_pins
                .iter()
                .find(|p| p.distribution == tp.distribution)
                .map(|p| p.family.clone())
        });
        if let Some(family) = family {
            tool.pinned_by = Some(family);
            tool.pinned = None;
        } else if let Some(tp) = pin {
            out.push(Pin {
                family: tool.binary.clone(),
                version: tp.version,
                file: toolchains_file.display().to_string(),
                line: tp.line,
                distribution: tp.distribution,
                recorded: false,
            });
        }
        add(required, tool);
    }
    out
}

/// The distribution an attr named after `binary` points at (`rustfmt_dist = ":rustfmt_nightly"`
/// for `rustfmt`), with its version.
fn pinning_distribution(
    call: &Call,
    binary: &str,
    distributions: &[Distribution],
) -> Option<ToolPin> {
    let word = binary.replace('-', "_");
    call.args
        .iter()
        .filter(|a| a.name.as_deref().is_some_and(|n| n.contains(&word)))
        .filter_map(|a| a.value.as_str().and_then(referenced_target))
        .find_map(|r| distributions.iter().find(|d| belongs_to(r, &d.name)))
        .and_then(|d| {
            Some(ToolPin {
                version: d.version.clone()?,
                line: d.line,
                distribution: d.name.clone(),
            })
        })
}

/// The distribution that pinned one binary: its version, line and name.
pub struct ToolPin {
    pub version: String,
    pub line: usize,
    pub distribution: String,
}

//! Required tools: the binaries the toolchains call from PATH once they are system rules.

use serde::Serialize;

use super::targets::{calls, Status, Target};
use crate::know::Knowledge;
use crate::read::{Expr, Module, Node};

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
            for tool in &rule.tools {
                add(
                    &mut out,
                    RequiredTool {
                        binary: tool.binary.clone(),
                        why: tool.why.clone(),
                        nix: tool.nix.clone(),
                        platform: tool.platform.clone(),
                        pinned_by: tool.pinned_by.clone(),
                    },
                );
            }
        }
        if target.status == Status::Distribution {
            continue;
        }
        let call = &all_calls[target.call_index];
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
                            },
                        );
                    }
                }
            }
        }
    }
    out
}

/// Merge a tool into the list: one entry per binary, reasons joined, and needed on every
/// platform if any reason needs it everywhere.
fn add(out: &mut Vec<RequiredTool>, tool: RequiredTool) {
    match out.iter_mut().find(|t| t.binary == tool.binary) {
        Some(existing) => {
            if !existing.why.split("; ").any(|w| w == tool.why) {
                existing.why = format!("{}; {}", existing.why, tool.why);
            }
            if existing.platform != tool.platform {
                existing.platform = None;
            }
            existing.pinned_by = existing.pinned_by.take().or(tool.pinned_by);
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

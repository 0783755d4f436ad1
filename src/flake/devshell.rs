//! Finding the package lists that feed a devshell: `mkShell { packages = …; buildInputs = …;
//! nativeBuildInputs = …; }`, through `++`, `with pkgs;`, `lib.optionals <isLinux|isDarwin>`
//! and let-bound names.

use std::collections::BTreeSet;

use rnix::{SyntaxKind, SyntaxNode};

use super::{kind, span_of, Addition};
use crate::inventory::RequiredTool;
use crate::know::Knowledge;
use crate::plan::Edit;
use crate::read::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    All,
    Linux,
    Darwin,
}

impl Platform {
    /// Whether packages in a list of this platform are there on `platform`
    /// (`None` = asking about every platform, which only `All` lists answer).
    pub fn applies_to(self, platform: Option<&str>) -> bool {
        matches!(
            (self, platform),
            (Platform::All, _)
                | (Platform::Linux, Some("linux"))
                | (Platform::Darwin, Some("darwin"))
        )
    }
}

#[derive(Debug, Clone)]
pub struct Element {
    pub text: String,
    pub span: Span,
}

/// One list literal that ends up in the devshell.
#[derive(Debug, Clone)]
pub struct Segment {
    pub list: Span,
    pub elements: Vec<Element>,
    pub platform: Platform,
    /// Inside `with pkgs;`: elements are written without `pkgs.`.
    pub with_pkgs: bool,
    /// The let-bound name or devshell attr the list came from.
    pub origin: String,
}

/// Every list that feeds a `mkShell`-like call's package attrs, in source order.
pub fn segments(root: &SyntaxNode, derivations: bool) -> Vec<Segment> {
    let shells = segments_of(root, &|n| is_shell_call(n, false));
    if shells.is_empty() && derivations {
        segments_of(root, &|n| is_shell_call(n, true))
    } else {
        shells
    }
}

fn segments_of(root: &SyntaxNode, is_shell: &dyn Fn(&SyntaxNode) -> bool) -> Vec<Segment> {
    let mut out = Vec::new();
    for shell in root.descendants().filter(|n| is_shell(n)) {
        let Some(attrs) = shell.children().last().and_then(|a| attr_set_of(&a)) else {
            continue;
        };
        // devenv's `mkShell { modules = [ { packages = …; } ]; }` puts them one module down.
        let modules = module_attr_sets(&attrs);
        for binding in std::iter::once(attrs)
            .chain(modules)
            .flat_map(|a| a.children().collect::<Vec<_>>())
            .filter(|n| kind(n) == SyntaxKind::NODE_ATTRPATH_VALUE)
        {
            let Some((name, value)) = binding_parts(&binding) else {
                continue;
            };
            if matches!(
                name.as_str(),
                "packages" | "buildInputs" | "nativeBuildInputs"
            ) {
                collect(root, &value, Platform::All, false, &name, &mut out, 0);
            }
        }
    }
    out.sort_by_key(|s| s.list.start);
    out.dedup_by_key(|s| s.list.start);
    out
}

/// The attr sets in a devenv-style `modules = [ { … } … ];` of a shell's arguments.
fn module_attr_sets(attrs: &SyntaxNode) -> Vec<SyntaxNode> {
    attrs
        .children()
        .filter(|n| kind(n) == SyntaxKind::NODE_ATTRPATH_VALUE)
        .filter_map(|b| binding_parts(&b))
        .filter(|(name, value)| name == "modules" && kind(value) == SyntaxKind::NODE_LIST)
        .flat_map(|(_, list)| list.children().collect::<Vec<_>>())
        .filter(|m| kind(m) == SyntaxKind::NODE_ATTR_SET)
        .collect()
}

/// Whether any devshell is a `mkShell` (not `mkShellNoCC`): only its stdenv has cc and binutils.
pub fn has_stdenv_cc(root: &SyntaxNode) -> bool {
    root.descendants().filter(is_mkshell_call).any(|shell| {
        shell
            .first_child()
            .is_some_and(|f| f.text().to_string().rsplit('.').next() == Some("mkShell"))
    })
}

fn is_mkshell_call(node: &SyntaxNode) -> bool {
    is_shell_call(node, false)
}

/// `…mkShell… { … }`, or with `derivations` also `…mkDerivation { … }`.
fn is_shell_call(node: &SyntaxNode, derivations: bool) -> bool {
    if kind(node) != SyntaxKind::NODE_APPLY {
        return false;
    }
    let mut children = node.children();
    let (Some(func), Some(arg)) = (children.next(), children.next()) else {
        return false;
    };
    let func = func.text().to_string();
    let last = func.rsplit('.').next().unwrap_or_default().trim();
    // A `shell.nix` of `stdenv.mkDerivation { buildInputs = …; }` is a devshell too
    // (NoRedInk/noredink-ui); only there, and only with no mkShell in it (`segments`).
    (last.starts_with("mkShell") || (derivations && last == "mkDerivation"))
        && attr_set_of(&arg).is_some()
}

/// The attr set a shell is called with: `{ … }`, `( { … } )`, or the left side of
/// `{ … } // extra` (codegod100/sleek's `mkShell ( { packages = …; } // env )`).
fn attr_set_of(arg: &SyntaxNode) -> Option<SyntaxNode> {
    match kind(arg) {
        SyntaxKind::NODE_ATTR_SET => Some(arg.clone()),
        SyntaxKind::NODE_PAREN => arg.children().next().and_then(|a| attr_set_of(&a)),
        SyntaxKind::NODE_BIN_OP => arg.children().find_map(|a| attr_set_of(&a)),
        _ => None,
    }
}

/// `name = value;` → (name, value) for a single-identifier attrpath.
fn binding_parts(binding: &SyntaxNode) -> Option<(String, SyntaxNode)> {
    let mut children = binding.children();
    let path = children.next()?;
    let value = children.next()?;
    let name = path.text().to_string();
    (!name.contains('.')).then(|| (name.trim().to_owned(), value))
}

/// The value bound to `name` by a `let … in` (or any attr set), preferring the last binding.
pub fn let_binding(root: &SyntaxNode, name: &str) -> Option<SyntaxNode> {
    root.descendants()
        .filter(|n| kind(n) == SyntaxKind::NODE_ATTRPATH_VALUE)
        .filter_map(|b| binding_parts(&b))
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v)
        .last()
}

#[allow(clippy::too_many_arguments)]
fn collect(
    root: &SyntaxNode,
    node: &SyntaxNode,
    platform: Platform,
    with_pkgs: bool,
    origin: &str,
    out: &mut Vec<Segment>,
    depth: u8,
) {
    if depth > 16 {
        return;
    }
    let next = |n: &SyntaxNode, p: Platform, w: bool, o: &str, out: &mut Vec<Segment>| {
        collect(root, n, p, w, o, out, depth + 1)
    };
    match kind(node) {
        SyntaxKind::NODE_LIST => out.push(Segment {
            list: span_of(node),
            elements: node
                .children()
                .map(|e| Element {
                    text: e.text().to_string(),
                    span: span_of(&e),
                })
                .collect(),
            platform,
            with_pkgs,
            origin: origin.to_owned(),
        }),
        SyntaxKind::NODE_BIN_OP | SyntaxKind::NODE_PAREN => {
            for child in node.children() {
                next(&child, platform, with_pkgs, origin, out);
            }
        }
        SyntaxKind::NODE_WITH => {
            let mut children = node.children();
            let (Some(ns), Some(body)) = (children.next(), children.next()) else {
                return;
            };
            let pkgs = with_pkgs || ns.text().to_string().trim() == "pkgs";
            next(&body, platform, pkgs, origin, out);
        }
        SyntaxKind::NODE_APPLY => {
            // `lib.optionals COND LIST` parses as ((lib.optionals COND) LIST).
            let mut children = node.children();
            let (Some(func), Some(list)) = (children.next(), children.next()) else {
                return;
            };
            if kind(&func) != SyntaxKind::NODE_APPLY {
                return;
            }
            let mut inner = func.children();
            let (Some(f), Some(cond)) = (inner.next(), inner.next()) else {
                return;
            };
            if !f.text().to_string().ends_with("optionals") {
                return;
            }
            let cond = cond.text().to_string();
            let p = if cond.contains("isLinux") {
                Platform::Linux
            } else if cond.contains("isDarwin") {
                Platform::Darwin
            } else {
                return;
            };
            next(&list, p, with_pkgs, origin, out);
        }
        SyntaxKind::NODE_IDENT => {
            let name = node.text().to_string();
            if let Some(value) = let_binding(root, &name) {
                next(&value, platform, with_pkgs, &name, out);
            }
        }
        _ => {}
    }
}

/// The attribute path an element names: `pkgs.clang` → `clang`, `(x.withPackages f)` → `x.withPackages`.
fn attr_path(text: &str) -> String {
    let t = text.trim().trim_start_matches('(').trim();
    let end = t
        .find(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '{' | '['))
        .unwrap_or(t.len());
    let path = &t[..end];
    path.strip_prefix("pkgs.").unwrap_or(path).to_owned()
}

/// The attribute paths an element stands for, following let-bound names
/// (`rust-toolchain` → `rustVersion.override` → `rust-bin.fromRustupToolchainFile`).
pub fn path_chain(root: &SyntaxNode, text: &str) -> Vec<String> {
    let mut chain = vec![attr_path(text)];
    for _ in 0..6 {
        let last = chain.last().cloned().unwrap_or_default();
        let head = last.split('.').next().unwrap_or_default().to_owned();
        let Some(value) = let_binding(root, &head) else {
            break;
        };
        let next = attr_path(&value.text().to_string());
        if chain.contains(&next) {
            break;
        }
        chain.push(next);
    }
    chain
}

/// Binaries an element puts on PATH (callers go through `Flake::binaries_of`, which keeps the
/// answer): a rust-overlay toolchain by its components, anything
/// else by the knowledge base's `provides` table.
pub(super) fn binaries_of(flake: &super::Flake, text: &str, know: &Knowledge) -> BTreeSet<String> {
    if let Some(bins) =
        super::rust_overlay::binaries(&flake.root, text, &flake.dir, &know.rust_overlay)
    {
        return bins;
    }
    let mut out = BTreeSet::new();
    for path in path_chain(&flake.root, text) {
        let generic = know.generic_nix_attr(&path);
        for candidate in [path.as_str(), generic.as_str()] {
            for (attr, bins) in &know.provides {
                let rest = candidate.strip_prefix(attr.as_str());
                if rest.is_some_and(|rest| rest.is_empty() || rest.starts_with('.')) {
                    out.extend(bins.iter().cloned());
                }
            }
        }
    }
    out
}

/// An in-place replacement of an element that provides a needed binary unwrapped.
pub struct Replacement {
    pub edit: Edit,
    pub addition: Addition,
}

/// Elements naming an attribute the knowledge base calls unwrapped (`llvmPackages.lld`) for a
/// binary the toolchains need, each with its replacement. A versioned element keeps its
/// version (`llvmPackages_20.lld` → `llvmPackages_20.bintools`).
pub fn unwrapped_replacements<'a>(
    flake: &'a super::Flake,
    tools: &[RequiredTool],
    know: &Knowledge,
) -> Vec<(Replacement, &'a Segment)> {
    let mut out = Vec::new();
    for seg in &flake.segments {
        for el in &seg.elements {
            let path = attr_path(&el.text);
            if el.text.trim() != path && el.text.trim() != format!("pkgs.{path}") {
                continue; // an expression (`lld.override { … }`), not a plain attribute
            }
            let generic = know.generic_nix_attr(&path);
            let Some(u) = know
                .unwrapped
                .iter()
                .find(|u| u.attr == generic && tools.iter().any(|t| t.binary == u.binary))
            else {
                continue;
            };
            let nix = keep_version(&path, &u.instead, know);
            let text = spelled_like(&el.text, &nix);
            let addition = Addition {
                nix,
                binaries: vec![u.binary.clone()],
                platform: match seg.platform {
                    Platform::All => None,
                    Platform::Linux => Some("linux".to_owned()),
                    Platform::Darwin => Some("darwin".to_owned()),
                },
                list: seg.origin.clone(),
                line: flake.line(el.span.start),
                replaces: Some(path.clone()),
                why: Some(format!("`{path}` {}", u.why)),
            };
            out.push((
                Replacement {
                    edit: Edit::replace(el.span, text),
                    addition,
                },
                seg,
            ));
        }
    }
    out
}

/// `attr` written the way the element it replaces was: with `pkgs.` when that had it.
pub fn spelled_like(element: &str, attr: &str) -> String {
    if element.trim().starts_with("pkgs.") {
        format!("pkgs.{attr}")
    } else {
        attr.to_owned()
    }
}

/// `llvmPackages_20.lld` with `llvmPackages.bintools` → `llvmPackages_20.bintools`.
fn keep_version(path: &str, instead: &str, know: &Knowledge) -> String {
    let head = path.split('.').next().unwrap_or_default();
    let (instead_head, rest) = instead.split_once('.').unwrap_or((instead, ""));
    if head != instead_head && know.generic_nix_attr(head) == instead_head && !rest.is_empty() {
        format!("{head}.{rest}")
    } else {
        instead.to_owned()
    }
}

/// Where a missing tool goes: a Linux-only tool into a Linux list (the one whose packages
/// share the tool's nixpkgs prefix, e.g. `clang` beside `llvmPackages.lld`), else the first
/// list for every platform.
pub fn best_segment<'a>(segments: &'a [Segment], tool: &RequiredTool) -> &'a Segment {
    let wanted = match tool.platform.as_deref() {
        Some("linux") => Platform::Linux,
        Some("darwin") => Platform::Darwin,
        _ => Platform::All,
    };
    let family = tool.nix.split('.').next().unwrap_or_default();
    let related = |s: &Segment| {
        s.elements
            .iter()
            .filter(|e| {
                let p = attr_path(&e.text);
                p.starts_with(family) || p.contains("clang") && family.starts_with("llvm")
            })
            .count()
    };
    let on_platform: Vec<&Segment> = segments.iter().filter(|s| s.platform == wanted).collect();
    on_platform
        .iter()
        .copied()
        .max_by_key(|s| (related(s), std::cmp::Reverse(s.list.start)))
        .or_else(|| segments.iter().find(|s| s.platform == Platform::All))
        .unwrap_or(&segments[0])
}

/// Append `attr` to a list, on its own line with the last element's indentation when the
/// list is one element per line, else inline.
pub fn append_element(text: &str, seg: &Segment, attr: &str) -> Edit {
    let element = if seg.with_pkgs {
        attr.to_owned()
    } else {
        format!("pkgs.{attr}")
    };
    match seg.elements.last() {
        Some(last) => {
            let line_start = text[..last.span.start].rfind('\n').map_or(0, |i| i + 1);
            let indent = &text[line_start..last.span.start];
            if indent.trim().is_empty() {
                Edit::insert(last.span.end, format!("\n{indent}{element}"))
            } else {
                Edit::insert(last.span.end, format!(" {element}"))
            }
        }
        None => {
            // `[]` or `[ ]`: put the element inside the brackets.
            let inner = &text[seg.list.start + 1..seg.list.end - 1];
            Edit::replace(
                Span {
                    start: seg.list.start + 1,
                    end: seg.list.end - 1,
                },
                if inner.trim().is_empty() {
                    format!(" {element} ")
                } else {
                    format!("{inner} {element} ")
                },
            )
        }
    }
}

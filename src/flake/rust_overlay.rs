//! What an oxalica/rust-overlay expression puts on PATH. `rust-bin.stable.latest.minimal` has
//! no clippy, `fromRustupToolchainFile ./rust-toolchain` installs the file's `profile` and
//! `components`, and `.override { extensions = [ … ]; }` adds more: the binaries follow the
//! components (profiles and component binaries are data in toolchains/rust.json).

use std::collections::BTreeSet;
use std::path::Path;

use rnix::{SyntaxKind, SyntaxNode};

use super::devshell::let_binding;
use super::kind;
use crate::know::RustOverlay;

/// What the expression selects: a profile and extra components.
#[derive(Debug, Default)]
struct Selection {
    profile: Option<String>,
    components: BTreeSet<String>,
    is_rust_overlay: bool,
}

/// The binaries `text` (a devshell element) provides through rust-overlay, following
/// let-bound names; `None` when it is not a rust-overlay toolchain.
pub fn binaries(
    root: &SyntaxNode,
    text: &str,
    dir: &Path,
    know: &RustOverlay,
) -> Option<BTreeSet<String>> {
    let parsed = rnix::Root::parse(text.trim());
    let expr = parsed.syntax().first_child()?;
    let mut sel = Selection::default();
    walk(root, &expr, dir, know, &mut sel, 0);
    if !sel.is_rust_overlay {
        return None;
    }
    let profile = sel
        .profile
        .clone()
        .unwrap_or_else(|| know.default_profile.clone());
    let mut components: BTreeSet<String> = know
        .profiles
        .get(&profile)
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    components.extend(sel.components);
    Some(
        components
            .iter()
            .filter_map(|c| know.components.get(c))
            .flatten()
            .cloned()
            .collect(),
    )
}

fn walk(
    root: &SyntaxNode,
    node: &SyntaxNode,
    dir: &Path,
    know: &RustOverlay,
    sel: &mut Selection,
    depth: u8,
) {
    if depth > 12 {
        return;
    }
    match kind(node) {
        SyntaxKind::NODE_PAREN => {
            if let Some(inner) = node.first_child() {
                walk(root, &inner, dir, know, sel, depth + 1);
            }
        }
        SyntaxKind::NODE_APPLY => {
            let mut children = node.children();
            let (Some(func), Some(arg)) = (children.next(), children.next()) else {
                return;
            };
            let func_text = func.text().to_string();
            let (base, last) = func_text
                .rsplit_once('.')
                .unwrap_or(("", func_text.as_str()));
            match last {
                "override" => {
                    sel.components.extend(string_list(&arg, "extensions"));
                    walk_path(root, base, dir, know, sel, depth);
                }
                "fromRustupToolchainFile" => {
                    sel.is_rust_overlay = true;
                    read_toolchain_file(&dir.join(arg.text().to_string().trim()), sel);
                }
                "fromRustupToolchain" => {
                    sel.is_rust_overlay = true;
                    sel.profile = string_value(&arg, "profile");
                    sel.components.extend(string_list(&arg, "components"));
                }
                _ => walk(root, &func, dir, know, sel, depth + 1),
            }
        }
        SyntaxKind::NODE_SELECT | SyntaxKind::NODE_IDENT => {
            walk_path(root, &node.text().to_string(), dir, know, sel, depth)
        }
        _ => {}
    }
}

/// `pkgs.rust-bin.stable.latest.minimal` → profile `minimal`; a let-bound name → its value.
fn walk_path(
    root: &SyntaxNode,
    path: &str,
    dir: &Path,
    know: &RustOverlay,
    sel: &mut Selection,
    depth: u8,
) {
    let path = path.trim();
    let path = path.strip_prefix("pkgs.").unwrap_or(path);
    if let Some(rest) = path.strip_prefix("rust-bin.") {
        sel.is_rust_overlay = true;
        let last = rest.rsplit('.').next().unwrap_or_default();
        if know.profiles.contains_key(last) && sel.profile.is_none() {
            sel.profile = Some(last.to_owned());
        }
        return;
    }
    if path.contains('.') {
        return;
    }
    if let Some(value) = let_binding(root, path) {
        walk(root, &value, dir, know, sel, depth + 1);
    }
}

/// `rust-toolchain` / `rust-toolchain.toml`: `[toolchain] profile`, `components`; a legacy
/// file holding only a channel name installs the default profile.
fn read_toolchain_file(path: &Path, sel: &mut Selection) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let Ok(doc) = text.parse::<toml::Table>() else {
        return;
    };
    let Some(toolchain) = doc.get("toolchain").and_then(|t| t.as_table()) else {
        return;
    };
    if let Some(p) = toolchain.get("profile").and_then(|p| p.as_str()) {
        sel.profile = Some(p.to_owned());
    }
    if let Some(list) = toolchain.get("components").and_then(|c| c.as_array()) {
        sel.components
            .extend(list.iter().filter_map(|c| c.as_str()).map(str::to_owned));
    }
}

/// `{ name = [ "a" "b" ]; }` → a, b.
fn string_list(attrs: &SyntaxNode, name: &str) -> Vec<String> {
    binding(attrs, name)
        .filter(|v| kind(v) == SyntaxKind::NODE_LIST)
        .map(|list| list.children().filter_map(|s| nix_string(&s)).collect())
        .unwrap_or_default()
}

fn string_value(attrs: &SyntaxNode, name: &str) -> Option<String> {
    binding(attrs, name).and_then(|v| nix_string(&v))
}

fn binding(attrs: &SyntaxNode, name: &str) -> Option<SyntaxNode> {
    attrs
        .children()
        .filter(|n| kind(n) == SyntaxKind::NODE_ATTRPATH_VALUE)
        .find_map(|b| {
            let mut c = b.children();
            let (path, value) = (c.next()?, c.next()?);
            (path.text().to_string().trim() == name).then_some(value)
        })
}

/// A plain string literal's content (no interpolation).
fn nix_string(node: &SyntaxNode) -> Option<String> {
    if kind(node) != SyntaxKind::NODE_STRING {
        return None;
    }
    let text = node.text().to_string();
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains("${")).then(|| inner.to_owned())
}

//! The Nix side: what a flake's devshell already puts on PATH, what the rewritten toolchains
//! still need, and the edits (spliced at rnix tree positions) that add only what is missing.
//!
//! The flake is read with rnix's lossless parser; edits are insertions at node boundaries of
//! that tree, so untouched text is never re-printed.

mod devshell;
pub mod drift;
pub mod generated;
pub mod nixpkgs;
pub mod pin;
mod rust_overlay;
mod syntax;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use rnix::{SyntaxKind, SyntaxNode};
use serde::Serialize;

use crate::error::{Location, UserError};
use crate::inventory::RequiredTool;
use crate::know::Knowledge;
use crate::plan::Edit;
use crate::read::Span;
pub use devshell::{Element, Platform, Segment};

/// A parsed flake.nix (or any Nix file holding a devshell).
pub struct Flake {
    /// Root-relative path.
    pub path: PathBuf,
    pub text: String,
    pub root: SyntaxNode,
    pub segments: Vec<Segment>,
    /// The directory relative paths in the file (`./rust-toolchain`) start from.
    pub dir: PathBuf,
    /// Whether a devshell is a plain `mkShell`, whose stdenv brings a C compiler and binutils
    /// (`mkShellNoCC` brings neither).
    pub stdenv_cc: bool,
    /// What each element puts on PATH, by element text. Finding it walks let-bindings across the
    /// whole file, and drift asks it of every element for every pinned tool.
    binaries: RefCell<HashMap<String, BTreeSet<String>>>,
}

/// One package the devshell lacks, and where it goes.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Addition {
    pub nix: String,
    pub binaries: Vec<String>,
    pub platform: Option<String>,
    /// The let-bound list it goes into (`buck2BuildInputs`), or the devshell attr.
    pub list: String,
    pub line: usize,
    /// The element it replaces in place (the unwrapped `llvmPackages.lld`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// Why, when it replaces an element.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// The flake edit: what to add, and the new text.
pub struct FlakePlan {
    pub path: PathBuf,
    pub old: String,
    pub new: String,
    pub additions: Vec<Addition>,
}

impl Flake {
    pub fn read(root: &Path, path: &Path) -> Result<Flake, UserError> {
        let text = crate::read::ir::read_text(root, path)?;
        let mut flake = Flake::parse(path, text)?;
        flake.dir = root.join(path).parent().unwrap_or(root).to_path_buf();
        Ok(flake)
    }

    pub fn parse(path: &Path, text: String) -> Result<Flake, UserError> {
        let parse = rnix::Root::parse(&text);
        if let Some(err) = parse.errors().first() {
            let offset = syntax::offset(err, &text);
            return Err(UserError::new(format!(
                "Nix syntax error: {}",
                syntax::describe(err, &text)
            ))
            .at(Location::from_offset(path, &text, offset))
            .hint(format!(
                "fix `{}` there first (or pass --no-flake to leave it alone)",
                path.display()
            )));
        }
        let root = parse.syntax();
        // A shell.nix may be a plain `mkDerivation`; a flake's is its package.
        let is_shell_nix = path.file_name().is_some_and(|n| n == "shell.nix");
        let segments = devshell::segments(&root, is_shell_nix);
        let stdenv_cc = devshell::has_stdenv_cc(&root);
        Ok(Flake {
            path: path.to_path_buf(),
            text,
            root,
            segments,
            dir: path.parent().unwrap_or(Path::new("")).to_path_buf(),
            stdenv_cc,
            binaries: RefCell::default(),
        })
    }

    /// Binaries the element `text` puts on PATH (worked out once a run per element).
    pub fn binaries_of(&self, text: &str, know: &Knowledge) -> BTreeSet<String> {
        if let Some(known) = self.binaries.borrow().get(text) {
            return known.clone();
        }
        let found = devshell::binaries_of(self, text, know);
        self.binaries
            .borrow_mut()
            .insert(text.to_owned(), found.clone());
        found
    }

    pub fn line(&self, offset: usize) -> usize {
        Location::from_offset(&self.path, &self.text, offset).line
    }

    /// Binaries the devshell provides on `platform` (`None`: on every platform).
    pub fn provided(&self, know: &Knowledge, platform: Option<&str>) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for seg in &self.segments {
            if !seg.platform.applies_to(platform) {
                continue;
            }
            for el in &seg.elements {
                out.extend(self.binaries_of(&el.text, know));
            }
        }
        if self.stdenv_cc {
            out.extend(know.mkshell_provides(platform));
        }
        out
    }
}

/// Plan the additions for `tools`, plus `extra` edits (`--pin-versions`). A tool needed
/// everywhere must be provided everywhere; a Linux-only tool only on Linux.
pub fn plan(
    flake: &Flake,
    tools: &[RequiredTool],
    know: &Knowledge,
    extra: &[Edit],
) -> Result<FlakePlan, UserError> {
    if flake.segments.is_empty() {
        return Err(UserError::new(
            "no devshell package list found (looked for mkShell's packages, buildInputs and nativeBuildInputs)",
        )
        .in_file(&flake.path)
        .hint("pass --no-flake to leave it alone, or --flake FILE to name the file with the devshell"));
    }
    // What the devshell provides, per OS, computed once: reading it follows let-bindings
    // through the whole tree, and every tool asks.
    let mut provided: BTreeMap<&str, BTreeSet<String>> = ["linux", "darwin"]
        .into_iter()
        .map(|os| (os, flake.provided(know, Some(os))))
        .collect();
    // An element that puts a needed binary on PATH in a form that breaks on NixOS (the
    // unwrapped ld.lld) is replaced where it stands: adding the wrapped one beside it would
    // leave PATH order to decide which linker runs.
    let replacements = devshell::unwrapped_replacements(flake, tools, know);
    for (r, seg) in &replacements {
        for (os, bins) in provided.iter_mut() {
            if seg.platform.applies_to(Some(os)) {
                bins.extend(
                    know.provides
                        .get(&know.generic_nix_attr(&r.addition.nix))
                        .into_iter()
                        .flatten()
                        .cloned(),
                );
            }
        }
    }
    let mut additions: Vec<(Addition, &Segment)> = Vec::new();
    for tool in tools {
        let platforms: Vec<&str> = match tool.platform.as_deref() {
            Some(p) => vec![p],
            None => vec!["linux", "darwin"],
        };
        let missing = platforms.iter().any(|os| {
            !provided
                .get(os)
                .is_some_and(|bins| bins.contains(&tool.binary))
        });
        if !missing {
            continue;
        }
        if let Some((a, _)) = additions.iter_mut().find(|(a, _)| a.nix == tool.nix) {
            a.binaries.push(tool.binary.clone());
            continue;
        }
        let segment = devshell::best_segment(&flake.segments, tool);
        additions.push((
            Addition {
                nix: tool.nix.clone(),
                binaries: vec![tool.binary.clone()],
                platform: tool.platform.clone(),
                list: segment.origin.clone(),
                line: flake.line(segment.list.start),
                replaces: None,
                why: None,
            },
            segment,
        ));
    }
    let mut edits: Vec<Edit> = replacements.iter().map(|(r, _)| r.edit.clone()).collect();
    edits.extend(extra.iter().cloned());
    edits.extend(
        additions
            .iter()
            .map(|(a, seg)| devshell::append_element(&flake.text, seg, &a.nix)),
    );
    let additions = replacements
        .into_iter()
        .map(|(r, _)| r.addition)
        .chain(additions.into_iter().map(|(a, _)| a))
        .collect();
    let new = crate::plan::edit::apply(&flake.text, &edits)
        .map_err(|e| UserError::new(format!("internal error patching the flake: {e}")))?;
    // The patched flake must still parse.
    Flake::parse(&flake.path, new.clone()).map_err(|e| {
        UserError::new(format!(
            "internal error: the patched flake would not parse ({e})"
        ))
    })?;
    Ok(FlakePlan {
        path: flake.path.clone(),
        old: flake.text.clone(),
        new,
        additions,
    })
}

pub(crate) fn span_of(node: &SyntaxNode) -> Span {
    let r = node.text_range();
    Span {
        start: usize::from(r.start()),
        end: usize::from(r.end()),
    }
}

pub(crate) fn kind(node: &SyntaxNode) -> SyntaxKind {
    node.kind()
}

//! Remote references: every http(s) URL in a string literal and every call site of a download
//! primitive, so that nothing left in the toolchains can still reach the network unseen.

use serde::Serialize;

use crate::read::{Expr, Module, Node, Stmt};

/// Calls that fetch from the network in Buck2 (`ctx.actions.download_file`) or in the
/// preludes' helper rules.
const DOWNLOAD_CALLS: &[&str] = &["download_file", "http_archive", "http_file", "remote_file"];

/// The bytes without which a file holds no reference: the `://` every URL literal has
/// ([`urls_in`] looks no further without it) and the names of the download calls. One SIMD
/// substring search per pattern: measured faster on BUCK files than a single Aho-Corasick
/// automaton, whose candidate bytes (`:`, `d`, `h`, `r`) are everywhere in Starlark.
static REFERENCE_BYTES: std::sync::LazyLock<Vec<memchr::memmem::Finder<'static>>> =
    std::sync::LazyLock::new(|| {
        std::iter::once("://")
            .chain(DOWNLOAD_CALLS.iter().copied())
            .map(memchr::memmem::Finder::new)
            .collect()
    });

pub fn may_hold_reference(text: &str) -> bool {
    let bytes = text.as_bytes();
    REFERENCE_BYTES.iter().any(|f| f.find(bytes).is_some())
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct RemoteReference {
    pub file: String,
    pub line: usize,
    /// The URL literal, or for a call site the URL when it is a literal argument.
    pub url: Option<String>,
    /// `url` for a literal, else the called name (`download_file`, `http_archive`, …).
    pub kind: String,
}

/// All remote references in one module, in source order. A download call whose URL is a
/// literal is one reference (the call, with its URL), not also a second `url` one.
pub fn in_module(module: &Module) -> Vec<RemoteReference> {
    let mut out = Vec::new();
    // (literal URL, span of the call that names it): literals inside are the call's own.
    let mut claimed: Vec<(String, usize, usize)> = Vec::new();
    // Each `url` reference with the offset of its literal.
    let mut literals: Vec<(usize, RemoteReference)> = Vec::new();
    let file = module.path.to_string_lossy().into_owned();
    let mut visit = |node: &Node| {
        node.walk(&mut |n| match &n.expr {
            Expr::Str(s) => {
                for (offset, url) in urls_in(s) {
                    // The literal's text starts after its opening quote; URLs in one-line
                    // literals sit on the literal's line, in multi-line ones count newlines.
                    let line = module.line(n.span.start) + s[..offset].matches('\n').count();
                    literals.push((
                        n.span.start,
                        RemoteReference {
                            file: file.clone(),
                            line,
                            url: Some(url.to_owned()),
                            kind: "url".to_owned(),
                        },
                    ));
                }
            }
            Expr::Call { func, args } => {
                let name = match &func.expr {
                    Expr::Ident(name) | Expr::Dot(_, name) => name.as_str(),
                    _ => return,
                };
                if DOWNLOAD_CALLS.contains(&name) {
                    let url = args
                        .iter()
                        .find(|a| matches!(a.name.as_deref(), Some("url" | "urls")))
                        .and_then(|a| {
                            a.value
                                .strings()
                                .into_iter()
                                .find_map(|s| s.as_str().filter(|t| !urls_in(t).is_empty()))
                        })
                        .map(str::to_owned);
                    if let Some(url) = &url {
                        claimed.push((url.clone(), n.span.start, n.span.end));
                    }
                    out.push(RemoteReference {
                        file: file.clone(),
                        line: module.line(n.span.start),
                        url,
                        kind: name.to_owned(),
                    });
                }
            }
            _ => {}
        })
    };
    visit_statements(&module.stmts, &mut visit);
    for (at, r) in literals {
        let is_claimed = claimed.iter().any(|(url, start, end)| {
            r.url.as_deref() == Some(url.as_str()) && (*start..*end).contains(&at)
        });
        if !is_claimed {
            out.push(r);
        }
    }
    out.sort_by_key(|r| r.line);
    out
}

fn visit_statements<'a>(stmts: &'a [Stmt], visit: &mut impl FnMut(&'a Node)) {
    for s in stmts {
        match s {
            Stmt::Expr(n) | Stmt::Assign { value: n, .. } | Stmt::Return(Some(n)) => visit(n),
            Stmt::Def(d) => {
                for p in &d.params {
                    if let Some(default) = &p.default {
                        visit(default);
                    }
                }
                visit_statements(&d.body, visit);
            }
            Stmt::Load(_) | Stmt::Return(None) | Stmt::Other(_) => {}
        }
    }
}

/// `http://` and `https://` URLs inside a string, with their byte offsets. A URL ends at
/// whitespace, a quote, or a closing bracket, as in prose and docstrings.
pub fn urls_in(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    // Most string literals hold no URL: one memchr-backed search for "://" rules them out
    // (a `str::find` per scheme per literal showed up in `scan --all` profiles).
    if memchr::memmem::find(text.as_bytes(), b"://").is_none() {
        return out;
    }
    let mut from = 0;
    while let Some(found) = ["https://", "http://"]
        .iter()
        .filter_map(|scheme| text[from..].find(scheme).map(|i| from + i))
        .min()
    {
        let end = text[found..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ')' | '>' | ']' | ','))
            .map_or(text.len(), |i| found + i);
        out.push((found, &text[found..end]));
        from = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn finds_literals_and_call_sites() {
        let m = Module::parse(
            Path::new("x.bzl"),
            "A = \"see https://a.invalid/x, and http://b.invalid\"\n\ndef f(ctx):\n    ctx.actions.download_file(o, u)\n    http_archive(name = \"n\", urls = [\"https://c.invalid/a.tgz\"])\n".into(),
        )
        .unwrap();
        let refs = in_module(&m);
        let summary: Vec<(usize, &str, Option<&str>)> = refs
            .iter()
            .map(|r| (r.line, r.kind.as_str(), r.url.as_deref()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (1, "url", Some("https://a.invalid/x")),
                (1, "url", Some("http://b.invalid")),
                (4, "download_file", None),
                (5, "http_archive", Some("https://c.invalid/a.tgz")),
            ]
        );
    }
}

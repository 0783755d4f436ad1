//! Distributions: what each download target fetches. Versions come from the BUCK call,
//! checksums from the tables in the .bzl that defines the download rule, and URLs from the
//! repo's own download rule code (see `read::eval`), never from a pattern written here.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

use serde::Serialize;

use super::targets::Call;
use crate::know::Knowledge;
use crate::read::eval::{download_rules, DownloadRule};
use crate::read::{Expr, Module, Node, Sources, Stmt};

#[derive(Debug, Clone, Serialize)]
pub struct Distribution {
    pub name: String,
    pub rule: String,
    pub family: Option<String>,
    pub version: Option<String>,
    pub line: usize,
    pub artifacts: Vec<Artifact>,
    /// Why some or all URLs are null, for the human output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_note: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Artifact {
    pub os: String,
    pub arch: String,
    pub sha256: Option<String>,
    pub url: Option<String>,
}

/// Describe one download call of the BUCK file.
pub fn describe(sources: &Sources, know: &Knowledge, call: &Call, line: usize) -> Distribution {
    let (family, rule) = &know.distributions[call.rule];
    let version = call
        .kwarg(&rule.version_attr)
        .and_then(|a| a.value.as_str())
        .map(str::to_owned);
    let mut dist = Distribution {
        name: call.name().unwrap_or_default().to_owned(),
        rule: call.rule.to_owned(),
        family: Some(family.clone()),
        version: version.clone(),
        line,
        artifacts: Vec::new(),
        url_note: None,
    };
    let Some(version) = version else {
        dist.url_note = Some(format!(
            "`{}` is not a string literal, so the version is unknown",
            rule.version_attr
        ));
        return dist;
    };
    let Some((module, binding)) = sources.definition(&sources.buck, call.rule) else {
        dist.url_note = Some(format!("the definition of `{}` was not found", call.rule));
        return dist;
    };
    let family_value = factory_family(module, &binding).unwrap_or_else(|| family.clone());
    let Some(table) = checksum_table(module, &binding, &version) else {
        dist.url_note = Some(format!(
            "no checksum table with version `{version}` in {}",
            module.path.display()
        ));
        return dist;
    };
    let downloader = reachable_download_rule(sources, &module.path);
    let mut notes = BTreeSet::new();
    for leaf in leaves(table) {
        let (os, arch) = leaf.os_arch();
        let url = match (&leaf.url, &downloader) {
            (Some(url), _) => Some(url.clone()),
            (None, Ok(rule)) => {
                let values = BTreeMap::from([
                    ("family".to_owned(), family_value.clone()),
                    ("version".to_owned(), version.clone()),
                    ("os".to_owned(), os.clone()),
                    ("arch".to_owned(), arch.clone()),
                    ("target".to_owned(), leaf.keys.join("-")),
                ]);
                match rule.url.as_ref().map(|t| t.fill(&values)) {
                    Some(Ok(url)) => Some(url),
                    Some(Err(hole)) => {
                        notes.insert(format!(
                            "`ctx.attrs.{hole}` of `{}` ({}:{}) has no default and no known value",
                            rule.schema.rule,
                            rule.schema.file.display(),
                            rule.call_line
                        ));
                        None
                    }
                    None => {
                        notes.insert(format!(
                            "the URL passed to download_file in `{}` ({}:{}) is computed in a way the tool does not follow",
                            rule.schema.rule,
                            rule.schema.file.display(),
                            rule.call_line
                        ));
                        None
                    }
                }
            }
            (None, Err(why)) => {
                notes.insert(why.clone());
                None
            }
        };
        dist.artifacts.push(Artifact {
            os,
            arch,
            sha256: leaf.sha256,
            url,
        });
    }
    if !notes.is_empty() {
        dist.url_note = Some(notes.into_iter().collect::<Vec<_>>().join("; "));
    }
    dist
}

/// `download_x = factory(family = "x", …)` → "x".
fn factory_family(module: &Module, binding: &str) -> Option<String> {
    let (_, args) = module.top_level_value(binding)?.as_named_call()?;
    args.iter()
        .find(|a| a.name.as_deref() == Some("family"))
        .and_then(|a| a.value.as_str())
        .map(str::to_owned)
}

/// The dict under `version` in the checksum table the download rule uses: preferably a table
/// the rule's binding names (`checksums_dict = _TABLE`), else any top-level table with that
/// version as a key.
fn checksum_table<'a>(module: &'a Module, binding: &str, version: &str) -> Option<&'a Node> {
    let named: Vec<&str> = module
        .top_level_value(binding)
        .and_then(|v| v.as_named_call())
        .map(|(_, args)| args.iter().filter_map(|a| a.value.as_ident()).collect())
        .unwrap_or_default();
    let tables = module.stmts.iter().filter_map(|s| match s {
        Stmt::Assign { targets, value, .. } if targets.len() == 1 => {
            Some((targets[0].as_str(), value))
        }
        _ => None,
    });
    let mut candidates: Vec<(bool, &Node)> = tables
        .filter_map(|(name, value)| dict_get(value, version).map(|v| (named.contains(&name), v)))
        .collect();
    candidates.sort_by_key(|(is_named, _)| !is_named);
    candidates.first().map(|(_, v)| *v)
}

fn dict_get<'a>(node: &'a Node, key: &str) -> Option<&'a Node> {
    match &node.expr {
        Expr::Dict(pairs) => pairs
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

struct Leaf {
    keys: Vec<String>,
    sha256: Option<String>,
    url: Option<String>,
}

impl Leaf {
    /// `[os, arch]` as written, or a target triple parsed into os and arch.
    fn os_arch(&self) -> (String, String) {
        match self.keys.as_slice() {
            [os, arch] => (os.clone(), arch.clone()),
            keys => {
                let joined = keys.join("-");
                (
                    triple_os(&joined).to_owned(),
                    triple_arch(&joined).to_owned(),
                )
            }
        }
    }
}

fn triple_os(triple: &str) -> &'static str {
    if triple.contains("linux") {
        "linux"
    } else if triple.contains("darwin") || triple.contains("apple") || triple.contains("macos") {
        "darwin"
    } else if triple.contains("windows") {
        "windows"
    } else {
        "unknown"
    }
}

fn triple_arch(triple: &str) -> &'static str {
    if triple.contains("x86_64") || triple.contains("amd64") {
        "x86_64"
    } else if triple.contains("aarch64") || triple.contains("arm64") {
        "aarch64"
    } else {
        "unknown"
    }
}

/// Walk nested dicts down to checksum strings or `{"sha256": …, "url": …}` records.
fn leaves(node: &Node) -> Vec<Leaf> {
    let mut out = Vec::new();
    collect_leaves(node, &mut Vec::new(), &mut out);
    out
}

fn collect_leaves(node: &Node, keys: &mut Vec<String>, out: &mut Vec<Leaf>) {
    match &node.expr {
        Expr::Str(s) => out.push(Leaf {
            keys: keys.clone(),
            sha256: Some(s.clone()),
            url: None,
        }),
        Expr::Dict(_) if dict_get(node, "sha256").is_some() || dict_get(node, "url").is_some() => {
            let field = |k: &str| dict_get(node, k).and_then(Node::as_str).map(str::to_owned);
            out.push(Leaf {
                keys: keys.clone(),
                sha256: field("sha256"),
                url: field("url").or_else(|| {
                    dict_get(node, "urls")
                        .and_then(|u| match &u.expr {
                            Expr::List(items) => items.first().and_then(Node::as_str),
                            _ => None,
                        })
                        .map(str::to_owned)
                }),
            });
        }
        Expr::Dict(pairs) => {
            for (k, v) in pairs {
                if let Some(k) = k.as_str() {
                    keys.push(k.to_owned());
                    collect_leaves(v, keys, out);
                    keys.pop();
                }
            }
        }
        _ => {}
    }
}

/// The one download rule reachable through loads from `start`, or why there is none.
fn reachable_download_rule(sources: &Sources, start: &Path) -> Result<DownloadRule, String> {
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([start.to_path_buf()]);
    let mut found: Vec<DownloadRule> = Vec::new();
    while let Some(path) = queue.pop_front() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let Some(module) = sources.modules.get(&path) else {
            continue;
        };
        found.extend(download_rules(module));
        for load in module.loads() {
            if let Some(t) = sources.load_target(&path, &load.module) {
                queue.push_back(t.to_path_buf());
            }
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(format!(
            "no rule that calls download_file is loaded from {}",
            start.display()
        )),
        _ => Err(format!(
            "several download rules are loaded from {} ({}), so the one used is ambiguous",
            start.display(),
            found
                .iter()
                .map(|r| r.schema.rule.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

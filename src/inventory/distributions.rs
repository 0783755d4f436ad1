//! Distributions: what each download target fetches. Versions come from the BUCK call,
//! checksums from the tables in the .bzl that defines the download rule, and URLs from the
//! repo's own download rule code (see `read::eval`), never from a pattern written here.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

use serde::Serialize;

use super::targets::Call;
use crate::error::UserError;
use crate::know::Knowledge;
use crate::read::eval::{download_rules, DownloadRule};
use crate::read::{Expr, Module, Node, Sources, Stmt};

#[derive(Debug, Clone, Serialize)]
pub struct Distribution {
    pub name: String,
    pub rule: String,
    pub family: Option<String>,
    pub version: Option<String>,
    /// The build file the target is declared in.
    pub file: std::path::PathBuf,
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

/// Describe one download call of the BUCK file (`calls` are all of its calls, to follow
/// references to fetcher targets).
pub fn describe(
    sources: &Sources,
    know: &Knowledge,
    buck: &Module,
    call: &Call,
    line: usize,
    calls: &[Call],
) -> Result<Distribution, UserError> {
    let (family, rule) = &know.distributions[call.rule];
    if let Some(attr) = &rule.archives_attr {
        return Ok(describe_fetched(know, call, line, attr, calls));
    }
    let version = call
        .kwarg(&rule.version_attr)
        .and_then(|a| a.value.as_str())
        .map(str::to_owned);
    let mut dist = Distribution {
        name: call.name().unwrap_or_default().to_owned(),
        rule: call.rule.to_owned(),
        family: Some(family.clone()),
        version: version.clone(),
        file: buck.path.clone(),
        line,
        artifacts: Vec::new(),
        url_note: None,
    };
    let Some(version) = version else {
        dist.url_note = Some(format!(
            "`{}` is not a string literal, so the version is unknown",
            rule.version_attr
        ));
        return Ok(dist);
    };
    let Some((module, binding)) = sources.find_definition(&buck.path, call.rule)? else {
        dist.url_note = Some(format!("the definition of `{}` was not found", call.rule));
        return Ok(dist);
    };
    sources.require_closure(
        &module.path,
        &format!("derive the URLs `{}` downloads", call.rule),
    )?;
    let family_value = factory_family(module, &binding).unwrap_or_else(|| family.clone());
    let Some(table) = checksum_table(sources, module, &binding, &version) else {
        dist.url_note = Some(format!(
            "no checksum table with version `{version}` in {}",
            module.path.display()
        ));
        return Ok(dist);
    };
    let downloader = reachable_download_rule(sources, &module.path);
    let mut notes = BTreeSet::new();
    for leaf in leaves(table, &rule.checksum_keys, &rule.url_keys) {
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
    Ok(dist)
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
fn checksum_table<'a>(
    sources: &'a Sources,
    module: &'a Module,
    binding: &str,
    version: &str,
) -> Option<&'a Node> {
    table_in(module, binding, version).or_else(|| {
        // Tables kept in a file of their own (zig's releases.bzl), loaded by the rule's file.
        module
            .loads()
            .filter_map(|l| sources.load_target(&module.path, &l.module))
            .filter_map(|p| sources.modules.get(p))
            .find_map(|m| table_in(m, binding, version))
    })
}

fn table_in<'a>(module: &'a Module, binding: &str, version: &str) -> Option<&'a Node> {
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
            // Written as `{os: {arch: …}}`: normalize `macos`/`arm64` to darwin/aarch64.
            [os, arch] => (
                Some(triple_os(os))
                    .filter(|o| *o != "unknown")
                    .unwrap_or(os)
                    .to_owned(),
                Some(triple_arch(arch))
                    .filter(|a| *a != "unknown")
                    .unwrap_or(arch)
                    .to_owned(),
            ),
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

/// Walk nested dicts down to checksum strings or `{"sha256": …, "url": …}` records (the key
/// names come from the knowledge base). Entries that name no platform (zig's `"src"`,
/// `"date"`) are left out.
fn leaves(node: &Node, checksum_keys: &[String], url_keys: &[String]) -> Vec<Leaf> {
    let mut out = Vec::new();
    let keys = LeafKeys {
        checksum_keys,
        url_keys,
    };
    keys.collect(node, &mut Vec::new(), &mut out);
    out.retain(|l| l.os_arch().0 != "unknown");
    out
}

struct LeafKeys<'a> {
    checksum_keys: &'a [String],
    url_keys: &'a [String],
}

impl LeafKeys<'_> {
    fn first_string<'n>(&self, node: &'n Node, keys: &[String]) -> Option<&'n str> {
        keys.iter()
            .filter_map(|k| dict_get(node, k))
            .find_map(|v| match &v.expr {
                Expr::Str(s) => Some(s.as_str()),
                Expr::List(items) => items.first().and_then(Node::as_str),
                _ => None,
            })
    }

    fn collect(&self, node: &Node, path: &mut Vec<String>, out: &mut Vec<Leaf>) {
        match &node.expr {
            Expr::Str(s) => out.push(Leaf {
                keys: path.clone(),
                sha256: Some(s.clone()),
                url: None,
            }),
            Expr::Dict(pairs) => {
                let sha = self.first_string(node, self.checksum_keys);
                let url = self.first_string(node, self.url_keys);
                if sha.is_some() || url.is_some() {
                    out.push(Leaf {
                        keys: path.clone(),
                        sha256: sha.map(str::to_owned),
                        url: url.map(str::to_owned),
                    });
                    return;
                }
                for (k, v) in pairs {
                    if let Some(k) = k.as_str() {
                        path.push(k.to_owned());
                        self.collect(v, path, out);
                        path.pop();
                    }
                }
            }
            _ => {}
        }
    }
}

/// Artifacts of a distribution that points at fetcher targets (`go_distr.go_root` →
/// `http_archive`s): each fetcher's URL and checksum, its platform from its name or URL.
fn describe_fetched(
    know: &Knowledge,
    call: &Call,
    line: usize,
    attr: &str,
    calls: &[Call],
) -> Distribution {
    let (family, rule) = &know.distributions[call.rule];
    let mut artifacts = Vec::new();
    let referenced = call
        .kwarg(attr)
        .map(|a| a.value.strings())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| s.as_str().and_then(super::targets::referenced_target));
    for name in referenced {
        let Some(fetcher) = calls.iter().find(|c| c.name() == Some(name)) else {
            continue;
        };
        let url = fetcher
            .kwarg("urls")
            .or_else(|| fetcher.kwarg("url"))
            .and_then(|a| a.value.strings().into_iter().find_map(|s| s.as_str()))
            .map(str::to_owned);
        let platform = format!("{name} {}", url.as_deref().unwrap_or_default());
        artifacts.push(Artifact {
            os: triple_os(&platform).to_owned(),
            arch: triple_arch(&platform).to_owned(),
            sha256: fetcher
                .kwarg("sha256")
                .and_then(|a| a.value.as_str())
                .map(str::to_owned),
            url,
        });
    }
    Distribution {
        name: call.name().unwrap_or_default().to_owned(),
        rule: call.rule.to_owned(),
        family: Some(family.clone()),
        version: call
            .kwarg(&rule.version_attr)
            .and_then(|a| a.value.as_str())
            .map(str::to_owned),
        file: std::path::PathBuf::new(),
        line,
        artifacts,
        url_note: None,
    }
}

/// The archives of a macro that downloads and builds in one (`remote_python_toolchain`), from
/// its release-table attr (a literal, or a name loaded from a .json file).
pub fn describe_macro(
    sources: &Sources,
    buck: &Module,
    family: &str,
    rule: &crate::know::ToolchainRule,
    call: &Call,
    line: usize,
) -> Result<Option<Distribution>, UserError> {
    let Some(value) = rule.archives_attr.as_deref().and_then(|a| call.kwarg(a)) else {
        return Ok(None);
    };
    let table = match &value.value.expr {
        Expr::Ident(name) => {
            // A table loaded from a file that does not parse: that file is needed here.
            if let Some((label, _)) = buck.loaded_symbol(name) {
                if let Some(target) = sources.load_target(&buck.path, label) {
                    sources.require(target, &format!("read the archives of `{}`", call.rule))?;
                }
            }
            match sources.value_of(&buck.path, name) {
                Some(table) => table,
                None => return Ok(None),
            }
        }
        _ => &value.value,
    };
    let artifacts: Vec<Artifact> = leaves(table, &default_keys("sha256"), &default_keys("url"))
        .into_iter()
        .map(|leaf| {
            let (os, arch) = leaf.os_arch();
            Artifact {
                os,
                arch,
                sha256: leaf.sha256,
                url: leaf.url,
            }
        })
        .collect();
    let version = rule.version_after.as_deref().and_then(|marker| {
        artifacts
            .iter()
            .filter_map(|a| a.url.as_deref())
            .find_map(|u| {
                let rest = &u[u.find(marker)? + marker.len()..];
                Some(rest[..rest.find(['+', '-', '/']).unwrap_or(rest.len())].to_owned())
            })
    });
    Ok(Some(Distribution {
        name: call.name().unwrap_or_default().to_owned(),
        rule: call.rule.to_owned(),
        family: Some(family.to_owned()),
        version,
        file: buck.path.clone(),
        line,
        artifacts,
        url_note: None,
    }))
}

fn default_keys(key: &str) -> Vec<String> {
    vec![key.to_owned()]
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

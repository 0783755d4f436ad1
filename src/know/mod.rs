//! Pipeline step 3: the knowledge base. Which download rules exist, which system rule replaces
//! each hermetic toolchain, what to do with each attr, which binaries the result calls, and
//! which nixpkgs attributes provide them.
//!
//! The facts live in `toolchains/*.json` (compiled in) plus the target repo's own
//! `.si-nixify/*.json`, merged in that order: a repo file that names a rule already known
//! replaces the built-in entry for it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::UserError;

/// The built-in knowledge, one JSON file per family: every `toolchains/*.json` (see build.rs).
const BUILTIN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_knowledge.rs"));

/// Where repo-local knowledge files live, relative to the repo root.
pub const LOCAL_DIR: &str = ".si-nixify";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamilyFile {
    /// Editors' pointer at schema/knowledge.schema.json; ignored.
    #[serde(rename = "$schema", default)]
    pub json_schema: Option<String>,
    pub family: String,
    /// Why the facts are what they are; for people, not read by the tool.
    #[serde(default)]
    pub notes: Vec<String>,
    #[serde(default)]
    pub common_attrs: Vec<String>,
    #[serde(default)]
    pub distributions: Vec<DistributionRule>,
    /// Generic fetch rules (`http_archive`): a target of one is deleted when only deleted
    /// distributions refer to it.
    #[serde(default)]
    pub fetchers: Vec<String>,
    #[serde(default)]
    pub toolchains: Vec<ToolchainRule>,
    #[serde(default)]
    pub system_rules: Vec<SystemRule>,
    #[serde(default)]
    pub flag_tools: Vec<FlagTool>,
    /// nixpkgs attribute → binaries it puts on PATH (to see what a devshell already provides).
    #[serde(default)]
    pub provides: BTreeMap<String, Vec<String>>,
    /// Attributes whose binary breaks on NixOS (the unwrapped ld.lld): replaced in the devshell.
    #[serde(default)]
    pub unwrapped: Vec<Unwrapped>,
    /// oxalica/rust-overlay's profiles and what each component puts on PATH.
    #[serde(default)]
    pub rust_overlay: Option<RustOverlay>,
    #[serde(default)]
    pub nix_versions: Vec<NixVersion>,
    /// Settable attrs of system rules, used only for a repo that has no prelude to read.
    #[serde(default)]
    pub schemas: BTreeMap<String, Vec<String>>,
    /// Binaries a bare `mkShell` already has, by platform (its stdenv's compiler and binutils).
    #[serde(default)]
    pub mkshell_provides: BTreeMap<String, Vec<String>>,
    /// Attribute-name prefixes that carry a version (`llvmPackages_20`, `python313`).
    #[serde(default)]
    pub versioned_prefixes: Vec<String>,
    /// Versioned attribute prefix → the unversioned attribute (`go_1_` → `go`, `zig_0_` → `zig`),
    /// for names the prefix alone does not give.
    #[serde(default)]
    pub versioned_attrs: BTreeMap<String, String>,
    /// Tools `doctor` checks besides the toolchains' own (buck2 itself).
    #[serde(default)]
    pub doctor_tools: Vec<Tool>,
    /// Which versioned attributes each nixpkgs release has, for when `nix` cannot answer.
    #[serde(default)]
    pub nixpkgs_releases: Vec<NixpkgsRelease>,
    /// Known link-probe failures and their fixes.
    #[serde(default)]
    pub probe_errors: Vec<ProbeError>,
    /// What crates in Cargo.lock need from the machine.
    #[serde(default)]
    pub crate_needs: Vec<CrateNeed>,
    /// Prelude providers whose system rule stands in for a repo's own toolchain rule that
    /// constructs them (`RustToolchainInfo` → `system_rust_toolchain`).
    #[serde(default)]
    pub provider_toolchains: Vec<ProviderToolchain>,
    /// What a downloaded archive holds, by URL: the binaries the devshell gives instead.
    #[serde(default)]
    pub download_tools: Vec<DownloadTool>,
    /// URL pieces of package registries: a download from one is a library's source, not a
    /// toolchain.
    #[serde(default)]
    pub library_urls: Vec<String>,
    /// Rust triples a devshell's rustc builds for out of the box; any other one a rewritten
    /// toolchain targets needs that target's std added (rust-overlay's `targets`).
    #[serde(default)]
    pub rust_host_triples: Vec<String>,
}

/// A toolchain provider and the prelude's system rule that gives it from PATH.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderToolchain {
    /// The provider (`RustToolchainInfo`) or provider helper (`cxx_toolchain_infos`).
    pub provider: String,
    pub replacement: Replacement,
}

/// An archive or binary downloaded from a known place, and the tools it stands for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownloadTool {
    /// A piece of the URL that identifies the download (`nodejs.org/dist/`).
    pub url_contains: String,
    /// The binaries the download provides, main one first: a tool wrapping the download
    /// runs the first one from PATH.
    pub binaries: Vec<String>,
    /// The nixpkgs attribute that provides them.
    pub nix: String,
    /// Binaries another attribute provides (a cross gcc's archiver comes with its binutils).
    #[serde(default)]
    pub nix_of: BTreeMap<String, String>,
    /// Attrs a system toolchain replacing a user of this download needs (a cross compiler's
    /// `compiler = "arm-none-eabi-gcc"`), where the system rule's schema has them.
    #[serde(default)]
    pub set_attrs: BTreeMap<String, String>,
    #[serde(default)]
    pub why: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeError {
    pub contains: String,
    pub fix: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrateNeed {
    pub crates: Vec<String>,
    /// `libclang` or `c_compiler`.
    pub need: String,
    pub why: String,
    pub nix: String,
}

/// A rule or macro whose only job is to download an archive for a toolchain.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistributionRule {
    pub rule: String,
    #[serde(default = "default_version_attr")]
    pub version_attr: String,
    /// Keys of a checksum in a release table's platform entry.
    #[serde(default = "default_checksum_keys")]
    pub checksum_keys: Vec<String>,
    /// Keys of the URL in a release table's platform entry.
    #[serde(default = "default_url_keys")]
    pub url_keys: Vec<String>,
    /// The attr whose labels point at fetcher targets (`go_root` → `http_archive`s): their
    /// `urls` and `sha256` are this distribution's artifacts.
    #[serde(default)]
    pub archives_attr: Option<String>,
}

fn default_version_attr() -> String {
    "version".to_owned()
}

fn default_checksum_keys() -> Vec<String> {
    vec!["sha256".to_owned()]
}

fn default_url_keys() -> Vec<String> {
    vec!["url".to_owned(), "urls".to_owned()]
}

/// A hermetic toolchain rule and how to turn it into a system one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolchainRule {
    pub rule: String,
    /// The attr that points at the distribution target.
    #[serde(default)]
    pub distribution_attr: Option<String>,
    pub replacement: Replacement,
    #[serde(default)]
    pub attrs: BTreeMap<String, AttrAction>,
    #[serde(default)]
    pub drop_values: Option<DropValues>,
    /// For a macro that downloads and builds in one (`remote_python_toolchain`): the attr
    /// holding its release table, `{os: {cpu: {sha256, url}}}`.
    #[serde(default)]
    pub archives_attr: Option<String>,
    /// Where the version starts in the archive URL (`cpython-` → `3.13.6`).
    #[serde(default)]
    pub version_after: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replacement {
    pub rule: String,
    /// Where the replacement rule is loaded from, when BUCK does not load it yet.
    pub load: String,
    /// Attrs to set on the replacement where its schema has them (e.g. `deno_exe = "deno"`).
    #[serde(default)]
    pub set_attrs: BTreeMap<String, String>,
    /// Targets the hermetic macro also declared, written out as system rules.
    #[serde(default)]
    pub adds_targets: Vec<AddTarget>,
}

/// A target the rewrite writes next to the replacement (`{name}` is the original's name).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddTarget {
    pub rule: String,
    pub name: String,
    pub load: String,
    /// Skip when the original call sets this attr to `False`.
    #[serde(default)]
    pub unless_false: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum AttrAction {
    Keep,
    Drop {
        reason: String,
    },
    /// Drop only when the value is empty (`""`, `[]`, `None`, or every flag dropped).
    DropIfEmpty {
        reason: String,
    },
    Rename {
        to: String,
        reason: String,
    },
}

/// Flag values that only make sense with the downloaded archive.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropValues {
    pub values: Vec<String>,
    pub reason: String,
}

/// A rule that calls tools from PATH, and those tools.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemRule {
    pub rule: String,
    pub tools: Vec<Tool>,
    /// Attrs naming a binary the rule runs from PATH instead of its default
    /// (`compiler = "arm-none-eabi-gcc"`): that binary is required too.
    #[serde(default)]
    pub binary_attrs: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    pub binary: String,
    pub why: String,
    pub nix: String,
    /// `linux` or `darwin` when only that OS needs it.
    #[serde(default)]
    pub platform: Option<String>,
    /// The family whose pinned distribution version this tool should match.
    #[serde(default)]
    pub pinned_by: Option<String>,
}

/// A nixpkgs attribute that puts `binary` on PATH in a form that does not work on NixOS, and
/// the attribute to use instead.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Unwrapped {
    pub attr: String,
    pub binary: String,
    #[serde(rename = "use")]
    pub instead: String,
    pub why: String,
}

/// rust-overlay: which components each rustup profile installs, and the binaries of each.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RustOverlay {
    /// For people; not read by the tool.
    #[serde(default)]
    pub notes: String,
    pub default_profile: String,
    pub profiles: BTreeMap<String, Vec<String>>,
    pub components: BTreeMap<String, Vec<String>>,
}

/// One nixpkgs release (or unstable snapshot) and the versioned attributes it has.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NixpkgsRelease {
    /// `25.05`, or `unstable-2026-01` for a snapshot of the unstable branch.
    pub release: String,
    /// For people: `2025-05-31`.
    pub date: String,
    /// The same moment in seconds since 1970, compared with flake.lock's `lastModified`.
    pub released_unix: i64,
    /// The nixpkgs commit the list was read from.
    #[serde(default)]
    pub nixpkgs_commit: Option<String>,
    /// Versioned top-level attributes that exist (`go_1_24`, `llvmPackages_19`, `python313`).
    pub attrs: Vec<String>,
}

/// A flag that makes a toolchain call one more binary (`-fuse-ld=lld` → `ld.lld`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagTool {
    pub flag: String,
    pub binary: String,
    pub nix: String,
    /// May use `{attr}` and `{target}`.
    pub why: String,
}

/// A versioned nixpkgs attribute for a binary: `{major}` and `{minor}` come from the pinned
/// version (`llvmPackages_{major}.clang` for clang 20.1.0 is `llvmPackages_20.clang`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NixVersion {
    pub binary: String,
    pub attr: String,
    /// For a pin that names a channel build (`nightly-2025-04-17`): the attribute that
    /// provides it, with `{channel}` and `{date}`.
    #[serde(default)]
    pub channel_attr: Option<String>,
}

impl NixVersion {
    /// The attribute for `version` first, then those of its neighbours, nearest first (a
    /// newer one before an older one at the same distance): the minor varies when the
    /// template has `{minor}`, else the major.
    pub fn candidates(&self, version: &str) -> Vec<String> {
        let Some(exact) = self.for_version(version) else {
            return Vec::new();
        };
        let mut parts = version.split('.');
        let major: i64 = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
        let minor: i64 = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
        let by_minor = self.attr.contains("{minor}");
        let mut out = vec![exact];
        for distance in 1..=8 {
            for step in [distance, -distance] {
                let (ma, mi) = if by_minor {
                    (major, minor + step)
                } else {
                    (major + step, 0)
                };
                if ma >= 0 && mi >= 0 {
                    if let Some(a) = self.for_version(&format!("{ma}.{mi}")) {
                        out.push(a);
                    }
                }
            }
        }
        out
    }

    pub fn for_version(&self, version: &str) -> Option<String> {
        let mut parts = version.split('.');
        let major = parts
            .next()
            .filter(|m| m.chars().all(|c| c.is_ascii_digit()))?;
        let minor = parts.next().unwrap_or("0");
        Some(
            self.attr
                .replace("{major}", major)
                .replace("{minor}", minor),
        )
    }
}

/// All knowledge, merged.
#[derive(Debug, Clone, Default)]
pub struct Knowledge {
    pub common_attrs: Vec<String>,
    /// rule → (family, rule)
    pub distributions: BTreeMap<String, (String, DistributionRule)>,
    pub fetchers: Vec<String>,
    pub toolchains: BTreeMap<String, (String, ToolchainRule)>,
    pub system_rules: BTreeMap<String, (String, SystemRule)>,
    pub flag_tools: Vec<FlagTool>,
    pub provides: BTreeMap<String, Vec<String>>,
    pub unwrapped: Vec<Unwrapped>,
    pub rust_overlay: RustOverlay,
    pub nix_versions: Vec<NixVersion>,
    pub schemas: BTreeMap<String, Vec<String>>,
    pub mkshell_provides: BTreeMap<String, Vec<String>>,
    pub versioned_prefixes: Vec<String>,
    pub versioned_attrs: BTreeMap<String, String>,
    pub doctor_tools: Vec<Tool>,
    pub nixpkgs_releases: Vec<NixpkgsRelease>,
    pub probe_errors: Vec<ProbeError>,
    pub crate_needs: Vec<CrateNeed>,
    pub provider_toolchains: Vec<ProviderToolchain>,
    pub download_tools: Vec<DownloadTool>,
    pub library_urls: Vec<String>,
    pub rust_host_triples: Vec<String>,
    /// Where each family file came from, for messages.
    pub sources: Vec<PathBuf>,
}

impl Knowledge {
    /// Built-in knowledge plus `<root>/.si-nixify/*.json`.
    pub fn load(root: &Path) -> Result<Knowledge, UserError> {
        let mut k = Knowledge::builtin();
        let dir = root.join(LOCAL_DIR);
        if dir.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map_err(|e| UserError::new(format!("cannot list {LOCAL_DIR}/: {e}")))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                // pins.json is generate's record of pinned versions, not knowledge.
                .filter(|p| p.file_name().is_none_or(|n| n != "pins.json"))
                .collect();
            files.sort();
            for path in files {
                let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    UserError::new(format!("cannot read knowledge file: {e}")).in_file(&rel)
                })?;
                k.add(&rel, &text)?;
            }
        }
        Ok(k)
    }

    pub fn builtin() -> Knowledge {
        let mut k = Knowledge::default();
        for (name, text) in BUILTIN {
            // The built-in files are checked by a unit test; a failure here is a build defect.
            if let Err(e) = k.add(Path::new(name), text) {
                panic!("built-in knowledge file is invalid: {e}");
            }
        }
        k
    }

    /// Merge one family file.
    pub fn add(&mut self, path: &Path, text: &str) -> Result<(), UserError> {
        let file: FamilyFile = serde_json::from_str(text).map_err(|e| {
            UserError::new(format!("invalid knowledge file: {e}"))
                .at(crate::error::Location {
                    file: path.to_path_buf(),
                    line: e.line(),
                    col: e.column(),
                })
                .hint("see README.md, section 'Teaching si-nixify a rule', and schema/knowledge.schema.json")
        })?;
        let family = file.family.clone();
        self.common_attrs.extend(file.common_attrs);
        for d in file.distributions {
            self.distributions
                .insert(d.rule.clone(), (family.clone(), d));
        }
        self.fetchers.extend(file.fetchers);
        for t in file.toolchains {
            self.toolchains.insert(t.rule.clone(), (family.clone(), t));
        }
        for s in file.system_rules {
            self.system_rules
                .insert(s.rule.clone(), (family.clone(), s));
        }
        self.flag_tools.extend(file.flag_tools);
        self.provides.extend(file.provides);
        self.unwrapped.extend(file.unwrapped);
        if let Some(r) = file.rust_overlay {
            self.rust_overlay = r;
        }
        self.nix_versions.extend(file.nix_versions);
        self.schemas.extend(file.schemas);
        self.mkshell_provides.extend(file.mkshell_provides);
        self.versioned_prefixes.extend(file.versioned_prefixes);
        self.versioned_attrs.extend(file.versioned_attrs);
        self.doctor_tools.extend(file.doctor_tools);
        self.nixpkgs_releases.extend(file.nixpkgs_releases);
        self.probe_errors.extend(file.probe_errors);
        self.crate_needs.extend(file.crate_needs);
        self.provider_toolchains.extend(file.provider_toolchains);
        self.library_urls.extend(file.library_urls);
        self.rust_host_triples.extend(file.rust_host_triples);
        // A repo's own entry for a URL comes first: it was added later and knows better.
        for d in file.download_tools.into_iter().rev() {
            self.download_tools.insert(0, d);
        }
        self.sources.push(path.to_path_buf());
        Ok(())
    }

    /// The system rule standing in for a rule whose implementation constructs `provides`:
    /// `None` when none of them is a known toolchain provider, or when they are of two kinds.
    pub fn provider_toolchain<'a>(
        &self,
        provides: impl IntoIterator<Item = &'a String>,
    ) -> Option<&ProviderToolchain> {
        let found: Vec<&ProviderToolchain> = provides
            .into_iter()
            .filter_map(|p| self.provider_toolchains.iter().find(|t| &t.provider == p))
            .collect();
        let first = *found.first()?;
        found
            .iter()
            .all(|t| t.replacement.rule == first.replacement.rule)
            .then_some(first)
    }

    /// What a download from `url` stands for, when the knowledge base knows the place.
    pub fn download_tool(&self, url: &str) -> Option<&DownloadTool> {
        self.download_tools
            .iter()
            .find(|d| url.contains(d.url_contains.as_str()))
    }

    /// Binaries a bare mkShell provides on `platform` (`None`: on every platform).
    pub fn mkshell_provides(&self, platform: Option<&str>) -> Vec<String> {
        match platform {
            Some(p) => self.mkshell_provides.get(p).cloned().unwrap_or_default(),
            None => {
                let mut sets = self.mkshell_provides.values();
                let first = sets.next().cloned().unwrap_or_default();
                first
                    .into_iter()
                    .filter(|b| self.mkshell_provides.values().all(|s| s.contains(b)))
                    .collect()
            }
        }
    }

    /// `llvmPackages_20.clang` → `llvmPackages.clang`, `python313` → `python3`: the attribute
    /// without its version, to look up what it provides.
    pub fn generic_nix_attr(&self, path: &str) -> String {
        let (head, rest) = path
            .split_once('.')
            .map_or((path, None), |(h, r)| (h, Some(r)));
        let versioned = |prefix: &str| {
            head.strip_prefix(prefix)
                .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
        };
        let generic = self
            .versioned_attrs
            .iter()
            .filter(|(p, _)| versioned(p))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, g)| g.clone())
            .or_else(|| {
                self.versioned_prefixes
                    .iter()
                    .find(|p| versioned(p))
                    .map(|p| p.trim_end_matches('_').to_owned())
            })
            .unwrap_or_else(|| head.to_owned());
        match rest {
            Some(r) => format!("{generic}.{r}"),
            None => generic,
        }
    }

    /// The nixpkgs attribute that puts `binary` on PATH: one named like it, else the shortest
    /// name whose `provides` lists it, else the binary's own name (nixpkgs mostly names
    /// packages after their command).
    pub fn nix_attr_for(&self, binary: &str) -> String {
        if self
            .provides
            .get(binary)
            .is_some_and(|b| b.iter().any(|x| x == binary))
        {
            return binary.to_owned();
        }
        self.provides
            .iter()
            .filter(|(_, bins)| bins.iter().any(|b| b == binary))
            .map(|(attr, _)| attr)
            .min_by_key(|a| (a.len(), a.as_str()))
            .cloned()
            .unwrap_or_else(|| binary.to_owned())
    }

    pub fn is_common_attr(&self, attr: &str) -> bool {
        self.common_attrs.iter().any(|a| a == attr)
    }

    /// The family a rule belongs to, whatever its role.
    pub fn family_of(&self, rule: &str) -> Option<&str> {
        self.distributions
            .get(rule)
            .map(|(f, _)| f)
            .or_else(|| self.toolchains.get(rule).map(|(f, _)| f))
            .or_else(|| self.system_rules.get(rule).map(|(f, _)| f))
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_knowledge_parses_and_covers_the_first_families() {
        let k = Knowledge::builtin();
        for rule in [
            "hermetic_rust_toolchain",
            "hermetic_clang_toolchain",
            "hermetic_python_toolchain",
            "hermetic_python_bootstrap_toolchain",
            "hermetic_deno_toolchain",
        ] {
            assert!(k.toolchains.contains_key(rule), "{rule}");
        }
        assert!(k.is_common_attr("visibility"));
    }

    #[test]
    fn bad_local_file_is_located() {
        let mut k = Knowledge::default();
        let err = k
            .add(
                Path::new(".si-nixify/x.json"),
                "{\"family\": \"x\",\n \"toolchainz\": []}",
            )
            .unwrap_err();
        assert_eq!(err.at.as_ref().unwrap().line, 2, "{err}");
    }
}

//! `.buckconfig` parsing: the INI dialect Buck2 reads.
//!
//! Written by hand rather than with an INI crate because Buck2's dialect differs from every INI
//! crate looked at: `\` line continuations, `#`/`;` comments only at line start, values that keep
//! `=` and `;` inside them, and repeated sections that merge. The parser is small and the
//! behaviour is pinned by tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Location, UserError};

/// One `key = value` with the file and line it started on (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub value: String,
    pub line: usize,
    /// Root-relative file the entry was read from (an include, `.buckconfig.d/…`, …).
    pub file: PathBuf,
}

/// Section name → key → entry. Later definitions of a key win, as in Buck2.
#[derive(Debug, Default, Clone)]
pub struct BuckConfig {
    pub sections: BTreeMap<String, BTreeMap<String, Entry>>,
}

impl BuckConfig {
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.sections
            .get(section)
            .and_then(|s| s.get(key))
            .map(|e| e.value.as_str())
    }

    pub fn section(&self, section: &str) -> impl Iterator<Item = (&str, &Entry)> {
        self.sections
            .get(section)
            .into_iter()
            .flat_map(|s| s.iter().map(|(k, v)| (k.as_str(), v)))
    }

    /// A comma-separated list value (`[project] ignore`), trimmed, empties removed.
    pub fn list(&self, section: &str, key: &str) -> Vec<String> {
        self.get(section, key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The files Buck2 reads for the project (or a cell) at `dir`, in its order, later keys
/// winning: every file of `.buckconfig.d/` (sorted), `.buckconfig`, then `.buckconfig.local`
/// (buck2's `DEFAULT_PROJECT_CONFIG_SOURCES`, app/buck2_common/src/legacy_configs/path.rs),
/// each with its `<file:…>` includes read in place. Paths are relative to `root`.
pub fn load(root: &Path, dir: &Path) -> Result<BuckConfig, UserError> {
    let mut config = BuckConfig::default();
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(root.join(dir).join(".buckconfig.d")) {
        let mut d: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| dir.join(".buckconfig.d").join(e.file_name()))
            .collect();
        d.sort();
        files.extend(d);
    }
    files.push(dir.join(".buckconfig"));
    files.push(dir.join(".buckconfig.local"));
    for file in files {
        if root.join(&file).is_file() {
            read_into(root, &file, &mut config, 0)?;
        }
    }
    Ok(config)
}

/// Parse one file into `config`, following its includes.
fn read_into(
    root: &Path,
    file: &Path,
    config: &mut BuckConfig,
    depth: u8,
) -> Result<(), UserError> {
    let text = crate::text::read_text(root, file)?;
    parse_into(&text, file, config, &mut |include, at, config| {
        let (optional, path) = match include {
            Include::Required(p) => (false, p),
            Include::Optional(p) => (true, p),
        };
        let target = file.parent().unwrap_or(Path::new("")).join(path);
        if !root.join(&target).is_file() {
            if optional {
                return Ok(());
            }
            return Err(UserError::new(format!(
                "include `{path}` points at `{}`, which does not exist",
                target.display()
            ))
            .at(at)
            .hint("write `<?file:…>` for an include that may be missing"));
        }
        if depth > 16 {
            return Err(
                UserError::new(format!("include `{path}` nests too deeply (a loop?)")).at(at),
            );
        }
        read_into(root, &target, config, depth + 1)
    })
}

/// A `<file:path>` (required) or `<?file:path>` (optional) include line.
enum Include<'a> {
    Required(&'a str),
    Optional(&'a str),
}

fn include_of(line: &str) -> Option<Include<'_>> {
    let inner = line.strip_prefix('<')?.strip_suffix('>')?;
    match inner.strip_prefix('?') {
        Some(rest) => rest
            .strip_prefix("file:")
            .map(|p| Include::Optional(p.trim())),
        None => inner
            .strip_prefix("file:")
            .map(|p| Include::Required(p.trim())),
    }
}

/// Parse `.buckconfig` text. `file` is only used in error locations; includes are not read.
pub fn parse(text: &str, file: &Path) -> Result<BuckConfig, UserError> {
    let mut config = BuckConfig::default();
    parse_into(text, file, &mut config, &mut |_, _, _| Ok(()))?;
    Ok(config)
}

type OnInclude<'a> =
    dyn FnMut(Include<'_>, Location, &mut BuckConfig) -> Result<(), UserError> + 'a;

fn parse_into(
    text: &str,
    file: &Path,
    config: &mut BuckConfig,
    on_include: &mut OnInclude<'_>,
) -> Result<(), UserError> {
    let mut section: Option<String> = None;
    for logical in logical_lines(text) {
        let line = logical.text.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let at = Location {
            file: file.to_path_buf(),
            line: logical.line,
            col: 1,
        };
        if let Some(rest) = line.strip_prefix('[') {
            // `[name]`, maybe followed by a comment: Buck2's own prelude writes
            // `[not_buildfile] # @oss-enable` to hide a section outside Meta.
            let name = rest
                .split_once(']')
                .filter(|(_, after)| {
                    let after = after.trim_start();
                    after.is_empty() || after.starts_with('#') || after.starts_with(';')
                })
                .map(|(name, _)| name)
                .ok_or_else(|| {
                    UserError::new(format!("section header `{line}` has no closing `]`"))
                        .at(at.clone())
                        .hint("write section headers as `[name]` on their own line")
                })?;
            let name = name.trim().to_owned();
            config.sections.entry(name.clone()).or_default();
            section = Some(name);
            continue;
        }
        if let Some(include) = include_of(line) {
            on_include(include, at, config)?;
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(
                UserError::new(format!("expected `key = value`, found `{line}`"))
                    .at(at)
                    .hint("every line inside a section must be `key = value`, a comment, or blank"),
            );
        };
        let Some(section) = &section else {
            return Err(
                UserError::new(format!("`{}` appears before any `[section]`", key.trim()))
                    .at(at)
                    .hint("put keys under a section header such as `[cells]`"),
            );
        };
        config.sections.entry(section.clone()).or_default().insert(
            key.trim().to_owned(),
            Entry {
                value: value.trim().to_owned(),
                line: logical.line,
                file: file.to_path_buf(),
            },
        );
    }
    Ok(())
}

struct LogicalLine {
    text: String,
    /// 1-based line where the logical line starts.
    line: usize,
}

/// Join `\`-continued physical lines into logical lines.
fn logical_lines(text: &str) -> Vec<LogicalLine> {
    let mut out = Vec::new();
    let mut current: Option<LogicalLine> = None;
    for (index, raw) in text.lines().enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let (body, continues) = match raw.trim_end().strip_suffix('\\') {
            Some(body) => (body, true),
            None => (raw, false),
        };
        let logical = current.get_or_insert_with(|| LogicalLine {
            text: String::new(),
            line: index + 1,
        });
        // A comment line inside a continuation ends nothing and adds nothing.
        let trimmed = body.trim();
        if !logical.text.is_empty() && (trimmed.starts_with('#') || trimmed.starts_with(';')) {
            if !continues {
                out.extend(current.take());
            }
            continue;
        }
        if !logical.text.is_empty() {
            logical.text.push(' ');
        }
        logical.text.push_str(trimmed);
        if !continues {
            out.extend(current.take());
        }
    }
    out.extend(current.take());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> BuckConfig {
        parse(text, Path::new(".buckconfig")).expect("valid config")
    }

    #[test]
    fn cells_and_aliases() {
        let c = parse_ok(
            "[cells]\n  root = .\nprelude = prelude\n\n[cell_aliases]\nconfig = prelude\n",
        );
        assert_eq!(c.get("cells", "root"), Some("."));
        assert_eq!(c.get("cells", "prelude"), Some("prelude"));
        assert_eq!(c.get("cell_aliases", "config"), Some("prelude"));
    }

    #[test]
    fn continuation_lines_join_into_one_value() {
        let c = parse_ok("[project]\nignore = \\\n  .git, \\\n  target, \\\n  tmp\n[x]\ny = 1\n");
        assert_eq!(c.list("project", "ignore"), vec![".git", "target", "tmp"]);
        assert_eq!(c.get("x", "y"), Some("1"));
    }

    #[test]
    fn continuation_with_trailing_backslash_before_next_section() {
        let c = parse_ok("[parser]\nspec = \\\n  a \\\n  b \\\n\n[build]\nk = v\n");
        assert_eq!(c.get("parser", "spec"), Some("a b"));
        assert_eq!(c.get("build", "k"), Some("v"));
    }

    #[test]
    fn comments_are_skipped_and_values_keep_symbols() {
        let c = parse_ok(
            "# top\n; also\n[buck2_re_client]\n# inside\nhttp_headers = Authorization:$T=1;2\n",
        );
        assert_eq!(
            c.get("buck2_re_client", "http_headers"),
            Some("Authorization:$T=1;2")
        );
    }

    #[test]
    fn repeated_sections_merge_and_later_keys_win() {
        let c = parse_ok("[cells]\na = x\n[other]\n[cells]\nb = y\na = z\n");
        assert_eq!(c.get("cells", "a"), Some("z"));
        assert_eq!(c.get("cells", "b"), Some("y"));
        assert_eq!(c.sections["cells"]["a"].line, 6);
    }

    #[test]
    fn key_without_equals_is_an_error_with_line() {
        let err = parse(
            "[cells]\nroot = .\nbroken line\n",
            Path::new("r/.buckconfig"),
        )
        .unwrap_err();
        assert_eq!(err.at.unwrap().line, 3);
        assert!(err.message.contains("broken line"), "{}", err.message);
    }

    #[test]
    fn a_comment_after_a_section_header_is_allowed() {
        let c = parse_ok("[buildfile]\n[not_buildfile] # @oss-enable\nname_v2 = TARGETS,BUCK\n");
        assert_eq!(c.get("not_buildfile", "name_v2"), Some("TARGETS,BUCK"));
        assert_eq!(c.get("buildfile", "name_v2"), None);
        assert!(parse("[cells] x\n", Path::new(".buckconfig")).is_err());
    }

    #[test]
    fn unclosed_section_is_an_error() {
        let err = parse("[cells\nroot = .\n", Path::new(".buckconfig")).unwrap_err();
        assert_eq!(err.at.unwrap().line, 1);
    }

    #[test]
    fn includes_and_buckconfig_d_are_read_in_buck2_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join(".buckconfig.d")).unwrap();
        std::fs::create_dir_all(root.join("cfg")).unwrap();
        std::fs::write(
            root.join(".buckconfig.d/a"),
            "[cells]\nfrom_d = d\nover = d\n",
        )
        .unwrap();
        std::fs::write(
            root.join(".buckconfig"),
            "[cells]\nover = root\n<file:cfg/cells.bcfg>\n<?file:cfg/absent>\n",
        )
        .unwrap();
        std::fs::write(
            root.join("cfg/cells.bcfg"),
            "[cells]\ntoolchains = buck/toolchains\n",
        )
        .unwrap();
        let c = load(root, Path::new("")).unwrap();
        assert_eq!(c.get("cells", "from_d"), Some("d"));
        assert_eq!(c.get("cells", "over"), Some("root"));
        assert_eq!(c.get("cells", "toolchains"), Some("buck/toolchains"));
        assert_eq!(
            c.sections["cells"]["toolchains"].file,
            Path::new("cfg/cells.bcfg")
        );
        std::fs::write(root.join(".buckconfig"), "[cells]\n<file:nope>\n").unwrap();
        let err = load(root, Path::new("")).unwrap_err();
        assert_eq!(err.at.unwrap().line, 2);
    }

    #[test]
    fn key_before_section_is_an_error() {
        let err = parse("root = .\n", Path::new(".buckconfig")).unwrap_err();
        assert!(err.message.contains("before any"));
    }
}

//! Reports for CI: GitHub workflow annotations (`::error file=…,line=…::…`) and SARIF 2.1.0,
//! which GitLab, Azure DevOps and code-scanning dashboards read.

use std::io::Write;

use serde_json::json;

/// Rules a finding can belong to, with what they mean (SARIF lists them once per run).
const RULES: &[(&str, &str)] = &[
    ("out-of-date", "A file `si-nixify generate` would change: it still downloads toolchains or the devshell lacks a tool"),
    ("version-drift", "The devshell provides another version than toolchains/BUCK pinned"),
    ("unknown-download-rule", "A rule that looks like a download but that the knowledge base does not know; left unchanged"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static str,
    pub level: Level,
    pub file: String,
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
}

impl Finding {
    pub fn error(rule: &'static str, file: &str, line: usize, message: String) -> Finding {
        Finding {
            rule,
            level: Level::Error,
            file: file.to_owned(),
            line,
            message,
        }
    }

    pub fn warning(rule: &'static str, file: &str, line: usize, message: String) -> Finding {
        Finding {
            level: Level::Warning,
            ..Finding::error(rule, file, line, message)
        }
    }

    /// A warning whose text starts with `file:line: ` is placed there; any other is placed at
    /// the top of `default_file`.
    pub fn from_warning(text: &str, default_file: &str) -> Finding {
        let placed = text.split_once(": ").and_then(|(place, rest)| {
            let (file, line) = place.rsplit_once(':')?;
            let line: usize = line.parse().ok()?;
            Some((file.to_owned(), line, rest.to_owned()))
        });
        let (file, line, message) =
            placed.unwrap_or_else(|| (default_file.to_owned(), 1, text.to_owned()));
        Finding::warning("unknown-download-rule", &file, line, message)
    }
}

/// One workflow command per finding, escaped as the runner expects.
pub fn github(findings: &[Finding], out: &mut impl Write) -> std::io::Result<()> {
    for f in findings {
        let level = match f.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        writeln!(
            out,
            "::{level} file={},line={},title={}::{}",
            escape_property(&f.file),
            f.line,
            escape_property(&format!("si-nixify {}", f.rule)),
            escape_data(&f.message)
        )?;
    }
    Ok(())
}

fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// A SARIF 2.1.0 log with one run.
pub fn sarif(findings: &[Finding], out: &mut impl Write) -> anyhow::Result<()> {
    let rules: Vec<_> = RULES
        .iter()
        .map(|(id, text)| json!({ "id": id, "shortDescription": { "text": text } }))
        .collect();
    let results: Vec<_> = findings
        .iter()
        .map(|f| {
            json!({
                "ruleId": f.rule,
                "level": match f.level { Level::Error => "error", Level::Warning => "warning" },
                "message": { "text": f.message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": f.file, "uriBaseId": "%SRCROOT%" },
                        "region": { "startLine": f.line }
                    }
                }]
            })
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "si-nixify",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules
            }},
            "results": results
        }]
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_escape_what_the_runner_would_split_on() {
        let mut out = Vec::new();
        let f = Finding::error("out-of-date", "a,b:c", 3, "50% done\nnext".into());
        github(&[f], &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "::error file=a%2Cb%3Ac,line=3,title=si-nixify out-of-date::50%25 done%0Anext\n"
        );
    }

    #[test]
    fn a_warning_with_a_place_is_put_there() {
        let f = Finding::from_warning("toolchains/BUCK:12: `x` looks like a download", "BUCK");
        assert_eq!((f.file.as_str(), f.line), ("toolchains/BUCK", 12));
        assert_eq!(f.message, "`x` looks like a download");
        let g = Finding::from_warning("no place here", "toolchains/BUCK");
        assert_eq!((g.file.as_str(), g.line), ("toolchains/BUCK", 1));
    }
}

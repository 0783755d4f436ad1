//! The text output people read, and the formats CI reads: reviewed goldens of `scan`,
//! `generate --dry-run` and `doctor` on the SI fixture (aligned, no trailing spaces, summary
//! line last), `--format github|sarif`, and a test per message that was once unclear.
//! `SI_NIXIFY_BLESS=1 cargo test --test output` rewrites the goldens (review the diff).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{copy_fixture, run, si_nixify, snapshot};

fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/output")
        .join(name);
    if std::env::var_os("SI_NIXIFY_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (SI_NIXIFY_BLESS=1 writes it)", path.display()));
    assert_eq!(actual, expected, "{name} differs from its golden");
}

/// What every text report must be: no line ending in blanks, no header without rows, and
/// the summary as its last line.
fn assert_clean(text: &str, summary_starts: &str) {
    // A unified diff's blank context line is a lone space, as git writes it: only the report
    // after the diffs is checked for trailing blanks.
    let report = text.find("\nChanges to ").map_or(text, |at| &text[at..]);
    for (i, line) in report.lines().enumerate() {
        assert_eq!(
            line,
            line.trim_end(),
            "line {} ends in spaces: {line:?}",
            i + 1
        );
    }
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.ends_with(':') && !line.starts_with(' ') && !line.starts_with(['-', '+', '@']) {
            let next = lines.get(i + 1).copied().unwrap_or_default();
            assert!(
                next.starts_with("  "),
                "header `{line}` has no rows under it"
            );
        }
    }
    let last = lines.last().copied().unwrap_or_default();
    assert!(last.starts_with(summary_starts), "last line: {last:?}");
    assert!(!text.contains("(s)") && !text.contains("(ies)"), "{text}");
}

/// The column where `word` starts in each line that has it: one column when aligned.
fn columns_of(text: &str, section: &str, word_index: usize) -> Vec<usize> {
    let body = text.split(section).nth(1).unwrap();
    body.lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| {
            let mut words = l
                .match_indices(|c: char| !c.is_whitespace())
                .filter(|(i, _)| *i == 0 || l[..*i].ends_with(' '));
            words
                .nth(word_index)
                .map(|(i, _)| l[..i].chars().count())
                .unwrap()
        })
        .collect()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

#[test]
fn scan_text_is_aligned_and_ends_with_its_summary() {
    let dir = copy_fixture("si-latest");
    let out = run(dir.path(), &["scan"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out).replace(
        &dir.path().canonicalize().unwrap().display().to_string(),
        "<root>",
    );
    assert_clean(
        &text,
        "5 toolchains to rewrite, 5 distributions (13 archives) to delete",
    );
    for (section, col) in [("Targets:", 2), ("Artifacts:", 1), ("Required tools", 2)] {
        let cols = columns_of(&text, section, col);
        assert!(
            cols.len() > 1 && cols.windows(2).all(|w| w[0] == w[1]),
            "{section}: {cols:?}\n{text}"
        );
    }
    golden("scan.txt", &text);
}

#[test]
fn generate_dry_run_shows_diff_then_changes_then_drift_then_summary() {
    let dir = copy_fixture("si-latest");
    let before = snapshot(dir.path());
    let out = run(dir.path(), &["generate", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stderr(&out), "", "the report is on stdout, in order");
    let text = stdout(&out);
    assert_clean(
        &text,
        "dry run: 3 files would change (toolchains/BUCK, .si-nixify/pins.json, flake.nix), nothing written",
    );
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("no `{needle}` in {text}"))
    };
    assert!(at("--- a/toolchains/BUCK") < at("--- a/flake.nix"));
    assert!(at("--- a/flake.nix") < at("\nChanges to toolchains/BUCK:\n"));
    // The flake's change is listed under the flake, not under toolchains/BUCK.
    assert!(at("\nChanges to toolchains/BUCK:\n") < at("\nChanges to flake.nix:\n"));
    assert!(at("\nChanges to flake.nix:\n") < at("add llvmPackages.bintools (linux only)"));
    assert!(at("add llvmPackages.bintools") < at("\ndrift: "));
    assert_eq!(snapshot(dir.path()), before, "a dry run writes nothing");
    golden("generate-dry-run.txt", &text);
}

#[test]
fn generate_json_keeps_stderr_quiet() {
    let dir = copy_fixture("si-latest");
    let out = run(dir.path(), &["generate", "--dry-run", "--json"]);
    assert_eq!(stderr(&out), "");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["version_drift"].as_array().unwrap().len(), 4);
}

/// A PATH of scripts answering `--version` like the real tools, so the golden does not
/// depend on the machine.
fn fake_tools() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, version) in [
        ("clang", "clang version 20.1.0"),
        ("clang++", "clang version 20.1.0"),
        ("ar", "GNU ar (GNU Binutils) 2.44"),
        ("ld.lld", "LLD 20.1.0 (compatible with GNU linkers)"),
        ("python3", "Python 3.13.6"),
        ("rustc", "rustc 1.88.0 (6b00bc388 2025-06-23)"),
        ("rustdoc", "rustdoc 1.88.0 (6b00bc388 2025-06-23)"),
        ("clippy-driver", "clippy 0.1.88 (6b00bc388 2025-06-23)"),
        (
            "deno",
            "deno 2.2.12 (stable, release, x86_64-unknown-linux-gnu)",
        ),
        ("buck2", "buck2 2025-05-06-abcdef"),
        ("rustfmt", "rustfmt 1.8.0-nightly (2025-04-17)"),
        ("cargo", "cargo 1.88.0 (873a06493 2025-05-10)"),
        ("cargo-sort", "cargo-sort 1.0.9"),
        ("taplo", "taplo 0.9.3"),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, format!("#!/bin/sh\necho '{version}'\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

#[test]
fn doctor_text_is_aligned_with_the_stale_row_and_real_plurals() {
    let dir = copy_fixture("si-latest");
    std::fs::create_dir_all(dir.path().join("buck-out/v2/gen/toolchains/rust_dist")).unwrap();
    let bin = fake_tools();
    let out = si_nixify(dir.path())
        .args(["doctor", "--no-probe"])
        .env("PATH", bin.path())
        .env("SI_NIXIFY_SYSTEM_INTERPRETER", "/bin/sh")
        .output()
        .unwrap();
    let text = stdout(&out).replace(&bin.path().display().to_string(), "<bin>");
    assert_clean(&text, "ready: 0 problems, 1 warning");
    let stale = text
        .lines()
        .find(|l| l.contains("buck-out/v2/gen/toolchains "))
        .unwrap();
    assert!(stale.contains("holds 1 entry from"), "{stale}");
    // Every row's `seen` starts in one column, the stale row's (the longest subject) included:
    // two blanks before it and none at it, on every row.
    let rows: Vec<&str> = text
        .lines()
        .take_while(|l| !l.is_empty())
        .filter(|l| !l.starts_with(' '))
        .collect();
    let col = rows[0].find("<bin>/clang").unwrap();
    for row in &rows {
        assert!(
            &row[col - 2..col] == "  " && !row[col..].starts_with(' '),
            "not aligned at {col}: {row}\n{text}"
        );
    }
    // Continuation lines (the fixes) start in the same column.
    for more in text.lines().filter(|l| l.trim_start().starts_with("fix: ")) {
        assert_eq!(more.len() - more.trim_start().len(), col, "{more}");
    }
    golden("doctor.txt", &text);
}

#[test]
fn check_format_github_annotates_each_change_at_its_line() {
    let dir = copy_fixture("si-latest");
    let out = run(dir.path(), &["generate", "--check", "--format", "github"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(!lines.is_empty());
    for line in &lines {
        let (head, message) = line
            .split_once("::")
            .and_then(|(_, r)| r.split_once("::"))
            .unwrap();
        let (level, props) = head.split_once(' ').unwrap();
        assert!(["error", "warning"].contains(&level), "{line}");
        let props: Vec<&str> = props.split(',').collect();
        assert!(
            props[0].starts_with("file=") && props[1].starts_with("line="),
            "{line}"
        );
        assert!(
            props[1]["line=".len()..].parse::<usize>().unwrap() >= 1,
            "{line}"
        );
        assert!(!message.is_empty() && !message.contains('\n'), "{line}");
    }
    assert!(lines.contains(&"::error file=toolchains/BUCK,line=34,title=si-nixify out-of-date::rust_dist: deleted download_rust_distribution(...) — downloads a pre-built archive; the devshell provides the tools instead (run `si-nixify generate`)"), "{text}");
    assert!(lines.contains(&"::error file=flake.nix,line=49,title=si-nixify out-of-date::add llvmPackages.bintools (linux only) to `buck2BuildInputs` — provides ld.lld (run `si-nixify generate`)"), "{text}");
    assert!(lines.contains(&"::error file=.si-nixify/pins.json,line=1,title=si-nixify out-of-date::.si-nixify/pins.json would be created (run `si-nixify generate`)"), "{text}");
    assert!(lines.iter().any(|l| l.starts_with("::warning file=flake.nix,line=50,title=si-nixify version-drift::toolchains/BUCK:24 pinned clang 20.1.0")), "{text}");
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("::warning")).count(),
        4
    );
    // Up to date: no annotations, exit 0.
    let done = copy_fixture("system-only");
    let out = run(done.path(), &["generate", "--check", "--format", "github"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "");
}

#[test]
fn check_format_sarif_is_a_sarif_log_with_locations() {
    let dir = copy_fixture("si-latest");
    let out = run(dir.path(), &["generate", "--check", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "si-nixify");
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let results = run["results"].as_array().unwrap();
    assert!(results.len() > 10);
    for r in results {
        assert!(rules.contains(&r["ruleId"].as_str().unwrap()), "{r}");
        let loc = &r["locations"][0]["physicalLocation"];
        assert!(loc["artifactLocation"]["uri"]
            .as_str()
            .is_some_and(|u| !u.starts_with('/')));
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
    }
}

// ---- one test per message that used to be unclear ----

#[test]
fn non_utf8_buckconfig_names_its_line_relative_to_the_root() {
    let dir = copy_fixture("si-latest");
    let cfg = dir.path().join(".buckconfig");
    let mut bytes = std::fs::read(&cfg).unwrap();
    bytes.extend_from_slice(b"[project]\nname = \xff\n");
    let lines = bytes.iter().filter(|b| **b == b'\n').count();
    std::fs::write(&cfg, bytes).unwrap();
    let out = run(dir.path(), &["scan"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "error: .buckconfig:{lines}:8: the file is not valid UTF-8"
        )),
        "{err}"
    );
    assert!(
        err.contains("help: Buck2 reads .buckconfig files as UTF-8"),
        "{err}"
    );
    assert!(
        !err.contains(&dir.path().display().to_string()),
        "no absolute path: {err}"
    );
}

#[test]
fn non_utf8_flake_is_told_about_nix_not_buck2() {
    let dir = copy_fixture("si-latest");
    let flake = dir.path().join("flake.nix");
    let mut bytes = std::fs::read(&flake).unwrap();
    bytes.splice(0..0, b"# \xe9t\xe9\n".iter().copied());
    std::fs::write(&flake, bytes).unwrap();
    let out = run(dir.path(), &["generate"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: flake.nix:1:3: the file is not valid UTF-8"),
        "{err}"
    );
    assert!(err.contains("help: Nix reads .nix files as UTF-8"), "{err}");
    assert!(!err.contains("Buck2"), "{err}");
}

#[test]
fn flake_syntax_error_is_in_words_at_line_and_column() {
    let dir = copy_fixture("si-latest");
    let flake = dir.path().join("flake.nix");
    let text = std::fs::read_to_string(&flake).unwrap();
    // Drop the first `;`: the parser stops at the next binding, on the next non-blank line.
    let at = text.find(';').unwrap();
    let blank_after = text[at + 1..]
        .lines()
        .skip(1)
        .take_while(|l| l.trim().is_empty())
        .count();
    let line = text[..at].matches('\n').count() + 2 + blank_after;
    std::fs::write(&flake, format!("{}{}", &text[..at], &text[at + 1..])).unwrap();
    let out = run(dir.path(), &["generate"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    let first = err.lines().next().unwrap();
    assert!(
        first.starts_with(&format!("error: flake.nix:{line}:")),
        "{err}"
    );
    assert!(first.contains("Nix syntax error: unexpected `"), "{err}");
    assert!(first.contains("expected "), "{err}");
    assert!(!err.contains("TOKEN_") && !err.contains(".."), "{err}");
    assert!(
        err.contains("help: fix `flake.nix` there first (or pass --no-flake"),
        "{err}"
    );
}

#[test]
fn a_missing_flake_file_says_so_and_what_to_pass() {
    let dir = copy_fixture("si-latest");
    let out = run(dir.path(), &["generate", "--flake", "/missing.nix"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: --flake `/missing.nix`: no such file\n"),
        "{err}"
    );
    assert!(
        err.contains("help: name the Nix file whose devShell runs buck2"),
        "{err}"
    );
    assert!(!err.contains(":1:1"), "{err}");
}

#[test]
fn repo_that_is_a_file_is_called_a_file() {
    let dir = copy_fixture("si-latest");
    let file = dir.path().join("flake.nix");
    let out = si_nixify(&file).arg("scan").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("flake.nix` is a file, not a directory"),
        "{err}"
    );
    assert!(
        err.contains("help: pass the repo's directory with --repo"),
        "{err}"
    );
    assert!(!err.contains("not inside a Buck2 project"), "{err}");
}

#[test]
fn read_only_commands_do_not_say_nothing_was_written() {
    let dir = copy_fixture("si-latest");
    let buck = dir.path().join("toolchains/BUCK");
    std::fs::write(&buck, "broken(\n  x = ,\n)\n").unwrap();
    let scan = stderr(&run(dir.path(), &["scan"]));
    assert!(
        scan.starts_with("error: toolchains/BUCK:2:7: Starlark syntax error"),
        "{scan}"
    );
    assert!(!scan.contains("written"), "{scan}");
    let generate = stderr(&run(dir.path(), &["generate"]));
    assert!(
        generate.ends_with("note: nothing was written\n"),
        "{generate}"
    );
    assert_eq!(
        generate.matches("nothing was written").count(),
        1,
        "{generate}"
    );
}

#[test]
fn http_archive_urls_are_listed_once() {
    let dir = copy_fixture("upstream-go");
    let out = run(dir.path(), &["scan", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let refs = doc["remote_references"].as_array().unwrap();
    let archives: Vec<&serde_json::Value> = refs
        .iter()
        .filter(|r| r["kind"] == "http_archive")
        .collect();
    assert!(!archives.is_empty(), "{doc:#}");
    for a in archives {
        let same = refs
            .iter()
            .filter(|r| r["url"] == a["url"] && !a["url"].is_null())
            .count();
        assert_eq!(same, 1, "{} is listed {same} times", a["url"]);
    }
}

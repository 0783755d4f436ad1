//! The knowledge base is data: a repo teaches the tool its own rules with .si-nixify/*.json,
//! and every knowledge file follows schema/knowledge.schema.json.

mod common;

use std::path::Path;

#[cfg(feature = "eval")]
use common::snapshot;
use common::{copy_fixture, read, run};
use serde_json::Value;

#[test]
fn a_repo_local_file_teaches_a_company_rule_with_no_code_change() {
    let dir = copy_fixture("company-acme");
    let out = run(dir.path(), &["generate", "--no-flake"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/company-acme/BUCK");
    assert_eq!(read(&dir.path().join("toolchains/BUCK")), read(&golden));

    let scan = run(copy_fixture("company-acme").path(), &["scan", "--json"]);
    let doc: Value = serde_json::from_slice(&scan.stdout).unwrap();
    let dist = &doc["distributions"][0];
    assert_eq!(dist["rule"], "acme_fetch_node");
    // Derived from ACME's own rule code: its `mirror` default and its path format.
    assert!(dist["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["url"]
            == "https://mirror.acme.example/dist/node/v20.11.0/node-v20.11.0-linux-x86_64.tar.xz"));
    let node = doc["required_tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["binary"] == "node")
        .unwrap();
    assert_eq!(node["nix"], "nodejs");
}

#[test]
#[cfg(feature = "eval")]
fn without_the_local_file_the_unknown_rules_are_left_alone_and_named() {
    let dir = copy_fixture("company-acme");
    std::fs::remove_dir_all(dir.path().join(".si-nixify")).unwrap();
    let before = snapshot(dir.path());
    let out = run(dir.path(), &["generate", "--no-flake"]);
    // Downloads it cannot rewrite are never hidden: exit 1, each one listed.
    assert_eq!(out.status.code(), Some(1));
    // The warnings are part of the report, after what changed and before the summary, each
    // naming file:line.
    let text = String::from_utf8(out.stdout).unwrap();
    // Found by what it does: the macro `acme_fetch_node` makes an `acme_archive` target whose
    // implementation calls `download_file`; named at the BUCK line a person edits, with the
    // toolchain that uses it.
    let line = text
        .lines()
        .find(|l| l.contains("`toolchains//:node_dist` downloads (rule `acme_archive`)"))
        .unwrap_or_else(|| panic!("no warning for the download in:\n{text}"));
    assert!(line.starts_with("warning: toolchains/BUCK:4: "), "{line}");
    assert!(line.contains("for toolchains//:node;"), "{line}");
    assert!(
        text.trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("nothing si-nixify knows how to change; 1 warning above names"),
        "{text}"
    );
    assert!(
        text.trim_end()
            .ends_with("; 1 download left that si-nixify cannot rewrite (listed above, exit 1)"),
        "{text}"
    );
    let json = run(dir.path(), &["generate", "--no-flake", "--json"]);
    assert_eq!(json.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let left: Vec<(&str, u64)> = doc["downloads_left"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["rule"].as_str().unwrap(), d["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(left, [("acme_archive", 4)]);
    assert_eq!(
        snapshot(dir.path()),
        before,
        "unknown rules stay byte-identical"
    );
}

#[test]
fn a_broken_local_file_is_an_error_with_its_location() {
    let dir = copy_fixture("company-acme");
    let file = dir.path().join(".si-nixify/acme.json");
    std::fs::write(
        &file,
        read(&file).replace("\"version_attr\"", "\"versoin_attr\""),
    )
    .unwrap();
    let out = run(dir.path(), &["scan"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains(".si-nixify/acme.json:5:"), "{err}");
    assert!(err.contains("unknown field `versoin_attr`"), "{err}");
}

/// Every built-in and fixture knowledge file validates against the published JSON schema,
/// and the schema rejects a file the tool rejects.
#[test]
fn knowledge_files_follow_the_json_schema() {
    let Some(python) = std::env::var_os("SI_NIXIFY_PYTHON") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must set SI_NIXIFY_PYTHON (see .ci/install)"
        );
        println!("skipped: set SI_NIXIFY_PYTHON to a python with jsonschema");
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<String> = std::fs::read_dir(root.join("toolchains"))
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    files.push(
        root.join("tests/fixtures/company-acme/.si-nixify/acme.json")
            .display()
            .to_string(),
    );
    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        bad.path(),
        r#"{"family": "x", "toolchains": [{"rule": "r"}]}"#,
    )
    .unwrap();
    let script = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
for f in sys.argv[3:]:
    jsonschema.validate(json.load(open(f)), schema)
try:
    jsonschema.validate(json.load(open(sys.argv[2])), schema)
except jsonschema.ValidationError:
    print("rejected the bad file")
"#;
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(root.join("schema/knowledge.schema.json"))
        .arg(bad.path())
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        "rejected the bad file"
    );
    assert!(files.len() >= 8, "{files:?}");
}

//! `scan --all`: the whole repo's remote references, honouring .gitignore and `[project]
//! ignore`; a file that fails to parse is reported and skipped, and the exit code is 1.

mod common;

use common::run;

#[path = "../examples/gen_tree.rs"]
mod gen_tree;

use serde_json::Value;

fn scan_all(dir: &std::path::Path) -> (Option<i32>, Value, String) {
    scan_all_with(dir, &[])
}

fn scan_all_with(dir: &std::path::Path, extra: &[&str]) -> (Option<i32>, Value, String) {
    let mut args = vec!["scan", "--all", "--json"];
    args.extend_from_slice(extra);
    let out = run(dir, &args);
    let doc = serde_json::from_slice(&out.stdout).unwrap();
    (
        out.status.code(),
        doc,
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn finds_every_reference_and_skips_ignored_paths() {
    let dir = tempfile::tempdir().unwrap();
    gen_tree::generate(dir.path(), 200).unwrap();
    let (code, doc, _) = scan_all(dir.path());
    assert_eq!(code, Some(0));
    // 200 generated files plus toolchains/BUCK; the three ignored ones are not read.
    assert_eq!(doc["files_scanned"], 201);
    let refs = doc["remote_references"].as_array().unwrap();
    assert!(refs
        .iter()
        .all(|r| !r["url"].as_str().unwrap_or_default().contains("skipped")));
    // Every tenth file has references: 20 files, each with a doc URL and http_archive calls.
    let files: std::collections::BTreeSet<&str> =
        refs.iter().map(|r| r["file"].as_str().unwrap()).collect();
    assert_eq!(files.len(), 20, "{files:?}");
    assert!(refs.iter().any(|r| r["kind"] == "http_archive"
        && r["url"] == "https://mirror.example.invalid/pkg0/dep-3.tar.gz"));
    assert!(refs
        .iter()
        .any(|r| r["kind"] == "url" && r["url"] == "https://docs.example.invalid/pkg10"));
}

#[test]
fn a_file_that_fails_to_parse_is_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    gen_tree::generate(dir.path(), 30).unwrap();
    let broken = dir.path().join("pkg0/sub0/p1/BUCK");
    // A URL in it, so the byte pre-filter hands it to the parser.
    std::fs::write(
        &broken,
        "lib(\n    name = ,\n    url = \"https://example.invalid/x\",\n)\n",
    )
    .unwrap();
    let (code, doc, err) = scan_all(dir.path());
    assert_eq!(code, Some(1));
    let failures = doc["parse_failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0]["file"], "pkg0/sub0/p1/BUCK");
    assert!(
        failures[0]["message"]
            .as_str()
            .unwrap()
            .contains("pkg0/sub0/p1/BUCK:2:12"),
        "{failures:?}"
    );
    // The path once, no advice about writing (scan writes nothing), no help inside the JSON.
    let message = failures[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("pkg0/sub0/p1/BUCK:2:12: Starlark syntax error"),
        "{message}"
    );
    assert_eq!(message.matches("pkg0/sub0/p1/BUCK").count(), 1, "{message}");
    assert!(
        !message.contains("help:") && !message.contains("written"),
        "{message}"
    );
    assert!(
        err.contains("error: pkg0/sub0/p1/BUCK:2:12: Starlark syntax error")
            && err.contains("(skipped)"),
        "{err}"
    );
    // The other files were still read.
    assert_eq!(doc["files_scanned"], 31);
    assert!(!doc["remote_references"].as_array().unwrap().is_empty());
}

#[test]
fn a_broken_file_that_can_hold_no_reference_is_parsed_only_with_parse_all() {
    let dir = tempfile::tempdir().unwrap();
    gen_tree::generate(dir.path(), 30).unwrap();
    // No `://` and no download call's name: nothing in it could be a reference.
    let broken = dir.path().join("pkg0/sub0/p1/BUCK");
    std::fs::write(&broken, "lib(\n    name = ,\n)\n").unwrap();
    let (code, doc, _) = scan_all(dir.path());
    assert_eq!(code, Some(0), "{doc}");
    assert_eq!(doc["parse_failures"].as_array().unwrap().len(), 0);
    assert_eq!(doc["files_scanned"], 31);
    let (code, doc, err) = scan_all_with(dir.path(), &["--parse-all"]);
    assert_eq!(code, Some(1));
    let failures = doc["parse_failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        err.contains("error: pkg0/sub0/p1/BUCK:2:12: Starlark syntax error"),
        "{err}"
    );
    // The same references either way: the files passed over held none.
    let (_, quick, _) = scan_all(dir.path());
    assert_eq!(quick["remote_references"], doc["remote_references"]);
}

//! `si-nixify scan`: the inventory of each fixture, asserted key by key.

mod common;

use common::{copy_fixture, run};
use serde_json::Value;

fn scan_json(fixture: &str) -> Value {
    let dir = copy_fixture(fixture);
    let out = run(dir.path(), &["scan", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_design_schema(&doc);
    doc
}

fn is_str_or_null(v: &Value) -> bool {
    v.is_string() || v.is_null()
}

/// The keys DESIGN.md makes required for schema_version 1, with their types.
fn assert_design_schema(doc: &Value) {
    assert_eq!(doc["schema_version"], 1);
    assert!(
        doc["root"].as_str().is_some_and(|r| r.starts_with('/')),
        "root must be absolute"
    );
    assert!(doc["toolchains_file"].is_string());
    for t in doc["targets"].as_array().expect("targets") {
        assert!(
            t["name"].is_string() && t["rule"].is_string() && t["line"].is_u64(),
            "{t}"
        );
        let status = t["status"].as_str().unwrap();
        assert!(["hermetic", "distribution", "system", "custom", "other"].contains(&status));
        for k in ["family", "replacement", "distribution"] {
            assert!(t.get(k).is_some_and(is_str_or_null), "target key {k}: {t}");
        }
    }
    for d in doc["distributions"].as_array().expect("distributions") {
        assert!(
            d["name"].is_string() && d["rule"].is_string() && d["line"].is_u64(),
            "{d}"
        );
        assert!(is_str_or_null(&d["family"]) && is_str_or_null(&d["version"]));
        for a in d["artifacts"].as_array().expect("artifacts") {
            assert!(a["os"].is_string() && a["arch"].is_string(), "{a}");
            assert!(
                is_str_or_null(&a["sha256"]) && is_str_or_null(&a["url"]),
                "{a}"
            );
        }
    }
    for r in doc["remote_references"]
        .as_array()
        .expect("remote_references")
    {
        assert!(
            r["file"].as_str().is_some_and(|f| !f.starts_with('/')),
            "paths are relative: {r}"
        );
        assert!(r["line"].is_u64() && is_str_or_null(&r["url"]), "{r}");
    }
    for t in doc["required_tools"].as_array().expect("required_tools") {
        assert!(
            t["binary"].is_string() && t["why"].is_string() && t["nix"].is_string(),
            "{t}"
        );
    }
}

fn find<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|x| x[key] == value)
        .unwrap_or_else(|| panic!("no entry with {key} = {value} in {list}"))
}

fn linux_x86_64(dist: &Value) -> &Value {
    dist["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["os"] == "linux" && a["arch"] == "x86_64")
        .unwrap_or_else(|| panic!("no linux/x86_64 artifact in {dist}"))
}

#[test]
fn si_latest_lists_five_distributions_with_derived_urls() {
    let doc = scan_json("si-latest");
    assert_eq!(doc["toolchains_file"], "toolchains/BUCK");
    let dists = &doc["distributions"];
    assert_eq!(dists.as_array().unwrap().len(), 5);
    let expected = [
        (
            "clang",
            "clang",
            "20.1.0",
            24,
            "1aa13150f61144bb4718aab8238f7d7239741534bf064952c4eca6c630000a3d",
        ),
        (
            "deno_dist",
            "deno",
            "2.2.12",
            29,
            "084d318f605f0d302ea2503b00082cfd97559f3a24286eb2970971344918a8cc",
        ),
        (
            "rust_dist",
            "rust",
            "1.88.0",
            34,
            "1b3609cf31991835b8384e719f129606ff076ab9ddd1bb2b6695e845f668df35",
        ),
        (
            "rustfmt_nightly_dist",
            "rust",
            "nightly-2025-04-17",
            39,
            "9bd371fd9857e853af6ec66757795540e43ff6edec72c8d16271cf1fe267014a",
        ),
        (
            "python_dist",
            "python",
            "3.13.6",
            44,
            "2831557346ce5be01856455ad1fe3a5c4438e84d12ef9e8860b8891c5fed6d33",
        ),
    ];
    for (name, family, version, line, sha) in expected {
        let d = find(dists, "name", name);
        assert_eq!(d["family"], family, "{d}");
        assert_eq!(d["version"], version, "{d}");
        assert_eq!(d["line"], line, "{d}");
        let a = linux_x86_64(d);
        assert_eq!(a["sha256"], sha);
        assert_eq!(
            a["url"],
            format!("https://artifacts.systeminit.com/toolchains/{family}/{version}/linux/x86_64/{family}-{version}-linux-x86_64.tar.gz")
        );
    }
    // Every os/arch of the checksum table is an artifact: rust 1.88.0 has three.
    assert_eq!(
        find(dists, "name", "rust_dist")["artifacts"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn si_latest_classifies_targets() {
    let doc = scan_json("si-latest");
    let targets = &doc["targets"];
    let cxx = find(targets, "name", "cxx");
    assert_eq!(cxx["status"], "hermetic");
    assert_eq!(cxx["replacement"], "system_cxx_toolchain");
    assert_eq!(cxx["distribution"], "clang");
    assert_eq!(cxx["family"], "clang");
    let rust = find(targets, "name", "rust_release");
    assert_eq!(
        (rust["status"].as_str(), rust["line"].as_u64()),
        (Some("hermetic"), Some(86))
    );
    assert_eq!(find(targets, "name", "clang")["status"], "distribution");
    assert_eq!(find(targets, "name", "genrule")["status"], "system");
    let deno = find(targets, "name", "deno-linux-x86_64");
    assert_eq!(deno["status"], "custom");
    assert_eq!(deno["distribution"], "deno_dist");
    assert_eq!(find(targets, "name", "toml")["distribution"], "rust_dist");
    assert_eq!(find(targets, "name", "si_rust")["status"], "custom");
    let alias = find(targets, "name", "rust");
    assert_eq!(alias["status"], "other");
    assert!(
        alias["family"].is_null()
            && alias["replacement"].is_null()
            && alias["distribution"].is_null()
    );
}

#[test]
fn si_latest_requires_lld_for_cxx_and_rust_flags() {
    let doc = scan_json("si-latest");
    let tools = &doc["required_tools"];
    let lld = find(tools, "binary", "ld.lld");
    // The wrapped ld.lld: plain lld sets no RUNPATH (nixpkgs #24744).
    assert_eq!(lld["nix"], "llvmPackages.bintools");
    assert_eq!(lld["platform"], "linux", "both needs are Linux-only");
    let why = lld["why"].as_str().unwrap();
    assert!(why.contains("system_cxx_toolchain"), "{why}");
    assert!(why.contains("rust_release"), "{why}");
    for binary in [
        "rustc",
        "rustdoc",
        "clippy-driver",
        "clang",
        "clang++",
        "python3",
        "deno",
    ] {
        find(tools, "binary", binary);
    }
}

#[test]
fn si_latest_remote_references_include_the_bucket_default_and_the_download_call() {
    let doc = scan_json("si-latest");
    let refs = doc["remote_references"].as_array().unwrap();
    assert!(refs.iter().any(|r| r["file"] == "prelude-si/artifact.bzl"
        && r["url"] == "https://artifacts.systeminit.com/toolchains"
        && r["line"] == 33));
    assert!(refs.iter().any(|r| r["file"] == "prelude-si/artifact.bzl"
        && r["kind"] == "download_file"
        && r["line"] == 24));
}

#[test]
fn older_shape_takes_urls_from_the_release_tables() {
    let doc = scan_json("si-older");
    let dists = &doc["distributions"];
    assert_eq!(dists.as_array().unwrap().len(), 4);
    let rust = find(dists, "name", "rust_dist");
    let a = linux_x86_64(rust);
    assert_eq!(
        a["url"],
        "https://static.rust-lang.org/dist/rust-1.88.0-x86_64-unknown-linux-gnu.tar.xz"
    );
    assert_eq!(
        a["sha256"],
        "7b5437c1d18a174faae253a18eac22c32288dccfc09ff78d5ee99b7467e21bca"
    );
    let deno = find(dists, "name", "deno_dist");
    assert!(deno["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["os"] == "darwin" && a["arch"] == "aarch64"));
    let hermetic_deno = find(&doc["targets"], "name", "deno");
    assert_eq!(hermetic_deno["status"], "hermetic");
    assert_eq!(hermetic_deno["replacement"], "deno_toolchain");
    // The rustc flag is not inside a select: lld is needed on every platform.
    assert!(find(&doc["required_tools"], "binary", "ld.lld")["platform"].is_null());
    let refs = doc["remote_references"].as_array().unwrap();
    assert!(refs
        .iter()
        .any(|r| r["file"] == "toolchains/rust_distribution.bzl" && r["line"] == 14));
}

#[test]
fn system_only_repo_has_nothing_to_download() {
    let doc = scan_json("system-only");
    assert!(doc["distributions"].as_array().unwrap().is_empty());
    assert!(doc["remote_references"].as_array().unwrap().is_empty());
    assert!(doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["status"] == "system" || t["rule"] == "deno_toolchain"));
    find(&doc["required_tools"], "binary", "ld.lld");
}

#[test]
fn scan_outside_a_buck2_repo_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["scan"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("is not inside a Buck2 project"), "{err}");
    assert_eq!(
        err.lines()
            .filter(|l| !l.trim_start().starts_with("help:"))
            .count(),
        1,
        "{err}"
    );
}

#[test]
fn human_table_names_each_distribution_and_tool() {
    let dir = copy_fixture("si-latest");
    let out = run(dir.path(), &["scan"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("rustfmt_nightly_dist"), "{text}");
    assert!(text.contains("ld.lld"), "{text}");
    assert!(text.contains("https://artifacts.systeminit.com/toolchains/deno/2.2.12/linux/x86_64/deno-2.2.12-linux-x86_64.tar.gz"));
}

#[test]
fn url_that_cannot_be_derived_is_null_and_explained() {
    let dir = copy_fixture("si-latest");
    let artifact = dir.path().join("prelude-si/artifact.bzl");
    let text = common::read(&artifact).replace(
        "ctx.actions.download_file(archive.as_output(), url,",
        "ctx.actions.download_file(archive.as_output(), mirror_of(url),",
    );
    std::fs::write(&artifact, text).unwrap();
    let out = run(dir.path(), &["scan", "--json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = linux_x86_64(find(&doc["distributions"], "name", "rust_dist"));
    assert!(a["url"].is_null());
    assert!(a["sha256"].is_string());
    let table = String::from_utf8(run(dir.path(), &["scan"]).stdout).unwrap();
    assert!(
        table
            .contains("url unknown because the URL passed to download_file in `artifact_download`"),
        "{table}"
    );
}

#[test]
fn upstream_download_shapes_are_listed_as_distributions() {
    let zig = scan_json("upstream-zig");
    let d = find(&zig["distributions"], "name", "zig");
    assert_eq!(
        (d["family"].as_str(), d["version"].as_str()),
        (Some("zig"), Some("0.11.0"))
    );
    let a = linux_x86_64(d);
    assert_eq!(
        a["url"],
        "https://ziglang.org/download/0.11.0/zig-linux-x86_64-0.11.0.tar.xz"
    );
    assert_eq!(
        a["sha256"],
        "2d00e789fec4f71790a6e7bf83ff91d564943c5ee843c5fd966efc474b423047"
    );
    // "src" and "date" in the release table are not platforms.
    assert!(d["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["os"] != "unknown"));

    let go = scan_json("upstream-go");
    let d = find(&go["distributions"], "name", "go_distr");
    assert_eq!(d["version"], "1.24.4");
    assert_eq!(
        linux_x86_64(d)["url"],
        "https://go.dev/dl/go1.24.4.linux-amd64.tar.gz"
    );
    assert_eq!(
        find(&go["targets"], "name", "archive_go1.24.4.linux-amd64")["status"],
        "distribution"
    );
    assert_eq!(
        find(&go["targets"], "name", "go")["replacement"],
        "system_go_toolchain"
    );
    find(&go["required_tools"], "binary", "go");

    let py = scan_json("upstream-python");
    let d = find(&py["distributions"], "name", "python");
    assert_eq!(
        d["version"], "3.14.0rc1",
        "read from the JSON the BUCK file loads"
    );
    let a = d["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["os"] == "darwin" && a["arch"] == "aarch64")
        .unwrap();
    assert_eq!(
        a["sha256"],
        "cc5aa2d09e479c95aa1a1c12e31ed0bca122c98c0b9e430c8121e23867af3d13"
    );
    // A URL built by a helper call is not mistaken for the literal "url".
    assert!(py["remote_references"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["url"] != "url"));
}

#[test]
fn si_latest_requires_what_its_own_toolchain_rules_run_from_path() {
    let doc = scan_json("si-latest");
    let tools = &doc["required_tools"];
    // Read from the rules' implementations: si_rust_toolchain falls back to
    // cmd_args("rustfmt") once rustfmt_dist is gone; toml_toolchain runs cargo (its fallback),
    // cargo-sort and taplo.
    for (binary, nix, rule) in [
        ("rustfmt", "rustfmt", "si_rust_toolchain"),
        ("cargo", "cargo", "toml_toolchain"),
        ("cargo-sort", "cargo-sort", "toml_toolchain"),
        ("taplo", "taplo", "toml_toolchain"),
    ] {
        let t = find(tools, "binary", binary);
        assert_eq!(t["nix"], nix, "{t:#}");
        let why = t["why"].as_str().unwrap();
        assert!(why.contains(rule) && why.contains("from PATH"), "{why}");
        assert!(
            why.contains("prelude-si/"),
            "names the implementation's file: {why}"
        );
    }
    // rustfmt had a nightly of its own: the devshell's release rustfmt is drift.
    assert_eq!(
        find(tools, "binary", "rustfmt")["pinned"],
        "nightly-2025-04-17"
    );
    let drift = find(&doc["version_drift"], "family", "rustfmt");
    assert_eq!(drift["pinned"], "nightly-2025-04-17");
    assert!(
        drift["fix"]
            .as_str()
            .unwrap()
            .contains("rust-bin.nightly.\"2025-04-17\""),
        "{drift:#}"
    );
    // cargo comes from the same rust_dist as rustc: no second pin for it.
    assert!(doc["pins"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["family"] != "cargo"));
}

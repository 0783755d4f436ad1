//! The whole toolchains cell: sub-packages, build file names, a cell at any path, external
//! preludes, and every Buck2 era's Starlark.

mod common;

use std::path::Path;

use common::{copy_fixture, read, run, snapshot};
use serde_json::Value;

fn golden(fixture: &str, file: &str) -> String {
    read(&Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/{fixture}/{file}")))
}

fn scan_json(dir: &Path) -> Value {
    let out = run(dir, &["scan", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn generate_ok(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["generate"];
    all.extend_from_slice(args);
    let out = run(dir, &all);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn assert_refused(dir: &Path, expected: &str) {
    let before = snapshot(dir);
    let out = run(dir, &["generate", "--no-flake"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(expected), "expected `{expected}` in: {err}");
    assert_eq!(
        snapshot(dir),
        before,
        "bad input must leave every file as it was"
    );
}

#[test]
fn every_package_of_the_cell_is_rewritten_and_the_forwarding_top_package_is_kept() {
    let dir = copy_fixture("subpackages");
    let top = read(&dir.path().join("toolchains/BUCK"));
    generate_ok(dir.path(), &["--no-flake"]);
    for file in ["toolchains/go/BUCK", "toolchains/python/BUCK"] {
        assert_eq!(
            read(&dir.path().join(file)),
            golden("subpackages", file),
            "{file}"
        );
    }
    assert_eq!(read(&dir.path().join("toolchains/BUCK")), top);
    let again = generate_ok(dir.path(), &["--no-flake", "--check"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains(
        "nothing to do: the toolchains cell (3 build files) is already on system toolchains"
    ));
}

#[test]
fn scan_lists_every_build_file_and_follows_alias_chains() {
    let doc = scan_json(&common::fixtures().join("subpackages"));
    assert_eq!(doc["toolchains_file"], "toolchains/BUCK");
    assert_eq!(
        doc["toolchains_files"],
        serde_json::json!([
            "toolchains/BUCK",
            "toolchains/go/BUCK",
            "toolchains/python/BUCK"
        ])
    );
    let target = |file: &str, name: &str| {
        doc["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["file"] == file && t["name"] == name)
            .unwrap_or_else(|| panic!("{file}:{name} in {doc}"))
            .clone()
    };
    assert_eq!(target("toolchains/go/BUCK", "go")["status"], "hermetic");
    // The graph: toolchain → distribution → the archives it unpacks.
    assert_eq!(
        target("toolchains/go/BUCK", "go")["deps"],
        serde_json::json!(["toolchains//go:sdk"])
    );
    assert_eq!(
        target("toolchains/go/BUCK", "sdk")["deps"],
        serde_json::json!([
            "toolchains//go:sdk-darwin-arm64",
            "toolchains//go:sdk-linux-amd64"
        ])
    );
    assert_eq!(
        target("toolchains/python/BUCK", "python")["status"],
        "hermetic"
    );
    // `select` branches and an alias of an alias lead to the sub-package's targets.
    assert_eq!(
        target("toolchains/BUCK", "go")["resolves_to"],
        serde_json::json!(["toolchains//go:go"])
    );
    assert_eq!(
        target("toolchains/BUCK", "go_bootstrap")["resolves_to"],
        serde_json::json!(["toolchains//go:go_bootstrap"])
    );
    let dists: Vec<(String, String)> = doc["distributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["file"].as_str().unwrap().to_owned(),
                d["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        dists.contains(&("toolchains/go/BUCK".into(), "sdk".into())),
        "{dists:?}"
    );
    assert!(
        dists.contains(&("toolchains/python/BUCK".into(), "python".into())),
        "{dists:?}"
    );
}

#[test]
fn check_reports_drift_in_a_sub_package() {
    let dir = copy_fixture("subpackages");
    let out = run(dir.path(), &["generate", "--no-flake", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("+++ b/toolchains/go/BUCK"), "{stdout}");
    assert!(stdout.contains("+++ b/toolchains/python/BUCK"), "{stdout}");
}

#[test]
fn a_syntax_error_in_one_package_stops_every_file() {
    let dir = copy_fixture("subpackages");
    let python = dir.path().join("toolchains/python/BUCK");
    std::fs::write(
        &python,
        read(&python).replace("name = \"python\",", "name = ,"),
    )
    .unwrap();
    assert_refused(
        dir.path(),
        "toolchains/python/BUCK:5:12: Starlark syntax error",
    );
}

#[test]
fn a_package_that_cannot_be_planned_leaves_the_others_unwritten() {
    let dir = copy_fixture("subpackages");
    let python = dir.path().join("toolchains/python/BUCK");
    std::fs::write(
        &python,
        read(&python).replace("    name = \"python\",\n", "    \"python\",\n"),
    )
    .unwrap();
    assert_refused(
        dir.path(),
        "toolchains/python/BUCK:5:5: positional argument",
    );
}

#[test]
fn build_files_are_found_by_the_cells_own_buildfile_names() {
    let dir = copy_fixture("buildfile-names");
    let decoys =
        ["toolchains/BUCK", "toolchains/go/TARGETS"].map(|f| (f, read(&dir.path().join(f))));
    let doc = scan_json(dir.path());
    assert_eq!(doc["toolchains_file"], "toolchains/TARGETS");
    assert_eq!(
        doc["toolchains_files"],
        serde_json::json!(["toolchains/TARGETS", "toolchains/go/TARGETS.v2"])
    );
    generate_ok(dir.path(), &["--no-flake"]);
    for file in ["toolchains/TARGETS", "toolchains/go/TARGETS.v2"] {
        assert_eq!(
            read(&dir.path().join(file)),
            golden("buildfile-names", file),
            "{file}"
        );
    }
    for (file, text) in decoys {
        assert_eq!(
            read(&dir.path().join(file)),
            text,
            "{file} is not a build file here"
        );
    }
    assert!(!dir.path().join("toolchains/go/BUCK").exists());
}

#[test]
fn a_toolchains_cell_at_another_path_is_found_through_includes_and_aliases() {
    let dir = copy_fixture("nested-cell-path");
    let configs = [
        ".buckconfig",
        "buck/cells.buckconfig",
        ".buckconfig.d/10-aliases.buckconfig",
        "buck/toolchains/.buckconfig",
    ]
    .map(|f| (f, read(&dir.path().join(f))));
    let doc = scan_json(dir.path());
    assert_eq!(doc["toolchains_file"], "buck/toolchains/BUCK");
    let go = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "go")
        .unwrap();
    assert_eq!(go["status"], "hermetic");
    assert_eq!(go["file"], "buck/toolchains/BUCK");
    generate_ok(dir.path(), &["--no-flake"]);
    let file = "buck/toolchains/BUCK";
    assert_eq!(
        read(&dir.path().join(file)),
        golden("nested-cell-path", file)
    );
    for (file, text) in configs {
        assert_eq!(read(&dir.path().join(file)), text, "{file}");
    }
}

#[test]
fn a_missing_include_is_bad_input_at_its_line() {
    let dir = copy_fixture("nested-cell-path");
    std::fs::remove_file(dir.path().join("buck/cells.buckconfig")).unwrap();
    assert_refused(
        dir.path(),
        ".buckconfig:6:1: include `buck/cells.buckconfig` points at `buck/cells.buckconfig`, which does not exist",
    );
}

/// `generate --no-flake` with `buck2` set to `buck2` (a path; a missing one means "none").
fn generate_with_buck2(dir: &Path, buck2: &Path) -> (String, String) {
    let out = common::si_nixify(dir)
        .args(["generate", "--no-flake"])
        .env("SI_NIXIFY_BUCK2", buck2)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    (stdout, stderr)
}

const NO_BUCK2: &str = "/nonexistent/buck2";

#[test]
fn a_bundled_prelude_nowhere_on_disk_falls_back_to_builtin_schemas_and_says_so() {
    let dir = copy_fixture("bundled-prelude");
    let (report, _) = generate_with_buck2(dir.path(), Path::new(NO_BUCK2));
    assert_eq!(
        read(&dir.path().join("toolchains/BUCK")),
        golden("bundled-prelude", "toolchains/BUCK")
    );
    assert!(
        report.contains("`prelude` is an external cell (bundled) and no copy of it was found")
            && report
                .contains("`system_go_toolchain` was checked against si-nixify's built-in schema"),
        "{report}"
    );
    assert!(
        !dir.path().join("prelude").exists(),
        "nothing is expanded into the repo"
    );
}

#[test]
fn a_bundled_prelude_buck2_unpacked_under_buck_out_supplies_the_schemas() {
    let dir = copy_fixture("bundled-prelude");
    let unpacked = dir
        .path()
        .join("buck-out/v2/external_cells/bundled/prelude");
    common::copy_dir(&common::fixtures().join("prelude"), &unpacked);
    let (stdout, stderr) = generate_with_buck2(dir.path(), Path::new(NO_BUCK2));
    assert_eq!(
        read(&dir.path().join("toolchains/BUCK")),
        golden("bundled-prelude", "toolchains/BUCK")
    );
    assert!(!stderr.contains("built-in schema"), "{stderr}");
    assert!(
        stdout.contains("`prelude` is an external cell (bundled): read the bundled prelude buck2 unpacked at `buck-out/v2/external_cells/bundled/prelude`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("(schema: buck-out/v2/external_cells/bundled/prelude/toolchains/go/system_go_toolchain.bzl:"),
        "{stdout}"
    );
}

#[test]
fn a_bundled_prelude_comes_from_the_buck2_on_path_when_nothing_is_unpacked() {
    let dir = copy_fixture("bundled-prelude");
    // A stand-in buck2 that answers `expand-external-cell prelude` the way buck2 does: by
    // writing the cell's files to the cell's path in the project it runs in.
    let bin = tempfile::tempdir().unwrap();
    let buck2 = bin.path().join("buck2");
    std::fs::write(
        &buck2,
        format!(
            "#!/bin/sh\ncase \"$*\" in\n  *expand-external-cell*prelude*) cp -R '{}' ./prelude ;;\nesac\n",
            common::fixtures().join("prelude").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&buck2, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (stdout, stderr) = generate_with_buck2(dir.path(), &buck2);
    assert_eq!(
        read(&dir.path().join("toolchains/BUCK")),
        golden("bundled-prelude", "toolchains/BUCK")
    );
    assert!(!stderr.contains("built-in schema"), "{stderr}");
    assert!(
        stdout.contains(&format!(
            "`prelude` is an external cell (bundled): read the cell bundled in `{}`",
            buck2.display()
        )),
        "{stdout}"
    );
    assert!(
        !dir.path().join("prelude").exists(),
        "buck2 ran in a scratch project, not the repo"
    );
}

#[test]
fn a_git_prelude_is_never_fetched_and_its_buck_out_checkout_is_used_when_there() {
    let dir = copy_fixture("git-prelude");
    let top = read(&dir.path().join("toolchains/BUCK"));
    let doc = scan_json(dir.path());
    assert_eq!(doc["external_cells"][0]["cell"], "prelude");
    assert_eq!(
        doc["external_cells"][0]["origin"],
        "git https://github.com/facebook/buck2-prelude.git @ 0123456789abcdef0123456789abcdef01234567"
    );
    assert!(doc["external_cells"][0]["read_from"].is_null());
    let (report, _) = generate_with_buck2(dir.path(), Path::new(NO_BUCK2));
    assert!(report.contains("si-nixify never fetches"), "{report}");
    let file = "toolchains/go/BUCK";
    assert_eq!(read(&dir.path().join(file)), golden("git-prelude", file));
    assert_eq!(read(&dir.path().join("toolchains/BUCK")), top);

    let dir = copy_fixture("git-prelude");
    let checkout = "buck-out/v2/external_cells/git/0123456789abcdef0123456789abcdef01234567";
    common::copy_dir(
        &common::fixtures().join("prelude"),
        &dir.path().join(checkout),
    );
    assert_eq!(
        scan_json(dir.path())["external_cells"][0]["read_from"],
        checkout
    );
    let (stdout, _) = generate_with_buck2(dir.path(), Path::new(NO_BUCK2));
    assert!(!stdout.contains("built-in schema"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "(schema: {checkout}/toolchains/go/system_go_toolchain.bzl:"
        )),
        "{stdout}"
    );
    assert_eq!(read(&dir.path().join(file)), golden("git-prelude", file));
}

#[test]
fn starlark_of_2023_is_read_and_rewritten_against_its_own_prelude() {
    let dir = copy_fixture("era-2023");
    let doc = scan_json(dir.path());
    let go = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "go_linux")
        .unwrap();
    assert_eq!(go["status"], "hermetic");
    let alias = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "go")
        .unwrap();
    assert_eq!(
        alias["resolves_to"],
        serde_json::json!(["toolchains//:go_linux"])
    );
    let out = generate_ok(dir.path(), &["--no-flake"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("(schema: prelude/toolchains/go/system_go_toolchain.bzl:40)"),
        "the 2023 prelude's own schema is used: {stdout}"
    );
    let file = "toolchains/BUCK";
    assert_eq!(read(&dir.path().join(file)), golden("era-2023", file));
}

#[test]
fn a_syntax_error_in_a_2023_prelude_file_is_still_bad_input() {
    let dir = copy_fixture("era-2023");
    let bzl = dir.path().join("prelude/toolchains/go/go_toolchain.bzl");
    std::fs::write(
        &bzl,
        read(&bzl).replace("def _go_distr_impl(", "def _go_distr_impl(:"),
    )
    .unwrap();
    assert_refused(dir.path(), "prelude/toolchains/go/go_toolchain.bzl:50:");
}

#[test]
fn a_reference_into_another_packages_deleted_distribution_is_rewritten_too() {
    let dir = copy_fixture("subpackages");
    let alias = dir.path().join("toolchains/alias.bzl");
    std::fs::write(
        &alias,
        read(&alias)
            + "\ngo_vet = rule(\n    impl = _toolchain_alias_impl,\n    attrs = {\"go\": attrs.string()},\n)\n",
    )
    .unwrap();
    let top = dir.path().join("toolchains/BUCK");
    let text = read(&top).replace(
        "load(\":alias.bzl\", \"toolchain_alias\")",
        "load(\":alias.bzl\", \"go_vet\", \"toolchain_alias\")",
    ) + "\ngo_vet(\n    name = \"vet\",\n    go = \"$(location //go:sdk-linux-amd64)/bin/go\",\n)\n";
    std::fs::write(&top, text).unwrap();
    let out = generate_ok(dir.path(), &["--no-flake"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(read(&top).contains("    go = \"go\",\n"), "{}", read(&top));
    assert!(
        stdout.contains(
            "`toolchains//go:sdk-linux-amd64` is deleted; `go` comes from the devshell's PATH"
        ),
        "{stdout}"
    );
}

#[test]
fn scan_all_reads_build_files_by_each_cells_names_and_skips_shadowed_ones() {
    let out = run(
        &common::fixtures().join("buildfile-names"),
        &["scan", "--all", "--json"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the decoys are never parsed: {err}"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["files_scanned"], 3,
        "BUILD, toolchains/TARGETS, toolchains/go/TARGETS.v2"
    );
}

#[test]
fn generate_json_says_which_file_each_change_is_in() {
    let out = run(
        &common::fixtures().join("subpackages"),
        &["generate", "--no-flake", "--dry-run", "--json"],
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let files: std::collections::BTreeSet<&str> = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        files.into_iter().collect::<Vec<_>>(),
        ["toolchains/go/BUCK", "toolchains/python/BUCK"]
    );
}

#[test]
fn a_loaded_file_that_does_not_parse_is_no_error_while_nothing_needs_it() {
    let dir = copy_fixture("subpackages");
    let alias = dir.path().join("toolchains/alias.bzl");
    std::fs::write(
        &alias,
        read(&alias).replace("def _toolchain_alias_impl(", "def _toolchain_alias_impl(:"),
    )
    .unwrap();
    let out = generate_ok(dir.path(), &["--no-flake"]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("warning: toolchains/alias.bzl:3:")
            && report.contains("the file was not read (nothing the toolchains need is in it)"),
        "{report}"
    );
    for file in ["toolchains/go/BUCK", "toolchains/python/BUCK"] {
        assert_eq!(
            read(&dir.path().join(file)),
            golden("subpackages", file),
            "{file}"
        );
    }
}

#[test]
fn a_loaded_file_that_does_not_parse_is_an_error_naming_it_when_its_content_is_needed() {
    let dir = copy_fixture("si-latest");
    let bzl = dir.path().join("prelude-si/toolchains/common.bzl");
    std::fs::write(
        &bzl,
        read(&bzl).replace("def host_os_arch():", "def host_os_arch(:"),
    )
    .unwrap();
    assert_refused(
        dir.path(),
        "prelude-si/toolchains/common.bzl:13:18: Starlark syntax error",
    );
    let out = run(dir.path(), &["scan"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("(needed to derive the URLs `download_clang_distribution` downloads)"),
        "{err}"
    );
}

#[test]
fn a_prelude_submodule_not_checked_out_is_read_as_unavailable_and_its_alias_of_downloads_goes() {
    let dir = copy_fixture("submodule-prelude");
    let doc = scan_json(dir.path());
    let prelude = doc["external_cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cell"] == "prelude")
        .unwrap_or_else(|| panic!("no prelude in {}", doc["external_cells"]));
    assert_eq!(
        prelude["origin"],
        "git submodule https://github.com/facebook/buck2-prelude.git"
    );
    assert!(prelude["read_from"].is_null());
    generate_ok(dir.path(), &["--no-flake"]);
    let out = read(&dir.path().join("toolchains/TARGETS"));
    for gone in [
        "download_zig_distribution",
        "alias(",
        "cxx_zig_toolchain",
        ":zig",
    ] {
        assert!(!out.contains(gone), "`{gone}` left in:\n{out}");
    }
    assert!(
        out.contains("system_cxx_toolchain(\n    name = \"cxx\","),
        "{out}"
    );
    let again = generate_ok(dir.path(), &["--no-flake", "--check"]);
    assert!(again.stderr.is_empty() || !String::from_utf8_lossy(&again.stderr).contains("error"));
}

#[test]
fn a_missing_load_in_a_checked_out_cell_is_still_bad_input() {
    // Only a submodule that is not checked out is read as unavailable: a cell with files
    // whose loaded file is missing stays an error at the load.
    let dir = copy_fixture("submodule-prelude");
    std::fs::create_dir_all(dir.path().join("prelude/toolchains")).unwrap();
    std::fs::write(dir.path().join("prelude/toolchains/python.bzl"), "x = 1\n").unwrap();
    assert_refused(
        dir.path(),
        "toolchains/TARGETS:1:6: load of `@prelude//toolchains/cxx/zig:defs.bzl`",
    );
}

#[test]
#[cfg(feature = "eval")]
fn a_same_named_rule_of_another_repo_is_not_mistaken_for_the_known_one() {
    // WebAssembly/wasi-testsuite's own `hermetic_rust_toolchain` takes `host_distribution`,
    // not the `distribution` of SI's rule the knowledge base describes. It is not rewritten
    // as SI's rule (whose knowledge would stop at the unknown attr): it is recognised by the
    // `RustToolchainInfo` its implementation constructs, and its download goes.
    let dir = copy_fixture("http-archive-rust");
    let buck = dir.path().join("toolchains/BUCK");
    let bzl = dir.path().join("toolchains/rust_dist.bzl");
    for file in [&buck, &bzl] {
        let text = read(file)
            .replace("rust_dist_toolchain", "hermetic_rust_toolchain")
            .replace("distribution", "host_distribution");
        std::fs::write(file, text).unwrap();
    }
    let out = run(dir.path(), &["generate", "--no-flake", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["downloads_left"].as_array().map(Vec::len),
        Some(0),
        "{doc}"
    );
    let changes = doc["changes"].as_array().unwrap();
    let reason_of = |action: &str, detail: &str| {
        changes
            .iter()
            .find(|c| c["action"] == action && c["detail"].as_str().unwrap_or("").contains(detail))
            .and_then(|c| c["reason"].as_str())
            .map(str::to_owned)
    };
    let replaced = reason_of("replaced", "hermetic_rust_toolchain").expect("replaced");
    assert!(replaced.contains("RustToolchainInfo"), "{replaced}");
    let dropped = reason_of("dropped", "host_distribution").expect("dropped");
    assert!(dropped.contains(":rust-x86_64-linux"), "{dropped}");
    let text = read(&buck);
    assert!(
        text.contains("system_rust_toolchain(\n    name = \"rust\""),
        "{text}"
    );
    assert!(!text.contains("http_archive("), "{text}");
}

#[test]
#[cfg(feature = "eval")]
fn a_toolchains_tool_downloaded_in_another_package_is_found_through_its_attrs() {
    let dir = copy_fixture("tools-outside-cell");
    let doc = scan_json(dir.path());
    let downloads = doc["downloads"].as_array().unwrap();
    assert_eq!(downloads.len(), 1, "{downloads:?}");
    let d = &downloads[0];
    assert_eq!(d["label"], "root//stage0:rustc-dist");
    assert_eq!(
        d["urls"][0],
        "https://static.rust-lang.org/dist/rustc-1.91.0-x86_64-unknown-linux-gnu.tar.xz"
    );
    assert_eq!(d["strip_prefix"], "rustc-1.91.0-x86_64-unknown-linux-gnu");
    assert_eq!(d["edit_at"]["file"], "stage0/BUCK");
    assert_eq!(d["edit_at"]["line"], 3);
    assert_eq!(d["toolchains"][0], "toolchains//:rust");
    let before = snapshot(dir.path());
    let out = run(dir.path(), &["generate", "--no-flake"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a download left is never 'nothing to do'"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("stage0/BUCK:3: `root//stage0:rustc-dist` downloads https://static.rust-lang.org/dist/rustc-1.91.0")
            && text.contains("for toolchains//:rust"),
        "{text}"
    );
    assert_eq!(snapshot(dir.path()), before);
}

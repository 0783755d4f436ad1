#![cfg(feature = "eval")]
//! Toolchains the knowledge base does not name, rewritten by what their rules do (issue 12):
//! a custom rule constructing `RustToolchainInfo` or `cxx_toolchain_infos` becomes the
//! prelude's system rule, a rule that only runs a downloaded binary becomes
//! `si_nixify_path_tool`, and the downloads go. Each fixture's README names the public repo
//! and commit it is modelled on.

mod common;

use std::path::{Path, PathBuf};

use common::{copy_fixture, read, run, snapshot};
use serde_json::Value;
use si_nixify::read::Module;

/// (fixture, build files the rewrite changes, goldens under tests/golden/<fixture>/).
const FIXTURES: &[(&str, &[&str])] = &[
    ("http-archive-rust", &["toolchains/BUCK"]),
    ("cross-gcc", &["toolchains/BUCK"]),
    ("path-tool", &["toolchains/runtimes/BUCK"]),
    ("release-table-macro", &["toolchains/BUCK"]),
    ("comprehension-downloads", &["toolchains/python/BUCK"]),
    (
        "own-rule-path",
        &["toolchains/js/BUCK", "toolchains/registry/BUCK"],
    ),
    ("anon-fetch-go", &["toolchains/BUCK"]),
    ("cxx-tools-override", &["toolchains/BUCK"]),
    ("macro-switch", &["toolchains/BUCK"]),
];

fn golden(fixture: &str, file: &str) -> String {
    let name = Path::new(file).strip_prefix("toolchains").unwrap();
    read(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(fixture)
            .join(name),
    )
}

fn generate_ok(dir: &Path) {
    let out = run(dir, &["generate", "--no-flake"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn output_matches_the_reviewed_golden_and_parses() {
    for (fixture, files) in FIXTURES {
        let dir = copy_fixture(fixture);
        generate_ok(dir.path());
        for file in *files {
            let text = read(&dir.path().join(file));
            assert_eq!(text, golden(fixture, file), "{fixture}: {file}");
            Module::parse(Path::new(file), text).expect("output parses");
        }
    }
}

#[test]
fn check_exits_1_before_and_0_after_and_a_second_run_changes_nothing() {
    // With the Nix side: the tools the second run reads off the rewritten calls (a cross
    // compiler, a path tool's binary) must be the ones the first run wrote.
    for (fixture, files) in FIXTURES {
        let dir = copy_fixture(fixture);
        let before = snapshot(dir.path());
        let check = run(dir.path(), &["generate", "--check"]);
        assert_eq!(check.status.code(), Some(1), "{fixture}");
        assert_eq!(snapshot(dir.path()), before, "{fixture}: --check wrote");
        let out = run(dir.path(), &["generate"]);
        assert_eq!(out.status.code(), Some(0), "{fixture}");
        let written: Vec<String> = files.iter().map(|f| read(&dir.path().join(f))).collect();
        let nix = read(&dir.path().join("nix/buck2-toolchains.nix"));
        let check = run(dir.path(), &["generate", "--check"]);
        assert_eq!(
            check.status.code(),
            Some(0),
            "{fixture}: {}",
            String::from_utf8_lossy(&check.stdout)
        );
        run(dir.path(), &["generate"]);
        let again: Vec<String> = files.iter().map(|f| read(&dir.path().join(f))).collect();
        assert_eq!(again, written, "{fixture}: a second run changed the output");
        assert_eq!(
            read(&dir.path().join("nix/buck2-toolchains.nix")),
            nix,
            "{fixture}"
        );
    }
}

#[test]
fn no_download_is_left_and_the_devshell_gets_what_the_stand_ins_call() {
    for (fixture, binaries) in [
        ("http-archive-rust", &["rustc", "rustdoc"][..]),
        (
            "cross-gcc",
            &["arm-none-eabi-gcc", "aarch64-unknown-linux-gnu-g++"][..],
        ),
        ("path-tool", &["wasmtime", "wazero"][..]),
        ("release-table-macro", &["rustc", "rustdoc"][..]),
        ("comprehension-downloads", &["python3"][..]),
        ("own-rule-path", &["deno", "crane"][..]),
        ("anon-fetch-go", &["go"][..]),
        ("cxx-tools-override", &["clang", "ld.lld"][..]),
    ] {
        let dir = copy_fixture(fixture);
        let out = run(dir.path(), &["scan", "--json"]);
        assert_eq!(out.status.code(), Some(0), "{fixture}");
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["downloads_left"], Value::Array(Vec::new()), "{fixture}");
        let tools: Vec<&str> = doc["required_tools"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t["binary"].as_str())
            .collect();
        for b in binaries {
            assert!(tools.contains(b), "{fixture}: no {b} in {tools:?}");
        }
    }
}

#[test]
fn a_cross_toolchain_gets_the_cross_binaries_and_their_nixpkgs_attributes() {
    let dir = copy_fixture("cross-gcc");
    let out = run(dir.path(), &["scan", "--json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let nix_of = |binary: &str| {
        doc["required_tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["binary"] == binary)
            .and_then(|t| t["nix"].as_str())
            .map(str::to_owned)
    };
    assert_eq!(
        nix_of("arm-none-eabi-gcc").as_deref(),
        Some("gcc-arm-embedded")
    );
    assert_eq!(
        nix_of("aarch64-unknown-linux-gnu-ar").as_deref(),
        Some("pkgsCross.aarch64-multiplatform.buildPackages.binutils")
    );
}

#[test]
fn an_unknown_downloads_user_is_left_and_listed() {
    // A cross compiler nobody here knows (wasi-sdk in andreiltd/wasmono): the host's clang
    // would build for the wrong machine, so the toolchain stays, and generate says so.
    let dir = copy_fixture("cross-gcc");
    let defs = dir.path().join("toolchains/gcc/defs.bzl");
    let text = read(&defs).replace("developer.arm.com", "downloads.example.com");
    std::fs::write(
        &defs,
        text.replace("-x86_64-arm-none-eabi\"", "-x86_64-mystery\""),
    )
    .unwrap();
    let defs_text = read(&defs);
    assert!(defs_text.contains("mystery"));
    let before = snapshot(dir.path());
    let out = run(dir.path(), &["generate", "--no-flake"]);
    assert_eq!(out.status.code(), Some(1));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("toolchains/BUCK:10:") && said.contains("mystery"),
        "{said}"
    );
    // The toolchain it knows is still rewritten; the one it does not know is left.
    let buck = read(&dir.path().join("toolchains/BUCK"));
    assert!(
        buck.contains("embedded_cxx_toolchain(\n    name = \"cxx_cortex_m\""),
        "{buck}"
    );
    assert!(
        buck.contains("system_cxx_toolchain(\n    name = \"cxx_aarch64_linux\""),
        "{buck}"
    );
    assert_ne!(snapshot(dir.path()), before);
}

/// `generate --no-flake` in `dir`: (exit code, stdout and stderr).
fn generate_said(dir: &Path) -> (Option<i32>, String) {
    let out = run(dir, &["generate", "--no-flake"]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), said)
}

#[test]
fn a_wrapper_whose_other_provider_a_user_reads_is_left() {
    // `crane_bin` also gives `CraneMetaInfo`: once the toolchain reads it, a path tool would
    // not do, so the download stays and is listed; the runtime toolchain is still rewritten.
    let dir = copy_fixture("own-rule-path");
    let defs = dir.path().join("toolchains/registry/defs.bzl");
    let text = read(&defs).replace(
        "RegistryToolchainInfo(crane = ctx.attrs.crane[RunInfo]),",
        "RegistryToolchainInfo(crane = ctx.attrs.crane[RunInfo], version = ctx.attrs.crane[CraneMetaInfo].version),",
    );
    assert!(text.contains("[CraneMetaInfo]"));
    std::fs::write(&defs, text).unwrap();
    let (code, said) = generate_said(dir.path());
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("toolchains/registry/BUCK:3:"), "{said}");
    let registry = read(&dir.path().join("toolchains/registry/BUCK"));
    assert!(registry.contains("fetch_crane(") && !registry.contains("si_nixify_path_tool"));
    let js = read(&dir.path().join("toolchains/js/BUCK"));
    assert!(js.contains("runtime = [\"deno\"],"), "{js}");
}

#[test]
fn a_download_reached_through_a_rule_default_is_found_and_rewritten() {
    // The toolchain call names no crane: its rule's schema defaults `crane` to the target the
    // macro makes (NoRedInk/noredink-ui's `elm_toolchain` defaults `elm` into another cell).
    // The default is an edge of the graph, so the download is seen and its wrapper replaced.
    let dir = copy_fixture("own-rule-path");
    let defs = dir.path().join("toolchains/registry/defs.bzl");
    let text = read(&defs).replace(
        "\"crane\": attrs.exec_dep(providers = [RunInfo]),",
        "\"crane\": attrs.exec_dep(providers = [RunInfo], default = \"toolchains//registry:crane\"),",
    );
    assert!(text.contains("default = \"toolchains//registry:crane\""));
    std::fs::write(&defs, text).unwrap();
    let buck = dir.path().join("toolchains/registry/BUCK");
    let text = read(&buck).replace("    crane = \":crane\",\n", "");
    std::fs::write(&buck, text).unwrap();
    let (code, said) = generate_said(dir.path());
    assert_eq!(code, Some(0), "{said}");
    let registry = read(&buck);
    assert!(
        registry.contains("si_nixify_path_tool(\n    name = \"crane\",\n    exe = \"crane\",\n)"),
        "{registry}"
    );
}

#[test]
fn a_download_path_in_an_attr_that_takes_no_text_is_left() {
    // `runtime` as a dep, not command text: the binary's name cannot go there, so the
    // toolchain and its archives stay, listed.
    let dir = copy_fixture("own-rule-path");
    let defs = dir.path().join("toolchains/js/defs.bzl");
    let text = read(&defs).replace(
        "\"runtime\": attrs.list(attrs.arg()),",
        "\"runtime\": attrs.list(attrs.dep()),",
    );
    assert!(text.contains("attrs.list(attrs.dep())"));
    std::fs::write(&defs, text).unwrap();
    let (code, said) = generate_said(dir.path());
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("toolchains/js/BUCK:"), "{said}");
    let js = read(&dir.path().join("toolchains/js/BUCK"));
    assert!(js.contains("fetch_runtime_archives(version, rows)"), "{js}");
    assert!(
        js.contains("$(location :deno-{}-x86_64-unknown-linux-gnu)/deno"),
        "{js}"
    );
}

#[test]
fn a_download_named_outside_the_cell_stays_and_is_listed() {
    // `tools/BUCK` names the std archive: it is used, so it is neither deleted nor hidden.
    let dir = copy_fixture("cxx-tools-override");
    let tools = dir.path().join("tools/BUCK");
    let text = read(&tools).replace(
        "cmd = \"echo hello > $OUT\",",
        "cmd = \"ls $(location toolchains//:rust-std-aarch64) > $OUT\",",
    );
    assert!(text.contains("rust-std-aarch64"));
    std::fs::write(&tools, text).unwrap();
    let (code, said) = generate_said(dir.path());
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("toolchains/BUCK:31:") && said.contains("rust-std-aarch64"),
        "{said}"
    );
    let buck = read(&dir.path().join("toolchains/BUCK"));
    assert!(buck.contains("name = \"rust-std-aarch64\""), "{buck}");
    // The LLVM override still goes.
    assert!(!buck.contains("_cxx_tools_info"), "{buck}");
}

#[test]
fn a_macro_call_is_replaced_by_the_targets_it_made_and_identical_branches_collapse() {
    // `rust_toolchains(version = …)` made an http_archive, a private toolchain rule's target
    // per release-table row, and a toolchain_alias over them. Every branch becomes the same
    // `system_rust_toolchain`, so the alias collapses into one, under its name (issue 12,
    // point 4), and nothing of the macro is loaded any more.
    let dir = copy_fixture("release-table-macro");
    generate_ok(dir.path());
    let buck = read(&dir.path().join("toolchains/BUCK"));
    assert!(
        buck.contains("system_rust_toolchain(\n    name = \"rust\",\n    default_edition = \"2024\",\n    visibility = [\"PUBLIC\"],\n)"),
        "{buck}"
    );
    assert!(
        !buck.contains("toolchain_alias") && !buck.contains("rust-x86_64-linux"),
        "{buck}"
    );
    assert!(!buck.contains("rust_toolchains"), "{buck}");
    assert!(!buck.contains("rust_releases.bzl"), "{buck}");
}

#[test]
fn a_branch_named_elsewhere_keeps_its_target_and_the_alias() {
    // Something else in the cell names one platform's toolchain: the macro's targets are
    // written out under their names and the alias stays over them.
    let dir = copy_fixture("release-table-macro");
    let path = dir.path().join("toolchains/BUCK");
    let text = read(&path) + "\ntoolchain_alias(\n    name = \"rust_arm\",\n    actual = \":rust-aarch64-linux\",\n)\n";
    std::fs::write(&path, text).unwrap();
    generate_ok(dir.path());
    let buck = read(&path);
    for name in [
        "rust-x86_64-linux",
        "rust-aarch64-linux",
        "rust-aarch64-macos",
    ] {
        assert!(
            buck.contains(&format!("system_rust_toolchain(\n    name = \"{name}\",\n    default_edition = \"2024\",\n)")),
            "{buck}"
        );
    }
    assert!(
        buck.contains("toolchain_alias(\n    name = \"rust\",\n    actual = select({"),
        "{buck}"
    );
}

#[test]
fn the_path_tool_file_is_written_and_loaded_from_the_cell_root() {
    let dir = copy_fixture("path-tool");
    generate_ok(dir.path());
    let bzl = dir.path().join("toolchains/si_nixify_path_tool.bzl");
    let text = read(&bzl);
    Module::parse(
        Path::new("toolchains/si_nixify_path_tool.bzl"),
        text.clone(),
    )
    .unwrap();
    assert!(text.contains("si_nixify_path_tool = rule("), "{text}");
    let buck = read(&dir.path().join("toolchains/runtimes/BUCK"));
    assert!(
        buck.starts_with("load(\"//:si_nixify_path_tool.bzl\", \"si_nixify_path_tool\")\n"),
        "{buck}"
    );
}

/// Buildifier, or `None` (with the skip line) where it is not installed; CI must have it.
fn buildifier() -> Option<PathBuf> {
    let found = common::tool("SI_NIXIFY_BUILDIFIER", "buildifier");
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install buildifier"
        );
        println!("skipped: buildifier not found (set SI_NIXIFY_BUILDIFIER or put it on PATH)");
    }
    found
}

#[test]
fn buildifier_load_lint_passes_on_every_rewritten_file() {
    let Some(buildifier) = buildifier() else {
        return;
    };
    for (fixture, files) in FIXTURES {
        let dir = copy_fixture(fixture);
        generate_ok(dir.path());
        for file in *files {
            // The rewrite keeps the file's own layout (some fixtures are not buildifier's):
            // the lint runs on a formatted copy, so that only its load warnings count.
            let copy = dir.path().join("lint.bzl");
            std::fs::copy(dir.path().join(file), &copy).unwrap();
            let formatted = std::process::Command::new(&buildifier)
                .arg("--type=build")
                .arg(&copy)
                .status()
                .unwrap();
            assert!(
                formatted.success(),
                "{fixture} {file}: buildifier could not format it"
            );
            let out = std::process::Command::new(&buildifier)
                .args([
                    "--mode=check",
                    "--lint=warn",
                    "--warnings=load",
                    "--type=build",
                ])
                .arg(&copy)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{fixture} {file}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn the_written_path_tool_file_is_formatted_and_lint_clean() {
    let Some(buildifier) = buildifier() else {
        return;
    };
    let dir = copy_fixture("path-tool");
    generate_ok(dir.path());
    let out = std::process::Command::new(&buildifier)
        .args(["--mode=check", "--lint=warn", "--type=bzl"])
        .arg(dir.path().join("toolchains/si_nixify_path_tool.bzl"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Needs a real buck2 and prelude: `SI_NIXIFY_BUCK2=/path/buck2 SI_NIXIFY_PRELUDE=/path/prelude`.
/// After generate, `buck2 uquery` of the toolchains cell succeeds and finds no download.
#[test]
fn buck2_uquery_finds_no_download_after_generate() {
    let (Ok(buck2), Ok(prelude)) = (
        std::env::var("SI_NIXIFY_BUCK2"),
        std::env::var("SI_NIXIFY_PRELUDE"),
    ) else {
        println!("skipped: set SI_NIXIFY_BUCK2 and SI_NIXIFY_PRELUDE to run buck2 against the rewritten cells");
        return;
    };
    for (fixture, _) in FIXTURES {
        let dir = copy_fixture(fixture);
        std::fs::remove_dir_all(dir.path().join("prelude")).unwrap();
        common::copy_dir(Path::new(&prelude), &dir.path().join("prelude"));
        generate_ok(dir.path());
        let out = std::process::Command::new(PathBuf::from(&buck2))
            .current_dir(dir.path())
            .args([
                "uquery",
                "toolchains//...",
                "--output-attribute",
                "buck.type",
                "--json",
            ])
            .output()
            .unwrap();
        let _ = std::process::Command::new(&buck2)
            .current_dir(dir.path())
            .arg("kill")
            .output();
        assert!(
            out.status.success(),
            "{fixture}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let kinds: Vec<&str> = doc
            .as_object()
            .unwrap()
            .values()
            .filter_map(|t| t["buck.type"].as_str())
            .collect();
        assert!(!kinds.is_empty(), "{fixture}: no targets");
        for kind in &kinds {
            assert!(
                !matches!(*kind, "http_archive" | "http_file" | "remote_file")
                    && !kind.contains("download")
                    && !kind.contains("fetch"),
                "{fixture}: {kind} left in {kinds:?}"
            );
        }
    }
}

#[test]
fn a_distribution_a_build_file_outside_the_cell_names_stays_and_is_listed() {
    // concordia-fsae/firmware's `third_party/BUCK` sets `CC_…` to
    // `$(location toolchains//:gcc-…-dist)/bin/…-gcc`: deleting the distribution would break
    // it. The toolchain over it is still rewritten; the distribution stays, listed with the
    // file:line that holds it.
    let dir = copy_fixture("cross-gcc");
    std::fs::write(
        dir.path().join("BUCK"),
        "genrule(\n    name = \"ring_env\",\n    out = \"env\",\n    cmd = \"echo > $OUT\",\n    env = {\"CC\": \"$(location toolchains//:aarch64-linux-dist)/bin/aarch64-none-linux-gnu-gcc\"},\n)\n",
    )
    .unwrap();
    let (code, said) = generate_said(dir.path());
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("BUCK:5 names it, outside the toolchains cell"),
        "{said}"
    );
    let buck = read(&dir.path().join("toolchains/BUCK"));
    assert!(buck.contains("name = \"aarch64-linux-dist\""), "{buck}");
    assert!(!buck.contains("name = \"arm-none-eabi-dist\""), "{buck}");
    assert_eq!(buck.matches("system_cxx_toolchain(").count(), 2, "{buck}");
}

#[test]
fn a_download_a_command_copies_from_stays_and_is_listed() {
    // JonasKruckenberg/buck2_buildbuddy's genrules copy `protoc` and its `include` directory
    // out of an http_archive with `cp`: no tool's name can stand in for those commands, so the
    // archive stays and the commands are left as they are.
    let dir = copy_fixture("cross-gcc");
    let path = dir.path().join("toolchains/BUCK");
    let text = read(&path)
        + "\nhttp_archive(\n    name = \"protoc-linux\",\n    urls = [\"https://github.com/protocolbuffers/protobuf/releases/download/v34.0/protoc-34.0-linux-x86_64.zip\"],\n    sha256 = \"00\",\n    sub_targets = [\"bin/protoc\", \"include\"],\n)\n\ngenrule(\n    name = \"protoc_include\",\n    cmd = \"cp -r $(location :protoc-linux[include]) $OUT\",\n    out = \"include\",\n    visibility = [\"PUBLIC\"],\n)\n";
    std::fs::write(&path, &text).unwrap();
    let (code, said) = generate_said(dir.path());
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("`protoc_include` (toolchains/BUCK:")
            && said.contains("uses it in `cmd` (`cp -r $(location :protoc-linux[include]) $OUT`)"),
        "{said}"
    );
    let buck = read(&path);
    assert!(
        buck.contains("cmd = \"cp -r $(location :protoc-linux[include]) $OUT\""),
        "{buck}"
    );
    assert!(buck.contains("name = \"protoc-linux\""), "{buck}");
}

#[test]
fn a_macro_with_a_system_mode_of_its_own_is_switched_to_it() {
    // andreiltd/wasmono's `wasm_demo_toolchains(node_version = None)`: the macro's own
    // argument turns the Node.js download off and makes `system_jco_toolchain` instead. The
    // call keeps its name and gets the argument; what the switched target runs from PATH
    // and no nixpkgs package is known for is said, not guessed.
    let dir = copy_fixture("macro-switch");
    let (code, said) = generate_said(dir.path());
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("set `node_version = None`"), "{said}");
    assert!(
        said.contains("`jco` (rule `system_jco_toolchain`) runs `jco` from PATH"),
        "{said}"
    );
    let buck = read(&dir.path().join("toolchains/BUCK"));
    assert!(
        buck.contains("component_toolchains(node_version = None)"),
        "{buck}"
    );
}

#[test]
fn a_switch_that_drops_a_target_something_names_is_not_taken() {
    // Something else names the Node.js toolchain the switch would no longer make: the call
    // is left as it was, its download listed.
    let dir = copy_fixture("macro-switch");
    let path = dir.path().join("toolchains/BUCK");
    let text = read(&path)
        + "\ntoolchain_alias(\n    name = \"node_for_tests\",\n    actual = \":node\",\n    visibility = [\"PUBLIC\"],\n)\n";
    std::fs::write(&path, &text).unwrap();
    let (code, said) = generate_said(dir.path());
    assert_eq!(code, Some(1), "{said}");
    assert!(!said.contains("node_version = None"), "{said}");
    assert!(said.contains("nodejs.org/dist/v22.11.0"), "{said}");
    assert!(read(&path).contains("component_toolchains()\n"));
}

#[test]
fn the_repos_own_rule_named_like_a_known_system_rule_is_still_rewritten() {
    // thoughtpolice/bucktools calls its own rule `deno_toolchain`, the name of SI's system
    // rule, in plain calls: it was taken for that one and left with its downloads. The repo's
    // own rule is judged by what it does, as under any other name.
    let dir = copy_fixture("own-rule-path");
    let defs = dir.path().join("toolchains/js/defs.bzl");
    std::fs::write(
        &defs,
        read(&defs).replace("js_runtime_toolchain", "deno_toolchain"),
    )
    .unwrap();
    let buck = dir.path().join("toolchains/js/BUCK");
    let text = read(&buck).replace("js_runtime_toolchain", "deno_toolchain")
        + "\nfetch_runtime_archives(\"2.2.0\", [(\"x86_64-unknown-linux-gnu\", \"4c3b2a1\")])\n\ndeno_toolchain(\n    name = \"js-2.2.0\",\n    flags = [],\n    runtime = [\"$(location :deno-2.2.0-x86_64-unknown-linux-gnu)/deno\"],\n)\n";
    std::fs::write(&buck, text).unwrap();
    generate_ok(dir.path());
    let out = read(&buck);
    assert!(
        out.contains("deno_toolchain(\n    name = \"js-2.2.0\",\n    flags = [],\n    runtime = [\"deno\"],\n)"),
        "{out}"
    );
    assert!(!out.contains("fetch_runtime_archives"), "{out}");
}

#[test]
fn a_target_made_by_a_git_cell_not_on_disk_is_said_to_be_unknown() {
    // JonasKruckenberg/buck2_buildbuddy makes `rust` with a rule of its git cell `buck2tf`,
    // which buck2 fetches and si-nixify never does: that it may download is said.
    let dir = copy_fixture("cross-gcc");
    let config = dir.path().join(".buckconfig");
    let text = read(&config).replace("[cells]\n", "[cells]\ntf = tf\n")
        + "\n[external_cells]\ntf = git\n\n[external_cell_tf]\ngit_origin = https://github.com/example/tf\ncommit_hash = 00f73f2b94a56caab11986c55675fde0c9c01a42\n";
    std::fs::write(&config, text).unwrap();
    let buck = dir.path().join("toolchains/BUCK");
    let text = "load(\"@tf//rust:toolchain.bzl\", \"rust_toolchain\")\n".to_owned()
        + &read(&buck)
        + "\nrust_toolchain.stable.latest.default(\n    name = \"rust\",\n    visibility = [\"PUBLIC\"],\n)\n";
    std::fs::write(&buck, text).unwrap();
    let (_, said) = generate_said(dir.path());
    assert!(
        said.contains("`rust` is made by `rust_toolchain.stable.latest.default` from the external cell `tf`, which is not on disk"),
        "{said}"
    );
}

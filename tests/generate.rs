//! `si-nixify generate`: golden outputs and the properties every output must have.

mod common;

use std::path::Path;

use common::{copy_fixture, fixtures, read, run, snapshot};
use si_nixify::inventory::targets::calls;
use si_nixify::inventory::Context;
use si_nixify::read::schema::rule_schema;
use si_nixify::read::Module;
use si_nixify::repo::Repo;

const FIXTURES: &[&str] = &[
    "si-latest",
    "si-older",
    "system-only",
    "upstream-zig",
    "upstream-go",
    "upstream-python",
    "company-acme",
];

fn golden(fixture: &str) -> String {
    read(&Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/{fixture}/BUCK")))
}

fn generate(repo: &Path) -> std::process::Output {
    run(repo, &["generate"])
}

#[test]
fn output_matches_the_reviewed_golden_file() {
    for fixture in FIXTURES {
        let dir = copy_fixture(fixture);
        let out = generate(dir.path());
        assert!(
            out.status.success(),
            "{fixture}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            read(&dir.path().join("toolchains/BUCK")),
            golden(fixture),
            "{fixture}"
        );
    }
}

#[test]
fn output_parses_and_a_second_run_changes_nothing() {
    for fixture in FIXTURES {
        let dir = copy_fixture(fixture);
        generate(dir.path());
        let first = read(&dir.path().join("toolchains/BUCK"));
        Module::parse(Path::new("toolchains/BUCK"), first.clone()).expect("output parses");
        let again = run(dir.path(), &["generate"]);
        let stdout = String::from_utf8(again.stdout).unwrap();
        assert!(stdout.contains("nothing to do"), "{fixture}: {stdout}");
        assert_eq!(
            read(&dir.path().join("toolchains/BUCK")),
            first,
            "{fixture}"
        );
    }
}

#[test]
fn check_exits_1_before_and_0_after() {
    for fixture in ["si-latest", "si-older"] {
        let dir = copy_fixture(fixture);
        let before = snapshot(dir.path());
        let check = run(dir.path(), &["generate", "--check"]);
        assert_eq!(check.status.code(), Some(1), "{fixture}");
        let stdout = String::from_utf8(check.stdout).unwrap();
        assert!(
            stdout.starts_with("--- a/toolchains/BUCK\n+++ b/toolchains/BUCK\n"),
            "{stdout}"
        );
        assert_eq!(snapshot(dir.path()), before, "--check must not write");
        generate(dir.path());
        let check = run(dir.path(), &["generate", "--check"]);
        assert_eq!(check.status.code(), Some(0), "{fixture}");
    }
    let dir = copy_fixture("system-only");
    let check = run(dir.path(), &["generate", "--check"]);
    assert_eq!(check.status.code(), Some(0));
    assert!(String::from_utf8(check.stdout)
        .unwrap()
        .contains("nothing to do"));
}

#[test]
fn dry_run_prints_diff_and_reasons_and_writes_nothing() {
    let dir = copy_fixture("si-latest");
    let before = snapshot(dir.path());
    let out = run(dir.path(), &["generate", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("-hermetic_clang_toolchain(\n+system_cxx_toolchain(\n"),
        "{stdout}"
    );
    assert!(stdout.contains("dropped `binary_linker_flags`"), "{stdout}");
    assert!(
        stdout.contains("-nostdlib++"),
        "the reason names the flags: {stdout}"
    );
    assert!(stdout.contains("dropped `cargo_dist`"), "{stdout}");
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn no_download_or_dead_reference_remains() {
    for fixture in FIXTURES {
        let dir = copy_fixture(fixture);
        generate(dir.path());
        let text = read(&dir.path().join("toolchains/BUCK"));
        for needle in [
            "download_",
            "hermetic_",
            "_dist\"",
            "$(location :",
            "http_archive(",
            ".json\"",
            "_distr",
        ] {
            assert!(
                !text.contains(needle),
                "{fixture}: `{needle}` remains:\n{text}"
            );
        }
    }
}

/// Every attr of every call in the output is in the schema the fixture's own .bzl files define.
#[test]
fn every_attr_is_in_the_schema_read_from_the_fixture() {
    let common_attrs = ["name", "visibility"];
    for fixture in FIXTURES {
        let dir = copy_fixture(fixture);
        generate(dir.path());
        let ctx = Context::load(Repo::open(dir.path().canonicalize().unwrap()).unwrap()).unwrap();
        let buck = ctx.buck();
        // Targets only: `oncall("…")` and other name-less builtins are not rules.
        for call in calls(buck).into_iter().filter(|c| c.name().is_some()) {
            let (module, name) = ctx
                .sources
                .definition(&buck.path, call.rule)
                .unwrap_or_else(|| panic!("{fixture}: `{}` is not loaded", call.rule));
            let schema = rule_schema(module, &name)
                .unwrap_or_else(|| panic!("{fixture}: `{}` is not a rule", call.rule));
            for arg in call.args {
                let attr = arg.name.as_deref().unwrap();
                assert!(
                    common_attrs.contains(&attr) || schema.accepts(attr),
                    "{fixture}: `{attr}` of `{}` is not in {}",
                    call.rule,
                    schema.file.display()
                );
            }
        }
    }
}

#[test]
fn si_latest_comes_out_as_a_careful_human_would_write_it() {
    let dir = copy_fixture("si-latest");
    generate(dir.path());
    let text = read(&dir.path().join("toolchains/BUCK"));
    let module = Module::parse(Path::new("toolchains/BUCK"), text.clone()).unwrap();
    let calls = calls(&module);
    let count = |rule: &str| calls.iter().filter(|c| c.rule == rule).count();
    assert_eq!(count("system_cxx_toolchain"), 1);
    assert_eq!(
        calls
            .iter()
            .find(|c| c.rule == "system_cxx_toolchain")
            .unwrap()
            .name(),
        Some("cxx")
    );
    assert_eq!(count("system_rust_toolchain"), 2);
    assert_eq!(count("deno_toolchain"), 6);
    for call in calls.iter().filter(|c| c.rule == "deno_toolchain") {
        assert_eq!(call.kwarg("deno_exe").unwrap().value.as_str(), Some("deno"));
    }
    for call in calls.iter().filter(|c| c.rule == "system_rust_toolchain") {
        for kept in ["default_edition", "clippy_toml", "rustc_flags"] {
            assert!(call.kwarg(kept).is_some(), "{kept} kept");
        }
        assert!(module
            .source(call.kwarg("rustc_flags").unwrap().value.span)
            .contains("select({"));
    }
    assert!(
        text.contains("        # https://doc.rust-lang.org/cargo/reference/profiles.html#debug\n")
    );
    assert!(text.contains(
        "            # Link with lld on Linux\n            \"-Clink-arg=-fuse-ld=lld\",\n"
    ));
    let si_rust = calls
        .iter()
        .find(|c| c.rule == "si_rust_toolchain")
        .unwrap();
    assert!(si_rust.kwarg("rust_dist").is_none() && si_rust.kwarg("rustfmt_dist").is_none());
    assert!(si_rust.kwarg("rustfmt_toml").is_some());
    assert!(calls
        .iter()
        .find(|c| c.rule == "toml_toolchain")
        .unwrap()
        .kwarg("cargo_dist")
        .is_none());
    // Merged into the existing python load, not a second load of the same file.
    assert_eq!(text.matches("@prelude//toolchains:python.bzl").count(), 1);
    // Untouched text stays byte-identical: the alias with its select.
    let original = read(&fixtures().join("si-latest/toolchains/BUCK"));
    let alias = &original[original
        .find("toolchain_alias(\n    name = \"deno\"")
        .unwrap()..];
    let alias = &alias[..alias.find("\n)\n").unwrap() + 3];
    assert!(text.contains(alias));
}

#[test]
fn buildifier_load_lint_passes_on_every_generated_file() {
    let Some(buildifier) = common::tool("SI_NIXIFY_BUILDIFIER", "buildifier") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install buildifier (see .ci/run)"
        );
        println!("skipped: buildifier not found (set SI_NIXIFY_BUILDIFIER or put it on PATH)");
        return;
    };
    for fixture in FIXTURES {
        let dir = copy_fixture(fixture);
        generate(dir.path());
        let out = std::process::Command::new(&buildifier)
            .args([
                "--mode=check",
                "--lint=warn",
                "--warnings=load",
                "--type=build",
            ])
            .arg(dir.path().join("toolchains/BUCK"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{fixture}: buildifier says:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn assert_bad_input(dir: &Path, expected_location: &str) {
    let before = snapshot(dir);
    let out = run(dir, &["generate"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(expected_location),
        "expected {expected_location} in: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        snapshot(dir),
        before,
        "bad input must leave every file as it was"
    );
}

#[test]
fn syntax_error_in_buck_exits_2_with_location_and_writes_nothing() {
    let dir = copy_fixture("si-latest");
    let buck = dir.path().join("toolchains/BUCK");
    let text = read(&buck).replace(
        "    version = \"1.88.0\",\n",
        "    version = \"1.88.0\" +,\n",
    );
    std::fs::write(&buck, text).unwrap();
    assert_bad_input(dir.path(), "toolchains/BUCK:36:");
}

#[test]
fn syntax_error_in_a_loaded_bzl_exits_2_with_location() {
    let dir = copy_fixture("si-latest");
    let bzl = dir.path().join("prelude-si/toolchains/common.bzl");
    std::fs::write(
        &bzl,
        read(&bzl).replace("def host_os_arch():", "def host_os_arch(:"),
    )
    .unwrap();
    assert_bad_input(dir.path(), "prelude-si/toolchains/common.bzl:13:18");
}

#[test]
fn load_of_a_missing_file_exits_2_naming_the_load() {
    let dir = copy_fixture("si-older");
    std::fs::remove_file(dir.path().join("toolchains/deno_distribution.bzl")).unwrap();
    assert_bad_input(dir.path(), "toolchains/BUCK:4:6: load of `:deno_distribution.bzl` points at `toolchains/deno_distribution.bzl`, which does not exist");
}

/// A valid repo is never an error: a download that a rule still requires stays, listed with
/// the use that holds it (exit 1), and the rest is rewritten.
#[test]
fn a_distribution_a_custom_rule_requires_stays_and_is_listed() {
    let dir = copy_fixture("si-latest");
    let toml = dir.path().join("prelude-si/toml/toolchain.bzl");
    let text = read(&toml).replace(
        "\"cargo_dist\": attrs.option(attrs.exec_dep(providers = [DefaultInfo]), default = None),",
        "\"cargo_dist\": attrs.exec_dep(providers = [DefaultInfo]),",
    );
    std::fs::write(&toml, text).unwrap();
    let out = run(dir.path(), &["generate", "--no-flake"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let said = format!("{stdout}{stderr}");
    assert!(
        said.contains("`toolchains//:rust_dist`")
            && said.contains("`toml` (toolchains/BUCK:235) uses it in `cargo_dist` (`:rust_dist`), which si-nixify can neither point at a tool on PATH nor drop"),
        "{said}"
    );
    let buck = read(&dir.path().join("toolchains/BUCK"));
    assert!(buck.contains("name = \"rust_dist\""), "{buck}");
    assert!(buck.contains("cargo_dist = \":rust_dist\""), "{buck}");
    assert!(buck.contains("system_rust_toolchain("), "{buck}");
}

#[test]
fn attr_the_system_rule_lacks_is_an_error_naming_the_schema() {
    let dir = copy_fixture("si-older");
    let buck = dir.path().join("toolchains/BUCK");
    let text = read(&buck).replace(
        "    rustc_target_triple = \"\",\n",
        "    rustc_target_triple = \"\",\n    sysroot_magic = True,\n",
    );
    std::fs::write(&buck, text).unwrap();
    assert_bad_input(dir.path(), "`sysroot_magic` of `rust_release` has no place in `system_rust_toolchain`: its schema (prelude/toolchains/rust.bzl:28)");
}

/// Needs a real buck2 and prelude: `SI_NIXIFY_BUCK2=/path/buck2 SI_NIXIFY_PRELUDE=/path/prelude`.
#[test]
fn buck2_uquery_succeeds_after_generate() {
    let (Ok(buck2), Ok(prelude)) = (
        std::env::var("SI_NIXIFY_BUCK2"),
        std::env::var("SI_NIXIFY_PRELUDE"),
    ) else {
        println!("skipped: set SI_NIXIFY_BUCK2 and SI_NIXIFY_PRELUDE to run buck2 against the generated BUCK");
        return;
    };
    for fixture in FIXTURES {
        let dir = copy_fixture(fixture);
        std::fs::remove_dir_all(dir.path().join("prelude")).unwrap();
        common::copy_dir(Path::new(&prelude), &dir.path().join("prelude"));
        let out = run(dir.path(), &["generate", "--no-flake"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() == Some(2) && stderr.contains("`@prelude//") {
            // A fixture modelled on another era of the prelude loads files this one lacks.
            println!("skipped {fixture}: this prelude lacks what it loads: {stderr}");
            continue;
        }
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{fixture}: {stderr}"
        );
        // An older era's `[repositories]` (si-older) is `[cells]` to the buck2 of today.
        let config = dir.path().join(".buckconfig");
        std::fs::write(&config, read(&config).replace("[repositories]", "[cells]")).unwrap();
        let out = std::process::Command::new(&buck2)
            .current_dir(dir.path())
            .args(["uquery", "toolchains//..."])
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
    }
}

#[test]
fn upstream_shapes_come_out_on_system_rules() {
    let zig = copy_fixture("upstream-zig");
    generate(zig.path());
    let text = read(&zig.path().join("toolchains/BUCK"));
    // zig linked statically by default; the system rule links shared: the default is kept.
    assert!(text.contains("    link_style = \"static\",\n"), "{text}");
    assert!(
        !text.contains("target = select"),
        "zig's -target triple has no place: {text}"
    );
    assert!(
        text.contains("oncall(\"build_infra\")"),
        "unrelated calls stay"
    );

    let go = copy_fixture("upstream-go");
    generate(go.path());
    let text = read(&go.path().join("toolchains/BUCK"));
    assert!(
        text.contains(
            "system_go_toolchain(\n    name = \"go\",\n    visibility = [\"PUBLIC\"],\n)"
        ),
        "{text}"
    );
    assert!(
        text.contains("system_go_bootstrap_toolchain(\n    name = \"go_bootstrap\","),
        "{text}"
    );
    assert!(!text.contains("env_go_"), "{text}");

    let python = copy_fixture("upstream-python");
    generate(python.path());
    let text = read(&python.path().join("toolchains/BUCK"));
    assert!(
        text.contains("system_python_toolchain(\n    name = \"python\","),
        "{text}"
    );
    assert!(
        text.contains("system_python_bootstrap_toolchain(\n    name = \"python_bootstrap\",\n    visibility = [\"PUBLIC\"],\n)"),
        "the macro's bootstrap toolchain is written out: {text}"
    );
    assert!(
        !text.contains("cpython_urls"),
        "the JSON load goes with its last use: {text}"
    );
}

/// Buildozer applying the equivalent edits by hand (benches/buildozer-si-latest.txt) writes the
/// same file byte for byte: an independent check of the splices, and the baseline that
/// benches/compare.sh times.
#[test]
fn buildozer_with_the_equivalent_edits_writes_the_same_file() {
    let Some(buildozer) = common::tool("SI_NIXIFY_BUILDOZER", "buildozer") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install buildozer (see .ci/install)"
        );
        println!("skipped: buildozer not found (set SI_NIXIFY_BUILDOZER)");
        return;
    };
    let dir = copy_fixture("si-latest");
    let commands = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/buildozer-si-latest.txt");
    let out = std::process::Command::new(buildozer)
        .current_dir(dir.path().join("toolchains"))
        .arg("-f")
        .arg(commands)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        read(&dir.path().join("toolchains/BUCK")),
        golden("si-latest")
    );
}

#[test]
fn a_deno_toolchain_of_the_deno_binary_era_gets_deno_binary() {
    // SI's deno_toolchain took `deno_binary` until mid 2025, `deno_exe` after: the attr the
    // repo's own schema has is the one set.
    let dir = copy_fixture("si-older");
    let rule = dir.path().join("prelude-si/deno/toolchain.bzl");
    let text = std::fs::read_to_string(&rule)
        .unwrap()
        .replace("deno_exe", "deno_binary");
    std::fs::write(&rule, text).unwrap();
    let out = run(dir.path(), &["generate", "--no-flake"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let buck = std::fs::read_to_string(dir.path().join("toolchains/BUCK")).unwrap();
    assert!(buck.contains("deno_binary = \"deno\""), "{buck}");
    assert!(!buck.contains("deno_exe"), "{buck}");
    assert_eq!(
        run(dir.path(), &["generate", "--no-flake", "--check"])
            .status
            .code(),
        Some(0)
    );
}

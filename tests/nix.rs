//! The Nix side: flake patching, generated Nix files, the nix/ functions, the template.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{copy_fixture, read, run, snapshot};
use serde_json::Value;

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn nix_tool(name: &str) -> Option<PathBuf> {
    let found = common::tool("SI_NIXIFY_NO_SUCH_VAR", name);
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install nix-bin (see .ci/install)"
        );
        println!("skipped: {name} not found (install Debian's nix-bin)");
    }
    found
}

fn assert_parses(path: &Path) {
    let Some(nix) = nix_tool("nix-instantiate") else {
        return;
    };
    let out = Command::new(nix).arg("--parse").arg(path).output().unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn nix_eval(expr: &str) -> Option<String> {
    let nix = nix_tool("nix")?;
    let out = Command::new(nix)
        .args([
            "--extra-experimental-features",
            "nix-command",
            "eval",
            "--impure",
            "--json",
            "--expr",
            expr,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{expr}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap().trim().to_owned())
}

fn added_lines(old: &str, new: &str) -> Vec<String> {
    similar::TextDiff::from_lines(old, new)
        .iter_all_changes()
        .filter(|c| c.tag() == similar::ChangeTag::Insert)
        .map(|c| c.value().to_owned())
        .collect()
}

#[test]
fn si_latest_flake_gets_exactly_the_wrapped_linker_in_the_linux_list_of_buck2_build_inputs() {
    let dir = copy_fixture("si-latest");
    let before = read(&dir.path().join("flake.nix"));
    let out = run(dir.path(), &["generate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = read(&dir.path().join("flake.nix"));
    // The Linux list gets exactly the wrapped linker; the PATH tools SI's own toolchain
    // rules call (rustfmt once rustfmt_dist is gone, cargo-sort) go to the list for every OS.
    assert_eq!(
        added_lines(&before, &after),
        vec![
            "          rustfmt\n".to_owned(),
            "          cargo-sort\n".to_owned(),
            "          llvmPackages.bintools\n".to_owned()
        ]
    );
    let at = after.find("llvmPackages.bintools\n").unwrap();
    let binding = after[..at].rfind(" = with pkgs;").unwrap();
    assert!(
        after[..binding].ends_with("buck2BuildInputs"),
        "added to the wrong list"
    );
    assert!(after[binding..at].contains("lib.optionals pkgs.stdenv.isLinux ["));
    assert!(
        !after[binding..at].contains("isDarwin"),
        "must be the Linux list"
    );
    assert_eq!(
        after,
        read(&manifest().join("tests/golden/si-latest/flake.nix"))
    );
    assert_parses(&dir.path().join("flake.nix"));
}

#[test]
fn flake_that_already_provides_everything_is_untouched() {
    let dir = copy_fixture("system-only");
    let before = snapshot(dir.path());
    let out = run(dir.path(), &["generate"]);
    assert!(out.status.success());
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("nothing to do"));
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn plain_packages_list_gets_the_missing_packages() {
    let dir = copy_fixture("si-older");
    let before = read(&dir.path().join("flake.nix"));
    let out = run(dir.path(), &["generate"]);
    assert!(out.status.success());
    let after = read(&dir.path().join("flake.nix"));
    let mut added = added_lines(&before, &after);
    added.sort();
    assert_eq!(
        added,
        [
            "          pkgs.clang\n",
            "          pkgs.clippy\n",
            "          pkgs.deno\n",
            "          pkgs.llvmPackages.bintools\n",
            "          pkgs.rustfmt\n"
        ]
    );
    assert_eq!(
        after,
        read(&manifest().join("tests/golden/si-older/flake.nix"))
    );
    assert_parses(&dir.path().join("flake.nix"));
    // Idempotent: the second run and --check find nothing to do.
    let check = run(dir.path(), &["generate", "--check"]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

#[test]
fn check_and_dry_run_include_the_flake_diff() {
    let dir = copy_fixture("si-latest");
    let out = run(dir.path(), &["generate", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("--- a/flake.nix\n+++ b/flake.nix\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("+          llvmPackages.bintools\n"),
        "{stdout}"
    );
}

#[test]
fn an_unwrapped_lld_in_the_devshell_is_replaced_in_place_by_the_wrapped_linker() {
    let dir = copy_fixture("system-only");
    let flake = dir.path().join("flake.nix");
    let wrapped = read(&flake);
    for (unwrapped, expected) in [
        ("pkgs.llvmPackages.lld", "pkgs.llvmPackages.bintools"),
        ("pkgs.llvmPackages_18.lld", "pkgs.llvmPackages_18.bintools"),
        ("pkgs.lld", "pkgs.llvmPackages.bintools"),
    ] {
        let before = wrapped.replace("pkgs.llvmPackages.bintools", unwrapped);
        std::fs::write(&flake, &before).unwrap();
        let out = run(dir.path(), &["generate"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(
            stdout.contains(&format!(
                "replace {} with {} in `",
                &unwrapped[5..],
                &expected[5..]
            )),
            "{stdout}"
        );
        assert!(stdout.contains("nixpkgs #24744"), "{stdout}");
        // Replaced where it stood, nothing added beside it.
        assert_eq!(
            read(&flake),
            wrapped.replace("pkgs.llvmPackages.bintools", expected)
        );
        assert_parses(&flake);
    }
}

#[test]
fn flake_syntax_error_exits_2_and_writes_neither_file() {
    let dir = copy_fixture("si-latest");
    let flake = dir.path().join("flake.nix");
    std::fs::write(
        &flake,
        read(&flake).replace(
            "pkgs = import nixpkgs {inherit overlays system;};",
            "pkgs = import nixpkgs {inherit overlays system;;",
        ),
    )
    .unwrap();
    let before = snapshot(dir.path());
    let out = run(dir.path(), &["generate"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("flake.nix:24:"), "{err}");
    assert!(err.contains("Nix syntax error"), "{err}");
    assert_eq!(
        snapshot(dir.path()),
        before,
        "neither toolchains/BUCK nor flake.nix may change"
    );
}

#[test]
fn without_a_flake_generate_writes_a_nix_function_that_evaluates() {
    let dir = copy_fixture("si-older");
    std::fs::remove_file(dir.path().join("flake.nix")).unwrap();
    let out = run(dir.path(), &["generate"]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("import ./nix/buck2-toolchains.nix { inherit pkgs; }"),
        "{stdout}"
    );
    let generated = dir.path().join("nix/buck2-toolchains.nix");
    assert_parses(&generated);
    let pkgs = r#"{ clang = "clang"; clippy = "clippy"; deno = "deno"; python3 = "python3"; rustc = "rustc"; rustfmt = "rustfmt";
                   llvmPackages = { bintools = "bintools"; }; stdenv.hostPlatform = { isLinux = true; isDarwin = false; }; }"#;
    let expr = format!("import {} {{ pkgs = {pkgs}; }}", generated.display());
    if let Some(json) = nix_eval(&expr) {
        let list: Vec<String> = serde_json::from_str(&json).unwrap();
        assert_eq!(
            list,
            ["clang", "clippy", "deno", "bintools", "python3", "rustc", "rustfmt"]
        );
    }
    // A second run changes nothing.
    let again = run(dir.path(), &["generate", "--check"]);
    assert_eq!(again.status.code(), Some(0));
}

#[test]
fn init_flake_writes_a_flake_and_refuses_to_overwrite_one() {
    let dir = copy_fixture("si-older");
    std::fs::remove_file(dir.path().join("flake.nix")).unwrap();
    let out = run(dir.path(), &["generate", "--init-flake"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let flake = read(&dir.path().join("flake.nix"));
    assert!(flake.contains("import ./nix/buck2-toolchains.nix { inherit pkgs; }"));
    assert_parses(&dir.path().join("flake.nix"));
    let again = run(dir.path(), &["generate", "--init-flake"]);
    assert_eq!(again.status.code(), Some(2));
}

#[test]
fn lib_function_returns_the_packages_for_the_platform() {
    let lib = manifest().join("nix/lib.nix");
    let pkgs = |linux: bool| {
        format!(
            r#"{{ clang = "c"; python3 = "p"; llvmPackages = {{ lld = "l"; }}; darwin.sigtool = "s";
                 stdenv = {{ isLinux = {linux}; isDarwin = {}; }}; }}"#,
            !linux
        )
    };
    let call = |linux| {
        format!(
            r#"(import {}).toolchainPackages ({}) {{ all = [ "clang" "python3" ]; linux = [ "llvmPackages.lld" ]; darwin = [ "darwin.sigtool" ]; }}"#,
            lib.display(),
            pkgs(linux)
        )
    };
    if let Some(linux) = nix_eval(&call(true)) {
        assert_eq!(linux, r#"["c","p","l"]"#);
        assert_eq!(nix_eval(&call(false)).unwrap(), r#"["c","p","s"]"#);
    }
}

#[test]
fn every_nix_file_in_the_repo_parses() {
    let mut stack = vec![manifest().to_path_buf()];
    let mut count = 0;
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() && !matches!(name.as_str(), "target" | ".git" | ".tools" | "prelude") {
                stack.push(p);
            } else if name.ends_with(".nix") {
                assert_parses(&p);
                count += 1;
            }
        }
    }
    assert!(count >= 8, "found only {count} .nix files");
}

#[test]
fn template_is_what_generate_init_flake_writes_for_it() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_dir(&manifest().join("nix/template"), dir.path());
    std::fs::remove_file(dir.path().join("flake.nix")).unwrap();
    std::fs::remove_file(dir.path().join("nix/buck2-toolchains.nix")).unwrap();
    let out = run(dir.path(), &["generate", "--init-flake"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in ["flake.nix", "nix/buck2-toolchains.nix"] {
        assert_eq!(
            read(&dir.path().join(f)),
            read(&manifest().join("nix/template").join(f)),
            "{f}"
        );
    }
    assert_eq!(read(&manifest().join("nix/template/.envrc")), "use flake\n");
}

#[test]
fn scan_reports_version_drift_with_the_line_to_change() {
    let dir = copy_fixture("si-latest");
    let out = run(dir.path(), &["scan", "--json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let drift = doc["version_drift"].as_array().unwrap();
    let rust = drift
        .iter()
        .find(|d| d["family"] == "rust")
        .expect("rust drift");
    assert_eq!(rust["pinned"], "1.88.0");
    assert!(
        rust["message"]
            .as_str()
            .unwrap()
            .contains("channel is \"stable\""),
        "{rust}"
    );
    assert_eq!(
        rust["fix"],
        "set `channel = \"1.88.0\"` at rust-toolchain:2 (or accept the drift)"
    );
    let clang = drift
        .iter()
        .find(|d| d["family"] == "clang")
        .expect("clang drift");
    assert!(
        clang["fix"]
            .as_str()
            .unwrap()
            .starts_with("use `llvmPackages_20.clang` at flake.nix:50"),
        "{clang}"
    );
    let python = drift
        .iter()
        .find(|d| d["family"] == "python")
        .expect("python drift");
    assert!(
        python["fix"]
            .as_str()
            .unwrap()
            .starts_with("use `python313`"),
        "{python}"
    );
    // Pinning the channel removes the rust drift.
    std::fs::write(
        dir.path().join("rust-toolchain"),
        "[toolchain]\nchannel = \"1.88.0\"\n",
    )
    .unwrap();
    let out = run(dir.path(), &["scan", "--json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["version_drift"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["family"] != "rust"));
}

/// A repo whose devshell is a `shell.nix` (`nix-shell`; WebAssembly/wasi-testsuite has one):
/// without a flake.nix, generate patches it, and writes no nix/buck2-toolchains.nix.
#[test]
fn a_shell_nix_is_the_devshell_when_there_is_no_flake() {
    let dir = copy_fixture("si-older");
    std::fs::remove_file(dir.path().join("flake.nix")).unwrap();
    let _ = std::fs::remove_file(dir.path().join("flake.lock"));
    std::fs::write(
        dir.path().join("shell.nix"),
        "{ pkgs ? import <nixpkgs> { } }:\n\npkgs.mkShell {\n  buildInputs = with pkgs; [\n    buck2\n    rustc\n  ];\n}\n",
    )
    .unwrap();
    let out = run(dir.path(), &["generate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = read(&dir.path().join("shell.nix"));
    for added in ["    clang\n", "    clippy\n", "    deno\n"] {
        assert!(after.contains(added), "{after}");
    }
    assert!(!dir.path().join("nix/buck2-toolchains.nix").exists());
    assert_parses(&dir.path().join("shell.nix"));
    let check = run(dir.path(), &["generate", "--check"]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

/// A shell.nix written as `stdenv.mkDerivation { buildInputs = …; }` (NoRedInk/noredink-ui)
/// is the devshell, and is patched like a mkShell.
#[test]
fn a_shell_nix_of_mk_derivation_is_patched() {
    let dir = copy_fixture("si-older");
    std::fs::remove_file(dir.path().join("flake.nix")).unwrap();
    let _ = std::fs::remove_file(dir.path().join("flake.lock"));
    std::fs::write(
        dir.path().join("shell.nix"),
        "{ pkgs ? import <nixpkgs> { } }:\n\npkgs.stdenv.mkDerivation {\n  name = \"dev\";\n  buildInputs = [\n    pkgs.buck2\n    pkgs.rustc\n  ];\n}\n",
    )
    .unwrap();
    let out = run(dir.path(), &["generate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = read(&dir.path().join("shell.nix"));
    assert!(after.contains("    pkgs.deno\n"), "{after}");
    assert!(!dir.path().join("nix/buck2-toolchains.nix").exists());
    assert_parses(&dir.path().join("shell.nix"));
}

/// `mkShell ( { packages = …; } // env )` (codegod100/sleek): the attr set inside the parens,
/// left of `//`, holds the list that is patched.
#[test]
fn a_parenthesised_and_merged_mk_shell_argument_is_patched() {
    let dir = copy_fixture("si-older");
    let flake = "{\n  outputs = { self, nixpkgs }:\n    let pkgs = nixpkgs.legacyPackages.x86_64-linux; env = { FOO = \"1\"; }; in {\n      devShells.x86_64-linux.default = pkgs.mkShell ({\n        packages = [\n          pkgs.buck2\n          pkgs.rustc\n        ];\n      } // env);\n    };\n}\n";
    std::fs::write(dir.path().join("flake.nix"), flake).unwrap();
    let out = run(dir.path(), &["generate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = read(&dir.path().join("flake.nix"));
    assert!(after.contains("          pkgs.deno\n"), "{after}");
    assert_parses(&dir.path().join("flake.nix"));
}

/// A flake whose devshell is not recognisable is no error: the tools go to the generated
/// file, and a note says where the packages should go.
#[test]
fn an_unrecognised_devshell_gets_the_generated_file_and_a_note() {
    let dir = copy_fixture("si-older");
    let flake = "{\n  outputs = { self, nixpkgs }: {\n    devShells.x86_64-linux.default = import ./dev.nix { inherit nixpkgs; };\n  };\n}\n";
    std::fs::write(dir.path().join("flake.nix"), flake).unwrap();
    let out = run(dir.path(), &["generate"]);
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("flake.nix: no devshell package list found"),
        "{said}"
    );
    assert_eq!(read(&dir.path().join("flake.nix")), flake);
    let generated = read(&dir.path().join("nix/buck2-toolchains.nix"));
    assert!(generated.contains("\"deno\""), "{generated}");
    let check = run(dir.path(), &["generate", "--check"]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

/// devenv's `mkShell { modules = [ { packages = …; } ]; }`: the packages list is one module down.
#[test]
fn a_devenv_shell_gets_the_packages_in_its_module() {
    let dir = copy_fixture("si-older");
    let flake = "{\n  inputs.devenv.url = \"github:cachix/devenv\";\n  outputs = { self, nixpkgs, devenv, ... } @ inputs:\n    let pkgs = nixpkgs.legacyPackages.x86_64-linux; in {\n      devShells.x86_64-linux.default = devenv.lib.mkShell {\n        inherit inputs pkgs;\n        modules = [\n          {\n            packages = [\n              pkgs.buck2\n              pkgs.rustc\n            ];\n          }\n        ];\n      };\n    };\n}\n";
    std::fs::write(dir.path().join("flake.nix"), flake).unwrap();
    let out = run(dir.path(), &["generate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = read(&dir.path().join("flake.nix"));
    let mut added = added_lines(flake, &after);
    added.sort();
    assert!(
        added.contains(&"              pkgs.clang\n".to_owned()),
        "{after}"
    );
    assert!(
        added.contains(&"              pkgs.deno\n".to_owned()),
        "{after}"
    );
    assert_parses(&dir.path().join("flake.nix"));
}

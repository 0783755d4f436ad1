//! `generate --nix-pinned`: a real Nix build of a test flake whose "nixpkgs" wraps the
//! machine's own tools, the generated files parsed by the real parsers, the recorded store
//! paths compared with what `nix build` prints, and `--check` before and after a package change.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{copy_fixture, read, snapshot, tool};

/// What Nix needs to build the stand-in packages here: no sandbox (they link to host tools),
/// no build users (tests run as root without nixbld), no substituters (offline).
const NIX_CONFIG: &str =
    "experimental-features = nix-command flakes\nsandbox = false\nbuild-users-group =\nsubstituters =\n";

fn nix() -> Option<PathBuf> {
    let found = tool("SI_NIXIFY_NO_SUCH_VAR", "nix");
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install nix-bin (see .ci/install)"
        );
        println!("skipped: nix not found (install Debian's nix-bin)");
    }
    found
}

fn nix_cmd(nix: &Path, dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(nix)
        .current_dir(dir)
        .env("NIX_CONFIG", NIX_CONFIG)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "nix {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn si_nixify(dir: &Path, args: &[&str]) -> Output {
    common::si_nixify(dir)
        .env("NIX_CONFIG", NIX_CONFIG)
        .args(args)
        .output()
        .unwrap()
}

/// The fixture, with host-tools.json naming this machine's tools and flake.lock written.
fn pinned_fixture(nix: &Path) -> tempfile::TempDir {
    let dir = copy_fixture("nix-pinned");
    name_host_tools(dir.path());
    nix_cmd(nix, dir.path(), &["flake", "lock"]);
    dir
}

/// The SI fixture with its flake's three inputs locked to the stand-ins of the nix-pinned
/// fixture (nixpkgs, flake-utils, rust-overlay): SI's own flake.nix, evaluated for real.
fn si_pinned_fixture(nix: &Path) -> tempfile::TempDir {
    let dir = copy_fixture("si-latest");
    let stand_ins = common::fixtures().join("nix-pinned");
    let mut args = vec!["flake".to_owned(), "lock".to_owned()];
    for (input, stand_in) in [
        ("nixpkgs", "fake-nixpkgs"),
        ("flake-utils", "fake-flake-utils"),
        ("rust-overlay", "fake-rust-overlay"),
    ] {
        common::copy_dir(&stand_ins.join(stand_in), &dir.path().join(stand_in));
        let at = format!("path:{}", dir.path().join(stand_in).display());
        args.extend(["--override-input".to_owned(), input.to_owned(), at]);
    }
    name_host_tools(dir.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    nix_cmd(nix, dir.path(), &args);
    dir
}

/// Point the stand-in nixpkgs' packages at this machine's tools.
fn name_host_tools(root: &Path) {
    let fake = root.join("fake-nixpkgs/host-tools.json");
    let wanted: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&read(&fake)).unwrap();
    let mut host = serde_json::Map::new();
    for binary in wanted.keys() {
        // A tool this machine lacks still gets a (dangling) link: nix builds it all the same.
        let path = tool("SI_NIXIFY_NO_SUCH_VAR", binary)
            .map_or_else(|| format!("/usr/bin/{binary}"), |p| p.display().to_string());
        host.insert(binary.clone(), path.into());
    }
    std::fs::write(&fake, serde_json::to_string_pretty(&host).unwrap()).unwrap();
}

fn generate(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["generate", "--nix-pinned"];
    args.extend_from_slice(extra);
    si_nixify(dir, &args)
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// (target, attr, recorded store path) of every `nix_package` in the toolchains file, read
/// with the project's Starlark parser (no text matching).
fn recorded_packages(dir: &Path) -> Vec<(String, String, String)> {
    use si_nixify::inventory::targets::calls;
    use si_nixify::read::{Expr, Module};
    let module = Module::read(dir, Path::new("toolchains/BUCK")).unwrap();
    calls(&module)
        .into_iter()
        .filter(|c| c.rule == "nix_package")
        .map(|c| {
            let s = |n: &str| c.kwarg(n).unwrap().value.as_str().unwrap().to_owned();
            let Expr::Dict(paths) = &c.kwarg("store_paths").unwrap().value.expr else {
                panic!("store_paths is not a dict");
            };
            assert_eq!(paths.len(), 1);
            assert_eq!(paths[0].0.as_str(), Some("x86_64-linux"));
            (
                s("name"),
                s("attr"),
                paths[0].1.as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn built_path(nix: &Path, dir: &Path, attr: &str) -> String {
    let installable = format!(
        "path:{}#buck2-toolchains.x86_64-linux.{attr}",
        dir.display()
    );
    let out = nix_cmd(nix, dir, &["build", "--no-link", "--json", &installable]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json[0]["outputs"]["out"].as_str().unwrap().to_owned()
}

/// `doctor --json --no-probe`'s `nix-pinned` findings: (subject, status, seen).
fn pinned_findings(dir: &Path, path_env: Option<&str>) -> Vec<(String, String, String)> {
    let mut cmd = common::si_nixify(dir);
    cmd.env("NIX_CONFIG", NIX_CONFIG)
        .args(["doctor", "--json", "--no-probe"]);
    if let Some(path) = path_env {
        cmd.env("PATH", path);
    }
    let out = cmd.output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "nix-pinned")
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_owned();
            (s("subject"), s("status"), s("seen"))
        })
        .collect()
}

fn assert_buildifier_clean(files: &[PathBuf]) {
    let Some(buildifier) = tool("SI_NIXIFY_BUILDIFIER", "buildifier") else {
        println!("skipped buildifier: set SI_NIXIFY_BUILDIFIER");
        return;
    };
    for f in files {
        let lint = if f.extension().is_some_and(|e| e == "bzl") {
            "--lint=warn"
        } else {
            "--lint=off"
        };
        let out = Command::new(&buildifier)
            .args(["--mode=check", lint])
            .arg(f)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}{}",
            f.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn pinned_packages_are_the_store_paths_nix_build_prints_and_check_follows_the_lock() {
    let Some(nix) = nix() else { return };
    let dir = pinned_fixture(&nix);
    let root = dir.path();
    let out = generate(root, &[]);
    assert_ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        stdout.contains("Pinned to Nix store paths (x86_64-linux)"),
        "{stdout}"
    );

    // Everything parses with the real tools.
    let instantiate = nix.with_file_name("nix-instantiate");
    for f in ["flake.nix", "nix/buck2-toolchains-pinned.nix"] {
        let parsed = Command::new(&instantiate)
            .arg("--parse")
            .arg(root.join(f))
            .output()
            .unwrap();
        assert!(
            parsed.status.success(),
            "{f}: {}",
            String::from_utf8_lossy(&parsed.stderr)
        );
    }
    assert_buildifier_clean(&[
        root.join("toolchains/BUCK"),
        root.join("toolchains/nix_pinned.bzl"),
    ]);

    // Each package target names a flake attribute that nix builds, to the recorded path.
    let packages = recorded_packages(root);
    let attrs: Vec<&str> = packages.iter().map(|(_, a, _)| a.as_str()).collect();
    assert_eq!(
        attrs,
        [
            "bash",
            "binutils",
            "clang",
            "clippy",
            "coreutils",
            "llvmPackages-bintools",
            "python3",
            "rustc"
        ]
    );
    for (target, attr, recorded) in &packages {
        assert_eq!(target, &format!("nix-{attr}"));
        assert!(recorded.starts_with("/nix/store/"), "{recorded}");
        assert_eq!(&built_path(&nix, root, attr), recorded, "{attr}");
    }
    // The toolchains name those targets for their tools.
    let buck = read(&root.join("toolchains/BUCK"));
    assert!(
        buck.contains("nix_cxx_toolchain(\n    name = \"cxx\","),
        "{buck}"
    );
    assert!(buck.contains("\"clang++\": \":nix-clang\""), "{buck}");
    assert!(
        buck.contains("\"ld.lld\": \":nix-llvmPackages-bintools\""),
        "{buck}"
    );
    assert!(
        buck.contains("nix_rust_toolchain(\n    name = \"rust\","),
        "{buck}"
    );
    assert!(buck.contains("\"rustc\": \":nix-rustc\""), "{buck}");
    assert!(
        buck.contains("nix_python_toolchain(\n    name = \"python\","),
        "{buck}"
    );
    assert!(
        buck.contains("nix_python_bootstrap_toolchain(\n    name = \"python_bootstrap\","),
        "the prelude's C++ and Rust rules run helper scripts with it: {buck}"
    );
    assert!(!buck.contains("system_cxx_toolchain"), "{buck}");

    // Up to date: --check is 0 and a second run writes nothing.
    let before = snapshot(root);
    let check = generate(root, &["--check"]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    assert_ok(&generate(root, &[]));
    assert_eq!(snapshot(root), before);

    // doctor knows the mode: nix is there and every package realises to its recorded path.
    let findings = pinned_findings(root, None);
    assert_eq!(findings.len(), packages.len() + 1, "{findings:?}");
    assert_eq!(findings[0].0, "nix");
    for (subject, status, seen) in &findings {
        assert_eq!(status, "ok", "{subject}: {seen}");
    }
    for (target, _, recorded) in &packages {
        assert!(
            findings
                .iter()
                .any(|(s, _, seen)| s == &format!(":{target}")
                    && seen == &format!("realises {recorded}")),
            "{target}: {findings:?}"
        );
    }
    // …and without nix on PATH it says so, as a failure.
    let findings = pinned_findings(root, Some("/nonexistent"));
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(
        (findings[0].0.as_str(), findings[0].1.as_str()),
        ("nix", "fail")
    );
    assert!(findings[0].2.contains("not on PATH"), "{findings:?}");

    // A package changes (a new store path once the lock follows): --check is 1, writes nothing.
    let fake = root.join("fake-nixpkgs/flake.nix");
    let changed = read(&fake).replace("wrap \"clang\"", "wrap \"clang-2\"");
    std::fs::write(&fake, changed).unwrap();
    nix_cmd(&nix, root, &["flake", "lock", "--update-input", "nixpkgs"]);
    let before = snapshot(root);
    let check = generate(root, &["--check"]);
    let check_out = String::from_utf8_lossy(&check.stdout).into_owned();
    assert_eq!(check.status.code(), Some(1), "{check_out}");
    assert!(check_out.contains("-clang-2\""), "{check_out}");
    assert_eq!(snapshot(root), before, "--check must not write");
    // doctor fails the changed package, naming both paths; the others still realise.
    let findings = pinned_findings(root, None);
    let clang = findings.iter().find(|(s, _, _)| s == ":nix-clang").unwrap();
    assert_eq!(clang.1, "fail", "{clang:?}");
    assert!(
        clang.2.contains("-clang-2") && clang.2.contains("records"),
        "{clang:?}"
    );
    let failed = findings.iter().filter(|(_, st, _)| st == "fail").count();
    assert_eq!(failed, 1, "{findings:?}");
    assert_ok(&generate(root, &[]));
    let check = generate(root, &["--check"]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let clang = recorded_packages(root)
        .into_iter()
        .find(|(_, a, _)| a == "clang")
        .unwrap();
    assert_eq!(built_path(&nix, root, "clang"), clang.2);
}

#[test]
fn without_nix_on_path_nix_pinned_fails_clearly_and_writes_nothing() {
    let dir = copy_fixture("nix-pinned");
    // flake.lock present, so the only thing missing is nix itself.
    std::fs::write(dir.path().join("flake.lock"), "{}\n").unwrap();
    let before = snapshot(dir.path());
    let out = common::si_nixify(dir.path())
        .env("PATH", "/nonexistent")
        .args(["generate", "--nix-pinned", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`nix` is not on PATH"), "{stderr}");
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn without_flake_lock_nix_pinned_fails_naming_the_file() {
    let dir = copy_fixture("nix-pinned");
    let before = snapshot(dir.path());
    let out = generate(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: flake.lock: --nix-pinned needs flake.lock"),
        "{stderr}"
    );
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn si_fixture_without_flake_lock_is_refused_before_anything_runs() {
    let dir = copy_fixture("si-latest");
    let before = snapshot(dir.path());
    let out = generate(dir.path(), &["--dry-run"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: flake.lock: --nix-pinned needs flake.lock"),
        "{stderr}"
    );
    assert!(stderr.contains("nix flake lock"), "{stderr}");
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn si_fixture_dry_run_shows_every_change_with_its_reason_and_a_second_run_changes_nothing() {
    let Some(nix) = nix() else { return };
    let dir = si_pinned_fixture(&nix);
    let root = dir.path();
    let before = snapshot(root);
    let out = generate(root, &["--dry-run"]);
    assert_ok(&out);
    assert_eq!(snapshot(root), before, "--dry-run wrote");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // The plain rewrite's changes, each with its reason…
    for change in [
        "deleted download_rust_distribution(...) — downloads a pre-built archive",
        "replaced hermetic_clang_toolchain → system_cxx_toolchain — ",
        "dropped `rust_dist` — pointed at the deleted distribution `:rust_dist`",
    ] {
        assert!(text.contains(change), "{change}\n{text}");
    }
    // …then the pinned layer's: the toolchains, the flake output, every package.
    for change in [
        "replaced system_cxx_toolchain → nix_cxx_toolchain — its tools come from Nix packages",
        "replaced system_rust_toolchain → nix_rust_toolchain",
        "replaced system_python_toolchain → nix_python_toolchain",
        "replaced system_python_bootstrap_toolchain → nix_python_bootstrap_toolchain",
        "added the `buck2-toolchains` output",
        "New file nix/buck2-toolchains-pinned.nix",
        "New file toolchains/nix_pinned.bzl",
    ] {
        assert!(text.contains(change), "{change}\n{text}");
    }
    let mut shown = Vec::new();
    for attr in ["clang", "llvmPackages-bintools", "python3", "rustc"] {
        let line = format!("package :nix-{attr} builds `buck2-toolchains.x86_64-linux.{attr}`");
        let at = text.find(&line).unwrap_or_else(|| panic!("{line}\n{text}"));
        let store_path = text[at..].split(" = ").nth(1).unwrap_or_default();
        let store_path = store_path.split(' ').next().unwrap_or_default();
        assert!(
            store_path.starts_with("/nix/store/"),
            "{attr}: {store_path}"
        );
        shown.push((attr, store_path.to_owned()));
    }
    assert!(
        text.contains("nothing written"),
        "{}",
        text.lines().last().unwrap_or_default()
    );

    // Written, the result parses, and a second run and --check change nothing.
    assert_ok(&generate(root, &[]));
    for f in ["flake.nix", "nix/buck2-toolchains-pinned.nix"] {
        let parsed = Command::new(nix.with_file_name("nix-instantiate"))
            .arg("--parse")
            .arg(root.join(f))
            .output()
            .unwrap();
        assert!(parsed.status.success(), "{f}");
    }
    assert_buildifier_clean(&[
        root.join("toolchains/BUCK"),
        root.join("toolchains/nix_pinned.bzl"),
    ]);
    // The paths the dry run showed are the ones recorded, and the ones nix builds.
    let recorded = recorded_packages(root);
    for (attr, store_path) in &shown {
        let (_, _, path) = recorded.iter().find(|(_, a, _)| a == attr).unwrap();
        assert_eq!(path, store_path, "{attr}");
        assert_eq!(&built_path(&nix, root, attr), store_path, "{attr}");
    }
    let written = snapshot(root);
    let again = generate(root, &[]);
    assert_ok(&again);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("already on pinned Nix toolchains"),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    assert_eq!(snapshot(root), written, "a second run changed files");
    assert_eq!(generate(root, &["--check"]).status.code(), Some(0));
}

/// With a real buck2 and its prelude (`SI_NIXIFY_BUCK2`, `SI_NIXIFY_PRELUDE`): after `generate
/// --nix-pinned`, `env -i PATH=/nonexistent buck2 build` of a C and a Rust hello world succeeds
/// with every tool taken from a store path (buck2 and nix called by absolute path), and both
/// binaries run.
#[test]
fn buck2_builds_c_and_rust_hello_worlds_from_store_paths_only() {
    let (Some(buck2), Some(prelude)) = (
        std::env::var_os("SI_NIXIFY_BUCK2"),
        std::env::var_os("SI_NIXIFY_PRELUDE"),
    ) else {
        println!("skipped: set SI_NIXIFY_BUCK2 and SI_NIXIFY_PRELUDE to build with the pinned toolchains");
        return;
    };
    let Some(nix) = nix() else { return };
    let dir = copy_fixture("nix-pinned");
    let root = dir.path();
    std::fs::remove_dir_all(root.join("prelude")).unwrap();
    common::copy_dir(Path::new(&prelude), &root.join("prelude"));
    std::fs::create_dir_all(root.join("none")).unwrap();
    std::fs::write(
        root.join(".buckconfig"),
        "[cells]\n  root = .\n  prelude = prelude\n  toolchains = toolchains\n  none = none\n\n\
         [cell_aliases]\n  config = prelude\n  fbcode = none\n  fbsource = none\n  buck = none\n\n\
         [parser]\n  target_platform_detector_spec = target:root//...->prelude//platforms:default\n\n\
         [build]\n  execution_platforms = prelude//platforms:default\n",
    )
    .unwrap();
    // What the README says a build without PATH needs: nix by absolute path.
    std::fs::write(
        root.join(".buckconfig.local"),
        format!("[si_nixify]\n  nix = {}\n", nix.display()),
    )
    .unwrap();
    std::fs::write(
        root.join("BUCK"),
        "cxx_binary(\n    name = \"hello_c\",\n    srcs = [\"hello.c\"],\n)\n\n\
         rust_binary(\n    name = \"hello_rs\",\n    srcs = [\"hello.rs\"],\n    crate_root = \"hello.rs\",\n)\n",
    )
    .unwrap();
    std::fs::write(
        root.join("hello.c"),
        "#include <stdio.h>\nint main(void) { puts(\"hello from c\"); return 0; }\n",
    )
    .unwrap();
    std::fs::write(
        root.join("hello.rs"),
        "fn main() {\n    println!(\"hello from rust\");\n}\n",
    )
    .unwrap();
    name_host_tools(root);
    name_real_binaries(root);
    nix_cmd(&nix, root, &["flake", "lock"]);
    assert_ok(&generate(root, &[]));

    let buck2_no_path = |args: &[&str]| {
        Command::new(&buck2)
            .current_dir(root)
            .env_clear()
            .env("PATH", "/nonexistent")
            .args(args)
            .output()
            .unwrap()
    };
    let built = buck2_no_path(&["build", "//:hello_c", "//:hello_rs", "--show-full-output"]);
    let _ = buck2_no_path(&["kill"]);
    assert_ok(&built);
    let listing = String::from_utf8_lossy(&built.stdout).into_owned();
    for (target, greeting) in [("hello_c", "hello from c"), ("hello_rs", "hello from rust")] {
        let binary = listing
            .lines()
            .find_map(|l| l.strip_prefix(&format!("root//:{target} ")))
            .unwrap_or_else(|| panic!("{target} not in:\n{listing}"));
        let ran = Command::new(binary.trim()).env_clear().output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ran.stdout).trim(),
            greeting,
            "{target}"
        );
    }
}

/// rustc, rustdoc, clippy-driver and python3 on PATH are often rustup's or pyenv's shims,
/// which need PATH and HOME to pick a version (pyenv's is a bash script): the stand-in
/// packages link the real binaries instead.
fn name_real_binaries(root: &Path) {
    let file = root.join("fake-nixpkgs/host-tools.json");
    let mut host: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&read(&file)).unwrap();
    let printed = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .output()
            .ok()
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
    };
    if let Some(sysroot) = printed("rustc", &["--print", "sysroot"]) {
        for binary in ["rustc", "rustdoc", "clippy-driver"] {
            let real = sysroot.join("bin").join(binary);
            if real.is_file() {
                host.insert(binary.to_owned(), real.display().to_string().into());
            }
        }
    }
    if let Some(python) = printed("python3", &["-c", "import sys; print(sys.executable)"]) {
        if python.is_file() {
            host.insert("python3".to_owned(), python.display().to_string().into());
        }
    }
    std::fs::write(&file, serde_json::to_string_pretty(&host).unwrap()).unwrap();
}

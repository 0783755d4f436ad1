//! Correct on a real NixOS machine: the wrapped linker, nixpkgs attributes that exist, shells
//! that provide less than mkShell, pins that survive `generate`.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{copy_fixture, have, run, si_nixify, tool};
use serde_json::Value;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn json(repo: &Path, args: &[&str], env: &[(&str, &str)]) -> Value {
    let mut cmd = si_nixify(repo);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A devshell flake whose mkShell-like call (`shell`) lists `packages`.
fn flake(shell: &str, packages: &str) -> String {
    format!(
        "{{\n  outputs = {{ nixpkgs, ... }}:\n    let pkgs = import nixpkgs {{ system = \"x86_64-linux\"; }};\n    in {{\n      devShells.x86_64-linux.default = pkgs.{shell} {{\n        packages = with pkgs; [\n{packages}\n        ];\n      }};\n    }};\n}}\n"
    )
}

fn added(repo: &Path) -> Vec<String> {
    let doc = json(
        repo,
        &["generate", "--dry-run", "--json"],
        &[("PATH", "/nonexistent")],
    );
    doc["devshell_additions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["nix"].as_str().unwrap().to_owned())
        .collect()
}

// --- the wrapped linker, probed -----------------------------------------------------------

fn probe_finding<'a>(doc: &'a Value, probe: &str) -> &'a Value {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "probe" && f["subject"] == probe)
        .unwrap_or_else(|| panic!("no {probe} probe in {doc:#}"))
}

/// An `ld.lld` that links with a dynamic linker that does not exist, the way an unwrapped
/// linker leaves binaries on NixOS: they link, then cannot start.
fn shim_linker(dir: &Path) {
    let real = tool("SI_NIXIFY_LD_LLD", "ld.lld").unwrap();
    let shim = dir.join("ld.lld");
    write(
        &shim,
        &format!(
            "#!/bin/sh\nexec {} \"$@\" --dynamic-linker=/nonexistent/ld-linux-x86-64.so.2\n",
            real.display()
        ),
    );
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn doctor_fails_every_probe_whose_binary_links_but_cannot_start_and_names_the_wrapped_linker() {
    if !cfg!(target_os = "linux") || !have(&["clang", "clang++", "rustc", "ld.lld"]) {
        return;
    }
    let dir = copy_fixture("system-only");
    let shim = tempfile::tempdir().unwrap();
    shim_linker(shim.path());
    // `-B DIR` makes clang look for ld.lld in DIR before PATH: the shim is what links.
    let buck = dir.path().join("toolchains/BUCK");
    let text = read(&buck);
    let head = "system_cxx_toolchain(\n    name = \"cxx\",\n";
    assert!(text.contains(head), "fixture shape changed");
    let flags = format!("    link_flags = [\"-B{}\"],\n", shim.path().display());
    write(&buck, &text.replace(head, &format!("{head}{flags}")));
    let out = si_nixify(dir.path())
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    for probe in ["c", "c++", "rust"] {
        let f = probe_finding(&doc, probe);
        assert_eq!(f["status"], "fail", "{f:#}");
        let seen = f["seen"].as_str().unwrap();
        assert!(seen.contains("linked a binary that"), "{seen}");
        assert!(
            seen.contains("interpreter /nonexistent/ld-linux-x86-64.so.2 does not exist"),
            "{seen}"
        );
        assert!(seen.contains("RUNPATH: (none)"), "{seen}");
        let fix = f["fix"].as_str().unwrap();
        assert!(fix.contains("`llvmPackages.bintools`"), "{fix}");
        assert!(fix.contains("wrapped ld.lld"), "{fix}");
    }
}

#[test]
fn doctor_probes_c_cxx_and_rust_and_all_pass_with_a_working_linker() {
    if !cfg!(target_os = "linux") || !have(&["clang", "clang++", "rustc", "ld.lld"]) {
        return;
    }
    let dir = copy_fixture("system-only");
    let doc = json(dir.path(), &["doctor", "--json"], &[]);
    for probe in ["c", "c++", "rust"] {
        let f = probe_finding(&doc, probe);
        assert_eq!(f["status"], "ok", "{f:#}");
        assert!(
            f["seen"].as_str().unwrap().contains("-fuse-ld=lld"),
            "{f:#}"
        );
    }
}

// --- versioned attributes -----------------------------------------------------------------

#[test]
fn a_versioned_go_in_the_devshell_provides_go() {
    let dir = copy_fixture("upstream-go");
    write(
        &dir.path().join("flake.nix"),
        &flake("mkShell", "          go_1_24\n          python3"),
    );
    assert_eq!(added(dir.path()), Vec::<String>::new());
    // Without it, `go` is what is missing.
    write(
        &dir.path().join("flake.nix"),
        &flake("mkShell", "          python3"),
    );
    assert_eq!(added(dir.path()), ["go"]);
}

/// flake.lock whose nixpkgs input is `locked`.
fn lock(locked: &str, reference: &str) -> String {
    format!(
        r#"{{"nodes": {{"nixpkgs": {{"locked": {locked}, "original": {{"type": "github", "owner": "NixOS", "repo": "nixpkgs", "ref": "{reference}"}}}}, "root": {{"inputs": {{"nixpkgs": "nixpkgs"}}}}}}, "root": "root", "version": 7}}"#
    )
}

fn go_drift(repo: &Path, env: &[(&str, &str)]) -> Value {
    let doc = json(repo, &["scan", "--json"], env);
    doc["version_drift"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["family"] == "go")
        .cloned()
        .unwrap_or_else(|| panic!("no go drift in {doc:#}"))
}

#[test]
fn pinned_go_missing_from_the_locked_nixpkgs_gets_the_nearest_existing_attribute() {
    let dir = copy_fixture("upstream-go");
    write(
        &dir.path().join("flake.nix"),
        &flake("mkShell", "          go\n          python3"),
    );
    // nixpkgs 26.05 (by its ref) has go_1_25 and go_1_26, not the pinned go_1_24.
    write(
        &dir.path().join("flake.lock"),
        &lock(
            r#"{"type": "github", "owner": "NixOS", "repo": "nixpkgs", "rev": "0000000000000000000000000000000000000000", "narHash": "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "lastModified": 1780000000}"#,
            "nixos-26.05",
        ),
    );
    let d = go_drift(dir.path(), &[("PATH", "/nonexistent")]);
    let fix = d["fix"].as_str().unwrap();
    assert!(fix.contains("no exact version in nixpkgs 26.05"), "{fix}");
    assert!(fix.contains("nearest is `go_1_25`"), "{fix}");
    assert_eq!(d["suggested"], "go_1_25");
    assert!(!fix.contains("use `go_1_24`"), "{fix}");
    // The same pin against 25.05, which has go_1_24: the exact attribute.
    write(
        &dir.path().join("flake.lock"),
        &lock(
            r#"{"type": "github", "owner": "NixOS", "repo": "nixpkgs", "rev": "0000000000000000000000000000000000000000", "narHash": "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "lastModified": 1748000000}"#,
            "nixos-25.05",
        ),
    );
    let d = go_drift(dir.path(), &[("PATH", "/nonexistent")]);
    assert_eq!(d["suggested"], "go_1_24", "{d:#}");
    assert!(
        d["fix"].as_str().unwrap().contains("use `go_1_24`"),
        "{d:#}"
    );
}

#[test]
fn with_nix_on_path_the_locked_nixpkgs_itself_is_asked() {
    if !have(&["nix"]) {
        return;
    }
    let dir = copy_fixture("upstream-go");
    write(
        &dir.path().join("flake.nix"),
        &flake("mkShell", "          go\n          python3"),
    );
    // A nixpkgs-shaped expression with go_1_25 only. The release table alone would answer
    // go_1_26 (its newest release, as this lock names none): go_1_25 proves nix was asked.
    let np = tempfile::tempdir().unwrap();
    write(
        &np.path().join("default.nix"),
        "{ ... }: { go = { }; go_1_25 = { }; python3 = { }; }\n",
    );
    let locked = format!(r#"{{"type": "path", "path": "{}"}}"#, np.path().display());
    write(&dir.path().join("flake.lock"), &lock(&locked, "unused"));
    let d = go_drift(dir.path(), &[]);
    assert_eq!(d["suggested"], "go_1_25", "{d:#}");
    assert!(
        d["fix"]
            .as_str()
            .unwrap()
            .contains("the locked nixpkgs (evaluated with nix)"),
        "{d:#}"
    );
    let d = go_drift(dir.path(), &[("PATH", "/nonexistent")]);
    assert_eq!(d["suggested"], "go_1_26", "without nix, the table: {d:#}");
}

// --- shell kinds --------------------------------------------------------------------------

#[test]
fn mkshellnocc_provides_no_c_compiler_or_binutils() {
    let dir = copy_fixture("system-only");
    let text = read(&dir.path().join("flake.nix"));
    assert!(text.contains("mkShell {"), "fixture shape changed");
    let scan = json(dir.path(), &["scan", "--json"], &[]);
    let needs_ar = scan["required_tools"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["binary"] == "ar");
    assert!(needs_ar, "the cxx toolchain archives with ar");
    assert!(!added(dir.path()).iter().any(|a| a == "binutils"));
    write(
        &dir.path().join("flake.nix"),
        &text.replace("mkShell {", "mkShellNoCC {"),
    );
    assert!(
        added(dir.path()).iter().any(|a| a == "binutils"),
        "ar must be added"
    );
}

#[test]
fn a_minimal_rust_profile_without_clippy_gets_clippy() {
    let dir = copy_fixture("si-latest");
    let toolchain = dir.path().join("rust-toolchain");
    let flake = dir.path().join("flake.nix");
    // The fixture's rust-toolchain is `minimal` plus clippy: nothing rust-side to add.
    assert!(!added(dir.path()).iter().any(|a| a == "clippy"));
    write(
        &toolchain,
        "[toolchain]\nchannel = \"1.88.0\"\nprofile = \"minimal\"\n",
    );
    let text = read(&flake).replace(
        "extensions = [\"clippy\" \"rust-src\"];",
        "extensions = [\"rust-src\"];",
    );
    write(&flake, &text);
    assert!(
        added(dir.path()).iter().any(|a| a == "clippy"),
        "minimal has no clippy"
    );
    // The default profile has it.
    write(&toolchain, "[toolchain]\nchannel = \"1.88.0\"\n");
    assert!(!added(dir.path()).iter().any(|a| a == "clippy"));
}

// --- pins survive generate ----------------------------------------------------------------

#[test]
fn after_generate_doctor_still_warns_about_drift_against_the_pins() {
    if !have(&["clang", "python3"]) {
        return;
    }
    let dir = copy_fixture("si-latest");
    let out = run(dir.path(), &["generate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join(".si-nixify/pins.json").is_file());
    let text = read(&dir.path().join("toolchains/BUCK"));
    assert!(!text.contains("20.1.0"), "the pins left toolchains/BUCK");
    let doc = json(dir.path(), &["doctor", "--json", "--no-probe"], &[]);
    let warned = |binary: &str, pin: &str| {
        doc["findings"].as_array().unwrap().iter().any(|f| {
            f["check"] == "version"
                && f["subject"] == binary
                && f["status"] == "warn"
                && f["seen"].as_str().unwrap().contains(pin)
        })
    };
    // This machine's clang and python are older than SI's pins (Debian: 14 and 3.11).
    assert!(warned("clang", "20.1.0"), "{doc:#}");
    assert!(warned("python3", "3.13.6"), "{doc:#}");
    // scan still reports the drift, naming where the pin is recorded.
    let scan = json(dir.path(), &["scan", "--json"], &[]);
    let drift = scan["version_drift"].as_array().unwrap();
    assert_eq!(drift.len(), 3, "{drift:#?}");
    assert!(drift.iter().all(|d| d["pinned_at"]
        .as_str()
        .unwrap()
        .contains(".si-nixify/pins.json")));
    // A second generate changes nothing, the pins file included.
    assert_eq!(
        run(dir.path(), &["generate", "--check"]).status.code(),
        Some(0)
    );
}

#[test]
fn pin_versions_writes_the_three_version_edits_and_the_flake_parses() {
    let dir = copy_fixture("si-latest");
    let before = read(&dir.path().join("flake.nix"));
    let out = run(dir.path(), &["generate", "--pin-versions"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = read(&dir.path().join("flake.nix"));
    let lines = |t: &str| t.lines().map(|l| l.trim().to_owned()).collect::<Vec<_>>();
    let (old, new) = (lines(&before), lines(&after));
    for (from, to) in [("python3", "python313"), ("clang", "llvmPackages_20.clang")] {
        assert!(
            old.iter().any(|l| l == from) && !new.iter().any(|l| l == from),
            "{after}"
        );
        assert!(new.iter().any(|l| l == to), "{after}");
    }
    assert!(
        new.iter().any(|l| l == "llvmPackages_20.bintools"),
        "{after}"
    );
    assert_eq!(
        read(&dir.path().join("rust-toolchain")),
        "[toolchain]\nchannel = \"1.88.0\"\nprofile = \"minimal\"\ncomponents = [\"clippy\", \"rust-docs\"]\n"
    );
    if let Some(nix) = tool("SI_NIXIFY_NIX_INSTANTIATE", "nix-instantiate") {
        let parse = std::process::Command::new(nix)
            .arg("--parse")
            .arg(dir.path().join("flake.nix"))
            .output()
            .unwrap();
        assert!(
            parse.status.success(),
            "{}",
            String::from_utf8_lossy(&parse.stderr)
        );
    }
    // Pinned: no drift left, and a second run changes nothing.
    let scan = json(dir.path(), &["scan", "--json"], &[]);
    assert_eq!(scan["version_drift"], serde_json::json!([]));
    assert_eq!(
        run(dir.path(), &["generate", "--pin-versions", "--check"])
            .status
            .code(),
        Some(0)
    );
}

//! `si-nixify doctor` and `si-nixify clean` against real tools (Debian clang and lld in CI).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{copy_fixture, have, si_nixify};
use serde_json::Value;

/// A directory for PATH holding links to the real tools named, and scripts given as (name, body).
fn bin_dir(real: &[&str], scripts: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in real {
        if let Ok(path) = which_real(name) {
            std::os::unix::fs::symlink(path, dir.path().join(name)).unwrap();
        }
    }
    for (name, body) in scripts {
        let p = dir.path().join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

fn which_real(name: &str) -> Result<PathBuf, ()> {
    common::tool("SI_NIXIFY_NO_SUCH_VAR", name).ok_or(())
}

fn doctor(repo: &Path, path: Option<&Path>, env: &[(&str, &str)]) -> (Option<i32>, Value) {
    let mut cmd = si_nixify(repo);
    cmd.args(["doctor", "--json"]);
    if let Some(p) = path {
        cmd.env("PATH", p);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), doc)
}

fn finding<'a>(doc: &'a Value, check: &str, subject: &str) -> &'a Value {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == check && f["subject"] == subject)
        .unwrap_or_else(|| panic!("no {check}/{subject} finding in {doc:#}"))
}

fn path_with(dir: &Path) -> String {
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn link_probes_pass_with_clang_and_lld_present() {
    if !have(&["clang", "clang++", "ld.lld", "rustc"]) {
        return;
    }
    let dir = copy_fixture("system-only");
    let (_, doc) = doctor(dir.path(), None, &[]);
    assert_eq!(doc["schema_version"], 1);
    for probe in ["c", "rust"] {
        let f = finding(&doc, "probe", probe);
        assert_eq!(f["status"], "ok", "{f:#}");
    }
    assert!(finding(&doc, "probe", "c")["seen"]
        .as_str()
        .unwrap()
        .contains("-fuse-ld=lld"));
}

#[test]
fn clang_without_lld_on_path_fails_naming_ld_lld_and_its_package() {
    if !have(&["clang", "clang++", "rustc"]) {
        return;
    }
    let bin = bin_dir(&["clang", "clang++", "rustc", "rustdoc", "sh"], &[]);
    let dir = copy_fixture("system-only");
    let out = si_nixify(dir.path())
        .args(["doctor"])
        .env("PATH", bin.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("ld.lld") && l.contains("FAIL"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("is not on PATH"), "{line}");
    assert!(
        text.contains("fix: add `llvmPackages.bintools` to the devshell"),
        "{text}"
    );
}

#[test]
fn probe_failure_is_mapped_to_its_fix() {
    let bin = bin_dir(
        &["sh"],
        &[(
            "clang",
            "echo \"clang: error: invalid linker name in argument '-fuse-ld=lld'\" >&2; exit 1",
        )],
    );
    let dir = copy_fixture("system-only");
    let (code, doc) = doctor(dir.path(), Some(bin.path()), &[]);
    assert_eq!(code, Some(1));
    let f = finding(&doc, "probe", "c");
    assert_eq!(f["status"], "fail");
    assert!(
        f["seen"].as_str().unwrap().contains("invalid linker name"),
        "{f:#}"
    );
    assert!(
        f["fix"].as_str().unwrap().contains("llvmPackages.bintools"),
        "{f:#}"
    );
}

#[test]
fn version_below_the_pin_is_reported_as_drift() {
    let bin = bin_dir(&[], &[("python3", "echo 'Python 3.10.2'")]);
    let dir = copy_fixture("si-latest");
    let (_, doc) = doctor(dir.path(), Some(&PathBuf::from(path_with(bin.path()))), &[]);
    let f = finding(&doc, "version", "python3");
    assert_eq!(f["status"], "warn");
    let seen = f["seen"].as_str().unwrap();
    assert!(
        seen.contains("3.10.2") && seen.contains("drift") && seen.contains("3.13.6"),
        "{seen}"
    );
}

#[test]
fn foreign_elf_whose_interpreter_is_missing_fails() {
    if !have(&["clang", "ld.lld"]) {
        return;
    }
    let bin = tempfile::tempdir().unwrap();
    let src = bin.path().join("deno.c");
    std::fs::write(&src, "int main(void) { return 0; }\n").unwrap();
    let built = std::process::Command::new("clang")
        .arg(&src)
        .arg("-o")
        .arg(bin.path().join("deno"))
        .arg("-Wl,--dynamic-linker=/nonexistent/ld-linux-x86-64.so.2")
        .status()
        .unwrap();
    assert!(built.success());
    let dir = copy_fixture("system-only");
    let (code, doc) = doctor(dir.path(), Some(&PathBuf::from(path_with(bin.path()))), &[]);
    assert_eq!(code, Some(1));
    let f = finding(&doc, "host", "deno");
    assert_eq!(f["status"], "fail");
    assert!(
        f["seen"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/ld-linux-x86-64.so.2"),
        "{f:#}"
    );
}

#[test]
fn download_toolchains_on_a_host_without_the_generic_loader_fail() {
    let dir = copy_fixture("si-latest");
    let env = [(
        "SI_NIXIFY_SYSTEM_INTERPRETER",
        "/nonexistent/ld-linux-x86-64.so.2",
    )];
    let (code, doc) = doctor(dir.path(), None, &env);
    assert_eq!(code, Some(1));
    let f = finding(&doc, "host", "download toolchains");
    assert_eq!(f["status"], "fail");
    assert_eq!(f["fix"], "run `si-nixify generate`");
    let clean = copy_fixture("system-only");
    let (_, doc) = doctor(clean.path(), None, &env);
    assert_eq!(finding(&doc, "host", "download toolchains")["status"], "ok");
}

#[test]
fn stale_extractions_are_a_warning_with_the_clean_fix() {
    let dir = copy_fixture("system-only");
    std::fs::create_dir_all(
        dir.path()
            .join("buck-out/v2/gen/toolchains/abc123/clang/extracted"),
    )
    .unwrap();
    let (_, doc) = doctor(dir.path(), None, &[]);
    let f = finding(&doc, "stale", "buck-out/v2/gen/toolchains");
    assert_eq!(f["status"], "warn");
    assert_eq!(f["fix"], "run `si-nixify clean`");
}

#[test]
fn bindgen_crates_need_libclang() {
    let dir = copy_fixture("system-only");
    std::fs::write(
        dir.path().join("Cargo.lock"),
        "version = 4\n\n[[package]]\nname = \"librocksdb-sys\"\nversion = \"0.17.1\"\n\n[[package]]\nname = \"cc\"\nversion = \"1.2.0\"\n",
    )
    .unwrap();
    let empty = tempfile::tempdir().unwrap();
    let (_, doc) = doctor(
        dir.path(),
        None,
        &[("LIBCLANG_PATH", empty.path().to_str().unwrap())],
    );
    let f = finding(&doc, "cargo", "libclang");
    assert_eq!(f["status"], "fail");
    assert!(
        f["seen"].as_str().unwrap().contains("librocksdb-sys"),
        "{f:#}"
    );
    assert!(f["fix"]
        .as_str()
        .unwrap()
        .contains("llvmPackages.libclang.lib"));
    std::fs::write(empty.path().join("libclang.so.1"), "").unwrap();
    let (_, doc) = doctor(
        dir.path(),
        None,
        &[("LIBCLANG_PATH", empty.path().to_str().unwrap())],
    );
    assert_eq!(finding(&doc, "cargo", "libclang")["status"], "ok");
    finding(&doc, "cargo", "c compiler");
}

/// A fixture buck-out: read-only extractions to remove, other outputs to keep, and a symlink
/// inside the extractions that points outside the repo (its target must survive).
fn buck_out(repo: &Path, outside: &Path) {
    let tc = repo.join("buck-out/v2/gen/toolchains/abc/extracted/toolchain/bin");
    std::fs::create_dir_all(&tc).unwrap();
    std::fs::write(tc.join("clang"), "binary").unwrap();
    std::os::unix::fs::symlink(outside, tc.join("escape")).unwrap();
    std::fs::create_dir_all(repo.join("buck-out/v2/gen/root/app")).unwrap();
    std::fs::write(repo.join("buck-out/v2/gen/root/app/out.o"), "keep").unwrap();
    for d in [
        "buck-out/v2/gen/toolchains/abc/extracted/toolchain/bin",
        "buck-out/v2/gen/toolchains/abc/extracted/toolchain",
        "buck-out/v2/gen/toolchains/abc/extracted",
    ] {
        let p = repo.join(d);
        for f in std::fs::read_dir(&p).unwrap() {
            let f = f.unwrap().path();
            if f.is_file() && !f.is_symlink() {
                std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o444)).unwrap();
            }
        }
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o555)).unwrap();
    }
}

#[test]
fn clean_removes_read_only_extractions_and_nothing_else() {
    let dir = copy_fixture("system-only");
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("precious"), "x").unwrap();
    buck_out(dir.path(), outside.path());
    let bin = bin_dir(&[], &[]);
    let dry = si_nixify(dir.path())
        .args(["clean", "--dry-run"])
        .env("PATH", bin.path())
        .output()
        .unwrap();
    assert_eq!(dry.status.code(), Some(0));
    assert!(String::from_utf8(dry.stdout)
        .unwrap()
        .contains("would make buck-out/v2/gen/toolchains writable and remove it"));
    assert!(
        dir.path().join("buck-out/v2/gen/toolchains/abc").exists(),
        "--dry-run removes nothing"
    );
    let out = si_nixify(dir.path())
        .arg("clean")
        .env("PATH", bin.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.path().join("buck-out/v2/gen/toolchains").exists());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("buck-out/v2/gen/root/app/out.o")).unwrap(),
        "keep"
    );
    assert_eq!(
        std::fs::read_to_string(outside.path().join("precious")).unwrap(),
        "x"
    );
}

#[test]
fn clean_refuses_a_buck_out_symlink_that_leaves_the_repo() {
    let dir = copy_fixture("system-only");
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(outside.path().join("v2/gen/toolchains/abc")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("buck-out")).unwrap();
    let bin = bin_dir(&[], &[]);
    let out = si_nixify(dir.path())
        .arg("clean")
        .env("PATH", bin.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("buck-out is a symlink to") && err.contains("outside the repo"),
        "{err}"
    );
    assert!(outside.path().join("v2/gen/toolchains/abc").exists());
}

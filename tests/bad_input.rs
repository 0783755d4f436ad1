//! Bad input never damages a repo: exit 2, a message that says where (file:line:col) and what
//! to do, and every file byte-identical afterwards.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{copy_fixture, read, run, snapshot};

/// Run `generate` on `dir`; assert exit 2, that stderr contains every `expected` piece, no
/// panic text, and that nothing under `dir` changed.
fn assert_refused(dir: &Path, expected: &[&str]) {
    let before = snapshot(dir);
    let out = run(dir, &["generate"]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{err}");
    for piece in expected {
        assert!(err.contains(piece), "expected `{piece}` in:\n{err}");
    }
    for noise in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
        assert!(!err.contains(noise), "{err}");
    }
    assert_eq!(
        snapshot(dir),
        before,
        "a refused run must leave every file as it was"
    );
}

#[test]
fn cell_missing_from_buckconfig() {
    let dir = copy_fixture("si-latest");
    let cfg = dir.path().join(".buckconfig");
    std::fs::write(&cfg, read(&cfg).replace("prelude-si = prelude-si\n", "")).unwrap();
    assert_refused(
        dir.path(),
        &["toolchains/BUCK:12:6: load of `@prelude-si//:deno.bzl` names cell `prelude-si`, which .buckconfig does not define", "help: add `prelude-si = <dir>`"],
    );
}

#[test]
fn no_buckconfig_at_all() {
    let dir = copy_fixture("si-latest");
    std::fs::remove_file(dir.path().join(".buckconfig")).unwrap();
    assert_refused(
        dir.path(),
        &[
            "error: .buckconfig: cannot read the file: No such file",
            "help: every Buck2 project root needs a readable .buckconfig",
        ],
    );
    std::fs::remove_file(dir.path().join(".buckroot")).unwrap();
    assert_refused(dir.path(), &["is not inside a Buck2 project"]);
}

#[test]
fn read_only_toolchains_buck() {
    let dir = copy_fixture("si-latest");
    let buck = dir.path().join("toolchains/BUCK");
    std::fs::set_permissions(&buck, std::fs::Permissions::from_mode(0o444)).unwrap();
    assert_refused(
        dir.path(),
        &["error: toolchains/BUCK: the file is read-only", "chmod u+w"],
    );
}

#[test]
fn invalid_utf8_in_toolchains_buck() {
    let dir = copy_fixture("si-older");
    let buck = dir.path().join("toolchains/BUCK");
    let mut bytes = std::fs::read(&buck).unwrap();
    let at = bytes.windows(7).position(|w| w == b"20.1.0\"").unwrap();
    bytes[at] = 0xff;
    std::fs::write(&buck, bytes).unwrap();
    assert_refused(
        dir.path(),
        &["toolchains/BUCK:12:16: the file is not valid UTF-8"],
    );
}

#[test]
fn invalid_utf8_in_a_loaded_bzl() {
    let dir = copy_fixture("si-latest");
    let bzl = dir
        .path()
        .join("prelude-si/toolchains/rust_distribution.bzl");
    let mut bytes = std::fs::read(&bzl).unwrap();
    bytes.splice(0..0, *b"# \xc3\x28\n");
    std::fs::write(&bzl, bytes).unwrap();
    assert_refused(
        dir.path(),
        &["prelude-si/toolchains/rust_distribution.bzl:1:3: the file is not valid UTF-8"],
    );
}

#[test]
fn toolchains_buck_that_is_a_symlink_out_of_the_repo_is_not_written_through() {
    let dir = copy_fixture("si-latest");
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("BUCK");
    std::fs::copy(dir.path().join("toolchains/BUCK"), &target).unwrap();
    std::fs::remove_file(dir.path().join("toolchains/BUCK")).unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join("toolchains/BUCK")).unwrap();
    let outside_before = read(&target);
    assert_refused(
        dir.path(),
        &[
            "refusing to write `toolchains/BUCK`",
            "outside the repo root",
        ],
    );
    assert_eq!(read(&target), outside_before);
}

#[test]
fn a_flake_symlink_out_of_the_repo_stops_both_files() {
    let dir = copy_fixture("si-latest");
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("flake.nix");
    std::fs::rename(dir.path().join("flake.nix"), &target).unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join("flake.nix")).unwrap();
    assert_refused(dir.path(), &["refusing to write `flake.nix`"]);
}

#[test]
fn two_generate_runs_at_once_agree_with_one() {
    let dir = copy_fixture("si-latest");
    let spawn = || {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("si-nixify"))
            .arg("--repo")
            .arg(dir.path())
            .arg("generate")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/si-latest");
    assert_eq!(
        read(&dir.path().join("toolchains/BUCK")),
        read(&golden.join("BUCK"))
    );
    assert_eq!(
        read(&dir.path().join("flake.nix")),
        read(&golden.join("flake.nix"))
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("toolchains"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temp files left behind: {leftovers:?}"
    );
}

#[test]
fn a_failing_second_file_leaves_the_first_unwritten() {
    // flake.nix read-only: toolchains/BUCK would be rewritten, but neither may be.
    let dir = copy_fixture("si-latest");
    let flake = dir.path().join("flake.nix");
    std::fs::set_permissions(&flake, std::fs::Permissions::from_mode(0o444)).unwrap();
    assert_refused(dir.path(), &["error: flake.nix: the file is read-only"]);
}

#[test]
fn binary_only_link_flags_that_cannot_move_are_refused_with_the_reason() {
    let dir = copy_fixture("si-older");
    let buck = dir.path().join("toolchains/BUCK");
    std::fs::write(
        &buck,
        read(&buck).replace(
            "        \"-nostdlib++\",\n",
            "        \"-nostdlib++\",\n        \"-Wl,-z,now\",\n",
        ),
    )
    .unwrap();
    assert_refused(
        dir.path(),
        &["toolchains/BUCK:32:5: `binary_linker_flags` of `cxx` has no place in `system_cxx_toolchain`", "it still holds flags", "only final executables"],
    );
}

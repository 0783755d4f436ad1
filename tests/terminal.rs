//! The binary under a pseudo-terminal (util-linux `script`): colour on a terminal and with
//! `--color always`, none with `--color never`, `NO_COLOR=1` or a pipe — clap's own errors
//! included — and progress on a terminal only, never in a pipe or next to `--json`.

mod common;

use std::path::Path;
use std::process::Command;

use common::{copy_fixture, tool};

#[path = "../examples/gen_tree.rs"]
mod gen_tree;

const ESC: &str = "\u{1b}[";

/// `si-nixify <args>` run on a pseudo-terminal; `env` is added to an environment without
/// NO_COLOR, CLICOLOR_FORCE or CI. `None` when `script` is not installed (skip).
fn on_tty(repo: &Path, args: &str, env: &[(&str, &str)]) -> Option<(Option<i32>, String)> {
    let Some(script) = tool("SI_NIXIFY_SCRIPT", "script") else {
        println!(
            "skipped: util-linux `script` not found (set SI_NIXIFY_SCRIPT or install bsdutils)"
        );
        return None;
    };
    let bin = assert_cmd::cargo::cargo_bin("si-nixify");
    let line = format!("{} --repo {} {args}", bin.display(), repo.display());
    let mut cmd = Command::new(script);
    cmd.args(["-q", "-e", "-c", &line, "/dev/null"])
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR")
        .env_remove("CI")
        .env("TERM", "xterm-256color")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    Some((
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

/// The same run with stdout and stderr as pipes.
fn piped(repo: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = assert_cmd::Command::cargo_bin("si-nixify").unwrap();
    cmd.arg("--repo").arg(repo).args(args);
    for k in ["NO_COLOR", "CLICOLOR_FORCE", "CLICOLOR", "CI"] {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn a_terminal_gets_colour_and_never_or_no_color_turn_it_off() {
    let dir = copy_fixture("si-latest");
    let Some((code, text)) = on_tty(dir.path(), "generate --dry-run", &[]) else {
        return;
    };
    assert_eq!(code, Some(0), "{text}");
    // The diff as git colours it: removals red, additions green; the summary plain.
    assert!(
        text.contains(&format!("{ESC}31m-hermetic_clang_toolchain(")),
        "{text}"
    );
    assert!(
        text.contains(&format!("{ESC}32m+system_cxx_toolchain(")),
        "{text}"
    );
    assert!(text.contains("drift:"), "{text}");
    for (args, env) in [
        ("--color never generate --dry-run", vec![]),
        ("generate --dry-run", vec![("NO_COLOR", "1")]),
    ] {
        let (_, text) = on_tty(dir.path(), args, &env).unwrap();
        assert!(text.contains("+system_cxx_toolchain("), "{text}");
        assert!(!text.contains(ESC), "{args} {env:?}: {text}");
    }
}

#[test]
fn color_always_colours_a_pipe_and_wins_over_no_color() {
    let dir = copy_fixture("si-latest");
    let out = piped(
        dir.path(),
        &["--color", "always", "doctor", "--no-probe"],
        &[("NO_COLOR", "1")],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(ESC), "{text}");
    assert!(
        text.contains(&format!("{ESC}1m{ESC}32mok{ESC}0m"))
            || text.contains(&format!("{ESC}1m{ESC}33mwarn{ESC}0m")),
        "statuses are coloured: {text}"
    );
    // CLICOLOR_FORCE colours a pipe under `auto`.
    let forced = piped(dir.path(), &["scan"], &[("CLICOLOR_FORCE", "1")]);
    assert!(String::from_utf8(forced.stdout).unwrap().contains(ESC));
}

#[test]
fn a_pipe_gets_no_colour() {
    let dir = copy_fixture("si-latest");
    for args in [
        &["generate", "--dry-run"][..],
        &["scan"],
        &["doctor", "--no-probe"],
    ] {
        let out = piped(dir.path(), args, &[]);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.is_empty());
        assert!(!text.contains(ESC), "{args:?}: {text}");
    }
    let out = piped(dir.path(), &["scan", "--bogus"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("unexpected argument '--bogus'"), "{err}");
    assert!(!err.contains(ESC), "{err}");
}

#[test]
fn clap_errors_obey_the_colour_choice() {
    let dir = copy_fixture("si-latest");
    let Some((code, text)) = on_tty(dir.path(), "scan --bogus", &[]) else {
        return;
    };
    assert_eq!(code, Some(2));
    assert!(text.contains(&format!("{ESC}1m{ESC}31merror:")), "{text}");
    for (args, env) in [
        ("--color never scan --bogus", vec![]),
        ("scan --bogus", vec![("NO_COLOR", "1")]),
    ] {
        let (code, text) = on_tty(dir.path(), args, &env).unwrap();
        assert_eq!(code, Some(2));
        assert!(text.contains("unexpected argument '--bogus'"), "{text}");
        assert!(!text.contains(ESC), "{args}: {text}");
    }
    let out = piped(dir.path(), &["--color", "always", "scan", "--bogus"], &[]);
    assert!(String::from_utf8(out.stderr).unwrap().contains(ESC));
}

#[test]
fn our_errors_obey_the_colour_choice() {
    let dir = tempfile::tempdir().unwrap();
    let Some((code, text)) = on_tty(dir.path(), "scan", &[]) else {
        return;
    };
    assert_eq!(code, Some(2));
    assert!(text.contains(&format!("{ESC}1m{ESC}31merror:")), "{text}");
    let (_, plain) = on_tty(dir.path(), "--color never scan", &[]).unwrap();
    assert!(plain.starts_with("error: "), "{plain}");
    assert!(!plain.contains(ESC), "{plain}");
}

#[test]
fn progress_is_shown_on_a_terminal_only() {
    let dir = tempfile::tempdir().unwrap();
    gen_tree::generate(dir.path(), 3000).unwrap();
    const SPINNER: &str = "scanning BUCK and .bzl files:";
    let Some((code, text)) = on_tty(dir.path(), "scan --all", &[]) else {
        return;
    };
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains(SPINNER), "{text}");
    // Not next to --json, not in CI logs, not into a pipe.
    let (_, json) = on_tty(dir.path(), "scan --all --json", &[]).unwrap();
    assert!(!json.contains(SPINNER));
    let (_, ci) = on_tty(dir.path(), "scan --all", &[("CI", "true")]).unwrap();
    assert!(!ci.contains(SPINNER));
    let out = piped(dir.path(), &["scan", "--all"], &[]);
    assert!(!String::from_utf8(out.stderr).unwrap().contains(SPINNER));
    assert!(!String::from_utf8(out.stdout).unwrap().contains(SPINNER));
}

#[test]
fn doctor_shows_progress_while_probing_on_a_terminal_only() {
    let dir = copy_fixture("si-latest");
    const SPINNER: &str = "checking tools on PATH and probing compile + link + run";
    let Some((_, text)) = on_tty(dir.path(), "doctor", &[]) else {
        return;
    };
    assert!(text.contains(SPINNER), "{text}");
    let (_, json) = on_tty(dir.path(), "doctor --json", &[]).unwrap();
    assert!(!json.contains(SPINNER), "{json}");
    let out = piped(dir.path(), &["doctor"], &[]);
    assert!(!String::from_utf8(out.stderr).unwrap().contains(SPINNER));
}

//! What a checker is expected to ship: shell completions and a man page generated from the
//! clap definitions, and a pre-commit hook manifest that pre-commit itself accepts.

mod common;

use std::path::Path;
use std::process::Command;

use assert_cmd::Command as Bin;
use common::tool;

fn bin(args: &[&str]) -> std::process::Output {
    Bin::cargo_bin("si-nixify")
        .unwrap()
        .args(args)
        .output()
        .unwrap()
}

/// Skip (or, in CI, fail) without a tool .ci/install provides.
fn needed(env: &str, name: &str) -> Option<std::path::PathBuf> {
    let found = tool(env, name);
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must provide {name} (see .ci/install)"
        );
        println!("skipped: {name} not found (set {env} or put it on PATH)");
    }
    found
}

#[test]
fn completions_cover_every_subcommand_for_bash_zsh_and_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let out = bin(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        for word in [
            "scan", "generate", "doctor", "clean", "dry-run", "format", "github", "sarif",
        ] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    // The bash script is valid bash, and completes `generate --f` to `--flake`/`--format`.
    let out = bin(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("si-nixify.bash");
    std::fs::write(&file, &out.stdout).unwrap();
    let probe = format!(
        ". {}; COMP_WORDS=(si-nixify generate --f); COMP_CWORD=2; _si__nixify si-nixify --f generate; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display()
    );
    let run = Command::new("bash").args(["-c", &probe]).output().unwrap();
    let words = String::from_utf8(run.stdout).unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        words.lines().any(|w| w == "--format") && words.lines().any(|w| w == "--flake"),
        "{words}"
    );
}

#[test]
fn other_shells_parse_their_completion_scripts_when_installed() {
    for (shell, check) in [("zsh", &["-n"][..]), ("fish", &["--no-execute"][..])] {
        let Some(path) = tool("SI_NIXIFY_NO_SUCH_VAR", shell) else {
            println!("skipped: {shell} not installed");
            continue;
        };
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(shell);
        std::fs::write(&file, bin(&["completions", shell]).stdout).unwrap();
        let run = Command::new(path).args(check).arg(&file).output().unwrap();
        assert!(
            run.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
}

#[test]
fn completions_survive_a_closed_pipe() {
    let out = Command::new("bash")
        .args([
            "-c",
            &format!(
                "{} completions bash | head -c1 >/dev/null; echo ${{PIPESTATUS[0]}}",
                assert_cmd::cargo::cargo_bin("si-nixify").display()
            ),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), "0");
    assert!(!String::from_utf8(out.stderr)
        .unwrap()
        .contains("internal error"));
}

#[test]
fn the_man_page_renders_with_every_subcommand() {
    let out = bin(&["man"]);
    assert_eq!(out.status.code(), Some(0));
    let roff = String::from_utf8(out.stdout).unwrap();
    assert!(
        roff.starts_with(".ie \\n(.g .ds Aq") || roff.contains(".TH si-nixify"),
        "{roff}"
    );
    let Some(man) = needed("SI_NIXIFY_MAN", "man") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("si-nixify.1");
    std::fs::write(&page, roff).unwrap();
    let rendered = Command::new(man)
        .arg("-l")
        .arg(&page)
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&rendered.stdout);
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    for section in ["NAME", "SYNOPSIS", "OPTIONS", "SUBCOMMANDS"] {
        assert!(text.contains(section), "no {section} in:\n{text}");
    }
    for sub in ["scan", "generate", "doctor", "clean"] {
        assert!(
            text.contains(&format!("si-nixify-{sub}(1)")),
            "no {sub} in:\n{text}"
        );
    }
    assert!(!text.contains("completions"), "{text}");
    // The pages the SUBCOMMANDS section names exist, with their own and the global options.
    for (sub, option) in [
        ("scan", "--all"),
        ("generate", "--format"),
        ("doctor", "--no-probe"),
        ("clean", "--dry-run"),
    ] {
        let out = bin(&["man", sub]);
        assert_eq!(out.status.code(), Some(0), "{sub}");
        let page = dir.path().join(format!("si-nixify-{sub}.1"));
        std::fs::write(&page, &out.stdout).unwrap();
        let rendered = Command::new(tool("SI_NIXIFY_MAN", "man").unwrap())
            .arg("-l")
            .arg(&page)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&rendered.stdout);
        assert!(text.contains(&format!("si-nixify-{sub}(1)")), "{text}");
        assert!(
            text.contains(option) && text.contains("--repo"),
            "{sub}: {text}"
        );
    }
    let out = bin(&["man", "nosuch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("pass one of: scan, generate, doctor, clean"));
}

#[test]
fn the_pre_commit_manifest_is_valid_and_runs_the_check() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(
        text.contains("entry: si-nixify generate --check\n"),
        "{text}"
    );
    let Some(pre_commit) = needed("SI_NIXIFY_PRE_COMMIT", "pre-commit") else {
        return;
    };
    let out = Command::new(pre_commit)
        .arg("validate-manifest")
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // A manifest pre-commit rejects makes the same command fail (the check can fail).
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join(".pre-commit-hooks.yaml");
    std::fs::write(
        &broken,
        text.replace("  language: rust\n", "  language: nosuchlanguage\n"),
    )
    .unwrap();
    let out = Command::new(tool("SI_NIXIFY_PRE_COMMIT", "pre-commit").unwrap())
        .arg("validate-manifest")
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

//! Lessons from other build post-mortems: crates in Cargo.lock that need something from the
//! machine (bindgen needs libclang; cc/cmake users need a C and C++ compiler).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{Finding, Status};
use crate::know::Knowledge;
use crate::repo::Repo;

/// Where Buck2 monorepos keep Cargo.lock: the root, and reindeer's third-party/rust.
const LOCKFILES: &[&str] = &["Cargo.lock", "third-party/rust/Cargo.lock"];

pub fn check(repo: &Repo, know: &Knowledge, out: &mut Vec<Finding>) {
    let mut crates = BTreeSet::new();
    for rel in LOCKFILES {
        crates.extend(lock_packages(&repo.root.join(rel)));
    }
    if crates.is_empty() {
        return;
    }
    for need in &know.crate_needs {
        let users: Vec<&str> = need
            .crates
            .iter()
            .map(String::as_str)
            .filter(|c| crates.contains(*c))
            .collect();
        if users.is_empty() {
            continue;
        }
        let why = format!("{} ({})", need.why, users.join(", "));
        let finding = match need.need.as_str() {
            "libclang" => libclang(&why, &need.nix),
            "c_compiler" => c_compiler(&why, &need.nix),
            _ => continue,
        };
        out.push(finding);
    }
}

/// Package names in a Cargo.lock (empty when it is missing or not a lockfile).
fn lock_packages(path: &Path) -> BTreeSet<String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return BTreeSet::new();
    };
    let Ok(doc) = text.parse::<toml::Table>() else {
        return BTreeSet::new();
    };
    doc.get("package")
        .and_then(|p| p.as_array())
        .map(|pkgs| {
            pkgs.iter()
                .filter_map(|p| p.get("name")?.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Where bindgen (clang-sys) looks for libclang: LIBCLANG_PATH, else llvm-config's libdir.
fn libclang_dirs() -> Vec<PathBuf> {
    if let Some(p) = std::env::var_os("LIBCLANG_PATH") {
        return vec![PathBuf::from(p)];
    }
    let mut dirs = Vec::new();
    if let Ok(llvm_config) = which::which("llvm-config") {
        if let Some(o) = crate::process::run(
            &llvm_config,
            &["--libdir".to_owned()],
            None,
            std::time::Duration::from_secs(5),
        ) {
            dirs.push(PathBuf::from(o.stdout.trim()));
        }
    }
    dirs
}

fn has_libclang(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.filter_map(|e| e.ok()).any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("libclang.") || name.starts_with("libclang-")
        })
    })
}

fn libclang(why: &str, nix: &str) -> Finding {
    let dirs = libclang_dirs();
    match dirs.iter().find(|d| has_libclang(d)) {
        Some(dir) => Finding::new(
            "cargo",
            "libclang",
            Status::Ok,
            format!("{why}: libclang found in {}", dir.display()),
        ),
        None => Finding::new(
            "cargo",
            "libclang",
            Status::Fail,
            format!(
                "{why}, but no libclang was found ({})",
                if dirs.is_empty() {
                    "LIBCLANG_PATH is not set and llvm-config is not on PATH".to_owned()
                } else {
                    format!(
                        "looked in {}",
                        dirs.iter()
                            .map(|d| d.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            ),
        )
        .fix(format!(
            "add `{nix}` to the devshell and export LIBCLANG_PATH=\"${{pkgs.{nix}}}/lib\""
        )),
    }
}

fn c_compiler(why: &str, nix: &str) -> Finding {
    let c = ["cc", "clang", "gcc"]
        .iter()
        .find_map(|b| which::which(b).ok());
    let cxx = ["c++", "clang++", "g++"]
        .iter()
        .find_map(|b| which::which(b).ok());
    match (c, cxx) {
        (Some(c), Some(cxx)) => Finding::new(
            "cargo",
            "c compiler",
            Status::Ok,
            format!("{why}: {} and {}", c.display(), cxx.display()),
        ),
        _ => Finding::new(
            "cargo",
            "c compiler",
            Status::Fail,
            format!("{why}, but no C and C++ compiler pair is on PATH"),
        )
        .fix(format!("add `{nix}` to the devshell")),
    }
}

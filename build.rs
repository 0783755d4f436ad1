//! Compiles every `toolchains/*.json` knowledge file into the binary, so adding a family is
//! adding a file: no Rust list to keep in step.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    link_without_pie();
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("toolchains");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut out = String::from("&[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f.file_name().unwrap().to_string_lossy();
        writeln!(
            out,
            "    (\"toolchains/{name}\", include_str!({:?})),",
            f.display().to_string()
        )
        .unwrap();
    }
    out.push(']');
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("builtin_knowledge.rs");
    std::fs::write(dest, out).unwrap();
}

/// A position-independent executable has its ~56k pointers relocated at every start, which was a
/// tenth of a whole `generate` on SI (perf: `_dl_relocate_object`). Linked at a fixed address the
/// linker resolves them once. Only the binary: test executables and proc-macros link as before.
fn link_without_pie() {
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    if linux {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}

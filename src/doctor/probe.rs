//! A real compile + link + run, in a temp dir, with the flags the rewritten toolchains will use:
//! a C program (libc), a C++ program (libstdc++) through the cxx toolchain's compilers, and a
//! Rust program (libgcc_s) through rustc linking with the cxx toolchain's linker — on Linux
//! each with the `-fuse-ld=lld` that system_cxx_toolchain adds. Each binary is run: a linker
//! that links but leaves the binary unable to start (the unwrapped ld.lld on NixOS) only shows
//! at run time, so `buck2 build` passes and `buck2 run`/`buck2 test` fail.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::elf::{self, Diagnosis};
use super::{Finding, Status};
use crate::inventory::targets::{calls, Call};
use crate::inventory::tools::strings_with_platform;
use crate::know::Knowledge;
use crate::process::run;
use crate::read::Module;

const MESSAGE: &str = "si-nixify probe ok";
const LIMIT: Duration = Duration::from_secs(120);

/// One probe: a language, its source, and how to build it.
struct Probe {
    name: &'static str,
    file: &'static str,
    source: String,
    tool: String,
    args: Vec<String>,
    binary: PathBuf,
}

/// The flags a toolchain passes, read from the planned toolchains file.
struct Flags {
    c_compiler: String,
    cxx_compiler: String,
    linker: String,
    c_flags: Vec<String>,
    cxx_flags: Vec<String>,
    link_flags: Vec<String>,
    rustc_flags: Option<Vec<String>>,
}

pub fn check(buck: &Path, planned: &str, know: &Knowledge, os: &str, out: &mut Vec<Finding>) {
    let Ok(module) = Module::parse(buck, planned.to_owned()) else {
        return;
    };
    let Ok(dir) = tempfile::tempdir() else {
        out.push(Finding::new(
            "probe",
            "link",
            Status::Fail,
            "cannot create a temp dir for the probe",
        ));
        return;
    };
    let flags = toolchain_flags(&calls(&module), os);
    for probe in probes(&flags, dir.path()) {
        out.push(build_and_run(&probe, dir.path(), know));
    }
}

fn toolchain_flags(calls: &[Call], os: &str) -> Flags {
    let cxx = calls.iter().find(|c| c.rule == "system_cxx_toolchain");
    let text = |attr: &str, default: &str| {
        cxx.and_then(|c| literal(c, attr))
            .unwrap_or_else(|| default.to_owned())
    };
    let c_compiler = text("compiler", "clang");
    let cxx_compiler = text("cxx_compiler", "clang++");
    let linker = text("linker", "clang++");
    let list = |attr: &str| cxx.map(|c| flags(c, attr, os)).unwrap_or_default();
    let mut link_flags = Vec::new();
    // system_cxx_toolchain's own addition on Linux, unless the compiler is g++.
    if os == "linux"
        && ![&c_compiler, &cxx_compiler, &linker]
            .iter()
            .any(|c| *c == "g++")
    {
        link_flags.push("-fuse-ld=lld".to_owned());
    }
    link_flags.extend(list("link_flags"));
    let rustc_flags = calls
        .iter()
        .find(|c| c.rule == "system_rust_toolchain")
        .map(|rust| flags(rust, "rustc_flags", os));
    Flags {
        c_flags: list("c_flags"),
        cxx_flags: list("cxx_flags"),
        c_compiler,
        cxx_compiler,
        linker,
        link_flags,
        rustc_flags,
    }
}

fn probes(f: &Flags, dir: &Path) -> Vec<Probe> {
    let binary = |name: &str| dir.join(format!("probe-{name}"));
    let source = |file: &str| dir.join(file).display().to_string();
    let compile = |file: &str, name: &str, lang_flags: &[String]| {
        let mut args = vec![
            source(file),
            "-o".to_owned(),
            binary(name).display().to_string(),
        ];
        args.extend(lang_flags.iter().cloned());
        args.extend(f.link_flags.iter().cloned());
        args
    };
    let mut out = vec![
        Probe {
            name: "c",
            file: "probe.c",
            source: format!("#include <stdio.h>\nint main(void) {{ puts(\"{MESSAGE}\"); return 0; }}\n"),
            tool: f.c_compiler.clone(),
            args: compile("probe.c", "c", &f.c_flags),
            binary: binary("c"),
        },
        Probe {
            name: "c++",
            file: "probe.cpp",
            // std::string and iostream: the binary needs libstdc++ at run time.
            source: format!(
                "#include <iostream>\n#include <string>\nint main() {{ std::string m = \"{MESSAGE}\"; std::cout << m << std::endl; return 0; }}\n"
            ),
            tool: f.cxx_compiler.clone(),
            args: compile("probe.cpp", "cxx", &f.cxx_flags),
            binary: binary("cxx"),
        },
    ];
    if let Some(rustc_flags) = &f.rustc_flags {
        // Buck2 links Rust through the cxx toolchain's linker and its link flags.
        let mut args = vec![
            "--edition=2021".to_owned(),
            format!("-Clinker={}", f.linker),
            source("probe.rs"),
            "-o".to_owned(),
            binary("rs").display().to_string(),
        ];
        args.extend(f.link_flags.iter().map(|l| format!("-Clink-arg={l}")));
        args.extend(rustc_flags.iter().cloned());
        out.push(Probe {
            name: "rust",
            file: "probe.rs",
            // A panic caught: the unwinder (libgcc_s on Linux) must load at run time.
            source: format!(
                "fn main() {{ let r = std::panic::catch_unwind(|| {{ if std::env::args().count() > 99 {{ panic!() }} }}); assert!(r.is_ok()); println!(\"{MESSAGE}\"); }}\n"
            ),
            tool: "rustc".to_owned(),
            args,
            binary: binary("rs"),
        });
    }
    out
}

fn literal(call: &Call, attr: &str) -> Option<String> {
    call.kwarg(attr)
        .and_then(|a| a.value.as_str())
        .map(str::to_owned)
}

/// The string flags of `attr` that apply on `os` (select branches for other OSes left out).
fn flags(call: &Call, attr: &str, os: &str) -> Vec<String> {
    call.kwarg(attr)
        .map(|a| {
            strings_with_platform(&a.value, None)
                .into_iter()
                .filter(|(_, p)| p.is_none_or(|p| p == os))
                .map(|(s, _)| s.to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn build_and_run(probe: &Probe, dir: &Path, know: &Knowledge) -> Finding {
    let name = probe.name;
    let command = format!("{} {}", probe.tool, probe.args.join(" "));
    if std::fs::write(dir.join(probe.file), &probe.source).is_err() {
        return Finding::new("probe", name, Status::Fail, "cannot write the probe source");
    }
    let Ok(program) = which::which(&probe.tool) else {
        return Finding::new(
            "probe",
            name,
            Status::Fail,
            format!("`{}` is not on PATH, so `{command}` cannot run", probe.tool),
        );
    };
    let built = run(&program, &probe.args, Some(dir), LIMIT);
    let failure = match &built {
        None => Some(("did not finish".to_owned(), String::new())),
        Some(o) if !o.success => Some((o.first_lines(6), o.text())),
        Some(_) => None,
    };
    if let Some((first, all)) = failure {
        let fix = know
            .probe_errors
            .iter()
            .find(|e| all.contains(&e.contains))
            .map_or_else(
                || "fix the error above, then run `si-nixify doctor` again".to_owned(),
                |e| e.fix.clone(),
            );
        return Finding::new(
            "probe",
            name,
            Status::Fail,
            format!("`{command}` failed:\n{first}"),
        )
        .fix(fix);
    }
    let binary = &probe.binary;
    let ran = run(binary, &[], Some(dir), LIMIT);
    if let Some(o) = &ran {
        if o.success && o.stdout.trim() == MESSAGE {
            return Finding::new(
                "probe",
                name,
                Status::Ok,
                format!("compiled, linked and ran: {command}"),
            );
        }
    }
    let stderr = ran.as_ref().map(|o| o.first_lines(6)).unwrap_or_default();
    let diagnosis = elf::diagnose(binary, &stderr);
    Finding::new(
        "probe",
        name,
        Status::Fail,
        format!(
            "`{command}` linked a binary that {}:\n{}",
            if ran.is_none() {
                "could not start"
            } else {
                "did not run"
            },
            diagnosis.describe(&stderr)
        ),
    )
    .fix(fix_for(&diagnosis, know))
}

/// A binary that links but cannot start was linked without the Nix wrapper: name the wrapped
/// linker (from the knowledge base, so the advice follows the data).
fn fix_for(d: &Diagnosis, know: &Knowledge) -> String {
    let wrapped = know
        .unwrapped
        .iter()
        .find(|u| u.binary == "ld.lld")
        .map_or("llvmPackages.bintools", |u| u.instead.as_str());
    let linker = which::which("ld.lld")
        .map(|p| format!(" (ld.lld on PATH is {})", p.display()))
        .unwrap_or_default();
    if d.missing_interpreter.is_some() || d.missing_library.is_some() {
        format!(
            "the linker is not the Nix-wrapped one{linker}: put `{wrapped}` (the wrapped ld.lld, which sets the dynamic linker and RUNPATH) in the devshell instead of `lld`/`llvmPackages.lld`"
        )
    } else {
        format!("the binary links against a loader or libraries this host lacks: use the devshell's nixpkgs compiler and `{wrapped}`{linker}")
    }
}

//! A real compile + link + run, in a temp dir, with the flags the rewritten toolchains will use:
//! a C program through the cxx toolchain's compiler (on Linux with the `-fuse-ld=lld` that
//! system_cxx_toolchain adds), and a Rust program through rustc with the rust toolchain's flags.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::run::run;
use super::{Finding, Status};
use crate::inventory::targets::{calls, Call};
use crate::inventory::tools::strings_with_platform;
use crate::know::Knowledge;
use crate::read::Module;

const MESSAGE: &str = "si-nixify probe ok";
const LIMIT: Duration = Duration::from_secs(120);

pub fn check(buck: &Path, planned: &str, know: &Knowledge, os: &str, out: &mut Vec<Finding>) {
    let Ok(module) = Module::parse(buck, planned.to_owned()) else {
        return;
    };
    let calls = calls(&module);
    let Ok(dir) = tempfile::tempdir() else {
        out.push(Finding::new(
            "probe",
            "link",
            Status::Fail,
            "cannot create a temp dir for the probe",
        ));
        return;
    };
    let cxx = calls.iter().find(|c| c.rule == "system_cxx_toolchain");
    let compiler = cxx
        .and_then(|c| literal(c, "compiler"))
        .unwrap_or_else(|| "clang".to_owned());
    let linker = cxx
        .and_then(|c| literal(c, "linker"))
        .unwrap_or_else(|| "clang++".to_owned());
    let mut link_flags = cxx.map(|c| flags(c, "c_flags", os)).unwrap_or_default();
    if os == "linux" && compiler != "g++" && linker != "g++" {
        link_flags.push("-fuse-ld=lld".to_owned());
    }
    link_flags.extend(cxx.map(|c| flags(c, "link_flags", os)).unwrap_or_default());
    out.push(c_probe(dir.path(), &compiler, &link_flags, know));
    if let Some(rust) = calls.iter().find(|c| c.rule == "system_rust_toolchain") {
        let rust_flags = flags(rust, "rustc_flags", os);
        out.push(rust_probe(dir.path(), &linker, &rust_flags, know));
    }
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

fn c_probe(dir: &Path, compiler: &str, flags: &[String], know: &Knowledge) -> Finding {
    let source = dir.join("probe.c");
    let binary = dir.join("probe-c");
    let program =
        format!("#include <stdio.h>\nint main(void) {{ puts(\"{MESSAGE}\"); return 0; }}\n");
    if std::fs::write(&source, program).is_err() {
        return Finding::new("probe", "c", Status::Fail, "cannot write the probe source");
    }
    let mut args = vec![
        source.display().to_string(),
        "-o".to_owned(),
        binary.display().to_string(),
    ];
    args.extend(flags.iter().cloned());
    build_and_run("c", compiler, &args, &binary, dir, know)
}

fn rust_probe(dir: &Path, linker: &str, flags: &[String], know: &Knowledge) -> Finding {
    let source = dir.join("probe.rs");
    let binary = dir.join("probe-rs");
    if std::fs::write(
        &source,
        format!("fn main() {{ println!(\"{MESSAGE}\"); }}\n"),
    )
    .is_err()
    {
        return Finding::new(
            "probe",
            "rust",
            Status::Fail,
            "cannot write the probe source",
        );
    }
    let mut args = vec![
        "--edition=2021".to_owned(),
        format!("-Clinker={linker}"),
        source.display().to_string(),
        "-o".to_owned(),
        binary.display().to_string(),
    ];
    args.extend(flags.iter().cloned());
    build_and_run("rust", "rustc", &args, &binary, dir, know)
}

fn build_and_run(
    name: &str,
    tool: &str,
    args: &[String],
    binary: &Path,
    dir: &Path,
    know: &Knowledge,
) -> Finding {
    let command = format!("{tool} {}", args.join(" "));
    let Ok(program) = which::which(tool) else {
        return Finding::new(
            "probe",
            name,
            Status::Fail,
            format!("`{tool}` is not on PATH, so `{command}` cannot run"),
        );
    };
    let built = run(&program, args, Some(dir), LIMIT);
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
    match run(&PathBuf::from(binary), &[], Some(dir), LIMIT) {
        Some(o) if o.success && o.stdout.trim() == MESSAGE => {
            Finding::new("probe", name, Status::Ok, format!("compiled, linked and ran: {command}"))
        }
        Some(o) => Finding::new("probe", name, Status::Fail, format!("the probe built with `{command}` did not run:\n{}", o.first_lines(6)))
            .fix("the binary links against a loader or libraries this host lacks: use the devshell's nixpkgs compiler"),
        None => Finding::new("probe", name, Status::Fail, format!("the probe built with `{command}` could not start")),
    }
}

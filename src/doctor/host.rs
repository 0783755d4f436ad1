//! The host: download toolchains cannot run where the generic Linux dynamic loader does not
//! exist (NixOS), and neither can a foreign ELF binary on PATH whose interpreter is missing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::elf::interpreter as elf_interpreter;
use super::{Finding, Status};
use crate::inventory::Inventory;

/// The loader generic Linux binaries hard-code. `SI_NIXIFY_SYSTEM_INTERPRETER` overrides it,
/// for hosts with an unusual layout (and for tests).
fn system_interpreter() -> PathBuf {
    if let Some(p) = std::env::var_os("SI_NIXIFY_SYSTEM_INTERPRETER") {
        return PathBuf::from(p);
    }
    match std::env::consts::ARCH {
        "aarch64" => PathBuf::from("/lib/ld-linux-aarch64.so.1"),
        _ => PathBuf::from("/lib64/ld-linux-x86-64.so.2"),
    }
}

pub fn check(inv: &Inventory, found: &BTreeMap<String, PathBuf>, out: &mut Vec<Finding>) {
    if cfg!(target_os = "linux") {
        let loader = system_interpreter();
        let nixos = Path::new("/etc/NIXOS").exists();
        let no_loader = !loader.exists();
        let downloads = inv.distributions.len();
        if (nixos || no_loader) && downloads > 0 {
            let why = if nixos {
                "this is NixOS".to_owned()
            } else {
                format!("{} does not exist", loader.display())
            };
            out.push(
                Finding::new(
                    "host",
                    "download toolchains",
                    Status::Fail,
                    format!(
                        "{why}, and toolchains/BUCK still downloads {} whose binaries need it",
                        crate::cli::style::count(
                            downloads,
                            "pre-built archive",
                            "pre-built archives"
                        )
                    ),
                )
                .fix("run `si-nixify generate`"),
            );
        } else {
            out.push(Finding::new(
                "host",
                "download toolchains",
                Status::Ok,
                if downloads == 0 {
                    "toolchains/BUCK downloads nothing".to_owned()
                } else {
                    format!(
                        "{} exists, so the downloaded binaries can run",
                        loader.display()
                    )
                },
            ));
        }
    }
    for (binary, path) in found {
        if let Some(interp) = elf_interpreter(path) {
            if !Path::new(&interp).exists() {
                out.push(
                    Finding::new(
                        "host",
                        binary,
                        Status::Fail,
                        format!(
                            "{} is a foreign ELF binary: its interpreter {interp} does not exist",
                            path.display()
                        ),
                    )
                    .fix(format!(
                        "use `{binary}` from nixpkgs (the devshell) instead of {}",
                        path.display()
                    )),
                );
            }
        }
    }
}

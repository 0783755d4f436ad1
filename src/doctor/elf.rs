//! What an ELF binary asks of the host before `main` runs: its interpreter (PT_INTERP), its
//! RUNPATH, the libraries it needs. `doctor` reads them to explain a binary that links but
//! cannot start — the mark of a linker that is not Nix-wrapped.

use std::io::Read;
use std::path::Path;

use goblin::container::Ctx;
use goblin::elf::program_header::{ProgramHeader, PT_INTERP};
use goblin::elf::Elf;

/// The PT_INTERP of an ELF file (from its first 64 KiB, where the program headers live).
pub fn interpreter(path: &Path) -> Option<String> {
    let mut head = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .ok()?;
    let header = Elf::parse_header(&head).ok()?;
    let ctx = Ctx::new(header.container().ok()?, header.endianness().ok()?);
    let phdrs =
        ProgramHeader::parse(&head, header.e_phoff as usize, header.e_phnum as usize, ctx).ok()?;
    let interp = phdrs.iter().find(|p| p.p_type == PT_INTERP)?;
    let start = interp.p_offset as usize;
    let bytes = head.get(start..start + interp.p_filesz as usize)?;
    let text = std::str::from_utf8(bytes).ok()?;
    Some(text.trim_end_matches('\0').to_owned())
}

/// Why a freshly linked binary did not start.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    pub interpreter: Option<String>,
    /// The interpreter, when it does not exist on this host.
    pub missing_interpreter: Option<String>,
    /// DT_RUNPATH, else DT_RPATH, split at `:`.
    pub runpath: Vec<String>,
    pub needed: Vec<String>,
    /// The library the loader said it could not open.
    pub missing_library: Option<String>,
}

impl Diagnosis {
    /// Lines for a finding: the cause first, then what the ELF asks for.
    pub fn describe(&self, stderr: &str) -> String {
        let mut lines = Vec::new();
        if let Some(i) = &self.missing_interpreter {
            lines.push(format!("its interpreter {i} does not exist on this host"));
        }
        if let Some(l) = &self.missing_library {
            lines.push(format!("the loader cannot find {l}"));
        }
        lines.push(format!(
            "interpreter: {}",
            self.interpreter.as_deref().unwrap_or("(none)")
        ));
        lines.push(format!(
            "RUNPATH: {}",
            if self.runpath.is_empty() {
                "(none)".to_owned()
            } else {
                self.runpath.join(":")
            }
        ));
        if !self.needed.is_empty() {
            lines.push(format!("needs: {}", self.needed.join(", ")));
        }
        if !stderr.trim().is_empty() {
            lines.push(stderr.trim().to_owned());
        }
        lines.join("\n")
    }
}

/// Read `binary` and the loader's complaint (`stderr` of the failed run).
pub fn diagnose(binary: &Path, stderr: &str) -> Diagnosis {
    let mut d = Diagnosis {
        missing_library: missing_library(stderr),
        ..Diagnosis::default()
    };
    let Ok(bytes) = std::fs::read(binary) else {
        return d;
    };
    let Ok(elf) = Elf::parse(&bytes) else {
        return d;
    };
    d.interpreter = elf.interpreter.map(str::to_owned);
    d.missing_interpreter = d.interpreter.clone().filter(|i| !Path::new(i).exists());
    let paths = if elf.runpaths.is_empty() {
        &elf.rpaths
    } else {
        &elf.runpaths
    };
    d.runpath = paths
        .iter()
        .flat_map(|p| p.split(':'))
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    d.needed = elf.libraries.iter().map(|l| (*l).to_owned()).collect();
    d
}

/// `…: error while loading shared libraries: libstdc++.so.6: cannot open shared object file`
/// → `libstdc++.so.6`.
fn missing_library(stderr: &str) -> Option<String> {
    let marker = "error while loading shared libraries: ";
    let at = stderr.find(marker)? + marker.len();
    let name = stderr[at..].split(':').next()?.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_library_the_loader_could_not_open() {
        let stderr = "./probe: error while loading shared libraries: libstdc++.so.6: cannot open shared object file: No such file or directory";
        assert_eq!(missing_library(stderr).as_deref(), Some("libstdc++.so.6"));
        assert_eq!(missing_library("Segmentation fault"), None);
    }
}

//! Reading a text file of the repo: root-relative paths in errors, and invalid UTF-8 located
//! at its line and column with the reason the file must be UTF-8 (shared by the .buckconfig
//! reader, the Starlark reader and the flake reader).

use std::path::Path;

use crate::error::{Location, UserError};

/// Read a root-relative file as UTF-8; an invalid byte is reported with its line and column.
pub fn read_text(root: &Path, path: &Path) -> Result<String, UserError> {
    let bytes = std::fs::read(root.join(path))
        .map_err(|e| UserError::new(format!("cannot read the file: {e}")).in_file(path))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let valid = std::str::from_utf8(valid).unwrap_or_default();
        let line = valid.matches('\n').count() + 1;
        let col = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        UserError::new(format!(
            "the file is not valid UTF-8 (byte 0x{:02x} here)",
            e.as_bytes()[e.utf8_error().valid_up_to()]
        ))
        .at(Location {
            file: path.to_path_buf(),
            line,
            col,
        })
        .hint(format!(
            "{}; re-save it as UTF-8 (the byte at this line and column is not)",
            who_reads(path)
        ))
    })
}

/// Why the file must be UTF-8, in the words of the tool that reads it.
fn who_reads(path: &Path) -> &'static str {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if name.ends_with(".buckconfig") {
        "Buck2 reads .buckconfig files as UTF-8"
    } else if name.ends_with(".nix") {
        "Nix reads .nix files as UTF-8"
    } else {
        "Buck2 reads BUCK and .bzl files as UTF-8"
    }
}

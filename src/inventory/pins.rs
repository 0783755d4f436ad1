//! The versions the download toolchains pinned. They live on the distribution targets, which
//! `generate` deletes; so `generate` records them in `.si-nixify/pins.json`, and `scan` and
//! `doctor` read them from there afterwards to keep reporting drift.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Distribution, Status, Target};
use crate::error::{Location, UserError};

/// Where the pins are kept, relative to the repo root.
pub const PINS_FILE: &str = ".si-nixify/pins.json";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    pub family: String,
    pub version: String,
    /// The build file the pin was read from, and its line there.
    pub file: String,
    pub line: usize,
    /// The distribution target that carried it.
    pub distribution: String,
    /// Read from the pins file (the target itself is gone).
    #[serde(skip)]
    pub recorded: bool,
}

impl Pin {
    /// Where the pin came from, for messages.
    pub fn origin(&self) -> String {
        if self.recorded {
            format!("{}:{} (recorded in {PINS_FILE})", self.file, self.line)
        } else {
            format!("{}:{}", self.file, self.line)
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PinsFile {
    #[serde(rename = "$comment", default)]
    comment: String,
    schema_version: u32,
    pins: Vec<Pin>,
}

const COMMENT: &str = "Written by `si-nixify generate`: the versions the deleted download toolchains pinned, so `scan` and `doctor` keep reporting drift. Edit a version to change what the devshell is checked against; delete the file to stop.";

/// Each family's pin from the distributions its hermetic toolchains use (first one wins).
pub fn from_distributions_of(targets: &[Target], distributions: &[Distribution]) -> Vec<Pin> {
    let mut out: Vec<Pin> = Vec::new();
    for t in targets.iter().filter(|t| t.status == Status::Hermetic) {
        let Some(dist) = distributions
            .iter()
            .find(|d| Some(&d.name) == t.distribution.as_ref())
        else {
            continue;
        };
        if let (Some(family), Some(version)) = (&dist.family, &dist.version) {
            if !out.iter().any(|p| &p.family == family) {
                out.push(Pin {
                    family: family.clone(),
                    version: version.clone(),
                    file: dist.file.display().to_string(),
                    line: dist.line,
                    distribution: dist.name.clone(),
                    recorded: false,
                });
            }
        }
    }
    out
}

/// The pins recorded by an earlier `generate` (none when there is no file).
pub fn recorded(root: &Path) -> Result<Vec<Pin>, UserError> {
    let path = root.join(PINS_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(Vec::new());
    };
    let file: PinsFile = serde_json::from_str(&text).map_err(|e| {
        UserError::new(format!("invalid pins file: {e}"))
            .at(Location {
                file: PINS_FILE.into(),
                line: e.line(),
                col: e.column(),
            })
            .hint("fix it, or delete it and run `si-nixify generate` on the download toolchains again")
    })?;
    Ok(file
        .pins
        .into_iter()
        .map(|p| Pin {
            recorded: true,
            ..p
        })
        .collect())
}

/// Pins of the toolchains as they are, then recorded ones for families they no longer pin.
pub fn merge(current: Vec<Pin>, recorded: Vec<Pin>) -> Vec<Pin> {
    let mut out = current;
    for pin in recorded {
        if !out.iter().any(|p| p.family == pin.family) {
            out.push(pin);
        }
    }
    out
}

/// The pins file's text for `pins`.
pub fn render(pins: &[Pin]) -> String {
    let file = PinsFile {
        comment: COMMENT.to_owned(),
        schema_version: 1,
        pins: pins.to_vec(),
    };
    let mut text = serde_json::to_string_pretty(&file).unwrap_or_default();
    text.push('\n');
    text
}

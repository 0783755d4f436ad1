//! Pipeline step 6: is this machine ready to build the repo? Every finding has a status, what
//! was seen, and a fix. Reads the same plan as `generate`: the tools the toolchains call once
//! rewritten (or already call).

mod cargo;
mod elf;
mod host;
mod nix_pinned;
mod probe;
pub mod stale;
mod tools;

use serde::Serialize;

use crate::error::UserError;
use crate::inventory::{self, Context};
use crate::plan;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// `tool`, `version`, `probe`, `host`, `stale`, `cargo`, `nix-pinned`.
    pub check: String,
    /// What was checked: a binary, a path, a probe name.
    pub subject: String,
    pub status: Status,
    pub seen: String,
    pub fix: Option<String>,
}

impl Finding {
    pub fn new(check: &str, subject: &str, status: Status, seen: impl Into<String>) -> Finding {
        Finding {
            check: check.to_owned(),
            subject: subject.to_owned(),
            status,
            seen: seen.into(),
            fix: None,
        }
    }

    pub fn fix(mut self, fix: impl Into<String>) -> Finding {
        self.fix = Some(fix.into());
        self
    }
}

/// The `doctor --json` document.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub ok: bool,
    pub findings: Vec<Finding>,
}

pub struct Options {
    pub probe: bool,
}

/// Run every check against this machine.
pub fn examine(ctx: &Context, options: &Options) -> Result<Report, UserError> {
    let inv = inventory::take(ctx)?;
    let planned = plan::plan(ctx, &inv)?;
    let os = std::env::consts::OS;
    let os = if os == "macos" { "darwin" } else { os };
    let mut findings = Vec::new();
    let found = tools::check(&inv, &ctx.know, os, &mut findings);
    host::check(&inv, &found, &mut findings);
    if options.probe {
        probe::check(&planned.file, &planned.new, &ctx.know, os, &mut findings);
    }
    stale::check(&ctx.repo, &mut findings);
    nix_pinned::check(ctx, &mut findings);
    cargo::check(&ctx.repo, &ctx.know, &mut findings);
    Ok(Report {
        schema_version: 1,
        ok: findings.iter().all(|f| f.status != Status::Fail),
        findings,
    })
}

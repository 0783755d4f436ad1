//! `si-nixify clean`: `buck2 kill` and remove buck-out's stale toolchain extractions.

use std::io::Write;

use crate::clean;
use crate::repo::Repo;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// List what would be done; do nothing.
    #[arg(long)]
    pub(super) dry_run: bool,
}

pub fn run(repo: Repo, args: &Args, out: &mut impl Write) -> anyhow::Result<i32> {
    let steps = clean::plan(&repo)?;
    if steps.is_empty() {
        writeln!(out, "nothing to clean")?;
        return Ok(super::exit::OK);
    }
    if args.dry_run {
        for s in &steps {
            writeln!(out, "would {}", s.describe())?;
        }
        return Ok(super::exit::OK);
    }
    for line in clean::execute(&repo, &steps)? {
        writeln!(out, "{line}")?;
    }
    Ok(super::exit::OK)
}

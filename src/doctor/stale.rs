//! Stale state: toolchain archives Buck2 already extracted, and a daemon that started before
//! toolchains/BUCK last changed (it caches file state and keeps serving the old toolchains).

use std::path::Path;
use std::time::SystemTime;

use super::{Finding, Status};
use crate::repo::Repo;

pub const EXTRACTED: &str = "buck-out/v2/gen/toolchains";

pub fn check(repo: &Repo, out: &mut Vec<Finding>) {
    let extracted = repo.root.join(EXTRACTED);
    let entries = std::fs::read_dir(&extracted)
        .map(|d| d.count())
        .unwrap_or(0);
    if entries > 0 {
        out.push(
            Finding::new(
                "stale",
                EXTRACTED,
                Status::Warn,
                format!(
                    "{EXTRACTED} holds {} from earlier toolchain builds (extracted archives)",
                    crate::cli::style::count(entries, "entry", "entries")
                ),
            )
            .fix("run `si-nixify clean`"),
        );
    }
    let Ok(buck_changed) = repo
        .toolchains_file()
        .and_then(|f| {
            std::fs::metadata(repo.root.join(f))
                .map_err(|e| crate::error::UserError::new(e.to_string()))
        })
        .and_then(|m| {
            m.modified()
                .map_err(|e| crate::error::UserError::new(e.to_string()))
        })
    else {
        return;
    };
    for (pid, started) in buck2_daemons(&repo.root) {
        if started < buck_changed {
            out.push(
                Finding::new("stale", "buck2 daemon", Status::Warn, format!("buck2 daemon (pid {pid}) for this repo started before toolchains/BUCK last changed; it still serves the old toolchains"))
                    .fix("run `si-nixify clean` (it runs `buck2 kill`)"),
            );
        }
    }
}

/// buck2 daemons whose working directory is `root`, with their start times (Linux /proc).
fn buck2_daemons(root: &Path) -> Vec<(u32, SystemTime)> {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    procs
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let dir = e.path();
            let cmdline = std::fs::read(dir.join("cmdline")).ok()?;
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            let is_daemon = args
                .first()
                .is_some_and(|a| a.ends_with(b"buck2") || a.ends_with(b"buck2-daemon"))
                && args.iter().any(|a| *a == b"daemon");
            let cwd = std::fs::read_link(dir.join("cwd")).ok()?;
            (is_daemon && cwd == root).then_some(())?;
            let started = std::fs::metadata(&dir).ok()?.modified().ok()?;
            Some((pid, started))
        })
        .collect()
}

//! Every required binary on PATH, resolved the way Buck2 will (PATH order), with its version
//! compared to the version toolchains/BUCK pinned.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::{Finding, Status};
use crate::inventory::{Inventory, RequiredTool};
use crate::know::Knowledge;
use crate::process::{run, version_in};

/// Check the tools; returns binary → the path PATH resolves it to.
pub fn check(
    inv: &Inventory,
    know: &Knowledge,
    os: &str,
    out: &mut Vec<Finding>,
) -> BTreeMap<String, PathBuf> {
    let pinned: BTreeMap<String, String> = inv
        .pins
        .iter()
        .map(|p| (p.family.clone(), p.version.clone()))
        .collect();
    let mut found = BTreeMap::new();
    let extra = know.doctor_tools.iter().map(|t| RequiredTool {
        binary: t.binary.clone(),
        why: t.why.clone(),
        nix: t.nix.clone(),
        platform: t.platform.clone(),
        pinned_by: t.pinned_by.clone(),
        pinned: None,
    });
    for tool in inv.required_tools.iter().cloned().chain(extra) {
        if tool.platform.as_deref().is_some_and(|p| p != os) {
            continue;
        }
        let Ok(path) = which::which(&tool.binary) else {
            out.push(
                Finding::new(
                    "tool",
                    &tool.binary,
                    Status::Fail,
                    format!("`{}` is not on PATH ({})", tool.binary, tool.why),
                )
                .fix(format!("add `{}` to the devshell", tool.nix)),
            );
            continue;
        };
        let version = run(
            &path,
            &["--version".to_owned()],
            None,
            Duration::from_secs(10),
        )
        .and_then(|o| version_in(&o.text()));
        let seen = format!(
            "{} {}",
            path.display(),
            version.as_deref().unwrap_or("(version unknown)")
        );
        let pin = tool.pinned_by.as_ref().and_then(|f| pinned.get(f));
        out.push(match (version.as_deref(), pin) {
            (Some(v), Some(p)) => compare(&tool, v, p, seen),
            _ => Finding::new("tool", &tool.binary, Status::Ok, seen),
        });
        found.insert(tool.binary.clone(), path);
    }
    found
}

/// major.minor of a version, when it has numeric ones.
fn major_minor(v: &str) -> Option<(u64, u64)> {
    let mut parts = v.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().unwrap_or("0").parse().ok()?;
    Some((major, minor))
}

fn compare(tool: &RequiredTool, found: &str, pinned: &str, seen: String) -> Finding {
    let (Some(have), Some(want)) = (major_minor(found), major_minor(pinned)) else {
        return Finding::new(
            "tool",
            &tool.binary,
            Status::Ok,
            format!("{seen} (pinned {pinned}, not comparable)"),
        );
    };
    if have < want {
        Finding::new(
            "version",
            &tool.binary,
            Status::Warn,
            format!("{seen}: drift, below the {pinned} toolchains/BUCK pinned"),
        )
        .fix(format!(
            "use a `{}` of at least {}.{} in the devshell",
            tool.nix, want.0, want.1
        ))
    } else if have.0 != want.0 {
        Finding::new(
            "version",
            &tool.binary,
            Status::Warn,
            format!("{seen}: drift, major version differs from the pinned {pinned}"),
        )
        .fix(format!(
            "pin `{}` to major {} in the devshell",
            tool.nix, want.0
        ))
    } else {
        Finding::new(
            "tool",
            &tool.binary,
            Status::Ok,
            format!("{seen} (pinned {pinned})"),
        )
    }
}

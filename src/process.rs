//! Running tools of the machine (nix, compilers, `--version`), with a time limit so a tool that
//! waits for input cannot hang `doctor` or `generate`.

use std::path::Path;
use std::time::{Duration, Instant};

pub struct Output {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// stdout then stderr, for tools that print their version to either.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// The first `n` lines of stderr (or stdout when stderr is empty).
    pub fn first_lines(&self, n: usize) -> String {
        let text = if self.stderr.trim().is_empty() {
            &self.stdout
        } else {
            &self.stderr
        };
        text.lines().take(n).collect::<Vec<_>>().join("\n")
    }
}

/// Run `program args` in `dir`, stdin closed, output captured; `None` if it could not start
/// or did not finish within `limit`.
pub fn run(program: &Path, args: &[String], dir: Option<&Path>, limit: Duration) -> Option<Output> {
    let mut expr = duct::cmd(program, args)
        .stdin_null()
        .stdout_capture()
        .stderr_capture()
        .unchecked();
    if let Some(dir) = dir {
        expr = expr.dir(dir);
    }
    let handle = expr.start().ok()?;
    let deadline = Instant::now() + limit;
    loop {
        match handle.try_wait() {
            Ok(Some(out)) => {
                return Some(Output {
                    success: out.status.success(),
                    stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                    stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                })
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = handle.kill();
                return None;
            }
        }
    }
}

/// The first `N.N` or `N.N.N` in a tool's `--version` text.
pub fn version_in(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map(|t| t.trim_matches('.'))
        .find(|t| {
            let parts: Vec<&str> = t.split('.').collect();
            parts.len() >= 2 && parts.iter().all(|p| !p.is_empty())
        })
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::version_in;

    #[test]
    fn finds_versions_in_tool_banners() {
        assert_eq!(
            version_in("rustc 1.95.0 (59807616e 2026-04-14)").as_deref(),
            Some("1.95.0")
        );
        assert_eq!(
            version_in("Debian clang version 14.0.6\nTarget: x86_64").as_deref(),
            Some("14.0.6")
        );
        assert_eq!(
            version_in("Debian LLD 14.0.6 (compatible with GNU linkers)").as_deref(),
            Some("14.0.6")
        );
        assert_eq!(version_in("Python 3.11.7").as_deref(), Some("3.11.7"));
        assert_eq!(version_in("no version here 7").as_deref(), None);
    }
}

//! Progress for work that can take more than a second (`scan --all`, doctor's probes): an
//! indicatif spinner on stderr, drawn only on a terminal, never in CI logs (`CI` set) and never
//! next to `--json` output, and cleared when the work is done.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// A spinner saying `message`, or nothing when `wanted` is false or nobody would see it.
    pub fn spinner(message: &str, wanted: bool) -> Progress {
        if !(wanted && shown()) {
            return Progress(None);
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{spinner} {msg} {pos} files ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.set_message(message.to_owned());
        bar.enable_steady_tick(Duration::from_millis(100));
        Progress(Some(bar))
    }

    /// A spinner for work that has no count.
    pub fn working(message: &str, wanted: bool) -> Progress {
        let progress = Progress::spinner(message, wanted);
        if let Some(bar) = &progress.0 {
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
        }
        progress
    }

    pub fn advance(&self, by: usize) {
        if let Some(bar) = &self.0 {
            bar.inc(by as u64);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// A terminal on stderr, not a CI job, not a dumb terminal.
fn shown() -> bool {
    std::io::stderr().is_terminal()
        && std::env::var_os("CI").is_none()
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

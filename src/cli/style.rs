//! Colour, the way clap does it: text is written with anstyle styles into anstream's
//! `AutoStream`s, which pass the escapes through or strip them according to one global
//! choice — `--color`, else `NO_COLOR` / `CLICOLOR_FORCE` / whether the stream is a terminal.

use std::ffi::OsString;
use std::fmt::Display;

use anstyle::{AnsiColor, Style};

pub const ERROR: Style = AnsiColor::Red.on_default().bold();
pub const WARN: Style = AnsiColor::Yellow.on_default().bold();
pub const OK: Style = AnsiColor::Green.on_default().bold();
pub const HINT: Style = AnsiColor::Cyan.on_default().bold();
pub const HEADER: Style = Style::new().bold();
pub const DIM: Style = Style::new().dimmed();
pub const ADDED: Style = AnsiColor::Green.on_default();
pub const REMOVED: Style = AnsiColor::Red.on_default();
pub const HUNK: Style = AnsiColor::Cyan.on_default();

/// `text` wrapped in `style` (and its reset).
pub fn paint(style: Style, text: impl Display) -> String {
    format!("{style}{text}{style:#}")
}

/// Like [`paint`], but plain text stays plain (no reset codes around it).
pub fn paint_if(style: Style, text: &str) -> String {
    if style == Style::new() {
        text.to_owned()
    } else {
        paint(style, text)
    }
}

/// The colour choice the command line asks for, read before clap parses it so that clap's own
/// errors and help obey it too. `auto` (and no flag) defers to anstream's detection, which
/// reads `NO_COLOR`, `CLICOLOR_FORCE`, `CLICOLOR` and `TERM=dumb` and asks whether the stream
/// is a terminal. An explicit `--color always|never` wins over the environment, as in git.
pub fn requested(args: &[OsString]) -> anstream::ColorChoice {
    let mut value = None;
    let mut args = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(arg) = args.next() {
        if arg == "--" {
            break;
        }
        if arg == "--color" {
            value = args.next().map(|v| v.into_owned());
        } else if let Some(v) = arg.strip_prefix("--color=") {
            value = Some(v.to_owned());
        }
    }
    match value.as_deref() {
        Some("always") => anstream::ColorChoice::Always,
        Some("never") => anstream::ColorChoice::Never,
        _ => anstream::ColorChoice::Auto,
    }
}

/// The same choice in clap's terms.
pub fn for_clap(choice: anstream::ColorChoice) -> clap::ColorChoice {
    match choice {
        anstream::ColorChoice::Always | anstream::ColorChoice::AlwaysAnsi => {
            clap::ColorChoice::Always
        }
        anstream::ColorChoice::Never => clap::ColorChoice::Never,
        anstream::ColorChoice::Auto => clap::ColorChoice::Auto,
    }
}

/// A unified diff coloured as git colours it: headers bold, hunk lines cyan, removals red,
/// additions green.
pub fn diff(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for line in text.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let style = if body.starts_with("+++") || body.starts_with("---") {
            HEADER
        } else if body.starts_with("@@") {
            HUNK
        } else if body.starts_with('+') {
            ADDED
        } else if body.starts_with('-') {
            REMOVED
        } else {
            Style::new()
        };
        if style == Style::new() || body.is_empty() {
            out.push_str(line);
        } else {
            out.push_str(&paint(style, body));
            out.push_str(newline);
        }
    }
    out
}

/// `1 file`, `2 files`: a count with the right form of its noun.
pub fn count(n: usize, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn reads_the_color_flag_in_both_spellings() {
        use anstream::ColorChoice::*;
        assert_eq!(requested(&args(&["x", "--color", "never", "scan"])), Never);
        assert_eq!(requested(&args(&["x", "scan", "--color=always"])), Always);
        assert_eq!(requested(&args(&["x", "scan"])), Auto);
        assert_eq!(requested(&args(&["x", "--", "--color=always"])), Auto);
    }

    #[test]
    fn colours_each_kind_of_diff_line() {
        let painted = diff("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n same\n");
        assert!(painted.contains(&paint(REMOVED, "-old")), "{painted}");
        assert!(painted.contains(&paint(ADDED, "+new")), "{painted}");
        assert!(painted.contains(&paint(HUNK, "@@ -1 +1 @@")), "{painted}");
        assert!(painted.ends_with("\n same\n"), "{painted}");
    }

    #[test]
    fn plurals() {
        assert_eq!(count(1, "file", "files"), "1 file");
        assert_eq!(count(0, "entry", "entries"), "0 entries");
    }
}

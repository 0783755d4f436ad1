//! `si-nixify scan`: print the inventory as a table or as JSON; `--all` audits every BUCK and
//! .bzl file of the repo for remote references.

use std::io::Write;
use std::path::PathBuf;

use super::progress::Progress;
use super::style::{self, count, paint};
use super::table::{section, Cell, Table};
use crate::flake::drift::Drift;
use crate::inputs::{FlakeChoice, Inputs, Scan};
use crate::inventory::{self, all, Inventory};
use crate::repo::Repo;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the schema_version 1 JSON document instead of a table.
    #[arg(long)]
    json: bool,
    /// Walk every BUCK and .bzl file of the repo (honouring .gitignore and [project] ignore)
    /// and list every remote reference; files that fail to parse are reported (exit 1).
    /// Only files whose bytes could hold a reference (a `://` or a download call's name) are
    /// parsed.
    #[arg(long)]
    all: bool,
    /// With --all: parse every file, also those that can hold no reference, so that syntax
    /// errors anywhere are reported.
    #[arg(long, requires = "all")]
    parse_all: bool,
}

pub fn run(repo: Repo, args: &Args, out: &mut impl Write) -> anyhow::Result<i32> {
    if args.all {
        return run_all(repo, args, out);
    }
    let inv = Inputs::read(repo, &FlakeChoice::Default)?.inventory()?;
    if args.json {
        // Warnings and drift are in the document; stderr stays quiet for scripts.
        serde_json::to_writer_pretty(&mut *out, &inv)?;
        writeln!(out)?;
    } else {
        print_head(&inv, out)?;
        let mut refs = Vec::new();
        for r in &inv.remote_references {
            refs.push(reference_line(r));
        }
        if !refs.is_empty() {
            writeln!(out, "\n{}", paint(style::HEADER, "Remote references:"))?;
            for r in refs {
                writeln!(out, "{r}")?;
            }
        }
        print_tail(&inv, out)?;
        writeln!(out, "\n{}", summary(&inv))?;
    }
    Ok(super::exit::OK)
}

/// The toolchains inventory (when the repo has a readable one) with the whole repo's remote
/// references, written as they are found (memory stays flat on any repo size); parse
/// failures anywhere are listed, not fatal. The inventory (which may evaluate the cell) is
/// taken on its own thread while the walk starts: references found before it is ready wait
/// in memory, then everything streams.
fn run_all(repo: Repo, args: &Args, out: &mut impl Write) -> anyhow::Result<i32> {
    let parse = if args.parse_all {
        all::Parse::Every
    } else {
        all::Parse::Candidates
    };
    let progress = Progress::spinner("scanning BUCK and .bzl files:", !args.json);
    let (inv, mut failures, files, more, io_error) = std::thread::scope(|s| {
        let head = s.spawn(|| toolchains_inventory(&repo));
        let mut listing = Listing {
            out: &mut *out,
            json: args.json,
            head: Some(head),
            inv: None,
            failures: Vec::new(),
            waiting: Vec::new(),
            first: true,
            error: None,
        };
        let scanned = all::scan_streaming_with_progress(
            &repo,
            parse,
            |r| listing.reference(r),
            |n| progress.advance(n),
        );
        listing.flush_head();
        let Listing {
            inv,
            failures,
            error,
            first,
            out: listing_out,
            json,
            ..
        } = listing;
        if json {
            if let Err(e) = writeln!(listing_out, "{}],", if first { "" } else { "\n  " }) {
                return Err(anyhow::Error::from(e));
            }
        }
        let (files, more) = scanned?;
        Ok((inv, failures, files, more, error))
    })?;
    drop(progress);
    if let Some(e) = io_error {
        return Err(e.into());
    }
    let inv = inv.expect("the head is printed before the tail");
    failures.extend(more);
    if args.json {
        writeln!(out, "  \"files_scanned\": {files},")?;
        let failures_json = serde_json::to_value(&failures)?;
        writeln!(
            out,
            "  \"parse_failures\": {}",
            indented(&failures_json, 2)?
        )?;
        writeln!(out, "}}")?;
    } else {
        print_tail(&inv, out)?;
        let skipped = if failures.is_empty() {
            String::new()
        } else {
            format!(", {} skipped", count(failures.len(), "file", "files"))
        };
        writeln!(out, "\nscanned {}{skipped}", count(files, "file", "files"))?;
    }
    out.flush()?;
    // Errors belong on stderr; after stdout is flushed they follow the listing on a terminal.
    for f in &failures {
        anstream::eprintln!("{} {} (skipped)", paint(style::ERROR, "error:"), f.message);
    }
    Ok(if failures.is_empty() {
        super::exit::OK
    } else {
        super::exit::DRIFT
    })
}

/// The toolchains inventory of `scan --all`, without its references (the walk lists the
/// whole repo's); a repo whose toolchains cannot be read gets an empty one and a failure.
fn toolchains_inventory(repo: &Repo) -> (Scan, Option<all::ParseFailure>) {
    let read = Inputs::read(repo.clone(), &FlakeChoice::Default);
    let (mut inv, failure) = match read.and_then(|inputs| inputs.inventory()) {
        Ok(inv) => (inv, None),
        Err(e) => (
            Scan::from(Inventory::empty(repo.root.clone(), PathBuf::new())),
            Some(all::ParseFailure::from_error(&e, "toolchains")),
        ),
    };
    inv.remote_references.clear();
    (inv, failure)
}

type Head<'s> = std::thread::ScopedJoinHandle<'s, (Scan, Option<all::ParseFailure>)>;

/// The `scan --all` output as it streams: the inventory head once its thread is done, each
/// reference after it (those found earlier wait in `waiting`).
struct Listing<'s, 'o, W: Write> {
    out: &'o mut W,
    json: bool,
    head: Option<Head<'s>>,
    inv: Option<Scan>,
    failures: Vec<all::ParseFailure>,
    waiting: Vec<inventory::RemoteReference>,
    first: bool,
    error: Option<std::io::Error>,
}

impl<W: Write> Listing<'_, '_, W> {
    fn reference(&mut self, r: inventory::RemoteReference) {
        if self.head.as_ref().is_some_and(|h| !h.is_finished()) {
            self.waiting.push(r);
            return;
        }
        self.flush_head();
        self.write_reference(&r);
    }

    /// Print the head (waiting for its thread if need be) and what waited for it; once.
    fn flush_head(&mut self) {
        let Some(head) = self.head.take() else {
            return;
        };
        let (inv, failure) = head
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        self.failures.extend(failure);
        if let Err(e) = self.write_head(&inv) {
            self.error.get_or_insert(e);
        }
        self.inv = Some(inv);
        for r in std::mem::take(&mut self.waiting) {
            self.write_reference(&r);
        }
    }

    fn write_head(&mut self, inv: &Scan) -> std::io::Result<()> {
        if !self.json {
            return print_head(inv, self.out);
        }
        let mut doc = serde_json::to_value(inv)?;
        let map = doc.as_object_mut().map(std::mem::take).unwrap_or_default();
        writeln!(self.out, "{{")?;
        for (key, value) in map.iter().filter(|(k, _)| *k != "remote_references") {
            writeln!(
                self.out,
                "  {}: {},",
                serde_json::to_string(key)?,
                indented(value, 2)?
            )?;
        }
        write!(self.out, "  \"remote_references\": [")
    }

    fn write_reference(&mut self, r: &inventory::RemoteReference) {
        let first = std::mem::take(&mut self.first);
        let written = if self.json {
            let line = serde_json::to_string(r).unwrap_or_default();
            let sep = if first { "" } else { "," };
            write!(self.out, "{sep}\n    {line}")
        } else {
            // The header only once there is something under it.
            let header = if first {
                format!(
                    "\n{}\n",
                    paint(style::HEADER, "Remote references (whole repo):")
                )
            } else {
                String::new()
            };
            writeln!(self.out, "{header}{}", reference_line(r))
        };
        if let Err(e) = written {
            self.error.get_or_insert(e);
        }
    }
}

/// Pretty JSON of `value`, its continuation lines indented by `by` spaces.
fn indented(value: &serde_json::Value, by: usize) -> serde_json::Result<String> {
    let pretty = serde_json::to_string_pretty(value)?;
    Ok(pretty.replace('\n', &format!("\n{}", " ".repeat(by))))
}

/// `  file:line: http_archive(https://…)` — compiler-style, so it needs no column widths
/// (the `--all` listing streams) and terminals and editors can jump to it.
fn reference_line(r: &inventory::RemoteReference) -> String {
    let place = paint(style::HEADER, format!("{}:{}", r.file, r.line));
    match (r.kind.as_str(), r.url.as_deref()) {
        ("url", Some(url)) => format!("  {place}: {url}"),
        (kind, Some(url)) => format!("  {place}: {kind}({url})"),
        (kind, None) => format!("  {place}: {kind}(…)"),
    }
}

fn status_style(status: inventory::Status) -> anstyle::Style {
    match status {
        inventory::Status::Distribution | inventory::Status::Custom => style::WARN,
        inventory::Status::Hermetic | inventory::Status::PathTool => style::HINT,
        inventory::Status::System => style::OK,
        inventory::Status::Other => anstyle::Style::new(),
    }
}

fn print_head(inv: &Inventory, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{} ({})",
        paint(style::HEADER, inv.toolchains_file.display()),
        inv.root.display()
    )?;
    let mut targets = Table::new(2).right_aligned(0);
    for t in &inv.targets {
        let detail = match (&t.replacement, &t.distribution) {
            (Some(r), Some(d)) => format!("→ {r} (was built from :{d})"),
            (Some(r), None) => format!("→ {r}"),
            (None, Some(d)) => format!("references :{d}"),
            (None, None) if !t.resolves_to.is_empty() => {
                format!("alias of {}", t.resolves_to.join(", "))
            }
            (None, None) => String::new(),
        };
        targets.row([
            Cell::from(place(inv, &t.file, t.line)),
            Cell::styled(status_style(t.status), t.status.as_str()),
            Cell::from(t.name.as_str()),
            Cell::from(t.rule.as_str()),
            Cell::from(detail),
        ]);
    }
    section(out, "Targets:", &targets)?;
    let mut dists = Table::new(2).right_aligned(0);
    let mut artifacts = Table::new(2);
    for d in &inv.distributions {
        dists.row([
            place(inv, &d.file, d.line),
            d.name.clone(),
            d.family.clone().unwrap_or_else(|| "?".into()),
            d.version.clone().unwrap_or_else(|| "?".into()),
        ]);
        for a in &d.artifacts {
            let url = match (&a.url, &d.url_note) {
                (Some(url), _) => url.clone(),
                (None, Some(note)) => format!("(url unknown because {note})"),
                (None, None) => "(url unknown)".to_owned(),
            };
            artifacts.row([d.name.clone(), format!("{}/{}", a.os, a.arch), url]);
        }
        if d.artifacts.is_empty() {
            if let Some(note) = &d.url_note {
                artifacts.row([
                    d.name.clone(),
                    "-".into(),
                    format!("(url unknown because {note})"),
                ]);
            }
        }
    }
    section(out, "Distributions (downloaded archives):", &dists)?;
    section(out, "Artifacts:", &artifacts)?;
    section(
        out,
        "Downloads (every one the build files make, found by evaluating them):",
        &downloads_table(inv),
    )
}

/// One row a download: where it is made, the target, its rule, what it fetches, who uses it.
fn downloads_table(inv: &Inventory) -> Table {
    let mut rows = Table::new(2);
    for d in &inv.downloads {
        let what = match (d.urls.first(), d.dynamic()) {
            (_, true) => "(at build time, from data read then)".to_owned(),
            (Some(url), _) if d.urls.len() > 1 => format!("{url} (+{} mirrors)", d.urls.len() - 1),
            (Some(url), _) => url.clone(),
            (None, _) => "(URL built inside the rule)".to_owned(),
        };
        // The cell's targets that reach it (the toolchains downloading it), else its users.
        let reach = if d.toolchains.is_empty() {
            &d.used_by
        } else {
            &d.toolchains
        };
        let users = reach
            .iter()
            .filter(|u| **u != d.label)
            .cloned()
            .collect::<Vec<_>>();
        let used = if users.is_empty() {
            String::new()
        } else {
            format!("for {}", users.join(", "))
        };
        rows.row([
            place(inv, &d.edit_at.file, d.edit_at.line),
            d.label.clone(),
            d.rule.clone(),
            what,
            used,
        ]);
    }
    rows
}

/// A line of the main build file as itself; of another build file of the cell, `file:line`.
fn place(inv: &Inventory, file: &std::path::Path, line: usize) -> String {
    if file == inv.toolchains_file {
        line.to_string()
    } else {
        format!("{}:{line}", file.display())
    }
}

fn print_tail(inv: &Scan, out: &mut impl Write) -> std::io::Result<()> {
    let mut cells = Table::new(2);
    for e in &inv.external_cells {
        cells.row([format!("`{}`", e.cell), e.origin.clone(), e.source.clone()]);
    }
    section(out, "External cells:", &cells)?;
    let mut tools = Table::new(2);
    for t in &inv.required_tools {
        tools.row([
            t.binary.clone(),
            t.nix.clone(),
            t.platform.clone().unwrap_or_else(|| "all".into()),
            t.why.clone(),
        ]);
    }
    section(out, "Required tools (from PATH once rewritten):", &tools)?;
    print_notices(&inv.version_drift, &inv.warnings, out)
}

/// Version drift and warnings, after everything else and before the summary line.
pub(super) fn print_notices(
    drift: &[Drift],
    warnings: &[String],
    out: &mut impl Write,
) -> std::io::Result<()> {
    if !drift.is_empty() || !warnings.is_empty() {
        writeln!(out)?;
    }
    for d in drift {
        writeln!(out, "{} {}", paint(style::WARN, "drift:"), d.message)?;
        writeln!(out, "  {} {}", paint(style::HINT, "fix:"), d.fix)?;
    }
    for w in warnings {
        writeln!(out, "{} {w}", paint(style::WARN, "warning:"))?;
    }
    Ok(())
}

/// The last line of `scan`: what the rewrite is about to do, in one sentence.
fn summary(inv: &Inventory) -> String {
    let hermetic = inv
        .targets
        .iter()
        .filter(|t| t.status == inventory::Status::Hermetic)
        .count();
    let archives: usize = inv.distributions.iter().map(|d| d.artifacts.len()).sum();
    let left = inv.downloads_left.len();
    if hermetic == 0 && inv.distributions.is_empty() && left > 0 {
        return format!(
            "{} left that si-nixify cannot rewrite (see the warnings); {} from PATH",
            count(left, "download", "downloads"),
            count(inv.required_tools.len(), "tool", "tools")
        );
    }
    if hermetic == 0 && inv.distributions.is_empty() {
        return format!(
            "{} already on system toolchains; {} from PATH",
            inv.toolchains_file.display(),
            count(inv.required_tools.len(), "tool", "tools")
        );
    }
    format!(
        "{} to rewrite, {} ({}) to delete, {} needed from PATH; see `si-nixify generate --dry-run`",
        count(hermetic, "toolchain", "toolchains"),
        count(inv.distributions.len(), "distribution", "distributions"),
        count(archives, "archive", "archives"),
        count(inv.required_tools.len(), "tool", "tools")
    ) + &match left {
        0 => String::new(),
        n => format!(
            "; {} it cannot rewrite (see the warnings)",
            count(n, "download", "downloads")
        ),
    }
}

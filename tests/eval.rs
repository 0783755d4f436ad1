#![cfg(feature = "eval")]
//! Downloads found by evaluating build files with the `starlark` crate and recording
//! stand-ins for Buck2's globals (`si_nixify::downloads`): each fixture's README lists the
//! downloads asserted here, with URL, sha256 and the file:line a person edits.

mod common;

use std::path::{Path, PathBuf};

use si_nixify::downloads::{self, Download, Evaluated, Host, Options, Via};
use si_nixify::repo::Repo;

fn repo(fixture: &str) -> Repo {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture);
    Repo::open(dir.canonicalize().unwrap()).unwrap()
}

fn evaluate_with(fixture: &str, options: &Options) -> Evaluated {
    let repo = repo(fixture);
    let files = downloads::cell_build_files(&repo, &repo.toolchains_dir());
    let found = downloads::downloads(&repo, &files, options);
    if let Some((file, e)) = found.failed.first() {
        panic!("{fixture}: {} did not evaluate: {e}", file.display());
    }
    found
}

fn evaluate(fixture: &str) -> Evaluated {
    evaluate_with(fixture, &Options::default())
}

fn find<'a>(found: &'a Evaluated, label: &str) -> &'a Download {
    found
        .downloads
        .iter()
        .find(|d| d.label == label)
        .unwrap_or_else(|| {
            let labels: Vec<&str> = found.downloads.iter().map(|d| d.label.as_str()).collect();
            panic!("no download {label}; found {labels:?}")
        })
}

/// Evaluate the toolchains cell of a repo written here: `.buckconfig` and the cell's files.
fn evaluate_repo(buckconfig: &str, files: &[(&str, &str)]) -> Evaluated {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join(".buckconfig"), buckconfig).unwrap();
    std::fs::write(root.join(".buckroot"), "").unwrap();
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let repo = Repo::open(root.canonicalize().unwrap()).unwrap();
    let files = downloads::cell_build_files(&repo, &repo.toolchains_dir());
    downloads::downloads(&repo, &files, &Options::default())
}

fn site(d: &Download) -> String {
    d.edit_at.to_string()
}

#[test]
fn release_table_macro_gives_one_download_per_row_at_the_macro_call() {
    let found = evaluate("release-table-macro");
    assert_eq!(found.downloads.len(), 3, "{:#?}", found.downloads);
    for (platform, triple, sha) in [
        (
            "x86_64-linux",
            "x86_64-unknown-linux-gnu",
            "923b7a2f994b4a3d7b37787036ab2f198b48b75d2352d85e6239059aeb55da8a",
        ),
        (
            "aarch64-linux",
            "aarch64-unknown-linux-gnu",
            "b943caac63e89f2710def9ac493faae8363c5e3db7cedd2987b656d76b888300",
        ),
        (
            "aarch64-macos",
            "aarch64-apple-darwin",
            "89d49e53fb4f02f0aa2aa29911ad209c9d6406434bb87c02cf9f60c8beb1bf2b",
        ),
    ] {
        let d = find(&found, &format!("toolchains//:rust-dist-{platform}"));
        assert_eq!(d.rule, "http_archive");
        assert_eq!(d.via, Via::Native);
        assert_eq!(
            d.urls,
            [format!(
                "https://static.rust-lang.org/dist/rust-1.92.0-{triple}.tar.xz"
            )]
        );
        assert_eq!(d.sha256.as_deref(), Some(sha));
        assert_eq!(
            d.strip_prefix.as_deref(),
            Some(format!("rust-1.92.0-{triple}").as_str())
        );
        assert_eq!(site(d), "toolchains/BUCK:6");
        assert_eq!(d.rule_call.to_string(), "toolchains/rust_releases.bzl:31");
        assert_eq!(d.used_by, [format!("toolchains//:rust-{platform}")]);
    }
    // The macro's other targets are recorded with their kinds, the alias's select as data.
    let alias = found
        .targets
        .iter()
        .find(|t| t.label == "toolchains//:rust")
        .unwrap();
    assert_eq!(alias.rule, "toolchain_alias");
    assert!(
        alias.attrs["actual"]["select"].is_object(),
        "{:?}",
        alias.attrs
    );
    let rules: Vec<&str> = found.targets.iter().map(|t| t.rule.as_str()).collect();
    assert_eq!(
        rules
            .iter()
            .filter(|r| **r == "_dist_rust_toolchain")
            .count(),
        3
    );
    assert!(rules.contains(&"system_python_bootstrap_toolchain"));
}

#[test]
fn http_archive_written_out_with_a_formatted_url() {
    let found = evaluate("http-archive-rust");
    assert_eq!(found.downloads.len(), 1);
    let d = find(&found, "toolchains//:rust-x86_64-linux");
    assert_eq!(
        d.urls,
        ["https://static.rust-lang.org/dist/rust-1.92.0-x86_64-unknown-linux-gnu.tar.xz"]
    );
    assert_eq!(
        d.sha256.as_deref(),
        Some("e78ac8fe1e92b9c26dbc192d80b5e2ba79e6c6b6e2a7dcf876064d66941be35e")
    );
    assert_eq!(site(d), "toolchains/BUCK:11");
    assert_eq!(d.used_by, ["toolchains//:rust"]);
}

#[test]
fn custom_rule_downloading_through_a_helper() {
    let found = evaluate("custom-download-rule");
    assert_eq!(found.downloads.len(), 1, "{:#?}", found.downloads);
    let d = find(&found, "toolchains//:node-dist");
    assert_eq!(d.rule, "node_dist");
    assert_eq!(
        d.via,
        Via::Rule {
            download_file: site_of("toolchains/node.bzl", 7)
        }
    );
    assert_eq!(
        d.sha256.as_deref(),
        Some("98399f0dfe962cda022ceca5960e66d82c393ffe76928267ac8433fb5392ad91")
    );
    assert_eq!(d.version.as_deref(), Some("22.11.0"));
    assert_eq!(site(d), "toolchains/BUCK:3");
    assert_eq!(d.used_by, ["toolchains//:node"]);
    // The toolchain rule that only reads the archive is no download.
    assert!(found.downloads.iter().all(|d| d.rule != "node_toolchain"));
}

#[test]
fn anon_target_download_is_the_toolchain_itself() {
    let found = evaluate("anon-target-download");
    assert_eq!(found.downloads.len(), 1);
    let d = find(&found, "toolchains//:deno");
    assert_eq!(
        d.via,
        Via::Rule {
            download_file: site_of("toolchains/deno.bzl", 5)
        }
    );
    assert_eq!(
        d.sha256.as_deref(),
        Some("9c4aa72c3ae85c3c3959927e35a1fac4c6a7d94f2183b9fb98da715fe5b65068")
    );
    assert_eq!(site(d), "toolchains/BUCK:3");
    assert_eq!(d.used_by, ["toolchains//:deno"]);
}

#[test]
fn dynamic_stage0_is_named_with_a_warning_and_its_data_file() {
    let found = evaluate("dynamic-stage0");
    assert_eq!(found.downloads.len(), 1);
    let d = find(&found, "toolchains//:stage0");
    assert!(d.dynamic());
    assert_eq!(
        d.via,
        Via::Dynamic {
            registered_at: site_of("toolchains/stage0.bzl", 19),
            download_file: site_of("toolchains/stage0.bzl", 16),
            data: vec![PathBuf::from("toolchains/stage0.txt")],
        }
    );
    assert!(d.urls.is_empty());
    assert_eq!(site(d), "toolchains/BUCK:3");
    assert!(
        found
            .warnings
            .iter()
            .any(|w| w.starts_with("toolchains/BUCK:3:") && w.contains("dynamic action")),
        "{:?}",
        found.warnings
    );
}

#[test]
fn era_2023_string_annotations_evaluate() {
    let found = evaluate("era-2023-eval");
    assert_eq!(found.downloads.len(), 1);
    let d = find(&found, "toolchains//:clang-dist");
    assert_eq!(d.urls, ["https://github.com/llvm/llvm-project/releases/download/llvmorg-16.0.4/clang+llvm-16.0.4-x86_64-linux-gnu-ubuntu-22.04.tar.xz"]);
    assert_eq!(
        d.sha256.as_deref(),
        Some("64c53248bf81ff573fdfc50cf26868aa8d48e94a93eea1dd3e7e5af31a4be384")
    );
    assert_eq!(
        d.via,
        Via::Rule {
            download_file: site_of("toolchains/clang_dist.bzl", 12)
        }
    );
    assert_eq!(site(d), "toolchains/BUCK:6");
    assert_eq!(d.used_by, ["toolchains//:cxx"]);
}

#[test]
fn zero_argument_macro_renamed_load_and_comprehension() {
    let found = evaluate("macro-fanout");
    let mut labels: Vec<&str> = found.downloads.iter().map(|d| d.label.as_str()).collect();
    labels.sort();
    assert_eq!(
        labels,
        [
            "toolchains//:serde-crate",
            "toolchains//:smoltar-aarch64-unknown-linux-musl",
            "toolchains//:smoltar-x86_64-unknown-linux-musl",
            "toolchains//:wasm_tools_dist",
            "toolchains//:wasm_tools_dist-adapter",
        ],
        "the unused helper and the unused rule must not be reported"
    );

    let wasm = find(&found, "toolchains//:wasm_tools_dist");
    assert_eq!(wasm.urls, ["https://github.com/bytecodealliance/wasm-tools/releases/download/v1.252.0/wasm-tools-1.252.0-x86_64-linux.tar.gz"]);
    assert_eq!(
        wasm.sha256.as_deref(),
        Some("097b1181d5b2bc3f2ebc44b4e72edf18308902023f1f1483a1a7dc1268ea988d")
    );
    assert_eq!(
        wasm.strip_prefix.as_deref(),
        Some("wasm-tools-1.252.0-x86_64-linux")
    );
    assert_eq!(site(wasm), "toolchains/BUCK:4");
    assert_eq!(wasm.rule_call.to_string(), "toolchains/tools.bzl:22");
    assert_eq!(wasm.used_by, ["toolchains//:wasm-tools"]);

    let adapter = find(&found, "toolchains//:wasm_tools_dist-adapter");
    assert_eq!(adapter.rule, "http_file");
    assert_eq!(site(adapter), "toolchains/BUCK:4");
    assert_eq!(adapter.rule_call.to_string(), "toolchains/tools.bzl:28");
    assert_eq!(
        adapter.sha256.as_deref(),
        Some("447b27d25221a12afd2c0732f7c150833aad9a2af42ae36ccff9270f4c7559bf")
    );
    assert!(adapter.used_by.is_empty());

    // `http_archive` in BUCK is the renamed `crate_download` macro, which calls the native rule.
    let serde = find(&found, "toolchains//:serde-crate");
    assert_eq!(serde.via, Via::Native);
    assert_eq!(
        serde.urls,
        ["https://static.crates.io/crates/serde/serde-1.0.219.crate"]
    );
    assert_eq!(site(serde), "toolchains/BUCK:6");
    assert_eq!(serde.rule_call.to_string(), "toolchains/crates.bzl:2");

    let smoltar = find(&found, "toolchains//:smoltar-x86_64-unknown-linux-musl");
    assert_eq!(
        smoltar.urls,
        ["https://github.com/thoughtpolice/smoltar/releases/download/v0/smoltar-x86_64-unknown-linux-musl"]
    );
    assert_eq!(
        smoltar.sha256.as_deref(),
        Some("3f727c5ada7a038f7e60afd003181779440fc11907cfece8a59c6be435ad3e67")
    );
    assert_eq!(site(smoltar), "toolchains/BUCK:16");
    assert_eq!(
        smoltar.via,
        Via::Rule {
            download_file: site_of("toolchains/tools.bzl", 15)
        }
    );
}

#[test]
fn host_info_answers_for_the_chosen_host() {
    let found = evaluate_with(
        "macro-fanout",
        &Options {
            host: Host {
                os: "macos".into(),
                arch: "aarch64".into(),
            },
        },
    );
    let wasm = find(&found, "toolchains//:wasm_tools_dist");
    assert_eq!(wasm.urls, ["https://github.com/bytecodealliance/wasm-tools/releases/download/v1.252.0/wasm-tools-1.252.0-aarch64-macos.tar.gz"]);
}

#[test]
fn fixtures_without_downloads_report_none() {
    let found = evaluate("system-only");
    assert!(found.downloads.is_empty(), "{:#?}", found.downloads);
    assert!(!found.targets.is_empty());
}

#[test]
fn errors_are_located_and_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".buckconfig"), "[cells]\nroot = .\n").unwrap();
    std::fs::create_dir(dir.path().join("toolchains")).unwrap();
    let repo = Repo::open(dir.path().canonicalize().unwrap()).unwrap();
    let cases = [
        ("x = 1\nfoo(\n", "toolchains/BUCK:3"),
        ("load(\":missing.bzl\", \"a\")\n", "toolchains/BUCK:1"),
        ("x = 1\ny = {}[\"k\"]\n", "toolchains/BUCK:2"),
        ("http_archive(urls = [])\n", "toolchains/BUCK:1"),
        ("def f():\n    return f()\n\nf()\n", "toolchains/BUCK:"),
    ];
    for (text, at) in cases {
        std::fs::write(dir.path().join("toolchains/BUCK"), text).unwrap();
        let found = downloads::downloads(
            &repo,
            &[PathBuf::from("toolchains/BUCK")],
            &Options::default(),
        );
        let (file, err) = found.failed.first().expect(text);
        assert_eq!(file, Path::new("toolchains/BUCK"));
        let shown = err.to_string();
        assert!(shown.starts_with(at), "{text:?} → {shown}");
    }
}

fn site_of(file: &str, line: usize) -> downloads::Site {
    downloads::Site {
        file: file.into(),
        line,
    }
}

/// Whether the cell at `dir` is read as written; if so, that it gives what evaluating it
/// gives, target for target and download for download.
fn read_as_written_matches_evaluation(dir: &Path) -> bool {
    use si_nixify::downloads::written;
    use si_nixify::read::Sources;
    let Ok(repo) = Repo::open(dir.canonicalize().unwrap()) else {
        return false;
    };
    let files = downloads::cell_build_files(&repo, &repo.toolchains_dir());
    if files.is_empty() {
        return false;
    }
    let Ok(sources) = Sources::read(&repo, &files) else {
        return false;
    };
    if written::evaluation(&repo, &sources).is_none() {
        return false;
    }
    let name = dir.display();
    let fast = downloads::of_sources(&repo, &sources, &Options::default());
    let slow = downloads::by_evaluation(&repo, &sources, &Options::default());
    assert!(slow.failed.is_empty(), "{name}: {:?}", slow.failed);
    assert!(!fast.targets.is_empty(), "{name}: no targets");
    assert_eq!(fast.targets, slow.targets, "{name}: targets differ");
    assert_eq!(fast.downloads, slow.downloads, "{name}: downloads differ");
    assert_eq!(fast.warnings, slow.warnings, "{name}: warnings differ");
    true
}

/// The cells read as written (no interpreter) must give what evaluating them gives; and the
/// reading must apply where it should, or the comparison would be empty.
#[test]
fn cells_read_as_written_match_their_evaluation() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut read_as_written = Vec::new();
    let mut evaluated = Vec::new();
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if read_as_written_matches_evaluation(&fixtures.join(&name)) {
            read_as_written.push(name);
        } else {
            evaluated.push(name);
        }
    }
    read_as_written.sort();
    evaluated.sort();
    println!("read as written: {read_as_written:?}\nevaluated: {evaluated:?}");
    // (With a buck2 named, the bundled prelude is read from it, and evaluated.)
    let bundled = std::env::var_os("SI_NIXIFY_BUCK2").is_none();
    let mut expected = vec![
        "system-only",
        "custom-download-rule",
        "anon-target-download",
        "dynamic-stage0",
    ];
    expected.extend(bundled.then_some("bundled-prelude"));
    for name in expected {
        assert!(
            read_as_written.iter().any(|n| n == name),
            "{name} was not read as written (evaluated: {evaluated:?})"
        );
    }
    // Macros (SI's `download_rust_distribution` is one), release tables and loops.
    for name in ["si-latest", "release-table-macro", "macro-fanout"] {
        assert!(
            evaluated.iter().any(|n| n == name),
            "{name} needs evaluating"
        );
    }
}

#[test]
fn the_global_names_a_written_call_is_checked_against_are_the_interpreters() {
    let mut theirs: Vec<String> = downloads::standins::globals()
        .names()
        .map(|n| n.as_str().to_owned())
        .collect();
    theirs.sort();
    let mut ours: Vec<String> = downloads::written::GLOBAL_NAMES
        .iter()
        .map(|n| (*n).to_owned())
        .collect();
    ours.sort();
    assert_eq!(ours, theirs);
}

/// What `generate --check` reads on a converted SI: system toolchains, written out.
#[test]
fn si_after_generate_is_read_as_written_and_matches_its_evaluation() {
    let dir = common::copy_fixture("si-latest");
    let out = common::run(dir.path(), &["generate", "--no-flake"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(read_as_written_matches_evaluation(dir.path()));
}

/// A macro that branches on `is_select()` (facebook/buck2-rustc-bootstrap's `defs.bzl`):
/// `+` for a select, `|` for a dict. Were `is_select` missing or always truthy, `dict + dict`
/// would fail and the file's downloads would go unseen.
#[test]
fn is_select_tells_a_select_from_a_dict() {
    let found = evaluate_repo(
        "[cells]\nroot = .\ntoolchains = toolchains\n",
        &[
            ("toolchains/defs.bzl", "def fetch(name, env, extra):\n    merged = env + extra if is_select(env) else env | extra\n    native.http_file(name = name, urls = [merged[\"URL\"]], sha256 = merged[\"SHA\"])\n"),
            ("toolchains/BUCK", "load(\":defs.bzl\", \"fetch\")\n\nfetch(name = \"tool\", env = {\"URL\": \"https://example.com/tool\"}, extra = {\"SHA\": \"00\"})\n"),
        ],
    );
    assert!(found.failed.is_empty(), "{:?}", found.failed);
    assert_eq!(
        find(&found, "toolchains//:tool").urls,
        ["https://example.com/tool"]
    );
}

/// The newest prelude's own BUCK files list `__internal__.sub_packages()` (buck2's
/// `prelude/utils/source_listing_impl.bzl`); iterating an opaque stand-in failed there, and
/// the file's downloads would have gone unseen with a warning.
#[test]
fn a_build_file_listing_its_sub_packages_evaluates() {
    let found = evaluate_repo(
        "[cells]\nroot = .\ntoolchains = toolchains\n",
        &[
            ("toolchains/listing.bzl", "def listing():\n    native.filegroup(name = \"listing\", srcs = [s + \":x\" for s in __internal__.sub_packages()])\n"),
            ("toolchains/BUCK", "load(\":listing.bzl\", \"listing\")\n\nlisting()\n\nhttp_file(name = \"tool\", urls = [\"https://example.com/tool\"], sha256 = \"00\")\n"),
        ],
    );
    assert!(found.failed.is_empty(), "{:?}", found.failed);
    assert_eq!(
        find(&found, "toolchains//:tool").urls,
        ["https://example.com/tool"]
    );
}

/// 2024 preludes name types as strings inside a subscript (`field([list["PluginKind"],
/// None], None)` in `prelude/decls/common.bzl`, which SI's toolchains reached until mid-2024):
/// today's `starlark` refuses them, and every download of a file loading it went unseen.
#[test]
fn a_type_named_by_a_string_in_a_subscript_evaluates() {
    let found = evaluate_repo(
        "[cells]\nroot = .\ntoolchains = toolchains\n",
        &[
            ("toolchains/decls.bzl", "Plugins = record(kinds = field([list[\"PluginKind\"], None], None), names = field(dict[str, \"X\"], {}))\n\ndef fetch(name):\n    native.http_file(name = name, urls = [\"https://example.com/\" + name], sha256 = \"00\")\n"),
            ("toolchains/BUCK", "load(\":decls.bzl\", \"fetch\")\n\nfetch(name = \"tool\")\n"),
        ],
    );
    assert!(found.failed.is_empty(), "{:?}", found.failed);
    assert_eq!(
        find(&found, "toolchains//:tool").urls,
        ["https://example.com/tool"]
    );
}

/// thoughtpolice/bucktools' rust rule merges attrs from the bundled prelude, which is not on
/// disk: `internal_tool_attrs | {…}`. The stand-in for what such a file gives is merged as
/// nothing, and the downloads of the file are seen.
#[test]
fn attrs_from_a_prelude_not_on_disk_merge_into_a_rule_definition() {
    let found = evaluate_repo(
        "[cells]\nroot = .\nprelude = prelude\ntoolchains = toolchains\n\n[external_cells]\nprelude = bundled\n",
        &[
            ("toolchains/defs.bzl", "load(\"@prelude//rust/tools:attrs.bzl\", \"internal_tool_attrs\")\n\ndef _impl(ctx):\n    return [DefaultInfo()]\n\nmy_rust = rule(impl = _impl, attrs = internal_tool_attrs | {\"toolchain\": attrs.exec_dep()})\n\ndef fetch(name):\n    native.http_file(name = name, urls = [\"https://example.com/\" + name], sha256 = \"00\")\n"),
            ("toolchains/BUCK", "load(\":defs.bzl\", \"fetch\", \"my_rust\")\n\nfetch(name = \"tool\")\n\nmy_rust(name = \"rust\", toolchain = \":tool\")\n"),
        ],
    );
    assert!(found.failed.is_empty(), "{:?}", found.failed);
    assert_eq!(
        find(&found, "toolchains//:tool").urls,
        ["https://example.com/tool"]
    );
}

/// cbarrete/pyo3_repro indexes the bundled prelude's zig `releases` table, not on disk:
/// the file still evaluates, the table's entries being values only Buck2 has.
#[test]
fn a_table_from_a_prelude_not_on_disk_can_be_indexed() {
    let found = evaluate_repo(
        "[cells]\nroot = .\nprelude = prelude\ntoolchains = toolchains\n\n[external_cells]\nprelude = bundled\n",
        &[
            ("toolchains/BUCK", "load(\"@prelude//toolchains/cxx/zig:releases.bzl\", \"releases\")\n\nhttp_archive(\n    name = \"zig_archive\",\n    sha256 = releases[\"0.12.0\"][\"x86_64-linux\"][\"shasum\"],\n    urls = [releases[\"0.12.0\"][\"x86_64-linux\"][\"tarball\"]],\n)\n\nhttp_file(name = \"tool\", urls = [\"https://example.com/tool\"], sha256 = \"00\")\n"),
        ],
    );
    assert!(found.failed.is_empty(), "{:?}", found.failed);
    find(&found, "toolchains//:zig_archive");
    assert_eq!(
        find(&found, "toolchains//:tool").urls,
        ["https://example.com/tool"]
    );
}

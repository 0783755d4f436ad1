//! Property test: random toolchains files built from a small grammar of SI-shaped rule calls,
//! loads, selects and comments. For each: no panic, the output parses, a second run changes
//! nothing, and no reference to a deleted distribution survives.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use si_nixify::inventory::Context;
use si_nixify::plan::rewrite;
use si_nixify::read::Module;
use si_nixify::repo::Repo;

const LOADS: &str = r#"load("@prelude//toolchains:genrule.bzl", "system_genrule_toolchain")
load("@prelude//toolchains:python.bzl", "system_python_bootstrap_toolchain", "system_python_toolchain")
load("@prelude-si//deno:toolchain.bzl", "deno_toolchain")
load("@prelude-si//rust:toolchain.bzl", "si_rust_toolchain")
load("@prelude-si//toolchains:clang_distribution.bzl", "download_clang_distribution", "hermetic_clang_toolchain")
load("@prelude-si//toolchains:deno_distribution.bzl", "download_deno_distribution")
load("@prelude-si//toolchains:python_distribution.bzl", "download_python_distribution", "hermetic_python_toolchain")
load("@prelude-si//toolchains:rust_distribution.bzl", "download_rust_distribution", "hermetic_rust_toolchain")
load(":toolchain.bzl", "toolchain_alias")
"#;

fn comment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z ]{0,20}".prop_map(|c| format!("# {c}\n")),
    ]
}

fn flag() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("-Copt-level=3".to_owned()),
        Just("-Clink-arg=-fuse-ld=lld".to_owned()),
        Just("-nostdlib++".to_owned()),
        Just("--rtlib=compiler-rt".to_owned()),
        Just("-lclang_rt.builtins".to_owned()),
        "-W[a-z]{1,8}".prop_map(|f| f),
    ]
}

/// A list of flags, one per line with optional comments, maybe plus a select on the OS.
fn flags() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((comment(), flag()), 0..4),
        prop::option::of(prop::collection::vec(flag(), 0..3)),
    )
        .prop_map(|(items, linux)| {
            let mut out = String::from("[\n");
            for (c, f) in items {
                out.push_str(&c.replace('#', "        #"));
                out.push_str(&format!("        \"{f}\",\n"));
            }
            out.push_str("    ]");
            if let Some(linux) = linux {
                let linux: Vec<String> = linux.iter().map(|f| format!("\"{f}\"")).collect();
                out.push_str(&format!(
                    " + select({{\n        \"DEFAULT\": [],\n        \"config//os:linux\": [{}],\n    }})",
                    linux.join(", ")
                ));
            }
            out
        })
}

fn runtime_flags() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![Just("\"-nostdlib++\""), Just("\"-lclang_rt.builtins\"")],
        0..3,
    )
    .prop_map(|f| format!("[{}]", f.join(", ")))
}

/// One statement, using distribution `d` (each family has one, named below).
fn statement(i: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        flags().prop_map(move |f| format!("hermetic_rust_toolchain(\n    name = \"rust_{i}\",\n    distribution = \":rust_dist\",\n    rustc_flags = {f},\n    visibility = [\"PUBLIC\"],\n)\n")),
        // binary_linker_flags only ever holds flags bound to the archive's runtime (anything
        // else there is refused on purpose: it cannot move to link_flags safely).
        (runtime_flags(), flags()).prop_map(move |(a, b)| format!("hermetic_clang_toolchain(\n    name = \"cxx_{i}\",\n    binary_linker_flags = {a},\n    distribution = \":clang\",\n    linker_flags = {b},\n)\n")),
        Just(format!("hermetic_python_toolchain(\n    name = \"python_{i}\",\n    distribution = \":python_dist\",\n)\n")),
        Just(format!("deno_toolchain(\n    name = \"deno_{i}\",\n    deno_exe = \"$(location :deno_dist-extraction)/toolchain/bin/deno\",\n)\n")),
        prop::bool::ANY.prop_map(move |with| format!(
            "si_rust_toolchain(\n    name = \"si_rust_{i}\",\n{}    visibility = [\"PUBLIC\"],\n)\n",
            if with { "    rust_dist = \":rust_dist\",\n" } else { "" }
        )),
        Just(format!("toolchain_alias(\n    name = \"alias_{i}\",\n    actual = select({{\"DEFAULT\": \":genrule_{i}\"}}),\n)\n\nsystem_genrule_toolchain(name = \"genrule_{i}\")\n")),
    ]
}

fn buck_file() -> impl Strategy<Value = String> {
    prop::collection::vec(comment(), 1..12).prop_flat_map(|comments| {
        let statements: Vec<_> = (0..comments.len()).map(statement).collect();
        (Just(comments), statements)
    })
    .prop_map(|(comments, statements)| {
        let mut out = String::from(LOADS);
        out.push_str("\ndownload_clang_distribution(name = \"clang\", version = \"20.1.0\")\n\ndownload_deno_distribution(\n    name = \"deno_dist\",\n    version = \"2.2.12\",\n)\n\ndownload_rust_distribution(name = \"rust_dist\", version = \"1.88.0\")\n\ndownload_python_distribution(name = \"python_dist\", version = \"3.13.6\")\n");
        for (c, s) in comments.iter().zip(statements) {
            out.push('\n');
            out.push_str(c);
            out.push_str(&s);
        }
        out
    })
}

fn context() -> Context {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/si-latest");
    let repo = Repo::open(root.canonicalize().unwrap()).unwrap();
    Context::load(repo).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn rewrite_parses_and_is_idempotent(text in buck_file()) {
        let base = context();
        let input = base.with_buck_text(text.clone()).expect("the grammar writes loadable files");
        let plan = rewrite(&input).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        Module::parse(Path::new("toolchains/BUCK"), plan.new.clone()).expect("output parses");
        for dead in ["download_", "hermetic_", ":rust_dist", ":deno_dist", ":clang\"", ":python_dist"] {
            prop_assert!(!plan.new.contains(dead), "`{}` survived in:\n{}", dead, plan.new);
        }
        let again = rewrite(&input.with_buck_text(plan.new.clone()).unwrap()).unwrap();
        prop_assert_eq!(&again.new, &plan.new, "second run changed the file");
    }
}

/// Fragments of Starlark around URLs and download calls, some of them near misses
/// (`http_`, `:/`), so that random joins hit the pre-filter's edges.
fn reference_text() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        Just("x = \""),
        Just("\""),
        Just("'"),
        Just("https:"),
        Just("http"),
        Just(":/"),
        Just("//"),
        Just("a.example/b"),
        Just("http_archive("),
        Just("http_"),
        Just("archive"),
        Just("file("),
        Just("remote_file(url = "),
        Just("ctx.actions.download_file("),
        Just("native."),
        Just(")"),
        Just(", "),
        Just("\n"),
        Just("# "),
        Just(" "),
    ];
    prop::collection::vec(fragment, 0..24).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// `scan --all` parses only files the byte pre-filter lets through: every file in which
    /// the parser finds a reference must be one of them.
    #[test]
    fn the_byte_prefilter_passes_every_file_with_a_reference(text in reference_text()) {
        use si_nixify::inventory::references::{in_module, may_hold_reference};
        if let Ok(module) = Module::parse(Path::new("BUCK"), text.clone()) {
            if !in_module(&module).is_empty() {
                prop_assert!(may_hold_reference(&text), "passed over:\n{}", text);
            }
        }
    }
}

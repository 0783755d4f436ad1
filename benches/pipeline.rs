//! `cargo bench`: read → plan → rewrite on the SI-shaped fixture, and `scan --all` over
//! generated trees of 1k, 10k and 100k BUCK/.bzl files (generated once into target/).

#[path = "../examples/gen_tree.rs"]
mod gen_tree;

use std::path::{Path, PathBuf};

use si_nixify::inventory::{all, Context};
use si_nixify::plan::rewrite;
use si_nixify::repo::Repo;

fn main() {
    divan::main();
}

fn repo(path: &Path) -> Repo {
    Repo::open(path.canonicalize().unwrap()).unwrap()
}

/// Everything `generate --dry-run --no-flake` does before printing: read the BUCK file and
/// every .bzl it loads, classify, plan, splice, re-parse the result.
#[divan::bench]
fn rewrite_si_latest() -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/si-latest");
    let ctx = Context::load(repo(&root)).unwrap();
    rewrite(&ctx).unwrap().new.len()
}

/// A generated tree of `n` files under target/bench-trees, made on first use.
fn tree(n: usize) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/bench-trees/{n}"));
    if !dir.join(".done").exists() {
        let _ = std::fs::remove_dir_all(&dir);
        gen_tree::generate(&dir, n).unwrap();
        std::fs::write(dir.join(".done"), "").unwrap();
    }
    dir
}

#[divan::bench(args = [1_000, 10_000, 100_000], sample_count = 5, sample_size = 1)]
fn scan_all(bencher: divan::Bencher, n: usize) {
    let repo = repo(&tree(n));
    bencher.bench(|| {
        all::scan(&repo, all::Parse::Candidates)
            .unwrap()
            .references
            .len()
    });
}

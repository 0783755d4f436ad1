//! A 50 MB toolchains/BUCK: generate finishes, and its peak memory grows in proportion to the
//! input (measured against a 5 MB file). A test binary of its own, so that getrusage's
//! RUSAGE_CHILDREN sees only these runs.

mod common;

use std::path::Path;

use common::{copy_fixture, read};

/// SI's BUCK followed by generated toolchains, one in ten of them hermetic, up to `bytes`.
fn big_buck(base: &str, bytes: usize) -> String {
    let mut out = String::with_capacity(bytes + 4096);
    out.push_str(base);
    let mut i = 0;
    while out.len() < bytes {
        if i % 10 == 0 {
            out.push_str(&format!(
                "hermetic_python_toolchain(\n    name = \"python_{i}\",\n    distribution = \":python_dist\",\n    visibility = [\"PUBLIC\"],\n)\n\n"
            ));
        } else {
            out.push_str(&format!(
                "system_genrule_toolchain(\n    name = \"genrule_{i}\",\n    # generated to make the file large ({i})\n    visibility = [\"PUBLIC\"],\n)\n\n"
            ));
        }
        i += 1;
    }
    out
}

/// Peak RSS in KiB of the largest child this process has waited for.
fn children_max_rss_kib() -> i64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage only writes the struct it is given.
    assert_eq!(
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) },
        0
    );
    usage.ru_maxrss
}

fn generate_dry_run(repo: &Path) {
    let out = common::run(repo, &["generate", "--dry-run", "--no-flake", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["changed"], true);
}

#[test]
fn fifty_megabytes_finish_in_memory_proportional_to_the_input() {
    let dir = copy_fixture("si-latest");
    let base = read(&dir.path().join("toolchains/BUCK"));
    let buck = dir.path().join("toolchains/BUCK");

    std::fs::write(&buck, big_buck(&base, 5 << 20)).unwrap();
    generate_dry_run(dir.path());
    let small = children_max_rss_kib();

    std::fs::write(&buck, big_buck(&base, 50 << 20)).unwrap();
    generate_dry_run(dir.path());
    let large = children_max_rss_kib();

    println!("peak RSS: 5 MB input {small} KiB, 50 MB input {large} KiB");
    let ratio = large as f64 / small as f64;
    // Ten times the input may take at most fifteen times the memory (linear, with slack for
    // the fixed start-up cost measured in the small run).
    assert!(ratio <= 15.0, "peak RSS grew {ratio:.1}x for 10x input");
    assert!(
        large < 40 * 50 * 1024,
        "peak RSS {large} KiB is over 40x the input"
    );
}

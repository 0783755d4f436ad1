//! Generates a Buck2 monorepo of N BUCK/.bzl files for `scan --all` benchmarks:
//! `cargo run --release --example gen_tree -- DIR N`. Files are 1–20 KB of ordinary rule
//! calls; about one in ten holds remote references (an `http_archive` or a URL literal). The
//! tree also has ignored directories (.gitignore and `[project] ignore`) that must be skipped.
//! Deterministic: the same N gives the same tree.

use std::fmt::Write as _;
use std::path::Path;

/// xorshift64*: reproducible sizes and shapes without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One file's text of roughly `size` bytes; `remote` files get download calls and URLs.
fn file_text(rng: &mut Rng, index: usize, size: usize, remote: bool, bzl: bool) -> String {
    let mut out = String::with_capacity(size + 512);
    if bzl {
        writeln!(out, "\"\"\"Macros for package {index}.\"\"\"\n").unwrap();
    } else {
        writeln!(out, "load(\"//build:defs.bzl\", \"lib\")\n").unwrap();
    }
    let mut n = 0;
    while out.len() < size {
        if remote && n % 7 == 3 {
            writeln!(
                out,
                "http_archive(\n    name = \"dep_{index}_{n}\",\n    sha256 = \"{:016x}{:016x}{:016x}{:016x}\",\n    urls = [\"https://mirror.example.invalid/pkg{index}/dep-{n}.tar.gz\"],\n)\n",
                rng.next(), rng.next(), rng.next(), rng.next()
            )
            .unwrap();
        } else if bzl {
            writeln!(
                out,
                "def lib_{n}(name, srcs = [], deps = []):\n    # Wraps a library with the package's defaults.\n    native.cxx_library(\n        name = name,\n        srcs = srcs,\n        deps = deps + [\"//base:base_{}\"],\n        visibility = [\"PUBLIC\"],\n    )\n",
                rng.below(100)
            )
            .unwrap();
        } else {
            let srcs: Vec<String> = (0..1 + rng.below(6))
                .map(|s| format!("\"src/file_{s}.cpp\""))
                .collect();
            writeln!(
                out,
                "lib(\n    name = \"target_{n}\",\n    srcs = [{}],\n    deps = [\"//pkg{}:target_{}\"],\n    visibility = [\"PUBLIC\"],\n)\n",
                srcs.join(", "),
                rng.below(1000),
                rng.below(50)
            )
            .unwrap();
        }
        n += 1;
    }
    if remote {
        writeln!(out, "DOCS = \"https://docs.example.invalid/pkg{index}\"").unwrap();
    }
    out
}

pub fn generate(dir: &Path, files: usize) -> std::io::Result<()> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ files as u64);
    std::fs::create_dir_all(dir.join("toolchains"))?;
    std::fs::write(dir.join(".buckroot"), "")?;
    std::fs::write(
        dir.join(".buckconfig"),
        "[cells]\nroot = .\ntoolchains = toolchains\n\n[project]\nignore = \\\n  third-party/vendor, \\\n  tmp\n",
    )?;
    std::fs::write(dir.join(".gitignore"), "/generated-out/\n")?;
    std::fs::write(
        dir.join("toolchains/BUCK"),
        "system_genrule_toolchain(\n    name = \"genrule\",\n)\n",
    )?;
    for i in 0..files {
        let bzl = i % 5 == 4;
        let rel = format!(
            "pkg{}/sub{}/{}",
            i / 100,
            i % 100 / 10,
            if bzl {
                format!("defs_{i}.bzl")
            } else {
                format!("p{i}/BUCK")
            }
        );
        let path = dir.join(&rel);
        std::fs::create_dir_all(path.parent().unwrap_or(dir))?;
        let size = 1024 + rng.below(19 * 1024) as usize;
        std::fs::write(&path, file_text(&mut rng, i, size, i % 10 == 0, bzl))?;
    }
    // Files a scan must skip: [project] ignore and .gitignore.
    for skipped in [
        "third-party/vendor/x/BUCK",
        "tmp/BUCK",
        "generated-out/BUCK",
    ] {
        let path = dir.join(skipped);
        std::fs::create_dir_all(path.parent().unwrap_or(dir))?;
        std::fs::write(
            path,
            "http_archive(name = \"skipped\", urls = [\"https://skipped.example.invalid\"])\n",
        )?;
    }
    Ok(())
}

#[allow(dead_code)]
fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(n)) = (args.next(), args.next().and_then(|n| n.parse().ok())) else {
        eprintln!("usage: gen_tree DIR N");
        std::process::exit(2);
    };
    if let Err(e) = generate(Path::new(&dir), n) {
        eprintln!("gen_tree: {e}");
        std::process::exit(1);
    }
}

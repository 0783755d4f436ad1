// mimalloc: the pipeline allocates many small AST nodes; the system allocator spent a third
// of `scan --all` in malloc/free (perf, benches/compare.sh). `no_thp`: its 1 GiB arena asked for
// transparent huge pages, and zeroing the first 2 MiB page was a fifth of a short `generate`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(si_nixify::cli::main());
}

// mimalloc: the pipeline allocates many small AST nodes; the system allocator spent a third
// of `scan --all` in malloc/free (perf, benches/compare.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(si_nixify::cli::main());
}

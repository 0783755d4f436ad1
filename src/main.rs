fn main() {
    std::process::exit(si_nixify::cli::main());
}

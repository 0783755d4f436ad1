# The shell for working on si-nixify: a Rust toolchain, and every tool the tests and the
# rewritten toolchains call (buck2, clang, lld, python3, deno), plus Nix tooling.
{ pkgs }:

pkgs.mkShell {
  packages = with pkgs; [
    cargo
    clippy
    rustc
    rustfmt
    buck2
    clang
    llvmPackages.lld
    python3
    deno
    bazel-buildtools
    actionlint
    hyperfine
    nixpkgs-fmt
    si-nixify
  ];
}

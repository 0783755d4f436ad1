# The shell for working on si-nixify: a Rust toolchain, and every tool the tests and the
# rewritten toolchains call (buck2, clang, the wrapped ld.lld, python3, deno), plus Nix tooling.
{ pkgs }:

pkgs.mkShell {
  packages = with pkgs; [
    cargo
    clippy
    rustc
    rustfmt
    buck2
    clang
    python3
    deno
    bazel-buildtools
    actionlint
    hyperfine
    nixfmt
    si-nixify
  ]
  # The wrapped ld.lld (-fuse-ld=lld on Linux): plain lld sets no RUNPATH (nixpkgs #24744).
  ++ lib.optionals stdenv.isLinux [ llvmPackages.bintools ];
}

# The si-nixify binary, built from Cargo.lock; the test suite runs in checkPhase with the real
# tools it drives (buildifier for the load lint, clang and lld for doctor's link probes).
# Shell completions and the man page are generated from the clap definitions by the built
# binary itself (hidden `completions` and `man` subcommands), so they never drift from the CLI.
{ lib, stdenv, rustPlatform, installShellFiles, bazel-buildtools, clang, lld }:

rustPlatform.buildRustPackage {
  pname = "si-nixify";
  version = (builtins.fromTOML (builtins.readFile ../Cargo.toml)).package.version;

  src = lib.cleanSourceWith {
    src = ../.;
    filter = path: _type:
      let name = baseNameOf path;
      in !(builtins.elem name [ "target" ".tools" ".git" "result" ]);
  };

  cargoLock.lockFile = ../Cargo.lock;
  # The Starlark interpreter that finds downloads made by macros (see Cargo.toml).
  buildFeatures = [ "eval" ];

  nativeBuildInputs = [ installShellFiles ];
  postInstall = lib.optionalString (stdenv.buildPlatform.canExecute stdenv.hostPlatform) ''
    installShellCompletion --cmd si-nixify \
      --bash <($out/bin/si-nixify completions bash) \
      --zsh <($out/bin/si-nixify completions zsh) \
      --fish <($out/bin/si-nixify completions fish)
    $out/bin/si-nixify man > si-nixify.1
    for sub in scan generate doctor clean; do
      $out/bin/si-nixify man $sub > si-nixify-$sub.1
    done
    installManPage si-nixify*.1
  '';

  nativeCheckInputs = [ bazel-buildtools clang lld ];
  SI_NIXIFY_BUILDIFIER = "${bazel-buildtools}/bin/buildifier";

  meta = {
    description = "Rewrite Buck2 download toolchains into system toolchains backed by a Nix devshell";
    mainProgram = "si-nixify";
    license = with lib.licenses; [ mit asl20 ];
  };
}

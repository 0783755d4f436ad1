# The si-nixify binary, built from Cargo.lock; the test suite runs in checkPhase with the real
# tools it drives (buildifier for the load lint, clang and lld for doctor's link probes).
{ lib, rustPlatform, bazel-buildtools, clang, lld }:

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

  nativeCheckInputs = [ bazel-buildtools clang lld ];
  SI_NIXIFY_BUILDIFIER = "${bazel-buildtools}/bin/buildifier";

  meta = {
    description = "Rewrite Buck2 download toolchains into system toolchains backed by a Nix devshell";
    mainProgram = "si-nixify";
    license = with lib.licenses; [ mit asl20 ];
  };
}

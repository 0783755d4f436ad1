{
  description = "An older SI-like devshell: one plain package list (written for si-nixify's tests)";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixpkgs-unstable";

  outputs = { self, nixpkgs }:
    let
      system = "x86_64-linux";
      pkgs = nixpkgs.legacyPackages.${system};
    in
    {
      devShells.${system}.default = pkgs.mkShell {
        packages = [
          pkgs.buck2
          pkgs.rustc
          pkgs.python3
          pkgs.clang
          pkgs.llvmPackages.bintools
          pkgs.clippy
          pkgs.deno
          pkgs.rustfmt
        ];
      };
    };
}

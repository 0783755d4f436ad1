{
  description = "Development environment shaped like System Initiative's (written for si-nixify's tests)";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixpkgs-unstable";
    flake-utils.url = "github:numtide/flake-utils";
    rust-overlay = {
      url = "github:oxalica/rust-overlay";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs = {
    nixpkgs,
    flake-utils,
    rust-overlay,
    ...
  }:
    flake-utils.lib.eachDefaultSystem (system: let
      overlays = [
        (import rust-overlay)
      ];

      pkgs = import nixpkgs {inherit overlays system;};

      # Rust follows the repo's rust-toolchain file.
      rustVersion = pkgs.rust-bin.fromRustupToolchainFile ./rust-toolchain;
      rust-toolchain = rustVersion.override {
        extensions = ["clippy" "rust-src"];
      };

      buck2NativeBuildInputs = with pkgs;
        [
          buck2
          deno
          gitMinimal
          nodejs
          python3
          ripgrep
          rust-toolchain
          taplo
          rustfmt
          cargo-sort
        ]
        ++ lib.optionals pkgs.stdenv.isDarwin [
          pkgs.darwin.sigtool
        ];

      buck2BuildInputs = with pkgs;
        []
        ++ lib.optionals pkgs.stdenv.isLinux [
          clang
          glibc
          llvmPackages.libclang.lib
          llvmPackages.bintools
        ]
        ++ lib.optionals pkgs.stdenv.isDarwin [
          libiconv
        ];
    in
      with pkgs; {
        devShells.default = mkShell {
          packages =
            [
              jq
              shellcheck
            ]
            ++ buck2NativeBuildInputs
            ++ buck2BuildInputs;
        };

        formatter = alejandra;
      });
}

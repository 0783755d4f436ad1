{
  description = "si-nixify: rewrite Buck2 download toolchains into system toolchains backed by a Nix devshell";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixpkgs-unstable";

  outputs = { self, nixpkgs }:
    let
      # No x86_64-darwin: nixpkgs drops it in 26.11 and buck2 is not packaged for it, so
      # `nix flake check` would fail there.
      systems = [ "x86_64-linux" "aarch64-linux" "aarch64-darwin" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f (import nixpkgs {
        inherit system;
        overlays = [ self.overlays.default ];
      }));
    in
    {
      # `lib.toolchainPackages pkgs { all = [ "clang" ]; linux = [ "llvmPackages.bintools" ]; }`:
      # the function the generated nix/buck2-toolchains.nix files use.
      lib = import ./nix/lib.nix;

      overlays.default = final: _prev: {
        si-nixify = final.callPackage ./nix/package.nix { };
      };

      packages = forAllSystems (pkgs: {
        default = pkgs.si-nixify;
        si-nixify = pkgs.si-nixify;
      });

      apps = forAllSystems (pkgs: {
        default = {
          type = "app";
          program = "${pkgs.si-nixify}/bin/si-nixify";
          meta.description = "Rewrite Buck2 download toolchains into system toolchains backed by a Nix devshell";
        };
      });

      devShells = forAllSystems (pkgs: {
        default = import ./nix/devshell.nix { inherit pkgs; };
      });

      templates.default = {
        path = ./nix/template;
        description = "A Buck2 repo on the prelude's system toolchains, with a devshell that provides them";
      };

      checks = forAllSystems (pkgs: import ./nix/checks.nix { inherit pkgs; });

      # nixfmt, the official Nix formatter (nixpkgs-fmt is archived upstream).
      formatter = forAllSystems (pkgs: pkgs.nixfmt);
    };
}

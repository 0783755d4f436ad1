{
  description = "Buck2 devshell with the tools the system toolchains call (written by si-nixify)";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixpkgs-unstable";

  outputs = { self, nixpkgs }:
    let
      # No x86_64-darwin: nixpkgs drops it in 26.11 and buck2 is not packaged for it, so
      # `nix flake check` would fail there.
      systems = [ "x86_64-linux" "aarch64-linux" "aarch64-darwin" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [ pkgs.buck2 ] ++ import ./nix/buck2-toolchains.nix { inherit pkgs; };
        };
      });
    };
}

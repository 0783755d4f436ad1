{
  description = "A devshell that already provides every tool (written for si-nixify's tests)";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixpkgs-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-darwin" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = with pkgs; [
            buck2
            clang
            clippy
            deno
            python3
            rustc
          ] ++ pkgs.lib.optionals pkgs.stdenv.isLinux [ pkgs.llvmPackages.bintools ];
        };
      });
    };
}

# Functions shared by si-nixify's flake and the nix/buck2-toolchains.nix files it generates.
# Only builtins are used, so this evaluates without nixpkgs (and so can be tested without it).
rec {
  # "llvmPackages.lld" -> pkgs.llvmPackages.lld
  getPackage = pkgs: path:
    builtins.foldl' (set: name: builtins.getAttr name set) pkgs
      (builtins.filter builtins.isString (builtins.split "\\." path));

  # The packages a Buck2 repo's system toolchains call from PATH: `all` on every platform,
  # `linux` and `darwin` only on those.
  toolchainPackages = pkgs: { all ? [ ], linux ? [ ], darwin ? [ ] }:
    let
      platform = pkgs.stdenv.hostPlatform or pkgs.stdenv;
      onLinux = platform.isLinux or false;
      onDarwin = platform.isDarwin or false;
      wanted = all ++ (if onLinux then linux else [ ]) ++ (if onDarwin then darwin else [ ]);
    in
    map (getPackage pkgs) wanted;
}

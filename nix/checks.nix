# `nix flake check`: the package builds (its tests run in checkPhase), and the tool finds a
# fixture that is already on system toolchains up to date, and rewrites one that is not.
{ pkgs }:

{
  package = pkgs.si-nixify;

  generate-check = pkgs.runCommand "si-nixify-generate-check" { nativeBuildInputs = [ pkgs.si-nixify ]; } ''
    cp -r ${../tests/fixtures} fixtures
    chmod -R u+w fixtures
    si-nixify --repo fixtures/system-only generate --check
    si-nixify --repo fixtures/si-latest generate
    si-nixify --repo fixtures/si-latest generate --check
    touch $out
  '';
}

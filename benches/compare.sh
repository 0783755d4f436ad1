#!/usr/bin/env bash
# Side-by-side timings of whole processes in one run, printed as a table:
#   1. `si-nixify generate` on a copy of the SI-shaped fixture, the flake included (read, checked
#      for the tools), vs buildozer applying the same BUCK edits
#      (benches/buildozer-si-latest.txt) — no slower (ratio <= 1.0), stretch <= 0.5; the same
#      with --no-flake is printed beside it;
#   2. `si-nixify scan --all --json` vs `rg -n 'https?://|download_file|http_archive'` over a
#      generated 10k-file tree — target ratio <= 2.0;
#   3. scan --all at 1k / 10k / 100k files: time per file (within 1.5x across sizes) and peak
#      RSS (100k <= 2x 1k).
#   4. with SI_NIXIFY_SI_TREE=DIR (a checkout of systeminit/si, not shipped here): scan --all
#      --json vs the same rg over that tree — target ratio <= 2.0.
# Needs: hyperfine, ripgrep, GNU time (Debian), buildozer (npm) — installed here if missing.
# Usage: bash benches/compare.sh [--quick]   (--quick: 1k and 10k only, fewer runs)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=false; [ "${1:-}" = "--quick" ] && quick=true

bash .ci/install >/dev/null
need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v rg >/dev/null || need+=(ripgrep)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
# shellcheck disable=SC1091
. .tools/env
cargo build --release --quiet --features eval --bin si-nixify --example gen_tree
bin="$PWD/target/release/si-nixify"
gen="$PWD/target/release/examples/gen_tree"
work=$(mktemp -d)
trees="$PWD/target/bench-trees"
trap 'rm -rf "$work"' EXIT

runs=20; [ "$quick" = true ] && runs=5
sizes=(1000 10000 100000); [ "$quick" = true ] && sizes=(1000 10000)
for n in "${sizes[@]}"; do
  [ -e "$trees/$n/.done" ] || { rm -rf "$trees/$n"; "$gen" "$trees/$n" "$n"; touch "$trees/$n/.done"; }
done

fixture="$work/si-latest"
reset="rm -rf $fixture && cp -rL tests/fixtures/si-latest $fixture"
hyperfine --style none --warmup 3 --runs "$runs" --export-json "$work/edit.json" \
  --prepare "$reset" -n si-nixify "$bin --repo $fixture generate" \
  --prepare "$reset" -n si-nixify-no-flake "$bin --repo $fixture generate --no-flake" \
  --prepare "$reset" -n buildozer "cd $fixture/toolchains && $SI_NIXIFY_BUILDOZER -f $PWD/benches/buildozer-si-latest.txt" \
  >/dev/null

hyperfine --style none --warmup 2 --runs "$runs" --export-json "$work/scan.json" \
  -n si-nixify "$bin --repo $trees/10000 scan --all --json" \
  -n rg "rg -n 'https?://|download_file|http_archive' $trees/10000" \
  >/dev/null

si_tree="${SI_NIXIFY_SI_TREE:-}"
if [ -n "$si_tree" ]; then
  hyperfine --style none --warmup 2 --runs "$runs" --export-json "$work/si.json" \
    -n si-nixify "$bin --repo $si_tree scan --all --json" \
    -n rg "rg -n 'https?://|download_file|http_archive' $si_tree" \
    >/dev/null
fi

for n in "${sizes[@]}"; do
  hyperfine --style none --warmup 1 --runs 3 --export-json "$work/size-$n.json" "$bin --repo $trees/$n scan --all --json" >/dev/null
  /usr/bin/time -f "%M" -o "$work/rss-$n" "$bin" --repo "$trees/$n" scan --all --json >/dev/null
done

python3 - "$work" "${sizes[@]}" <<'PY'
import json, sys
work, sizes = sys.argv[1], [int(s) for s in sys.argv[2:]]
# Medians: on a shared machine one slow run (another process, a page-cache flush) moves a mean
# of 5 ms runs by more than the difference measured.
def medians(name):
    return {r["command"]: r["median"] for r in json.load(open(f"{work}/{name}.json"))["results"]}
def verdict(ok): return "met" if ok else "NOT met"
edit = medians("edit"); scan = medians("scan")
print(f"{'comparison':<48} {'si-nixify':>11} {'other':>11} {'ratio':>7}  target")
r = edit["si-nixify"] / edit["buildozer"]
print(f"{'generate vs buildozer (SI fixture, flake too)':<48} {edit['si-nixify']*1e3:>9.2f}ms {edit['buildozer']*1e3:>9.2f}ms {r:>7.2f}  <= 1.0 {verdict(r <= 1.0)} (stretch <= 0.5 {verdict(r <= 0.5)})")
r = edit["si-nixify-no-flake"] / edit["buildozer"]
print(f"{'generate --no-flake vs buildozer (SI fixture)':<48} {edit['si-nixify-no-flake']*1e3:>9.2f}ms {edit['buildozer']*1e3:>9.2f}ms {r:>7.2f}")
r = scan["si-nixify"] / scan["rg"]
print(f"{'scan --all --json vs rg (10k files)':<48} {scan['si-nixify']*1e3:>9.2f}ms {scan['rg']*1e3:>9.2f}ms {r:>7.2f}  <= 2.0 {verdict(r <= 2.0)}")
import os
if os.path.exists(f"{work}/si.json"):
    si = medians("si")
    r = si["si-nixify"] / si["rg"]
    print(f"{'scan --all --json vs rg (SI checkout)':<48} {si['si-nixify']*1e3:>9.2f}ms {si['rg']*1e3:>9.2f}ms {r:>7.2f}  <= 2.0 {verdict(r <= 2.0)}")
print()
print(f"{'files':>8} {'scan --all':>12} {'per file':>12} {'peak RSS':>10}")
per, rss = {}, {}
for n in sizes:
    t = list(medians(f"size-{n}").values())[0]
    per[n] = t / (n + 1)
    rss[n] = int(open(f"{work}/rss-{n}").read().strip())
    print(f"{n:>8} {t*1e3:>10.1f}ms {per[n]*1e6:>10.1f}us {rss[n]/1024:>8.1f}MB")
lo, hi = min(per.values()), max(per.values())
print(f"time per file across sizes: max/min {hi/lo:.2f}  (<= 1.5 {verdict(hi/lo <= 1.5)})")
big, small = max(sizes), min(sizes)
print(f"peak RSS {big} vs {small} files: {rss[big]/rss[small]:.2f}x  (<= 2.0 {verdict(rss[big]/rss[small] <= 2.0)})")
PY

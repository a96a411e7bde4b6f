#!/usr/bin/env bash
# bench-repomap.sh — one-off measurement (not a test) of the repository map: a cold build
# from the object database versus a cache hit, on a generated repository.
#
# Generates a deterministic repository (fixed seed) of BENCH_FILES files (default 20,000):
# source files in eight languages with top-level definitions among indented bodies, some
# docs and config, a vendored node_modules/ tree and a few binary assets, committed once.
# Then, ROUNDS times each (default 5), with `orch debug repo-map HEAD` (which prints the
# rendered map and reports on stderr what mapping cost):
#   cold: the cache file removed first, so the map is built from the object database;
#   hit:  the cache file present, so the map is loaded from <common_dir>/orch/maps/.
# The objects are loose unless BENCH_GC=1 packs them; a cold build reads every source blob, so
# packing matters. Prints the medians of orch's own timing (map time, without process start) and of the wall
# time of the whole command. All numbers are warm (page cache); other load on the machine
# skews them, so the load average is printed too.
#
# Usage: scripts/bench-repomap.sh [ROUNDS]
#   BENCH_FILES=N         number of files (default 20000)
#   BENCH_PROFILE=debug   measure a debug build instead of a release build
#   BENCH_GC=1            `git gc` the generated repository (packed objects) before measuring
#   BENCH_KEEP=1          keep the temp dir (its path is printed)
set -euo pipefail
shopt -s inherit_errexit

readonly SEED=20261127

rounds="${1:-5}"
if ! [[ "$rounds" =~ ^[1-9][0-9]*$ ]]; then
  echo "bench-repomap: ROUNDS must be a positive integer, got '$rounds'" >&2
  exit 2
fi
files="${BENCH_FILES:-20000}"
profile="${BENCH_PROFILE:-release}"
case "$profile" in
  release) build_args=(--release) ;;
  debug) build_args=() ;;
  *)
    echo "bench-repomap: BENCH_PROFILE must be release or debug, got '$profile'" >&2
    exit 2
    ;;
esac

# shellcheck source=scripts/bench-lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/bench-lib.sh"
bench_setup map
orch="$root/target/$profile/orch"
repo="$tmp/big"

echo "bench-repomap: building orch ($profile)"
(cd -- "$root" && cargo build "${build_args[@]}" --quiet)

bench_hermetic_git

echo "bench-repomap: generating $files files in $repo"
mkdir -p "$repo"
git -C "$repo" init -q -b main
python3 - "$repo" "$files" "$SEED" <<'PY'
import os
import random
import sys

out, files, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
WORDS = ("ledger account balance entry posting tenant audit config route handler request "
         "response error result index cursor batch value key store cache").split()

def ident():
    return "_".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 3)))

def cap(name):
    return "".join(p.capitalize() for p in name.split("_"))

def body(indent, n):
    return "".join(f"{indent}{' '.join(rng.choice(WORDS) for _ in range(rng.randrange(2, 9)))}\n"
                   for _ in range(n))

# One generator per language: a top-level definition and its indented body.
def rust():
    k = rng.randrange(4)
    n = ident()
    if k == 0: return f"pub fn {n}() {{\n" + body("    ", rng.randrange(3, 15)) + "}\n"
    if k == 1: return f"pub struct {cap(n)} {{\n" + body("    ", rng.randrange(2, 6)) + "}\n"
    if k == 2: return f"impl {cap(n)} {{\n" + body("    ", rng.randrange(3, 20)) + "}\n"
    return f"pub enum {cap(n)} {{\n" + body("    ", 3) + "}\n"
def python():
    n = ident()
    if rng.random() < 0.3: return f"class {cap(n)}:\n" + body("    ", rng.randrange(3, 15))
    return f"def {n}(x):\n" + body("    ", rng.randrange(3, 12))
def ts():
    n = ident()
    k = rng.randrange(3)
    if k == 0: return f"export function {n}() {{\n" + body("  ", rng.randrange(3, 12)) + "}\n"
    if k == 1: return f"export interface {cap(n)} {{\n" + body("  ", 4) + "}\n"
    return f"export class {cap(n)} {{\n" + body("  ", rng.randrange(3, 12)) + "}\n"
def go():
    n = cap(ident())
    if rng.random() < 0.3: return f"type {n} struct {{\n" + body("\t", 4) + "}\n"
    return f"func (r *Repo) {n}() error {{\n" + body("\t", rng.randrange(3, 12)) + "}\n"
def java():
    return f"public class {cap(ident())} {{\n" + body("        ", rng.randrange(5, 20)) + "}\n"
def c():
    n = ident()
    return f"int {n}(const char *s)\n{{\n" + body("    ", rng.randrange(3, 12)) + "}\n"
def ruby():
    return f"def {ident()}\n" + body("  ", rng.randrange(2, 8)) + "end\n"
def shell():
    return f"{ident()}() {{\n" + body("  ", rng.randrange(2, 8)) + "}\n"

LANGS = [(".rs", rust), (".py", python), (".ts", ts), (".go", go), (".java", java),
         (".c", c), (".rb", ruby), (".sh", shell)]
TOP = ["core", "api", "web", "infra", "tools", "libs", "services"]
leaves = [f"{t}/mod_{a:02d}/pkg_{b}" for t in TOP for a in range(10) for b in range(6)]

vendored = files // 20
assets = 50
docs = files // 10
sources = files - vendored - assets - docs

def write(rel, text):
    path = os.path.join(out, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)

for i in range(sources):
    ext, gen = LANGS[rng.randrange(len(LANGS))]
    write(f"{leaves[i % len(leaves)]}/file_{i:05d}{ext}",
          "".join(gen() + "\n" for _ in range(rng.randrange(2, 25))))
for i in range(docs):
    write(f"docs/section_{i % 40:02d}/page_{i:05d}.md", body("", rng.randrange(5, 60)))
for i in range(vendored):
    write(f"node_modules/pkg_{i % 50:02d}/lib/file_{i:05d}.js",
          "".join(ts() for _ in range(rng.randrange(2, 10))))
for i in range(assets):
    path = os.path.join(out, f"assets/img_{i:03d}.png")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(rng.randbytes(rng.randrange(20_000, 200_000)))
PY
git -C "$repo" add -A
git -C "$repo" commit -q -m "Generated tree"
if [[ "${BENCH_GC:-0}" == 1 ]]; then
  git -C "$repo" gc -q
fi
count=$(git -C "$repo" ls-files | wc -l)
tree=$(git -C "$repo" rev-parse 'HEAD^{tree}')
cache="$repo/.git/orch/maps/$tree.json"

now() { date +%s%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2); if (NR % 2) print v[m]; else printf "%.1f\n", (v[m] + v[m + 1]) / 2 }'; }

# run_map <expected: built|cache hit> -> "map_ms wall_ms"
run_map() {
  local t0 t1 report
  t0=$(now)
  report=$("$orch" -C "$repo" debug repo-map HEAD 2>&1 >"$tmp/map.txt")
  t1=$(now)
  if [[ "$report" != "repo-map: $1 "* ]]; then
    echo "bench-repomap: expected '$1', orch said: $report" >&2
    exit 1
  fi
  local map_ms
  map_ms=$(sed -E 's/.* in ([0-9.]+) ms, rendered.*/\1/' <<<"$report")
  echo "$map_ms $(ms "$t0" "$t1")"
}

echo "bench-repomap: warm-up"
rm -f -- "$cache"
run_map built >/dev/null
echo "bench-repomap: $(head -1 "$tmp/map.txt")"
echo "bench-repomap: cache file $(du -k "$cache" | cut -f1) KB"

load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
cold_map=() cold_wall=() hit_map=() hit_wall=()
for ((n = 1; n <= rounds; n++)); do
  rm -f -- "$cache"
  read -r cm cw <<<"$(run_map built)"
  read -r hm hw <<<"$(run_map "cache hit")"
  cold_map+=("$cm") cold_wall+=("$cw") hit_map+=("$hm") hit_wall+=("$hw")
  printf 'round %d: cold %s ms (wall %s) | hit %s ms (wall %s)\n' "$n" "$cm" "$cw" "$hm" "$hw"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")

echo
echo "load average: $load_before before, $load_after after"
echo "medians over $rounds rounds ($count files, $profile build):"
printf '  %-10s %12s %12s\n' "" "map (ms)" "wall (ms)"
printf '  %-10s %12s %12s\n' "cold" "$(median "${cold_map[@]}")" "$(median "${cold_wall[@]}")"
printf '  %-10s %12s %12s\n' "cache hit" "$(median "${hit_map[@]}")" "$(median "${hit_wall[@]}")"

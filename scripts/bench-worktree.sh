#!/usr/bin/env bash
# bench-worktree.sh — benchmark (not a test) of orch's worktree lifecycle against git's.
#
# Generates a deterministic repository (fixed seed) of ~60,000 files / ~247 MB: ~59,600
# small source-like text files in a 4-5 level tree (a few executable, a few symlinks) and
# 400 larger binary assets, committed once on `main` with a fixed identity and date (so the
# objects are loose unless BENCH_GC=1 packs them). Builds orch in release mode, warms the
# page cache with one untimed round (which also checks that orch's worktree is clean by
# `git status`), then runs ROUNDS interleaved rounds (default 5) of, side by side:
#   (a) git worktree add -q <path> -b <branch> HEAD; git worktree remove <path>;
#       git branch -D <branch>
#   (b) orch debug worktree-add M1 X-<n>; orch debug worktree-remove M1 X-<n>
#       (orch keeps the issue branch by design; it is deleted untimed afterwards)
# and then, apart from the worktree rounds (whose mass file deletion slows whatever runs
# right after it), STATUS_PAIRS interleaved pairs (default 11) of
#   (c) git status --porcelain  vs  orch verify-clean   (in the clean main worktree),
# alternating which goes first. It prints the medians and the ratios orch / git, and for (c)
# also the median of the per-pair ratios, which drifting load skews less. Timing is `date +%s%N` around each
# command; the page cache cannot be dropped without root, so every number is warm. Both
# sides are mostly CPU-bound, so other load on the machine skews them (orch spends more CPU
# than git in less wall time): the load average is printed before and after.
# Everything lives in one temp dir (under $TMPDIR), removed on exit. File systems matter:
# ext4 without a journal scans past recently freed inodes on every create, so repeated
# create/remove rounds inflate both sides' create times many-fold there; TMPDIR=/dev/shm
# (tmpfs) gives steadier numbers.
#
# Usage: scripts/bench-worktree.sh [ROUNDS]
#   BENCH_FILES=N   number of small files (default 59600; the 400 assets stay)
#   BENCH_GC=1      `git gc` the generated repository (packed objects) before measuring
#   BENCH_KEEP=1    keep the temp dir (its path is printed)
#   STATUS_PAIRS=N  pairs of git status / verify-clean runs (default 11)
set -euo pipefail
shopt -s inherit_errexit

readonly SEED=20260102
readonly ASSETS=400

rounds="${1:-5}"
if ! [[ "$rounds" =~ ^[1-9][0-9]*$ ]]; then
  echo "bench-worktree: ROUNDS must be a positive integer, got '$rounds'" >&2
  exit 2
fi
files="${BENCH_FILES:-59600}"
pairs="${STATUS_PAIRS:-11}"
if ! [[ "$pairs" =~ ^[1-9][0-9]*$ ]]; then
  echo "bench-worktree: STATUS_PAIRS must be a positive integer, got '$pairs'" >&2
  exit 2
fi

# shellcheck source=scripts/bench-lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/bench-lib.sh"
bench_setup wt
orch="$root/target/release/orch"
repo="$tmp/big"

# --- build orch (with the caller's environment) -----------------------------------------
echo "bench-worktree: building orch (release)"
(cd -- "$root" && cargo build --release --quiet)

# --- a hermetic git environment for everything below ------------------------------------
bench_hermetic_git

# --- generate the repository -------------------------------------------------------------
echo "bench-worktree: generating $files small files + $ASSETS assets in $repo"
mkdir -p "$repo"
git -C "$repo" init -q -b main
python3 - "$repo" "$files" "$ASSETS" "$SEED" <<'PY'
import os
import random
import sys

out, files, assets, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)

WORDS = ("let mut self return match impl struct enum fn pub use crate super where async await "
         "ledger account balance entry posting tenant audit config route handler request "
         "response error result option vec string map key value index cursor batch").split()
POOL = []
for _ in range(6000):
    indent = "    " * rng.randrange(0, 4)
    POOL.append(indent + " ".join(rng.choice(WORDS) for _ in range(rng.randrange(2, 12))))

TOP = ["core", "api", "web", "infra", "tools", "libs", "services", "docs"]
EXTS = [".rs", ".ts", ".py", ".go", ".md", ".toml", ".json", ".sh"]

# Leaf directories of depth 3-5 under a few top-level trees.
leaves = []
for top in TOP:
    for a in range(8):
        for b in range(6):
            base = f"{top}/mod_{a:02d}/pkg_{b}"
            if rng.random() < 0.5:
                leaves.extend(f"{base}/sub_{c}" for c in range(4))
            else:
                leaves.append(base)

written = []
for i in range(files):
    d = leaves[i % len(leaves)]
    ext = EXTS[rng.randrange(len(EXTS))]
    rel = f"{d}/file_{i:05d}{ext}"
    lines = max(3, int(rng.lognormvariate(3.6, 0.8)))
    body = "\n".join(rng.choices(POOL, k=lines)) + "\n"
    path = os.path.join(out, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(body)
    if ext == ".sh":
        os.chmod(path, 0o755)
    written.append(rel)

for i in range(assets):
    rel = f"assets/pack_{i % 10}/blob_{i:03d}.bin"
    path = os.path.join(out, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(rng.randbytes(rng.randrange(150_000, 350_000)))

# A few relative symlinks (to files and to a directory).
for i in range(40):
    target = written[rng.randrange(len(written))]
    rel = f"links/link_{i:02d}"
    path = os.path.join(out, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.symlink(os.path.relpath(os.path.join(out, target), os.path.dirname(path)), path)
os.symlink("../core", os.path.join(out, "links", "core_dir"))
PY
git -C "$repo" add -A
git -C "$repo" commit -q -m "Generated tree"
if [[ "${BENCH_GC:-0}" == 1 ]]; then
  git -C "$repo" gc -q
fi
count=$(git -C "$repo" ls-files | wc -l)
bytes=$(du -sb --exclude=.git "$repo" | cut -f1)
echo "bench-worktree: $count files, $((bytes / 1000000)) MB in the working tree"
if [[ -n "$(git -C "$repo" status --porcelain)" ]]; then
  echo "bench-worktree: the generated repository is not clean" >&2
  exit 1
fi

# --- measurement helpers -----------------------------------------------------------------
now() { date +%s%N; }
# ms <start> <end>: elapsed milliseconds with one decimal.
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2); if (NR % 2) print v[m]; else printf "%.1f\n", (v[m] + v[m + 1]) / 2 }'; }
ratio() { awk -v o="$1" -v g="$2" 'BEGIN { printf "%.2f", o / g }'; }

gitwt="$tmp/git-worktrees"
orchwt="$tmp/big.orch-worktrees"

git_round() { # git_round <n> -> "add_ms remove_ms"
  local path="$gitwt/G-$1" branch="bench/G-$1" t0 t1 t2
  t0=$(now)
  git -C "$repo" worktree add -q "$path" -b "$branch" HEAD
  t1=$(now)
  git -C "$repo" worktree remove "$path"
  git -C "$repo" branch -q -D "$branch"
  t2=$(now)
  echo "$(ms "$t0" "$t1") $(ms "$t1" "$t2")"
}

orch_round() { # orch_round <n> -> "add_ms remove_ms"
  local id="X-$1" t0 t1 t2
  t0=$(now)
  "$orch" -C "$repo" debug worktree-add M1 "$id" >/dev/null
  t1=$(now)
  "$orch" -C "$repo" debug worktree-remove M1 "$id" >/dev/null
  t2=$(now)
  git -C "$repo" branch -q -D "orch/M1/$id"
  echo "$(ms "$t0" "$t1") $(ms "$t1" "$t2")"
}

timed() { # timed <cmd...> -> elapsed ms (output discarded, failure fatal)
  local t0 t1
  t0=$(now)
  "$@" >/dev/null
  t1=$(now)
  ms "$t0" "$t1"
}

# --- warm-up (untimed), with a correctness check of orch's worktree ----------------------
echo "bench-worktree: warm-up"
git_round 0 >/dev/null
"$orch" -C "$repo" debug worktree-add M1 X-0 >/dev/null
dirty="$(git -C "$orchwt/M1/X-0" status --porcelain)"
if [[ -n "$dirty" ]]; then
  echo "bench-worktree: orch's worktree is not clean for git:" >&2
  echo "$dirty" | head -20 >&2
  exit 1
fi
"$orch" -C "$repo" debug worktree-remove M1 X-0 >/dev/null
git -C "$repo" branch -q -D "orch/M1/X-0"
git -C "$repo" status --porcelain >/dev/null
"$orch" -C "$repo" verify-clean >/dev/null

# --- interleaved rounds ------------------------------------------------------------------
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
git_add=() git_rm=() git_all=() orch_add=() orch_rm=() orch_all=() git_st=() orch_vc=() vc_ratio=()
for ((n = 1; n <= rounds; n++)); do
  # Alternate which side goes first, so neither always runs right after the other.
  if ((n % 2)); then
    g=$(git_round "$n")
    o=$(orch_round "$n")
  else
    o=$(orch_round "$n")
    g=$(git_round "$n")
  fi
  read -r ga gr <<<"$g"
  read -r oa or <<<"$o"
  git_add+=("$ga") git_rm+=("$gr") git_all+=("$(awk -v a="$ga" -v b="$gr" 'BEGIN { print a + b }')")
  orch_add+=("$oa") orch_rm+=("$or") orch_all+=("$(awk -v a="$oa" -v b="$or" 'BEGIN { print a + b }')")
  printf 'round %d: git add %s + remove %s ms | orch add %s + remove %s ms\n' \
    "$n" "$ga" "$gr" "$oa" "$or"
done
for ((n = 1; n <= pairs; n++)); do
  if ((n % 2)); then
    gs=$(timed git -C "$repo" status --porcelain)
    ov=$(timed "$orch" -C "$repo" verify-clean)
  else
    ov=$(timed "$orch" -C "$repo" verify-clean)
    gs=$(timed git -C "$repo" status --porcelain)
  fi
  git_st+=("$gs") orch_vc+=("$ov") vc_ratio+=("$(ratio "$ov" "$gs")")
  printf 'pair %d: git status %s ms | verify-clean %s ms\n' "$n" "$gs" "$ov"
done

m_ga=$(median "${git_add[@]}") m_gr=$(median "${git_rm[@]}") m_g=$(median "${git_all[@]}")
m_oa=$(median "${orch_add[@]}") m_or=$(median "${orch_rm[@]}") m_o=$(median "${orch_all[@]}")
m_gs=$(median "${git_st[@]}") m_ov=$(median "${orch_vc[@]}")
echo
load_after=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
echo "load average: $load_before before, $load_after after"
echo "medians over $rounds rounds and $pairs status pairs ($count files, $((bytes / 1000000)) MB):"
printf '  %-28s %10s %10s %8s\n' "" "git (ms)" "orch (ms)" "orch/git"
printf '  %-28s %10s %10s %8s\n' "worktree create" "$m_ga" "$m_oa" "$(ratio "$m_oa" "$m_ga")"
printf '  %-28s %10s %10s %8s\n' "worktree remove" "$m_gr" "$m_or" "$(ratio "$m_or" "$m_gr")"
printf '  %-28s %10s %10s %8s\n' "worktree create + remove" "$m_g" "$m_o" "$(ratio "$m_o" "$m_g")"
printf '  %-28s %10s %10s %8s\n' "status vs verify-clean" "$m_gs" "$m_ov" "$(ratio "$m_ov" "$m_gs")"
printf '  %-28s %10s %10s %8s\n' "  median of per-pair ratios" "" "" "$(median "${vc_ratio[@]}")"

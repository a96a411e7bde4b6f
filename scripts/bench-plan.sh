#!/usr/bin/env bash
# bench-plan.sh — benchmark (not a test) of `orch plan` on a large doc tree.
#
# Generates N synthetic issue docs (default 10000) in a temp git repo, laid out
# as <tmp>/docs/projects/proj-<k>/issues/GEN-<i>.md over 20 directories, all with
# `project: bench` (the field wins over the directory) in milestone M1, so
# `bench/M1` is one milestone of N issues, plus its milestone doc; each doc has a
# ~25-line body and 0-3 `blocked_by` deps on LOWER
# ids (so the graph is a DAG) plus the matching reverse `blocked` lists (so
# orch emits no one-sided-edge warnings). Generation is deterministic (fixed
# seed). Then builds orch in release mode and times, side by side:
#   (a) cat of every doc file (the I/O floor), and
#   (b) target/release/orch plan bench/M1 --docs <tmp> --json > /dev/null
# with hyperfine when installed (--warmup 2 --runs 10), else a bash loop of
# 10 timed runs each; reports medians and their ratio. The temp dir is
# removed on exit.
#
# Usage: scripts/bench-plan.sh [N]
#   BENCH_NO_HYPERFINE=1  use the bash loop even if hyperfine is installed
set -euo pipefail

readonly PROJECTS=20
readonly SEED=42
readonly WARMUP=2
readonly RUNS=10

n="${1:-10000}"
if ! [[ "$n" =~ ^[1-9][0-9]*$ ]]; then
  echo "bench-plan: N must be a positive integer, got '$n'" >&2
  exit 2
fi

script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd -- "$script_dir/.." && pwd)"
orch="$root/target/release/orch"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/orch-bench.XXXXXX")"
cleanup() { rm -rf -- "$tmp"; }
trap cleanup EXIT

# --- generate the doc tree -------------------------------------------------
echo "bench-plan: generating $n issue docs over $PROJECTS projects in $tmp"
python3 - "$n" "$tmp" "$PROJECTS" "$SEED" <<'PY'
import os
import random
import sys

n, out, projects, seed = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)

VERBS = ["Add", "Refactor", "Harden", "Document", "Instrument", "Migrate", "Cache", "Validate"]
NOUNS = ["ledger sync", "statement export", "billing route", "audit log", "rate limiter",
         "webhook retry", "tenant config", "search index", "session store", "report builder"]
LABELS = ["Bench", "Backend", "API", "Frontend", "Infra", "Docs"]
WORDS = ("the service must keep latency flat under load while streaming rows to the client "
         "and recording every change in the audit trail with tenant scoped access checks").split()


def sentence(k):
    words = [rng.choice(WORDS) for _ in range(k)]
    return " ".join(words).capitalize() + "."


# Dependencies: 0-3 distinct lower ids, mostly recent ones (chains, fan-in).
blocked_by = {i: [] for i in range(1, n + 1)}
blocked = {i: [] for i in range(1, n + 1)}
for i in range(2, n + 1):
    k = min(rng.choices([0, 1, 2, 3], weights=[30, 35, 25, 10])[0], i - 1)
    window = range(max(1, i - 500), i)
    deps = sorted(rng.sample(window, k)) if k else []
    blocked_by[i] = deps
    for d in deps:
        blocked[d].append(i)


def ids(xs):
    return "[" + ", ".join(f"GEN-{x}" for x in xs) + "]"


for i in range(1, n + 1):
    proj = (i - 1) % projects + 1
    d = os.path.join(out, "docs", "projects", f"proj-{proj}", "issues")
    os.makedirs(d, exist_ok=True)
    state = "done" if i <= n // 10 else ("in_progress" if i <= n // 8 else "planned")
    title = f"{rng.choice(VERBS)} {rng.choice(NOUNS)} ({i})"
    deps_note = ", ".join(f"GEN-{x}" for x in blocked_by[i]) or "none"
    lines = [
        "---",
        f"id: GEN-{i}",
        f'title: "{title}"',
        f"state: {state}",
        f"priority: {rng.randint(1, 4)}",
        f"estimate: {rng.choice([1, 2, 3, 5, 8])}",
        "project: bench",
        "milestone: M1",
        "assignees: [codex]",
        f"labels: [{', '.join(sorted(rng.sample(LABELS, 2)))}]",
        "parent: null",
        "children: []",
        f"blocked_by: {ids(blocked_by[i])}",
        f"blocked: {ids(blocked[i])}",
        "related_to: []",
        "---",
        "",
        "## TL;DR",
        sentence(12),
        sentence(10),
        "",
        "## Deliverables",
        f"- {sentence(8)}",
        f"- {sentence(9)}",
        f"- {sentence(7)}",
        "",
        "## Acceptance Criteria",
        f"- [ ] {sentence(9)}",
        f"- [ ] {sentence(8)}",
        f"- [ ] `GET /v1/proj-{proj}/items/{i}` returns `200` with the new field.",
        "",
        "## Testing / Verification",
        f"- {sentence(10)}",
        f"- Golden-file test for fixture `gen-{i}.json`.",
        "",
        "## Dependencies / Notes",
        f"- Blocked by: {deps_note}.",
        f"- {sentence(11)}",
        "",
    ]
    with open(os.path.join(d, f"GEN-{i}.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
milestones = os.path.join(out, "docs", "projects", "proj-1", "milestones")
os.makedirs(milestones, exist_ok=True)
with open(os.path.join(milestones, "M1-bench.md"), "w", encoding="utf-8") as f:
    f.write("# M1: Bench\n\nEvery generated issue.\n")
PY
git init -q "$tmp"

# --- build -----------------------------------------------------------------
echo "bench-plan: building orch (cargo build --release)"
(cd "$root" && cargo build --release --quiet)
[[ -x "$orch" ]] || { echo "bench-plan: $orch missing after build" >&2; exit 1; }

# orch finds the repo root from its working directory, so run it inside $tmp.
cd "$tmp"

# --- sanity run ------------------------------------------------------------
json="$tmp/plan.json"
status=0
"$orch" plan bench/M1 --docs "$tmp" --json >"$json" || status=$?
if ((status != 0)); then
  echo "bench-plan: 'orch plan bench/M1' exited $status" >&2
  exit 1
fi
counts=$(python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))
print(len(p["issues"]), len(p.get("warnings", [])))
' "$json")
read -r got warnings <<<"$counts"
if [[ "$got" != "$n" ]]; then
  echo "bench-plan: plan has $got issues, expected $n" >&2
  exit 1
fi
echo "bench-plan: sanity ok: $got issues planned, $warnings warnings"
if ((warnings != 0)); then
  echo "bench-plan: note: the generated docs should yield no warnings" >&2
fi

# --- timing ----------------------------------------------------------------
printf -v q_docs '%q' "$tmp/docs"
printf -v q_tmp '%q' "$tmp"
printf -v q_orch '%q' "$orch"
cmd_cat="find $q_docs -name '*.md' -print0 | xargs -0 cat > /dev/null"
cmd_orch="$q_orch plan bench/M1 --docs $q_tmp --json > /dev/null"

if command -v hyperfine >/dev/null 2>&1 && [[ -z "${BENCH_NO_HYPERFINE:-}" ]]; then
  results="$tmp/hyperfine.json"
  hyperfine --warmup "$WARMUP" --runs "$RUNS" --export-json "$results" \
    -n cat "$cmd_cat" -n "orch plan" "$cmd_orch"
  medians=$(python3 -c '
import json, sys
r = {x["command"]: x["median"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
print(r["cat"], r["orch plan"])
' "$results")
  read -r cat_ms orch_ms <<<"$medians"
else
  echo "bench-plan: hyperfine not used; timing $RUNS runs (+$WARMUP warmup) of each with date +%s%N"
  # Median wall time in ms of $RUNS runs of a shell command string.
  median_ms() {
    local cmd="$1" i t0 t1 samples=()
    for ((i = 0; i < WARMUP; i++)); do bash -c "$cmd"; done
    for ((i = 0; i < RUNS; i++)); do
      t0=$(date +%s%N)
      bash -c "$cmd"
      t1=$(date +%s%N)
      samples+=("$((t1 - t0))")
    done
    printf '%s\n' "${samples[@]}" | sort -n | awk '
      { v[NR] = $1 }
      END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f\n", m / 1e6 }'
  }
  cat_ms=$(median_ms "$cmd_cat")
  orch_ms=$(median_ms "$cmd_orch")
  echo "  cat:       median ${cat_ms} ms"
  echo "  orch plan: median ${orch_ms} ms"
fi

awk -v o="$orch_ms" -v c="$cat_ms" -v n="$n" 'BEGIN {
  printf "N=%d docs\norch plan: %.1f ms, cat: %.1f ms, ratio %.2fx\n", n, o, c, (c > 0 ? o / c : 0)
}'

#!/usr/bin/env bash
# bench-sandbox.sh — benchmark (not a test) of what confinement costs: the demo milestone
# (ledger-api/M1 of fixtures/sample-docs: 4 issues, 11 phases, one fix cycle) through the real
# codex and the real Claude Code against the local stand-in model, each agent sandboxed and
# open, N rounds interleaved. Prints the median wall time of each and the ratio sandboxed /
# open per agent, and the median phase time from the runs' summaries.
#
#   codex  sandboxed: `[codex] sandbox = "worktree"` (orch's profile, the default)
#          open:      `[codex] sandbox = "danger-full-access"`
#   claude sandboxed: `[claude] sandbox = "worktree"` (Claude Code's own, the default)
#          open:      `[claude] sandbox = "none"`
#
# Usage: scripts/bench-sandbox.sh [N]     (default 3)
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/bench-lib.sh"

rounds="${1:-3}"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "bench-sandbox: N is a positive integer" >&2; exit 2; }

bench_setup sandbox
echo "bench-sandbox: installing tools and building orch (release)"
"$root/scripts/install-tools.sh" >/dev/null
(cd -- "$root" && cargo build --release --quiet --bin orch --example mock_model)
bench_hermetic_git
orch="$root/target/release/orch"

# A fresh stand-in model for each run (its demo script asks LEDGER-2 for one fix, once).
start_mock() {
  "$root/target/release/examples/mock_model" --demo LEDGER-2 >"$1/mock-model.toml" &
  mock_pid=$!
  for _ in $(seq 50); do [ -s "$1/mock-model.toml" ] && break; sleep 0.1; done
  port=$(grep -o '127\.0\.0\.1:[0-9]*' "$1/mock-model.toml" | head -n 1 | cut -d: -f2)
}
mock_pid=
trap '[ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null; bench_cleanup' EXIT

export PATH="$root/.tools/bin:$root/.tools/node_modules/.bin:$PATH"
export ORCH_CODEX_BIN="$root/.tools/node_modules/.bin/codex" ORCH_MOCK_API_KEY="bench-key"
export ORCH_CLAUDE_BIN="$root/.tools/node_modules/.bin/claude"
export ANTHROPIC_API_KEY="bench-key"
export DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1
export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1

# run <label> <agent> <[codex] sandbox> <[claude] sandbox>: one fresh repository, one run;
# appends "<label> <wall ms> <median phase ms>" to $tmp/times.
run() {
  local label="$1" agent="$2" codex_mode="$3" claude_mode="$4" dir repo start end
  dir="$(mktemp -d "$tmp/run.XXXXXX")"
  repo="$dir/shop"
  mkdir -p "$repo" "$dir/codex-home"
  cp -R "$root/fixtures/sample-docs/docs" "$repo/"
  start_mock "$dir"
  {
    echo 'max_review_cycles = 2'; echo 'phase_timeout = "5m"'; echo
    echo '[codex]'; cat "$dir/mock-model.toml"; echo "sandbox = \"$codex_mode\""
    echo; echo '[claude]'; echo "sandbox = \"$claude_mode\""
  } >"$repo/orch.toml"
  printf 'logs/\n' >"$repo/.gitignore"
  git -C "$repo" init -q -b main
  git -C "$repo" add -A
  git -C "$repo" commit -q -m "docs"
  start=$(date +%s%N)
  CODEX_HOME="$dir/codex-home" CLAUDE_CONFIG_DIR="$dir/claude-config" \
    ANTHROPIC_BASE_URL="http://127.0.0.1:$port" \
    "$orch" -C "$repo" run ledger-api/M1 --agent "all=$agent" >"$dir/out.txt" 2>&1 ||
    { echo "bench-sandbox: $label failed (see $dir/out.txt)" >&2; BENCH_KEEP=1; exit 1; }
  end=$(date +%s%N)
  kill "$mock_pid" 2>/dev/null || true
  wait "$mock_pid" 2>/dev/null || true
  python3 - "$repo/logs/orch/ledger-api/M1" "$label" $(((end - start) / 1000000)) >>"$tmp/times" <<'EOF'
import json, pathlib, statistics, sys
logs, label, wall = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
phases = [p["duration_ms"] for s in logs.glob("*/*/summary.json")
          for p in json.loads(s.read_text())["phases"]]
print(label, wall, int(statistics.median(phases)), len(phases))
EOF
}

: >"$tmp/times"
for r in $(seq "$rounds"); do
  echo "bench-sandbox: round $r of $rounds"
  run codex-sandboxed codex worktree worktree
  run codex-open codex danger-full-access worktree
  run claude-sandboxed claude worktree worktree
  run claude-open claude worktree none
done

python3 - "$tmp/times" <<'EOF'
import collections, statistics, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    label, wall, phase, n = line.split()
    rows[label].append((int(wall), int(phase), int(n)))
med = lambda label, i: statistics.median(r[i] for r in rows[label])
print("| agent | sandbox | run wall (ms) | phase (ms, median) | phases | sandboxed / open |")
print("| --- | --- | ---: | ---: | ---: | ---: |")
for agent in ("codex", "claude"):
    s, o = f"{agent}-sandboxed", f"{agent}-open"
    print(f"| {agent} | on | {med(s, 0):.0f} | {med(s, 1):.0f} | {med(s, 2):.0f} | {med(s, 0) / med(o, 0):.2f} |")
    print(f"| {agent} | off | {med(o, 0):.0f} | {med(o, 1):.0f} | {med(o, 2):.0f} | 1.00 |")
EOF

#!/usr/bin/env bash
# The main job on a demo repository, offline: installs the pinned codex CLI, builds orch,
# makes a fresh git repo holding the sample docs tree (fixtures/sample-docs: two projects,
# ledger-api and web-console, each with an M1 and an M2), starts the local mock model server
# (the test suite's, standalone) and runs `orch run ledger-api/M1` through the real codex
# binary. The stand-in model makes one issue (LEDGER-2) try a `gt sync` the guard refuses and
# get a review that asks for a change, so the run shows a refusal and a fix cycle. Then it
# shows the guard's log and `orch diff` of that issue. `--agent review=claude` runs those
# phases on the real Claude Code CLI instead, against the same stand-in model.
# Usage: scripts/demo.sh [--agent PHASE=AGENT]... [MILESTONE] [DEMO_DIR]
#        (default: ledger-api/M1, a new temp dir)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
agents=()
positional=()
while [ $# -gt 0 ]; do
  case "$1" in
    --agent) agents+=(--agent "$2"); shift 2 ;;
    --agent=*) agents+=(--agent "${1#--agent=}"); shift ;;
    *) positional+=("$1"); shift ;;
  esac
done
milestone=${positional[0]:-ledger-api/M1}
demo=${positional[1]:-$(mktemp -d "${TMPDIR:-/tmp}/orch-demo.XXXXXX")}
showcase=LEDGER-2

"$root/scripts/install-tools.sh" >/dev/null
cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin orch --example mock_model
orch="$root/target/release/orch"

repo="$demo/shop"
mkdir -p "$repo" "$demo/codex-home"
cp -R "$root/fixtures/sample-docs/docs" "$repo/"

# The stand-in model: prints the `[codex] args` that point codex at it, then serves.
"$root/target/release/examples/mock_model" --demo "$showcase" >"$demo/mock-model.toml" &
mock_pid=$!
trap 'kill "$mock_pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$demo/mock-model.toml" ] && break; sleep 0.1; done

{
  echo 'max_review_cycles = 2'; echo 'phase_timeout = "5m"'; echo
  echo '[codex]'; cat "$demo/mock-model.toml"
} >"$repo/orch.toml"
printf 'logs/\n' >"$repo/.gitignore"
git -C "$repo" init -q -b main
git -C "$repo" config user.name "orch demo"
git -C "$repo" config user.email "demo@example.invalid"
git -C "$repo" add -A
git -C "$repo" commit -q -m "Milestone docs and orch config"

export ORCH_CODEX_BIN="$root/.tools/node_modules/.bin/codex"
export CODEX_HOME="$demo/codex-home"
export ORCH_MOCK_API_KEY="demo-key"
# Claude Code, pointed at the same stand-in (it speaks the Messages API too), offline, its
# sandbox's bubblewrap and socat from .tools/bin (scripts/install-tools.sh put them there).
export PATH="$root/.tools/bin:$PATH"
port=$(grep -o '127\.0\.0\.1:[0-9]*' "$demo/mock-model.toml" | head -n 1 | cut -d: -f2)
export ORCH_CLAUDE_BIN="$root/.tools/node_modules/.bin/claude"
export ANTHROPIC_BASE_URL="http://127.0.0.1:$port" ANTHROPIC_API_KEY="demo-key"
export CLAUDE_CONFIG_DIR="$demo/claude-config" DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1
export DISABLE_ERROR_REPORTING=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1

echo "== demo repository: $repo"
echo "== orch plan M1 (two projects have an M1: orch asks which)"
"$orch" -C "$repo" plan M1 || true
echo
echo "== orch plan $milestone"
"$orch" -C "$repo" plan "$milestone"
echo
echo "== orch verify-clean"
"$orch" -C "$repo" verify-clean
echo
echo "== orch run $milestone"
status=0
"$orch" -C "$repo" run "$milestone" "${agents[@]}" || status=$?
echo
echo "== orch guard log $showcase (what the agent tried)"
"$orch" -C "$repo" guard log "$showcase" | grep -v ' allowed ' || true
echo
echo "== orch diff $showcase --stat (dev, review asking for a change, fix, review)"
"$orch" -C "$repo" diff "$showcase" --stat
echo "== logs: $repo/logs/orch/$milestone"
exit "$status"

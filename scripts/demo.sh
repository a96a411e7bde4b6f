#!/usr/bin/env bash
# The main job on a demo repository, offline: installs the pinned codex CLI, builds orch,
# makes a fresh git repo holding the sample docs tree (fixtures/sample-docs: two projects,
# ledger-api and web-console, each with an M1 and an M2), starts the local mock model server
# (the test suite's, standalone) and runs `orch run ledger-api/M1` through the real codex
# binary. The stand-in model makes one issue (LEDGER-2) try a `gt sync` the guard refuses and
# get a review that asks for a change, so the run shows a refusal and a fix cycle. Then it
# shows the guard's log and `orch diff` of that issue.
# Usage: scripts/demo.sh [MILESTONE] [DEMO_DIR]   (default: ledger-api/M1, a new temp dir)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
milestone=${1:-ledger-api/M1}
demo=${2:-$(mktemp -d "${TMPDIR:-/tmp}/orch-demo.XXXXXX")}
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

{ echo 'max_review_cycles = 2'; echo 'phase_timeout = "5m"'; echo; echo '[codex]'; cat "$demo/mock-model.toml"; } >"$repo/orch.toml"
printf 'logs/\n' >"$repo/.gitignore"
git -C "$repo" init -q -b main
git -C "$repo" config user.name "orch demo"
git -C "$repo" config user.email "demo@example.invalid"
git -C "$repo" add -A
git -C "$repo" commit -q -m "Milestone docs and orch config"

export ORCH_CODEX_BIN="$root/.tools/node_modules/.bin/codex"
export CODEX_HOME="$demo/codex-home"
export ORCH_MOCK_API_KEY="demo-key"

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
"$orch" -C "$repo" run "$milestone" || status=$?
echo
echo "== orch guard log $showcase (what the agent tried)"
"$orch" -C "$repo" guard log "$showcase" | grep -v ' allowed ' || true
echo
echo "== orch diff $showcase --stat (dev, review asking for a change, fix, review)"
"$orch" -C "$repo" diff "$showcase" --stat
echo "== logs: $repo/logs/orch/$milestone"
exit "$status"

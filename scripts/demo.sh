#!/usr/bin/env bash
# The main job on a demo repository, offline: installs the pinned codex CLI, builds orch,
# makes a fresh git repo holding the sample milestone docs (fixtures/sample-docs), starts the
# local mock model server (the test suite's, standalone) and runs `orch run` on milestone M1
# through the real codex binary. Then shows `orch diff` of one issue.
# Usage: scripts/demo.sh [MILESTONE] [DEMO_DIR]   (default: ledger-api/M1, a new temp dir)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
milestone=${1:-ledger-api/M1}
demo=${2:-$(mktemp -d "${TMPDIR:-/tmp}/orch-demo.XXXXXX")}

"$root/scripts/install-tools.sh" >/dev/null
cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin orch --example mock_model
orch="$root/target/release/orch"

repo="$demo/shop"
mkdir -p "$repo" "$demo/codex-home"
cp -R "$root/fixtures/sample-docs/docs" "$repo/"

# The stand-in model: prints the `[codex] args` that point codex at it, then serves.
"$root/target/release/examples/mock_model" >"$demo/mock-model.toml" &
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
"$orch" -C "$repo" plan "$milestone"
echo
echo "== orch verify-clean"
"$orch" -C "$repo" verify-clean
echo
echo "== orch run $milestone"
status=0
"$orch" -C "$repo" run "$milestone" || status=$?
echo
first=$("$orch" -C "$repo" plan "$milestone" --json | python3 -c 'import json,sys; print(next(i["id"] for i in json.load(sys.stdin)["issues"] if not i["skipped"]))')
echo "== orch diff $first"
"$orch" -C "$repo" diff "$first"
echo "== logs: $repo/logs/orch/$milestone"
exit "$status"

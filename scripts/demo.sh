#!/usr/bin/env bash
# The main job on a demo repository: builds orch, makes a fresh git repo holding the sample
# milestone docs (fixtures/sample-docs), validates them and shows the plan of milestone M1.
# Usage: scripts/demo.sh [MILESTONE] [DEMO_DIR]   (default: M1, a new temp dir)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
milestone=${1:-M1}
demo=${2:-$(mktemp -d "${TMPDIR:-/tmp}/orch-demo.XXXXXX")}

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
orch="$root/target/release/orch"

mkdir -p "$demo/shop"
repo="$demo/shop"
cp -R "$root/fixtures/sample-docs/docs" "$repo/"
git -C "$repo" init -q -b main
git -C "$repo" add docs
git -C "$repo" -c user.name="orch demo" -c user.email="demo@example.invalid" commit -q -m "Milestone docs"

echo "== demo repository: $repo"
echo "== orch validate"
"$orch" -C "$repo" validate
echo
echo "== orch plan $milestone"
"$orch" -C "$repo" plan "$milestone"
echo
echo "== orch plan $milestone --format mermaid"
"$orch" -C "$repo" plan "$milestone" --format mermaid

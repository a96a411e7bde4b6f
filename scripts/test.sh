#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: installs the pinned external CLIs the tests
# drive (codex, gt) into .tools/, then checks formatting and lints, then runs every test.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

"$root/scripts/install-tools.sh"
export PATH="$root/.tools/node_modules/.bin:$PATH"

cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
# Three tests at a time on CI's two cores: most of a test's time is spent waiting on agents,
# git and servers, so a third keeps the cores busy (the integration binary on two cores: 252 s
# with two threads, 201 s with three).
cargo test --locked --all-targets -- --test-threads "${ORCH_TEST_THREADS:-3}"

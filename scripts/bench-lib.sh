# Shared by the bench scripts (sourced, not run): where the repository is, a scratch
# directory removed on exit (kept with BENCH_KEEP=1).
#
#   bench_setup <name>     sets $root (the repository) and $tmp (a fresh scratch dir)
#   bench_hermetic_git     a scratch HOME and fixed git identity and dates

bench_setup() {
  local name="$1"
  root="$(cd -- "$(dirname -- "${BASH_SOURCE[1]}")/.." && pwd)"
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/orch-bench-$name.XXXXXX")"
  tmp="$(cd -- "$tmp" && pwd -P)"
  bench_name="$name"
  trap bench_cleanup EXIT
}

bench_cleanup() {
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
    echo "bench-$bench_name: kept $tmp"
  else
    # Worktrees and object files may be read-only.
    chmod -R u+w -- "$tmp" 2>/dev/null || true
    rm -rf -- "$tmp"
  fi
}

# A hermetic git environment for what follows: a scratch HOME, fixed identity and dates, no
# system config, nothing inherited that points git elsewhere.
bench_hermetic_git() {
  mkdir -p "$tmp/home"
  export HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" GIT_CONFIG_NOSYSTEM=1
  export GIT_AUTHOR_NAME="Bench" GIT_AUTHOR_EMAIL="bench@example.invalid"
  export GIT_COMMITTER_NAME="Bench" GIT_COMMITTER_EMAIL="bench@example.invalid"
  export GIT_AUTHOR_DATE="2026-01-02T03:04:05Z" GIT_COMMITTER_DATE="2026-01-02T03:04:05Z"
  unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE
}

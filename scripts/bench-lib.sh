# Shared by the bench scripts (sourced, not run): where the repository is, a scratch
# directory removed on exit (kept with BENCH_KEEP=1).
#
#   bench_setup <name>   sets $root (the repository) and $tmp (a fresh scratch dir)

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

#!/usr/bin/env bash
# bench-parallel.sh — benchmark (not a test) of parallel runs: wall time against the
# critical path.
#
# Builds a milestone of W independent chains of D issues each (issue <c>-<d> is blocked by
# <c>-<d-1>) in a scratch repository, and runs it through `orch run` twice — `--jobs 1` and
# `--jobs W` — with the scripted fake agent (fixtures/agents/fake-codex), whose every phase
# sleeps S seconds (dev commits, then sleeps; review sleeps, then passes). Each issue is two
# phases, so the critical path is D × 2S. For each run it prints the wall time, the critical
# path, their ratio, and orch's own CPU time (user + system of the orch process alone, read
# from /proc/<pid>/stat every 20 ms until it exits, so its agents are not counted).
# Target: wall ≤ 1.1 × critical path with --jobs W.
#
# Usage: scripts/bench-parallel.sh [W] [D] [S]     (defaults 4 3 2)
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/bench-lib.sh"

w="${1:-4}"
d="${2:-3}"
s="${3:-2}"
for v in "$w" "$d"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "bench-parallel: W and D are positive integers" >&2; exit 2; }
done
[[ "$s" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "bench-parallel: S is seconds" >&2; exit 2; }

bench_setup parallel
orch="$root/target/release/orch"
# Built with the caller's environment (HOME finds the toolchain), then hermetic git.
echo "bench-parallel: building orch (cargo build --release)"
(cd -- "$root" && cargo build --release --quiet)
bench_hermetic_git

# A repository with the chains' docs and the agent's script.
make_repo() {
  local repo="$1"
  mkdir -p "$repo/docs/projects/bench/issues" "$repo/docs/projects/bench/milestones"
  git -C "$repo" init -q -b main
  printf '# M1\n\nChains in parallel.\n' >"$repo/docs/projects/bench/milestones/M1.md"
  python3 - "$repo" "$w" "$d" "$s" <<'EOF'
import json, sys
repo, w, d, s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
chains = [chr(ord("A") + i) if i < 26 else f"C{i}" for i in range(w)]
script = {}
work = json.dumps({"status": "pass", "summary": "done", "testsRun": [], "docsUpdated": [],
                   "draftPrs": [], "stackBranches": [], "deferred": [], "openQuestions": []})
review = json.dumps({"status": "pass", "summary": "fine", "issues": [], "requiredActions": [],
                     "followups": [], "reviewDocPath": "", "confidence": "high"})
for c in chains:
    for k in range(1, d + 1):
        id = f"{c}-{k}"
        deps = f"blocked_by: [{c}-{k - 1}]\n" if k > 1 else ""
        with open(f"{repo}/docs/projects/bench/issues/{id}.md", "w") as f:
            f.write(f"---\nid: {id}\ntitle: Step {k} of chain {c}\nstate: planned\n"
                    f"milestone: M1\n{deps}---\n\nDo {id}.\n")
        script[f"{id}/01-dev"] = [
            {"run": f"mkdir -p work && echo {id} > work/{id}.txt && git add work && git commit -q -m {id}"},
            {"sleep": s}, {"message": work}]
        script[f"{id}/02-review"] = [{"sleep": s}, {"message": review}]
json.dump(script, open(f"{repo}/../script-{repo.rsplit('/', 1)[-1]}.json", "w"))
EOF
  printf 'worktree_root = "../wt-%s"\ndashboard = false\n' "$(basename "$repo")" >"$repo/orch.toml"
  printf 'logs/\n' >"$repo/.gitignore"
  git -C "$repo" add . && git -C "$repo" commit -q -m "chains"
}

# Runs orch in $1 with --jobs $2; prints "wall_seconds cpu_seconds".
measure() {
  local repo="$1" jobs="$2" name
  name="$(basename "$repo")"
  python3 - "$orch" "$repo" "$jobs" "$root/fixtures/agents/fake-codex" "$tmp/script-$name.json" <<'EOF'
import os, subprocess, sys, time
orch, repo, jobs, agent, script = sys.argv[1:]
env = dict(os.environ, ORCH_CODEX_BIN=agent, ORCH_FAKE_SCRIPT=script)
tick = os.sysconf("SC_CLK_TCK")
start = time.monotonic()
p = subprocess.Popen([orch, "run", "bench/M1", "--jobs", jobs], cwd=repo, env=env,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
cpu = 0.0
while p.poll() is None:
    try:
        fields = open(f"/proc/{p.pid}/stat").read().rsplit(")", 1)[1].split()
        # utime and stime: fields 14 and 15 of stat, 12 and 13 after the name.
        cpu = (int(fields[11]) + int(fields[12])) / tick
    except (OSError, IndexError):
        pass
    time.sleep(0.02)
wall = time.monotonic() - start
if p.returncode != 0:
    sys.exit(f"orch exited with {p.returncode} in {repo}")
print(f"{wall:.2f} {cpu:.2f}")
EOF
}

critical="$(python3 -c "print(f'{$d * 2 * $s:.2f}')")"
echo "bench-parallel: $w chains × $d issues, each phase ${s}s; critical path ${critical}s"
printf '\n| jobs | wall (s) | critical path (s) | wall / critical | orch CPU (s) |\n'
printf '| --- | --- | --- | --- | --- |\n'
for jobs in 1 "$w"; do
  repo="$tmp/jobs$jobs"
  make_repo "$repo"
  read -r wall cpu < <(measure "$repo" "$jobs")
  ratio="$(python3 -c "print(f'{$wall / $critical:.3f}')")"
  printf '| %s | %s | %s | %s | %s |\n' "$jobs" "$wall" "$critical" "$ratio" "$cpu"
done

//! A milestone run again (the next day, after a failure, after a crash): never silent, never
//! destructive, never mixed. What the last run completed is carried and not run again; an
//! unfinished last run stops a new one with the ways on; `--retry` and `--fresh` set earlier
//! branches aside before running from scratch; two runs' logs never share a directory.

use crate::support;
use serde_json::json;
use support::fake::{review_json, work_json, FakeRepo};
use support::issue;

const COMMIT: &str = "mkdir -p w && date +%N >> w/f.txt && git add w && git commit -q -m step";

/// A-1; B-1 stacked on A-1; C-1 alone.
fn three(script: serde_json::Value) -> FakeRepo {
    FakeRepo::new(
        &[
            ("a.md", issue("A-1", "M1", "blocked: [B-1]\n")),
            ("b.md", issue("B-1", "M1", "blocked_by: [A-1]\n")),
            ("c.md", issue("C-1", "M1", "")),
        ],
        "",
        script,
    )
}

/// B-1's dev fails (its agent exits 2) on its first try only: the first run fails B-1 and
/// skips nothing else; a later try passes.
fn b_fails_once() -> serde_json::Value {
    json!({"B-1/01-dev": {"attempts": [[{"stderr": "boom"}, {"exit": 2}], [{"run": COMMIT}, {"message": work_json("pass")}]]}})
}

/// Every ref and what it points at.
fn refs(repo: &FakeRepo) -> String {
    repo.env
        .git(&["for-each-ref", "--format=%(refname) %(objectname)"])
}

/// The recorded runs' ids, oldest first.
fn run_ids(repo: &FakeRepo) -> Vec<String> {
    // Oldest first: by start (to the second), two runs in one second by when their state was
    // last written (a run never writes another's).
    let mut states: Vec<(String, std::time::SystemTime, String)> =
        std::fs::read_dir(repo.env.repo.join(".git/orch/runs"))
            .unwrap()
            .flatten()
            .map(|e| {
                let state: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
                let written = e.metadata().unwrap().modified().unwrap();
                let started = state["started_at"].as_str().unwrap().to_owned();
                (
                    started,
                    written,
                    state["run_id"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
    states.sort();
    states.into_iter().map(|(_, _, id)| id).collect()
}

#[test]
fn a_second_run_of_a_completed_milestone_runs_no_agent_and_changes_no_ref() {
    let repo = three(json!({}));
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    let first = run_ids(&repo);
    let (calls, before) = (repo.calls().len(), refs(&repo));
    let tasks = std::fs::read_to_string(repo.env.repo.join("TASKS.md")).unwrap();
    for args in [&["run", "M1"][..], &["run", "M1", "--dry-run"]] {
        let (code, out) = repo.run(args);
        assert_eq!(code, 0, "{out}");
        for id in ["A-1", "B-1", "C-1"] {
            assert!(
                out.contains(&format!(
                    "[{id}] completed in run {}; not run again",
                    first[0]
                )),
                "{out}"
            );
        }
        assert!(
            out.contains("Nothing to run: every issue of p/M1 is done"),
            "{out}"
        );
    }
    assert_eq!(repo.calls().len(), calls, "no agent ran");
    assert_eq!(refs(&repo), before, "no ref changed");
    assert_eq!(run_ids(&repo), first, "no new run recorded");
    assert_eq!(
        std::fs::read_to_string(repo.env.repo.join("TASKS.md")).unwrap(),
        tasks
    );
}

#[test]
fn a_second_run_after_a_failure_stops_and_says_how_to_go_on() {
    let repo = three(b_fails_once());
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 100, "{out}");
    let run = &run_ids(&repo)[0];
    let (calls, before) = (repo.calls().len(), refs(&repo));
    for args in [&["run", "M1"][..], &["run", "M1", "--dry-run"]] {
        let (code, out) = repo.run(args);
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains(&format!(
                "the last run of p/M1 ({run}) did not finish: B-1 failed (dev phase failed"
            )),
            "{out}"
        );
        for way in [
            "`orch resume p/M1`",
            "`orch run p/M1 --retry B-1`",
            "`orch run p/M1 --fresh`",
        ] {
            assert!(out.contains(way), "missing {way}: {out}");
        }
    }
    assert_eq!(repo.calls().len(), calls, "no agent ran");
    assert_eq!(refs(&repo), before, "no ref changed");
    // A resume of the ended run has nothing left: it says so and names --retry.
    let (code, out) = repo.run(&["resume"]);
    assert_eq!(code, 100, "{out}");
    assert!(
        out.contains(&format!("run {run} of p/M1 has nothing left to run")),
        "{out}"
    );
    assert!(out.contains("`orch resume p/M1 --retry B-1`"), "{out}");
    assert!(!out.contains("] started"), "no issue replayed: {out}");
    assert_eq!(repo.calls().len(), calls);
}

#[test]
fn retry_redoes_one_issue_and_its_dependents_and_carries_the_rest() {
    let repo = three(b_fails_once());
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 100, "{out}");
    let first = run_ids(&repo)[0].clone();
    let a_head = repo.summary("A-1")["head"].as_str().unwrap().to_owned();
    let b_branch = repo.summary("B-1")["branch"].as_str().unwrap().to_owned();
    let b_old = repo.env.git(&["rev-parse", &b_branch]).trim().to_owned();
    let calls = repo.calls().len();

    let (code, out) = repo.run(&["run", "M1", "--retry", "B-1", "--dry-run"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("A-1: completed in run {first}; not run again")),
        "{out}"
    );
    assert!(
        out.contains(
            "B-1: set aside its earlier branch under refs/orch/rescue/p/M1/B-1/branch-<run-id>"
        ),
        "{out}"
    );
    let (code, out) = repo.run(&["run", "M1", "--retry", "B-1"]);
    assert_eq!(code, 0, "{out}");
    let second = run_ids(&repo)[1].clone();
    assert!(
        out.contains(&format!("[A-1] completed in run {first}; not run again")),
        "{out}"
    );
    // Only B-1 ran again; it starts from A-1's recorded final head.
    let keys: Vec<String> = repo.keys()[calls..].to_vec();
    assert!(keys.iter().all(|k| k.starts_with("B-1/")), "{keys:?}");
    let b = repo.summary("B-1");
    assert_eq!(b["outcome"], "completed");
    assert_eq!(b["base"], a_head.as_str());
    assert_eq!(repo.summary("A-1")["completed_in"], first.as_str());
    // The failed attempt's branch is kept under a rescue ref named for the new run.
    let kept = repo.env.git(&[
        "rev-parse",
        &format!("refs/orch/rescue/p/M1/B-1/branch-{second}"),
    ]);
    assert_eq!(kept.trim(), b_old);
    // Two runs' logs side by side; diff reads the latest by default, an earlier with --run.
    let logs = repo.env.repo.join("logs/orch/p/M1");
    assert!(logs.join(&first).join("B-1/01-dev/failure.json").is_file());
    assert!(logs.join(&second).join("B-1/01-dev/result.json").is_file());
    let diff = |args: &[&str]| {
        let out = repo.env.orch_ok(&[&["diff", "B-1"], args].concat());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let latest = diff(&[]);
    assert!(
        latest.contains("02-review") && latest.contains("1 commit"),
        "{latest}"
    );
    let earlier = diff(&["--run", &first]);
    assert!(
        earlier.contains("01-dev") && !earlier.contains("02-review"),
        "{earlier}"
    );
    // A carried issue's diff is the run that did its work.
    let a = repo.env.orch_ok(&["diff", "A-1"]);
    assert!(
        String::from_utf8_lossy(&a.stderr).contains(&format!("A-1 completed in run {first}")),
        "{}",
        String::from_utf8_lossy(&a.stderr)
    );
    // status, report and guard log of either run.
    for (args, want) in [
        (vec!["status", "--run", &first], "failed"),
        (
            vec!["status"],
            "Completed in earlier runs, not run again: A-1 (run ",
        ),
        (vec!["report"], "in run `"),
        (vec!["report", "--run", &first], &first),
        (vec!["guard", "log", "B-1", "--run", &first], ""),
    ] {
        let out = repo.env.orch_ok(&args);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(want), "{args:?}: {text}");
    }
    let out = repo
        .env
        .orch()
        .args(["status", "--run", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn fresh_starts_over_and_keeps_every_earlier_commit_reachable() {
    let repo = three(b_fails_once());
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 100, "{out}");
    let first = run_ids(&repo)[0].clone();
    let tips: Vec<(String, String)> = ["A-1", "B-1", "C-1"]
        .iter()
        .map(|id| {
            let branch = repo.summary(id)["branch"].as_str().unwrap().to_owned();
            let tip = repo.env.git(&["rev-parse", &branch]).trim().to_owned();
            (id.to_string(), tip)
        })
        .collect();
    let (code, out) = repo.run(&["run", "M1", "--fresh"]);
    assert_eq!(code, 0, "{out}");
    let second = run_ids(&repo)[1].clone();
    for (id, tip) in &tips {
        assert!(
            out.contains(&format!("[{id}] earlier branch orch/p/M1/{id}-")),
            "{out}"
        );
        let kept = repo.env.git(&[
            "rev-parse",
            &format!("refs/orch/rescue/p/M1/{id}/branch-{second}"),
        ]);
        assert_eq!(kept.trim(), tip, "{id}");
        assert_eq!(repo.summary(id)["outcome"], "completed");
        assert!(repo.summary(id)["completed_in"].is_null());
    }
    // The event log says where the run started and what it set aside.
    let log: Vec<serde_json::Value> = std::fs::read_to_string(
        repo.env
            .repo
            .join(format!("logs/orch/p/M1/events-{second}.jsonl")),
    )
    .unwrap()
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect();
    let main = repo.env.git(&["rev-parse", "main"]);
    assert!(
        log.iter().any(|e| e["type"] == "plan_validated"
            && e["base"] == "main"
            && e["base_commit"] == main.trim()),
        "{log:?}"
    );
    for (id, tip) in &tips {
        let set_aside = log
            .iter()
            .find(|e| e["type"] == "branch_set_aside" && e["task"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} set aside: {log:?}"));
        let moved_to = set_aside["moved_to"].as_str().unwrap();
        assert_eq!(repo.env.git(&["rev-parse", moved_to]).trim(), tip, "{id}");
    }
    // Every commit of either run is reachable.
    let fsck = repo
        .env
        .git(&["fsck", "--unreachable", "--no-reflogs", "--no-progress"]);
    assert!(!fsck.contains("unreachable commit"), "{fsck}");
    // The first run's pins are untouched.
    assert!(refs(&repo).contains(&format!("refs/orch/runs/{first}/A-1/01-dev")));
}

#[test]
fn an_issue_carried_from_an_earlier_run_gives_its_dependents_its_recorded_head() {
    let repo = three(json!({}));
    let (code, out) = repo.run(&["run", "M1", "--issue", "A-1"]);
    assert_eq!(code, 0, "{out}");
    let head = repo.summary("A-1")["head"].as_str().unwrap().to_owned();
    let branch = repo.summary("A-1")["branch"].as_str().unwrap().to_owned();
    // Someone moves A-1's branch since; its recorded head still stands.
    repo.env.git(&["branch", "-f", &branch, "main"]);
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("[A-1] completed in run "), "{out}");
    assert_eq!(repo.summary("B-1")["base"], head.as_str());
    let keys = repo.keys();
    assert_eq!(
        keys.iter().filter(|k| k.starts_with("A-1/")).count(),
        2,
        "A-1 ran once (dev, review): {keys:?}"
    );
}

#[test]
fn review_changes_in_a_second_run_never_mix_with_the_first_runs_phases() {
    // The first run needs a fix cycle for A-1; the redo passes at once. The second run's
    // phases start at 01 in their own directory, so no range runs backwards.
    let repo = three(json!({
        "A-1/02-review": {"attempts": [[{"message": review_json("changes_required", &["x"])}], [{"message": review_json("pass", &[])}]]},
    }));
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = repo.run(&["run", "M1", "--retry", "A-1"]);
    assert_eq!(code, 0, "{out}");
    let second = &run_ids(&repo)[1];
    let dir = repo
        .env
        .repo
        .join("logs/orch/p/M1")
        .join(second)
        .join("A-1");
    let mut phases: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('0'))
        .collect();
    phases.sort();
    assert_eq!(phases, ["01-dev", "02-review"]);
    let out = repo.env.orch_ok(&["diff", "A-1", "--json"]);
    let ranges: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ranges = ranges.as_array().unwrap();
    assert_eq!(ranges.len(), 2);
    // Each range starts where the one before it ended.
    assert_eq!(ranges[1]["base"], ranges[0]["head"]);
}

#[test]
fn each_issue_goes_by_its_own_last_run() {
    // A-1 alone, then C-1 alone: the run of the whole milestone carries both, from their
    // own runs, and runs B-1.
    let repo = three(json!({}));
    for id in ["A-1", "C-1"] {
        let (code, out) = repo.run(&["run", "M1", "--issue", id]);
        assert_eq!(code, 0, "{out}");
    }
    let runs = run_ids(&repo);
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("[A-1] completed in run {}", runs[0])),
        "{out}"
    );
    assert!(
        out.contains(&format!("[C-1] completed in run {}", runs[1])),
        "{out}"
    );
    assert_eq!(repo.summary("B-1")["outcome"], "completed");
}

#[test]
fn from_a_detached_head_the_issues_start_from_the_trunk() {
    let repo = three(json!({}));
    let main = repo.env.git(&["rev-parse", "main"]).trim().to_owned();
    repo.env.commit_file("later.txt", "later\n", "on main");
    let tip = repo.env.git(&["rev-parse", "main"]).trim().to_owned();
    assert_ne!(main, tip);
    repo.env.git(&["switch", "-q", "--detach", &main]);
    let (code, out) = repo.run(&["run", "M1", "--issue", "C-1"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("issue(s) from main at {}", &tip[..10])),
        "{out}"
    );
    assert_eq!(repo.summary("C-1")["base"], tip.as_str());
}

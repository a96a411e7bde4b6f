//! Crash safety with the scripted fake agent: interrupted and killed runs resume where they
//! stopped, finished issues are not run again, counters continue, every commit stays reachable.

use crate::support;
use serde_json::json;
use std::time::Duration;
use support::fake::FakeRepo;
use support::issue;

const COMMIT: &str = "mkdir -p w && date +%N >> w/f.txt && git add w && git commit -q -m step";

use support::fake::work_json as work;

fn review(status: &str) -> String {
    support::fake::review_json(status, &["more"])
}

/// What the resume tests add to the fake-agent harness.
trait ResumeExt {
    fn run_and_signal(&self, signal: i32, ready: impl Fn() -> bool) -> i32;
    fn status(&self) -> serde_json::Value;
}

impl ResumeExt for FakeRepo {
    /// Starts `orch run M1`, waits until `ready` holds, then sends `signal`.
    fn run_and_signal(&self, signal: i32, ready: impl Fn() -> bool) -> i32 {
        let mut child = self
            .command(&["run", "M1"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        support::wait_until(
            "the run to be ready for the signal",
            Duration::from_secs(10),
            ready,
        );
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, signal) };
        child.wait().unwrap().code().unwrap_or(128 + signal)
    }

    fn status(&self) -> serde_json::Value {
        let out = self.command(&["status", "--json"]).output().unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn two() -> Vec<(&'static str, String)> {
    vec![
        ("a.md", issue("A-1", "M1", "")),
        ("b.md", issue("B-1", "M1", "")),
    ]
}

#[test]
fn interrupted_mid_phase_then_resumed() {
    // One at a time: A-1 has completed when B-1 is interrupted.
    let repo = FakeRepo::new(
        &two(),
        "jobs = 1\n",
        json!({"B-1/01-dev": [{"run": COMMIT}, {"sleep": 60}, {"message": work("pass")}]}),
    );
    let code = repo.run_and_signal(libc::SIGINT, || {
        repo.events("B-1", "01-dev").contains("\"completed\"")
    });
    assert_eq!(code, 130);
    let status = repo.status();
    assert_eq!(status["issues"][0]["status"], "completed");
    assert_eq!(status["issues"][1]["status"], "interrupted");
    assert!(
        repo.env.root().join("wt/p/M1/B-1").is_dir(),
        "the worktree is kept"
    );

    let (code, out) = repo.run(&["resume"]);
    assert_eq!(code, 0, "{out}");
    // A-1 was not run again; B-1's interrupted dev ran again as phase 02, then its review.
    let calls = repo.keys();
    assert_eq!(
        calls.iter().filter(|k| k.starts_with("A-1/")).count(),
        2,
        "{calls:?}"
    );
    assert_eq!(
        calls
            .iter()
            .filter(|k| k.starts_with("B-1/"))
            .collect::<Vec<_>>(),
        ["B-1/01-dev", "B-1/02-dev", "B-1/03-review"]
    );
    let s = repo.summary("B-1");
    assert_eq!(s["outcome"], "completed");
    assert_eq!(s["phases"].as_array().unwrap().len(), 3);
    assert_eq!(
        s["commits"], 2,
        "the interrupted phase's commit is kept and counted"
    );
    let status = repo.status();
    assert_eq!(status["finished"], true);
    assert!(!repo.env.root().join("wt/p/M1/B-1").exists());
    repo.env.orch().arg("verify-clean").assert().success();
}

#[test]
fn killed_mid_phase_then_resumed() {
    let repo = FakeRepo::new(
        &two(),
        "",
        json!({"A-1/01-dev": [{"run": COMMIT}, {"sleep": 3}, {"message": work("pass")}]}),
    );
    let code = repo.run_and_signal(libc::SIGKILL, || {
        repo.events("A-1", "01-dev").contains("\"completed\"")
    });
    assert_eq!(code, 128 + libc::SIGKILL);
    let status = repo.status();
    assert_eq!(status["issues"][0]["status"], "in_progress");
    assert_eq!(status["issues"][0]["current_phase"]["seq"], 1);
    // The agent outlived orch; resume stops it before running its phase again.

    // The lock of the killed run is provably stale: resume takes it over by itself.
    let (code, out) = repo.run(&["resume", "M1"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Taking over the lock left by pid"), "{out}");
    let s = repo.summary("A-1");
    assert_eq!(s["outcome"], "completed");
    let phases = crate::support::phase_kinds(&s);
    assert_eq!(phases, ["dev", "review"]);
    assert_eq!(
        s["phases"][0]["seq"], 2,
        "the killed phase's number is not reused"
    );
    // The killed phase's commit is pinned, and reachable from the branch.
    let pins = repo
        .env
        .git(&["for-each-ref", "--format=%(refname)", "refs/orch/runs/"]);
    let killed_pin = pins
        .lines()
        .find(|r| r.ends_with("/A-1/01-dev"))
        .expect(&pins)
        .to_owned();
    let branch = s["branch"].as_str().unwrap();
    repo.env
        .git(&["merge-base", "--is-ancestor", &killed_pin, branch]);
    assert_eq!(repo.summary("B-1")["outcome"], "completed");
}

#[test]
fn retry_runs_a_failed_step_again_and_counters_continue() {
    let repo = FakeRepo::new(
        &[("a.md", issue("A-1", "M1", ""))],
        // One at a time, so the event sequence is one order.
        "max_review_cycles = 1\njobs = 1\n",
        json!({
            "A-1/02-review": [{"message": review("changes_required")}],
            "A-1/04-review": [{"message": review("changes_required")}],
        }),
    );
    let (code, _) = repo.run(&["run", "M1"]);
    assert_eq!(code, 100);
    assert_eq!(repo.summary("A-1")["outcome"], "capped");
    assert_eq!(repo.summary("A-1")["cycles"], 1);
    // Resume alone does not touch a capped issue.
    let (code, _) = repo.run(&["resume"]);
    assert_eq!(code, 100);
    assert_eq!(repo.keys().len(), 4);
    // --retry runs the step that ended it again: another fix cycle, counters continuing.
    let (code, out) = repo.run(&["resume", "--retry", "A-1"]);
    assert_eq!(code, 0, "{out}");
    let s = repo.summary("A-1");
    assert_eq!(s["outcome"], "completed");
    assert_eq!(s["cycles"], 2, "never reset");
    let calls = repo.keys();
    assert_eq!(calls[4..], ["A-1/05-fix", "A-1/06-review"]);
    assert_eq!(s["phases"].as_array().unwrap().len(), 6);
}

#[test]
fn resume_without_a_run_explains() {
    let repo = FakeRepo::new(&[("a.md", issue("A-1", "M1", ""))], "", json!({}));
    let (code, out) = repo.run(&["resume"]);
    assert_eq!(code, 1);
    assert!(out.contains("no run to resume"), "{out}");
}

#[test]
fn retry_of_a_failed_issue_runs_the_failed_phase_again() {
    let repo = FakeRepo::new(
        &two(),
        "",
        json!({"A-1/01-dev": [{"run": COMMIT}, {"exit": 3}]}),
    );
    let (code, _) = repo.run(&["run", "M1"]);
    assert_eq!(code, 100);
    assert_eq!(repo.summary("A-1")["outcome"], "failed");
    let (code, out) = repo.run(&["resume", "--retry", "A-1"]);
    assert_eq!(code, 0, "{out}");
    let s = repo.summary("A-1");
    assert_eq!(s["outcome"], "completed");
    assert_eq!(s["phases"][0]["superseded"], true);
    assert_eq!(s["phases"][1]["seq"], 2);
    // B-1 completed in the first run and was not run again.
    assert_eq!(
        repo.keys().iter().filter(|k| k.starts_with("B-1/")).count(),
        2
    );
    let out = repo.command(&["status"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("A-1") && text.contains("completed") && text.contains("(finished"),
        "{text}"
    );
}

#[test]
fn event_log_and_dashboard_for_a_three_issue_run() {
    let repo = FakeRepo::new(
        &[
            ("a.md", issue("A-1", "M1", "")),
            ("b.md", issue("B-1", "M1", "blocked: [C-1]\n")),
            ("c.md", issue("C-1", "M1", "blocked_by: [B-1]\n")),
        ],
        // One at a time, so the event sequence is one order.
        "max_review_cycles = 1\njobs = 1\n",
        json!({
            "A-1/02-review": [{"message": review("changes_required")}],
            "B-1/01-dev": [{"run": COMMIT}, {"run": "git push --force origin main; true"}, {"exit": 2}],
        }),
    );
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 100, "{out}");
    let sequence = repo.event_sequence("p/M1");
    insta::assert_snapshot!("event_sequence_three_issues", sequence.join("\n"));

    let dashboard = std::fs::read_to_string(repo.env.repo.join("TASKS.md")).unwrap();
    let status = repo.status();
    let run_id = status["run_id"].as_str().unwrap();
    let stable = dashboard
        .replace(run_id, "<run>")
        .lines()
        .map(|l| {
            if l.starts_with("Run `") {
                "Run `<run>` · <times>".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("tasks_md_three_issues", stable);
    // orch's own outputs never make the next run's precondition fail.
    repo.env.orch().arg("verify-clean").assert().success();
}

#[test]
fn report_documents_the_run() {
    let repo = FakeRepo::new(
        &[
            ("a.md", issue("A-1", "M1", "")),
            ("b.md", issue("B-1", "M1", "")),
        ],
        "",
        json!({
            "A-1/02-review": [{"message": json!({"status": "changes_required", "summary": "s", "issues": [{"severity": "high", "title": "Missing test", "details": "No test covers the empty ledger", "evidence": "src/lib.rs:3"}], "requiredActions": ["Add the test"], "followups": [], "reviewDocPath": "", "confidence": "high"}).to_string()}],
            "B-1/01-dev": [{"run": COMMIT}, {"run": "git push --force origin main; true"}, {"exit": 4}],
        }),
    );
    repo.run(&["run", "M1"]);
    let out = repo.command(&["report"]).output().unwrap();
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for want in [
        "# Run report — milestone p/M1",
        "| A-1 | completed | 1 |",
        "| B-1 | failed | 0 | 1 |",
        "## A-1",
        "Outcome: **completed**",
        "### 02-review: changes_required",
        "- [high] Missing test: No test covers the empty ledger",
        "### 03-fix: pass",
        "- `w/f.txt` (added, +1 −0)",
        "Outcome: **failed** — dev phase failed: the agent exited with status 4",
        "Guard: 1 refused, 0 violation(s) — `orch guard log B-1`",
    ] {
        assert!(md.contains(want), "missing `{want}` in:\n{md}");
    }
    let out = repo
        .command(&["report", "--json", "--out", "report.json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo.env.repo.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["issues"][0]["phases"].as_array().unwrap().len(), 4);
    assert_eq!(
        report["issues"][0]["phases"][0]["range"]["files_changed"],
        1
    );
    assert_eq!(
        report["issues"][0]["phases"][1]["findings"][0]["title"],
        "Missing test"
    );
}

#[test]
fn killed_mid_fix_resumes_with_the_cycle_counter_intact() {
    let repo = FakeRepo::new(
        &[("a.md", issue("A-1", "M1", ""))],
        "max_review_cycles = 2\n",
        json!({
            "A-1/02-review": [{"message": review("changes_required")}],
            "A-1/03-fix": [{"run": COMMIT}, {"sleep": 3}, {"message": work("pass")}],
        }),
    );
    let code = repo.run_and_signal(libc::SIGKILL, || {
        repo.events("A-1", "03-fix").contains("\"completed\"")
    });
    assert_eq!(code, 128 + libc::SIGKILL);
    assert_eq!(repo.status()["issues"][0]["current_phase"]["phase"], "fix");
    let (code, out) = repo.run(&["resume", "--force-unlock"]);
    assert_eq!(code, 0, "{out}");
    let s = repo.summary("A-1");
    assert_eq!(s["outcome"], "completed");
    let phases: Vec<String> = s["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{:02}-{}",
                p["seq"].as_u64().unwrap(),
                p["phase"].as_str().unwrap()
            )
        })
        .collect();
    // dev, review, (fix 03 killed: no record), fix 04 again, review 05.
    assert_eq!(phases, ["01-dev", "02-review", "04-fix", "05-review"]);
    assert_eq!(
        s["cycles"], 1,
        "the re-run fix is the same cycle, not a new one"
    );
    // Every commit any phase made is reachable: the killed fix's commit is pinned and on the branch.
    let pins = repo
        .env
        .git(&["for-each-ref", "--format=%(refname)", "refs/orch/runs/"]);
    let killed = pins
        .lines()
        .find(|r| r.ends_with("/A-1/03-fix"))
        .expect(&pins)
        .to_owned();
    repo.env.git(&[
        "merge-base",
        "--is-ancestor",
        &killed,
        s["branch"].as_str().unwrap(),
    ]);
    assert!(
        !repo.env.root().join("wt/p/M1/A-1").exists(),
        "no orphan worktree"
    );
}

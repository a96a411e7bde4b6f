//! The engine's loop, resume and retry logic in-process, through the [`ScriptedRunner`]:
//! real repositories, worktrees, captures, pins, audit and run state; the agent is a script,
//! so each test takes milliseconds rather than the seconds of a subprocess agent. The same
//! paths run end to end through the real codex in `run_codex`.

use crate::support::issue;
use crate::support::scripted::{review, work, Act, InProcess, ScriptedRunner, Start};
use orch::model::event::EngineEvent;
use orch::model::phase::{PhaseFailure, PhaseKind};

fn two_stacked() -> Vec<(&'static str, String)> {
    vec![
        ("a.md", issue("A-1", "M1", "blocked: [B-1]\n")),
        ("b.md", issue("B-1", "M1", "blocked_by: [A-1]\n")),
    ]
}

fn one() -> Vec<(&'static str, String)> {
    vec![("a.md", issue("A-1", "M1", ""))]
}

fn changes(actions: &[&str]) -> Vec<Act> {
    vec![Act::Reply(review("changes_required", actions))]
}

#[test]
fn a_passing_loop_is_dev_then_review_and_a_dependent_stacks_on_its_work() {
    let repo = InProcess::new(&two_stacked(), "");
    let runner = ScriptedRunner::new();
    let ran = repo.run(&runner, Start::default());
    runner.assert_played();
    assert_eq!(
        runner.keys(),
        ["A-1/01-dev", "A-1/02-review", "B-1/01-dev", "B-1/02-review"]
    );
    assert_eq!(ran.outcome("A-1"), "completed");
    assert_eq!(ran.outcome("B-1"), "completed");
    let a = ran.issue("A-1");
    assert_eq!(a.commits, 1);
    // B-1 starts from A-1's tip, and each phase's work is pinned under the run's refs.
    let a_tip = repo.env.git(&["rev-parse", &a.branch]).trim().to_owned();
    assert_eq!(ran.issue("B-1").base.as_deref(), Some(a_tip.as_str()));
    let pinned = repo
        .env
        .git(&["rev-parse", "refs/orch/runs/run-1/A-1/01-dev"]);
    assert_eq!(pinned.trim(), a_tip);
    // The loop ended: the worktrees are gone, the records stay.
    let worktrees = repo.env.git(&["worktree", "list", "--porcelain"]);
    assert_eq!(worktrees.matches("worktree ").count(), 1, "{worktrees}");
    assert!(a.log_dir.join("01-dev/range.json").is_file());
    assert!(a.log_dir.join("02-review/result.json").is_file());
}

#[test]
fn changes_required_runs_a_fix_in_the_dev_session_with_the_review_in_its_prompt() {
    let repo = InProcess::new(&one(), "");
    let runner = ScriptedRunner::new().on("A-1/02-review", changes(&["rename the flag"]));
    let ran = repo.run(&runner, Start::default());
    runner.assert_played();
    assert_eq!(
        runner.keys(),
        ["A-1/01-dev", "A-1/02-review", "A-1/03-fix", "A-1/04-review"]
    );
    let fix = &runner.calls()[2];
    assert_eq!(fix.kind, PhaseKind::Fix);
    assert_eq!(fix.resume.as_deref(), Some("s-A-1/01-dev"));
    assert!(fix.prompt.contains("rename the flag"), "{}", fix.prompt);
    let a = ran.issue("A-1");
    assert_eq!(
        (ran.outcome("A-1"), a.cycles, a.commits),
        ("completed", 1, 2)
    );
    // The fix continued the dev session, whose counters are cumulative: each phase counts
    // its own 110 tokens once.
    assert_eq!(a.tokens.total(), 4 * 110);
    let fix_record = &a.phases[2];
    assert_eq!(fix_record.usage.total(), 110);
}

#[test]
fn a_review_that_never_passes_is_capped_and_its_dependent_skipped() {
    let repo = InProcess::new(&two_stacked(), "max_review_cycles = 1\n");
    let runner = ScriptedRunner::new()
        .on("A-1/02-review", changes(&["one"]))
        .on("A-1/04-review", changes(&["two"]));
    let ran = repo.run(&runner, Start::default());
    runner.assert_played();
    assert_eq!(ran.outcome("A-1"), "capped");
    assert_eq!(ran.issue("A-1").cycles, 1);
    assert_eq!(ran.issue("A-1").remaining_actions, ["two"]);
    assert_eq!(ran.outcome("B-1"), "skipped");
    assert_eq!(
        ran.issue("B-1").reason.as_deref(),
        Some("depends on A-1 (capped) which did not pass")
    );
    assert!(!runner.keys().iter().any(|k| k.starts_with("B-1")));
}

#[test]
fn a_transient_failure_is_retried_as_the_same_phase() {
    let repo = InProcess::new(&one(), "retry_backoff = \"1s\"\n");
    let overloaded = Act::Fail {
        failure: PhaseFailure::TurnFailed {
            message: "stream error".into(),
        },
        stderr: "HTTP 503 Service Unavailable",
    };
    let runner = ScriptedRunner::new().on("A-1/01-dev", vec![overloaded]);
    let ran = repo.run(&runner, Start::default());
    runner.assert_played();
    assert_eq!(runner.keys(), ["A-1/01-dev", "A-1/01-dev", "A-1/02-review"]);
    assert_eq!(ran.outcome("A-1"), "completed");
    let retries: Vec<u32> = ran
        .events
        .iter()
        .filter_map(|e| match e {
            EngineEvent::PhaseRetry { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(retries, [2]);
    let dir = ran.issue("A-1").log_dir.join("01-dev");
    let kept = std::fs::read_to_string(dir.join("stderr.attempt-1.log")).unwrap();
    assert!(kept.contains("503"), "{kept}");
    assert!(dir.join("events.attempt-1.jsonl").is_file());
    assert_eq!(ran.issue("A-1").phases.len(), 2, "the retry is one phase");
}

#[test]
fn what_a_failed_attempt_spent_in_its_own_session_counts_for_the_phase() {
    // The first attempt ran in a session of its own (110 tokens) and failed transiently;
    // the retry spent 110 in the phase's session: the phase spent 220.
    let repo = InProcess::new(&one(), "retry_backoff = \"1s\"\n");
    let overloaded = Act::Fail {
        failure: PhaseFailure::TurnFailed {
            message: "stream error".into(),
        },
        stderr: "HTTP 503 Service Unavailable",
    };
    let runner = ScriptedRunner::new().on("A-1/01-dev", vec![Act::Session("s-lost"), overloaded]);
    let ran = repo.run(&runner, Start::default());
    runner.assert_played();
    assert_eq!(ran.outcome("A-1"), "completed");
    let dev = &ran.issue("A-1").phases[0];
    assert_eq!(dev.usage.total(), 220);
}

#[test]
fn a_failure_that_is_not_transient_is_not_retried() {
    let repo = InProcess::new(&one(), "retry_backoff = \"1s\"\n");
    let failed = Act::Fail {
        failure: PhaseFailure::TurnFailed {
            message: "the model refused".into(),
        },
        stderr: "",
    };
    let runner = ScriptedRunner::new().on("A-1/01-dev", vec![failed]);
    let ran = repo.run(&runner, Start::default());
    runner.assert_played();
    assert_eq!(runner.keys(), ["A-1/01-dev"]);
    assert_eq!(ran.outcome("A-1"), "failed");
}

#[test]
fn an_interrupted_run_resumes_after_its_last_finished_phase() {
    let repo = InProcess::new(&two_stacked(), "");
    let first =
        ScriptedRunner::new().on("B-1/01-dev", vec![Act::Commit("b.txt"), Act::AwaitCancel]);
    let ran = repo.run(
        &first,
        Start {
            cancel_at: Some(|e| matches!(e, EngineEvent::PhaseStarted { id, .. } if id == "B-1")),
            ..Start::default()
        },
    );
    assert_eq!(ran.outcome("A-1"), "completed");
    assert_eq!(ran.outcome("B-1"), "interrupted");
    let b = ran.issue("B-1").clone();
    assert!(repo.env.root().join("wt/p/M1/B-1").is_dir(), "kept");
    // What the interrupted phase committed is pinned.
    let pinned = repo
        .env
        .git(&["rev-parse", "refs/orch/runs/run-1/B-1/01-dev"]);
    assert_eq!(
        pinned.trim(),
        repo.env.git(&["rev-parse", &b.branch]).trim()
    );

    let second = ScriptedRunner::new();
    let resumed = repo.run(
        &second,
        Start {
            resume: Some(ran.state.clone()),
            ..Start::default()
        },
    );
    assert_eq!(second.keys(), ["B-1/02-dev", "B-1/03-review"]);
    assert_eq!(resumed.outcome("A-1"), "completed");
    assert_eq!(resumed.outcome("B-1"), "completed");
    let seqs: Vec<u32> = resumed.issue("B-1").phases.iter().map(|p| p.seq).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(
        resumed.issue("B-1").commits,
        2,
        "the interrupted phase's commit counts"
    );
}

#[test]
fn a_retried_failure_supersedes_the_step_that_ended_it() {
    let repo = InProcess::new(&one(), "");
    let broken = Act::Fail {
        failure: PhaseFailure::NoFinalMessage,
        stderr: "",
    };
    let first = ScriptedRunner::new().on("A-1/02-review", vec![broken]);
    let ran = repo.run(&first, Start::default());
    assert_eq!(ran.outcome("A-1"), "failed");

    // A plain resume keeps the failure; `--retry` runs the review again.
    let kept = ScriptedRunner::new();
    let resumed = repo.run(
        &kept,
        Start {
            resume: Some(ran.state.clone()),
            ..Start::default()
        },
    );
    assert!(kept.keys().is_empty());
    assert_eq!(resumed.outcome("A-1"), "failed");

    let retried = ScriptedRunner::new();
    let again = repo.run(
        &retried,
        Start {
            resume: Some(resumed.state.clone()),
            retry: vec!["A-1"],
            ..Start::default()
        },
    );
    assert_eq!(retried.keys(), ["A-1/03-review"]);
    assert_eq!(again.outcome("A-1"), "completed");
    let phases: Vec<(u32, bool)> = again
        .issue("A-1")
        .phases
        .iter()
        .map(|p| (p.seq, p.superseded))
        .collect();
    assert_eq!(phases, [(1, false), (2, true), (3, false)]);
}

#[test]
fn a_retried_capped_issue_gets_another_round_of_fixes() {
    let repo = InProcess::new(&one(), "max_review_cycles = 1\n");
    let first = ScriptedRunner::new()
        .on("A-1/02-review", changes(&["one"]))
        .on("A-1/04-review", changes(&["two"]));
    let ran = repo.run(&first, Start::default());
    assert_eq!(ran.outcome("A-1"), "capped");

    let retried = ScriptedRunner::new();
    let again = repo.run(
        &retried,
        Start {
            resume: Some(ran.state.clone()),
            retry: vec!["A-1"],
            ..Start::default()
        },
    );
    assert_eq!(retried.keys(), ["A-1/05-fix", "A-1/06-review"]);
    assert_eq!(again.outcome("A-1"), "completed");
    assert_eq!(again.issue("A-1").cycles, 2);
    // The fix addresses the last review's findings.
    assert!(retried.calls()[0].prompt.contains("two"));
}

#[test]
fn the_trunk_moved_by_an_agent_is_put_back_and_fails_the_phase() {
    let repo = InProcess::new(&one(), "");
    let trunk = repo.env.git(&["rev-parse", "main"]);
    let stray = vec![
        Act::Commit("a.txt"),
        Act::Branch("main"),
        Act::Reply(work("pass")),
    ];
    let runner = ScriptedRunner::new().on("A-1/01-dev", stray);
    let ran = repo.run(&runner, Start::default());
    runner.assert_played();
    assert_eq!(ran.outcome("A-1"), "failed");
    let dev = &ran.issue("A-1").phases[0];
    assert_eq!(dev.guard.violations, 1);
    assert!(matches!(
        &dev.failure,
        Some(PhaseFailure::GuardViolation { changes }) if changes == &["refs/heads/main"]
    ));
    assert_eq!(repo.env.git(&["rev-parse", "main"]), trunk, "restored");
}

#[test]
fn a_branch_made_on_top_of_the_issue_joins_its_stack() {
    let repo = InProcess::new(&one(), "");
    let stacked = vec![
        Act::Commit("a.txt"),
        Act::Branch("a-1-part-2"),
        Act::Reply(work("pass")),
    ];
    let runner = ScriptedRunner::new().on("A-1/01-dev", stacked);
    let ran = repo.run(&runner, Start::default());
    runner.assert_played();
    assert_eq!(ran.outcome("A-1"), "completed");
    assert_eq!(ran.issue("A-1").phases[0].guard.violations, 0);
    assert!(!repo.env.git(&["branch", "--list", "a-1-part-2"]).is_empty());
}

#[test]
fn a_deferred_dev_ends_the_issue_with_its_questions() {
    let repo = InProcess::new(&two_stacked(), "");
    let mut deferred = work("deferred");
    deferred["deferred"] = serde_json::json!(["pick a storage engine"]);
    deferred["openQuestions"] = serde_json::json!(["sqlite or postgres?"]);
    let runner = ScriptedRunner::new().on("A-1/01-dev", vec![Act::Reply(deferred)]);
    let ran = repo.run(&runner, Start::default());
    runner.assert_played();
    assert_eq!(ran.outcome("A-1"), "deferred");
    let a = ran.issue("A-1");
    assert_eq!(a.deferred, ["pick a storage engine"]);
    assert_eq!(a.open_questions, ["sqlite or postgres?"]);
    assert_eq!(ran.outcome("B-1"), "skipped");
}

#[test]
fn a_result_outside_the_contract_fails_the_phase() {
    let repo = InProcess::new(&one(), "");
    let mut bad = work("pass");
    bad["status"] = "done".into();
    let runner = ScriptedRunner::new().on("A-1/01-dev", vec![Act::Reply(bad)]);
    let ran = repo.run(&runner, Start::default());
    runner.assert_played();
    assert_eq!(ran.outcome("A-1"), "failed");
    assert!(matches!(
        ran.issue("A-1").phases[0].failure,
        Some(PhaseFailure::SchemaMismatch { .. })
    ));
}

#[test]
fn a_fix_interrupted_then_resumed_continues_the_dev_session_and_its_counts() {
    let repo = InProcess::new(&one(), "");
    // One runner for both runs: its sessions' counters carry on, as an agent's do.
    let runner = ScriptedRunner::new()
        .on("A-1/02-review", changes(&["tighten it"]))
        .on("A-1/03-fix", vec![Act::AwaitCancel]);
    let ran = repo.run(
        &runner,
        Start {
            cancel_at: Some(|e| {
                matches!(e, EngineEvent::PhaseStarted { phase, .. } if *phase == PhaseKind::Fix)
            }),
            ..Start::default()
        },
    );
    assert_eq!(ran.outcome("A-1"), "interrupted");
    let resumed = repo.run(
        &runner,
        Start {
            resume: Some(ran.state.clone()),
            ..Start::default()
        },
    );
    let calls = runner.calls();
    let keys: Vec<&str> = calls.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "A-1/01-dev",
            "A-1/02-review",
            "A-1/03-fix",
            "A-1/04-fix",
            "A-1/05-review"
        ]
    );
    assert_eq!(calls[3].resume.as_deref(), Some("s-A-1/01-dev"));
    assert!(calls[3].prompt.contains("tighten it"));
    let a = resumed.issue("A-1");
    assert_eq!(resumed.outcome("A-1"), "completed");
    // Every phase counts its own tokens once, across the resume too; the fix that was cut
    // off never reported any.
    let each: Vec<u64> = a.phases.iter().map(|p| p.usage.total()).collect();
    assert_eq!(each, [110, 110, 0, 110, 110]);
    assert_eq!(a.tokens.total(), 4 * 110);
}

#[test]
fn every_event_is_stamped_once_on_one_clock_and_the_state_keeps_the_stamp() {
    let repo = InProcess::new(&two_stacked(), "");
    let runner = ScriptedRunner::new().on("A-1/02-review", changes(&["one"]));
    let ran = repo.run(&runner, Start::default());
    assert_eq!(ran.stamps.len(), ran.events.len(), "one stamp per event");
    let elapsed: Vec<u64> = ran.stamps.iter().map(|(_, ms)| *ms).collect();
    assert!(
        elapsed.windows(2).all(|w| w[0] <= w[1]),
        "the run's clock never goes back: {elapsed:?}"
    );
    let times: Vec<&str> = ran.stamps.iter().map(|(ts, _)| ts.as_str()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert!(
        times
            .iter()
            .all(|t| t.len() == 20 && t.ends_with('Z') && t.as_bytes()[10] == b'T'),
        "RFC 3339 in UTC: {times:?}"
    );
    // The state's times are the stamps of the events that made them, not times of its own.
    assert_eq!(ran.state.started_at, ran.stamps[0].0);
    assert_eq!(&ran.state.updated_at, &ran.stamps.last().unwrap().0);
}

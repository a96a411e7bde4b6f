//! Budgets with the fake agent, whose usage is fixed by its steps (a default dev phase
//! reports 30 input + 3 output tokens, a default review 20 + 2): a run budget lets exactly
//! the phases that fit start; an issue's budget stops that issue while the others go on; a
//! resume continues the count and needs a larger budget to go further; a dollar budget is
//! priced per model, and refused when it cannot be.

use crate::support;
use serde_json::json;
use support::fake::review_json as review;
use support::fake::FakeRepo;
use support::issue;

fn two() -> Vec<(&'static str, String)> {
    vec![
        ("a.md", issue("A-1", "M1", "")),
        ("b.md", issue("B-1", "M1", "")),
    ]
}

#[test]
fn a_run_budget_starts_the_phases_that_fit_and_a_resume_needs_more() {
    // Reserves: 40 before a phase of its kind ran, then the largest so far. A-1 dev (40
    // reserved, 33 spent), A-1 review (40; 55), B-1 dev (33; 88): B-1's review would need
    // 22 more than 88 of 100.
    let repo = FakeRepo::new(
        &two(),
        "jobs = 1\nbudget_tokens = 100\nphase_reserve_tokens = 40\n",
        json!({}),
    );
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 100, "{out}");
    assert_eq!(repo.keys(), ["A-1/01-dev", "A-1/02-review", "B-1/01-dev"]);
    assert_eq!(repo.summary("A-1")["outcome"], "completed");
    let b = repo.summary("B-1");
    assert_eq!(b["outcome"], "budget", "{b:#}");
    assert_eq!(b["budget"]["scope"], "run");
    assert_eq!(b["budget"]["spent"], 88.0);
    assert_eq!(b["budget"]["reserve"], 22.0);
    assert!(
        out.contains("Budget: the run's budget: 88 of 100 tokens spent, the next phase may take 22. Continue with `orch resume p/M1 --budget-tokens <more>`."),
        "{out}"
    );
    // The summary, TASKS.md and the report say what was spent of what.
    assert!(
        out.contains("BUDGET: 88 of 100 tokens spent (0 cached input); 100 tokens for the run"),
        "{out}"
    );
    let tasks = std::fs::read_to_string(repo.env.repo.join("TASKS.md")).unwrap();
    assert!(
        tasks.contains("88 of 100 tokens spent (0 cached input)"),
        "{tasks}"
    );
    let report = repo.command(&["report"]).output().unwrap();
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(report.contains("88 of 100 tokens spent"), "{report}");
    // B-1's worktree waits for the resume; status says what was spent of what.
    assert!(repo.env.root().join("wt/p/M1/B-1").is_dir());
    let status = repo.command(&["status"]).output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.contains("Budget: 100 tokens for the run; a phase is reserved 40 tokens until one of its kind has run; 88 of 100 tokens spent"),
        "{status}"
    );
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("B-1") && l.contains("budget")),
        "{status}"
    );

    // The count goes on: the same budget starts nothing.
    let (code, out) = repo.run(&["resume"]);
    assert_eq!(code, 100, "{out}");
    assert_eq!(repo.keys().len(), 3);
    // A larger one, recorded in the event log, finishes the run.
    let (code, out) = repo.run(&["resume", "--budget-tokens", "120"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(repo.keys().len(), 4);
    assert_eq!(repo.summary("B-1")["outcome"], "completed");
    let events = repo.event_log("p/M1");
    assert!(events.contains("\"budget_exhausted\""), "{events}");
    assert!(events.contains("\"run_tokens\":120"), "{events}");
    assert!(events.contains("\"budget_reserved\""), "{events}");
}

#[test]
fn the_dry_run_prints_the_budget_in_force() {
    let repo = FakeRepo::new(&two(), "issue_budget_tokens = 5000\n", json!({}));
    let (code, out) = repo.run(&["run", "M1", "--dry-run", "--budget-tokens", "90000"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("  - budget: 90000 tokens for the run; 5000 tokens per issue; a phase is reserved 200000 tokens until one of its kind has run"),
        "{out}"
    );
    let (_, out) = FakeRepo::new(&two(), "", json!({})).run(&["run", "M1", "--dry-run"]);
    assert!(out.contains("  - budget: none"), "{out}");
}

#[test]
fn an_issue_budget_stops_that_issue_and_the_others_go_on() {
    // A-1's review asks for changes after four commands (60 + 6 tokens): 33 + 66 = 99 spent,
    // and its fix (reserve 20) would pass 100. B-1 fits: 33, then a review reserved 66.
    let repo = FakeRepo::new(
        &two(),
        "jobs = 1\nissue_budget_tokens = 100\nphase_reserve_tokens = 20\n",
        json!({"A-1/02-review": [
            {"run": "true"}, {"run": "true"}, {"run": "true"}, {"run": "true"},
            {"message": review("changes_required", &["more tests"])},
        ]}),
    );
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 100, "{out}");
    let a = repo.summary("A-1");
    assert_eq!(a["outcome"], "budget", "{a:#}");
    assert_eq!(a["budget"]["scope"], "issue");
    assert_eq!(a["cycles"], 0);
    assert_eq!(repo.summary("B-1")["outcome"], "completed");
    assert!(out.contains("--issue-budget-tokens <more>"), "{out}");
    // Each issue's tokens of its budget.
    assert!(
        out.lines()
            .any(|l| l.starts_with("A-1") && l.contains(" 99/100 ")),
        "{out}"
    );
}

#[test]
fn a_dollar_budget_is_priced_per_model_and_refused_when_it_cannot_be() {
    let repo = FakeRepo::new(&two(), "jobs = 1\nbudget_usd = 1.0\n", json!({}));
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the model the agent runs is not named"),
        "{out}"
    );
    assert!(repo.keys().is_empty());
    // $10,000 per million input and output tokens: a dev phase (33 tokens) costs $0.33, and
    // a phase before any of its kind is reserved 30 tokens at the dearer rate, $0.30.
    repo.env.write(
        "orch.toml",
        "worktree_root = \"../wt\"\njobs = 1\nbudget_usd = 0.6\nphase_reserve_tokens = 30\n\
         [codex]\nargs = [\"-m\", \"gpt-test\"]\n\
         [pricing.\"gpt-test\"]\ninput = 10000.0\noutput = 10000.0\n",
    );
    repo.env.git(&["commit", "-qam", "price"]);
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 100, "{out}");
    // A-1 dev: $0.30 reserved, $0.33 spent; its review: $0.30 more would pass $0.60.
    assert_eq!(repo.keys(), ["A-1/01-dev"]);
    let a = repo.summary("A-1");
    assert_eq!(a["budget"]["unit"], "usd", "{a:#}");
    assert!(out.contains("$0.33 of $0.60 spent"), "{out}");
    // What was spent in dollars is shown beside the tokens.
    assert!(
        out.contains("BUDGET: 33 tokens spent (0 cached input), $0.33 of $0.60;"),
        "{out}"
    );
    assert_eq!(
        a["phases"][0]["cost_usd"]
            .as_f64()
            .map(|c| (c * 100.0).round()),
        Some(33.0)
    );
    let status = repo.command(&["status"]).output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.contains("33 tokens spent (0 cached input), $0.33 of $0.60"),
        "{status}"
    );
    assert!(out.contains("--budget-usd <more>"), "{out}");
}

#[test]
fn the_budget_stops_a_real_codex_run_before_the_next_phase_and_a_resume_finishes_it() {
    use support::codex::CodexRepo;
    // The mock model reports 100 input + 20 output tokens per request: dev spends at least
    // 120 of the 1000, and the review, reserved 900 before any review ran, does not fit.
    let run = CodexRepo::new(
        &[("a1.md", issue("A-1", "M1", ""))],
        "budget_tokens = 1000\nphase_reserve_tokens = 900\n",
    );
    let (code, stdout, stderr) = run.run(&["M1"]);
    assert_eq!(code, 100, "{stdout}\n{stderr}");
    let s = run.summary("A-1");
    assert_eq!(s["outcome"], "budget", "{s:#}");
    let phases = s["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 1, "only dev ran");
    let dev_tokens = phases[0]["usage"]["input_tokens"].as_u64().unwrap()
        + phases[0]["usage"]["output_tokens"].as_u64().unwrap();
    assert!(dev_tokens >= 120, "{dev_tokens}");
    assert_eq!(s["budget"]["spent"].as_f64(), Some(dev_tokens as f64));
    assert!(stderr.contains("--budget-tokens <more>"), "{stderr}");

    let out = run
        .orch()
        .args(["resume", "--budget-tokens", "100000"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = run.summary("A-1");
    assert_eq!(s["outcome"], "completed");
    let kinds: Vec<&str> = s["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["dev", "review"], "the dev phase did not run again");
}

#[test]
fn a_retry_that_does_not_fit_does_not_run_and_the_resume_runs_the_phase_again() {
    // A-1's dev fails transiently; its retry would hold another 60 of 100 beside the 60 the
    // phase holds: it does not run, and the issue waits for a larger budget.
    let repo = FakeRepo::new(
        &[("a.md", issue("A-1", "M1", ""))],
        "budget_tokens = 100\nphase_reserve_tokens = 60\nretry_backoff = \"1s\"\n",
        json!({"A-1/01-dev": {"attempts": [
            [{"fail": "unexpected status 503 Service Unavailable"}],
            [{"run": "mkdir -p work && echo a > work/a.txt && git add work && git commit -qm a"},
             {"message": support::fake::work_json("pass")}],
        ]}}),
    );
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 100, "{out}");
    assert_eq!(repo.keys(), ["A-1/01-dev"], "the retry did not run");
    let a = repo.summary("A-1");
    assert_eq!(a["outcome"], "budget", "{a:#}");
    assert_eq!(a["phases"][0]["failure"]["kind"], "over_budget");
    let (code, out) = repo.run(&["resume", "--budget-tokens", "1000"]);
    assert_eq!(code, 0, "{out}");
    let a = repo.summary("A-1");
    assert_eq!(a["outcome"], "completed", "{a:#}");
    let phases = crate::support::phase_kinds(&a);
    assert_eq!(
        phases,
        ["dev", "dev", "review"],
        "the stopped dev ran again"
    );
}

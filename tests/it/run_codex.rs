//! `orch run` end to end through the real `codex` binary (pinned, installed by
//! scripts/install-tools.sh), pointed at the local mock model server.

use crate::support;
use crate::support::codex::CodexRepo;
use crate::support::mock_model::{self, dev_json, review_json, Reply};
use std::path::Path;
use support::issue;

#[test]
fn three_issues_with_a_dependency_all_pass_two_in_flight() {
    let run = CodexRepo::new(
        &[
            ("a1.md", issue("A-1", "M1", "blocked: [A-2]\n")),
            ("a2.md", issue("A-2", "M1", "blocked_by: [A-1]\n")),
            ("a3.md", issue("A-3", "M1", "")),
        ],
        "",
    );
    // A-1's dev commits only once A-3's agent has run a command: the run passes only if both
    // are in flight at once (one at a time, A-1 would wait in vain and fail). The sandbox
    // lets A-3 write its worktree and the common dir's logs/, A-1 read everything; the mark
    // goes in logs/, which outlives A-3's worktree (A-3 may be done and gone before A-1 looks).
    let mark = format!("{}/.git/logs/a3-at-work", run.env.repo.display());
    let commit = |id: &str| {
        format!("mkdir -p orch-demo && printf '%s\\n' 'Work for {id} (01-dev)' >> orch-demo/{id}.md && git add orch-demo && git commit -q -m '{id}: 01-dev'")
    };
    // codex waits at most 30 s for a command, so A-1 looks for the mark in turns of 20 s
    // (up to 100 s under load) and commits in a last one.
    let look = format!("for i in $(seq 200); do test -e {mark} && break; sleep 0.1; done");
    let mut a1 = vec![Reply::Commands(vec![look]); 5];
    a1.push(Reply::Commands(vec![format!(
        "test -e {mark} && {}",
        commit("A-1")
    )]));
    run.model.script("A-1/01-dev", a1);
    run.model.script(
        "A-3/01-dev",
        vec![Reply::Commands(vec![format!(
            "touch {mark} && {}",
            commit("A-3")
        )])],
    );
    let (code, stdout, stderr) = run.run(&["M1"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for id in ["A-1", "A-2", "A-3"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(id) && l.contains("completed")),
            "{stdout}"
        );
    }
    for id in ["A-1", "A-2", "A-3"] {
        let s = run.summary(id);
        assert_eq!(s["outcome"], "completed");
        assert_eq!(s["commits"], 1, "{id}: {s}");
        let branch = run.branch_of(id);
        let log = run
            .env
            .git(&["log", "--format=%s", &format!("main..{branch}")]);
        // A-2 depends on A-1 alone, so it is stacked on A-1's branch.
        let want = if id == "A-2" {
            "A-2: 01-dev\nA-1: 01-dev".to_owned()
        } else {
            format!("{id}: 01-dev")
        };
        assert_eq!(log.trim(), want);
        let dev = run.logs().join(id).join("01-dev");
        for file in [
            "prompt.md",
            "events.jsonl",
            "stderr.log",
            "result.json",
            "range.json",
            "schema.json",
        ] {
            assert!(dev.join(file).is_file(), "{id}: missing {file}");
        }
        let events = std::fs::read_to_string(dev.join("events.jsonl")).unwrap();
        assert!(events
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
        assert!(events.contains("\"thread.started\"") && events.contains("\"command_execution\""));
        assert!(std::fs::read_to_string(dev.join("prompt.md"))
            .unwrap()
            .contains(&format!("orch-phase-key: {id}/01-dev")));
    }
    // A-2 runs after A-1 (its dependency); A-3, independent, was in flight beside A-1: its
    // agent asked the model before A-1's dev was done.
    let order: Vec<String> = run
        .model
        .requests()
        .iter()
        .map(|(k, _)| k.to_owned())
        .collect();
    let first = |key: &str| order.iter().position(|k| k.starts_with(key)).unwrap();
    let last = |key: &str| order.iter().rposition(|k| k.starts_with(key)).unwrap();
    assert!(last("A-1/") < first("A-2/"), "{order:?}");
    assert!(first("A-3/") < last("A-1/01-dev"), "{order:?}");
    // Worktrees are gone, the repository is clean for the next run, diff works.
    assert!(!run.env.root().join("wt/p/M1/A-1").exists());
    run.orch().arg("verify-clean").assert().success();
    run.orch()
        .args(["diff", "A-2"])
        .assert()
        .success()
        .stdout(predicates::str::contains("+Work for A-2 (01-dev)"));
    let run_files: Vec<_> = std::fs::read_dir(run.env.repo.join("logs/orch/p/M1"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("run-"))
        .collect();
    assert_eq!(run_files.len(), 1);
}

/// Two projects' M1 in one repository, through the real codex: each its own branches, logs
/// and state; every phase is told its milestone doc.
#[test]
fn a_project_milestone_of_a_many_project_tree() {
    let run = CodexRepo::with_tree("projects-tree");
    let (code, stdout, stderr) = run.run(&["M1", "--project", "beacon"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (code, stdout, stderr) = run.run(&["atlas/M1"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for (scope, id) in [
        ("beacon/M1", "BEACON-1"),
        ("beacon/M1", "LOCAL-TBD"),
        ("atlas/M1", "ATLAS-2"),
    ] {
        let s: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                crate::support::run_logs(&run.env.repo, scope)
                    .join(id)
                    .join("summary.json"),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(s["outcome"], "completed", "{scope} {id}");
        assert!(s["branch"]
            .as_str()
            .unwrap()
            .starts_with(&format!("orch/{scope}/{id}-")));
    }
    // LOCAL-TBD (beacon's) is stacked on BEACON-1: its branch holds both commits.
    let log = run.env.git(&[
        "log",
        "--format=%s",
        "main..orch/beacon/M1/LOCAL-TBD-alert-on-status-changes",
    ]);
    assert_eq!(log.trim(), "LOCAL-TBD: 01-dev\nBEACON-1: 01-dev");
    let prompt = std::fs::read_to_string(
        crate::support::run_logs(&run.env.repo, "atlas/M1").join("ATLAS-1/01-dev/prompt.md"),
    )
    .unwrap();
    assert!(
        prompt.contains("docs/projects/atlas/milestones/M1-event-pipeline.md")
            && prompt.contains("of milestone `atlas/M1`"),
        "{prompt}"
    );
    run.orch()
        .args(["status", "beacon/M1"])
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "of milestone beacon/M1 (finished",
        ));
}

/// The context block a logged prompt starts with (it must parse).
fn context_of(prompt_md: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(prompt_md).unwrap();
    orch::agent::contract::context::parse(&text).unwrap_or_else(|| {
        panic!(
            "{} does not start with ORCH_CONTEXT: {text}",
            prompt_md.display()
        )
    })
}

/// The dev-auto contract through the real codex: every prompt opens with a parseable
/// ORCH_CONTEXT; the model answers in the contract's shape (echoing its context); a fix gets
/// the review in `reviewResult` and the review after it the fix's summary in
/// `priorFixSummary`; a `deferred` dev ends its issue for a human, and its dependent is skipped.
#[test]
fn the_dev_auto_contract_end_to_end() {
    let run = CodexRepo::new(
        &[
            ("a1.md", issue("A-1", "M1", "")),
            ("a2.md", issue("A-2", "M1", "blocked: [A-3]\n")),
            ("a3.md", issue("A-3", "M1", "blocked_by: [A-2]\n")),
        ],
        "",
    );
    run.model.script(
        "A-1/02-review",
        vec![Reply::Message(review_json(
            "changes_required",
            &["Reject unbalanced postings"],
        ))],
    );
    let mut fixed: serde_json::Value = serde_json::from_str(&mock_model::fix_json("pass")).unwrap();
    fixed["summary"] = "Unbalanced postings are rejected now, with a test.".into();
    run.model.script(
        "A-1/03-fix",
        vec![
            Reply::Commands(vec!["echo fix >> fix.txt && git add fix.txt && git commit -q -m '[A-1] fix(post): reject unbalanced postings'".into()]),
            Reply::Message(fixed.to_string()),
        ],
    );
    let mut deferred: serde_json::Value = serde_json::from_str(&dev_json("deferred")).unwrap();
    deferred["summary"] = "Which currency do balances use?".into();
    deferred["deferred"] =
        serde_json::json!(["The balance endpoint, until the currency is decided"]);
    deferred["openQuestions"] = serde_json::json!(["EUR or the account's own currency?"]);
    run.model
        .script("A-2/01-dev", vec![Reply::Message(deferred.to_string())]);
    let (code, stdout, stderr) = run.run(&["M1"]);
    assert_eq!(code, 100, "{stdout}\n{stderr}");

    let a1 = run.summary("A-1");
    assert_eq!(
        (a1["outcome"].as_str(), a1["cycles"].as_u64()),
        (Some("completed"), Some(1))
    );
    let logs = run.logs().join("A-1");
    let dev = context_of(&logs.join("01-dev/prompt.md"));
    let worktree = run.env.root().join("wt/p/M1/A-1");
    assert_eq!(dev["issueId"], "A-1");
    assert_eq!(dev["milestoneId"], "M1");
    assert_eq!(dev["projectId"], "p");
    assert_eq!(dev["phase"], "dev");
    assert_eq!(dev["branchName"], a1["branch"]);
    assert_eq!(dev["worktreePath"], worktree.display().to_string());
    assert_eq!(dev["maxReviewCycles"], 2);
    assert_eq!(dev["reviewCycle"], 1);
    // The docs as committed on the branch: inside the worktree.
    assert_eq!(
        dev["issueDocPath"],
        worktree
            .join("docs/projects/p/issues/a1.md")
            .display()
            .to_string()
    );
    assert!(dev.get("reviewResult").is_none() && dev.get("priorFixSummary").is_none());
    let fix = context_of(&logs.join("03-fix/prompt.md"));
    assert_eq!(fix["phase"], "fix");
    assert_eq!(fix["reviewCycle"], 1);
    assert_eq!(
        fix["reviewResult"]["requiredActions"],
        serde_json::json!(["Reject unbalanced postings"])
    );
    assert_eq!(fix["reviewResult"]["issueId"], "A-1");
    let review = context_of(&logs.join("04-review/prompt.md"));
    assert_eq!(review["reviewCycle"], 2);
    assert_eq!(
        review["priorFixSummary"],
        "Unbalanced postings are rejected now, with a test."
    );
    // The results on disk are the contract's (as the model echoed its context).
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(logs.join("03-fix/result.json")).unwrap())
            .unwrap();
    assert_eq!(result["phase"], "fix");
    assert_eq!(result["worktreePath"], worktree.display().to_string());

    let a2 = run.summary("A-2");
    assert_eq!(a2["outcome"], "deferred");
    assert_eq!(
        a2["reason"],
        "dev deferred to a human: Which currency do balances use?"
    );
    assert_eq!(
        a2["open_questions"],
        serde_json::json!(["EUR or the account's own currency?"])
    );
    assert_eq!(
        a2["deferred"],
        serde_json::json!(["The balance endpoint, until the currency is decided"])
    );
    let a3 = run.summary("A-3");
    assert_eq!(a3["outcome"], "skipped");
    assert!(
        a3["reason"].as_str().unwrap().contains("A-2 (deferred)"),
        "{a3}"
    );
    // TASKS.md and the report say what the human is asked.
    let tasks = std::fs::read_to_string(run.env.repo.join("TASKS.md")).unwrap();
    assert!(
        tasks.contains("deferred (needs a human)")
            && tasks.contains("asks: EUR or the account's own currency?"),
        "{tasks}"
    );
    let report = run.orch().args(["report"]).output().unwrap();
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(
        report.contains("Left for a human:\n- The balance endpoint, until the currency is decided")
            && report.contains("Open questions:\n- EUR or the account's own currency?"),
        "{report}"
    );
}

#[test]
fn changes_required_then_pass_after_a_fix() {
    let run = CodexRepo::new(&[("a1.md", issue("A-1", "M1", ""))], "");
    run.model.script(
        "A-1/02-review",
        vec![Reply::Message(review_json(
            "changes_required",
            &["Add a test for the empty case"],
        ))],
    );
    let (code, stdout, stderr) = run.run(&["M1"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let s = run.summary("A-1");
    assert_eq!(s["outcome"], "completed");
    assert_eq!(s["cycles"], 1);
    let phases = crate::support::phase_kinds(&s);
    assert_eq!(phases, ["dev", "review", "fix", "review"]);
    // The fix prompt carries the review, and resumes the dev session (same thread id).
    let fix_prompt = std::fs::read_to_string(run.logs().join("A-1/03-fix/prompt.md")).unwrap();
    assert!(fix_prompt.contains("Add a test for the empty case"));
    assert_eq!(s["phases"][2]["session_id"], s["phases"][0]["session_id"]);
    let fix_request = run
        .model
        .requests()
        .into_iter()
        .find(|(k, _)| k == "A-1/03-fix")
        .unwrap()
        .1;
    assert!(
        fix_request
            .to_string()
            .contains("orch-phase-key: A-1/01-dev"),
        "resumed session sends the dev history"
    );
    // Tokens are per-phase deltas of the cumulative session counters.
    assert_eq!(s["phases"][2]["usage"]["input_tokens"], 200);
    assert_eq!(s["phases"][0]["usage"]["input_tokens"], 200);
    run.orch()
        .args(["diff", "A-1", "--phase", "fix", "--stat"])
        .assert()
        .success()
        .stdout(predicates::str::contains("orch-demo/A-1.md | +1 -0"));
}

#[test]
fn review_that_never_passes_is_capped_and_dependents_are_skipped() {
    let run = CodexRepo::new(
        &[
            ("a1.md", issue("A-1", "M1", "blocked: [A-2]\n")),
            ("a2.md", issue("A-2", "M1", "blocked_by: [A-1]\n")),
        ],
        "max_review_cycles = 2\n",
    );
    for key in ["A-1/02-review", "A-1/04-review", "A-1/06-review"] {
        run.model.script(
            key,
            vec![Reply::Message(review_json(
                "changes_required",
                &["Handle overflow"],
            ))],
        );
    }
    let (code, stdout, stderr) = run.run(&["M1"]);
    assert_eq!(code, 100, "{stdout}\n{stderr}");
    let s = run.summary("A-1");
    assert_eq!(s["outcome"], "capped");
    assert_eq!(s["cycles"], 2);
    assert_eq!(
        s["remaining_actions"],
        serde_json::json!(["Handle overflow"])
    );
    assert_eq!(s["phases"].as_array().unwrap().len(), 6);
    assert!(stdout.contains("- Handle overflow"), "{stdout}");
    let a2 = run.summary("A-2");
    assert_eq!(a2["outcome"], "skipped");
    assert_eq!(a2["reason"], "depends on A-1 (capped) which did not pass");
    assert!(!run
        .model
        .requests()
        .iter()
        .any(|(k, _)| k.starts_with("A-2/")));
}

#[test]
fn blocked_review_stops_the_issue() {
    let run = CodexRepo::new(&[("a1.md", issue("A-1", "M1", ""))], "");
    run.model.script(
        "A-1/02-review",
        vec![Reply::Message(review_json(
            "blocked",
            &["Decide the currency rounding rule"],
        ))],
    );
    let (code, stdout, _) = run.run(&["M1"]);
    assert_eq!(code, 100);
    let s = run.summary("A-1");
    assert_eq!(s["outcome"], "blocked");
    assert_eq!(s["phases"].as_array().unwrap().len(), 2);
    assert!(stdout.contains("blocked"), "{stdout}");
}

#[test]
fn bad_final_messages_fail_the_phase() {
    let run = CodexRepo::new(
        &[
            ("a1.md", issue("A-1", "M1", "")),
            ("b1.md", issue("B-1", "M1", "")),
        ],
        "",
    );
    run.model.script(
        "A-1/01-dev",
        vec![Reply::Message("Done! Everything works.".into())],
    );
    run.model.script(
        "B-1/01-dev",
        vec![Reply::Message(r#"{"status":"pass"}"#.into())],
    );
    let (code, _, _) = run.run(&["M1"]);
    assert_eq!(code, 100);
    let a = run.summary("A-1");
    assert_eq!(a["outcome"], "failed");
    assert_eq!(a["phases"][0]["failure"]["kind"], "invalid_json");
    assert!(a["reason"].as_str().unwrap().contains("not valid JSON"));
    let b = run.summary("B-1");
    assert_eq!(b["phases"][0]["failure"]["kind"], "schema_mismatch");
    assert!(
        b["reason"]
            .as_str()
            .unwrap()
            .contains("\"summary\" is a required property"),
        "{}",
        b["reason"]
    );
    assert!(run.logs().join("B-1/01-dev/failure.json").is_file());
    assert!(!run.logs().join("B-1/01-dev/result.json").exists());
}

#[test]
fn model_server_error_fails_the_phase() {
    // Three tries in all (`retry_attempts` default), each answered with a 500.
    let run = CodexRepo::new(
        &[("a1.md", issue("A-1", "M1", ""))],
        "retry_backoff = \"1s\"\n",
    );
    run.model.script(
        "A-1/01-dev",
        vec![Reply::Status(500), Reply::Status(500), Reply::Status(500)],
    );
    let (code, _, _) = run.run(&["M1"]);
    assert_eq!(code, 100);
    let s = run.summary("A-1");
    assert_eq!(s["outcome"], "failed");
    let kind = s["phases"][0]["failure"]["kind"].as_str().unwrap();
    assert!(kind == "turn_failed" || kind == "exit", "{kind}");
    assert_eq!(run.model.requests().len(), 3, "tried three times");
}

#[test]
fn a_model_server_hiccup_is_retried_through_the_real_codex() {
    let run = CodexRepo::new(
        &[("a1.md", issue("A-1", "M1", ""))],
        "retry_backoff = \"1s\"\n",
    );
    // One 503, then the default playbook (commit, pass).
    run.model.script("A-1/01-dev", vec![Reply::Status(503)]);
    let (code, _, err) = run.run(&["M1"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("transient failure"), "{err}");
    let s = run.summary("A-1");
    assert_eq!(s["outcome"], "completed");
    assert_eq!(s["phases"].as_array().unwrap().len(), 2);
    assert_eq!(s["cycles"], 0);
}

#[test]
fn hanging_agent_is_killed_at_the_timeout() {
    let run = CodexRepo::new(&[("a1.md", issue("A-1", "M1", ""))], "phase_timeout = 4\n");
    run.model.script(
        "A-1/01-dev",
        vec![Reply::Commands(vec!["sleep 600".into()])],
    );
    let started = std::time::Instant::now();
    let (code, _, _) = run.run(&["M1"]);
    assert_eq!(code, 100);
    assert!(started.elapsed().as_secs() < 60);
    let s = run.summary("A-1");
    assert_eq!(s["phases"][0]["failure"]["kind"], "timeout");
    // Nothing the agent started is left running.
    let marker = run.env.root().join("wt").display().to_string();
    let leftovers: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&marker) || c.contains("sleep 600"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn secrets_never_reach_the_logs() {
    let run = CodexRepo::new(&[("a1.md", issue("A-1", "M1", ""))], "");
    let fake_key = "sk-proj-abcdefghijklmnopqrstuvwxyz012345";
    run.model.script(
        "A-1/01-dev",
        vec![
            Reply::Commands(vec![format!(
                "echo token=$ORCH_TEST_DEPLOY_TOKEN key={fake_key}"
            )]),
            Reply::Message(
                dev_json("pass").replace("Implemented the issue.", &format!("Used {fake_key}")),
            ),
        ],
    );
    let out = run
        .orch()
        .env("ORCH_TEST_DEPLOY_TOKEN", "hunter2-super-secret")
        .args(["run", "M1"])
        .output()
        .unwrap();
    assert!(out.status.code().is_some());
    let mut seen_redaction = false;
    for entry in crate::support::files_written(&run.env.repo.join("logs")) {
        let text = String::from_utf8_lossy(&std::fs::read(&entry).unwrap()).into_owned();
        assert!(
            !text.contains("hunter2-super-secret"),
            "{} leaks the token",
            entry.display()
        );
        assert!(
            !text.contains(fake_key),
            "{} leaks the key",
            entry.display()
        );
        seen_redaction |= text.contains("[REDACTED");
    }
    assert!(seen_redaction);
}

#[test]
fn dry_run_changes_nothing_and_dirty_repos_are_refused() {
    let run = CodexRepo::new(&[("a1.md", issue("A-1", "M1", ""))], "");
    let before = run.env.snapshot_tree();
    let refs_before = run.env.git(&["for-each-ref"]);
    let out = run
        .orch()
        .args(["run", "M1", "--dry-run"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Dry run: nothing was changed"));
    assert_eq!(before, run.env.snapshot_tree());
    assert_eq!(refs_before, run.env.git(&["for-each-ref"]));
    assert!(run.model.requests().is_empty());
    run.env.write("stray.txt", "dirty");
    run.orch()
        .args(["run", "M1"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "not clean; refusing to start a run",
        ));
    assert!(run.model.requests().is_empty());
}

#[test]
fn the_guard_holds_through_the_real_codex() {
    let run = CodexRepo::new(&[("a1.md", issue("A-1", "M1", ""))], "");
    run.env.git(&["branch", "feature"]);
    let feature_before = run.env.git(&["rev-parse", "feature"]);
    let real_git = support::real_git();
    run.model.script(
        "A-1/01-dev",
        vec![
            Reply::Commands(vec!["gt restack; echo restack=$?; git push --force origin main; echo push=$?; command -v git".into()]),
            // The real git by absolute path slips past the shim: the audit catches it.
            Reply::Commands(vec![format!("{real_git} commit --allow-empty -q -m work && {real_git} branch -f feature HEAD")]),
            Reply::Message(dev_json("pass")),
        ],
    );
    let (code, stdout, stderr) = run.run(&["M1"]);
    let dev = run.logs().join("A-1/01-dev");
    let events = std::fs::read_to_string(dev.join("events.jsonl")).unwrap_or_default();
    assert_eq!(code, 100, "{stdout}\n{stderr}\n{events}");
    let events = std::fs::read_to_string(dev.join("events.jsonl")).unwrap();
    assert!(
        events.contains("restack=126") && events.contains("push=126"),
        "{events}"
    );
    assert!(
        events.contains("/A-1/01-dev/bin/git"),
        "codex's shell found the shim first: {events}"
    );
    assert!(
        stderr.contains("[A-1] guard refused gt restack: "),
        "the refusal said as it happens, the agent sandboxed: {stderr}\n{stdout}"
    );
    let guard = std::fs::read_to_string(dev.join("guard.jsonl")).unwrap();
    let entries: Vec<serde_json::Value> = guard
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let denied: Vec<String> = entries
        .iter()
        .filter(|e| e["decision"] == "deny")
        .map(|e| {
            e["argv"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert!(
        denied.contains(&"gt restack".to_owned())
            && denied.contains(&"git push --force origin main".to_owned()),
        "{guard}"
    );
    assert!(
        entries.iter().any(|e| e["kind"] == "violation"
            && e["ref"] == "refs/heads/feature"
            && e["restored"] == true),
        "{guard}"
    );
    assert_eq!(
        run.env.git(&["rev-parse", "feature"]),
        feature_before,
        "the audit put the branch back"
    );
    let s = run.summary("A-1");
    assert_eq!(s["phases"][0]["failure"]["kind"], "guard_violation");
    assert!(
        s["guard"]["denied"].as_u64().unwrap() >= 2 && s["guard"]["violations"] == 1,
        "{}",
        s["guard"]
    );
}

/// A plan of four tasks in a diamond, the first in two shards, through the real codex: a
/// failed acceptance check is sent to a fix phase, and the top task starts from the work of
/// both of its dependencies.
#[test]
fn a_plan_with_shards_and_gates_runs_through_the_real_codex() {
    let run = CodexRepo::new(&[], "");
    run.env.write(
        "orchestrator.yml",
        r#"version: 1
project: {name: relay, language: shell}
tasks:
  - id: R-1
    title: Base
    acceptance: ["File exists: orch-demo/R-1.md"]
    shards:
      - {id: R-1a, title: First half, acceptance: ["Contains: orch-demo/R-1.md: (01-dev)"]}
      - {id: R-1b, title: Second half, acceptance: ["Contains: orch-demo/R-1.md: (02-dev)"]}
  - id: R-2
    title: Left
    dependencies: [R-1]
    acceptance: ["Contains: orch-demo/R-2.md: signed-off"]
  - id: R-3
    title: Right
    dependencies: [R-1]
  - id: R-4
    title: Top
    dependencies: [R-2, R-3]
    acceptance:
      - "File exists: orch-demo/R-2.md"
      - "File exists: orch-demo/R-3.md"
      - "Tests pass: grep -q R-4 orch-demo/R-4.md"
"#,
    );
    run.env.git(&["add", "."]);
    run.env.git(&["commit", "-q", "-m", "plan"]);
    run.model.script(
        "R-2/03-fix",
        vec![
            Reply::Commands(vec![
                "echo signed-off >> orch-demo/R-2.md && git commit -qam 'R-2: sign off'".into(),
            ]),
            Reply::Message(mock_model::fix_json("pass")),
        ],
    );
    let (code, stdout, stderr) = run.run(&["--file", "orchestrator.yml"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let logs = crate::support::run_logs(&run.env.repo, "relay");
    let summary = |id: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(logs.join(id).join("summary.json")).unwrap())
            .unwrap()
    };
    let phases = |id: &str| -> Vec<String> {
        summary(id)["phases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["phase"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(phases("R-1"), ["dev", "dev", "review"]);
    assert_eq!(phases("R-2"), ["dev", "review", "fix", "review"]);
    assert_eq!(phases("R-3"), ["dev", "review"]);
    assert_eq!(phases("R-4"), ["dev", "review"]);
    for id in ["R-1", "R-2", "R-3", "R-4"] {
        assert_eq!(summary(id)["outcome"], "completed", "{id}");
    }
    // The fix was asked to make the failed check pass.
    let fix_request = run
        .model
        .requests()
        .into_iter()
        .find(|(key, _)| key == "R-2/03-fix")
        .expect("a fix request");
    let body = fix_request.1.to_string();
    assert!(body.contains("Failing acceptance checks"), "{body}");
    assert!(body.contains("signed-off"), "{body}");
    // R-4's dev prompt carried its checks; its base holds R-2's and R-3's work.
    assert_eq!(summary("R-4")["phases"][0]["acceptance"]["passed"], 3);
}

/// Files a scripted phase writes, as one shell command: `cat > path <<'EOF'` per file, then
/// a commit.
fn write_and_commit(files: &[(&str, &str)], message: &str) -> String {
    let mut cmd = String::new();
    for (path, text) in files {
        cmd.push_str(&format!(
            "mkdir -p \"$(dirname {path})\" && cat > {path} <<'ORCH_EOF'\n{text}\nORCH_EOF\n"
        ));
    }
    let paths: Vec<&str> = files.iter().map(|(p, _)| *p).collect();
    cmd.push_str(&format!(
        "git add {} && git commit -q -m '{message}'",
        paths.join(" ")
    ));
    cmd
}

const LEDGER_A: &str = r#"//! Ledger lines: `<category> <amount>`.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub category: String,
    pub cents: i64,
}

pub fn parse_ledger(text: &str) -> Vec<Entry> {
    text.lines()
        .filter_map(|line| {
            let (category, amount) = line.trim().rsplit_once(' ')?;
            let (whole, frac) = amount.split_once('.')?;
            let cents = whole.parse::<i64>().ok()? * 100 + frac.parse::<i64>().ok()?;
            Some(Entry { category: category.to_owned(), cents })
        })
        .collect()
}"#;

const LEDGER_B: &str = r#"//! Ledger lines: `<category> <amount>`; a bad line is an error naming it.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub category: String,
    pub cents: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerError {
    Malformed { line: usize, expected: &'static str },
}

impl std::fmt::Display for LedgerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LedgerError::Malformed { line, expected } => write!(f, "line {line}: expected {expected}"),
        }
    }
}

impl std::error::Error for LedgerError {}

pub fn parse_ledger(text: &str) -> Result<Vec<Entry>, LedgerError> {
    let mut entries = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let malformed = |expected| LedgerError::Malformed { line: n + 1, expected };
        let (category, amount) = line.rsplit_once(' ').ok_or(malformed("<category> <amount>"))?;
        let cents = cents(amount).ok_or(malformed("an amount like 12.50"))?;
        entries.push(Entry { category: category.to_owned(), cents });
    }
    Ok(entries)
}

fn cents(amount: &str) -> Option<i64> {
    let (whole, frac) = amount.split_once('.')?;
    if frac.len() != 2 {
        return None;
    }
    Some(whole.parse::<i64>().ok()? * 100 + frac.parse::<i64>().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_errors() {
        let food = Entry { category: "food".into(), cents: 1250 };
        assert_eq!(parse_ledger("food 12.50\n\n"), Ok(vec![food]));
        let err = parse_ledger("food 1.5").map_err(|e| e.to_string());
        assert_eq!(err, Err("line 1: expected an amount like 12.50".to_owned()));
    }
}"#;

const TOTALS: &str = r#"use crate::ledger::Entry;
use std::collections::BTreeMap;

pub fn totals_by_category(entries: &[Entry]) -> BTreeMap<String, i64> {
    let mut totals = BTreeMap::new();
    for e in entries {
        *totals.entry(e.category.clone()).or_insert(0) += e.cents;
    }
    totals
}

#[cfg(test)]
mod tests {
    #[test]
    fn totals_add_up() {
        let entries = crate::ledger::parse_ledger("food 1.00\nfood 2.50\nrent 3.00").unwrap_or_default();
        let t = super::totals_by_category(&entries);
        assert_eq!((t["food"], t["rent"]), (350, 300));
    }
}"#;

const MAIN: &str = r#"fn main() {
    let path = std::env::args().nth(1).unwrap_or_default();
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    match tallyho::ledger::parse_ledger(&text) {
        Ok(entries) => {
            let mut totals: Vec<(String, i64)> =
                tallyho::totals::totals_by_category(&entries).into_iter().collect();
            totals.sort_by_key(|(_, cents)| std::cmp::Reverse(*cents));
            for (category, cents) in totals {
                println!("{category} {}.{:02}", cents / 100, cents % 100);
            }
        }
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    }
}"#;

const CLI_TEST: &str = r#"#[test]
fn totals_per_category_largest_first() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tallyho"))
        .arg("tests/data/sample.ledger")
        .output()
        .expect("the binary runs");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "rent 800.00\nfood 14.00\n");
}"#;

/// The example plan (fixtures/plans/example, the design document's example written fresh)
/// validated and run end to end through the real codex: nothing runs before `apply_patch` is
/// approved; shards, a failed check routed to a fix, real `cargo test` acceptance checks; the
/// release tag waits for its own approval.
#[test]
fn the_example_plan_runs_end_to_end_through_the_real_codex() {
    let run = CodexRepo::new(&[], "");
    support::copy_dir(&support::fixtures().join("plans/example"), &run.env.repo);
    run.env.write(
        "Cargo.toml",
        "[package]\nname = \"tallyho\"\nversion = \"0.0.1\"\nedition = \"2021\"\n\n[dependencies]\n",
    );
    run.env
        .write("src/lib.rs", "//! tallyho: totals of expense ledgers.\n");
    run.env.write(".gitignore", "logs/\ntarget/\n");
    let home = std::env::var("HOME").unwrap_or_default();
    let rust_env: Vec<(String, String)> = ["RUSTUP_HOME", "CARGO_HOME"]
        .iter()
        .map(|k| {
            let default = format!("{home}/.{}", k.trim_end_matches("_HOME").to_lowercase());
            (k.to_string(), std::env::var(k).unwrap_or(default))
        })
        .collect();
    let cargo = std::process::Command::new("cargo")
        .args(["generate-lockfile", "--offline"])
        .current_dir(&run.env.repo)
        .status()
        .expect("cargo runs");
    assert!(cargo.success());
    run.env.git(&["add", "."]);
    run.env
        .git(&["commit", "-q", "-m", "tallyho skeleton and its plan"]);

    let dev = |key: &str, files: &[(&str, &str)]| {
        run.model.script(
            key,
            vec![
                Reply::Commands(vec![write_and_commit(files, key)]),
                Reply::Message(dev_json("pass")),
            ],
        );
    };
    dev(
        "LEDG-1/01-dev",
        &[
            ("src/ledger.rs", LEDGER_A),
            ("src/lib.rs", "pub mod ledger;"),
        ],
    );
    dev("LEDG-1/02-dev", &[("src/ledger.rs", LEDGER_B)]);
    dev(
        "LEDG-2/01-dev",
        &[
            ("src/totals.rs", TOTALS),
            ("src/lib.rs", "pub mod ledger;\npub mod totals;"),
        ],
    );
    // The CLI without its test: two checks fail, the fix adds it.
    dev(
        "LEDG-3/01-dev",
        &[
            ("src/main.rs", MAIN),
            (
                "tests/data/sample.ledger",
                "food 12.50\nrent 800.00\nfood 1.50",
            ),
        ],
    );
    run.model.script(
        "LEDG-3/03-fix",
        vec![
            Reply::Commands(vec![write_and_commit(
                &[("tests/cli.rs", CLI_TEST)],
                "cli test",
            )]),
            Reply::Message(mock_model::fix_json("pass")),
        ],
    );
    dev(
        "DOCS-1/01-dev",
        &[(
            "README.md",
            "# tallyho\n\n## Usage\n\n    tally expenses.ledger",
        )],
    );
    run.model.script(
        "REL-1/01-dev",
        vec![
            Reply::Commands(vec![
                "sed -i 's/^version = .*/version = \"0.1.0\"/' Cargo.toml && printf '# Changelog\\n\\n## 0.1.0\\n\\n- First release.\\n' > CHANGELOG.md && git add Cargo.toml CHANGELOG.md && git commit -q -m 'Release 0.1.0'".into(),
            ]),
            Reply::Message(dev_json("pass")),
        ],
    );
    let orch = |args: &[&str]| {
        let out = run
            .orch()
            .envs(rust_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };

    let (code, out) = orch(&["plan", "validate"]);
    assert_eq!(code, 0, "{out}");

    // Nothing runs before an agent may work: every task waits for apply_patch.
    let (code, out) = orch(&["run", "--file", "orchestrator.yml", "--no-build"]);
    assert_ne!(code, 0, "{out}");
    assert!(
        run.model.requests().is_empty(),
        "an agent ran before approval"
    );
    assert!(out.contains("awaiting approval apply_patch"), "{out}");

    let (code, out) = orch(&["approve", "apply_patch", "--file"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = orch(&["approve", "deploy", "--task", "LEDG-3", "--file"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = orch(&["resume", "--no-build"]);
    assert_ne!(code, 0, "the tag still waits: {out}");
    let logs = crate::support::run_logs(&run.env.repo, "tallyho");
    let summary = |id: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(logs.join(id).join("summary.json")).unwrap())
            .unwrap()
    };
    for id in ["LEDG-1", "LEDG-2", "LEDG-3", "DOCS-1"] {
        assert_eq!(summary(id)["outcome"], "completed", "{id}: {out}");
    }
    assert_eq!(summary("LEDG-1")["phases"][1]["shard"], "LEDG-1b");
    assert_eq!(summary("LEDG-1")["phases"][1]["acceptance"]["passed"], 7);
    assert_eq!(
        summary("LEDG-3")["cycles"],
        1,
        "failed checks went to a fix"
    );
    let ledg3 = summary("LEDG-3");
    let commands: Vec<(&str, i64)> = ledg3["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["status"].as_i64().unwrap()))
        .collect();
    assert_eq!(commands, [("deploy", 0), ("smoke", 0)], "{ledg3:#}");
    assert!(ledg3["commands"][0]["approved_by"].is_string());
    assert_eq!(summary("REL-1")["awaiting"], serde_json::json!(["tag"]));
    assert_eq!(run.env.git(&["tag", "-l"]), "");

    let (code, out) = orch(&[
        "approve",
        "tag",
        "--task",
        "REL-1",
        "--file",
        "orchestrator.yml",
    ]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = orch(&["resume", "--no-build"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(summary("REL-1")["outcome"], "completed");
    let tagged = run.env.git(&["rev-parse", "v0.1.0^{commit}"]);
    let rel_branch = summary("REL-1")["branch"].as_str().unwrap().to_owned();
    assert_eq!(tagged, run.env.git(&["rev-parse", &rel_branch]));
    // The release commit sits on the work of every task before it.
    for file in [
        "src/ledger.rs",
        "src/totals.rs",
        "tests/cli.rs",
        "README.md",
        "CHANGELOG.md",
    ] {
        run.env.git(&["cat-file", "-e", &format!("v0.1.0:{file}")]);
    }
}

/// The real codex pointed at a port nothing listens on, as a typo in a `base_url` would:
/// it reconnects again and again; orch fails the phase as unreachable within the bound, the
/// progress says so from the first reconnect, and the failure names what codex said.
#[test]
fn a_model_out_of_reach_fails_the_phase_within_the_bound_and_says_why() {
    let env = crate::support::TestEnv::new();
    env.doc("p", "a.md", crate::support::issue("A-1", "M1", ""));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    env.write(
        "orch.toml",
        format!(
            "worktree_root = \"../wt\"\nretry_attempts = 1\n[agent]\nunreachable_timeout = \"4s\"\n[codex]\nsandbox = \"danger-full-access\"\nargs = [\"-c\", \"model_providers.typo={{name=\\\"typo\\\",base_url=\\\"http://127.0.0.1:{port}/v1\\\",wire_api=\\\"responses\\\",env_key=\\\"ORCH_MOCK_API_KEY\\\"}}\", \"-c\", \"model_provider=typo\", \"-m\", \"mock-model\"]\n"
        ),
    );
    env.write(".gitignore", "logs/\n");
    env.git(&["add", "."]);
    env.git(&["commit", "-q", "-m", "docs"]);
    std::fs::create_dir_all(env.root().join("codex-home")).unwrap();
    let started = std::time::Instant::now();
    let out = env
        .orch()
        .env("ORCH_CODEX_BIN", crate::support::codex::codex_bin())
        .env("CODEX_HOME", env.root().join("codex-home"))
        .env("ORCH_MOCK_API_KEY", "not-a-secret")
        .args(["run", "M1"])
        .output()
        .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(100), "{stderr}");
    assert!(took < std::time::Duration::from_secs(40), "took {took:?}");
    assert!(
        stderr.contains("[A-1]     model unreachable: Reconnecting"),
        "said as it happens: {stderr}"
    );
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            crate::support::run_logs(&env.repo, "p/M1").join("A-1/summary.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        summary["phases"][0]["failure"]["kind"], "unreachable",
        "{summary}"
    );
    assert!(
        summary["reason"]
            .as_str()
            .unwrap()
            .contains("the agent could not reach its model for 4 s (last: Reconnecting"),
        "{summary}"
    );
}

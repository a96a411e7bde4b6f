//! The Claude Code runner through the real `claude` binary (pinned, installed by
//! scripts/install-tools.sh) against the mock model server's Messages API, beside the real
//! codex: phases chosen per agent, results, sessions, usage and cost, and its failures.

use crate::support::codex::CodexRepo;
use crate::support::mock_model::{dev_json, review_json, Reply};
use crate::support::{issue, phase_kinds};

fn events(run: &CodexRepo, phase: &str) -> String {
    std::fs::read_to_string(run.logs().join("A-1").join(phase).join("events.jsonl")).unwrap()
}

#[test]
fn dev_on_codex_and_review_on_claude() {
    let run = CodexRepo::new(&[("a1.md", issue("A-1", "M1", ""))], "");
    let (code, stdout, stderr) = run.run(&["M1", "--agent", "review=claude"]);
    let agent_err =
        std::fs::read_to_string(run.logs().join("A-1/02-review/stderr.log")).unwrap_or_default();
    assert_eq!(
        code,
        0,
        "{stdout}\n{stderr}\n{agent_err}\n{}",
        events(&run, "02-review")
    );
    let s = run.summary("A-1");
    assert_eq!(s["outcome"], "completed", "{s}");
    // codex's stream for the dev phase, claude's for the review; the progress says which.
    assert!(
        stderr.contains("[A-1] 02-review started on claude")
            && stderr.contains("[A-1] 01-dev started\n"),
        "{stderr}"
    );
    assert!(events(&run, "01-dev").contains("\"thread.started\""));
    let review = events(&run, "02-review");
    assert!(
        review.contains("\"subtype\":\"init\"") && review.contains("\"type\":\"result\""),
        "{review}"
    );
    let phase = &s["phases"][1];
    assert_eq!(phase["usage"]["input_tokens"], 100, "{phase}");
    assert_eq!(phase["usage"]["output_tokens"], 20);
    assert!(phase["cost_usd"].as_f64().unwrap() > 0.0, "{phase}");
    assert_eq!(s["phases"][0]["agent"], "codex");
    assert_eq!(phase["agent"], "claude");
    // The summary, `orch status` and the report name both agents and what claude said the
    // review cost.
    let cost = format!("${:.4}", phase["cost_usd"].as_f64().unwrap());
    for table in [
        stdout.clone(),
        String::from_utf8_lossy(&run.orch().args(["status", "M1"]).output().unwrap().stdout)
            .into_owned(),
    ] {
        let row = table
            .lines()
            .find(|l| l.starts_with("A-1 "))
            .unwrap_or_default();
        assert!(
            table.contains("AGENTS") && table.contains("COST"),
            "{table}"
        );
        assert!(
            row.contains("codex+claude") && row.contains(&cost),
            "{table}"
        );
    }
    let tasks = std::fs::read_to_string(run.env.repo.join("TASKS.md")).unwrap();
    assert!(
        tasks.contains(&format!("on codex+claude · {cost}")),
        "{tasks}"
    );
    let report = run.orch().args(["report", "M1"]).output().unwrap();
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(
        report.contains("### 02-review on claude:") && report.contains("### 01-dev:"),
        "{report}"
    );
    assert!(
        report.contains("| codex+claude |") && report.contains(&format!("out · {cost} ·")),
        "{report}"
    );
    // Claude was asked by the same per-phase script key as codex would be.
    assert!(run
        .model
        .requests()
        .iter()
        .any(|(k, _)| k == "A-1/02-review"));
}

#[test]
fn claude_phases_run_open_only_when_orch_toml_says_so_and_the_summary_says_it() {
    let run = CodexRepo::new(
        &[("a1.md", issue("A-1", "M1", ""))],
        "[claude]\nsandbox = \"none\"\n",
    );
    let (code, stdout, stderr) = run.run(&["M1", "--agent", "review=claude"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Sandbox: off for claude phases"),
        "{stdout}"
    );
    let status = run.orch().args(["status", "M1"]).output().unwrap();
    assert!(String::from_utf8_lossy(&status.stdout).contains("Sandbox: off for claude phases"));
    // Open, claude runs with bypassed permissions (the events say which mode it ran in).
    assert!(events(&run, "02-review").contains("\"permissionMode\":\"bypassPermissions\""));
}

#[test]
fn a_claude_run_is_refused_when_its_sandbox_cannot_start() {
    // A PATH with everything the run needs but socat.
    let run = CodexRepo::new(&[("a1.md", issue("A-1", "M1", ""))], "");
    let bin = run.env.root().join("no-socat");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["git", "sh", "bash", "env"] {
        let real = crate::support::real_tool(tool);
        std::os::unix::fs::symlink(real, bin.join(tool)).unwrap();
    }
    std::os::unix::fs::symlink(
        crate::support::codex::sandbox_tools().join("bwrap"),
        bin.join("bwrap"),
    )
    .unwrap();
    let out = run
        .orch()
        .env("PATH", &bin)
        .args(["run", "M1", "--agent", "review=claude"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("Claude Code's sandbox cannot confine")
            && stderr.contains("`socat` is not on PATH")
            && stderr.contains("[claude] sandbox = \"none\""),
        "{stderr}"
    );
    assert!(run.model.requests().is_empty());
}

#[test]
fn all_on_claude_with_a_fix_cycle_that_resumes_the_dev_session() {
    let run = CodexRepo::new(
        &[("a1.md", issue("A-1", "M1", ""))],
        "phase_timeout = 20\nretry_attempts = 1\n",
    );
    run.model.script(
        "A-1/02-review",
        vec![Reply::Message(review_json(
            "changes_required",
            &["Add a test"],
        ))],
    );
    let (code, stdout, stderr) = run.run(&["M1", "--agent", "all=claude"]);
    let fix =
        std::fs::read_to_string(run.logs().join("A-1/03-fix/events.jsonl")).unwrap_or_default();
    let said: Vec<&str> = fix
        .lines()
        .filter(|l| l.contains("tool_result"))
        .take(3)
        .collect();
    assert_eq!(code, 0, "{stdout}\n{stderr}\n{}", said.join("\n"));
    let s = run.summary("A-1");
    assert_eq!(s["outcome"], "completed", "{s}");
    let phases = crate::support::phase_kinds(&s);
    assert_eq!(phases, ["dev", "review", "fix", "review"]);
    assert_eq!(s["commits"], 2, "{s}");
    // The fix continued the dev phase's Claude session; the reviews had their own.
    let session = |n: usize| s["phases"][n]["session_id"].as_str().unwrap().to_owned();
    assert_eq!(session(0), session(2));
    assert_ne!(session(0), session(1));
    // Its prompt carried the review.
    let fix_prompt = std::fs::read_to_string(run.logs().join("A-1/03-fix/prompt.md")).unwrap();
    assert!(fix_prompt.contains("Add a test"), "{fix_prompt}");
    // Usage per phase, summed; cost from claude's own figures.
    assert_eq!(
        s["tokens"]["input_tokens"].as_u64().unwrap() % 100,
        0,
        "{s}"
    );
    assert!(
        stderr.contains("$ mkdir -p orch-demo"),
        "activity lines: {stderr}"
    );
}

#[test]
fn claude_failures_fail_the_phase_with_the_reason() {
    // Five results that do not match the schema: Claude Code gives up.
    let run = CodexRepo::new(&[("a1.md", issue("A-1", "M1", ""))], "");
    let bad = serde_json::json!({"status": "pass"}).to_string();
    run.model
        .script("A-1/02-review", vec![Reply::Message(bad); 6]);
    let (code, stdout, _) = run.run(&["M1", "--agent", "review=claude"]);
    assert_eq!(code, 100, "{stdout}");
    let failure = &run.summary("A-1")["phases"][1]["failure"];
    assert_eq!(failure["kind"], "turn_failed", "{failure}");
    assert!(
        failure["message"]
            .as_str()
            .unwrap()
            .contains("error_max_structured_output_retries"),
        "{failure}"
    );

    // A tool call Claude Code denies itself: the run says success, the phase fails.
    let run = CodexRepo::new(
        &[("a1.md", issue("A-1", "M1", ""))],
        "[claude]\nargs = [\"--disallowedTools\", \"Bash(touch *)\"]\n",
    );
    run.model.script(
        "A-1/01-dev",
        vec![
            Reply::Commands(vec!["touch denied.txt".into()]),
            Reply::Message(dev_json("pass")),
        ],
    );
    let (code, stdout, _) = run.run(&["M1", "--agent", "dev=claude"]);
    assert_eq!(code, 100, "{stdout}");
    let failure = &run.summary("A-1")["phases"][0]["failure"];
    assert_eq!(failure["kind"], "permission_denied", "{failure}");
    assert!(
        failure["denied"][0]
            .as_str()
            .unwrap()
            .contains("touch denied.txt"),
        "{failure}"
    );
}

#[test]
fn a_silent_claude_is_stopped_at_the_timeout_and_leaves_nothing_running() {
    let run = CodexRepo::new(
        &[("a1.md", issue("A-1", "M1", ""))],
        "phase_timeout = 3\nretry_attempts = 1\n",
    );
    run.model.script("A-1/02-review", vec![Reply::Hang]);
    let started = std::time::Instant::now();
    let (code, stdout, _) = run.run(&["M1", "--agent", "review=claude"]);
    assert_eq!(code, 100, "{stdout}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let failure = &run.summary("A-1")["phases"][1]["failure"];
    assert_eq!(failure["kind"], "timeout", "{failure}");
    let ps = std::process::Command::new("ps")
        .args(["-eo", "args"])
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&ps.stdout);
    assert!(
        !listing
            .lines()
            .any(|l| l.contains(&run.env.root().display().to_string()) && l.contains("claude")),
        "{listing}"
    );
}

#[test]
fn the_guard_refuses_a_forbidden_gt_call_from_claudes_bash_tool() {
    let run = CodexRepo::new(&[("a1.md", issue("A-1", "M1", ""))], "");
    run.model.script(
        "A-1/01-dev",
        vec![
            Reply::Commands(vec!["gt restack; echo restack=$?; command -v gt".into()]),
            Reply::Commands(vec![
                "mkdir -p w && echo x > w/x && git add w && git commit -q -m 'A-1: work'".into(),
            ]),
            Reply::Message(dev_json("pass")),
        ],
    );
    let (code, stdout, stderr) = run.run(&["M1", "--agent", "dev=claude"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let dev = events(&run, "01-dev");
    assert!(
        dev.contains("restack=126") && dev.contains("01-dev/bin/gt"),
        "{dev}"
    );
    let guard = std::fs::read_to_string(run.logs().join("A-1/01-dev/guard.jsonl")).unwrap();
    assert!(
        guard
            .lines()
            .any(|l| l.contains("\"decision\":\"deny\"") && l.contains("restack")),
        "{guard}"
    );
    assert_eq!(run.summary("A-1")["commits"], 1);
}

#[test]
fn a_killed_orch_mid_claude_phase_is_resumed_and_the_leftover_claude_stopped() {
    use std::os::unix::process::ExitStatusExt;
    let run = CodexRepo::new(&[("a1.md", issue("A-1", "M1", ""))], "");
    // orch dies at the review's first finished tool call; claude then waits on the model.
    run.model.script(
        "A-1/02-review",
        vec![
            Reply::Commands(vec!["git log --oneline -1".into()]),
            Reply::Hang,
        ],
    );
    let out = run
        .orch()
        .args(["run", "M1", "--agent", "review=claude"])
        .env("ORCH_CRASH_AT", "mid-review")
        .output()
        .unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGKILL), "{out:?}");
    let status: serde_json::Value = serde_json::from_slice(
        &run.orch()
            .args(["status", "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(status["issues"][0]["current_phase"]["agent_name"], "claude");
    let table = run.orch().args(["status"]).output().unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("02-review on claude cut off after "),
        "{table}"
    );
    let agent = &status["issues"][0]["current_phase"]["agent"];
    let pid = agent["pid"]
        .as_i64()
        .expect("the claude phase's agent is recorded") as i32;
    let alive = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| s[s.rfind(')').unwrap() + 1..].split_whitespace().next() != Some("Z"))
    };
    assert!(alive(pid), "claude outlived the killed orch");

    let out = run
        .orch()
        .args(["resume", "--force-unlock"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("Stopped:") && stderr.contains("A-1 02-review"),
        "{stderr}"
    );
    assert!(!alive(pid), "the leftover claude is gone");
    let s = run.summary("A-1");
    assert_eq!(s["outcome"], "completed", "{s}");
    // The review ran again, on claude (the run's choice is kept by the resume).
    let last = s["phases"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["phase"], "review");
    let again = std::fs::read_to_string(
        last["log_dir"]
            .as_str()
            .map(std::path::PathBuf::from)
            .unwrap()
            .join("events.jsonl"),
    )
    .unwrap();
    assert!(again.contains("\"type\":\"result\""), "{again}");
}

#[test]
fn an_overloaded_api_is_retried_by_orch_not_by_claude_code() {
    let run = CodexRepo::new(
        &[("a1.md", issue("A-1", "M1", ""))],
        "retry_backoff = \"1s\"\n",
    );
    // One 529 (overloaded) for the review, then the default playbook.
    run.model.script("A-1/02-review", vec![Reply::Status(529)]);
    let (code, stdout, stderr) = run.run(&["M1", "--agent", "review=claude"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("02-review") && stderr.contains("transient failure"),
        "{stderr}"
    );
    let s = run.summary("A-1");
    assert_eq!(s["outcome"], "completed", "{s}");
    assert_eq!(phase_kinds(&s), ["dev", "review"]);
    // Claude Code itself did not retry (CLAUDE_CODE_MAX_RETRIES=0): one request per try.
    let reviews = run
        .model
        .requests()
        .iter()
        .filter(|(k, _)| k == "A-1/02-review")
        .count();
    assert_eq!(reviews, 2, "one refused, one answered");
}

#[test]
fn a_plan_task_chooses_its_own_agents() {
    let run = CodexRepo::new(&[], "");
    run.env.write(
        "orchestrator.yml",
        "version: 1\nproject: {name: relay}\ntasks:\n  - id: R-1\n    title: Reviewed by claude\n    agents: {review: claude}\n  - id: R-2\n    title: All on claude\n    agents: {all: claude}\n  - id: R-3\n    title: The run's choice\n",
    );
    run.env.git(&["add", "."]);
    run.env.git(&["commit", "-q", "-m", "plan"]);
    let (code, stdout, stderr) = run.run(&["--file", "orchestrator.yml"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let logs = crate::support::run_logs(&run.env.repo, "relay");
    let agents = |id: &str| -> Vec<String> {
        let text = std::fs::read_to_string(logs.join(id).join("summary.json")).unwrap();
        let s: serde_json::Value = serde_json::from_str(&text).unwrap();
        s["phases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["agent"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(agents("R-1"), ["codex", "claude"]);
    assert_eq!(agents("R-2"), ["claude", "claude"]);
    assert_eq!(agents("R-3"), ["codex", "codex"]);
    assert!(
        stdout.contains("codex+claude") && stdout.contains("AGENTS"),
        "{stdout}"
    );

    // An agent no orch knows is the plan's error, at its line.
    run.env.write(
        "bad.yml",
        "version: 1\ntasks:\n  - id: B-1\n    title: Bad\n    agents:\n      review: gemini\n",
    );
    let out = run
        .orch()
        .args(["plan", "validate", "--file", "bad.yml"])
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("bad.yml:6") && said.contains("gemini"),
        "{said}"
    );
}

#[test]
fn the_dry_run_shows_each_agents_command() {
    let run = CodexRepo::new(&[("a1.md", issue("A-1", "M1", ""))], "");
    let out = run
        .orch()
        .args(["run", "M1", "--dry-run", "--agent", "review=claude"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}");
    let line = |prefix: &str| {
        said.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` line: {said}"))
            .to_owned()
    };
    let codex = line("- codex phases (dev, fix) run: ");
    assert!(
        codex.contains(" exec ") && codex.contains("default_permissions"),
        "{codex}"
    );
    let claude = line("- claude phases (review) run: ");
    assert!(
        claude.contains("-p --output-format stream-json --verbose --permission-mode acceptEdits --setting-sources '' --settings '{"),
        "{claude}"
    );
    assert!(run.model.requests().is_empty());
}

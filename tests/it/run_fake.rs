//! Fast, deterministic tests of every path of the run loop, with the scripted fake agent
//! (fixtures/agents/fake-codex) standing in for the codex CLI.

use crate::support;
use serde_json::json;
use support::fake::FakeRepo;
use support::{fixtures, issue, real_git};

use support::fake::{review_json as review, work_json as work};

const COMMIT: &str = "mkdir -p w && date +%N >> w/f.txt && git add w && git commit -q -m step";

fn one() -> Vec<(&'static str, String)> {
    vec![("a.md", issue("A-1", "M1", ""))]
}

#[test]
fn a_resumed_session_that_comes_back_as_another_is_a_failure() {
    let fake = FakeRepo::new(
        &one(),
        "",
        json!({
            "A-1/02-review": [{"message": review("changes_required", &["x"])}],
            "A-1/03-fix": [{"thread": "someone-elses-thread"}, {"run": COMMIT}, {"message": work("pass")}],
        }),
    );
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 100, "{out}");
    let s = fake.summary("A-1");
    assert_eq!(s["phases"][2]["failure"]["kind"], "session_mismatch");
    assert_eq!(s["phases"][2]["failure"]["started"], "someone-elses-thread");
    let calls = fake.calls();
    assert_eq!(calls[2]["resume"], s["phases"][0]["session_id"]);
}

#[test]
fn unknown_events_and_reconnect_errors_are_tolerated() {
    let fake = FakeRepo::new(
        &one(),
        "",
        json!({
            "A-1/01-dev": [
                {"raw": "{\"type\":\"item.plan.delta\",\"item_id\":\"x\",\"delta\":\"y\"}"},
                {"raw": "this line is not JSON"},
                {"raw": "{\"type\":\"item.completed\",\"item\":{\"id\":\"i9\",\"type\":\"collab_tool_call\",\"tool\":\"wait\"}}"},
                {"error": "Reconnecting... 1/5"},
                {"run": COMMIT},
                {"message": work("pass")}
            ]
        }),
    );
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    let events = fake.events("A-1", "01-dev");
    assert!(
        events.contains("this line is not JSON"),
        "raw events are kept as they came"
    );
}

#[test]
fn exit_codes_failed_turns_and_missing_messages_fail_the_phase() {
    let docs = vec![
        ("a.md", issue("A-1", "M1", "")),
        ("b.md", issue("B-1", "M1", "")),
        ("c.md", issue("C-1", "M1", "")),
        ("d.md", issue("D-1", "M1", "")),
    ];
    // One try each: a transient failure (B-1's) is not waited out and tried again here.
    let fake = FakeRepo::new(
        &docs,
        "retry_attempts = 1\n",
        json!({
            "A-1/01-dev": [{"run": COMMIT}, {"exit": 3}],
            "B-1/01-dev": [{"fail": "rate limited"}],
            "C-1/01-dev": [{"run": COMMIT}],
            "D-1/01-dev": [{"message": work("failed")}],
        }),
    );
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 100, "{out}");
    assert_eq!(
        fake.summary("A-1")["phases"][0]["failure"],
        json!({"kind": "exit", "code": 3, "message": ""})
    );
    assert_eq!(
        fake.summary("B-1")["phases"][0]["failure"],
        json!({"kind": "turn_failed", "message": "rate limited"})
    );
    assert_eq!(
        fake.summary("C-1")["phases"][0]["failure"]["kind"],
        "no_final_message"
    );
    let d = fake.summary("D-1");
    assert_eq!(d["outcome"], "failed");
    assert_eq!(d["reason"], "dev reported failure: s");
    // A failed phase's commits stay reachable through the pin even if the branch goes away.
    let pin = fake
        .env
        .git(&["for-each-ref", "--format=%(refname)", "refs/orch/runs/"]);
    assert!(pin.lines().any(|r| r.ends_with("/A-1/01-dev")), "{pin}");
}

#[test]
fn a_large_event_stream_is_streamed_to_disk() {
    let lines: Vec<serde_json::Value> = (0..20_000)
        .map(|i| json!({"raw": json!({"type": "item.updated", "item": {"id": "t", "type": "todo_list", "items": [{"text": format!("step {i} {}", "x".repeat(400)), "completed": false}]}}).to_string()}))
        .collect();
    let mut steps = lines;
    steps.push(json!({"run": COMMIT}));
    steps.push(json!({"message": work("pass")}));
    let fake = FakeRepo::new(&one(), "", json!({ "A-1/01-dev": steps }));
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    let events = fake.events("A-1", "01-dev");
    assert!(events.lines().count() > 20_000);
    assert!(events.len() > 8_000_000);
}

#[test]
fn fix_can_start_a_fresh_session() {
    let fake = FakeRepo::new(
        &one(),
        "[codex]\nresume_fix = false\n",
        json!({
            "A-1/02-review": [{"message": review("changes_required", &["x"])}],
        }),
    );
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    let calls = fake.calls();
    assert_eq!(calls.len(), 4);
    assert!(calls.iter().all(|c| c["resume"].is_null()));
}

#[test]
fn leftovers_are_recorded_then_rescued_and_the_issue_filter_runs_one_issue() {
    let docs = vec![
        ("a.md", issue("A-1", "M1", "")),
        ("b.md", issue("B-1", "M1", "")),
    ];
    let fake = FakeRepo::new(
        &docs,
        "",
        json!({
            "B-1/01-dev": [{"run": COMMIT}, {"run": "echo draft > notes.txt"}, {"message": work("pass")}],
        }),
    );
    let (code, out) = fake.run(&["run", "M1", "--issue", "B-1"]);
    assert_eq!(code, 0, "{out}");
    assert!(fake
        .calls()
        .iter()
        .all(|c| c["key"].as_str().unwrap().starts_with("B-1/")));
    let range: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fake.phase_dir("B-1", "01-dev").join("range.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(range["uncommitted"]["files"][0]["path"], "notes.txt");
    let s = fake.summary("B-1");
    let rescue = s["rescue_ref"].as_str().unwrap();
    assert_eq!(
        fake.env.git(&["show", &format!("{rescue}:notes.txt")]),
        "draft\n"
    );
    assert!(
        out.contains("uncommitted work saved as refs/orch/rescue/p/M1/B-1/1"),
        "{out}"
    );
    fake.env
        .orch()
        .args(["run", "M1", "--issue", "Z-9"])
        .assert()
        .code(1);
}

#[test]
fn per_phase_usage_is_a_delta_of_the_session_counters() {
    let fake = FakeRepo::new(
        &one(),
        "",
        json!({
            "A-1/02-review": [{"message": review("changes_required", &["x"])}],
        }),
    );
    fake.run(&["run", "M1"]);
    let s = fake.summary("A-1");
    // dev: 2 steps → 30 in. fix resumes the dev session: the agent reports 60 for the
    // thread, of which this phase used 30. Reviews run in sessions of their own.
    assert_eq!(s["phases"][0]["usage"]["input_tokens"], 30);
    assert_eq!(s["phases"][1]["usage"]["input_tokens"], 20);
    assert_eq!(s["phases"][2]["usage"]["input_tokens"], 30);
    assert_eq!(s["tokens"]["input_tokens"], 30 + 20 + 30 + 20);
}

#[test]
fn the_audit_undoes_changes_outside_the_issue_stack() {
    let fake = FakeRepo::new(
        &one(),
        "",
        json!({
            "A-1/01-dev": [
                {"run": COMMIT},
                // The real git by absolute path: past the shim, so only the audit can catch it.
            {"run": format!("{g} update-ref refs/heads/main HEAD && {g} tag v9 && {g} worktree add -q ../rogue -b rogue", g = real_git())},
                {"run": "git switch -q -c a1-part-2 && echo more > more.txt && git add more.txt && git commit -q -m part2"},
                {"message": work("pass")}
            ]
        }),
    );
    let main_before = fake.env.git(&["rev-parse", "main"]);
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 100, "{out}");
    let s = fake.summary("A-1");
    let failure = &s["phases"][0]["failure"];
    assert_eq!(failure["kind"], "guard_violation", "{s}");
    let changes: Vec<&str> = failure["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(
        changes.contains(&"refs/heads/main") && changes.contains(&"refs/tags/v9"),
        "{changes:?}"
    );
    assert!(
        changes.iter().any(|c| c.starts_with("worktree added at")),
        "{changes:?}"
    );
    // Undone: main is back, the tag is gone, the rogue worktree is gone.
    assert_eq!(fake.env.git(&["rev-parse", "main"]), main_before);
    assert!(fake.env.git(&["tag"]).is_empty());
    assert_eq!(fake.env.git(&["worktree", "list"]).lines().count(), 1);
    // The stacked branch the agent created is part of the issue's stack: kept.
    assert!(fake
        .env
        .git(&["branch", "--list", "a1-part-2"])
        .contains("a1-part-2"));
    let guard =
        std::fs::read_to_string(fake.phase_dir("A-1", "01-dev").join("guard.jsonl")).unwrap();
    let entries: Vec<serde_json::Value> = guard
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        entries
            .iter()
            .any(|e| e["ref"] == "refs/heads/main" && e["restored"] == true),
        "{guard}"
    );
}

#[test]
fn one_run_per_repository() {
    let fake = FakeRepo::new(
        &one(),
        "",
        json!({"A-1/01-dev": [{"sleep": 3}, {"run": COMMIT}, {"message": work("pass")}]}),
    );
    let mut first = std::process::Command::new(assert_cmd::cargo::cargo_bin("orch"));
    first
        .current_dir(&fake.env.repo)
        .env("ORCH_CODEX_BIN", fixtures().join("agents/fake-codex"))
        .env("ORCH_CODEX_SANDBOX", "danger-full-access")
        .env("ORCH_FAKE_SCRIPT", fake.env.root().join("script.json"))
        .args(["run", "M1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = first.spawn().unwrap();
    let lock = fake.env.repo.join(".git/orch/lock");
    // Its lock taken and its run state written (a run that has not written it yet is told
    // by the lock alone, below).
    let runs = fake.env.repo.join(".git/orch/runs");
    support::wait_until(
        "the first run's lock and state",
        std::time::Duration::from_secs(10),
        || {
            lock.exists()
                && std::fs::read_dir(&runs).is_ok_and(|d| {
                    d.flatten()
                        .any(|e| e.file_name().to_string_lossy().ends_with(".json"))
                })
        },
    );
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("a run is in progress here (orch run p/M1, pid"),
        "{out}"
    );
    // A run that would start (it redoes A-1) is held by the lock itself.
    let (code, out) = fake.run(&["run", "M1", "--retry", "A-1"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("another orch run holds the lock: pid"),
        "{out}"
    );
    assert!(child.wait().unwrap().success());
    assert!(!lock.exists(), "released at the end");

    // A lock left by a dead process: refused, then taken over with --force-unlock.
    let dead = json!({"pid": u32::MAX - 1, "host": orch::util::platform::hostname(), "started_at": "2026-01-01T00:00:00Z", "command": "orch run M1"});
    std::fs::write(&lock, dead.to_string()).unwrap();
    let (code, out) = fake.run(&["run", "M1", "--retry", "A-1"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("stale orch lock") && out.contains("--force-unlock"),
        "{out}"
    );
    let (code, out) = fake.run(&["run", "M1", "--retry", "A-1", "--force-unlock"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn sigint_stops_the_agent_keeps_the_worktree_and_exits_130() {
    let fake = FakeRepo::new(
        &one(),
        "",
        json!({"A-1/01-dev": [{"run": COMMIT}, {"sleep": 60}, {"message": work("pass")}]}),
    );
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("orch"))
        .current_dir(&fake.env.repo)
        .env("ORCH_CODEX_BIN", fixtures().join("agents/fake-codex"))
        .env("ORCH_CODEX_SANDBOX", "danger-full-access")
        .env("ORCH_FAKE_SCRIPT", fake.env.root().join("script.json"))
        .args(["run", "M1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let events = || fake.phase_dir("A-1", "01-dev").join("events.jsonl");
    support::wait_until(
        "the agent's first command",
        std::time::Duration::from_secs(10),
        || {
            std::fs::read_to_string(events())
                .is_ok_and(|e| e.contains("command_execution") && e.contains("\"completed\""))
        },
    );
    let started = std::time::Instant::now();
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(started.elapsed().as_secs() < 20);
    assert!(stderr.contains("Interrupted:"), "{stderr}");
    let s = fake.summary("A-1");
    assert_eq!(s["outcome"], "interrupted");
    assert_eq!(s["phases"][0]["failure"]["kind"], "interrupted");
    // The agent's process group is gone; the worktree and its commit are kept; lock released.
    let script = fake.env.root().join("script.json").display().to_string();
    let alive: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            std::fs::read(e.path().join("environ"))
                .ok()
                .map(|env| (e.path(), env))
        })
        .filter(|(_, env)| String::from_utf8_lossy(env).contains(&script))
        .map(|(p, _)| p.display().to_string())
        .collect();
    assert!(alive.is_empty(), "{alive:?}");
    assert!(fake.env.root().join("wt/p/M1/A-1").is_dir());
    assert!(!fake.env.repo.join(".git/orch/lock").exists());
    let pin = fake
        .env
        .git(&["for-each-ref", "--format=%(refname)", "refs/orch/runs/"]);
    assert!(pin.trim().ends_with("/A-1/01-dev"), "{pin}");
    let pinned = fake.env.git(&["log", "--format=%s", "-1", pin.trim()]);
    assert_eq!(pinned.trim(), "step");
}

#[test]
fn the_guard_refuses_and_records_through_the_agents_shell() {
    let fake = FakeRepo::new(
        &one(),
        "",
        json!({
            "A-1/01-dev": [
                {"run": COMMIT},
                {"run": "git push --force origin main; echo push=$?"},
                {"run": "git worktree add ../elsewhere; echo wt=$?"},
                {"run": "gt restack; echo restack=$?"},
                {"run": "git status --short > /dev/null; echo status=$?"},
                {"run": "bash -lc 'command -v git' > which-git.txt"},
                {"message": work("pass")}
            ]
        }),
    );
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    let events = fake.events("A-1", "01-dev");
    assert!(
        events.contains("push=126") && events.contains("wt=126") && events.contains("restack=126"),
        "{events}"
    );
    assert!(events.contains("status=0"));
    assert!(
        events.contains("orch guard: refused `git push --force origin main`"),
        "the agent sees why"
    );
    let guard =
        std::fs::read_to_string(fake.phase_dir("A-1", "01-dev").join("guard.jsonl")).unwrap();
    let attempts: Vec<serde_json::Value> = guard
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let find = |argv: &[&str]| {
        attempts
            .iter()
            .find(|a| a["argv"] == json!(argv))
            .unwrap_or_else(|| panic!("{argv:?} not in {guard}"))
    };
    assert_eq!(
        find(&["git", "push", "--force", "origin", "main"])["decision"],
        "deny"
    );
    assert_eq!(
        find(&["git", "worktree", "add", "../elsewhere"])["rule"],
        "worktree"
    );
    assert_eq!(find(&["gt", "restack"])["decision"], "deny");
    assert_eq!(find(&["git", "status", "--short"])["exit_code"], 0);
    // Nothing was pushed or added; the summary counts the attempts.
    assert_eq!(fake.env.git(&["worktree", "list"]).lines().count(), 1);
    let s = fake.summary("A-1");
    assert!(
        s["guard"]["denied"].as_u64().unwrap() >= 3,
        "{}",
        s["guard"]
    );
    assert!(s["guard"]["allowed"].as_u64().unwrap() >= 2);
    // Even a login shell finds the shim first (BASH_ENV re-prepends it).
    let rescue = s["rescue_ref"]
        .as_str()
        .expect("which-git.txt was left uncommitted")
        .to_owned();
    let which = fake.env.git(&["show", &format!("{rescue}:which-git.txt")]);
    assert!(which.trim().ends_with("/A-1/01-dev/bin/git"), "{which}");
    fake.env
        .orch()
        .args(["guard", "log", "A-1"])
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "denied  git push --force origin main",
        ));
}

#[test]
fn the_audit_can_record_without_undoing() {
    let fake = FakeRepo::new(
        &one(),
        "[guard]\naudit_restore = false\naudit_fails_phase = false\n",
        json!({
            "A-1/01-dev": [{"run": COMMIT}, {"run": "git tag v9"}, {"message": work("pass")}]
        }),
    );
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(fake.env.git(&["tag"]).trim(), "v9", "kept as configured");
    let s = fake.summary("A-1");
    assert_eq!(s["guard"]["violations"], 1);
    let guard =
        std::fs::read_to_string(fake.phase_dir("A-1", "01-dev").join("guard.jsonl")).unwrap();
    assert!(
        guard.contains("\"ref\":\"refs/tags/v9\"") && guard.contains("\"restored\":false"),
        "{guard}"
    );
}

#[test]
fn a_result_about_another_issue_or_worktree_fails_the_phase() {
    let mut other: serde_json::Value = serde_json::from_str(&work("pass")).unwrap();
    other["issueId"] = json!("A-9");
    let mut elsewhere: serde_json::Value = serde_json::from_str(&work("pass")).unwrap();
    elsewhere["worktreePath"] = json!("/somewhere/else/");
    let fake = FakeRepo::new(
        &[
            ("a.md", issue("A-1", "M1", "")),
            ("b.md", issue("B-1", "M1", "")),
        ],
        "",
        json!({
            "A-1/01-dev": [{"run": COMMIT}, {"message": other.to_string()}],
            "B-1/01-dev": [{"run": COMMIT}, {"message": elsewhere.to_string()}],
        }),
    );
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 100, "{out}");
    let a = fake.summary("A-1");
    assert_eq!(a["outcome"], "failed");
    assert_eq!(
        a["reason"],
        "dev phase failed: the result is about another issueId: `A-9`, but this phase was given `A-1`"
    );
    assert_eq!(a["phases"][0]["failure"]["kind"], "identity_mismatch");
    let b = fake.summary("B-1");
    assert!(
        b["reason"]
            .as_str()
            .unwrap()
            .contains("another worktreePath: `/somewhere/else/`"),
        "{b}"
    );
}

#[test]
fn contract_prompt_files_get_their_arguments_without_front_matter() {
    let fake = FakeRepo::new(&one(), "", json!({}));
    fake.env.write(
        ".orch/prompts/dev-auto-parallel.md",
        "---\ndescription: Develop one issue\nargument-hint: <ORCH_CONTEXT and the issue>\n---\n\n\
         You develop {{issueId}} on {{branchName}}. Your input:\n\n$ARGUMENTS\n",
    );
    fake.env.git(&["add", "."]);
    fake.env.git(&["commit", "-q", "-m", "their prompt"]);
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    let prompt =
        std::fs::read_to_string(fake.phase_dir("A-1", "01-dev").join("prompt.md")).unwrap();
    let context = orch::agent::contract::context::parse(&prompt).expect("an ORCH_CONTEXT block");
    let branch = fake.summary("A-1")["branch"].as_str().unwrap().to_owned();
    assert_eq!(context["branchName"], branch.as_str());
    assert!(
        !prompt.contains("description:") && !prompt.contains("argument-hint"),
        "{prompt}"
    );
    assert!(
        prompt.contains(&format!("You develop A-1 on {branch}. Your input:")),
        "{prompt}"
    );
    // `$ARGUMENTS` is the context block and the issue.
    let arguments = prompt.split("Your input:\n\n").nth(1).unwrap();
    assert!(arguments.starts_with("ORCH_CONTEXT:\n{"), "{arguments}");
    assert!(
        arguments.contains("# Issue A-1: Work item A-1\n\n## TL;DR\nDo A-1."),
        "{arguments}"
    );
    assert!(!prompt.contains("$ARGUMENTS"));
    // Once: where the file's `$ARGUMENTS` put it.
    assert_eq!(prompt.matches("ORCH_CONTEXT:").count(), 1, "{prompt}");
    // orch's phase key is there although the file does not write it.
    assert!(
        prompt.trim_end().ends_with("orch-phase-key: A-1/01-dev"),
        "{prompt}"
    );
    // The built-in review prompt carried on.
    assert_eq!(fake.summary("A-1")["outcome"], "completed");
}

#[test]
fn a_schema_override_is_used_when_it_keeps_the_contract_and_refused_when_not() {
    let fake = FakeRepo::new(&one(), "", json!({}));
    let builtin: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("../schemas/review.schema.json")).unwrap(),
    )
    .unwrap();
    let mut stricter = builtin.clone();
    stricter["properties"]["confidence"]["enum"] = json!(["high"]);
    fake.env
        .write(".orch/schemas/review.schema.json", stricter.to_string());
    fake.env.git(&["add", "."]);
    fake.env.git(&["commit", "-q", "-m", "our review schema"]);
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    let used: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fake.phase_dir("A-1", "02-review").join("schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(used, stricter);

    let mut broken = builtin;
    broken["properties"]["status"]["enum"] = json!(["pass", "changes_required"]);
    fake.env
        .write(".orch/schemas/review.schema.json", broken.to_string());
    fake.env.git(&["add", "."]);
    fake.env
        .git(&["commit", "-q", "-m", "a schema orch cannot use"]);
    let (code, out) = fake.run(&["run", "M1", "--issue", "A-1", "--retry", "A-1"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(".orch/schemas/review.schema.json: `status` must be an enum of exactly pass, changes_required, blocked"),
        "{out}"
    );
}

#[test]
fn base_starts_a_stacked_milestone_from_another_branch_and_resume_keeps_it() {
    let fake = FakeRepo::new(
        &[
            ("a.md", issue("A-1", "M1", "blocked: [A-2]\n")),
            ("b.md", issue("A-2", "M1", "blocked_by: [A-1]\n")),
        ],
        "",
        json!({}),
    );
    fake.env.git(&["switch", "-q", "-c", "release"]);
    let release = fake
        .env
        .commit_file("RELEASE.md", "2.0\n", "release branch");
    // The base is the branch checked out, as the dev-auto contract has it.
    fake.env.orch_ok(&["verify-clean"]);
    let (code, out) = fake.run(&["run", "M1", "--dry-run"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("start issue branches from release at {release}")),
        "{out}"
    );
    // A base named that is not checked out is refused, with the --base that would do.
    let (code, out) = fake.run(&["run", "M1", "--base", "main"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("HEAD is on `release`, not on the base `main`")
            && out.contains("`git switch main`, or start from `release` instead: `--base release`"),
        "{out}"
    );
    // Killed after A-1's dev; the resume keeps the base, named in the run header.
    fake.crash_at("after-dev", &["run", "M1"]);
    let (code, out) = fake.run(&["resume"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("issue(s) from release at {}", &release[..10])),
        "{out}"
    );
    let a1 = fake.summary("A-1");
    let a2 = fake.summary("A-2");
    assert_eq!(a1["base"], release.as_str());
    let a1_tip = fake.env.git(&["rev-parse", a1["branch"].as_str().unwrap()]);
    assert_eq!(
        a2["base"],
        a1_tip.trim(),
        "A-2 stacks on A-1, which starts on release"
    );
    let contains = fake.env.git(&[
        "branch",
        "--contains",
        &release,
        "--format=%(refname:short)",
    ]);
    assert!(
        contains.contains(a2["branch"].as_str().unwrap()),
        "{contains}"
    );
    let state = fake.env.orch_ok(&["status", "--json"]);
    let state: serde_json::Value = serde_json::from_slice(&state.stdout).unwrap();
    assert_eq!(state["base"], "release");
}

#[test]
fn a_branch_no_recorded_run_made_is_refused_until_it_is_set_aside() {
    let fake = FakeRepo::new(&one(), "", json!({}));
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    let branch = fake.summary("A-1")["branch"].as_str().unwrap().to_owned();
    let before = fake.env.git(&["rev-parse", &branch]).trim().to_owned();
    // The trunk moves on, and orch's records of the run are gone: the branch is there, but
    // no run of the milestone says whose work it is.
    let main = fake
        .env
        .commit_file("later.txt", "later\n", "trunk moves on");
    std::fs::remove_dir_all(fake.env.repo.join(".git/orch/runs")).unwrap();
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "an issue of p/M1 already has a branch that no recorded run of it made: A-1 (`{branch}`)"
        )) && out.contains("`orch run p/M1 --retry A-1`"),
        "{out}"
    );
    assert_eq!(
        fake.env.git(&["rev-parse", &branch]).trim(),
        before,
        "untouched"
    );
    // Set aside and run from scratch, from the trunk as it is now; nothing is lost.
    let (code, out) = fake.run(&["run", "M1", "--retry", "A-1"]);
    assert_eq!(code, 0, "{out}");
    let s = fake.summary("A-1");
    assert_eq!(s["outcome"], "completed");
    assert_eq!(s["base"], main.as_str());
    let kept = fake.env.git(&[
        "for-each-ref",
        "--format=%(refname) %(objectname)",
        "refs/orch/rescue/",
    ]);
    assert!(
        kept.lines()
            .any(|l| l.contains("/A-1/branch-") && l.ends_with(&before)),
        "{kept}"
    );
}

#[test]
fn the_prompts_follow_the_graphite_and_review_doc_settings() {
    let mut dev: serde_json::Value = serde_json::from_str(&work("pass")).unwrap();
    dev["draftPrs"] = json!(["https://github.example/acme/shop/pull/7"]);
    let fake = FakeRepo::new(
        &one(),
        "[graphite]\nsubmit = \"draft\"\n[review]\ndoc = true\n",
        json!({"A-1/01-dev": [{"run": COMMIT}, {"message": dev.to_string()}]}),
    );
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    let read = |phase: &str| {
        std::fs::read_to_string(fake.phase_dir("A-1", phase).join("prompt.md")).unwrap()
    };
    let dev_prompt = read("01-dev");
    assert!(
        dev_prompt.contains("submit the stack as draft pull requests with `gt ss --draft`")
            && dev_prompt.contains("`[A-1] type(scope): summary`")
            && dev_prompt.contains("`gt modify --commit --all --message"),
        "{dev_prompt}"
    );
    let review = read("02-review");
    let doc = fake
        .env
        .root()
        .join("wt/p/M1/A-1/docs/projects/p/reviews/REVIEW-M1.md");
    assert!(
        review.contains(&format!(
            "Append an entry for this review to `{}`",
            doc.display()
        )) && review.contains("`[A-1] docs(review): review cycle 1`"),
        "{review}"
    );
    let s = fake.summary("A-1");
    assert_eq!(
        s["draft_prs"],
        json!(["https://github.example/acme/shop/pull/7"])
    );
    let tasks = std::fs::read_to_string(fake.env.repo.join("TASKS.md")).unwrap();
    assert!(
        tasks.contains("[draft PR 1](https://github.example/acme/shop/pull/7)"),
        "{tasks}"
    );

    // By default: no submitting, no review doc.
    let plain = FakeRepo::new(&one(), "", json!({}));
    let (code, out) = plain.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    let dev_prompt =
        std::fs::read_to_string(plain.phase_dir("A-1", "01-dev").join("prompt.md")).unwrap();
    assert!(dev_prompt.contains("Do not submit pull requests in this repository"));
    let review =
        std::fs::read_to_string(plain.phase_dir("A-1", "02-review").join("prompt.md")).unwrap();
    assert!(review.contains("Write no review doc: `reviewDocPath` is `\"\"`."));
}

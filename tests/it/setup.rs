//! `[worktree] copy`, `setup` and `teardown` around an issue's worktree (fake agent: what is
//! tested is orch's side).

use crate::support::fake::{work_json, FakeRepo};
use crate::support::issue;
use serde_json::json;

fn repo(worktree: &str, script: serde_json::Value) -> FakeRepo {
    let fake = FakeRepo::new(
        &[("a.md", issue("A-1", "M1", ""))],
        &format!("[worktree]\n{worktree}"),
        script,
    );
    fake.env.write(".gitignore", "logs/\n.env.local\n.deps/\n");
    fake.env.git(&["add", "."]);
    fake.env.git(&["commit", "-q", "-m", "ignore local files"]);
    fake.env
        .write(".env.local", "LOCAL_SETTING=from-the-main-checkout\n");
    fake
}

#[test]
fn copy_and_setup_run_before_the_first_phase_and_teardown_before_removal() {
    let teardown_mark = "../../../../teardown-ran";
    let fake = repo(
        &format!(
            "copy = [\".env.local\", \"missing.txt\"]\n\
             setup = [\"mkdir -p .deps && cp .env.local .deps/seen && echo installed\"]\n\
             teardown = [\"test -f .deps/seen && touch {teardown_mark}\"]\n"
        ),
        json!({"A-1/01-dev": [
            {"run": "cat .env.local .deps/seen > w.txt && git add -A && git commit -q -m work"},
            {"message": work_json("pass")}
        ]}),
    );
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    let log = std::fs::read_to_string(fake.run_logs("p/M1").join("A-1/setup.log")).unwrap();
    assert!(
        log.contains("copy .env.local: copied, excluded from git"),
        "{log}"
    );
    assert!(
        log.contains("copy missing.txt: not in the main checkout, skipped"),
        "{log}"
    );
    assert!(
        log.contains("$ mkdir -p .deps") && log.contains("installed") && log.contains("→ exit 0"),
        "{log}"
    );
    // The agent saw both; the copied file never reached a commit.
    let branch = fake.summary("A-1")["branch"].as_str().unwrap().to_owned();
    let work = fake.env.git(&["show", &format!("{branch}:w.txt")]);
    assert_eq!(
        work.matches("LOCAL_SETTING=from-the-main-checkout").count(),
        2,
        "{work}"
    );
    let files = fake.env.git(&["ls-tree", "-r", "--name-only", &branch]);
    assert!(!files.contains(".env.local"), "{files}");
    let exclude = std::fs::read_to_string(fake.env.repo.join(".git/info/exclude")).unwrap();
    assert!(exclude.lines().any(|l| l == "/.env.local"), "{exclude}");
    // Nothing was left uncommitted, so nothing was rescued; teardown ran in the worktree.
    assert!(fake.summary("A-1")["rescue_ref"].is_null());
    assert!(fake.env.root().join("teardown-ran").exists());
    assert!(!fake.env.root().join("wt/p/M1/A-1").exists());
}

#[test]
fn a_failing_setup_fails_the_issue_with_its_log_and_no_agent_runs() {
    let fake = repo(
        "setup = [\"echo fetching; echo 'no network' >&2; exit 3\", \"echo never\"]\n",
        json!({}),
    );
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 100, "{out}");
    let summary = fake.summary("A-1");
    assert_eq!(summary["outcome"], "failed");
    let reason = summary["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(
            "worktree setup failed: `echo fetching; echo 'no network' >&2; exit 3` exit 3; see "
        ) && reason.ends_with("A-1/setup.log"),
        "{reason}"
    );
    assert!(out.contains("worktree setup failed"), "{out}");
    let log = std::fs::read_to_string(fake.run_logs("p/M1").join("A-1/setup.log")).unwrap();
    assert!(
        log.contains("fetching") && log.contains("no network") && !log.contains("never"),
        "{log}"
    );
    assert!(fake.calls().is_empty(), "an agent ran");
}

#[test]
fn a_setup_past_its_time_is_stopped() {
    let fake = repo(
        "setup = [\"sleep 30\"]\nsetup_timeout = \"1s\"\n",
        json!({}),
    );
    let started = std::time::Instant::now();
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 100, "{out}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let reason = fake.summary("A-1")["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("ran past setup_timeout (1 s)"), "{reason}");
}

#[test]
fn the_agents_model_keys_reach_the_agent_and_no_command_that_runs_its_work() {
    // A runner has them from the repository's Actions secrets; here, from the environment.
    let keys = "../../../../setup-keys";
    let fake = repo(
        &format!(
            "setup = [\"printf '%s %s' \\\"${{OPENAI_API_KEY:-unset}}\\\" \\\"${{ANTHROPIC_API_KEY:-unset}}\\\" > {keys}\"]\n"
        ),
        json!({"A-1/01-dev": [
            {"run": "printf '%s' \"${OPENAI_API_KEY:-unset}\" > k.txt && git add k.txt && git commit -q -m work"},
            {"message": work_json("pass")}
        ]}),
    );
    let out = fake
        .command(&["run", "M1"])
        .env("OPENAI_API_KEY", "model-key-for-the-agent")
        .env("ANTHROPIC_API_KEY", "other-model-key")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = std::fs::read_to_string(fake.env.root().join("setup-keys")).unwrap();
    assert_eq!(seen, "unset unset", "the set-up saw a model key");
    let branch = fake.summary("A-1")["branch"].as_str().unwrap().to_owned();
    let agent = fake.env.git(&["show", &format!("{branch}:k.txt")]);
    assert_eq!(agent, "model-key-for-the-agent", "the agent got its key");
}

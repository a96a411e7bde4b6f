//! Claude Code's own sandbox through the real `claude` (mock model server): its Bash commands
//! commit in the worktree and write nothing else, see none of orch's secrets nor claude's own
//! API key, its file tools cannot leave the worktree (a denial fails the phase), and gt works
//! in a Graphite repository.

use crate::sandbox::{attempt, run_with_planted_secrets, Escapes, SECRETS};
use crate::support::codex::{gt_bin, sandbox_tools, CodexRepo};
use crate::support::issue;
use crate::support::mock_model::{dev_json, Reply};
use serde_json::{json, Value};

/// What claude's tools answered, in order (Bash output, file tool messages).
fn outputs(events: &str) -> String {
    let text = |c: &Value| match c {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    };
    events
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == "user")
        .flat_map(|v| {
            v["message"]["content"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|b| b["type"] == "tool_result")
        .map(|b| text(&b["content"]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A Graphite repository (`gt init`) with one issue, and the PATH that finds the sandbox's
/// tools and the real gt.
fn graphite_repo(extra_config: &str) -> (CodexRepo, String) {
    let run = CodexRepo::new(&[("a1.md", issue("A-1", "M1", ""))], extra_config);
    let gt = gt_bin();
    let out = run
        .env
        .gt_output(&gt, &["init", "--trunk", "main", "--no-interactive"]);
    assert!(out.status.success(), "{out:?}");
    let path = format!(
        "{}:{}:{}",
        sandbox_tools().display(),
        gt.parent().unwrap().display(),
        std::env::var("PATH").unwrap()
    );
    (run, path)
}

#[test]
fn claudes_commands_commit_in_the_worktree_and_write_nothing_else() {
    let run = CodexRepo::new(
        &[("a1.md", issue("A-1", "M1", ""))],
        "[agent]\npass_env = [\"ORCH_TEST_PASSED\"]\n",
    );
    let escapes = Escapes::plant(
        &run,
        &[(
            "SETTINGS",
            "mkdir -p .claude && echo '{}' > .claude/settings.local.json",
        )],
    );
    // Off the network: Claude Code's proxy refuses every domain (403; a domain it lets
    // through but cannot reach here is a 502).
    let net = "curl -sS -m 10 -o /dev/null https://example.com; echo NET_DONE";
    run.model.script(
        "A-1/01-dev",
        vec![
            Reply::Commands(vec![escapes.command.clone()]),
            Reply::Commands(vec![net.into()]),
            Reply::Commands(vec!["env | sort".into()]),
            Reply::Commands(vec![
                "echo work > work.txt && git add work.txt && git commit -q -m 'A-1: work' && echo COMMIT_OK".into(),
            ]),
            Reply::Message(dev_json("pass")),
        ],
    );
    let out = run_with_planted_secrets(&run, &["run", "M1", "--agent", "all=claude"]);
    let dev = run.logs().join("A-1/01-dev");
    let events = std::fs::read_to_string(dev.join("events.jsonl")).unwrap_or_default();
    let said = outputs(&events);
    assert_eq!(out.status.code(), Some(0), "{out:?}\n{said}\n{events}");
    escapes.check(&said);
    assert!(
        said.contains("COMMIT_OK") && said.contains("CONNECT tunnel failed, response 403"),
        "{said}"
    );
    // Neither orch's secrets nor claude's own key reach the commands; pass_env does.
    for (name, value) in SECRETS {
        assert!(
            !said.contains(name) && !said.contains(value),
            "{name} leaked: {said}"
        );
    }
    assert!(
        !said.contains("mock-anthropic-key-not-secret") && !said.contains("ANTHROPIC_API_KEY="),
        "{said}"
    );
    assert!(said.contains("ORCH_TEST_PASSED=passed-through"), "{said}");
    // Claude ran confined: its own permission mode, not the bypass.
    assert!(
        events.contains("\"permissionMode\":\"acceptEdits\""),
        "{events}"
    );
    let summary = run.summary("A-1");
    assert_eq!(summary["commits"], 1, "{summary}");
    let guard = std::fs::read_to_string(dev.join("guard.jsonl")).unwrap();
    assert!(guard.contains("\"commit\""), "{guard}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("Sandbox:"), "{stdout}");
    // Claude Code's temp dir (its commands' TMPDIR) lives in the phase's private one, which
    // is gone after the run.
    let run_id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Run ")?.split_whitespace().next())
        .unwrap()
        .to_owned();
    let private = std::env::temp_dir().join(format!("orch-{run_id}-A-1-01"));
    assert!(
        said.contains(&format!("TMPDIR={}/claude-", private.display())),
        "{said}"
    );
    assert!(!private.exists());
}

#[test]
fn claudes_file_tools_cannot_leave_the_worktree_and_a_denial_fails_the_phase() {
    let run = CodexRepo::new(&[("a1.md", issue("A-1", "M1", ""))], "");
    let outside = run.env.root().join("outside-write");
    let config = run.env.repo.join(".git/config");
    let config_before = std::fs::read(&config).unwrap();
    let home = run.env.home().to_owned();
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::write(home.join(".ssh/id_ed25519"), "PLANTED PRIVATE KEY\n").unwrap();
    run.model.script(
        "A-1/01-dev",
        vec![
            Reply::Tools(vec![
                (
                    "Write".into(),
                    json!({"file_path": "inside.txt", "content": "inside\n"}),
                ),
                (
                    "Write".into(),
                    json!({"file_path": outside.display().to_string(), "content": "x"}),
                ),
                (
                    "Read".into(),
                    json!({"file_path": config.display().to_string()}),
                ),
                (
                    "Read".into(),
                    json!({"file_path": home.join(".ssh/id_ed25519").display().to_string()}),
                ),
            ]),
            Reply::Tools(vec![(
                "Edit".into(),
                json!({"file_path": config.display().to_string(), "old_string": "[core]",
                       "new_string": "[core]\n\tfsmonitor = touch /tmp/orch-planted"}),
            )]),
            Reply::Message(dev_json("pass")),
        ],
    );
    let out = run
        .orch()
        .args(["run", "M1", "--agent", "all=claude"])
        .output()
        .unwrap();
    let events =
        std::fs::read_to_string(run.logs().join("A-1/01-dev/events.jsonl")).unwrap_or_default();
    let said = outputs(&events);
    assert_eq!(out.status.code(), Some(100), "{out:?}\n{said}");
    let failure = &run.summary("A-1")["phases"][0]["failure"];
    assert_eq!(failure["kind"], "permission_denied", "{failure}");
    let denied = failure["denied"].to_string();
    assert!(
        denied.contains("Write") && denied.contains("Edit"),
        "{denied}"
    );
    // Inside the worktree the file tools work; reading outside it does too, but not a secret.
    assert!(said.contains("File created successfully"), "{said}");
    assert!(said.contains("[core]"), "{said}");
    assert!(!said.contains("PLANTED PRIVATE KEY") && !events.contains("PLANTED PRIVATE KEY"));
    assert!(!outside.exists());
    assert_eq!(std::fs::read(&config).unwrap(), config_before);
}

#[test]
fn in_a_graphite_repository_gt_works_in_claudes_sandbox_with_the_network_on() {
    let (run, path) = graphite_repo("[agent]\nnetwork = true\n");
    let common = run.env.repo.join(".git");
    let config_before = std::fs::read(common.join("config")).unwrap();
    run.model.script(
        "A-1/01-dev",
        vec![
            Reply::Commands(vec![format!(
                "echo one > one.txt && gt create a1-part -a -m 'A-1: part' --no-interactive; echo create=$?; \
                 echo two >> one.txt && gt modify -a -m 'A-1: part, amended' --no-interactive; echo modify=$?; \
                 gt log short --no-interactive; echo log=$?; {}; {}; \
                 curl -sS -m 10 -o /dev/null -w 'code=%{{http_code}}' https://example.com; echo NET_DONE",
                attempt("CONFIG", &format!("echo '[x]' >> {}/config", common.display())),
                attempt("HOOKS", &format!("touch {}/hooks/post-checkout", common.display())),
            )]),
            Reply::Message(dev_json("pass")),
        ],
    );
    let out = run
        .orch()
        .env("PATH", path)
        .args(["run", "M1", "--agent", "all=claude"])
        .output()
        .unwrap();
    let events = std::fs::read_to_string(run.logs().join("A-1/01-dev/events.jsonl")).unwrap();
    let said = outputs(&events);
    assert_eq!(out.status.code(), Some(0), "{out:?}\n{said}");
    for step in [
        "create=0",
        "modify=0",
        "log=0",
        "CONFIG_DENIED",
        "HOOKS_DENIED",
    ] {
        assert!(said.contains(step), "{step}: {said}");
    }
    // With the network on, the proxy lets any domain through (this machine reaches none).
    assert!(
        said.contains("NET_DONE")
            && !said.contains("response 403")
            && (said.contains("response 502")
                || said.contains("code=2")
                || said.contains("code=3")),
        "{said}"
    );
    assert_eq!(
        run.env.git(&["log", "-1", "--format=%s", "a1-part"]).trim(),
        "A-1: part, amended"
    );
    assert_eq!(std::fs::read(common.join("config")).unwrap(), config_before);
    assert!(!common.join("commondir").exists());
}

#[test]
fn orch_submits_the_drafts_of_an_issue_written_by_a_sandboxed_claude() {
    let (run, path) = graphite_repo("[graphite]\nsubmit = \"draft\"\n");
    // What decides is the writers' sandbox: claude's here, whatever codex's (off) says.
    let out = run
        .orch()
        .env("PATH", path)
        .env("ORCH_CODEX_SANDBOX", "danger-full-access")
        .args([
            "run",
            "M1",
            "--agent",
            "dev=claude",
            "--agent",
            "fix=claude",
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    // Told not to submit (its commands have no network), and orch's own submit ran: here gt
    // has no Graphite login, so gt refuses, which is the proof it was orch's attempt.
    let prompt = std::fs::read_to_string(run.logs().join("A-1/01-dev/prompt.md")).unwrap();
    assert!(
        prompt.contains("Do not submit pull requests yourself"),
        "{prompt}"
    );
    let log = std::fs::read_to_string(run.logs().join("A-1/commands/submit.log"))
        .unwrap_or_else(|e| panic!("{e}: {said}"));
    assert!(log.contains("authenticate"), "{log}");
    let summary = run.summary("A-1");
    assert!(
        summary["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("gt submit --stack --draft"),
        "{summary}"
    );
}

#[test]
fn a_command_claude_runs_in_its_sandbox_is_stopped_with_its_phase() {
    let run = CodexRepo::new(
        &[("a1.md", issue("A-1", "M1", ""))],
        "phase_timeout = 6\nretry_attempts = 1\n",
    );
    run.model.script(
        "A-1/01-dev",
        // (Claude Code refuses a plain `sleep 600`: "Blocked: sleep 600 followed by …".)
        vec![Reply::Commands(vec![
            "python3 -c 'import time; time.sleep(600)' orch-hang-probe".into(),
        ])],
    );
    let out = run
        .orch()
        .args(["run", "M1", "--agent", "all=claude"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let events =
        std::fs::read_to_string(run.logs().join("A-1/01-dev/events.jsonl")).unwrap_or_default();
    assert_eq!(
        out.status.code(),
        Some(100),
        "{stdout}\n{}",
        outputs(&events)
    );
    let failure = &run.summary("A-1")["phases"][0]["failure"];
    assert_eq!(failure["kind"], "timeout", "{failure}");
    // Nothing of the phase is left: not the command, not Claude Code's bubblewrap or socat
    // (each carries the phase's mark, its private temp dir). Measured: the group kill and
    // bubblewrap's die-with-parent already end them here; the mark is the second line.
    let run_id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Run ")?.split_whitespace().next())
        .unwrap()
        .to_owned();
    let mark = format!(
        "ORCH_PHASE_MARK={}",
        std::env::temp_dir()
            .join(format!("orch-{run_id}-A-1-01"))
            .display()
    );
    let left: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|e| {
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            let env = std::fs::read(e.path().join("environ")).unwrap_or_default();
            let marked = env.split(|b| *b == 0).any(|v| v == mark.as_bytes());
            (marked || cmd.contains("orch-hang-probe")).then_some(cmd)
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn in_a_graphite_repository_another_worktrees_git_dir_stays_out_of_claudes_reach() {
    // The property, whoever keeps it: orch denies the other worktrees' git dirs by name, and
    // Claude Code 2.1.328 keeps them read-only by itself as well (measured: this passes with
    // orch's rule taken out).
    let (run, path) = graphite_repo("");
    let other = run.env.root().join("other");
    run.env.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "other",
        &other.display().to_string(),
    ]);
    let other_git = run.env.repo.join(".git/worktrees/other");
    let head_before = std::fs::read(other_git.join("HEAD")).unwrap();
    run.model.script(
        "A-1/01-dev",
        vec![
            Reply::Commands(vec![format!(
                "{}; echo one > one.txt && gt create a1-part -a -m 'A-1: part' --no-interactive; echo create=$?",
                attempt("OTHERHEAD", &format!("echo ref: refs/heads/main > {}/HEAD", other_git.display())),
            )]),
            Reply::Message(dev_json("pass")),
        ],
    );
    let out = run
        .orch()
        .env("PATH", path)
        .args(["run", "M1", "--agent", "all=claude"])
        .output()
        .unwrap();
    let events = std::fs::read_to_string(run.logs().join("A-1/01-dev/events.jsonl")).unwrap();
    let said = outputs(&events);
    assert_eq!(out.status.code(), Some(0), "{out:?}\n{said}");
    assert!(
        said.contains("OTHERHEAD_DENIED") && said.contains("create=0"),
        "{said}"
    );
    assert_eq!(std::fs::read(other_git.join("HEAD")).unwrap(), head_before);
}

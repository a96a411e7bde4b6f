//! The first hour with orch on a real repository: every message points the right way (a
//! missing agent is said as such, a crash points at `orch resume`, a typo gets a suggestion),
//! read-only commands work when orch.toml is broken, a closed pipe ends quietly.

use crate::support;
use serde_json::json;
use support::fake::FakeRepo;
use support::issue;

fn one() -> FakeRepo {
    FakeRepo::new(&[("a.md", issue("A-1", "M1", ""))], "", json!({}))
}

fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn a_missing_agent_binary_is_said_as_such_never_as_a_sandbox_failure() {
    let repo = one();
    // Not on PATH (this PATH has git and sh, no codex).
    for args in [&["run", "M1"][..], &["run", "M1", "--dry-run"]] {
        let out = repo
            .env
            .orch()
            .env("PATH", "/usr/bin:/bin")
            .args(args)
            .output()
            .unwrap();
        let shown = text(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {shown}");
        assert!(
            shown.contains("codex not found on PATH (set `[codex] bin` or `ORCH_CODEX_BIN`)"),
            "{args:?}: {shown}"
        );
        assert!(
            !shown.contains("sandbox ="),
            "no hint to weaken the sandbox: {shown}"
        );
    }
    // A configured path that is not there.
    let out = repo
        .env
        .orch()
        .env("ORCH_CODEX_BIN", "/nowhere/codex")
        .args(["run", "M1"])
        .output()
        .unwrap();
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains("codex binary /nowhere/codex does not exist"),
        "{shown}"
    );
    assert!(!shown.contains("sandbox ="), "{shown}");
    // Claude phases need claude.
    let out = repo
        .env
        .orch()
        .env("PATH", "/usr/bin:/bin")
        .env(
            "ORCH_CODEX_BIN",
            support::fixtures().join("agents/fake-codex"),
        )
        .env("ORCH_CODEX_SANDBOX", "danger-full-access")
        .args(["run", "M1", "--agent", "review=claude"])
        .output()
        .unwrap();
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains("claude not found on PATH (set `[claude] bin` or `ORCH_CLAUDE_BIN`)"),
        "{shown}"
    );
    assert!(repo.calls().is_empty());
}

#[test]
fn after_a_crash_every_command_points_at_orch_resume_and_the_clock_stops() {
    let repo = FakeRepo::new(
        &[("a.md", issue("A-1", "M1", ""))],
        "",
        json!({"A-1/01-dev": [
            {"run": "echo x > x.txt && git add x.txt && git commit -q -m x"},
            {"sleep": 1}, {"message": support::fake::work_json("pass")}]}),
    );
    repo.crash_at("mid-dev", &["run", "M1"]);
    let status = || {
        let out = repo.command(&["status"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let first = status();
    assert!(first.contains("(not finished, not running"), "{first}");
    assert!(
        first.contains("No orch is running it")
            && first.contains("`orch resume p/M1` continues it"),
        "{first}"
    );
    assert!(first.contains("01-dev cut off after "), "{first}");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(status(), first, "a dead phase's time does not go on");
    // verify-clean and a new run point at the resume, never at deleting the lock.
    for args in [&["verify-clean"][..], &["run", "M1"]] {
        let (code, out) = repo.run(args);
        assert_eq!(code, 1, "{args:?}: {out}");
        assert!(out.contains("orch resume"), "{args:?}: {out}");
        assert!(!out.contains("delete"), "{args:?}: {out}");
    }
    let (code, out) = repo.run(&["resume"]);
    assert_eq!(code, 0, "{out}");
    assert!(status().contains("(finished"), "{}", status());
}

#[test]
fn a_typo_in_orch_toml_gets_a_suggestion_and_read_only_commands_go_on() {
    let repo = one();
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    std::fs::write(
        repo.env.repo.join("orch.toml"),
        "worktree_root = \"../wt\"\njob = 2\n",
    )
    .unwrap();
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("orch.toml:2: unknown field `job`, did you mean `jobs`?"),
        "{out}"
    );
    assert!(!out.contains("expected one of"), "{out}");
    for args in [
        &["status"][..],
        &["report"],
        &["diff", "A-1", "--stat"],
        &["guard", "log", "A-1"],
        &["worktrees"],
    ] {
        let out = repo.env.orch().args(args).output().unwrap();
        let shown = text(&out);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {shown}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(
                "orch.toml:2: unknown field `job`, did you mean `jobs`?; reading with what can be read of it"
            ),
            "{args:?}: {shown}"
        );
    }
    // What changes things still refuses.
    for args in [&["worktrees", "--prune"][..], &["verify-clean"]] {
        let out = repo.env.orch().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
    }
}

#[test]
fn a_closed_pipe_ends_a_printing_command_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let repo = one();
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    for args in [
        &["diff", "A-1"][..],
        &["completions", "bash"],
        &["report"],
        &["status"],
        &["plan", "M1"],
    ] {
        // The reader is gone before orch writes a byte.
        let mut child = repo
            .command(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let quiet = out.status.signal() == Some(libc::SIGPIPE)
            || matches!(out.status.code(), Some(0 | 141));
        assert!(quiet, "{args:?}: {:?} {stderr}", out.status);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
}

#[test]
fn plan_without_a_milestone_lists_them_and_a_planned_milestone_is_named() {
    let repo = FakeRepo::with_tree("messy-tree", "", json!({}));
    let out = repo.env.orch_ok(&["plan"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    for row in [
        "cli-orchestration-v0/M1-foundation  3 of 3",
        "ledger/M1                           3 of 5  Journal foundation",
        "ledger/M2-reporting                 1 of 1",
    ] {
        assert!(listed.contains(row), "{listed}");
    }
    assert!(listed.contains("Plan one: orch plan "), "{listed}");
    // A milestone with a doc but no issue doc yet: the error names the doc.
    repo.env.write(
        "docs/projects/ledger/milestones/M3-later.md",
        "# M3: Later\n",
    );
    let out = repo.env.orch().args(["plan", "M3"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let shown = text(&out);
    assert!(
        shown.contains("no issue doc has `milestone: M3`")
            && shown.contains(
                "docs/projects/ledger/milestones/M3-later.md is its milestone doc, but no issue doc says `milestone: M3` yet"
            ),
        "{shown}"
    );
}

#[test]
fn a_dry_run_that_would_refuse_exits_non_zero_and_the_report_names_no_branch_never_made() {
    let repo = FakeRepo::new(
        &[
            ("a.md", issue("A-1", "M1", "")),
            (
                "b.md",
                issue("B-1", "M1", "").replace("state: planned", "state: landed"),
            ),
        ],
        "",
        json!({}),
    );
    repo.env.write("dirty.txt", "not committed\n");
    let (code, out) = repo.run(&["run", "M1", "--dry-run"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("REFUSE to start: the repository is not clean"),
        "{out}"
    );
    std::fs::remove_file(repo.env.repo.join("dirty.txt")).unwrap();
    let (code, out) = repo.run(&["run", "M1", "--dry-run"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    let report = repo.env.orch_ok(&["report"]);
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(
        report.contains("Outcome: **skipped** — state is `landed`.\n"),
        "{report}"
    );
    assert!(
        report.contains("Outcome: **completed** on branch `orch/p/M1/A-1-"),
        "{report}"
    );
    let diff = repo.env.orch_ok(&["diff", "B-1"]);
    assert!(
        String::from_utf8_lossy(&diff.stdout).contains("B-1 skipped in run "),
        "{}",
        text(&diff)
    );
}

#[test]
fn the_users_own_prompt_files_and_schema_render_once_and_whole() {
    let repo = FakeRepo::new(
        &[("a.md", issue("A-1", "M1", ""))],
        "",
        json!({"A-1/02-review": [{"message": support::fake::review_json("changes_required", &["add a test"])}]}),
    );
    // Prompt files written for the dev-auto contract: front matter, the input as $ARGUMENTS.
    for name in ["dev-auto-parallel", "dev-auto-fix-review"] {
        repo.env.write(
            &format!(".orch/prompts/{name}.md"),
            "---\ndescription: Our own phase prompt\nargument-hint: <ORCH_CONTEXT>\n---\n\n\
             Do the work of the issue below, by our team's rules.\n\n$ARGUMENTS\n",
        );
    }
    // Their dev schema, whose `phase` allows `dev` and `fix`, and no fix schema.
    let mut dev: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(support::fixtures().join("../schemas/dev.schema.json")).unwrap(),
    )
    .unwrap();
    dev["properties"]["phase"]["enum"] = json!(["dev", "fix"]);
    dev["description"] = json!("ours");
    repo.env
        .write(".orch/schemas/dev.schema.json", dev.to_string());
    repo.env.git(&["add", "."]);
    repo.env
        .git(&["commit", "-q", "-m", "our prompts and schema"]);
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    let calls = repo.calls();
    for phase in ["01-dev", "03-fix"] {
        let sent = calls
            .iter()
            .find(|c| c["key"] == format!("A-1/{phase}"))
            .unwrap()["prompt"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(sent.matches("ORCH_CONTEXT:").count(), 1, "{phase}: {sent}");
        // Where their file puts its input: after their own words.
        assert!(
            sent.find("ORCH_CONTEXT:") > sent.find("by our team's rules"),
            "{phase}: {sent}"
        );
        assert!(sent.contains("by our team's rules"), "{phase}: {sent}");
        assert!(!sent.contains("description: Our own"), "{phase}: {sent}");
        // What orch's own prompt carries and theirs lacks, after it under its own heading.
        assert!(
            sent.contains("## Added by orch") && sent.contains("### Pull requests"),
            "{phase}: {sent}"
        );
        assert!(
            sent.contains(&format!("orch-phase-key: A-1/{phase}")),
            "{phase}"
        );
        // The log holds what the agent received, byte for byte.
        let logged =
            std::fs::read_to_string(repo.phase_dir("A-1", phase).join("prompt.md")).unwrap();
        assert_eq!(logged, sent, "{phase}");
        // Their dev schema served the fix phase too.
        let schema: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(repo.phase_dir("A-1", phase).join("schema.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(schema["description"], "ours", "{phase}");
    }
}

#[test]
fn progress_says_each_command_once_with_its_exit_code_and_a_refusal_as_it_happens() {
    let long = format!("echo {} > long.txt", "x".repeat(150));
    let repo = FakeRepo::new(
        &[("a.md", issue("A-1", "M1", ""))],
        "",
        json!({"A-1/01-dev": [
            {"run": long},
            {"run": "gt sync --no-interactive; true"},
            {"run": "git add long.txt && git commit -q -m long"},
            {"run": "false"},
            {"message": support::fake::work_json("pass")}]}),
    );
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    let commands: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("[A-1]     $ "))
        .collect();
    assert_eq!(commands.len(), 4, "each command once: {out}");
    assert!(
        commands[0].ends_with("xxxx… (exit 0)") && commands[0].chars().count() < 120,
        "cut with … and its exit code: {}",
        commands[0]
    );
    assert!(commands[3].ends_with("false' (exit 1)"), "{}", commands[3]);
    assert!(
        out.contains("[A-1] guard refused gt sync --no-interactive: "),
        "the refusal as it happens: {out}"
    );
}

#[test]
fn an_interrupt_reads_interrupted_not_failed() {
    let repo = FakeRepo::new(
        &[("a.md", issue("A-1", "M1", ""))],
        "",
        json!({"A-1/01-dev": [{"run": "true"}, {"sleep": 30}, {"message": support::fake::work_json("pass")}]}),
    );
    let child = repo
        .command(&["run", "M1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    support::wait_until(
        "the agent at work",
        std::time::Duration::from_secs(20),
        || {
            std::fs::read_to_string(repo.phase_dir("A-1", "01-dev").join("events.jsonl"))
                .is_ok_and(|e| e.contains("\"completed\""))
        },
    );
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(130), "{shown}");
    assert!(shown.contains("[A-1] 01-dev interrupted ("), "{shown}");
    assert!(!shown.contains("failed"), "{shown}");
}

#[test]
fn the_plan_table_fits_120_columns_and_lists_dependencies_in_plan_order() {
    let long = "Reconcile the ledger's journal entries against the bank's statement feed nightly";
    let repo = FakeRepo::new(
        &[
            ("a.md", issue("A-1", "M1", "blocked: [C-1]\n")),
            ("b.md", issue("B-1", "M1", "blocked: [C-1]\n")),
            (
                "c.md",
                issue("C-1", "M1", "blocked_by: [B-1, A-1]\n").replace("Work item C-1", long),
            ),
        ],
        "",
        json!({}),
    );
    let out = repo.env.orch_ok(&["plan", "M1"]);
    let table = String::from_utf8_lossy(&out.stdout);
    for line in table.lines() {
        assert!(
            line.chars().count() <= 120,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    let row = table.lines().find(|l| l.starts_with("3  C-1")).unwrap();
    assert!(row.contains("A-1, B-1"), "plan order: {row}");
    assert!(row.contains('…'), "{row}");
    let out = repo.env.orch_ok(&["plan", "M1", "--wide"]);
    let wide = String::from_utf8_lossy(&out.stdout);
    assert!(wide.contains(long), "{wide}");
}

#[test]
fn guard_log_hides_read_only_probes_unless_asked_and_filters_and_speaks_json() {
    let repo = FakeRepo::new(
        &[("a.md", issue("A-1", "M1", ""))],
        "",
        json!({"A-1/01-dev": [
            {"run": "git status --porcelain && git log -1 --oneline && git branch --show-current"},
            {"run": "gt sync --no-interactive; true"},
            {"run": "echo x > x.txt && git add x.txt && git commit -q -m x"},
            {"message": support::fake::work_json("pass")}]}),
    );
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    let log = |args: &[&str]| {
        let out = repo.env.orch_ok(&[&["guard", "log", "A-1"], args].concat());
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (shown, said) = log(&[]);
    assert!(
        !shown.contains("git status") && !shown.contains("git log"),
        "{shown}"
    );
    assert!(
        shown.contains("allowed git add x.txt") && shown.contains("denied  gt sync"),
        "{shown}"
    );
    assert!(
        said.contains(
            "read-only probes (git status, git log, gt ls, …) not shown; `--all` shows them"
        ),
        "{said}"
    );
    let (all, _) = log(&["--all"]);
    assert!(all.contains("allowed git status --porcelain"), "{all}");
    let (denied, _) = log(&["--denied"]);
    assert_eq!(denied.lines().count(), 1, "{denied}");
    assert!(denied.contains("gt sync"), "{denied}");
    let (json, _) = log(&["--json", "--denied"]);
    let line: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(line["decision"], "deny");
    assert_eq!(line["phase"], "01-dev");
    assert_eq!(line["argv"][0], "gt");
}

#[test]
fn an_agent_running_one_command_again_and_again_is_stopped_as_looping() {
    let same = json!({"run": "cat missing.txt"});
    let repo = FakeRepo::new(
        &[("a.md", issue("A-1", "M1", ""))],
        "retry_attempts = 1\n[agent]\nmax_repeats = 4\n",
        json!({"A-1/01-dev": [
            {"run": "echo x > x.txt"},
            same, same, same, same, same, same,
            {"message": support::fake::work_json("pass")}]}),
    );
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 100, "{out}");
    let s = repo.summary("A-1");
    assert_eq!(s["phases"][0]["failure"]["kind"], "looping", "{s}");
    assert!(
        s["reason"]
            .as_str()
            .unwrap()
            .contains("looping: the agent ran `/bin/bash -c 'cat missing.txt'` 4 times in a row with the same outcome"),
        "{s}"
    );
    // Interleaved with other work, the same command is no loop.
    let other = json!({"run": "date +%N > t.txt"});
    let repo = FakeRepo::new(
        &[("a.md", issue("A-1", "M1", ""))],
        "[agent]\nmax_repeats = 4\n",
        json!({"A-1/01-dev": [
            same, same, same, other, same, same, same,
            {"run": "git add -A && git commit -q -m x"},
            {"message": support::fake::work_json("pass")}]}),
    );
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn completion_offers_this_repositorys_milestones_and_issues() {
    let repo = FakeRepo::with_tree("messy-tree", "", json!({}));
    let bin = assert_cmd::cargo::cargo_bin("orch");
    let complete = |words: &[&str]| -> Vec<String> {
        let script = format!(
            "source <(orch completions bash)\nCOMP_WORDS=({})\nCOMP_CWORD={}\n_orch_names orch \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
            words
                .iter()
                .map(|w| format!("'{w}'"))
                .collect::<Vec<_>>()
                .join(" "),
            words.len() - 1
        );
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(script)
            .current_dir(&repo.env.repo)
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    bin.parent().unwrap().display(),
                    std::env::var("PATH").unwrap()
                ),
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        complete(&["orch", "run", "led"]),
        ["ledger/M1", "ledger/M2-reporting"]
    );
    assert_eq!(
        complete(&["orch", "plan", "cli"]),
        ["cli-orchestration-v0/M1-foundation"]
    );
    assert_eq!(complete(&["orch", "diff", "CLI-"]), ["CLI-1", "CLI-2"]);
    assert_eq!(
        complete(&["orch", "run", "ledger/M1", "--retry", "LEDGER-"]),
        ["LEDGER-1", "LEDGER-2", "LEDGER-3", "LEDGER-4", "LEDGER-5"]
    );
    // Elsewhere clap's own completion answers: the subcommands.
    assert!(complete(&["orch", "sta"]).contains(&"status".to_owned()));
}

#[test]
fn the_readmes_quick_start_works_word_for_word_on_a_fresh_clone() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let section = readme
        .split("## Quick start on your repository")
        .nth(1)
        .expect("the README has a quick start");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("its commands");
    let commands: Vec<Vec<String>> = block
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .filter(|l| !l.is_empty())
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect();
    assert!(commands.len() >= 5, "{commands:?}");
    // A repository with the sample docs, cloned as a user would have it.
    let origin = support::TestEnv::with_sample_docs();
    origin.git(&["add", "."]);
    origin.git(&["commit", "-q", "-m", "issue docs"]);
    let clone = origin.root().join("clone");
    origin.git(&[
        "clone",
        "-q",
        origin.repo.to_str().unwrap(),
        clone.to_str().unwrap(),
    ]);
    let bin = assert_cmd::cargo::cargo_bin("orch");
    for words in &commands {
        assert_eq!(words[0], "orch", "{words:?}");
        let out = std::process::Command::new(&bin)
            .args(&words[1..])
            .current_dir(&clone)
            .env("HOME", origin.home())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Quick Start")
            .env("GIT_AUTHOR_EMAIL", "quick@example.invalid")
            .env("GIT_COMMITTER_NAME", "Quick Start")
            .env("GIT_COMMITTER_EMAIL", "quick@example.invalid")
            // The agent: the scripted stand-in for codex (no model is reachable here).
            .env(
                "ORCH_CODEX_BIN",
                support::fixtures().join("agents/fake-codex"),
            )
            .env("ORCH_CODEX_SANDBOX", "danger-full-access")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{words:?}: {}", text(&out));
    }
    assert!(clone.join("report.md").is_file());
    let report = std::fs::read_to_string(clone.join("report.md")).unwrap();
    assert!(report.contains("Outcome: **completed**"), "{report}");
}

//! The forge end to end: the real orch and the real codex (through the mock model), a bare
//! repository as the remote, and the GitHub stand-in of the test support.

use crate::support::codex::CodexRepo;
use crate::support::mock_github::MockGithub;
use crate::support::mock_model::{dev_json, Reply};
use crate::support::{issue, TestEnv};
use std::path::PathBuf;

/// Not shaped like any known key, so only orch's handling (not the shape redactor) keeps it
/// out of what it writes.
const TOKEN: &str = "forge-test-token-7c1e55d2";

/// A repository whose `origin` is a bare repository holding `main`, and a GitHub stand-in
/// for `acme/widgets` over it.
struct ForgeRepo {
    run: CodexRepo,
    github: MockGithub,
    remote: PathBuf,
}

impl ForgeRepo {
    fn new(docs: &[(&str, String)], extra_config: &str) -> ForgeRepo {
        let env = TestEnv::new();
        for (name, text) in docs {
            env.doc("p", name, text);
        }
        let remote = env.root().join("remote.git");
        let github = MockGithub::start("acme", "widgets", TOKEN, &remote);
        let config = format!("{extra_config}{}", github.forge_toml());
        let run = CodexRepo::in_env(env, &config);
        let git = crate::support::real_git();
        let status = std::process::Command::new(&git)
            .args(["init", "-q", "--bare", "-b", "main"])
            .arg(&remote)
            .status()
            .unwrap();
        assert!(status.success());
        run.env
            .git(&["remote", "add", "origin", remote.to_str().unwrap()]);
        run.env.git(&["push", "-q", "origin", "main"]);
        ForgeRepo {
            run,
            github,
            remote,
        }
    }

    fn orch(&self) -> assert_cmd::Command {
        let mut cmd = self.run.orch();
        cmd.env("GITHUB_TOKEN", TOKEN);
        cmd
    }

    fn orch_run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.orch().args(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The tip of `branch` in the bare remote.
    fn remote_tip(&self, branch: &str) -> Option<String> {
        let out = std::process::Command::new(crate::support::real_git())
            .arg("--git-dir")
            .arg(&self.remote)
            .args([
                "rev-parse",
                "--verify",
                "-q",
                &format!("refs/heads/{branch}"),
            ])
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }
}

/// Every file orch wrote under the repository's logs and git dir.
fn everything_written(repo: &std::path::Path) -> Vec<PathBuf> {
    let mut files = crate::support::files_written(&repo.join("logs"));
    files.extend(crate::support::files_written(&repo.join(".git/orch")));
    files
}

#[test]
fn two_stacked_issues_become_two_stacked_drafts_through_a_rate_limit() {
    let forge = ForgeRepo::new(
        &[
            ("a1.md", issue("A-1", "M1", "blocked: [A-2]\n")),
            ("a2.md", issue("A-2", "M1", "blocked_by: [A-1]\n")),
        ],
        "",
    );
    // A-1's agent says what it sees of the forge's token, in a commit (never redacted).
    forge.run.model.script(
        "A-1/01-dev",
        vec![
            Reply::Commands(vec![
                "printf 'github=%s gh=%s\\n' \"${GITHUB_TOKEN:-unset}\" \"${GH_TOKEN:-unset}\" > env-check.txt && git add env-check.txt && git commit -q -m '[A-1] feat(ledger): post entries'".into(),
            ]),
            Reply::Message(dev_json("pass")),
        ],
    );
    // The first draft GitHub is asked for meets a rate limit that resets in a second.
    let reset = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH))
        .unwrap()
        .as_secs()
        + 1;
    forge.github.one_off(
        "POST",
        "/repos/acme/widgets/pulls",
        403,
        &[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &reset.to_string()),
        ],
    );
    let (code, stdout, stderr) = forge.orch_run(&["run", "M1"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");

    let (a1, a2) = (forge.run.summary("A-1"), forge.run.summary("A-2"));
    let (b1, b2) = (forge.run.branch_of("A-1"), forge.run.branch_of("A-2"));
    let pulls = forge.github.pulls();
    assert_eq!(pulls.len(), 2, "{pulls:?}");
    let (p1, p2) = (&pulls[0], &pulls[1]);
    assert_eq!((p1.head.as_str(), p1.base.as_str()), (b1.as_str(), "main"));
    assert_eq!(
        (p2.head.as_str(), p2.base.as_str()),
        (b2.as_str(), b1.as_str())
    );
    assert!(p1.draft && p2.draft);
    assert_eq!(p1.title, "[A-1] feat(ledger): post entries");
    assert!(p2.title.starts_with("[A-2] "), "{}", p2.title);
    assert!(p1.body.contains("<!-- orch: issue A-1") && p1.body.contains("### Diffstat"));
    assert!(
        p2.body.contains(&format!("Stacked on `{b1}`")),
        "{}",
        p2.body
    );
    // What was pushed is each issue's final head, recorded with its PR.
    for (summary, branch, pr) in [(&a1, &b1, p1), (&a2, &b2, p2)] {
        let pushed = summary["pull"]["pushed"].as_str().unwrap();
        assert_eq!(forge.remote_tip(branch).as_deref(), Some(pushed));
        assert_eq!(summary["head"].as_str(), Some(pushed));
        assert_eq!(summary["pull"]["number"], pr.number);
        let url = summary["pull"]["url"].as_str().unwrap();
        assert!(summary["draft_prs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u == url));
        assert!(stderr.contains(url), "{stderr}");
    }
    // The rate limit was waited out, and said.
    let posts: Vec<_> = (forge.github.requests().into_iter())
        .filter(|r| r.method == "POST" && r.path.ends_with("/pulls"))
        .collect();
    assert_eq!(posts.len(), 3, "one refused, two opened");
    assert!(
        stderr.contains("waited") && stderr.contains("rate limit"),
        "{stderr}"
    );
    let events: String = (std::fs::read_dir(forge.run.env.repo.join("logs/orch/p/M1")).unwrap())
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("events-"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert!(events.contains("\"type\":\"forge_note\"") && events.contains("pull_request"));
    // Every request carried the token; the agent never had it, and nothing orch wrote has it.
    for r in forge.github.requests() {
        assert_eq!(
            r.headers.get("authorization").map(String::as_str),
            Some(&*format!("Bearer {TOKEN}")),
            "{}",
            r.path
        );
    }
    let seen = forge.run.env.git(&["show", &format!("{b1}:env-check.txt")]);
    assert_eq!(seen.trim(), "github=unset gh=unset");
    let written = everything_written(&forge.run.env.repo);
    assert!(written.len() > 10);
    for file in written {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        assert!(!text.contains(TOKEN), "{} holds the token", file.display());
    }

    // A second run of the milestone redoes nothing: no phase, no second draft.
    let (code, stdout, stderr) = forge.orch_run(&["run", "M1"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(forge.github.pulls().len(), 2);
}

#[test]
fn without_a_token_the_run_says_once_why_it_opened_no_draft() {
    let forge = ForgeRepo::new(
        &[
            ("a1.md", issue("A-1", "M1", "")),
            ("a2.md", issue("A-2", "M1", "")),
        ],
        "",
    );
    let out = forge.run.orch().args(["run", "M1"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stderr.matches("no draft pull requests in this run").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("GITHUB_TOKEN"), "{stderr}");
    assert!(forge.github.pulls().is_empty());
    assert_eq!(forge.remote_tip(&forge.run.branch_of("A-1")), None);
}

#[test]
fn a_push_the_remote_rejects_fails_the_issue_says_how_out_and_retry_opens_the_draft() {
    let forge = ForgeRepo::new(&[("a1.md", issue("A-1", "M1", ""))], "");
    // Someone pushed to the issue's branch name before orch did.
    let branch = "orch/p/M1/A-1-work-item-a-1";
    forge
        .run
        .env
        .git(&["commit", "-q", "--allow-empty", "-m", "someone else's work"]);
    forge
        .run
        .env
        .git(&["push", "-q", "origin", &format!("HEAD:refs/heads/{branch}")]);
    forge.run.env.git(&["reset", "-q", "--hard", "HEAD~1"]);
    let theirs = forge.remote_tip(branch).unwrap();

    let (code, stdout, stderr) = forge.orch_run(&["run", "M1"]);
    assert_ne!(code, 0, "{stdout}\n{stderr}");
    let summary = forge.run.summary("A-1");
    assert_eq!(summary["outcome"], "failed");
    let reason = summary["reason"].as_str().unwrap();
    for want in [
        "`git push`",
        "never force-pushes",
        "orch resume --retry A-1",
    ] {
        assert!(reason.contains(want), "{want}: {reason}");
    }
    // Nothing of theirs was overwritten, and no draft was opened.
    assert_eq!(forge.remote_tip(branch).as_deref(), Some(theirs.as_str()));
    assert!(forge.github.pulls().is_empty());
    let phases = summary["phases"].as_array().unwrap().len();

    // Their branch dealt with (here: removed), the retry pushes and opens the draft without
    // running a phase again.
    let status = std::process::Command::new(crate::support::real_git())
        .arg("--git-dir")
        .arg(&forge.remote)
        .args(["update-ref", "-d", &format!("refs/heads/{branch}")])
        .status()
        .unwrap();
    assert!(status.success());
    let (code, stdout, stderr) = forge.orch_run(&["resume", "--retry", "A-1"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let summary = forge.run.summary("A-1");
    assert_eq!(summary["outcome"], "completed", "{summary}");
    assert_eq!(summary["phases"].as_array().unwrap().len(), phases);
    assert_eq!(forge.github.pulls().len(), 1);
    assert_eq!(
        forge.remote_tip(branch).as_deref(),
        summary["pull"]["pushed"].as_str()
    );
}

/// The latest run state of `p/M1`.
fn state(repo: &std::path::Path) -> serde_json::Value {
    let dir = repo.join(".git/orch/runs");
    let mut states: Vec<serde_json::Value> = (std::fs::read_dir(&dir).unwrap().flatten())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .filter_map(|e| serde_json::from_slice(&std::fs::read(e.path()).unwrap()).ok())
        .collect();
    states.sort_by_key(|s| s["updated_at"].as_str().unwrap_or_default().to_owned());
    states.pop().expect("a run state")
}

fn watch_of(state: &serde_json::Value, id: &str) -> serde_json::Value {
    let issues = state["issues"].as_array().unwrap();
    let issue = issues.iter().find(|i| i["id"] == id).unwrap();
    issue["forge"].clone()
}

/// A fix result that answers `threads`.
fn forge_fix_json(threads: serde_json::Value) -> String {
    let mut v: serde_json::Value =
        serde_json::from_str(&crate::support::mock_model::fix_json("pass")).unwrap();
    v["threads"] = threads;
    v.to_string()
}

fn commit_cmd(file: &str, message: &str) -> String {
    format!("echo fixed >> {file} && git add {file} && git commit -q -m '{message}'")
}

const CI_LOG: &str = "2026-12-07T10:00:01.0000000Z ##[group]Run cargo test\n\
2026-12-07T10:00:02.0000000Z    Compiling ledger v0.1.0\n\
2026-12-07T10:00:03.0000000Z error[E0308]: mismatched types in src/ledger.rs:12\n\
2026-12-07T10:00:04.0000000Z ##[error]Process completed with exit code 101.\n";

#[test]
fn a_failed_check_and_a_review_thread_each_start_a_fix_that_is_pushed_and_answered() {
    use crate::support::mock_github::{Ci, Thread};
    let forge = ForgeRepo::new(
        &[
            ("a1.md", issue("A-1", "M1", "blocked: [A-2]\n")),
            ("a2.md", issue("A-2", "M1", "blocked_by: [A-1]\n")),
        ],
        "",
    );
    let (b1, b2) = ("orch/p/M1/A-1-work-item-a-1", "orch/p/M1/A-2-work-item-a-2");
    forge
        .github
        .ci(b1, vec![Ci::Fail(CI_LOG.to_owned()), Ci::Pass]);
    forge.github.add_thread(Thread {
        id: "T1".into(),
        pr: 2,
        path: "orch-demo/A-2.md".into(),
        line: 1,
        resolved: false,
        comments: vec![("ana".into(), "Please say what the work is for.".into())],
    });
    let model = &forge.run.model;
    model.script(
        "A-1/03-fix",
        vec![
            Reply::Commands(vec![commit_cmd(
                "ledger.rs",
                "[A-1] fix(ledger): the types match",
            )]),
            Reply::Message(forge_fix_json(serde_json::json!([]))),
        ],
    );
    model.script(
        "A-2/03-fix",
        vec![
            Reply::Commands(vec![commit_cmd("orch-demo/A-2.md", "[A-2] docs: say what it is for")]),
            Reply::Message(forge_fix_json(serde_json::json!([
                {"threadId": "T1", "status": "addressed", "commit": "", "reason": "Said what it is for."}
            ]))),
        ],
    );
    let (code, stdout, stderr) = forge.orch_run(&["run", "M1", "--follow"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");

    let state = state(&forge.run.env.repo);
    for id in ["A-1", "A-2"] {
        let watch = watch_of(&state, id);
        assert_eq!(watch["outcome"], "green", "{id}: {watch}\n{stderr}");
        assert_eq!(watch["cycles"], 1, "{id}: {watch}");
    }
    // The fix of A-1 was given the failed job's log, excerpted around its first error.
    let prompt_of = |key: &str| {
        (model.requests().into_iter())
            .filter(|(k, _)| k == key)
            .map(|(_, body)| body.to_string())
            .next()
            .unwrap_or_else(|| panic!("no request for {key}"))
    };
    let a1_fix = prompt_of("A-1/03-fix");
    assert!(
        a1_fix.contains("ciFailures") && a1_fix.contains("error[E0308]: mismatched types"),
        "{a1_fix}"
    );
    assert!(
        !a1_fix.contains("2026-12-07T10:00:03"),
        "timestamps are stripped"
    );
    let a2_fix = prompt_of("A-2/03-fix");
    assert!(
        a2_fix.contains("reviewComments") && a2_fix.contains("Please say what the work is for.")
    );
    // Each fix was pushed: the PR's branch on the remote is the issue's new head.
    for (id, branch) in [("A-1", b1), ("A-2", b2)] {
        let summary = forge.run.summary(id);
        let pushed = summary["pull"]["pushed"].as_str().unwrap().to_owned();
        assert_eq!(forge.remote_tip(branch), Some(pushed.clone()));
        let subject = forge.run.env.git(&["log", "-1", "--format=%s", &pushed]);
        assert!(subject.trim().starts_with(&format!("[{id}]")), "{subject}");
        assert_eq!(summary["phases"].as_array().unwrap().len(), 3, "{summary}");
    }
    // The thread got one answer naming the commit; it was not resolved (a person's).
    let thread = forge
        .github
        .threads()
        .into_iter()
        .find(|t| t.id == "T1")
        .unwrap();
    let replies: Vec<_> = thread
        .comments
        .iter()
        .filter(|(who, _)| who == "orch-bot")
        .collect();
    assert_eq!(replies.len(), 1, "{thread:?}");
    let a2_head = forge.remote_tip(b2).unwrap();
    assert!(
        replies[0]
            .1
            .contains(&format!("Addressed in {}", &a2_head[..10])),
        "{thread:?}"
    );
    assert!(!thread.resolved);
    assert_eq!(forge.github.pulls().len(), 2);
}

#[test]
fn a_watch_killed_mid_fix_and_mid_replies_resumes_without_a_second_fix_or_reply() {
    use crate::support::mock_github::Thread;
    use std::os::unix::process::ExitStatusExt;
    let forge = ForgeRepo::new(&[("a1.md", issue("A-1", "M1", ""))], "");
    for id in ["T1", "T2"] {
        forge.github.add_thread(Thread {
            id: id.into(),
            pr: 1,
            path: "orch-demo/A-1.md".into(),
            line: 1,
            resolved: false,
            comments: vec![("bo".into(), format!("{id}: a word on this line"))],
        });
    }
    let model = &forge.run.model;
    // The first fix is killed with orch once its commit is made; the second one passes.
    model.script(
        "A-1/03-fix",
        vec![Reply::Commands(vec![commit_cmd(
            "orch-demo/A-1.md",
            "[A-1] docs: first try",
        )])],
    );
    model.script(
        "A-1/04-fix",
        vec![
            Reply::Commands(vec![commit_cmd(
                "orch-demo/A-1.md",
                "[A-1] docs: answer both",
            )]),
            Reply::Message(forge_fix_json(serde_json::json!([
                {"threadId": "T1", "status": "addressed", "commit": "", "reason": "Done."},
                {"threadId": "T2", "status": "declined", "commit": "", "reason": "Out of scope."}
            ]))),
        ],
    );
    let killed = |crash_at: &str, args: &[&str]| {
        let out = forge
            .orch()
            .env("ORCH_CRASH_AT", crash_at)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGKILL),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    killed("mid-fix", &["run", "M1", "--follow"]);
    let watch = watch_of(&state(&forge.run.env.repo), "A-1");
    assert_eq!(watch["fixing"]["seq"], 3, "{watch}");
    let first_try = forge
        .run
        .env
        .git(&["log", "-1", "--format=%H", "orch/p/M1/A-1-work-item-a-1"]);

    // `orch resume` continues the watch: the fix runs again (the killed one's commit kept),
    // passes; orch is killed again after its first reply.
    killed("forge-replied", &["resume", "--force-unlock"]);
    let thread = |id: &str| {
        forge
            .github
            .threads()
            .into_iter()
            .find(|t| t.id == id)
            .unwrap()
    };
    let orch_replies = |id: &str| {
        thread(id)
            .comments
            .iter()
            .filter(|(w, _)| w == "orch-bot")
            .count()
    };
    assert_eq!((orch_replies("T1"), orch_replies("T2")), (1, 0));

    let (code, stdout, stderr) = forge.orch_run(&["resume", "--force-unlock"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(
        (orch_replies("T1"), orch_replies("T2")),
        (1, 1),
        "never twice"
    );
    assert!(thread("T2")
        .comments
        .last()
        .unwrap()
        .1
        .contains("Declined: Out of scope."));
    // One fix cut off, one that finished: no third fix, and the finished one ran once.
    let keys: Vec<String> = model.requests().into_iter().map(|(k, _)| k).collect();
    assert!(!keys.iter().any(|k| k == "A-1/05-fix"), "{keys:?}");
    assert_eq!(
        keys.iter().filter(|k| *k == "A-1/04-fix").count(),
        2,
        "{keys:?}"
    );
    let watch = watch_of(&state(&forge.run.env.repo), "A-1");
    assert_eq!(watch["outcome"], "green", "{watch}");
    assert_eq!(watch["cycles"], 1, "{watch}");
    // What the killed fix committed is under the pushed head.
    let pushed = forge.remote_tip("orch/p/M1/A-1-work-item-a-1").unwrap();
    let under = std::process::Command::new(crate::support::real_git())
        .current_dir(&forge.run.env.repo)
        .args(["merge-base", "--is-ancestor", first_try.trim(), &pushed])
        .status()
        .unwrap();
    assert!(under.success());
}

#[test]
fn orch_watch_takes_up_a_run_and_ends_each_pr_capped_or_merged_as_status_and_report_say() {
    use crate::support::mock_github::Ci;
    let forge = ForgeRepo::new(
        &[
            ("a1.md", issue("A-1", "M1", "")),
            ("a3.md", issue("A-3", "M1", "")),
        ],
        "max_forge_cycles = 1\n",
    );
    let b1 = "orch/p/M1/A-1-work-item-a-1";
    let failing = "error: the ledger does not balance\n";
    forge
        .github
        .ci(b1, vec![Ci::Fail(failing.into()), Ci::Fail(failing.into())]);
    forge.run.model.script(
        "A-1/03-fix",
        vec![
            Reply::Commands(vec![commit_cmd("ledger.rs", "[A-1] fix(ledger): balance")]),
            Reply::Message(forge_fix_json(serde_json::json!([]))),
        ],
    );
    let (code, stdout, stderr) = forge.orch_run(&["run", "M1"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let status =
        String::from_utf8_lossy(&forge.orch().arg("status").output().unwrap().stdout).into_owned();
    assert!(status.contains("not watched (`orch watch`)"), "{status}");
    // A-3's draft is merged before anyone watches.
    let a3 = (forge.github.pulls().into_iter())
        .find(|p| p.head.contains("A-3"))
        .unwrap();
    forge.github.merge(a3.number);

    let (code, stdout, stderr) = forge.orch_run(&["watch", "M1"]);
    assert_eq!(code, 100, "a capped PR needs a human: {stdout}\n{stderr}");
    let state = state(&forge.run.env.repo);
    let a1 = watch_of(&state, "A-1");
    assert_eq!(
        (a1["outcome"].as_str(), a1["cycles"].as_u64()),
        (Some("capped"), Some(1)),
        "{a1}"
    );
    assert!(
        a1["reason"]
            .as_str()
            .unwrap()
            .contains("1 failed check(s) (test)"),
        "{a1}"
    );
    assert_eq!(watch_of(&state, "A-3")["outcome"], "merged");
    // The fix ran once; nothing ran for the merged one.
    let keys: Vec<String> = forge
        .run
        .model
        .requests()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert!(
        keys.iter().any(|k| k == "A-1/03-fix") && !keys.iter().any(|k| k.starts_with("A-3/03"))
    );

    let status =
        String::from_utf8_lossy(&forge.orch().arg("status").output().unwrap().stdout).into_owned();
    assert!(
        status.contains("Pull requests:") && status.contains("into main: capped"),
        "{status}"
    );
    assert!(
        status.contains(&format!("A-3: PR #{} into main: merged", a3.number)),
        "{status}"
    );
    let report =
        String::from_utf8_lossy(&forge.orch().arg("report").output().unwrap().stdout).into_owned();
    assert!(
        report.contains("capped (1 fix(es) ran") && report.contains("; 1 fix"),
        "{report}"
    );
    // Someone looked; `orch watch` again takes the capped PR up with a new allowance: its
    // fix passes CI this time. The merged one stays merged.
    forge.run.model.script(
        "A-1/04-fix",
        vec![
            Reply::Commands(vec![commit_cmd(
                "ledger.rs",
                "[A-1] fix(ledger): balance, really",
            )]),
            Reply::Message(forge_fix_json(serde_json::json!([]))),
        ],
    );
    let (code, stdout, stderr) = forge.orch_run(&["watch", "M1"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let state = self::state(&forge.run.env.repo);
    let a1 = watch_of(&state, "A-1");
    assert_eq!(
        (a1["outcome"].as_str(), a1["cycles"].as_u64()),
        (Some("green"), Some(1)),
        "{a1}"
    );
    assert_eq!(watch_of(&state, "A-3")["outcome"], "merged");
    // Then there is nothing left to watch.
    let (code, _, stderr) = forge.orch_run(&["watch", "M1"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("nothing left to run"), "{stderr}");
}

/// The forge's HTTP client alone, against the stand-in: conditional GETs, a server error
/// tried again, a rate limit too long to wait refused with what to do.
#[test]
fn the_client_revalidates_with_etags_retries_a_5xx_and_refuses_a_wait_past_its_limit() {
    use orch::forge::http::Client;
    let dir = tempfile::tempdir().unwrap();
    let github = MockGithub::start("acme", "widgets", TOKEN, dir.path());
    let token = orch::forge::token::Token::new(TOKEN.to_owned(), "GITHUB_TOKEN");
    let max_wait = std::time::Duration::from_secs(30);
    let client = Client::new(
        github.api_url(),
        format!("{}/graphql", github.api_url()),
        token,
        max_wait,
        None,
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let first = client.get("/repos/acme/widgets").await.unwrap();
        let again = client.get("/repos/acme/widgets").await.unwrap();
        assert_eq!(first, again);
        assert_eq!(first["default_branch"], "main");
        github.one_off("GET", "/repos/acme/widgets", 502, &[]);
        assert_eq!(client.get("/repos/acme/widgets").await.unwrap(), first);
        github.one_off(
            "GET",
            "/repos/acme/widgets",
            403,
            &[("retry-after", "3600")],
        );
        let err = client
            .get("/repos/acme/widgets")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("rate-limited for 3600s") && err.contains("max_rate_wait"),
            "{err}"
        );
        let err = client
            .get("/repos/acme/nothing")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("404") && err.contains("/repos/acme/nothing"),
            "{err}"
        );
    });
    let gets: Vec<(Option<String>, u16)> = (github.requests().into_iter())
        .map(|r| (r.headers.get("if-none-match").cloned(), r.status))
        .collect();
    assert_eq!(gets[0], (None, 200));
    assert!(gets[1].0.is_some() && gets[1].1 == 304, "{gets:?}");
    assert_eq!(gets[2].1, 502);
    assert_eq!(gets[3].1, 304, "tried again, still cached: {gets:?}");
    assert!(client.waits().is_empty());
}

#[test]
fn a_repository_on_github_without_a_forge_configured_is_told_once_how_to_get_drafts() {
    let run = CodexRepo::new(
        &[
            ("a1.md", issue("A-1", "M1", "")),
            ("a2.md", issue("A-2", "M1", "")),
        ],
        "",
    );
    run.env
        .git(&["remote", "add", "origin", "git@github.com:acme/widgets.git"]);
    let (code, stdout, stderr) = run.run(&["M1"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let said = "no draft pull requests: no forge is configured for acme/widgets on github.com";
    assert_eq!(stderr.matches(said).count(), 1, "{stderr}");
    assert!(stderr.contains("`[submit] via = \"never\"`"), "{stderr}");
    // Said no: nothing is said.
    run.env.write(
        "orch.toml",
        format!(
            "{}\n[submit]\nvia = \"never\"\n",
            std::fs::read_to_string(run.env.repo.join("orch.toml")).unwrap()
        ),
    );
    run.env.git(&["commit", "-qam", "no drafts"]);
    let (code, stdout, stderr) = run.run(&["M1", "--fresh"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(!stderr.contains("no draft pull requests"), "{stderr}");
}

#[test]
fn a_watch_killed_right_after_its_fix_finished_pushes_and_answers_without_running_it_again() {
    use crate::support::mock_github::Thread;
    use std::os::unix::process::ExitStatusExt;
    let forge = ForgeRepo::new(&[("a1.md", issue("A-1", "M1", ""))], "");
    forge.github.add_thread(Thread {
        id: "T1".into(),
        pr: 1,
        path: "orch-demo/A-1.md".into(),
        line: 1,
        resolved: false,
        comments: vec![("bo".into(), "Say more.".into())],
    });
    forge.run.model.script(
        "A-1/03-fix",
        vec![
            Reply::Commands(vec![commit_cmd("orch-demo/A-1.md", "[A-1] docs: say more")]),
            Reply::Message(forge_fix_json(serde_json::json!([
                {"threadId": "T1", "status": "addressed", "commit": "", "reason": "Said more."}
            ]))),
        ],
    );
    // The fix's record is in the run state; that it passed is not yet.
    let out = forge
        .orch()
        .env("ORCH_CRASH_AT", "after-fix")
        .args(["run", "M1", "--follow"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGKILL),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        forge.remote_tip("orch/p/M1/A-1-work-item-a-1").as_deref(),
        forge.run.summary("A-1")["pull"]["pushed"].as_str()
    );

    let (code, stdout, stderr) = forge.orch_run(&["resume", "--force-unlock"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let keys: Vec<String> = forge
        .run
        .model
        .requests()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        keys.iter().filter(|k| k.contains("-fix")).count(),
        2,
        "the fix ran once: {keys:?}"
    );
    let thread = forge
        .github
        .threads()
        .into_iter()
        .find(|t| t.id == "T1")
        .unwrap();
    assert_eq!(
        thread
            .comments
            .iter()
            .filter(|(w, _)| w == "orch-bot")
            .count(),
        1,
        "{thread:?}"
    );
    let summary = forge.run.summary("A-1");
    assert_eq!(summary["phases"].as_array().unwrap().len(), 3, "{summary}");
    let pushed = summary["pull"]["pushed"].as_str().unwrap();
    assert_eq!(
        forge.remote_tip("orch/p/M1/A-1-work-item-a-1").as_deref(),
        Some(pushed)
    );
    let subject = forge.run.env.git(&["log", "-1", "--format=%s", pushed]);
    assert_eq!(subject.trim(), "[A-1] docs: say more");
    assert_eq!(
        watch_of(&state(&forge.run.env.repo), "A-1")["outcome"],
        "green"
    );
}

#[test]
fn ctrl_c_during_a_fix_stops_the_watch_with_the_fix_in_flight_and_resume_runs_it_anew() {
    use crate::support::mock_github::Ci;
    let forge = ForgeRepo::new(&[("a1.md", issue("A-1", "M1", ""))], "");
    forge.github.ci(
        "orch/p/M1/A-1-work-item-a-1",
        vec![Ci::Fail("error: no\n".into())],
    );
    let model = &forge.run.model;
    model.script(
        "A-1/03-fix",
        vec![Reply::Commands(vec![
            "echo started > started.txt; sleep 30".into(),
        ])],
    );
    model.script(
        "A-1/04-fix",
        vec![
            Reply::Commands(vec![commit_cmd("ledger.rs", "[A-1] fix(ledger): yes")]),
            Reply::Message(forge_fix_json(serde_json::json!([]))),
        ],
    );
    let child = forge
        .run
        .orch_std()
        .env("GITHUB_TOKEN", TOKEN)
        .args(["run", "M1", "--follow"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let worktree = forge.run.env.root().join("wt/p/M1/A-1");
    crate::support::wait_until(
        "the fix at work",
        std::time::Duration::from_secs(60),
        || worktree.join("started.txt").exists(),
    );
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let watch = watch_of(&state(&forge.run.env.repo), "A-1");
    assert!(
        watch["outcome"].is_null() && watch["fixing"]["seq"] == 3,
        "{watch}"
    );

    let (code, stdout, stderr) = forge.orch_run(&["resume"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let watch = watch_of(&state(&forge.run.env.repo), "A-1");
    assert_eq!(
        (watch["outcome"].as_str(), watch["cycles"].as_u64()),
        (Some("green"), Some(1)),
        "{watch}"
    );
    // The interrupted fix keeps its number and logs; the one that ran is the next.
    let summary = forge.run.summary("A-1");
    let name = |p: &serde_json::Value| {
        let seq = p["seq"].as_u64().unwrap();
        format!("{seq:02}-{}", p["phase"].as_str().unwrap())
    };
    let phases: Vec<String> = summary["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(name)
        .collect();
    assert_eq!(
        phases,
        ["01-dev", "02-review", "03-fix", "04-fix"],
        "{phases:?}"
    );
    assert_eq!(
        forge.run.summary("A-1")["phases"][2]["failure"]["kind"],
        "interrupted"
    );
    let logs = forge.run.logs().join("A-1");
    assert!(logs.join("03-fix").is_dir() && logs.join("04-fix").is_dir());
}

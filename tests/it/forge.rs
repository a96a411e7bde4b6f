//! Draft pull requests end to end: the real orch and the real codex (through the mock model),
//! a bare repository as the remote, and the GitHub stand-in of the test support; and the
//! forge's HTTP client alone against the stand-in.

use crate::support::codex::CodexRepo;
use crate::support::forge::{everything_written, ForgeRepo, B1, TOKEN};
use crate::support::issue;
use crate::support::mock_github::MockGithub;
use crate::support::mock_model::{dev_json, Reply};

#[test]
fn two_stacked_issues_become_two_stacked_drafts_through_a_rate_limit() {
    // The worktree's set-up (a command of the user's, outside the sandbox) says what it sees
    // of the token too, in a file beside the repository.
    let setup = r#"[worktree]
setup = ["printf '%s\\n' \"${GITHUB_TOKEN:-unset}\" >> ../../../../setup-env.txt"]
"#;
    let forge = ForgeRepo::stacked_with(setup);
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
    let setup_saw = std::fs::read_to_string(forge.run.env.root().join("setup-env.txt")).unwrap();
    assert_eq!(
        setup_saw, "unset\nunset\n",
        "both worktrees' set-up ran without the token"
    );
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
    let branch = B1;
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
        // A secondary limit may come as a bare 403 that only says so: waited (here, too long).
        let secondary = "You have exceeded a secondary rate limit. Please wait a few minutes.";
        github.one_off_saying("GET", "/repos/acme/widgets", (403, secondary), &[]);
        let err = client
            .get("/repos/acme/widgets")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("rate-limited for 60s"), "{err}");
        // Any other 403 is a refusal, said at once.
        let refused = "Resource not accessible by integration";
        github.one_off_saying("GET", "/repos/acme/widgets", (403, refused), &[]);
        let err = client
            .get("/repos/acme/widgets")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("403") && err.contains(refused), "{err}");
        // Limited again after every wait: the request gives up after 5.
        for _ in 0..6 {
            github.one_off("GET", "/repos/acme/widgets", 429, &[("retry-after", "0")]);
        }
        let err = client
            .get("/repos/acme/widgets")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("still rate-limited after 5 waits"), "{err}");
    });
    let gets: Vec<(Option<String>, u16)> = (github.requests().into_iter())
        .map(|r| (r.headers.get("if-none-match").cloned(), r.status))
        .collect();
    assert_eq!(gets[0], (None, 200));
    assert!(gets[1].0.is_some() && gets[1].1 == 304, "{gets:?}");
    assert_eq!(gets[2].1, 502);
    assert_eq!(gets[3].1, 304, "tried again, still cached: {gets:?}");
    assert_eq!(client.waits().len(), 5, "{:?}", client.waits());
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

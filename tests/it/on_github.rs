//! `orch run --on github` end to end: each issue's loop is dispatched through the GitHub
//! stand-in's Actions API and run by the stand-in runner (the written workflow's `run:`
//! steps in a fresh clone of the bare remote: the real orch binary, real git, the real codex
//! through the mock model); the results are fetched, checked and imported.

use crate::support::forge::{state, ForgeRepo, TOKEN};
use crate::support::issue;

/// A diamond: A-1; A-2 and A-3 on it; A-4 on both.
fn diamond() -> Vec<(&'static str, String)> {
    vec![
        ("a1.md", issue("A-1", "M1", "")),
        ("a2.md", issue("A-2", "M1", "blocked_by: [A-1]\n")),
        ("a3.md", issue("A-3", "M1", "blocked_by: [A-1]\n")),
        ("a4.md", issue("A-4", "M1", "blocked_by: [A-2, A-3]\n")),
    ]
}

/// Each issue's branch's files (`git ls-tree -r`), and each of its pins' (by issue and
/// phase), but orch.toml (it names the test's own mock server).
fn trees(forge: &ForgeRepo, run: &serde_json::Value) -> Vec<(String, String)> {
    let git = |args: &[&str]| forge.run.env.git(args);
    let files = |rev: &str| {
        (git(&["ls-tree", "-r", rev]).lines())
            .filter(|l| !l.ends_with("\torch.toml"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut out = Vec::new();
    for issue in run["issues"].as_array().unwrap() {
        let id = issue["id"].as_str().unwrap();
        let branch = issue["summary"]["branch"].as_str().unwrap();
        out.push((format!("{id} branch"), files(branch)));
        let prefix = format!("refs/orch/runs/{}/{id}/", run["run_id"].as_str().unwrap());
        for pin in git(&["for-each-ref", "--format=%(refname)", &prefix]).lines() {
            let leaf = pin.trim_start_matches(&prefix);
            out.push((format!("{id} {leaf}"), files(pin)));
        }
    }
    out
}

#[test]
fn a_diamond_runs_on_runners_with_the_same_branches_trees_and_pins_as_here() {
    let forge = ForgeRepo::new(&diamond(), "").with_runners();
    let (code, stdout, stderr) = forge.orch_run(&["run", "M1", "--on", "github"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let remote_state = state(&forge.run.env.repo);
    // Four dispatches, one per issue, each its own runner.
    let runs = forge.github.workflow_runs();
    assert_eq!(runs.len(), 4, "{runs:?}");
    for run in &runs {
        assert_eq!(run.conclusion.as_deref(), Some("success"), "{run:?}");
    }
    let dispatched: Vec<&str> = runs
        .iter()
        .map(|r| r.inputs["issue"].as_str().unwrap())
        .collect();
    assert_eq!(dispatched[0], "A-1");
    assert_eq!(dispatched[3], "A-4");
    for issue in remote_state["issues"].as_array().unwrap() {
        let id = issue["id"].as_str().unwrap();
        let summary = &issue["summary"];
        assert_eq!(summary["outcome"], "completed", "{id}: {summary}");
        // Where it ran, and with what.
        let ran_on = &summary["ran_on"];
        assert!(
            ran_on["runner"]
                .as_str()
                .unwrap()
                .starts_with("stand-in-runner-"),
            "{ran_on}"
        );
        assert_eq!(ran_on["agents"]["codex"], "codex-cli 0.169.0", "{ran_on}");
        assert_eq!(ran_on["orch"], env!("CARGO_PKG_VERSION"));
        // Its phases' logs are here, as a local run's are.
        let phases = summary["phases"].as_array().unwrap();
        assert_eq!(phases.len(), 2, "{id}: {summary}");
        for phase in phases {
            let dir = std::path::Path::new(phase["log_dir"].as_str().unwrap());
            assert!(dir.join("prompt.md").is_file(), "{}", dir.display());
        }
    }
    // status, report, diff and guard log read the imported issues as a local run's.
    for args in [
        &["status"][..],
        &["report"],
        &["diff", "A-4"],
        &["guard", "log", "A-4"],
    ] {
        let out = forge.orch().args(args).output().unwrap();
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{args:?}: {said}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let expect = match args[0] {
            "diff" => "orch-demo/A-4.md",
            "guard" => "git",
            "report" => "Ran on stand-in-runner-",
            _ => "A-4",
        };
        assert!(said.contains(expect), "{args:?}: {said}");
    }
    // TASKS.md lists them as a local run's.
    let dashboard = std::fs::read_to_string(forge.run.env.repo.join("TASKS.md")).unwrap();
    for id in ["A-1", "A-2", "A-3", "A-4"] {
        assert!(dashboard.contains(&format!("**{id}**")), "{dashboard}");
    }
    // The token went to no runner's agent: it is in no log imported.
    for file in crate::support::files_written(&forge.run.env.repo.join("logs")) {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        assert!(!text.contains(TOKEN), "{} holds the token", file.display());
    }

    // The same milestone run here (the same repository) gives the same branches, trees and
    // pins.
    let local = ForgeRepo::new(&diamond(), "").with_runners();
    let (code, stdout, stderr) = local.orch_run(&["run", "M1"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let here = state(&local.run.env.repo);
    assert_eq!(trees(&forge, &remote_state), trees(&local, &here));
    // And the same drafts: one per issue, each on its parent's branch, with the runner's
    // dev summary.
    let drafts = |github: &crate::support::mock_github::MockGithub| {
        let mut prs: Vec<(String, String, bool)> = (github.pulls().into_iter())
            .map(|p| (p.head, p.base, p.draft))
            .collect();
        prs.sort();
        prs
    };
    let remote_prs = drafts(&forge.github);
    assert_eq!(remote_prs.len(), 4, "{remote_prs:?}");
    assert_eq!(remote_prs, drafts(&local.github));
    let pr = &forge.github.pulls()[0];
    assert!(pr.body.contains("Implemented the issue."), "{}", pr.body);
    for issue in remote_state["issues"].as_array().unwrap() {
        assert_eq!(issue["summary"]["draft_prs"].as_array().unwrap().len(), 1);
    }
}

/// Waits (up to two minutes) until `done` holds of the stand-in's workflow runs.
fn wait_for(
    forge: &ForgeRepo,
    done: impl Fn(&[crate::support::mock_github::actions::Run]) -> bool,
) {
    let limit = std::time::Duration::from_secs(120);
    crate::support::wait_until("the workflow runs", limit, || {
        done(&forge.github.workflow_runs())
    });
}

#[test]
fn a_lost_runner_is_dispatched_again_and_a_killed_orch_resumes_without_a_second_dispatch() {
    let forge = ForgeRepo::stacked().with_runners();
    let runner = forge.github.runner();
    // A-1's first runner is lost right after its dev phase: orch dies there, nothing pushed.
    let crash = ("ORCH_CRASH_AT".to_owned(), "after-dev".to_owned());
    runner.next_env.lock().unwrap().push(crash);
    // The orch here is killed as soon as A-1's dispatch is recorded.
    forge.killed_at("dispatched", &["run", "M1", "--on", "github"]);
    let first = watch_dispatch(&forge, "A-1");
    assert_eq!(first["attempt"], 1, "{first}");
    // orch status says where the issue in flight is.
    let status = forge.orch().arg("status").output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    let url = first["url"].as_str().unwrap();
    assert!(
        status.contains(&format!("A-1: attempt 1, {url}")),
        "{status}"
    );
    wait_for(&forge, |runs| {
        runs.len() == 1 && runs[0].status == "completed"
    });
    assert_eq!(
        forge.github.workflow_runs()[0].conclusion.as_deref(),
        Some("failure")
    );
    assert_eq!(
        forge.remote_tip(crate::support::forge::B1),
        None,
        "nothing delivered"
    );

    // The resume finds that run ended without a result: A-1 is dispatched again (killed
    // once that is recorded, its runner going on).
    forge.killed_at("dispatched", &["resume", "--force-unlock"]);
    let second = watch_dispatch(&forge, "A-1");
    assert_eq!(second["attempt"], 2, "{second}");
    assert_ne!(second["workflow_run"], first["workflow_run"]);

    // The next resume follows that run (no third dispatch of A-1), then runs A-2.
    let (code, stdout, stderr) = forge.orch_run(&["resume", "--force-unlock"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let runs = forge.github.workflow_runs();
    let issues: Vec<&str> = runs
        .iter()
        .map(|r| r.inputs["issue"].as_str().unwrap())
        .collect();
    assert_eq!(issues, ["A-1", "A-1", "A-2"], "{runs:?}");
    let state = state(&forge.run.env.repo);
    for issue in state["issues"].as_array().unwrap() {
        assert_eq!(issue["summary"]["outcome"], "completed", "{issue}");
    }
    let a1 = &state["issues"][0]["summary"]["ran_on"];
    assert_eq!(
        a1["runner"],
        format!("stand-in-runner-{}", second["workflow_run"]),
        "{a1}"
    );
}

/// The dispatch the run state records for `id`.
fn watch_dispatch(forge: &ForgeRepo, id: &str) -> serde_json::Value {
    let state = state(&forge.run.env.repo);
    let issue = (state["issues"].as_array().unwrap().iter())
        .find(|i| i["id"] == id)
        .unwrap()
        .clone();
    issue["dispatched"].clone()
}

#[test]
fn a_result_whose_pins_do_not_match_the_remote_is_refused_and_nothing_of_it_adopted() {
    let forge = ForgeRepo::new(&[("a1.md", issue("A-1", "M1", ""))], "").with_runners();
    // Once the runner delivered, someone moves A-1's first pin on the remote.
    let remote = forge.remote.display().to_string();
    let tamper = format!(
        "ref=$(git --git-dir={remote} for-each-ref --format='%(refname)' refs/orch/runs/ | grep '/A-1/01-dev$') && \
         git --git-dir={remote} update-ref \"$ref\" refs/heads/main"
    );
    *forge.github.runner().after_next.lock().unwrap() = Some(tamper);
    let (code, stdout, stderr) = forge.orch_run(&["run", "M1", "--on", "github"]);
    assert_eq!(code, 100, "{stdout}\n{stderr}");
    let state = state(&forge.run.env.repo);
    let summary = &state["issues"][0]["summary"];
    assert_eq!(summary["outcome"], "failed", "{summary}");
    let reason = summary["reason"].as_str().unwrap();
    assert!(
        reason.contains("refused the result") && reason.contains("but the remote has"),
        "{reason}"
    );
    // Nothing of it is adopted here; what was fetched stays under incoming/ for a look.
    let git = |args: &[&str]| forge.run.env.git(args);
    assert_eq!(
        git(&["for-each-ref", "refs/heads/orch/", "refs/orch/runs/"]),
        ""
    );
    assert!(!git(&["for-each-ref", "refs/orch/incoming/"]).is_empty());
}

#[test]
fn ctrl_c_cancels_the_dispatched_run_and_leaves_the_issue_to_resume() {
    use crate::support::mock_model::Reply;
    let forge = ForgeRepo::new(&[("a1.md", issue("A-1", "M1", ""))], "").with_runners();
    forge
        .run
        .model
        .script("A-1/01-dev", vec![Reply::Commands(vec!["sleep 25".into()])]);
    let orch = forge
        .run
        .orch_std()
        .env("GITHUB_TOKEN", TOKEN)
        .args(["run", "M1", "--on", "github"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Its runner's agent is at work.
    let limit = std::time::Duration::from_secs(120);
    crate::support::wait_until("A-1's agent on its runner", limit, || {
        (forge.run.model.requests().iter()).any(|(k, _)| k == "A-1/01-dev")
    });
    // SAFETY: kill(2) on the child this test started.
    unsafe { libc::kill(orch.id() as i32, libc::SIGINT) };
    let out = orch.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{said}");
    // GitHub was asked to cancel it, and the runner stopped.
    assert!(
        (forge.github.requests().iter()).any(|r| r.method == "POST" && r.path.ends_with("/cancel")),
        "no cancel"
    );
    wait_for(&forge, |runs| runs[0].status == "completed");
    assert_eq!(
        forge.github.workflow_runs()[0].conclusion.as_deref(),
        Some("cancelled")
    );
    let state = state(&forge.run.env.repo);
    let summary = &state["issues"][0]["summary"];
    assert_eq!(summary["outcome"], "interrupted", "{summary}");
    assert!(
        summary["reason"].as_str().unwrap().contains("orch resume"),
        "{summary}"
    );
}

#[test]
fn a_spent_budget_dispatches_nothing_more_and_each_runner_gets_its_share() {
    // Two issues may run at once (jobs 3, two issues): A-1's runner is given half of what is
    // left, and its own orch stops there (each request of the mock model costs 240 tokens).
    let forge = ForgeRepo::stacked_with("phase_reserve_tokens = 100\n").with_runners();
    let (code, stdout, stderr) =
        forge.orch_run(&["run", "M1", "--on", "github", "--budget-tokens", "400"]);
    assert_eq!(code, 100, "{stdout}\n{stderr}");
    let runs = forge.github.workflow_runs();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].inputs["budget"], "200");
    let first = state(&forge.run.env.repo);
    let a1 = &first["issues"][0]["summary"];
    assert_eq!(a1["outcome"], "budget", "{a1}");
    assert_eq!(a1["budget"]["limit"], 200.0, "{a1}");
    let result = "refs/orch/results/".to_owned() + first["run_id"].as_str().unwrap() + "/A-1";
    let remote = forge.remote.clone();
    let first_result = forge.run.env.git_in(&remote, &["rev-parse", &result]);
    // A resume with more goes on from where A-1's runner stopped, on a new runner. That
    // runner is lost after its review: the resume sees no new result (the earlier one is
    // not imported again), and the issue is left to the next resume.
    let runner = forge.github.runner();
    let crash = ("ORCH_CRASH_AT".to_owned(), "after-review".to_owned());
    runner.next_env.lock().unwrap().push(crash);
    let (code, stdout, stderr) = forge.orch_run(&["resume", "--budget-tokens", "4000"]);
    assert_eq!(code, 130, "{stdout}\n{stderr}");
    let a1 = &state(&forge.run.env.repo)["issues"][0]["summary"];
    assert_eq!(a1["outcome"], "interrupted", "{a1}");
    assert!(
        (a1["reason"].as_str().unwrap()).contains("without a new result"),
        "{a1}"
    );
    // What the first runner left stays: its phase and where it ran.
    assert_eq!(a1["phases"].as_array().unwrap().len(), 1, "{a1}");
    // The next resume dispatches a third runner, which goes on from the first's result:
    // its review, not its dev phase again; then A-2.
    let (code, stdout, stderr) = forge.orch_run(&["resume", "--budget-tokens", "4000"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let runs = forge.github.workflow_runs();
    let dispatched: Vec<&str> = (runs.iter())
        .map(|r| r.inputs["issue"].as_str().unwrap())
        .collect();
    assert_eq!(dispatched, ["A-1", "A-1", "A-1", "A-2"], "{runs:?}");
    let resumed = state(&forge.run.env.repo);
    let a1 = &resumed["issues"][0]["summary"];
    assert_eq!(a1["outcome"], "completed", "{a1}");
    let phases: Vec<&str> = (a1["phases"].as_array().unwrap().iter())
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["dev", "review"], "{a1}");
    assert_eq!(
        forge
            .run
            .model
            .requests()
            .iter()
            .filter(|(k, _)| k == "A-1/01-dev")
            .count(),
        2,
        "one dev phase (a command, then its message)"
    );
    // Its first runner's logs are still here, and the second's beside them.
    let dir = std::path::Path::new(a1["log_dir"].as_str().unwrap());
    for phase in ["01-dev", "02-review"] {
        assert!(dir.join(phase).join("prompt.md").is_file(), "{phase}");
    }
    // The result ref went forward: the second result is a child of the first.
    let parent = forge
        .run
        .env
        .git_in(&remote, &["rev-parse", &format!("{result}^")]);
    assert_eq!(parent.trim(), first_result.trim());
    assert_eq!(resumed["issues"][1]["summary"]["outcome"], "completed");
    // One at a time, the runner has all of it; once A-1 has spent it, A-2 is not dispatched.
    let forge = ForgeRepo::stacked_with("phase_reserve_tokens = 100\n").with_runners();
    let (code, stdout, stderr) = forge.orch_run(&[
        "run",
        "M1",
        "--on",
        "github",
        "--budget-tokens",
        "400",
        "--jobs",
        "1",
    ]);
    assert_eq!(code, 100, "{stdout}\n{stderr}");
    let runs = forge.github.workflow_runs();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].inputs["budget"], "400");
    let state = state(&forge.run.env.repo);
    let a1 = &state["issues"][0]["summary"];
    assert_eq!(a1["outcome"], "completed", "{a1}");
    let a2 = &state["issues"][1]["summary"];
    assert_eq!(a2["outcome"], "budget", "{a2}");
    assert!(
        a2["reason"].as_str().unwrap().contains("not dispatched"),
        "{a2}"
    );
}

#[test]
fn a_retry_of_an_issue_a_runner_ended_blocked_reviews_it_again_on_a_new_runner() {
    use crate::support::mock_model::{review_json, Reply};
    let forge = ForgeRepo::new(&[("a1.md", issue("A-1", "M1", ""))], "").with_runners();
    forge.run.model.script(
        "A-1/02-review",
        vec![Reply::Message(review_json(
            "blocked",
            &["Decide the rounding rule"],
        ))],
    );
    let (code, stdout, stderr) = forge.orch_run(&["run", "M1", "--on", "github"]);
    assert_eq!(code, 100, "{stdout}\n{stderr}");
    assert_eq!(
        state(&forge.run.env.repo)["issues"][0]["summary"]["outcome"],
        "blocked"
    );
    // A resume alone keeps it blocked and dispatches nothing.
    let (code, _, _) = forge.orch_run(&["resume"]);
    assert_eq!(code, 100);
    assert_eq!(forge.github.workflow_runs().len(), 1);
    // --retry: a new runner, told to retry, reviews it again (the blocked review superseded).
    let (code, stdout, stderr) = forge.orch_run(&["resume", "--retry", "A-1"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let runs = forge.github.workflow_runs();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[1].inputs["retry"], "true");
    assert!(runs[0].inputs.get("retry").is_none(), "{runs:?}");
    let summary = &state(&forge.run.env.repo)["issues"][0]["summary"];
    assert_eq!(summary["outcome"], "completed", "{summary}");
    let phases: Vec<(&str, bool)> = (summary["phases"].as_array().unwrap().iter())
        .map(|p| (p["phase"].as_str().unwrap(), p["superseded"] == true))
        .collect();
    assert_eq!(
        phases,
        [("dev", false), ("review", true), ("review", false)],
        "{summary}"
    );
}

#[test]
fn a_dollar_budget_gives_each_runner_its_share_in_dollars() {
    // $1,000 per million tokens: a request of the mock model (240 tokens) costs $0.24, and a
    // phase's reserve (100 tokens at the dearer rate) $0.10.
    // On runners by orch.toml's `[executor] on`, not by `--on`.
    let forge = ForgeRepo::stacked_with(
        "phase_reserve_tokens = 100\n[executor]\non = \"github\"\n[pricing.\"mock-model\"]\ninput = 1000.0\noutput = 1000.0\n",
    )
    .with_runners();
    let (code, stdout, stderr) = forge.orch_run(&["run", "M1", "--budget-usd", "0.4"]);
    assert_eq!(code, 100, "{stdout}\n{stderr}");
    let runs = forge.github.workflow_runs();
    assert_eq!(runs.len(), 1, "{runs:?}");
    // Half of what is left, as two issues may run at once; no token budget.
    assert_eq!(runs[0].inputs["budget_usd"], "0.2000", "{runs:?}");
    assert_eq!(runs[0].inputs["budget"], "", "{runs:?}");
    let a1 = &state(&forge.run.env.repo)["issues"][0]["summary"];
    assert_eq!(a1["outcome"], "budget", "{a1}");
    assert_eq!(a1["budget"]["unit"], "usd", "{a1}");
    assert_eq!(a1["budget"]["limit"], 0.2, "{a1}");
}

#[test]
fn issues_run_on_runners_open_stacked_drafts_and_follow_fixes_a_red_check_here() {
    use crate::support::forge::{watch_of, B1, B2, CI_LOG};
    use crate::support::mock_github::Ci;
    let forge = ForgeRepo::stacked().with_runners();
    forge
        .github
        .ci(B1, vec![Ci::Fail(CI_LOG.to_owned()), Ci::Pass]);
    let types_match = ("ledger.rs", "[A-1] fix(ledger): the types match");
    forge.fix_commits("A-1/03-fix", types_match, serde_json::json!([]));
    let (code, stdout, stderr) = forge.orch_run(&["run", "M1", "--on", "github", "--follow"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // Two dispatches; the drafts stack as the issues do.
    assert_eq!(forge.github.workflow_runs().len(), 2);
    let prs = forge.github.pulls();
    let bases: Vec<(&str, &str)> = (prs.iter())
        .map(|p| (p.head.as_str(), p.base.as_str()))
        .collect();
    assert_eq!(bases, [(B1, "main"), (B2, B1)], "{prs:?}");
    // The red check's fix ran here (the runner's agent session is not here: a fresh one),
    // with the failed job's log, and was pushed; both PRs ended green.
    let state = state(&forge.run.env.repo);
    for id in ["A-1", "A-2"] {
        assert_eq!(watch_of(&state, id)["outcome"], "green", "{id}\n{stderr}");
    }
    let fix = (forge.run.model.requests().into_iter())
        .find(|(k, _)| k == "A-1/03-fix")
        .expect("A-1's fix ran here")
        .1
        .to_string();
    assert!(fix.contains("error[E0308]: mismatched types"), "{fix}");
    let summary = forge.run.summary("A-1");
    let fix_phase = &summary["phases"][2];
    assert_eq!(fix_phase["phase"], "fix", "{summary}");
    assert_ne!(fix_phase["session_id"], summary["phases"][0]["session_id"]);
    let pushed = summary["pull"]["pushed"].as_str().unwrap().to_owned();
    assert_eq!(forge.remote_tip(B1), Some(pushed));
}

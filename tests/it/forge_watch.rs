//! `orch watch` and `orch run --follow` end to end: failed checks and review threads start
//! fixes that are pushed and answered; kills and interrupts at every step; the outcomes.

use crate::support::forge::{commit_cmd, state, watch_of, ForgeRepo, B1, B2, CI_LOG, TOKEN};
use crate::support::issue;
use crate::support::mock_model::Reply;

#[test]
fn a_failed_check_and_a_review_thread_each_start_a_fix_that_is_pushed_and_answered() {
    use crate::support::mock_github::Ci;
    let forge = ForgeRepo::stacked();
    let (b1, b2) = (B1, B2);
    forge
        .github
        .ci(b1, vec![Ci::Fail(CI_LOG.to_owned()), Ci::Pass]);
    forge.github.open_thread(
        2,
        "T1",
        "orch-demo/A-2.md",
        ("ana", "Please say what the work is for."),
    );
    let model = &forge.run.model;
    let types_match = ("ledger.rs", "[A-1] fix(ledger): the types match");
    forge.fix_commits("A-1/03-fix", types_match, serde_json::json!([]));
    let say_what = ("orch-demo/A-2.md", "[A-2] docs: say what it is for");
    forge.fix_commits(
        "A-2/03-fix",
        say_what,
        serde_json::json!([
            {"threadId": "T1", "status": "addressed", "commit": "", "reason": "Said what it is for."}
        ]),
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
    // A-2 was restacked onto A-1's fix (with a lease on what orch had pushed), then fixed
    // on top: its PR holds A-1's fix below its own commits.
    let (a1_head, a2_head) = (forge.remote_tip(b1).unwrap(), forge.remote_tip(b2).unwrap());
    assert!(
        forge.is_ancestor(&a1_head, &a2_head),
        "A-2 sits on A-1's fixed head"
    );
    assert!(stderr.contains(&format!("restacked onto {B1}")), "{stderr}");
    let a2 = forge.run.summary("A-2");
    assert!(
        a2["commands"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "restack-push"
                && c["command"]
                    .as_str()
                    .unwrap()
                    .contains("--force-with-lease=refs/heads/orch/p/M1/A-2")),
        "{a2}"
    );
    // The thread got one answer naming the commit; it was not resolved (a person's).
    let thread = forge.github.thread("T1");
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
    let forge = ForgeRepo::new(&[("a1.md", issue("A-1", "M1", ""))], "");
    for id in ["T1", "T2"] {
        let said = format!("{id}: a word on this line");
        forge
            .github
            .open_thread(1, id, "orch-demo/A-1.md", ("bo", &said));
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
    forge.fix_commits(
        "A-1/04-fix",
        ("orch-demo/A-1.md", "[A-1] docs: answer both"),
        serde_json::json!([
            {"threadId": "T1", "status": "addressed", "commit": "", "reason": "Done."},
            {"threadId": "T2", "status": "declined", "commit": "", "reason": "Out of scope."}
        ]),
    );
    forge.killed_at("mid-fix", &["run", "M1", "--follow"]);
    let watch = watch_of(&state(&forge.run.env.repo), "A-1");
    assert_eq!(watch["fixing"]["seq"], 3, "{watch}");
    let first_try = forge.run.env.git(&["log", "-1", "--format=%H", B1]);

    // `orch resume` continues the watch: the fix runs again (the killed one's commit kept),
    // passes; orch is killed again after its first reply.
    forge.killed_at("forge-replied", &["resume", "--force-unlock"]);
    let thread = |id: &str| forge.github.thread(id);
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
    let pushed = forge.remote_tip(B1).unwrap();
    assert!(forge.is_ancestor(first_try.trim(), &pushed));
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
    let b1 = B1;
    let failing = "error: the ledger does not balance\n";
    forge
        .github
        .ci(b1, vec![Ci::Fail(failing.into()), Ci::Fail(failing.into())]);
    let balance = ("ledger.rs", "[A-1] fix(ledger): balance");
    forge.fix_commits("A-1/03-fix", balance, serde_json::json!([]));
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
    let really = ("ledger.rs", "[A-1] fix(ledger): balance, really");
    forge.fix_commits("A-1/04-fix", really, serde_json::json!([]));
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

#[test]
fn a_watch_killed_right_after_its_fix_finished_pushes_and_answers_without_running_it_again() {
    let forge = ForgeRepo::new(&[("a1.md", issue("A-1", "M1", ""))], "");
    forge
        .github
        .open_thread(1, "T1", "orch-demo/A-1.md", ("bo", "Say more."));
    forge.fix_commits(
        "A-1/03-fix",
        ("orch-demo/A-1.md", "[A-1] docs: say more"),
        serde_json::json!([
            {"threadId": "T1", "status": "addressed", "commit": "", "reason": "Said more."}
        ]),
    );
    // The fix's record is in the run state; that it passed is not yet.
    forge.killed_at("after-fix", &["run", "M1", "--follow"]);
    assert_eq!(
        forge.remote_tip(B1).as_deref(),
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
    let thread = forge.github.thread("T1");
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
    assert_eq!(forge.remote_tip(B1).as_deref(), Some(pushed));
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
    forge.github.ci(B1, vec![Ci::Fail("error: no\n".into())]);
    let model = &forge.run.model;
    model.script(
        "A-1/03-fix",
        vec![Reply::Commands(vec![
            "echo started > started.txt; sleep 30".into(),
        ])],
    );
    let yes = ("ledger.rs", "[A-1] fix(ledger): yes");
    forge.fix_commits("A-1/04-fix", yes, serde_json::json!([]));
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

#[test]
fn a_dependent_whose_commits_conflict_with_the_fix_is_left_as_it_was_and_blocked() {
    use crate::support::mock_github::Ci;
    let forge = ForgeRepo::stacked();
    let (b1, b2) = (B1, B2);
    forge.run.model.script(
        "A-2/01-dev",
        vec![
            Reply::Commands(vec![commit_cmd("shared.txt", "[A-2] feat: shared")]),
            Reply::Message(crate::support::mock_model::dev_json("pass")),
        ],
    );
    forge
        .github
        .ci(b1, vec![Ci::Fail("error: shared is missing\n".into())]);
    // A-1's fix adds the file A-2 added, otherwise: A-2's commit cannot sit on it.
    forge.run.model.script(
        "A-1/03-fix",
        vec![
            Reply::Commands(vec![
                "echo other > shared.txt && git add shared.txt && git commit -q -m '[A-1] fix: shared'"
                    .into(),
            ]),
            Reply::Message(crate::support::forge::forge_fix_json(serde_json::json!([]))),
        ],
    );
    let (code, stdout, stderr) = forge.orch_run(&["run", "M1", "--follow"]);
    assert_eq!(code, 100, "a blocked PR needs a human: {stdout}\n{stderr}");

    let state = state(&forge.run.env.repo);
    assert_eq!(watch_of(&state, "A-1")["outcome"], "green");
    let a2 = watch_of(&state, "A-2");
    assert_eq!(a2["outcome"], "blocked", "{a2}");
    let reason = a2["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("not restacked onto the fixed {b1}")),
        "{reason}"
    );
    assert!(reason.contains("conflict"), "{reason}");
    // Its branch is as orch pushed it, here and on the forge.
    let pushed = forge.run.summary("A-2")["pull"]["pushed"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(forge.remote_tip(b2), Some(pushed.clone()));
    assert_eq!(forge.run.env.git(&["rev-parse", b2]).trim(), pushed);
}

#[test]
fn a_restack_cut_off_by_a_kill_before_or_during_it_is_made_once_on_resume() {
    use crate::support::mock_github::Ci;
    let forge = ForgeRepo::stacked();
    let (b1, b2) = (B1, B2);
    let is_ancestor = |a: &str, b: &str| forge.is_ancestor(a, b);
    // A-1's CI runs on the first look (A-2 is green by then), fails on the second.
    let failed = Ci::Fail("error: the ledger is empty\n".into());
    forge.github.ci(b1, vec![Ci::Running, failed, Ci::Pass]);
    forge.fix_commits(
        "A-1/03-fix",
        ("ledger.rs", "[A-1] fix(ledger): fill it"),
        serde_json::json!([]),
    );
    // Killed once A-1's fix is pushed: A-2 still sits on A-1's head before it.
    forge.killed_at("forge-pushed", &["run", "M1", "--follow"]);
    let a2_before = forge.remote_tip(b2).unwrap();
    let a1_fixed = forge.remote_tip(b1).unwrap();
    assert!(!is_ancestor(&a1_fixed, &a2_before));
    assert_eq!(
        watch_of(&state(&forge.run.env.repo), "A-2")["outcome"],
        "green"
    );

    // The resume restacks A-2 first; killed once the remote has it, before the record says so.
    forge.killed_at("restack-pushed", &["resume", "--force-unlock"]);
    let restacked = forge.remote_tip(b2).unwrap();
    assert!(is_ancestor(&a1_fixed, &restacked));
    let a2 = forge.run.summary("A-2");
    assert_eq!(a2["pull"]["restacking"], restacked.as_str(), "{a2}");
    assert_eq!(a2["pull"]["pushed"], a2_before.as_str(), "{a2}");

    // The next resume pushes the recorded restack again (the remote has it: no second
    // replay, no refusal), and the watch goes on to green.
    let (code, stdout, stderr) = forge.orch_run(&["resume", "--force-unlock"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("it was green, and is watched again"),
        "{stderr}"
    );
    let state = state(&forge.run.env.repo);
    for id in ["A-1", "A-2"] {
        assert_eq!(watch_of(&state, id)["outcome"], "green", "{id}\n{stderr}");
    }
    let a2 = forge.run.summary("A-2");
    assert_eq!(a2["pull"]["pushed"], restacked.as_str(), "{a2}");
    assert!(a2["pull"].get("restacking").is_none(), "{a2}");
    assert_eq!(forge.remote_tip(b2).as_deref(), Some(restacked.as_str()));
    assert_eq!(forge.run.env.git(&["rev-parse", b2]).trim(), restacked);
    let pushes: Vec<&serde_json::Value> = (a2["commands"].as_array().unwrap().iter())
        .filter(|c| c["name"] == "restack-push")
        .collect();
    // (The killed one's record went with orch; this one found the remote had it.)
    assert_eq!(pushes.len(), 1, "{a2}");
    assert_eq!(pushes[0]["status"], 0, "{a2}");
    let log = std::fs::read_to_string(pushes[0]["log"].as_str().unwrap()).unwrap();
    assert!(log.contains("[up to date]"), "{log}");
    // A-1's fix ran once.
    let keys: Vec<String> = (forge.run.model.requests().into_iter())
        .map(|(k, _)| k)
        .collect();
    assert!(!keys.iter().any(|k| k == "A-1/04-fix"), "{keys:?}");
}

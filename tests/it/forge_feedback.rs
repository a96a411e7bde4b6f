//! The other kinds of feedback a PR gets, end to end through the watch: an outside CI's
//! commit status, a review that requests changes (no thread), `[forge] resolve = true`, a PR
//! someone closes; and how TASKS.md and `orch status` show each PR.

use crate::support::forge::{forge_fix_json, state, watch_of, ForgeRepo, B1, B2};
use crate::support::issue;
use crate::support::mock_github::Ci;
use crate::support::mock_model::Reply;
use serde_json::json;

#[test]
fn a_status_a_change_request_and_a_thread_are_fixed_resolved_and_answered_and_a_closed_pr_ends() {
    let forge = ForgeRepo::with_forge(
        &[
            ("a1.md", issue("A-1", "M1", "")),
            ("a2.md", issue("A-2", "M1", "")),
        ],
        "jobs = 1\n",
        "resolve = true\n",
    );
    // A-1's PR (#1): Jenkins fails its first head; a thread and a change request.
    let jenkins = "ledger_spec: 3 of 40 tests failed\nerror: expected 10, got 0\n";
    forge
        .github
        .ci_status(B1, vec![Ci::Fail(jenkins.to_owned()), Ci::Pass]);
    forge
        .github
        .open_thread(1, "T1", "orch-demo/A-1.md", ("ana", "Name the unit."));
    forge
        .github
        .request_changes(1, "R1", ("bo", "Please add a changelog entry."));
    // A-2's PR (#2) is closed by someone as orch looks at it.
    forge.github.close_on_look(B2);
    forge.run.model.script(
        "A-1/03-fix",
        vec![
            Reply::Commands(vec![crate::support::forge::commit_cmd(
                "ledger.rs",
                "[A-1] fix(ledger): count in cents",
            )]),
            Reply::Message(forge_fix_json(json!([
                {"threadId": "T1", "status": "addressed", "commit": "", "reason": "Cents, said."},
                {"threadId": "R1", "status": "declined", "commit": "",
                 "reason": "The changelog is written at release."}
            ]))),
        ],
    );
    let (code, stdout, stderr) = forge.orch_run(&["run", "M1", "--follow"]);
    assert_eq!(code, 0, "a closed PR needs nobody: {stdout}\n{stderr}");

    let state = state(&forge.run.env.repo);
    let a1 = watch_of(&state, "A-1");
    assert_eq!(a1["outcome"], "green", "{a1}\n{stderr}");
    assert_eq!(a1["cycles"], 1, "{a1}");
    let a2 = watch_of(&state, "A-2");
    assert_eq!(a2["outcome"], "closed", "{a2}");
    assert_eq!(a2["cycles"], 0, "{a2}");
    // The one fix had the status's description as its excerpt, the thread and the request.
    let fix = (forge.run.model.requests().into_iter())
        .find(|(k, _)| k == "A-1/03-fix")
        .map(|(_, body)| body.to_string())
        .expect("A-1's fix ran");
    for said in [
        "ci/jenkins",
        "3 of 40 tests failed",
        "Name the unit.",
        "Please add a changelog entry.",
    ] {
        assert!(fix.contains(said), "{said}: {fix}");
    }
    // The thread: answered with the commit, and resolved (`resolve = true`).
    let head = forge.remote_tip(B1).unwrap();
    let t1 = forge.github.thread("T1");
    assert!(t1.resolved, "{t1:?}");
    let replies: Vec<&(String, String)> = (t1.comments.iter())
        .filter(|(who, _)| who == "orch-bot")
        .collect();
    assert_eq!(replies.len(), 1, "{t1:?}");
    assert!(replies[0]
        .1
        .contains(&format!("Addressed in {}", &head[..10])));
    // The change request, which has no thread: answered once, on the PR.
    let comments = forge.github.comments();
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_eq!(comments[0].0, 1);
    assert!(
        comments[0]
            .1
            .contains("Declined: The changelog is written at release."),
        "{comments:?}"
    );
    // TASKS.md and `orch status` show each PR and how its watch ended.
    let tasks = std::fs::read_to_string(forge.run.env.repo.join("TASKS.md")).unwrap();
    let status = forge.orch().arg("status").output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    for shown in [&tasks, &status] {
        assert!(shown.contains("PR #1 into main: green"), "{shown}");
        assert!(shown.contains("1 fix"), "{shown}");
        assert!(
            shown.contains("PR #2 into main: closed (closed without merging)"),
            "{shown}"
        );
    }
}

//! Every kind of ending has its exit code, as scripts see it: user errors 1, usage 2, a run
//! whose issues did not all pass 100, an interrupted run 130 (its signal tests are in
//! `resume` and `plan_resume`), an internal error 255, which says it is a bug.

use crate::support;
use serde_json::json;
use support::fake::FakeRepo;
use support::{issue, TestEnv};

fn code_and_stderr(out: &std::process::Output) -> (Option<i32>, String) {
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_user_error_exits_1_with_its_hint() {
    let env = TestEnv::new();
    env.doc("p", "a.md", issue("A-1", "M1", ""));
    env.git(&["add", "."]);
    env.git(&["commit", "-q", "-m", "docs"]);
    let (code, stderr) = code_and_stderr(&env.orch().args(["plan", "M9"]).output().unwrap());
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.starts_with("Error: "), "{stderr}");
    assert!(stderr.contains("Hint: "), "{stderr}");
    assert!(!stderr.contains("bug in orch"), "{stderr}");
}

#[test]
fn a_usage_error_exits_2() {
    let env = TestEnv::new();
    let out = env.orch().args(["run", "--no-such-flag"]).output().unwrap();
    let (code, stderr) = code_and_stderr(&out);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--no-such-flag"), "{stderr}");
}

#[test]
fn a_run_whose_issue_did_not_pass_exits_100() {
    let fake = FakeRepo::new(
        &[("a.md", issue("A-1", "M1", ""))],
        "",
        json!({"A-1/01-dev": [{"message": support::fake::work_json("failed")}]}),
    );
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 100, "{out}");
    assert_eq!(fake.summary("A-1")["outcome"], "failed");
}

#[test]
fn an_internal_error_exits_255_and_says_it_is_a_bug() {
    let env = TestEnv::new();
    let head = env.commit_file("a.txt", "a\n", "a");
    // The HEAD commit's object, unreadable: libgit2 fails without a condition the user
    // could act on.
    let object = env
        .repo
        .join(".git/objects")
        .join(&head[..2])
        .join(&head[2..]);
    let mut perms = std::fs::metadata(&object).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&object, perms).unwrap();
    std::fs::write(&object, b"not a zlib stream").unwrap();
    let out = env.orch().arg("verify-clean").output().unwrap();
    let (code, stderr) = code_and_stderr(&out);
    assert_eq!(code, Some(255), "{stderr}");
    assert!(stderr.starts_with("Internal error: "), "{stderr}");
    assert!(
        stderr.contains("Caused by: "),
        "the cause is shown: {stderr}"
    );
    assert!(stderr.contains("this is a bug in orch"), "{stderr}");
}

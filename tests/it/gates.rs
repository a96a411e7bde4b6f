//! Acceptance gates and transient-failure retries in the run loop, with the scripted fake
//! agent: a passing review does not finish a task whose checks fail; the failed checks go to
//! the fix phase; a model-server hiccup is tried again without touching the cycle count.

use crate::support;
use serde_json::json;
use support::fake::FakeRepo;
use support::issue;

fn review(status: &str) -> String {
    support::fake::review_json(status, &[])
}

fn work() -> String {
    support::fake::work_json("pass")
}

fn gated_issue() -> Vec<(&'static str, String)> {
    vec![(
        "a.md",
        issue(
            "A-1",
            "M1",
            "acceptance:\n  - \"File exists: done.txt\"\n  - \"Tests pass: grep -q ready done.txt\"\n  - \"Not contains: done.txt: TODO\"\n",
        ),
    )]
}

fn event_types(fake: &FakeRepo) -> Vec<String> {
    let dir = fake.env.repo.join("logs/orch/p/M1");
    let log = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("events-"))
        .expect("an event log");
    std::fs::read_to_string(log.path())
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["type"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn failed_checks_route_a_passing_review_to_fix_then_converge() {
    let fake = FakeRepo::new(
        &gated_issue(),
        "",
        json!({
            // Dev leaves a TODO and no "ready": two of three checks fail.
            "A-1/01-dev": [{"run": "echo TODO > done.txt && git add done.txt && git commit -q -m dev"},
                            {"message": work()}],
            "A-1/02-review": [{"message": review("pass")}],
            "A-1/03-fix": [{"run": "echo ready > done.txt && git commit -qam fix"}, {"message": work()}],
            "A-1/04-review": [{"message": review("pass")}],
        }),
    );
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    let s = fake.summary("A-1");
    assert_eq!(s["outcome"], "completed");
    assert_eq!(s["cycles"], 1);
    let gate0 = &s["phases"][0]["acceptance"];
    assert_eq!(gate0["full"], true);
    assert_eq!(gate0["passed"], 1);
    let failed: Vec<&str> = gate0["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(failed[0].starts_with("Tests pass: grep -q ready done.txt — "));
    assert!(failed[1].starts_with("Not contains: done.txt: TODO — "));
    assert_eq!(s["phases"][2]["acceptance"]["failed"], json!([]));
    assert!(
        s["phases"][1].get("acceptance").is_none(),
        "reviews do not run checks"
    );
    // The fix was told which checks failed, with the command's verdict.
    let fix_prompt =
        std::fs::read_to_string(fake.phase_dir("A-1", "03-fix").join("prompt.md")).unwrap();
    assert!(
        fix_prompt.contains("## Failing acceptance checks"),
        "{fix_prompt}"
    );
    assert!(fix_prompt
        .contains("Tests pass: grep -q ready done.txt — `grep -q ready done.txt`: exit 1"));
    // Every check result is an event; the output of command checks is kept.
    let types = event_types(&fake);
    assert_eq!(
        types.iter().filter(|t| *t == "acceptance_failed").count(),
        2
    );
    assert_eq!(
        types.iter().filter(|t| *t == "acceptance_passed").count(),
        4
    );
    assert!(fake
        .phase_dir("A-1", "01-dev")
        .join("acceptance.json")
        .exists());
    assert!(fake
        .phase_dir("A-1", "01-dev")
        .join("acceptance/02.log")
        .exists());
}

#[test]
fn checks_that_never_pass_cap_the_task_with_what_is_left() {
    let fake = FakeRepo::new(&gated_issue(), "max_review_cycles = 1\n", json!({}));
    let (code, out) = fake.run(&["run", "M1"]);
    assert_ne!(code, 0, "{out}");
    let s = fake.summary("A-1");
    assert_eq!(s["outcome"], "capped", "{s:#}");
    assert_eq!(s["cycles"], 1);
    assert_eq!(s["remaining_actions"].as_array().unwrap().len(), 2, "{s:#}");
    assert!(s["reason"]
        .as_str()
        .unwrap()
        .contains("acceptance check(s) still fail after 1 fix cycle(s)"));
    assert_eq!(
        fake.keys(),
        ["A-1/01-dev", "A-1/02-review", "A-1/03-fix", "A-1/04-review"]
    );
}

#[test]
fn a_bad_acceptance_line_in_a_doc_is_an_error_with_its_line() {
    let fake = FakeRepo::new(
        &[(
            "a.md",
            issue("A-1", "M1", "acceptance:\n  - \"Smells: fine\"\n"),
        )],
        "",
        json!({}),
    );
    let (code, out) = fake.run(&["validate"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("a.md:6"), "{out}");
    assert!(
        out.contains("unknown acceptance check kind `Smells`"),
        "{out}"
    );
}

#[test]
fn a_transient_failure_is_tried_again_and_counts_once() {
    let fake = FakeRepo::new(
        &[("a.md", issue("A-1", "M1", ""))],
        "retry_backoff = \"1s\"\n",
        json!({
            "A-1/01-dev": {"attempts": [
                [{"fail": "unexpected status 503 Service Unavailable: upstream overloaded"}],
                [{"run": "echo x > x && git add x && git commit -qm dev"}, {"message": work()}]
            ]},
        }),
    );
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("attempt 2 in 1.0s"), "{out}");
    assert_eq!(fake.keys(), ["A-1/01-dev", "A-1/01-dev", "A-1/02-review"]);
    let s = fake.summary("A-1");
    assert_eq!(s["outcome"], "completed");
    assert_eq!(
        s["phases"].as_array().unwrap().len(),
        2,
        "one dev phase, not two"
    );
    let dev = fake.phase_dir("A-1", "01-dev");
    assert!(std::fs::read_to_string(dev.join("events.attempt-1.jsonl"))
        .unwrap()
        .contains("503"));
    assert!(event_types(&fake).contains(&"phase_retry".to_owned()));
}

#[test]
fn transient_failures_stop_after_the_configured_attempts() {
    let fake = FakeRepo::new(
        &[("a.md", issue("A-1", "M1", ""))],
        "retry_backoff = \"1s\"\nretry_attempts = 2\n",
        json!({"A-1/01-dev": [{"fail": "stream disconnected before completion"}]}),
    );
    let (code, _) = fake.run(&["run", "M1"]);
    assert_eq!(code, 100);
    assert_eq!(fake.keys(), ["A-1/01-dev", "A-1/01-dev"]);
    assert_eq!(fake.summary("A-1")["outcome"], "failed");
}

#[test]
fn every_phase_prompt_carries_a_repository_map_unless_turned_off() {
    let fake = FakeRepo::new(&[("a.md", issue("A-1", "M1", ""))], "", json!({}));
    fake.env
        .write("src/lib.rs", "pub fn answer() -> u32 {\n    42\n}\n");
    fake.env.git(&["add", "."]);
    fake.env.git(&["commit", "-q", "-m", "code"]);
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    let prompt =
        std::fs::read_to_string(fake.phase_dir("A-1", "01-dev").join("prompt.md")).unwrap();
    assert!(prompt.contains("## Repository map"), "{prompt}");
    assert!(prompt.contains("src/lib.rs"), "{prompt}");
    assert!(
        prompt.contains("answer"),
        "the map names top-level definitions: {prompt}"
    );
    // Built once per tree: the review (same tree as after dev) reads it from the cache.
    let maps = fake.env.repo.join(".git/orch/maps");
    assert!(std::fs::read_dir(&maps).unwrap().count() >= 1);

    let off = FakeRepo::new(
        &[("a.md", issue("A-1", "M1", ""))],
        "repo_map_bytes = 0\n",
        json!({}),
    );
    let (code, out) = off.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    let prompt = std::fs::read_to_string(off.phase_dir("A-1", "01-dev").join("prompt.md")).unwrap();
    assert!(!prompt.contains("## Repository map"), "{prompt}");
}

#[test]
fn a_failure_whose_stderr_ends_in_multibyte_text_does_not_panic() {
    // 2000 three-byte characters after codex's own line: 4096 bytes from the end falls
    // inside a character.
    let fake = FakeRepo::new(
        &[("a.md", issue("A-1", "M1", ""))],
        "retry_backoff = \"1s\"\n",
        json!({"A-1/01-dev": [{"stderr": "€".repeat(2000)}, {"fail": "the model refused"}]}),
    );
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 100, "{out}");
    assert!(!out.contains("panicked"), "{out}");
    let s = fake.summary("A-1");
    assert_eq!(s["outcome"], "failed");
    assert_eq!(fake.keys(), ["A-1/01-dev"], "not transient: one try");
}

#[test]
fn a_transient_sign_after_invalid_utf8_in_stderr_is_still_seen() {
    let fake = FakeRepo::new(
        &[("a.md", issue("A-1", "M1", ""))],
        "retry_backoff = \"1s\"\n",
        json!({}),
    );
    // The first try writes a byte that is not UTF-8, then a transport error, to stderr
    // (`\udcff` is the fake's way of writing the raw byte 0xff).
    let first = r#"[{"stderr": "\udcff ERROR: error sending request for url\n"}, {"exit": 1}]"#;
    let second =
        json!([{"run": "echo x > x && git add x && git commit -qm dev"}, {"message": work()}]);
    std::fs::write(
        fake.env.root().join("script.json"),
        format!(r#"{{"A-1/01-dev": {{"attempts": [{first}, {second}]}}}}"#),
    )
    .unwrap();
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(fake.keys(), ["A-1/01-dev", "A-1/01-dev", "A-1/02-review"]);
}

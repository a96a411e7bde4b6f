//! Stall detection with the fake agent: an agent that goes silent past `stall_timeout` is
//! stopped, tried again once, and fails as stalled if it stalls again; one that recovers on
//! the retry passes; a slow agent that keeps talking is not stalled.

use crate::support;
use serde_json::json;
use support::fake::work_json as work;
use support::fake::FakeRepo;
use support::issue;

fn one(script: serde_json::Value) -> FakeRepo {
    FakeRepo::new(
        &[("a.md", issue("A-1", "M1", ""))],
        "stall_timeout = \"1s\"\n",
        script,
    )
}

#[test]
fn a_silent_agent_is_stopped_tried_again_once_and_fails_as_stalled() {
    let repo =
        one(json!({"A-1/01-dev": [{"run": "true"}, {"sleep": 30}, {"message": work("pass")}]}));
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 100, "{out}");
    let s = repo.summary("A-1");
    assert_eq!(s["outcome"], "failed");
    let failure = &s["phases"][0]["failure"];
    assert_eq!(failure["kind"], "stalled", "{s:#}");
    assert_eq!(failure["seconds"], 1);
    assert_eq!(
        failure["last_event"], "item.completed command_execution `/bin/bash -c 'true'`",
        "{failure}"
    );
    // Two tries, the first one's logs kept beside the phase's; the retry was said.
    assert_eq!(repo.keys(), ["A-1/01-dev", "A-1/01-dev"]);
    let dir = repo.phase_dir("A-1", "01-dev");
    assert!(dir.join("events.attempt-1.jsonl").is_file());
    assert!(
        out.contains("stalled: the agent said nothing for 1 s"),
        "{out}"
    );
    assert!(out.contains("trying again"), "{out}");
    // Both agents were stopped: nothing sleeps on in the worktree's name.
    let ps = std::process::Command::new("ps")
        .args(["-eo", "args"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&ps.stdout).contains(&repo.env.root().display().to_string()));
}

#[test]
fn a_stall_that_does_not_happen_again_passes_on_the_retry() {
    let repo = one(json!({"A-1/01-dev": {"attempts": [
        [{"sleep": 30}],
        [{"run": "mkdir -p work && echo a > work/a.txt && git add work && git commit -qm a"}, {"message": work("pass")}],
    ]}}));
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    let s = repo.summary("A-1");
    assert_eq!(s["outcome"], "completed");
    assert_eq!(s["commits"], 1);
    assert_eq!(s["phases"][0]["failure"], serde_json::Value::Null);
}

#[test]
fn a_slow_agent_that_keeps_talking_is_not_stalled() {
    let step = json!({"run": "sleep 0.4"});
    let repo = one(json!({"A-1/01-dev": [
        step, step, step, step, step, step,
        {"run": "mkdir -p work && echo a > work/a.txt && git add work && git commit -qm a"},
        {"message": work("pass")},
    ]}));
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(repo.keys(), ["A-1/01-dev", "A-1/02-review"]);
}

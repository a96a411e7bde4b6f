//! Clean-room verification: a converged issue's final head is checked out into a fresh
//! worktree (nothing untracked from the agent's) and its checks run there.

use crate::support::fake::{work_json, FakeRepo};
use crate::support::issue;
use serde_json::json;

fn review(status: &str) -> String {
    json!({
        "status": status, "summary": "Looked at it.", "issues": [], "requiredActions": [],
        "followups": [], "reviewDocPath": "", "confidence": "high"
    })
    .to_string()
}

#[test]
fn work_that_passes_only_with_an_untracked_file_fails_verification_until_it_is_committed() {
    let check = "grep -q ready data/config.json";
    let fake = FakeRepo::new(
        &[("a.md", issue("A-1", "M1", ""))],
        &format!("[verify]\ncommands = [\"{check}\"]\n"),
        json!({
            // The agent's own worktree has the file; its commit does not.
            "A-1/01-dev": [
                {"run": "mkdir -p src data && echo code > src/app.txt && git add src && git commit -q -m 'A-1: app' && echo ready > data/config.json && grep -q ready data/config.json"},
                {"message": work_json("pass")}
            ],
            "A-1/02-review": [{"message": review("pass")}],
            "A-1/03-fix": [
                {"run": "git add data/config.json && git commit -q -m 'A-1: commit the config'"},
                {"message": work_json("pass")}
            ],
            "A-1/04-review": [{"message": review("pass")}]
        }),
    );
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    let summary = fake.summary("A-1");
    assert_eq!(summary["outcome"], "completed", "{summary}");
    let phases = crate::support::phase_kinds(&summary);
    assert_eq!(phases, ["dev", "review", "fix", "review"]);
    assert_eq!(summary["cycles"], 1);
    // The first verdict failed, named the check and the commit; the fix was told.
    let first = &summary["phases"][1]["acceptance"];
    let failed = first["failed"][0].as_str().unwrap();
    assert!(
        failed.contains(check) && failed.contains("in a clean checkout of"),
        "{first}"
    );
    let fix_prompt =
        std::fs::read_to_string(fake.run_logs("p/M1").join("A-1/03-fix/prompt.md")).unwrap();
    assert!(
        fix_prompt.contains(check) && fix_prompt.contains("in a clean checkout of"),
        "{fix_prompt}"
    );
    // The last verdict is the summary's, against the final head.
    let branch = summary["branch"].as_str().unwrap();
    let head = fake.env.git(&["rev-parse", branch]).trim().to_owned();
    assert_eq!(summary["verified"]["commit"], head.as_str());
    assert_eq!(summary["verified"]["checks"][0]["passed"], true);
    assert_eq!(summary["phases"][3]["acceptance"]["failed"], json!([]));
    assert!(
        out.contains(&format!("verified at {}", &head[..10])) && out.contains('✓'),
        "{out}"
    );
    // The clean rooms are gone, and no other worktree is left.
    let worktrees = fake.env.git(&["worktree", "list", "--porcelain"]);
    assert!(!worktrees.contains("orch-verify-"), "{worktrees}");
    let report = fake.run(&["report", "M1"]).1;
    assert!(
        report.contains(&format!("verified at {}: Command: {check} ✓", &head[..10])),
        "{report}"
    );
}

#[test]
fn verification_that_never_passes_caps_the_issue_with_the_failed_check_left() {
    let fake = FakeRepo::new(
        &[("a.md", issue("A-1", "M1", ""))],
        "max_review_cycles = 1\n[verify]\ncommands = [\"echo 'no such thing' >&2; exit 4\"]\n",
        json!({}),
    );
    let (code, out) = fake.run(&["run", "M1"]);
    assert_eq!(code, 100, "{out}");
    let summary = fake.summary("A-1");
    assert_eq!(summary["outcome"], "capped", "{summary}");
    let left = summary["remaining_actions"].to_string();
    assert!(
        left.contains("exit 4") && left.contains("no such thing"),
        "{left}"
    );
    assert_eq!(summary["verified"]["checks"][0]["passed"], false);
}

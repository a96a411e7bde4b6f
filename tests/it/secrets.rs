//! No secrets out, through the real codex (mock model server): a key the agent commits fails
//! its phase, is recorded by file and line but never by value in any log, and holds the
//! issue's draft submission until a human approves.

use crate::support::codex::{gt_bin, CodexRepo};
use crate::support::issue;
use crate::support::mock_model::{dev_json, Reply};

const VALUE: &str = "q8Xr2LmN4vT7bY1kZ9wE3sD6x0Pz";

fn no_log_holds_the_value(run: &CodexRepo) {
    for file in crate::support::files_written(&run.env.repo.join("logs")) {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        assert!(!text.contains(VALUE), "{} holds the secret", file.display());
    }
}

#[test]
fn a_committed_key_fails_its_phase_is_never_logged_and_holds_submission_until_approved() {
    let run = CodexRepo::new(
        &[("a1.md", issue("A-1", "M1", ""))],
        "[graphite]\nsubmit = \"draft\"\n[guard]\nsecret_allow = [\"fixtures/**\"]\n",
    );
    let out = run
        .env
        .gt_output(&gt_bin(), &["init", "--trunk", "main", "--no-interactive"]);
    assert!(out.status.success(), "{out:?}");
    // A real-looking key in the app's config, and a fake one in an allowed fixture.
    run.model.script(
        "A-1/01-dev",
        vec![
            Reply::Commands(vec![format!(
                "mkdir -p config fixtures && printf 'STRIPE_SECRET_KEY={VALUE}\\n' > config/prod.env && \
                 printf 'FIXTURE_API_KEY=Zx81mNw4Rt7vHk29dLq0AbCd\\n' > fixtures/fake.env && \
                 cat config/prod.env && git add . && git commit -q -m 'A-1: config' && echo COMMITTED"
            )]),
            Reply::Message(dev_json("pass")),
        ],
    );
    let path = format!(
        "{}:{}",
        gt_bin().parent().unwrap().display(),
        std::env::var("PATH").unwrap()
    );
    let orch = |args: &[&str]| {
        let out = run.orch().env("PATH", &path).args(args).output().unwrap();
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (code, said) = orch(&["run", "M1"]);
    assert_eq!(code, Some(100), "{said}");
    let summary = run.summary("A-1");
    assert_eq!(summary["outcome"], "failed", "{summary}");
    let failure = &summary["phases"][0]["failure"];
    assert_eq!(failure["kind"], "guard_violation", "{failure}");
    let changes = failure["changes"].to_string();
    assert!(
        changes.contains("secret assignment at config/prod.env:1"),
        "{changes}"
    );
    assert!(!changes.contains("fixtures/"), "the allowlist: {changes}");
    let guard = std::fs::read_to_string(run.logs().join("A-1/01-dev/guard.jsonl")).unwrap();
    let found: Vec<serde_json::Value> = guard
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["secret"].is_string())
        .collect();
    assert_eq!(found.len(), 1, "{guard}");
    assert_eq!(found[0]["path"], "config/prod.env");
    assert_eq!(found[0]["line"], 1);
    assert_eq!(found[0]["secret"], "assignment");
    no_log_holds_the_value(&run);
    let submit_log = run.logs().join("A-1/commands/submit.log");
    assert!(!submit_log.exists());

    // Run again without an approval: the new phases pass, but the history holds the key,
    // so nothing is submitted.
    let (code, said) = orch(&["resume", "--retry", "A-1"]);
    let summary = run.summary("A-1");
    assert_eq!(summary["outcome"], "blocked", "{said}\n{summary}");
    assert_ne!(code, Some(0));
    let reason = summary["reason"].as_str().unwrap();
    assert!(
        reason.contains("orch approve secrets --task A-1") && reason.contains("config/prod.env:1"),
        "{reason}"
    );
    assert!(!submit_log.exists(), "submitted before a human looked");

    // Approved: orch submits (here gt has no Graphite login, so gt refuses: the attempt is
    // what shows the hold is lifted).
    let (code, said) = orch(&["approve", "secrets", "--task", "A-1"]);
    assert_eq!(code, Some(0), "{said}");
    let (_, said) = orch(&["resume"]);
    let log = std::fs::read_to_string(&submit_log).unwrap_or_else(|e| panic!("{e}: {said}"));
    assert!(log.contains("authenticate"), "{log}");
    let summary = run.summary("A-1");
    assert_eq!(summary["outcome"], "failed", "{summary}");
    assert!(
        summary["reason"]
            .as_str()
            .unwrap()
            .contains("gt submit --stack --draft"),
        "{summary}"
    );
    no_log_holds_the_value(&run);
}

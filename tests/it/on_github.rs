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
fn trees(repo: &std::path::Path, run: &serde_json::Value) -> Vec<(String, String)> {
    let git = |args: &[&str]| {
        let out = std::process::Command::new(crate::support::real_git())
            .current_dir(repo)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
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
    assert_eq!(
        trees(&forge.run.env.repo, &remote_state),
        trees(&local.run.env.repo, &here)
    );
}

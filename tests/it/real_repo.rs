//! A repository as users keep them (`fixtures/messy-tree`): a working checklist and meeting
//! notes under `issues/`, a directory named unlike the `project:` its docs declare, landed
//! issues in the middle of a milestone's graph, a placeholder id in two projects, an archive,
//! and `M1` in one project beside `M1-foundation` in another. What blocks a run, what is
//! only a warning, and what a bare milestone name means there.

use crate::support;
use serde_json::json;
use support::fake::FakeRepo;

fn messy() -> FakeRepo {
    FakeRepo::with_tree("messy-tree", "", json!({}))
}

fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn a_checklist_beside_the_docs_is_one_warning_and_the_milestone_plans_and_runs() {
    let repo = messy();
    let warning = "docs/projects/ledger/issues/TODO-checklist.md: warning: not an issue doc: no front matter; ignored";
    let out = repo.env.orch_ok(&["plan", "ledger/M1"]);
    let shown = text(&out);
    assert_eq!(shown.matches(warning).count(), 1, "{shown}");
    assert!(!shown.contains("error"), "{shown}");
    // Another project's notes are not this milestone's business.
    assert!(!shown.contains("notes.md"), "{shown}");
    // validate lists it (and the notes of cli-orch) as warnings; it passes.
    let out = repo.env.orch_ok(&["validate"]);
    let shown = text(&out);
    assert!(shown.contains(warning), "{shown}");
    assert!(
        shown.contains("docs/projects/cli-orch/issues/notes.md: warning: not an issue doc"),
        "{shown}"
    );
    // `orch docs fix` leaves both alone and has nothing to complain about.
    let before = repo.env.snapshot_tree();
    let out = repo.env.orch_ok(&["docs", "fix"]);
    assert!(out.stdout.is_empty(), "{}", text(&out));
    assert_eq!(before, repo.env.snapshot_tree());
    // The milestone runs, the checklist untouched.
    let (code, out) = repo.run(&["run", "ledger/M1"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.matches(warning).count(), 1, "{out}");
    let mut ran: Vec<String> = repo
        .keys()
        .iter()
        .filter_map(|k| k.strip_suffix("/01-dev").map(str::to_owned))
        .collect();
    ran.sort();
    assert_eq!(ran, ["LEDGER-1", "LEDGER-3", "LEDGER-5"]);
}

#[test]
fn a_broken_doc_blocks_the_project_its_neighbours_declare_and_says_how_out() {
    let repo = messy();
    // A title with `: ` unquoted: YAML that does not parse, in `cli-orch/issues/` beside
    // docs that say `project: cli-orchestration-v0`.
    let broken = "docs/projects/cli-orch/issues/CLI-3-retries.md";
    repo.env.write(
        broken,
        "---\nid: CLI-3\ntitle: Retries: with backoff\nstate: planned\nmilestone: M1-foundation\n---\n",
    );
    repo.env.git(&["add", "."]);
    repo.env.git(&["commit", "-q", "-m", "a broken doc"]);
    for verb in ["plan", "run"] {
        let (code, out) = repo.run(&[verb, "cli-orchestration-v0/M1-foundation"]);
        assert_eq!(code, 1, "{verb}: {out}");
        assert!(
            out.contains(&format!(
                "{broken}:3: error: front matter is not valid YAML"
            )),
            "{verb}: {out}"
        );
        for why in [
            "may be an issue of cli-orchestration-v0/M1-foundation (docs beside it say `project: cli-orchestration-v0`)",
            "`orch docs fix` repairs it",
            "move it to `docs/projects/cli-orch/issues/_archive`",
            "narrow `docs_glob` in orch.toml",
            "Error: cannot ",
        ] {
            assert!(out.contains(why), "{verb}: missing {why:?} in {out}");
        }
    }
    assert!(repo.keys().is_empty(), "no agent ran: {:?}", repo.keys());
    // Another project's milestone is not held by it: one line says where to look.
    let out = repo.env.orch_ok(&["plan", "ledger/M1"]);
    assert!(
        text(&out).contains("1 doc outside ledger/M1 has problems"),
        "{}",
        text(&out)
    );
    // The way out it names works.
    let out = repo.env.orch_ok(&["docs", "fix"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("title: 'Retries: with backoff'"),
        "{}",
        text(&out)
    );
    repo.env
        .orch_ok(&["plan", "cli-orchestration-v0/M1-foundation"]);
}

#[test]
fn a_bare_milestone_name_that_two_projects_answer_to_is_an_error() {
    let repo = messy();
    let out = repo.env.orch().args(["run", "M1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let shown = text(&out);
    assert!(
        shown.contains("milestone M1 exists in 2 projects: cli-orchestration-v0, ledger"),
        "{shown}"
    );
    assert!(
        shown.contains("`orch run cli-orchestration-v0/M1-foundation`, `orch run ledger/M1`"),
        "{shown}"
    );
    // Named with its project, or by a name only one project answers to, it is found.
    let plan = |args: &[&str]| -> serde_json::Value {
        let out = repo.env.orch_ok(&[&["plan"], args, &["--json"]].concat());
        serde_json::from_slice(&out.stdout).unwrap()
    };
    assert_eq!(plan(&["M1", "--project", "ledger"])["milestone"], "M1");
    assert_eq!(plan(&["M2"])["milestone"], "M2-reporting");
    assert_eq!(plan(&["M1-foundation"])["project"], "cli-orchestration-v0");
}

/// `start <key> <ns>` / `end <key> <ns>` records of the fake agents: when each phase's agent
/// started and ended, by key.
fn lives(path: &std::path::Path) -> std::collections::BTreeMap<(String, String), u64> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let parts: Vec<&str> = l.split(' ').collect();
            (
                (parts[0].to_owned(), parts[1].to_owned()),
                parts[2].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn landed_issues_mid_graph_are_finished_at_the_start_and_their_dependents_start_at_once() {
    // LEDGER-2 is landed but its doc still says it waits for LEDGER-1; LEDGER-3 waits for
    // LEDGER-2; LEDGER-4 is done, LEDGER-5 waits for it. LEDGER-1's agent takes its time.
    let repo = messy();
    let commit = "mkdir -p work && echo x >> work/L1.txt && git add work && git commit -q -m L1";
    repo.script(json!({
        "LEDGER-1/01-dev": [{"sleep": 2}, {"run": commit},
                            {"message": support::fake::work_json("pass")}],
    }));
    let lives_file = repo.env.root().join("lives");
    let out = repo
        .command(&["run", "ledger/M1", "--jobs", "3"])
        .env("ORCH_FAKE_LIVES", &lives_file)
        .output()
        .unwrap();
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    let at = lives(&lives_file);
    let start = |k: &str| at[&("start".to_owned(), k.to_owned())];
    let l1_end = at[&("end".to_owned(), "LEDGER-1/01-dev".to_owned())];
    for dependent in ["LEDGER-3/01-dev", "LEDGER-5/01-dev"] {
        assert!(
            start(dependent) < l1_end,
            "{dependent} waited for LEDGER-1's agent: {at:?}"
        );
    }
    // The landed and done issues count as done, never as "not passed".
    assert!(
        shown.contains("[LEDGER-2] → skipped: state is `landed`"),
        "{shown}"
    );
    assert!(
        shown.contains("[run] 5 done · 0 running · 0 waiting · 0 not passed"),
        "{shown}"
    );
    assert!(!shown.contains("1 not passed"), "{shown}");
    let tasks = std::fs::read_to_string(repo.env.repo.join("TASKS.md")).unwrap();
    for id in ["LEDGER-2", "LEDGER-4"] {
        assert!(
            tasks.contains(&format!("- [x] **{id}**")) && tasks.contains("done"),
            "{tasks}"
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let row = stdout.lines().find(|l| l.starts_with("LEDGER-2")).unwrap();
    assert!(row.contains("done"), "{stdout}");
}

//! A docs tree of several projects (`fixtures/projects-tree`): two projects with an `M1`,
//! one with broken docs, a placeholder id reused across projects and across milestones of one
//! project, `milestone: null`, `state: landed`, milestone ids with slugs, milestone docs with
//! and without slugs. Every command that takes a milestone is driven with `<project>/<M>` and
//! with `--project`, through the fake agent.

use crate::support;
use serde_json::json;
use support::fake::FakeRepo;

fn tree() -> FakeRepo {
    FakeRepo::with_tree("projects-tree", "", json!({}))
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn plan_json(repo: &FakeRepo, args: &[&str]) -> serde_json::Value {
    let out = repo.env.orch_ok(&[&["plan"], args, &["--json"]].concat());
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ids(plan: &serde_json::Value) -> Vec<(String, bool)> {
    plan["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_owned(),
                i["skipped"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn s(id: &str, skipped: bool) -> (String, bool) {
    (id.to_owned(), skipped)
}

#[test]
fn plans_are_scoped_to_one_project_and_milestone() {
    let repo = tree();
    let before = repo.env.snapshot_tree();
    // A bare M1 is two projects' milestone: the error says what to type.
    let out = repo.env.orch().args(["plan", "M1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.contains("milestone M1 exists in 2 projects: atlas, beacon")
            && err.contains("`orch plan atlas/M1`, `orch plan beacon/M1`"),
        "{err}"
    );

    // atlas/M1 runs although atlas has broken docs elsewhere: one of another milestone (no
    // id, M2: counted), one with no milestone key (a warning here, not a blocker).
    let out = repo.env.orch_ok(&["plan", "atlas/M1"]);
    let err = stderr_of(&out);
    assert!(
        err.contains("1 doc outside atlas/M1 has problems (not part of this run); `orch validate` lists them"),
        "{err}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("ATLAS-5-triage.md:2: warning: required field `milestone` is missing (not in this milestone, so not blocking)"),
        "{stdout}"
    );
    let atlas = plan_json(&repo, &["atlas/M1"]);
    assert_eq!(ids(&atlas), [s("ATLAS-1", false), s("ATLAS-2", false)]);
    assert_eq!(
        atlas["milestone_doc"]["path"],
        "docs/projects/atlas/milestones/M1-event-pipeline.md"
    );
    assert_eq!(atlas["problems_elsewhere"], 1);

    // The same milestone name with --project; the placeholder id is beacon's own here.
    let beacon = plan_json(&repo, &["M1", "--project", "beacon"]);
    assert_eq!(ids(&beacon), [s("BEACON-1", false), s("LOCAL-TBD", false)]);
    assert_eq!(
        beacon["issues"][1]["branch"],
        "orch/beacon/M1/LOCAL-TBD-alert-on-status-changes"
    );
    assert_eq!(
        beacon["milestone_doc"]["path"],
        "docs/projects/beacon/milestones/M1_launch.md"
    );

    // A milestone id with a slug, named by its leading id; `landed` is done; LOCAL-TBD is
    // resolved in COSMOS-2's own milestone, not in M4 or another project.
    let m3 = plan_json(&repo, &["cosmos/M3"]);
    assert_eq!(m3["milestone"], "M3-core-engine");
    assert_eq!(
        ids(&m3),
        [
            s("COSMOS-1", true),
            s("LOCAL-TBD", false),
            s("COSMOS-2", false)
        ]
    );
    assert_eq!(m3["issues"][0]["skip_reason"], "state is `landed`");
    assert_eq!(
        m3["issues"][2]["dependencies"],
        json!([{"kind": "in_milestone", "id": "COSMOS-1"}, {"kind": "in_milestone", "id": "LOCAL-TBD"}])
    );
    assert_eq!(
        m3["milestone_doc"],
        json!({"path": "docs/projects/cosmos/milestones/M3-core-engine.md",
               "title": "Core engine refactor and config evolution"})
    );
    // `future` is not run unless named; a leading id unique across the tree needs no project.
    let m4 = plan_json(&repo, &["M4"]);
    assert_eq!(m4["project"], "cosmos");
    assert_eq!(
        m4["milestone_doc"]["path"],
        "docs/projects/cosmos/milestones/M4.md"
    );
    assert_eq!(ids(&m4), [s("COSMOS-4", true), s("LOCAL-TBD", false)]);
    assert!(m4["issues"][0]["skip_reason"]
        .as_str()
        .unwrap()
        .contains("`--include-state future` runs it"));
    let all = plan_json(&repo, &["M4", "--include-state", "future"]);
    assert_eq!(ids(&all), [s("COSMOS-4", false), s("LOCAL-TBD", false)]);
    let out = repo
        .env
        .orch()
        .args(["plan", "M4", "--include-state", "landed"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("`landed` is not a not-ready state"));

    // atlas/M2 is where the doc without an id is: that run cannot start.
    let out = repo.env.orch().args(["plan", "atlas/M2"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.contains("draft-retention-notes.md:2: error: required field `id` is missing")
            && err.contains("Error: cannot plan milestone atlas/M2"),
        "{err}"
    );
    assert_eq!(before, repo.env.snapshot_tree(), "planning changed files");
}

#[test]
fn validate_checks_everything_or_one_project() {
    let repo = tree();
    let out = repo
        .env
        .orch()
        .args(["validate", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors: Vec<String> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e["path"].as_str().unwrap(),
                e["message"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            "docs/projects/atlas/issues/ATLAS-5-triage.md: required field `milestone` is missing",
            "docs/projects/atlas/issues/draft-retention-notes.md: required field `id` is missing",
        ]
    );
    // The placeholder id in four milestones of three projects is no error; the doc in no
    // milestone yet is listed, as info.
    assert_eq!(
        report["unassigned"],
        json!(["docs/projects/cosmos/issues/COSMOS-3-someday.md"])
    );
    assert_eq!(report["info"][0]["severity"], "info");
    assert_eq!(report["projects"], json!(["atlas", "beacon", "cosmos"]));
    let out = repo
        .env
        .orch_ok(&["validate", "--project", "cosmos", "--strict"]);
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("6 issue docs in 2 milestones are valid (0 errors, 0 warnings, 1 info)"),
        "{}",
        stderr_of(&out)
    );
    // The counts are the milestone's.
    let out = repo.env.orch_ok(&["validate", "beacon/M1"]);
    let beacon_m1 = std::fs::read_dir(repo.env.repo.join("docs/projects/beacon/issues"))
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains("\nmilestone: M1\n"))
        })
        .count();
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .starts_with(&format!("{beacon_m1} issue docs in 1 milestone are valid")),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = repo
        .env
        .orch()
        .args(["validate", "M2", "--project", "atlas"])
        .output()
        .unwrap();
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // The doc with no id may be atlas/M2's: it blocks it, by name and line.
    assert!(
        stderr.contains("draft-retention-notes.md:2: error: required field `id` is missing")
            && stderr.contains("Error: milestone atlas/M2 is invalid: 1 error"),
        "{stderr}"
    );
}

#[test]
fn a_doc_that_cannot_be_read_blocks_only_its_own_project() {
    let repo = tree();
    repo.env.doc(
        "beacon",
        "BEACON-9-engine.md",
        "---\nid: BEACON-9\ntitle: Event engine: subduction + rift\nmilestone: M1\n---\n",
    );
    repo.env.git(&["add", "."]);
    repo.env.git(&["commit", "-q", "-m", "a sloppy doc"]);
    let out = repo
        .env
        .orch()
        .args(["run", "beacon/M1", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.contains("BEACON-9-engine.md:3: error: front matter is not valid YAML")
            && err.contains("Error: cannot run milestone beacon/M1"),
        "{err}"
    );
    let out = repo.env.orch_ok(&["run", "atlas/M1", "--dry-run"]);
    assert!(stderr_of(&out).contains("2 docs outside atlas/M1 have problems"));
}

#[test]
fn two_projects_m1_share_no_branch_worktree_log_state_or_dashboard() {
    let repo = tree();
    let (code, out) = repo.run(&["run", "atlas/M1"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = repo.run(&["run", "M1", "--project", "beacon"]);
    assert_eq!(code, 0, "{out}");

    let branches = repo
        .env
        .git(&["branch", "--list", "orch/*", "--format=%(refname:short)"]);
    assert_eq!(
        branches.lines().collect::<Vec<_>>(),
        [
            "orch/atlas/M1/ATLAS-1-define-the-event-schema",
            "orch/atlas/M1/ATLAS-2-serve-events-over-the-api",
            "orch/beacon/M1/BEACON-1-publish-a-status-page",
            "orch/beacon/M1/LOCAL-TBD-alert-on-status-changes",
        ]
    );
    // Stacked within its own project: ATLAS-2 on ATLAS-1, LOCAL-TBD on BEACON-1.
    let tip = |b: &str| repo.env.git(&["rev-parse", b]).trim().to_owned();
    assert_eq!(
        repo.summary_in("atlas/M1", "ATLAS-2")["base"],
        tip("orch/atlas/M1/ATLAS-1-define-the-event-schema")
    );
    assert_eq!(
        repo.summary_in("beacon/M1", "LOCAL-TBD")["base"],
        tip("orch/beacon/M1/BEACON-1-publish-a-status-page")
    );
    assert_eq!(
        repo.summary_in("beacon/M1", "LOCAL-TBD")["outcome"],
        "completed"
    );
    // Each milestone its own event log and run state.
    assert_eq!(repo.event_sequence("atlas/M1")[0], "plan_validated");
    assert_eq!(repo.event_sequence("beacon/M1")[0], "plan_validated");
    let runs: Vec<serde_json::Value> = std::fs::read_dir(repo.env.repo.join(".git/orch/runs"))
        .unwrap()
        .flatten()
        .map(|e| serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap())
        .collect();
    let mut scopes: Vec<String> = runs
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["project"].as_str().unwrap(),
                r["milestone"].as_str().unwrap()
            )
        })
        .collect();
    scopes.sort();
    assert_eq!(scopes, ["atlas/M1", "beacon/M1"]);
    let tasks = std::fs::read_to_string(repo.env.repo.join("TASKS.md")).unwrap();
    assert!(
        tasks.starts_with("# Tasks — milestone beacon/M1"),
        "{tasks}"
    );
    let run_id = crate::support::run_logs(&repo.env.repo, "beacon/M1");
    let run_id = run_id.file_name().unwrap().to_string_lossy();
    assert!(
        tasks.contains(&format!("[logs](logs/orch/beacon/M1/{run_id}/LOCAL-TBD)")),
        "{tasks}"
    );

    // status and report of each, by either form; a bare M1 is ambiguous among the runs too.
    let status = |args: &[&str]| {
        String::from_utf8_lossy(&repo.env.orch_ok(&[&["status"], args].concat()).stdout)
            .into_owned()
    };
    assert!(status(&["atlas/M1"]).contains("of milestone atlas/M1 (finished"));
    assert!(status(&["M1", "--project", "beacon"]).contains("of milestone beacon/M1 (finished"));
    assert!(status(&["--project", "atlas"]).contains("ATLAS-2"));
    let out = repo.env.orch().args(["status", "M1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("`orch status atlas/M1`, `orch status beacon/M1`"));
    let report = repo.env.orch_ok(&["report", "beacon/M1", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(
        (report["project"].as_str(), report["milestone"].as_str()),
        (Some("beacon"), Some("M1"))
    );
    let md = repo.env.orch_ok(&["report", "M1", "--project", "atlas"]);
    assert!(String::from_utf8_lossy(&md.stdout).starts_with("# Run report — milestone atlas/M1"));

    // diff: found in whichever milestone's logs hold the issue, or named.
    let diff = |args: &[&str]| {
        String::from_utf8_lossy(
            &repo
                .env
                .orch_ok(&[&["diff"], args, &["--name-only"]].concat())
                .stdout,
        )
        .into_owned()
    };
    assert!(diff(&["LOCAL-TBD"]).contains("01-dev"));
    assert!(diff(&["ATLAS-1", "--milestone", "atlas/M1"]).contains("01-dev"));
    assert!(diff(&["BEACON-1", "--milestone", "M1", "--project", "beacon"]).contains("01-dev"));
    // Every loop ended: no worktree left, in either project.
    let wt = repo.env.orch_ok(&["worktrees", "atlas/M1"]);
    assert_eq!(String::from_utf8_lossy(&wt.stdout), "no orch worktrees\n");
}

#[test]
fn a_crashed_run_is_found_resumed_and_its_worktrees_listed_by_project() {
    let repo = tree();
    repo.crash_at("after-dev", &["run", "atlas/M1"]);
    // ATLAS-1's worktree is there; beacon has none.
    let listed = |args: &[&str]| {
        String::from_utf8_lossy(&repo.env.orch_ok(&[&["worktrees"], args].concat()).stdout)
            .into_owned()
    };
    let atlas = listed(&["M1", "--project", "atlas"]);
    assert!(
        atlas.contains(
            "wt/atlas/M1/ATLAS-1  orch/atlas/M1/ATLAS-1-define-the-event-schema  present"
        ),
        "{atlas}"
    );
    assert_eq!(listed(&["--project", "beacon"]), "no orch worktrees\n");
    let status =
        String::from_utf8_lossy(&repo.env.orch_ok(&["status", "--project", "atlas"]).stdout)
            .into_owned();
    assert!(
        status.contains("of milestone atlas/M1 (not finished"),
        "{status}"
    );
    // Resumed by name, and killed again after the next review; then resumed by --project.
    repo.crash_at("after-review", &["resume", "atlas/M1"]);
    let (code, out) = repo.run(&["resume", "M1", "--project", "atlas"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        repo.summary_in("atlas/M1", "ATLAS-1")["outcome"],
        "completed"
    );
    assert_eq!(
        repo.summary_in("atlas/M1", "ATLAS-2")["outcome"],
        "completed"
    );
    // The dev phase that finished before the crash did not run again.
    let devs = repo
        .keys()
        .iter()
        .filter(|k| *k == "ATLAS-1/01-dev")
        .count();
    assert_eq!(devs, 1);
    assert_eq!(listed(&["atlas/M1"]), "no orch worktrees\n");
}

#[test]
fn a_landed_issue_satisfies_its_dependents_and_placeholders_stay_apart() {
    let repo = tree();
    let (code, out) = repo.run(&["run", "cosmos/M3"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        repo.summary_in("cosmos/M3-core-engine", "COSMOS-1")["outcome"],
        "skipped"
    );
    assert_eq!(
        repo.summary_in("cosmos/M3-core-engine", "COSMOS-2")["outcome"],
        "completed"
    );
    // COSMOS-2 stacks on the M3 LOCAL-TBD, the one of its own milestone.
    let tip = repo.env.git(&[
        "rev-parse",
        "orch/cosmos/M3-core-engine/LOCAL-TBD-refactor-the-engine-loop",
    ]);
    assert_eq!(
        repo.summary_in("cosmos/M3-core-engine", "COSMOS-2")["base"],
        tip.trim()
    );
    // A not-ready issue runs when the run names its state, and a resume keeps that.
    let (code, out) = repo.run(&["run", "M4", "--include-state", "future"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        repo.summary_in("cosmos/M4-observability", "COSMOS-4")["outcome"],
        "completed"
    );
    let state = repo.env.orch_ok(&["status", "cosmos/M4", "--json"]);
    let state: serde_json::Value = serde_json::from_slice(&state.stdout).unwrap();
    assert_eq!(state["include_states"], json!(["future"]));
}

#[test]
fn runs_recorded_before_projects_are_still_read() {
    let repo = tree();
    let (code, out) = repo.run(&["run", "beacon/M1"]);
    assert_eq!(code, 0, "{out}");
    // What an orch without projects left: a state with no `project`, logs at logs/orch/M1/.
    let runs = repo.env.repo.join(".git/orch/runs");
    for entry in std::fs::read_dir(&runs).unwrap().flatten() {
        let mut state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(entry.path()).unwrap()).unwrap();
        state.as_object_mut().unwrap().remove("project");
        std::fs::write(entry.path(), state.to_string()).unwrap();
    }
    let logs = repo.env.repo.join("logs/orch");
    std::fs::rename(logs.join("beacon/M1"), logs.join("M1")).unwrap();
    std::fs::remove_dir(logs.join("beacon")).unwrap();

    let status = repo.env.orch_ok(&["status", "M1"]);
    assert!(String::from_utf8_lossy(&status.stdout).contains("of milestone M1 (finished"));
    let report = repo.env.orch_ok(&["report"]);
    assert!(String::from_utf8_lossy(&report.stdout).starts_with("# Run report — milestone M1"));
    let diff = repo.env.orch_ok(&["diff", "LOCAL-TBD", "--stat"]);
    assert!(String::from_utf8_lossy(&diff.stdout).contains("01-dev"));
    // A project it was not recorded with finds nothing, and says so.
    let out = repo
        .env
        .orch()
        .args(["status", "beacon/M1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.contains("no orch run of milestone beacon/M1 found in this repository")
            && err.contains("Hint: runs recorded here are of: M1"),
        "{err}"
    );
}

#[test]
fn an_ambiguous_reference_is_an_error_naming_the_candidates() {
    let repo = tree();
    repo.env
        .write("docs/projects/delta/milestones/M1.md", "# M1: Delta\n");
    repo.env.doc(
        "delta",
        "DELTA-1.md",
        support::issue("DELTA-1", "M1", "blocked_by: [LOCAL-TBD]\n"),
    );
    let out = repo.env.orch().args(["plan", "delta/M1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.contains("`DELTA-1` lists `LOCAL-TBD` in `blocked_by`, which matches 4 issue docs: docs/projects/atlas/issues/LOCAL-TBD-ingest-spike.md (atlas/M2), docs/projects/beacon/issues/LOCAL-TBD-alerts.md (beacon/M1)")
            && err.contains("Hint: name one as `<project>/LOCAL-TBD`"),
        "{err}"
    );
    // Named with its project, it is beacon's (not done: a warning, ordered last).
    repo.env.doc(
        "delta",
        "DELTA-1.md",
        support::issue("DELTA-1", "M1", "blocked_by: [beacon/LOCAL-TBD]\n"),
    );
    let plan = plan_json(&repo, &["delta/M1"]);
    assert_eq!(
        plan["issues"][0]["dependencies"],
        json!([{"kind": "pending", "id": "LOCAL-TBD", "project": "beacon", "milestone": "M1", "state": "in-progress"}])
    );
}

#[test]
fn states_orch_does_not_know_run_with_a_warning_and_the_lists_can_be_replaced() {
    let repo = tree();
    repo.env.doc(
        "beacon",
        "BEACON-2.md",
        support::issue("BEACON-2", "M1", "").replace("state: planned", "state: doing"),
    );
    let out = repo.env.orch_ok(&["plan", "beacon/M1"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("warning: `BEACON-2` has state `doing`, which orch does not know; it runs")
            && text.contains("Hint: known states: planned, todo, ready"),
        "{text}"
    );
    // `doing` named done: skipped, and no warning.
    repo.env.write(
        "orch.toml",
        "worktree_root = \"../wt\"\ndone_states = [\"doing\", \"done\"]\n",
    );
    let plan = plan_json(&repo, &["beacon/M1"]);
    let b2 = plan["issues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "BEACON-2")
        .unwrap();
    assert_eq!(b2["skip_reason"], "state is `doing`");
    assert!(plan["warnings"].as_array().unwrap().is_empty(), "{plan}");
}

#[test]
fn approvals_are_kept_per_project_milestone() {
    let repo = tree();
    repo.env
        .orch_ok(&["approve", "deploy", "--milestone", "atlas/M1"]);
    repo.env
        .orch_ok(&["approve", "tag", "--milestone", "M1", "--project", "beacon"]);
    let approvals = repo.env.repo.join(".git/orch/approvals");
    let atlas = std::fs::read_to_string(approvals.join("atlas/M1.json")).unwrap();
    let beacon = std::fs::read_to_string(approvals.join("beacon/M1.json")).unwrap();
    assert!(
        atlas.contains("\"deploy\"") && !atlas.contains("\"tag\""),
        "{atlas}"
    );
    assert!(
        beacon.contains("\"tag\"") && !beacon.contains("\"deploy\""),
        "{beacon}"
    );
    // A name is read as every command reads it, before any run: orch.toml's project and a
    // milestone's leading id (`M3` for `M3-core-engine`).
    repo.env.write(
        "orch.toml",
        "worktree_root = \"../wt\"\nproject = \"cosmos\"\n",
    );
    repo.env
        .orch_ok(&["approve", "deploy", "--milestone", "M3"]);
    let cosmos = std::fs::read_to_string(approvals.join("cosmos/M3-core-engine.json")).unwrap();
    assert!(cosmos.contains("\"deploy\""), "{cosmos}");
    assert!(!approvals.join("M3.json").exists() && !approvals.join("cosmos/M3.json").exists());
}

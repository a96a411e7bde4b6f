//! Plan mode across stops and resumes, with the scripted fake agent: a task command that ran
//! before a crash is not run again, a resume keeps the `--task` selection of the run it
//! continues, and a task on several dependencies keeps one base across resumes.

use crate::support;
use serde_json::json;
use std::time::Duration;
use support::fake::FakeRepo;

/// Starts `orch ARGS` in the background and waits until the marker file `name` appears
/// (a check or command of the plan creates it, then sleeps).
fn start_until_marker(
    fake: &FakeRepo,
    markers: &std::path::Path,
    args: &[&str],
    name: &str,
) -> std::process::Child {
    let child = fake
        .command(args)
        .env("ORCH_TEST_MARKER_DIR", markers)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..800 {
        if markers.join(name).exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(markers.join(name).exists(), "{name} never appeared");
    child
}

/// Sends `signal` to a child orch and waits for it.
fn signal(mut child: std::process::Child, signal: i32) -> std::process::ExitStatus {
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, signal) };
    child.wait().unwrap()
}

#[test]
fn a_command_that_ran_before_a_crash_is_not_run_again() {
    let fake = FakeRepo::new(&[], "", json!({}));
    fake.add_plan_text(
        r#"version: 1
project:
  name: cmds
tasks:
  - id: SHIP
    title: Ship it
    description: Deploy, then tag.
    commands:
      deploy: "echo once >> \"$ORCH_TEST_MARKER_DIR/deploys\""
      tag: "test -f \"$ORCH_TEST_MARKER_DIR/tagging\" || { touch \"$ORCH_TEST_MARKER_DIR/tagging\"; sleep 20; }"
"#,
    );
    let markers = tempfile::tempdir().unwrap();
    let child = start_until_marker(&fake, markers.path(), &["run", "--file"], "tagging");
    signal(child, libc::SIGKILL);

    let (code, out) = fake.run_marked(markers.path(), &["resume", "--force-unlock"]);
    assert_eq!(code, 0, "{out}");
    let deploys = std::fs::read_to_string(markers.path().join("deploys")).unwrap();
    assert_eq!(deploys, "once\n", "deploy ran again after the crash");
    let s = fake.summary_in("cmds", "SHIP");
    assert_eq!(s["outcome"], "completed", "{s:#}");
    let names: Vec<&str> = s["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["deploy", "tag"]);
}

/// The diamond plan in a repository, DOCS's fix scripted to make its checks pass.
fn diamond() -> FakeRepo {
    let fake = FakeRepo::new(
        &[],
        "",
        json!({
            "DOCS/03-fix": [{"run": "echo reviewed >> work/DOCS.txt && git commit -qam 'docs: reviewed'"},
                            {"message": support::fake::work_json("pass")}],
        }),
    );
    fake.add_plan("diamond");
    fake
}

#[test]
fn a_resume_keeps_the_task_selection_of_the_run() {
    let fake = diamond();
    let markers = tempfile::tempdir().unwrap();
    // STORE's dev fails: the run of STORE (and SETUP) stops there.
    fake.script(json!({"STORE/01-dev": [{"fail": "the model refused"}]}));
    let (code, out) = fake.run_marked(
        markers.path(),
        &["run", "--file", "orchestrator.yml", "--task", "STORE"],
    );
    assert_eq!(code, 100, "{out}");
    fake.script(json!({}));
    let (code, out) = fake.run_marked(markers.path(), &["resume", "--retry", "STORE"]);
    assert_eq!(code, 0, "{out}");
    let tasks: std::collections::BTreeSet<String> = fake
        .keys()
        .iter()
        .map(|k| k.split('/').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        tasks,
        ["SETUP", "STORE"].map(String::from).into(),
        "the resume ran tasks the run was not asked for"
    );
    assert_eq!(fake.summary_in("diamond", "STORE")["outcome"], "completed");
}

#[test]
fn a_resume_keeps_the_issue_selection_of_the_run() {
    let fake = FakeRepo::new(
        &[
            ("a.md", support::issue("A-1", "M1", "")),
            ("b.md", support::issue("B-1", "M1", "")),
        ],
        "",
        json!({"B-1/01-dev": [{"fail": "the model refused"}]}),
    );
    let markers = tempfile::tempdir().unwrap();
    let (code, out) = fake.run_marked(markers.path(), &["run", "M1", "--issue", "B-1"]);
    assert_eq!(code, 100, "{out}");
    fake.script(json!({}));
    let (code, out) = fake.run_marked(markers.path(), &["resume", "--retry", "B-1"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(fake.keys(), ["B-1/01-dev", "B-1/02-dev", "B-1/03-review"]);
}

#[test]
fn a_task_on_several_dependencies_keeps_its_base_across_resumes() {
    let fake = diamond();
    let markers = tempfile::tempdir().unwrap();
    let (code, out) = fake.run_marked(markers.path(), &["run", "--file"]);
    assert_ne!(code, 0, "{out}");
    let first = fake.summary_in("diamond", "SHIP");
    assert_eq!(first["awaiting"], json!(["deploy"]));
    let base = first["base"].as_str().unwrap().to_owned();
    // A later second: a merge commit made now would differ in its time.
    std::thread::sleep(Duration::from_millis(1100));
    let (code, out) = fake.run_marked(markers.path(), &["approve", "deploy", "--file"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = fake.run_marked(markers.path(), &["resume"]);
    assert_eq!(code, 0, "{out}");
    let after = fake.summary_in("diamond", "SHIP");
    assert_eq!(after["outcome"], "completed");
    assert_eq!(
        after["base"].as_str().unwrap(),
        base,
        "a new base on resume"
    );
    let branch = after["branch"].as_str().unwrap();
    fake.env
        .git(&["merge-base", "--is-ancestor", &base, branch]);
}

#[test]
fn an_approval_for_a_task_or_gate_that_is_not_there_is_refused() {
    let fake = diamond();
    let markers = tempfile::tempdir().unwrap();
    let approvals = fake.env.repo.join(".git/orch/approvals/diamond.json");
    let (code, out) = fake.run_marked(
        markers.path(),
        &["approve", "deploy", "--task", "SHPI", "--file"],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("task `SHPI` is not in diamond"), "{out}");
    assert!(out.contains("its tasks: SETUP, DOCS, STORE, SHIP"), "{out}");
    let (code, out) = fake.run_marked(
        markers.path(),
        &["approve", "deplyo", "--task", "SHIP", "--file"],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("no task SHIP of diamond waits for a `deplyo` approval"),
        "{out}"
    );
    assert!(out.contains("the gates there: deploy"), "{out}");
    assert!(!approvals.exists(), "nothing was recorded");

    // Without --file, the tasks of the last run are the ones known.
    let (code, out) = fake.run_marked(markers.path(), &["run", "--file"]);
    assert_ne!(code, 0, "{out}");
    let (code, out) = fake.run_marked(markers.path(), &["approve", "deploy", "--task", "SHPI"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("task `SHPI` is not in the last run of diamond"),
        "{out}"
    );
    let (code, out) = fake.run_marked(markers.path(), &["approve", "deploy", "--task", "SHIP"]);
    assert_eq!(code, 0, "{out}");
    assert!(approvals.exists());
}

/// Every line of the event logs of the runs of `milestone`.
fn events_of(fake: &FakeRepo, milestone: &str) -> Vec<serde_json::Value> {
    let dir = fake.env.repo.join("logs/orch").join(milestone);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        if entry.file_name().to_string_lossy().starts_with("events-") {
            for line in std::fs::read_to_string(entry.path()).unwrap().lines() {
                out.push(serde_json::from_str(line).unwrap());
            }
        }
    }
    out
}

#[test]
fn checks_cut_short_by_ctrl_c_run_again_on_resume() {
    let fake = FakeRepo::new(&[], "", json!({}));
    fake.add_plan_text(
        r#"version: 1
project:
  name: gate
tasks:
  - id: T
    title: Checked
    description: A slow check.
    acceptance:
      - "Tests pass: test -f \"$ORCH_TEST_MARKER_DIR/checking\" || { touch \"$ORCH_TEST_MARKER_DIR/checking\"; sleep 30; }"
"#,
    );
    let markers = tempfile::tempdir().unwrap();
    let child = start_until_marker(&fake, markers.path(), &["run", "--file"], "checking");
    let code = signal(child, libc::SIGINT).code();
    assert_eq!(code, Some(130));
    let s = fake.summary_in("gate", "T");
    assert_eq!(s["outcome"], "interrupted", "{s:#}");
    assert!(
        fake.env.root().join("wt/gate/T").is_dir(),
        "the worktree is kept"
    );
    // Checks cut short are not failed checks: no gate on the phase, no acceptance_failed.
    assert!(s["phases"][0].get("acceptance").is_none(), "{s:#}");
    let events = events_of(&fake, "gate");
    assert!(
        !events.iter().any(|e| e["type"] == "acceptance_failed"),
        "{events:?}"
    );

    let (code, out) = fake.run_marked(markers.path(), &["resume"]);
    assert_eq!(code, 0, "{out}");
    let s = fake.summary_in("gate", "T");
    assert_eq!(s["outcome"], "completed", "{s:#}");
    let last_dev = s["phases"]
        .as_array()
        .unwrap()
        .iter()
        .rfind(|p| p["phase"] == "dev")
        .unwrap();
    assert_eq!(last_dev["acceptance"]["passed"], 1, "{s:#}");
}

#[test]
fn run_resume_without_a_milestone_continues_the_latest_run() {
    let fake = FakeRepo::new(&[], "", json!({}));
    fake.add_plan_text(
        r#"version: 1
project:
  name: one
tasks:
  - id: T
    title: Tagged
    description: A gated tag.
    commands:
      tag: "touch \"$ORCH_TEST_MARKER_DIR/tagged\""
    approvals:
      required: [tag]
"#,
    );
    let markers = tempfile::tempdir().unwrap();
    let (code, out) = fake.run_marked(markers.path(), &["run", "--file"]);
    assert_eq!(code, 100, "{out}");
    let finished = |fake: &FakeRepo| {
        let (code, out) = fake.run_marked(markers.path(), &["status", "--json"]);
        assert_eq!(code, 0, "{out}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["finished"].clone()
    };
    assert_eq!(
        finished(&fake),
        false,
        "a run waiting for an approval is not finished"
    );
    // A --retry of a task that waits for an approval runs no phase again either.
    let (code, out) = fake.run_marked(markers.path(), &["resume", "--retry", "T"]);
    assert_eq!(code, 100, "{out}");
    assert_eq!(fake.keys(), ["T/01-dev", "T/02-review"]);
    let (code, out) = fake.run_marked(markers.path(), &["approve", "tag", "--task", "T"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = fake.run_marked(markers.path(), &["run", "--resume"]);
    assert_eq!(code, 0, "{out}");
    assert!(markers.path().join("tagged").exists(), "{out}");
    assert_eq!(finished(&fake), true);
    assert_eq!(
        fake.keys(),
        ["T/01-dev", "T/02-review"],
        "no phase ran again"
    );
}

#[test]
fn resume_file_continues_the_plan_run_when_a_milestone_has_the_plan_name() {
    // Issue docs of milestone `one`, and a plan also named `one` whose task fails at first.
    let fake = FakeRepo::new(
        &[("x.md", support::issue("X-1", "one", ""))],
        "",
        json!({"T/01-dev": [{"fail": "the model refused"}]}),
    );
    fake.add_plan_text(
        "version: 1\nproject:\n  name: one\ntasks:\n  - id: T\n    title: Task\n    description: d\n",
    );
    let markers = tempfile::tempdir().unwrap();
    let (code, out) = fake.run_marked(markers.path(), &["run", "--file"]);
    assert_eq!(code, 100, "{out}");
    // The issue docs of `one` run later: theirs is now the latest run named `one`.
    std::thread::sleep(Duration::from_millis(1100));
    let (code, out) = fake.run_marked(markers.path(), &["run", "one"]);
    assert_eq!(code, 0, "{out}");
    fake.script(json!({}));
    let (code, out) = fake.run_marked(markers.path(), &["status", "--file", "--json"]);
    assert_eq!(code, 0, "{out}");
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        status["issues"][0]["id"], "T",
        "status --file shows the plan's run"
    );
    let (code, out) = fake.run_marked(markers.path(), &["resume", "--file", "--retry", "T"]);
    assert_eq!(code, 0, "{out}");
    let keys = fake.keys();
    assert_eq!(
        keys.iter()
            .filter(|k| k.starts_with("T/"))
            .collect::<Vec<_>>(),
        ["T/01-dev", "T/02-dev", "T/03-review"],
    );
}

#[test]
fn retrying_a_task_whose_command_failed_runs_only_the_commands() {
    let fake = FakeRepo::new(&[], "", json!({}));
    fake.add_plan_text(
        r#"version: 1
project:
  name: one
tasks:
  - id: T
    title: Deployed
    description: A deploy that fails at first.
    commands:
      deploy: "test -f \"$ORCH_TEST_MARKER_DIR/reachable\""
"#,
    );
    let markers = tempfile::tempdir().unwrap();
    let (code, out) = fake.run_marked(markers.path(), &["run", "--file"]);
    assert_eq!(code, 100, "{out}");
    let s = fake.summary_in("one", "T");
    assert_eq!(s["outcome"], "failed");
    assert!(
        s["reason"].as_str().unwrap().contains("command `deploy`"),
        "{s:#}"
    );
    std::fs::write(markers.path().join("reachable"), "").unwrap();
    let (code, out) = fake.run_marked(markers.path(), &["resume", "--retry", "T"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        fake.keys(),
        ["T/01-dev", "T/02-review"],
        "the converged loop ran again"
    );
    let s = fake.summary_in("one", "T");
    assert_eq!(s["outcome"], "completed", "{s:#}");
    assert_eq!(s["commands"][0]["status"], 0);
}

#[test]
fn a_command_cut_short_by_ctrl_c_runs_again_on_resume_and_the_others_do_not() {
    let fake = FakeRepo::new(&[], "", json!({}));
    fake.add_plan_text(
        r#"version: 1
project:
  name: cmds
tasks:
  - id: SHIP
    title: Ship it
    description: Build, then deploy.
    commands:
      build: "echo once >> \"$ORCH_TEST_MARKER_DIR/builds\""
      deploy: "test -f \"$ORCH_TEST_MARKER_DIR/deploying\" || { touch \"$ORCH_TEST_MARKER_DIR/deploying\"; sleep 30; }"
"#,
    );
    let markers = tempfile::tempdir().unwrap();
    let child = start_until_marker(&fake, markers.path(), &["run", "--file"], "deploying");
    assert_eq!(signal(child, libc::SIGINT).code(), Some(130));
    let s = fake.summary_in("cmds", "SHIP");
    assert_eq!(s["outcome"], "interrupted", "{s:#}");
    assert_eq!(s["commands"][1]["status"], serde_json::Value::Null);
    assert!(
        fake.env.root().join("wt/cmds/SHIP").is_dir(),
        "the worktree is kept"
    );

    let (code, out) = fake.run_marked(markers.path(), &["resume"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        std::fs::read_to_string(markers.path().join("builds")).unwrap(),
        "once\n"
    );
    assert_eq!(fake.keys(), ["SHIP/01-dev", "SHIP/02-review"]);
    let s = fake.summary_in("cmds", "SHIP");
    assert_eq!(s["outcome"], "completed", "{s:#}");
    assert_eq!(s["commands"][1]["status"], 0);
    assert!(!fake.env.root().join("wt/cmds/SHIP").exists());
}

#[test]
fn an_approved_command_running_on_resume_shows_as_in_progress() {
    let fake = FakeRepo::new(&[], "", json!({}));
    fake.add_plan_text(
        r#"version: 1
project:
  name: one
tasks:
  - id: T
    title: Deployed
    description: A slow gated deploy.
    commands:
      deploy: "touch \"$ORCH_TEST_MARKER_DIR/deploying\"; sleep 3"
    approvals:
      required: [deploy]
"#,
    );
    let markers = tempfile::tempdir().unwrap();
    let (code, out) = fake.run_marked(markers.path(), &["run", "--file"]);
    assert_eq!(code, 100, "{out}");
    let (code, out) = fake.run_marked(markers.path(), &["approve", "deploy", "--file"]);
    assert_eq!(code, 0, "{out}");
    let mut child = start_until_marker(&fake, markers.path(), &["resume"], "deploying");
    let (code, out) = fake.run_marked(markers.path(), &["status"]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("Awaiting approval"), "{out}");
    let (_, out) = fake.run_marked(markers.path(), &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["issues"][0]["status"], "in_progress", "{status:#}");
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let (_, out) = fake.run_marked(markers.path(), &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["issues"][0]["status"], "completed");
}

#[test]
fn a_resume_keeps_skipping_the_build_of_a_no_build_run() {
    let fake = FakeRepo::new(&[], "", json!({}));
    fake.add_plan_text(
        r#"version: 1
project:
  name: one
tasks:
  - id: T
    title: Deployed
    description: Built, then deployed once approved.
    commands:
      build: "touch \"$ORCH_TEST_MARKER_DIR/built\""
      deploy: "touch \"$ORCH_TEST_MARKER_DIR/deployed\""
    approvals:
      required: [deploy]
"#,
    );
    let markers = tempfile::tempdir().unwrap();
    let (code, out) = fake.run_marked(markers.path(), &["run", "--file", "--no-build"]);
    assert_eq!(code, 100, "{out}");
    let (code, out) = fake.run_marked(markers.path(), &["approve", "deploy", "--file"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = fake.run_marked(markers.path(), &["resume"]);
    assert_eq!(code, 0, "{out}");
    assert!(markers.path().join("deployed").exists(), "{out}");
    assert!(!markers.path().join("built").exists(), "the resume built");
}

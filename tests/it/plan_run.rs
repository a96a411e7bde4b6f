//! Plan mode end to end with the scripted fake agent: a four-task diamond with shards,
//! acceptance checks that route to fix, an approval gate, `--task`, `--dry-run`.

use crate::support;
use serde_json::json;
use support::fake::FakeRepo;

fn work() -> String {
    support::fake::work_json("pass")
}

/// The diamond plan in a repository, DOCS's fix scripted to make its checks pass.
fn diamond() -> (FakeRepo, tempfile::TempDir) {
    // One at a time, so the agent's calls come in one order.
    let fake = FakeRepo::new(
        &[],
        "jobs = 1\n",
        json!({
            "DOCS/03-fix": [{"run": "echo reviewed >> work/DOCS.txt && git commit -qam 'docs: reviewed'"},
                            {"message": work()}],
        }),
    );
    fake.add_plan("diamond");
    let markers = tempfile::tempdir().unwrap();
    (fake, markers)
}

#[test]
fn a_diamond_with_shards_checks_and_an_approval_gate_runs_to_the_end() {
    let (fake, markers) = diamond();
    let deployed = markers.path().join("deployed");

    let (code, out) = fake.run_marked(
        markers.path(),
        &["plan", "validate", "--file", "orchestrator.yml"],
    );
    assert_eq!(code, 0, "{out}");

    // First run: everything converges, but SHIP's deploy waits for an approval.
    let (code, out) = fake.run_marked(markers.path(), &["run", "--file", "orchestrator.yml"]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("awaiting approval deploy"), "{out}");
    assert!(!deployed.exists(), "the gated command ran before approval");
    assert_eq!(
        fake.keys(),
        [
            "SETUP/01-dev",
            "SETUP/02-dev",
            "SETUP/03-review",
            "DOCS/01-dev",
            "DOCS/02-review",
            "DOCS/03-fix",
            "DOCS/04-review",
            "STORE/01-dev",
            "STORE/02-review",
            "SHIP/01-dev",
            "SHIP/02-review",
        ]
    );
    // The handoff: the task's details, checks and shards, the project's language.
    let prompt = std::fs::read_to_string(
        fake.phase_dir_in("diamond", "SETUP", "01-dev")
            .join("prompt.md"),
    )
    .unwrap();
    for want in [
        "- Type: chore",
        "- Language: shell",
        "- File exists: work/SETUP.txt",
        "- SETUP-a: First half  ← this phase",
        "## Repository map",
        "orchestrator.yml",
    ] {
        assert!(prompt.contains(want), "missing {want:?} in:\n{prompt}");
    }
    let setup = fake.summary_in("diamond", "SETUP");
    assert_eq!(setup["outcome"], "completed");
    assert_eq!(setup["phases"][0]["shard"], "SETUP-a");
    assert_eq!(setup["phases"][1]["shard"], "SETUP-b");
    assert_eq!(setup["phases"][0]["acceptance"]["full"], false);
    assert_eq!(setup["phases"][1]["acceptance"]["full"], true);
    assert_eq!(setup["phases"][1]["acceptance"]["passed"], 3);
    let docs = fake.summary_in("diamond", "DOCS");
    assert_eq!(docs["outcome"], "completed");
    assert_eq!(docs["cycles"], 1, "a failed check routed to one fix");
    assert_eq!(
        docs["phases"][0]["acceptance"]["failed"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let ship = fake.summary_in("diamond", "SHIP");
    assert_eq!(ship["outcome"], "blocked");
    assert_eq!(ship["awaiting"], json!(["deploy"]));
    assert_eq!(ship["commands"][0]["name"], "build", "ungated commands ran");
    // SHIP stands on both of its dependencies' work.
    let ship_dev = std::fs::read_to_string(
        fake.phase_dir_in("diamond", "SHIP", "01-dev")
            .join("range.json"),
    )
    .unwrap();
    let ship_base = serde_json::from_str::<serde_json::Value>(&ship_dev).unwrap()["base"]
        .as_str()
        .unwrap()
        .to_owned();
    for file in ["work/DOCS.txt", "work/STORE.txt", "work/SETUP.txt"] {
        fake.env
            .git(&["cat-file", "-e", &format!("{ship_base}:{file}")]);
    }

    // Status and the dashboard say what is waited for.
    let (code, out) = fake.run_marked(markers.path(), &["status", "--file", "orchestrator.yml"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("SHIP: `deploy` — `orch approve deploy --task SHIP`"),
        "{out}"
    );
    let tasks_md = std::fs::read_to_string(fake.env.repo.join("TASKS.md")).unwrap();
    assert!(
        tasks_md.contains("awaiting approval of `deploy`"),
        "{tasks_md}"
    );

    // A resume without the approval still runs nothing gated.
    let (code, out) = fake.run_marked(markers.path(), &["resume", "--file", "orchestrator.yml"]);
    assert_ne!(code, 0, "{out}");
    assert!(!deployed.exists());

    let (code, out) = fake.run_marked(
        markers.path(),
        &[
            "approve",
            "deploy",
            "--task",
            "SHIP",
            "--file",
            "orchestrator.yml",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Approved `deploy` for task SHIP of diamond"),
        "{out}"
    );

    let calls_before = fake.keys().len();
    let (code, out) = fake.run_marked(markers.path(), &["resume"]);
    assert_eq!(code, 0, "{out}");
    assert!(deployed.exists(), "the approved deploy ran");
    assert_eq!(fake.keys().len(), calls_before, "no agent phase ran again");
    let ship = fake.summary_in("diamond", "SHIP");
    assert_eq!(ship["outcome"], "completed");
    let names: Vec<&str> = ship["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["build", "deploy"]);
    assert!(ship["commands"][1]["approved_by"]
        .as_str()
        .unwrap()
        .contains('@'));

    // The event log tells the story in the plan vocabulary, in a stable order.
    insta::assert_snapshot!("diamond_events", fake.event_sequence("diamond").join("\n"));
    // Nothing of orch's own makes the repository unclean for the next run.
    let (code, out) = fake.run_marked(markers.path(), &["verify-clean"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn task_runs_the_task_and_its_dependencies_only() {
    let (fake, markers) = diamond();
    let (code, out) = fake.run_marked(
        markers.path(),
        &["run", "--file", "orchestrator.yml", "--task", "STORE"],
    );
    assert_eq!(code, 0, "{out}");
    let tasks: std::collections::BTreeSet<String> = fake
        .keys()
        .iter()
        .map(|k| k.split('/').next().unwrap().to_owned())
        .collect();
    assert_eq!(tasks, ["SETUP", "STORE"].map(String::from).into());
}

#[test]
fn dry_run_changes_nothing() {
    let (fake, markers) = diamond();
    let snapshot = |fake: &FakeRepo| {
        let repo = &fake.env.repo;
        let mut files: Vec<String> = walkdir(repo);
        files.sort();
        (
            fake.env.git(&["for-each-ref"]),
            fake.env.git(&["worktree", "list", "--porcelain"]),
            fake.env.git(&["status", "--porcelain", "--ignored"]),
            files,
        )
    };
    let before = snapshot(&fake);
    let (code, out) = fake.run_marked(
        markers.path(),
        &[
            "run",
            "--file",
            "orchestrator.yml",
            "--dry-run",
            "--no-build",
        ],
    );
    assert_eq!(code, 0, "{out}");
    for want in [
        "SETUP: worktree",
        "dev per shard (SETUP-a, SETUP-b)",
        "check after each dev/fix: Tests pass: grep -q reviewed work/DOCS.txt",
        "then `build`: test -f work/SHIP.txt (skipped: --no-build)",
        "then `deploy`: touch \"$ORCH_TEST_MARKER_DIR/deployed\" (gated: NOT approved: the task will wait)",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert_eq!(snapshot(&fake), before);
    assert!(fake.calls().is_empty());
}

fn walkdir(root: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let meta = entry.metadata().unwrap();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            if meta.is_dir() {
                stack.push(path);
            }
            out.push(format!("{rel} {}", meta.len()));
        }
    }
    out
}

#[test]
fn every_shard_that_was_developed_is_completed_in_the_event_log() {
    let fake = FakeRepo::new(&[], "", json!({}));
    fake.add_plan_text(
        r#"version: 1
project:
  name: shards
tasks:
  - id: T
    title: Two halves
    description: The first half has no checks of its own.
    shards:
      - id: T-a
        title: First half
      - id: T-b
        title: Second half
        acceptance:
          - "File exists: work/T.txt"
"#,
    );
    let (code, out) = fake.run(&["run", "--file"]);
    assert_eq!(code, 0, "{out}");
    let dir = fake.env.repo.join("logs/orch/shards");
    let mut completed = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        if entry.file_name().to_string_lossy().starts_with("events-") {
            for line in std::fs::read_to_string(entry.path()).unwrap().lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                if v["type"] == "shard_completed" {
                    completed.push((v["shard"].as_str().unwrap().to_owned(), v["passed"].clone()));
                }
            }
        }
    }
    assert_eq!(
        completed,
        [
            ("T-a".to_owned(), json!(true)),
            ("T-b".to_owned(), json!(true))
        ]
    );
}

#[test]
fn a_task_whose_dependencies_conflict_starts_from_the_trunk_and_says_so() {
    let fake = FakeRepo::new(
        &[],
        "",
        json!({
            "L/01-dev": [{"run": "echo left > shared.txt && git add shared.txt && git commit -qm left"},
                         {"message": work()}],
            "R/01-dev": [{"run": "echo right > shared.txt && git add shared.txt && git commit -qm right"},
                         {"message": work()}],
        }),
    );
    fake.add_plan_text(
        "version: 1\nproject: {name: clash}\ntasks:\n  - {id: L, title: Left}\n  - {id: R, title: Right}\n  - {id: T, title: Top, dependencies: [L, R]}\n",
    );
    let trunk = fake.env.git(&["rev-parse", "HEAD"]);
    let (code, out) = fake.run(&["run", "--file"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("note: the work of L, R conflicts when merged; T starts from main"),
        "{out}"
    );
    assert_eq!(fake.summary_in("clash", "T")["base"], trunk.trim());
    let log = std::fs::read_dir(fake.env.repo.join("logs/orch/clash"))
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("events-"))
        .unwrap();
    assert!(std::fs::read_to_string(log.path())
        .unwrap()
        .contains("\"type\":\"base_fallback\""));
}

#[test]
fn a_project_root_is_where_checks_and_commands_run() {
    let fake = FakeRepo::new(
        &[],
        "",
        json!({
            "APP/01-dev": [{"run": "mkdir -p app/src && echo built > app/out.txt && git add app && git commit -qm app"},
                           {"message": work()}],
            "SEC/01-dev": [{"run": "mkdir -p app/secret && echo s > app/secret/key && git add app && git commit -qm key"},
                           {"message": work()}],
        }),
    );
    fake.add_plan_text(
        "version: 1\nproject: {name: mono, root: app}\ntasks:\n  - id: APP\n    title: App\n    paths: [src/]\n    acceptance: [\"File exists: out.txt\", \"Tests pass: grep -q built out.txt\"]\n    commands: {smoke: \"grep -q built out.txt\"}\n  - id: SEC\n    title: Secrets stay\n    constraints: {forbidden_paths: [\"secret/\"]}\n",
    );
    let (code, out) = fake.run(&["run", "--file"]);
    assert_ne!(code, 0, "{out}");
    // The checks and the command found app/out.txt.
    let app = fake.summary_in("mono", "APP");
    assert_eq!(app["outcome"], "completed", "{app:#}");
    assert_eq!(app["phases"][0]["acceptance"]["passed"], 2, "{app:#}");
    assert_eq!(app["commands"][0]["status"], 0, "{app:#}");
    let prompt =
        std::fs::read_to_string(fake.phase_dir_in("mono", "APP", "01-dev").join("prompt.md"))
            .unwrap();
    assert!(prompt.contains("- Project root: `app`"), "{prompt}");
    // The forbidden path is app/secret/.
    let sec = fake.summary_in("mono", "SEC");
    assert_eq!(
        sec["phases"][0]["failure"]["kind"], "guard_violation",
        "{sec:#}"
    );
    assert_eq!(
        sec["phases"][0]["failure"]["changes"][0],
        "app/secret/key (forbidden by `app/secret/`)"
    );
}

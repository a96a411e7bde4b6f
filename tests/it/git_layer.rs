//! The git layer against real repositories, with the `git` CLI as the oracle:
//! verify-clean, the worktree lifecycle, per-phase capture and `orch diff`.

use crate::support;
use orch::git::{QuickStatus, Repo, StatusEntry};
use orch::workspace::capture::{self, PhaseId};
use orch::workspace::worktrees::{self, IssueWorktree, Prepared};
use std::path::{Path, PathBuf};
use support::TestEnv;

/// A repository with one commit on `main` and a worktree root beside it.
fn repo_with_commit() -> (TestEnv, String) {
    let env = TestEnv::new();
    let head = env.commit_file("README.md", "hello\n", "Initial commit");
    env.write(".gitignore", "target/\n");
    env.git(&["add", ".gitignore"]);
    env.git(&["commit", "-q", "-m", "Ignore target"]);
    let head2 = env.git(&["rev-parse", "HEAD"]).trim().to_owned();
    assert_ne!(head, head2);
    (env, head2)
}

fn worktree_root(env: &TestEnv) -> PathBuf {
    env.root().join("wt")
}

fn issue(env: &TestEnv, id: &str) -> IssueWorktree {
    IssueWorktree::new(
        &orch::model::naming::Scope::new(None, "M1"),
        id,
        &format!("Work on {id}"),
        &worktree_root(env),
    )
}

fn kinds(env: &TestEnv) -> (i32, Vec<String>) {
    let out = env
        .orch()
        .args(["verify-clean", "--json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(report["clean"], out.status.code() == Some(0));
    let kinds = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert!(!p["hint"].as_str().unwrap().is_empty());
            p["kind"].as_str().unwrap().to_owned()
        })
        .collect();
    (out.status.code().unwrap(), kinds)
}

fn worktree_list(env: &TestEnv) -> Vec<PathBuf> {
    env.git(&["worktree", "list", "--porcelain"])
        .lines()
        .filter_map(|l| l.strip_prefix("worktree "))
        .map(PathBuf::from)
        .collect()
}

// ---------- verify-clean ----------

#[test]
fn clean_repository_passes() {
    let (env, _) = repo_with_commit();
    env.write("target/build.o", "ignored");
    assert_eq!(kinds(&env), (0, vec![]));
    env.orch()
        .arg("verify-clean")
        .assert()
        .success()
        .stdout(predicates::str::contains("is clean"));
}

#[test]
fn changed_files_are_each_reported() {
    let (env, _) = repo_with_commit();
    env.write("README.md", "changed\n");
    env.write("new.txt", "new\n");
    env.write("staged.txt", "staged\n");
    env.git(&["add", "staged.txt"]);
    let (code, kinds) = kinds(&env);
    assert_eq!(code, 1);
    assert_eq!(sorted(kinds), ["modified", "staged", "untracked"]);
    let out = env.orch().arg("verify-clean").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("modified: modified file: README.md"),
        "{stderr}"
    );
    assert!(stderr.contains("Hint: commit it, stash it"), "{stderr}");
    assert!(stderr.contains("is not clean: 3 problems"), "{stderr}");
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn operations_in_progress_are_reported() {
    let (env, _) = repo_with_commit();
    env.git(&["switch", "-q", "-c", "other"]);
    env.commit_file("README.md", "other\n", "Other side");
    env.git(&["switch", "-q", "main"]);
    env.commit_file("README.md", "main\n", "Main side");
    let merge = env.git_output(&env.repo, &["merge", "-q", "other"]);
    assert!(!merge.status.success());
    let (_, k) = kinds(&env);
    assert!(k.contains(&"operation_in_progress".to_owned()), "{k:?}");
    assert!(k.contains(&"conflicted".to_owned()), "{k:?}");
    env.git(&["merge", "--abort"]);

    let pick = env.git_output(&env.repo, &["cherry-pick", "other"]);
    assert!(!pick.status.success());
    let out = env.orch().arg("verify-clean").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("a cherry-pick is in progress"), "{stderr}");
    assert!(stderr.contains("git cherry-pick --abort"), "{stderr}");
    env.git(&["cherry-pick", "--abort"]);

    env.git(&["bisect", "start"]);
    let (_, k) = kinds(&env);
    assert_eq!(k, ["operation_in_progress"]);
    env.git(&["bisect", "reset"]);
    assert_eq!(kinds(&env), (0, vec![]));
}

#[test]
fn the_base_is_the_branch_checked_out_else_the_trunk() {
    let (env, head) = repo_with_commit();
    // Detached: the trunk is the base.
    env.git(&["switch", "-q", "--detach", &head]);
    assert_eq!(kinds(&env), (0, vec![]));
    // On a feature branch: that branch is the base.
    env.git(&["switch", "-q", "-c", "feature"]);
    assert_eq!(kinds(&env), (0, vec![]));
    // A base named that is not checked out, or that does not exist.
    env.write("orch.toml", "base = \"main\"\n");
    env.write(".git/info/exclude", "orch.toml\n");
    assert_eq!(kinds(&env).1, ["not_on_base"]);
    let out = env.orch().arg("verify-clean").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`--base feature`"), "{stderr}");
    env.write("orch.toml", "base = \"release\"\n");
    assert_eq!(kinds(&env).1, ["missing_base"]);
    // Detached with no trunk to fall back on.
    env.write("orch.toml", "trunk = \"nope\"\n");
    env.git(&["switch", "-q", "--detach", &head]);
    assert_eq!(kinds(&env).1, ["missing_trunk"]);
    env.git(&["branch", "-q", "-m", "main", "old-main"]);
    env.write("orch.toml", "");
    assert_eq!(kinds(&env).1, ["detached_head"]);
}

#[test]
fn empty_repository_has_no_commits() {
    let env = TestEnv::new();
    assert_eq!(kinds(&env).1, ["no_commits"]);
}

#[test]
fn leftover_and_stale_worktrees_are_reported() {
    let (env, head) = repo_with_commit();
    env.write(
        "orch.toml",
        format!("worktree_root = \"{}\"\n", worktree_root(&env).display()),
    );
    env.write(".git/info/exclude", "orch.toml\n");
    let repo = Repo::open(&env.repo).unwrap();
    let a = issue(&env, "A-1");
    let b = issue(&env, "B-2");
    worktrees::prepare(&repo, &a, &head).unwrap();
    worktrees::prepare(&repo, &b, &head).unwrap();
    std::fs::remove_dir_all(&b.path).unwrap();
    assert_eq!(sorted(kinds(&env).1), ["orch_worktree", "stale_worktree"]);
    // A user's own worktree elsewhere is none of orch's business.
    env.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "mine",
        env.root().join("mine").to_str().unwrap(),
    ]);
    assert_eq!(sorted(kinds(&env).1), ["orch_worktree", "stale_worktree"]);
    // `orch worktrees --prune` cleans both up; the user's stays.
    env.orch().args(["worktrees", "--prune"]).assert().success();
    assert_eq!(kinds(&env), (0, vec![]));
    assert_eq!(worktree_list(&env).len(), 2);
}

#[test]
fn locks_are_reported_live_or_stale() {
    let (env, _) = repo_with_commit();
    let host = orch::util::platform::hostname();
    std::fs::create_dir_all(env.repo.join(".git/orch")).unwrap();
    let write_lock = |pid: u32| {
        let lock = serde_json::json!({"pid": pid, "host": host, "started_at": "2026-01-02T03:04:05Z", "command": "orch run M1"});
        std::fs::write(env.repo.join(".git/orch/lock"), lock.to_string()).unwrap();
    };
    // A pid that cannot be running: beyond the kernel's pid_max.
    write_lock(u32::MAX - 1);
    assert_eq!(kinds(&env).1, ["stale_lock"]);
    write_lock(std::process::id());
    assert_eq!(kinds(&env).1, ["run_in_progress"]);
}

#[test]
fn submodule_with_changes_is_reported() {
    let (env, _) = repo_with_commit();
    let sub = env.root().join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    env.git_in(&sub, &["init", "-q", "-b", "main"]);
    env.commit_file_in(&sub, "lib.txt", "v1\n", "sub v1");
    env.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        sub.to_str().unwrap(),
        "vendor/sub",
    ]);
    env.git(&["commit", "-q", "-m", "Add submodule"]);
    assert_eq!(kinds(&env), (0, vec![]));
    std::fs::write(env.repo.join("vendor/sub/lib.txt"), "dirty\n").unwrap();
    assert_eq!(kinds(&env).1, ["submodule_changes"]);
}

#[test]
fn orch_logs_never_make_the_tree_dirty() {
    let (env, _) = repo_with_commit();
    env.write("logs/orch/M1/A-1/01-dev/events.jsonl", "{}\n");
    assert_eq!(kinds(&env), (0, vec![]));
    env.write("logs/other.txt", "user file\n");
    assert_eq!(kinds(&env).1, ["untracked"]);
}

// ---------- verify-clean's quick check against libgit2's full status ----------

/// Ages every working-tree file by an hour (a different second at each call: git compares
/// whole seconds, and only a changed mtime makes its refresh record the new ctime's
/// nanoseconds) and refreshes the index, so no entry is racily clean and the quick check
/// decides from stat data alone.
fn settle(env: &TestEnv) {
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = std::process::Command::new("sh")
        .args([
            "-c",
            &format!(
                "find . -path ./.git -prune -o -exec touch -h -d \"@$(( $(date +%s) - 3600 - {n} ))\" {{}} +"
            ),
        ])
        .current_dir(&env.repo)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    env.git(&["update-index", "-q", "--refresh"]);
}

/// The quick check's verdict, checked against libgit2's full status and `git status`: when it
/// says clean, both must agree; `Repo::status` always equals the full status.
fn quick_vs_full(env: &TestEnv) -> (QuickStatus, Vec<StatusEntry>) {
    let repo = Repo::open(&env.repo).unwrap();
    let quick = repo.quick_status().unwrap();
    let full = repo.full_status().unwrap();
    if matches!(quick, QuickStatus::Clean { .. }) {
        assert_eq!(full, vec![], "quick said clean");
        assert_eq!(env.git(&["status", "--porcelain"]), "", "quick said clean");
    }
    assert_eq!(repo.status().unwrap(), full);
    (quick, full)
}

fn entries(full: &[StatusEntry]) -> Vec<(String, &'static str)> {
    full.iter().map(|e| (e.path.clone(), e.kind)).collect()
}

/// A tree with nested directories, an executable, a symlink, an ignored directory, an empty
/// directory and an untracked directory holding only ignored files.
fn varied_repo() -> TestEnv {
    let (env, _) = repo_with_commit();
    env.write(".gitignore", "target/\n*.log\n");
    env.write("src/a/b/deep.rs", "fn deep() {}\n");
    env.write("src/lib.rs", "pub fn lib() {}\n");
    env.write("src/a-b.rs", "// sorts before src/a/ in index order\n");
    env.write("run.sh", "#!/bin/sh\n");
    env.write("empty.txt", "");
    std::os::unix::fs::symlink("src/lib.rs", env.repo.join("link")).unwrap();
    std::fs::set_permissions(
        env.repo.join("run.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    env.git(&["add", "-A"]);
    env.git(&["commit", "-q", "-m", "Varied tree"]);
    assert!(env.git(&["ls-files", "-s", "run.sh"]).starts_with("100755"));
    env.write("target/debug/out.o", "ignored");
    env.write("scratch/notes.log", "ignored by pattern");
    std::fs::create_dir_all(env.repo.join("empty/inner")).unwrap();
    settle(&env);
    env
}

#[test]
fn quick_check_proves_a_clean_tree_from_stat_data() {
    let env = varied_repo();
    assert_eq!(
        quick_vs_full(&env).0,
        QuickStatus::Clean { content_checked: 0 }
    );
    assert_eq!(kinds(&env), (0, vec![]));
}

#[test]
fn quick_check_reads_every_index_version() {
    let env = varied_repo();
    for version in ["4", "3", "2"] {
        env.git(&["update-index", "--index-version", version]);
        let (quick, _) = quick_vs_full(&env);
        assert_eq!(
            quick,
            QuickStatus::Clean { content_checked: 0 },
            "v{version}"
        );
        // A change is still seen through every format.
        env.write("src/a/b/deep.rs", "fn deeper() {}\n");
        let (quick, full) = quick_vs_full(&env);
        assert!(matches!(quick, QuickStatus::Unsure { .. }), "v{version}");
        assert_eq!(entries(&full), [("src/a/b/deep.rs".to_owned(), "modified")]);
        env.write("src/a/b/deep.rs", "fn deep() {}\n");
        settle(&env);
    }
}

#[test]
fn quick_check_compares_the_index_tree_with_or_without_a_cache_tree() {
    let env = varied_repo();
    // A valid cache-tree recording a newer commit's tree than HEAD's: staged changes.
    env.commit_file("src/lib.rs", "pub fn newer() {}\n", "Newer");
    env.git(&["reset", "-q", "--soft", "HEAD~1"]);
    settle(&env);
    let (quick, full) = quick_vs_full(&env);
    assert!(matches!(quick, QuickStatus::Unsure { .. }), "{quick:?}");
    assert_eq!(entries(&full), [("src/lib.rs".to_owned(), "staged")]);
    // Staged and unstaged again: the cache-tree is invalidated but the index equals HEAD.
    env.git(&["restore", "--staged", "src/lib.rs"]);
    env.git(&["checkout", "--", "src/lib.rs"]);
    settle(&env);
    assert_eq!(
        quick_vs_full(&env).0,
        QuickStatus::Clean { content_checked: 0 }
    );
}

#[test]
fn quick_check_content_checks_racily_clean_entries() {
    // An entry no older than the index is racily clean: git cannot tell from its stat data
    // that it did not change after the index was written. The index is dated back to the
    // oldest file's time, so every entry is racy however slowly the machine wrote them
    // (written within one second they would be anyway; under load the second may turn).
    let (env, _) = repo_with_commit();
    let out = std::process::Command::new("touch")
        .arg("-r")
        .arg(env.repo.join("README.md"))
        .arg(env.repo.join(".git/index"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let (quick, full) = quick_vs_full(&env);
    assert!(
        matches!(quick, QuickStatus::Clean { content_checked } if content_checked > 0),
        "{quick:?}"
    );
    assert_eq!(full, vec![]);
}

#[test]
fn quick_check_defers_every_change_to_the_full_status() {
    type Change = fn(&TestEnv);
    type Case = (&'static str, Change, Vec<(&'static str, &'static str)>);
    let cases: [Case; 10] = [
        // Renames keep every directory's count of names: the stat pass must see them.
        (
            "file renamed",
            |env| {
                std::fs::rename(env.repo.join("src/lib.rs"), env.repo.join("src/lib2.rs")).unwrap()
            },
            vec![("src/lib.rs", "modified"), ("src/lib2.rs", "untracked")],
        ),
        (
            "directory renamed",
            |env| std::fs::rename(env.repo.join("src/a"), env.repo.join("src/z")).unwrap(),
            vec![("src/a/b/deep.rs", "modified"), ("src/z/", "untracked")],
        ),
        (
            "deleted file",
            |env| std::fs::remove_file(env.repo.join("src/lib.rs")).unwrap(),
            vec![("src/lib.rs", "modified")],
        ),
        (
            "file replaced by a directory",
            |env| {
                std::fs::remove_file(env.repo.join("src/lib.rs")).unwrap();
                env.write("src/lib.rs/inner.rs", "x\n");
            },
            vec![("src/lib.rs", "modified"), ("src/lib.rs/", "untracked")],
        ),
        (
            "mode change",
            |env| {
                std::fs::set_permissions(
                    env.repo.join("src/lib.rs"),
                    std::os::unix::fs::PermissionsExt::from_mode(0o755),
                )
                .unwrap()
            },
            vec![("src/lib.rs", "modified")],
        ),
        (
            "untracked file in a tracked directory",
            |env| {
                env.write("src/a/new.rs", "new\n");
            },
            vec![("src/a/new.rs", "untracked")],
        ),
        (
            "untracked file in a new directory",
            |env| {
                env.write("fresh/dir/new.rs", "new\n");
            },
            vec![("fresh/", "untracked")],
        ),
        (
            "intent to add",
            |env| {
                env.write("ita.rs", "later\n");
                env.git(&["add", "-N", "ita.rs"]);
            },
            vec![("ita.rs", "staged")],
        ),
        (
            "staged change",
            |env| {
                env.write("src/lib.rs", "pub fn changed() {}\n");
                env.git(&["add", "src/lib.rs"]);
            },
            vec![("src/lib.rs", "staged")],
        ),
        (
            "tracked directory replaced by a symlink to it",
            |env| {
                std::fs::rename(env.repo.join("src/a"), env.repo.join("moved")).unwrap();
                std::os::unix::fs::symlink("../moved", env.repo.join("src/a")).unwrap();
            },
            vec![
                ("moved/", "untracked"),
                ("src/a", "untracked"),
                ("src/a/b/deep.rs", "modified"),
            ],
        ),
    ];
    for (what, change, expected) in cases {
        let env = varied_repo();
        change(&env);
        let (quick, full) = quick_vs_full(&env);
        assert!(
            matches!(quick, QuickStatus::Unsure { .. }),
            "{what}: {quick:?}"
        );
        let mut got = entries(&full);
        got.sort();
        let expected: Vec<(String, &str)> =
            expected.iter().map(|(p, k)| (p.to_string(), *k)).collect();
        assert_eq!(got, expected, "{what}");
        assert_eq!(kinds(&env).0, 1, "{what}");
    }
}

#[test]
fn quick_check_accepts_what_git_ignores_and_touched_files() {
    let env = varied_repo();
    // Untracked files in ignored places and empty directories do not count.
    env.write("target/release/more.o", "ignored");
    env.write("src/a/debug.log", "ignored by pattern");
    std::fs::create_dir_all(env.repo.join("src/a/empty")).unwrap();
    let (quick, _) = quick_vs_full(&env);
    assert_eq!(quick, QuickStatus::Clean { content_checked: 0 });
    // A file rewritten with the same content has new stat data: the full status decides.
    let content = std::fs::read(env.repo.join("src/lib.rs")).unwrap();
    std::fs::write(env.repo.join("src/lib.rs"), content).unwrap();
    let (quick, full) = quick_vs_full(&env);
    assert!(matches!(quick, QuickStatus::Unsure { .. }), "{quick:?}");
    assert_eq!(full, vec![]);
    assert_eq!(kinds(&env), (0, vec![]));
}

// ---------- worktree lifecycle ----------

#[test]
fn a_worktree_holding_another_branch_is_not_reused() {
    let (env, head) = repo_with_commit();
    let repo = Repo::open(&env.repo).unwrap();
    let ours = issue(&env, "A-1");
    worktrees::prepare(&repo, &ours, &head).unwrap();
    // Work stacked on the issue branch (as `gt create` does) is still ours.
    env.git_in(&ours.path, &["checkout", "-q", "-b", "stacked"]);
    env.commit_file_in(&ours.path, "s.txt", "s\n", "stacked work");
    assert_eq!(
        worktrees::prepare(&repo, &ours, &head).unwrap(),
        Prepared::Reused
    );
    // Same milestone and id, another branch (a plan named like the milestone): refused.
    let theirs = IssueWorktree::new(
        &orch::model::naming::Scope::new(None, "M1"),
        "A-1",
        "Another title",
        &worktree_root(&env),
    );
    assert_eq!(theirs.path, ours.path);
    let err = worktrees::prepare(&repo, &theirs, &head)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("holds branch `stacked`, not the work of branch `orch/M1/A-1-another-title`"),
        "{err}"
    );
}

#[test]
fn create_reuse_remove() {
    let (env, head) = repo_with_commit();
    let repo = Repo::open(&env.repo).unwrap();
    let wt = issue(&env, "LEDGER-2");
    assert_eq!(
        worktrees::prepare(&repo, &wt, &head).unwrap(),
        Prepared::Created
    );
    assert_eq!(wt.branch, "orch/M1/LEDGER-2-work-on-ledger-2");
    assert_eq!(env.git(&["rev-parse", &wt.branch]).trim(), head);
    assert!(worktree_list(&env).contains(&wt.path.canonicalize().unwrap()));
    assert_eq!(
        env.git_in(&wt.path, &["symbolic-ref", "HEAD"]).trim(),
        format!("refs/heads/{}", wt.branch)
    );
    assert_eq!(
        std::fs::read_to_string(wt.path.join("README.md")).unwrap(),
        "hello\n"
    );
    assert!(env.git_in(&wt.path, &["status", "--porcelain"]).is_empty());

    // Resume: the same worktree is reused, commits made in it are kept.
    let c = env.commit_file_in(&wt.path, "src/a.rs", "fn a() {}\n", "Add a");
    assert_eq!(
        worktrees::prepare(&repo, &wt, &head).unwrap(),
        Prepared::Reused
    );
    assert_eq!(env.git(&["rev-parse", &wt.branch]).trim(), c);

    let removed = worktrees::remove(&repo, &wt).unwrap();
    assert!(removed.existed);
    assert_eq!(removed.rescue_ref, None);
    assert!(!wt.path.exists());
    assert_eq!(worktree_list(&env).len(), 1);
    assert_eq!(
        env.git(&["rev-parse", &wt.branch]).trim(),
        c,
        "the branch stays"
    );
    // Removing again is a no-op; preparing again recreates it on the kept branch.
    assert!(!worktrees::remove(&repo, &wt).unwrap().existed);
    assert_eq!(
        worktrees::prepare(&repo, &wt, &head).unwrap(),
        Prepared::Created
    );
    assert_eq!(env.git_in(&wt.path, &["rev-parse", "HEAD"]).trim(), c);
}

#[test]
fn removing_a_dirty_worktree_rescues_everything() {
    let (env, head) = repo_with_commit();
    let repo = Repo::open(&env.repo).unwrap();
    let wt = issue(&env, "A-1");
    worktrees::prepare(&repo, &wt, &head).unwrap();
    let tip = env.commit_file_in(&wt.path, "kept.txt", "committed\n", "Committed work");
    std::fs::write(wt.path.join("README.md"), "modified\n").unwrap();
    std::fs::write(wt.path.join("untracked.txt"), "untracked\n").unwrap();
    std::fs::write(wt.path.join("staged.txt"), "staged\n").unwrap();
    env.git_in(&wt.path, &["add", "staged.txt"]);
    std::fs::remove_file(wt.path.join("kept.txt")).unwrap();
    std::fs::create_dir_all(wt.path.join("target")).unwrap();
    std::fs::write(wt.path.join("target/ignored.o"), "ignored").unwrap();

    let removed = worktrees::remove(&repo, &wt).unwrap();
    let rescue = removed.rescue_ref.expect("rescued");
    assert_eq!(rescue, "refs/orch/rescue/M1/A-1/1");
    assert!(!wt.path.exists());
    assert_eq!(env.git(&["rev-parse", &format!("{rescue}^")]).trim(), tip);
    assert_eq!(
        env.git(&["show", &format!("{rescue}:README.md")]),
        "modified\n"
    );
    assert_eq!(
        env.git(&["show", &format!("{rescue}:untracked.txt")]),
        "untracked\n"
    );
    assert_eq!(
        env.git(&["show", &format!("{rescue}:staged.txt")]),
        "staged\n"
    );
    let files = env.git(&["ls-tree", "-r", "--name-only", &rescue]);
    assert!(
        !files.contains("kept.txt") && !files.contains("ignored.o"),
        "{files}"
    );
    assert_eq!(
        env.git(&["rev-parse", &wt.branch]).trim(),
        tip,
        "the branch is untouched"
    );

    // A second dirty removal gets the next number.
    worktrees::prepare(&repo, &wt, &head).unwrap();
    std::fs::write(wt.path.join("again.txt"), "x").unwrap();
    assert_eq!(
        worktrees::remove(&repo, &wt).unwrap().rescue_ref.as_deref(),
        Some("refs/orch/rescue/M1/A-1/2")
    );
}

#[test]
fn a_foreign_directory_in_the_way_is_refused() {
    let (env, head) = repo_with_commit();
    let repo = Repo::open(&env.repo).unwrap();
    let wt = issue(&env, "A-1");
    std::fs::create_dir_all(&wt.path).unwrap();
    std::fs::write(wt.path.join("precious.txt"), "mine").unwrap();
    let err = worktrees::prepare(&repo, &wt, &head)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("exists but is not a worktree orch registered"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(wt.path.join("precious.txt")).unwrap(),
        "mine"
    );
    assert!(
        env.git_output(&env.repo, &["rev-parse", "--verify", &wt.branch])
            .status
            .code()
            != Some(0)
    );
}

#[test]
fn hostile_ids_stay_contained() {
    let (env, head) = repo_with_commit();
    let repo = Repo::open(&env.repo).unwrap();
    let root = worktree_root(&env);
    for id in ["-rf", "a b", "問題", "x.lock", "@{-1}", "HEAD", "~^:?*["] {
        let wt = IssueWorktree::new(
            &orch::model::naming::Scope::new(None, "M 1"),
            id,
            "../../escape",
            &root,
        );
        worktrees::prepare(&repo, &wt, &head).unwrap();
        let full = format!("refs/heads/{}", wt.branch);
        assert!(full.starts_with("refs/heads/orch/"), "{full}");
        assert_eq!(env.git(&["rev-parse", "--verify", &full]).trim(), head);
        assert!(wt
            .path
            .canonicalize()
            .unwrap()
            .starts_with(root.canonicalize().unwrap()));
        worktrees::remove(&repo, &wt).unwrap();
    }
    let branches = env.git(&["for-each-ref", "--format=%(refname)", "refs/heads"]);
    assert!(
        branches
            .lines()
            .all(|b| b == "refs/heads/main" || b.starts_with("refs/heads/orch/M-1-")),
        "{branches}"
    );
}

// ---------- per-phase capture and orch diff ----------

struct Phase<'a> {
    env: &'a TestEnv,
    wt: &'a IssueWorktree,
    seq: u32,
}

impl Phase<'_> {
    fn run(&self, name: &str, work: impl FnOnce(&Path)) -> capture::PhaseRange {
        let repo = Repo::open(&self.wt.path).unwrap();
        let start = capture::begin(&repo).unwrap();
        work(&self.wt.path);
        let id = PhaseId {
            run_id: "run-1".into(),
            milestone: "M1".into(),
            issue: self.wt.id.clone(),
            seq: self.seq,
            phase: name.into(),
        };
        let dir = self
            .env
            .repo
            .join("logs/orch/M1")
            .join(&self.wt.id)
            .join(id.dir_name());
        capture::finish(&repo, &self.wt.branch, &start, id, &dir, (&[], &[])).unwrap()
    }
}

#[test]
fn phase_ranges_match_git() {
    let (env, head) = repo_with_commit();
    let repo = Repo::open(&env.repo).unwrap();
    let wt = issue(&env, "A-1");
    worktrees::prepare(&repo, &wt, &head).unwrap();

    // Zero commits.
    let review = Phase {
        env: &env,
        wt: &wt,
        seq: 2,
    }
    .run("review", |_| {});
    assert_eq!(review.base, head);
    assert_eq!(review.head, head);
    assert!(
        review.commits.is_empty()
            && review.diffstat.files.is_empty()
            && review.uncommitted.is_none()
    );

    // One commit.
    let dev = Phase {
        env: &env,
        wt: &wt,
        seq: 1,
    }
    .run("dev", |p| {
        env.commit_file_in(p, "src/lib.rs", "pub fn one() {}\n", "Add one");
    });
    assert_eq!(dev.commits.len(), 1);
    assert_eq!(dev.commits[0].summary, "Add one");
    assert_eq!(dev.pinned_ref, "refs/orch/runs/run-1/A-1/01-dev");
    assert_eq!(env.git(&["rev-parse", &dev.pinned_ref]).trim(), dev.head);

    // Many commits, a deletion, and leftovers the agent did not commit.
    let fix = Phase {
        env: &env,
        wt: &wt,
        seq: 3,
    }
    .run("fix", |p| {
        env.commit_file_in(
            p,
            "src/lib.rs",
            "pub fn one() {}\npub fn two() {}\n",
            "Add two",
        );
        env.commit_file_in(p, "docs/notes.md", "notes\n", "Add notes");
        env.git_in(p, &["rm", "-q", "README.md"]);
        env.git_in(p, &["commit", "-q", "-m", "Drop README"]);
        std::fs::write(p.join("scratch.txt"), "left behind\n").unwrap();
    });
    let oracle: Vec<String> = env
        .git(&[
            "log",
            "--reverse",
            "--format=%H",
            &format!("{}..{}", fix.base, fix.head),
        ])
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(
        fix.commits
            .iter()
            .map(|c| c.oid.clone())
            .collect::<Vec<_>>(),
        oracle
    );
    let numstat = env.git(&["diff", "--numstat", &fix.base, &fix.head]);
    let mut ours: Vec<String> = fix
        .diffstat
        .files
        .iter()
        .map(|f| format!("{}\t{}\t{}", f.additions, f.deletions, f.path))
        .collect();
    let mut theirs: Vec<String> = numstat.lines().map(String::from).collect();
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs);
    let uncommitted = fix.uncommitted.as_ref().expect("leftovers recorded");
    assert_eq!(uncommitted.files[0].path, "scratch.txt");
    let patch_path = env.repo.join("logs/orch/M1/A-1/03-fix/uncommitted.patch");
    assert!(std::fs::read_to_string(patch_path)
        .unwrap()
        .contains("+left behind"));
    assert!(
        env.git_in(&wt.path, &["status", "--porcelain"])
            .contains("?? scratch.txt"),
        "orch never commits leftovers"
    );
    let saved: capture::PhaseRange = serde_json::from_str(
        &std::fs::read_to_string(env.repo.join("logs/orch/M1/A-1/03-fix/range.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(saved, fix);
}

#[test]
fn stacked_branches_are_recorded() {
    let (env, head) = repo_with_commit();
    let repo = Repo::open(&env.repo).unwrap();
    let wt = issue(&env, "A-1");
    worktrees::prepare(&repo, &wt, &head).unwrap();
    let range = Phase {
        env: &env,
        wt: &wt,
        seq: 1,
    }
    .run("dev", |p| {
        env.commit_file_in(p, "a.txt", "a\n", "On the issue branch");
        // What `gt create` does: a new branch on top, checked out in the same worktree.
        env.git_in(p, &["switch", "-q", "-c", "stacked-part-2"]);
        env.commit_file_in(p, "b.txt", "b\n", "On the stacked branch");
    });
    assert_eq!(range.branch_before.as_deref(), Some(wt.branch.as_str()));
    assert_eq!(range.branch_after.as_deref(), Some("stacked-part-2"));
    assert_eq!(range.commits.len(), 2);
    let names: Vec<(&str, bool)> = range
        .stack
        .iter()
        .map(|b| (b.name.as_str(), b.created))
        .collect();
    assert_eq!(
        names,
        [(wt.branch.as_str(), false), ("stacked-part-2", true)]
    );
    let changed: Vec<&str> = range.refs_changed.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        changed,
        [
            format!("refs/heads/{}", wt.branch).as_str(),
            "refs/heads/stacked-part-2"
        ]
    );
}

#[test]
fn diff_survives_worktree_removal_and_branch_deletion() {
    let (env, head) = repo_with_commit();
    let repo = Repo::open(&env.repo).unwrap();
    let wt = issue(&env, "A-1");
    worktrees::prepare(&repo, &wt, &head).unwrap();
    let dev = Phase {
        env: &env,
        wt: &wt,
        seq: 1,
    }
    .run("dev", |p| {
        env.commit_file_in(p, "src/lib.rs", "pub fn dev() {}\n", "Dev work");
    });
    Phase {
        env: &env,
        wt: &wt,
        seq: 2,
    }
    .run("review", |_| {});
    std::fs::write(
        env.repo.join("logs/orch/M1/A-1/02-review/result.json"),
        r#"{"status":"changes_required"}"#,
    )
    .unwrap();
    let fix = Phase {
        env: &env,
        wt: &wt,
        seq: 3,
    }
    .run("fix", |p| {
        env.commit_file_in(
            p,
            "src/lib.rs",
            "pub fn dev() {}\npub fn fixed() {}\n",
            "Fix review findings",
        );
    });
    worktrees::remove(&repo, &wt).unwrap();
    env.git(&["branch", "-D", &wt.branch]);
    env.git(&["gc", "-q", "--prune=now"]);

    let out = env.orch().args(["diff", "A-1"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!(
            "── 01-dev {}..{} · 1 commit",
            &dev.base[..10],
            &dev.head[..10]
        )),
        "{text}"
    );
    assert!(
        text.contains("── 02-review") && text.contains("0 commits · status: changes_required"),
        "{text}"
    );
    assert!(
        text.contains("+pub fn dev() {}") && text.contains("+pub fn fixed() {}"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "plain when piped");
    // The oracle: git's own diff of the pinned range has the same changed lines.
    let git_patch = env.git(&["diff", &fix.base, &fix.head]);
    let changed = |p: &str| -> Vec<String> {
        p.lines()
            .filter(|l| l.starts_with(['+', '-']) && !l.starts_with("+++") && !l.starts_with("---"))
            .map(String::from)
            .collect()
    };
    let only_fix = env
        .orch()
        .args(["diff", "A-1", "--phase", "fix"])
        .output()
        .unwrap();
    assert_eq!(
        changed(&String::from_utf8_lossy(&only_fix.stdout)),
        changed(&git_patch)
    );

    env.orch()
        .args(["diff", "A-1", "--phase", "1", "--stat"])
        .assert()
        .success()
        .stdout(predicates::str::contains(" src/lib.rs | +1 -0"))
        .stdout(predicates::str::contains(
            "1 file changed, 1 insertions(+), 0 deletions(-)",
        ));
    env.orch()
        .args(["diff", "A-1", "--name-only", "--phase", "03-fix"])
        .assert()
        .success()
        .stdout(predicates::str::contains("src/lib.rs"));
    let json = env.orch().args(["diff", "A-1", "--json"]).output().unwrap();
    let phases: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(phases.as_array().unwrap().len(), 3);
    assert_eq!(phases[0]["phase"], "dev");
    assert!(phases[2]["patch"]
        .as_str()
        .unwrap()
        .contains("+pub fn fixed() {}"));
    let coloured = env
        .orch()
        .args(["diff", "A-1", "--color", "always"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&coloured.stdout).contains("\x1b[32m+pub fn dev() {}"));
    env.orch()
        .args(["diff", "NOPE-1"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "no recorded phases for issue `NOPE-1`",
        ));
}

// ---------- worktree checkout fidelity ----------

/// A worktree orch makes is the one `git worktree add` makes: same index, same files, modes and
/// symlinks, real stat data in the index (nothing re-hashed, nothing falsely clean), a clean
/// status; removing it leaves nothing registered. A checkout that converts content (here
/// `eol=crlf`) goes through libgit2 and matches git too.
#[test]
fn orch_worktree_matches_git_worktree_add() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    /// Every path under `root` but `.git`: type, permissions and contents or link target.
    fn files(root: &Path) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut dirs = vec![root.to_owned()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                if rel == ".git" {
                    continue;
                }
                let md = std::fs::symlink_metadata(&path).unwrap();
                let what = if md.file_type().is_symlink() {
                    format!("-> {}", std::fs::read_link(&path).unwrap().display())
                } else if md.is_dir() {
                    dirs.push(path.clone());
                    "dir".to_owned()
                } else {
                    String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned()
                };
                out.push((rel, format!("{:o} {what}", md.permissions().mode())));
            }
        }
        out.sort();
        out
    }

    let (env, _) = repo_with_commit();
    env.commit_file("gone.txt", "first life\n", "Add gone.txt");
    env.git(&["rm", "-q", "gone.txt"]);
    env.git(&["commit", "-q", "-m", "Delete gone.txt"]);
    env.write("gone.txt", "second life\n");
    env.write("a/b/c/deep.txt", "deep\n");
    env.write("a/b/sibling.rs", "fn main() {}\n");
    // Sorts between `a/b` and `a/b/…` in the index, after them in the tree.
    env.write("a/b-c.txt", "order\n");
    let script = env.write("bin/run.sh", "#!/bin/sh\necho run\n");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("README.md", env.repo.join("readme-link")).unwrap();
    std::os::unix::fs::symlink("a/b", env.repo.join("dir-link")).unwrap();
    std::os::unix::fs::symlink("does/not/exist", env.repo.join("dangling")).unwrap();
    env.write("empty.txt", "");
    env.write("spaced name/ünïcödé.txt", "names\n");
    env.write(".gitattributes", "*.png binary\n");
    env.write(
        ".gitmodules",
        "[submodule \"vendor/sub\"]\n\tpath = vendor/sub\n\turl = https://example.invalid/sub.git\n",
    );
    std::fs::create_dir_all(env.repo.join("vendor/sub")).unwrap();
    env.git(&["add", "-A"]);
    // A submodule (gitlink) entry: recorded in the index, never checked out.
    let first = env.git(&["rev-parse", "HEAD"]).trim().to_owned();
    env.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{first},vendor/sub"),
    ]);
    env.git(&[
        "commit",
        "-q",
        "-m",
        "Recreate gone.txt; modes, links, a gitlink",
    ]);
    let head = env.git(&["rev-parse", "HEAD"]).trim().to_owned();
    let main_index = env.git(&["ls-files", "-s"]);
    for mode in ["100755 ", "120000 ", "160000 "] {
        assert!(main_index.contains(mode), "{main_index}");
    }

    let repo = Repo::open(&env.repo).unwrap();
    let wt = issue(&env, "FID-1");
    assert_eq!(
        worktrees::prepare(&repo, &wt, &head).unwrap(),
        Prepared::Created
    );
    // Before any git command can refresh it: the index carries each file's real stat data.
    let debug = env.git_in(
        &wt.path,
        &["-c", "core.quotepath=false", "ls-files", "--debug"],
    );
    let mut checked = 0;
    for record in debug.split('\n').collect::<Vec<_>>().chunks(6) {
        let [name, _ctime, mtime, dev_ino, uid_gid, size_flags] = record else {
            continue;
        };
        let field = |line: &str, key: &str| -> u64 {
            let after = line.split(key).nth(1).unwrap().trim_start();
            let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().unwrap()
        };
        let md = std::fs::symlink_metadata(wt.path.join(name)).unwrap();
        if md.is_dir() {
            continue; // the gitlink
        }
        assert_eq!(field(mtime, "mtime:"), md.mtime() as u64, "{name}");
        assert_eq!(field(dev_ino, "ino:"), md.ino() & 0xffff_ffff, "{name}");
        assert_eq!(field(uid_gid, "uid:"), u64::from(md.uid()), "{name}");
        assert_eq!(field(size_flags, "size:"), md.len(), "{name}");
        checked += 1;
    }
    assert_eq!(checked, main_index.lines().count() - 1, "{debug}");

    let theirs = env.root().join("git-made");
    let theirs_arg = theirs.to_str().unwrap();
    env.git(&["worktree", "add", "-q", "-b", "git-made", theirs_arg, &head]);
    for dir in [&wt.path, &theirs] {
        let status = env.git_in(dir, &["status", "--porcelain", "--untracked-files=all"]);
        assert_eq!(status, "", "{}", dir.display());
        assert_eq!(env.git_in(dir, &["diff"]), "");
        assert_eq!(env.git_in(dir, &["diff", "--cached"]), "");
        assert_eq!(env.git_in(dir, &["ls-files", "-s"]), main_index);
    }
    assert_eq!(files(&wt.path), files(&theirs));
    assert!(files(&wt.path).contains(&("vendor/sub".to_owned(), "40755 dir".to_owned())));
    let admin = env.repo.join(".git/worktrees").join(wt.admin_name());
    let canonical = wt.path.canonicalize().unwrap();
    assert_eq!(
        PathBuf::from(
            env.git_in(&wt.path, &["rev-parse", "--absolute-git-dir"])
                .trim()
        ),
        admin.canonicalize().unwrap()
    );
    let list = env.git(&["worktree", "list", "--porcelain"]);
    let entry = format!(
        "worktree {}\nHEAD {head}\nbranch refs/heads/{}\n",
        canonical.display(),
        wt.branch
    );
    assert!(list.contains(&entry), "{list}");
    assert!(!admin.join("locked").exists());

    // Deleted and written back unchanged: clean. Same size, other content: modified.
    std::fs::remove_file(wt.path.join("gone.txt")).unwrap();
    std::fs::write(wt.path.join("gone.txt"), "second life\n").unwrap();
    assert_eq!(env.git_in(&wt.path, &["status", "--porcelain"]), "");
    std::fs::remove_file(wt.path.join("a/b/c/deep.txt")).unwrap();
    std::fs::write(wt.path.join("a/b/c/deep.txt"), "DEEP\n").unwrap();
    assert_eq!(
        env.git_in(&wt.path, &["status", "--porcelain"]),
        " M a/b/c/deep.txt\n"
    );

    let removed = worktrees::remove(&repo, &wt).unwrap();
    let rescue = removed.rescue_ref.expect("the modification is rescued");
    assert_eq!(
        env.git(&["show", &format!("{rescue}:a/b/c/deep.txt")]),
        "DEEP\n"
    );
    assert!(!wt.path.exists() && !admin.exists());
    let list = env.git(&["worktree", "list", "--porcelain"]);
    assert!(!list.contains(&wt.branch), "{list}");
    assert_eq!(
        env.git(&["worktree", "prune", "--dry-run", "--verbose"]),
        ""
    );

    // Converting checkouts are left to libgit2, and still match git.
    env.write(".gitattributes", "*.txt eol=crlf\n");
    env.git(&["add", ".gitattributes"]);
    env.git(&["commit", "-q", "-m", "CRLF for text"]);
    let head = env.git(&["rev-parse", "HEAD"]).trim().to_owned();
    let crlf = issue(&env, "FID-2");
    worktrees::prepare(&repo, &crlf, &head).unwrap();
    let theirs = env.root().join("git-made-crlf");
    let theirs_arg = theirs.to_str().unwrap();
    env.git(&["worktree", "add", "-q", "-b", "git-crlf", theirs_arg, &head]);
    assert_eq!(
        std::fs::read(crlf.path.join("gone.txt")).unwrap(),
        b"second life\r\n"
    );
    assert_eq!(files(&crlf.path), files(&theirs));
    assert_eq!(env.git_in(&crlf.path, &["status", "--porcelain"]), "");
    worktrees::remove(&repo, &crlf).unwrap();
}

#[test]
fn a_creation_cut_off_by_a_crash_is_rebuilt_and_other_locks_are_respected() {
    let (env, head) = repo_with_commit();
    let repo = Repo::open(&env.repo).unwrap();
    let wt = issue(&env, "A-1");
    worktrees::prepare(&repo, &wt, &head).unwrap();
    // What a crash mid-creation leaves: the registration locked "initializing", files half written.
    let admin = env.repo.join(".git/worktrees").join(wt.admin_name());
    std::fs::write(admin.join("locked"), "initializing\n").unwrap();
    std::fs::remove_file(wt.path.join("README.md")).unwrap();
    assert_eq!(
        worktrees::prepare(&repo, &wt, &head).unwrap(),
        Prepared::Created
    );
    assert!(!admin.join("locked").exists());
    assert_eq!(
        std::fs::read_to_string(wt.path.join("README.md")).unwrap(),
        "hello\n"
    );
    assert!(env.git_in(&wt.path, &["status", "--porcelain"]).is_empty());
    // A lock somebody set on purpose is never overridden.
    std::fs::write(admin.join("locked"), "on a USB disk\n").unwrap();
    let err = worktrees::prepare(&repo, &wt, &head)
        .unwrap_err()
        .to_string();
    assert!(err.contains("is locked (on a USB disk)"), "{err}");
}

#[test]
fn merge_tips_makes_one_merge_only_when_the_tips_diverge() {
    let (env, base) = repo_with_commit();
    env.git(&["checkout", "-q", "-b", "a"]);
    let a = env.commit_file("a.txt", "a\n", "a");
    env.git(&["checkout", "-q", "-b", "b", &base]);
    let b = env.commit_file("b.txt", "b\n", "b");
    env.git(&["checkout", "-q", "-b", "a2", &a]);
    let a2 = env.commit_file("a2.txt", "a2\n", "a2");
    env.git(&["checkout", "-q", "main"]);
    let repo = Repo::open(&env.repo).unwrap();
    let tips = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    // The same tip twice, or a tip and its ancestor: nothing to merge.
    assert_eq!(
        repo.merge_tips(&tips(&[&a, &a]), "m").unwrap().as_deref(),
        Some(a.as_str())
    );
    assert_eq!(
        repo.merge_tips(&tips(&[&a, &a2]), "m").unwrap().as_deref(),
        Some(a2.as_str())
    );
    // Diverging tips: one merge with both as parents, the same commit every time.
    let m = repo
        .merge_tips(&tips(&[&a2, &b, &a]), "m")
        .unwrap()
        .unwrap();
    let parents = env.git(&["rev-list", "--parents", "-n1", &m]);
    assert_eq!(
        parents.split_whitespace().skip(1).collect::<Vec<_>>(),
        [&a2, &b]
    );
    for f in ["a.txt", "a2.txt", "b.txt"] {
        env.git(&["cat-file", "-e", &format!("{m}:{f}")]);
    }
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(
        repo.merge_tips(&tips(&[&a2, &b, &a]), "m").unwrap(),
        Some(m)
    );
}

// ---------- ref writes while another writer holds the lock ----------

#[test]
fn a_ref_write_waits_for_a_lock_another_writer_releases() {
    let (env, head) = repo_with_commit();
    let repo = Repo::open(&env.repo).unwrap();
    // Another writer (another issue's phase, a user's git) holds the ref's lock for a while.
    let lock = env.repo.join(".git/refs/orch/pins/x.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    std::fs::write(&lock, "").unwrap();
    let release = {
        let lock = lock.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(100));
            std::fs::remove_file(lock).unwrap();
        })
    };
    repo.set_ref("refs/orch/pins/x", &head, "pin").unwrap();
    release.join().unwrap();
    assert_eq!(
        env.git(&["rev-parse", "refs/orch/pins/x"]).trim(),
        head.as_str()
    );
    // A packed ref deleted under a held packed-refs lock, alike.
    env.git(&["pack-refs", "--all"]);
    let repo = Repo::open(&env.repo).unwrap();
    let packed = env.repo.join(".git/packed-refs.lock");
    std::fs::write(&packed, "").unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(100));
        std::fs::remove_file(packed).unwrap();
    });
    repo.delete_ref("refs/orch/pins/x").unwrap();
    release.join().unwrap();
    assert!(repo.ref_target("refs/orch/pins/x").unwrap().is_none());
}

#[test]
fn a_lock_that_stays_held_is_a_user_error_naming_it() {
    let (env, head) = repo_with_commit();
    let repo = Repo::open(&env.repo).unwrap();
    let lock = env.repo.join(".git/refs/heads/held.lock");
    std::fs::write(&lock, "").unwrap();
    let err = repo.create_branch("held", &head).unwrap_err();
    assert!(!err.is_internal(), "{err:?}");
    let text = format!("{err} {:?}", std::error::Error::source(&err));
    assert!(text.contains("held.lock"), "{text}");
    assert!(!repo.branch_exists("held"));
    // A packed ref whose deletion cannot take: an error, not a silent no-op.
    repo.set_ref("refs/orch/pins/y", &head, "pin").unwrap();
    env.git(&["pack-refs", "--all"]);
    let repo = Repo::open(&env.repo).unwrap();
    std::fs::write(env.repo.join(".git/packed-refs.lock"), "").unwrap();
    let err = repo.delete_ref("refs/orch/pins/y").unwrap_err();
    let text = format!("{err} {:?}", std::error::Error::source(&err));
    assert!(text.contains("packed-refs.lock"), "{text}");
    assert!(!err.is_internal(), "{err:?}");
}

#[test]
fn a_branch_replayed_onto_its_parents_new_head_keeps_its_commits_and_refuses_a_conflict() {
    let env = TestEnv::new();
    env.write("ledger.rs", "fn a() {}\n");
    env.git(&["add", "."]);
    env.git(&["commit", "-q", "-m", "base"]);
    env.git(&["checkout", "-q", "-b", "parent"]);
    env.write("ledger.rs", "fn a() { 1 }\n");
    env.git(&["commit", "-qam", "[A-1] feat: a"]);
    let old = env.git(&["rev-parse", "HEAD"]).trim().to_owned();
    env.git(&["checkout", "-q", "-b", "child"]);
    env.write("child.rs", "one\n");
    env.git(&["add", "."]);
    env.git(&[
        "commit",
        "-q",
        "-m",
        "[A-2] feat: one",
        "--author",
        "Ana <ana@example.com>",
    ]);
    env.write("child.rs", "one\ntwo\n");
    env.git(&["commit", "-qam", "[A-2] feat: two"]);
    let tip = env.git(&["rev-parse", "HEAD"]).trim().to_owned();
    // The parent is fixed: one more commit on it.
    env.git(&["checkout", "-q", "parent"]);
    env.write("fix.rs", "fixed\n");
    env.git(&["add", "."]);
    env.git(&["commit", "-q", "-m", "[A-1] fix: b"]);
    let new = env.git(&["rev-parse", "HEAD"]).trim().to_owned();

    let repo = Repo::open(&env.repo).unwrap();
    let replayed = repo.replay(&old, &tip, &new).unwrap().expect("no conflict");
    let log = env.git(&["log", "--format=%s|%an", &format!("{new}..{replayed}")]);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(lines[0].starts_with("[A-2] feat: two|"), "{log}");
    assert_eq!(lines[1], "[A-2] feat: one|Ana", "the author is kept");
    let files = env.git(&["ls-tree", "--name-only", &replayed]);
    assert!(
        files.contains("fix.rs") && files.contains("child.rs"),
        "{files}"
    );
    assert_eq!(
        env.git(&["show", &format!("{replayed}:child.rs")]),
        "one\ntwo\n"
    );
    // Nothing moved: the child branch is where it was.
    assert_eq!(env.git(&["rev-parse", "child"]).trim(), tip);

    // A parent fix that touches what the child changed conflicts: nothing is replayed.
    env.git(&["checkout", "-q", "parent"]);
    env.write("child.rs", "theirs\n");
    env.git(&["add", "."]);
    env.git(&["commit", "-q", "-m", "[A-1] fix: c"]);
    let clash = env.git(&["rev-parse", "HEAD"]).trim().to_owned();
    assert_eq!(repo.replay(&old, &tip, &clash).unwrap(), None);
}

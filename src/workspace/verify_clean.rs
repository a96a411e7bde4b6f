//! `verify-clean`: is the repository in a state a run may start from? Every problem is
//! reported at once, each with a hint for fixing it.

use crate::git::{GitError, Repo};
use crate::input::config::Config;
use crate::workspace::lock::{self, LockState};
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CleanProblem {
    /// Stable machine-readable kind, e.g. `modified`, `operation_in_progress`.
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub message: String,
    pub hint: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CleanReport {
    pub clean: bool,
    pub problems: Vec<CleanProblem>,
}

fn problem(
    kind: &'static str,
    path: Option<String>,
    message: String,
    hint: impl Into<String>,
) -> CleanProblem {
    CleanProblem {
        kind,
        path,
        message,
        hint: hint.into(),
    }
}

/// The branch a run's issue branches start from: the base (`base` in orch.toml, `--base`)
/// when there is one, else the trunk.
pub fn start_branch(repo: &Repo, config: &Config) -> Option<String> {
    config.base.clone().or_else(|| trunk(repo, config))
}

/// Where a run's issues start when nothing of the run comes before them: HEAD's commit, and
/// the branch they stack on — [`start_branch`], else the branch HEAD is on, else `main`. The
/// run and its dry run both ask here.
pub fn run_start(repo: &Repo, config: &Config) -> Result<(String, String), GitError> {
    let base = repo.resolve_commit("HEAD")?;
    let branch = match start_branch(repo, config) {
        Some(b) => b,
        None => repo.head()?.branch.unwrap_or_else(|| "main".to_owned()),
    };
    Ok((base, branch))
}

/// The trunk branch: `trunk` from config, else `main`, else `master` (if they exist).
pub fn trunk(repo: &Repo, config: &Config) -> Option<String> {
    if let Some(t) = &config.trunk {
        return Some(t.clone());
    }
    ["main", "master"]
        .into_iter()
        .find(|b| repo.branch_exists(b))
        .map(str::to_owned)
}

pub fn verify_clean(repo: &Repo, config: &Config) -> Result<CleanReport, GitError> {
    let mut problems = Vec::new();
    let root = repo.main_root();
    let logs = config.orch_logs(&root);
    let logs_rel = logs
        .strip_prefix(&root)
        .ok()
        .map(|p| p.to_string_lossy().replace('\\', "/"));

    let rel = |p: &Path| {
        p.strip_prefix(&root)
            .ok()
            .map(|r| r.to_string_lossy().replace('\\', "/"))
    };
    // The dashboard and the temp file a crash may leave beside it.
    let dashboard_rel: Vec<String> = config
        .dashboard_path(&root)
        .map(|p| vec![rel(&p), rel(&crate::util::fsutil::hidden_temp(&p))])
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect();
    let started = std::time::Instant::now();
    let status = repo.status()?;
    tracing::debug!(elapsed = ?started.elapsed(), "verify-clean: working tree status");
    let started = std::time::Instant::now();
    for entry in status {
        if logs_rel
            .as_deref()
            .is_some_and(|l| is_orch_output(&root, &entry.path, l))
        {
            continue;
        }
        // The TASKS.md dashboard is orch's output too.
        if dashboard_rel.contains(&entry.path) {
            continue;
        }
        let (message, hint) = match entry.kind {
            "staged" => (
                "staged change",
                "commit it or unstage it (`git restore --staged <path>`)",
            ),
            "modified" => (
                "modified file",
                "commit it, stash it (`git stash`), or discard it (`git restore <path>`)",
            ),
            "untracked" => (
                "untracked file",
                "commit it, delete it, or add it to .gitignore",
            ),
            "conflicted" => ("unresolved conflict", "resolve the conflict and commit"),
            _ => (
                "submodule has changes",
                "commit or discard the changes inside the submodule, then update its pointer",
            ),
        };
        let kind = if entry.kind == "submodule" {
            "submodule_changes"
        } else {
            entry.kind
        };
        problems.push(problem(
            kind,
            Some(entry.path.clone()),
            format!("{message}: {}", entry.path),
            hint,
        ));
    }

    if let Some(op) = repo.in_progress() {
        let name = op.name();
        let hint = match op {
            crate::git::InProgress::Bisect => "finish it with `git bisect reset`".to_owned(),
            crate::git::InProgress::Merge => {
                "finish it (`git commit`) or abort it (`git merge --abort`)".to_owned()
            }
            _ => format!("finish it (`git {name} --continue`) or abort it (`git {name} --abort`)"),
        };
        problems.push(problem(
            "operation_in_progress",
            None,
            format!("a {name} is in progress"),
            hint,
        ));
    }

    let head = repo.head()?;
    let trunk = start_branch(repo, config);
    // What the branch runs start from is called: the base, or the trunk.
    let (what, key) = match &config.base {
        Some(_) => ("base", "base"),
        None => ("trunk", "trunk"),
    };
    if head.oid.is_none() {
        problems.push(problem(
            "no_commits",
            None,
            "the repository has no commits yet".into(),
            "commit something first: issue branches start from the trunk's commit",
        ));
    } else if head.detached {
        problems.push(problem(
            "detached_head",
            None,
            format!(
                "HEAD is detached at {}",
                &head.oid.as_deref().unwrap_or_default()
                    [..12.min(head.oid.as_deref().unwrap_or_default().len())]
            ),
            format!(
                "check out the {what}: `git switch {}`",
                trunk.as_deref().unwrap_or("main")
            ),
        ));
    } else if let (Some(trunk), Some(branch)) = (&trunk, &head.branch) {
        if trunk != branch {
            problems.push(problem(
                if config.base.is_some() {
                    "not_on_base"
                } else {
                    "not_on_trunk"
                },
                None,
                format!("HEAD is on `{branch}`, not on the {what} `{trunk}`"),
                if config.base.is_some() {
                    format!(
                        "`git switch {trunk}`, or name `{branch}` as the base (`--base {branch}`)"
                    )
                } else {
                    format!("`git switch {trunk}`, or set `{key} = \"{branch}\"` in orch.toml")
                },
            ));
        }
    }
    if let Some(trunk) = &trunk {
        if !repo.branch_exists(trunk) {
            problems.push(problem(
                if config.base.is_some() {
                    "missing_base"
                } else {
                    "missing_trunk"
                },
                None,
                format!("the {what} branch `{trunk}` does not exist"),
                format!("create it, or fix `{key}` (in orch.toml, or --base)"),
            ));
        }
    }

    let worktree_root = config.worktree_root(&root);
    let worktree_root = worktree_root.canonicalize().unwrap_or(worktree_root);
    for wt in repo.worktrees()? {
        let path = wt.path.display().to_string();
        if wt.stale {
            problems.push(problem(
                "stale_worktree",
                Some(path.clone()),
                format!("worktree `{}` is registered but {path} is gone", wt.name),
                "`orch worktrees --prune` (or `git worktree prune`) forgets it",
            ));
        } else if is_orch_worktree(&wt, &worktree_root) {
            problems.push(problem(
                "orch_worktree",
                Some(path.clone()),
                format!(
                    "orch worktree left from an earlier run: {path} (branch {})",
                    wt.branch.as_deref().unwrap_or("detached")
                ),
                "`orch worktrees --prune` removes it, first saving uncommitted work under refs/orch/rescue/",
            ));
        }
    }

    tracing::debug!(
        elapsed = ?started.elapsed(),
        "verify-clean: operations, HEAD, trunk and worktrees"
    );
    match lock::inspect(&repo.common_dir()) {
        LockState::Free => {}
        // The caller's own lock (a run checking before it starts) is not a problem.
        LockState::Held(info)
            if info.pid == std::process::id() && info.host == crate::util::process::hostname() => {}
        LockState::Held(info) => problems.push(problem(
            "run_in_progress",
            Some(lock::lock_path(&repo.common_dir()).display().to_string()),
            format!(
                "an orch run holds the lock: pid {} on {} since {}",
                info.pid, info.host, info.started_at
            ),
            "wait for it to finish, or stop it",
        )),
        LockState::Stale(info) => problems.push(problem(
            "stale_lock",
            Some(lock::lock_path(&repo.common_dir()).display().to_string()),
            format!(
                "orch lock left by a dead process: pid {} on {} since {}",
                info.pid, info.host, info.started_at
            ),
            format!(
                "no orch process holds it any more; delete {}",
                lock::lock_path(&repo.common_dir()).display()
            ),
        )),
        LockState::Unreadable(why) => problems.push(problem(
            "stale_lock",
            Some(lock::lock_path(&repo.common_dir()).display().to_string()),
            format!("orch lock file cannot be read: {why}"),
            format!(
                "make sure no orch is running, then delete {}",
                lock::lock_path(&repo.common_dir()).display()
            ),
        )),
    }

    Ok(CleanReport {
        clean: problems.is_empty(),
        problems,
    })
}

/// A worktree orch made: under the worktree root, on an `orch/` branch, or named `orch-…`.
pub fn is_orch_worktree(wt: &crate::git::WorktreeEntry, worktree_root: &Path) -> bool {
    wt.path.starts_with(worktree_root)
        || wt.name.starts_with("orch-")
        || wt.branch.as_deref().is_some_and(|b| b.starts_with("orch/"))
}

/// orch's own outputs (under `<logs>/orch/`) never make the tree dirty.
fn is_orch_output(root: &Path, status_path: &str, logs_rel: &str) -> bool {
    let logs_rel = logs_rel.trim_end_matches('/');
    let path = status_path.trim_end_matches('/');
    if path == logs_rel || path.starts_with(&format!("{logs_rel}/")) {
        return true;
    }
    // An untracked parent directory (e.g. `logs/`) counts when all it holds is on the way to orch's logs.
    if status_path.ends_with('/') && logs_rel.starts_with(&format!("{path}/")) {
        let next = logs_rel[path.len() + 1..]
            .split('/')
            .next()
            .unwrap_or_default();
        return std::fs::read_dir(root.join(path))
            .map(|entries| entries.flatten().all(|e| e.file_name() == next))
            .unwrap_or(false);
    }
    false
}

/// On resume, the worktrees of the run's own unfinished issues are expected: drop those
/// `orch_worktree` problems (any other problem still stands).
pub fn tolerate_own_worktrees(
    report: CleanReport,
    worktrees: &[std::path::PathBuf],
) -> CleanReport {
    let ours: Vec<std::path::PathBuf> = worktrees
        .iter()
        .map(|w| w.canonicalize().unwrap_or_else(|_| w.clone()))
        .collect();
    let problems: Vec<CleanProblem> = report
        .problems
        .into_iter()
        .filter(|p| {
            !(p.kind == "orch_worktree"
                && p.path
                    .as_ref()
                    .is_some_and(|path| ours.iter().any(|w| w == Path::new(path))))
        })
        .collect();
    CleanReport {
        clean: problems.is_empty(),
        problems,
    }
}

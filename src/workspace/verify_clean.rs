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

/// The branch a run's issue branches start from, as the dev-auto contract has it: the base
/// named (`--base`, or `base` in orch.toml), else the branch checked out when the run starts,
/// else (HEAD detached) the trunk.
fn start_branch(repo: &Repo, config: &Config) -> Option<String> {
    if let Some(base) = &config.base {
        return Some(base.clone());
    }
    match repo.head() {
        Ok(head) if head.branch.is_some() => head.branch,
        _ => trunk(repo, config),
    }
}

/// Where a run's issues start when nothing of the run comes before them: the tip of
/// [`start_branch`] (HEAD's commit when HEAD is on it), and that branch, which they stack on.
/// The run and its dry run both ask here.
pub fn run_start(repo: &Repo, config: &Config) -> Result<(String, String), GitError> {
    let branch = start_branch(repo, config).unwrap_or_else(|| "main".to_owned());
    let base = match repo.branch_tip(&branch)? {
        Some(tip) => tip,
        None => repo.resolve_commit("HEAD")?,
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

/// What keeps a run from knowing where its issues start: no commit yet, a named base that
/// does not exist or is not checked out (the docs are read from the checkout), a detached
/// HEAD with no trunk to fall back on.
fn head_problems(repo: &Repo, config: &Config) -> Result<Vec<CleanProblem>, GitError> {
    let head = repo.head()?;
    let mut problems = Vec::new();
    if head.oid.is_none() {
        problems.push(problem(
            "no_commits",
            None,
            "the repository has no commits yet".into(),
            "commit something first: issue branches start from the base branch's commit",
        ));
        return Ok(problems);
    }
    let at = || {
        let oid = head.oid.as_deref().unwrap_or_default();
        oid[..12.min(oid.len())].to_owned()
    };
    if let Some(base) = &config.base {
        if !repo.branch_exists(base) {
            problems.push(problem(
                "missing_base",
                None,
                format!("the base branch `{base}` does not exist"),
                "create it, or name another base with `--base <branch>` (or `base` in orch.toml)",
            ));
        } else if head.branch.as_deref() != Some(base.as_str()) {
            // A detached HEAD has no branch.
            let (message, hint) = match &head.branch {
                Some(branch) => (
                    format!("HEAD is on `{branch}`, not on the base `{base}`"),
                    format!(
                        "`git switch {base}`, or start from `{branch}` instead: `--base {branch}`"
                    ),
                ),
                None => (
                    format!("HEAD is detached at {}, not on the base `{base}`", at()),
                    format!("`git switch {base}`"),
                ),
            };
            problems.push(problem("not_on_base", None, message, hint));
        }
        return Ok(problems);
    }
    if head.detached {
        match trunk(repo, config) {
            Some(t) if repo.branch_exists(&t) => {}
            Some(t) => problems.push(problem(
                "missing_trunk",
                None,
                format!(
                    "HEAD is detached at {}, and the trunk `{t}` it falls back on does not exist",
                    at()
                ),
                "check out the branch to start from (`git switch <branch>`), name it with `--base <branch>`, or fix `trunk` in orch.toml",
            )),
            None => problems.push(problem(
                "detached_head",
                None,
                format!(
                    "HEAD is detached at {}, and there is no trunk (`main`, `master`, or `trunk` in orch.toml) to start from",
                    at()
                ),
                "check out the branch to start from (`git switch <branch>`), or name it with `--base <branch>`",
            )),
        }
    }
    Ok(problems)
}

/// `orch work`: where HEAD is matters only in that it must be the commit the issue starts
/// from (the docs are read from the checkout), detached or not; what the report says of
/// HEAD's branch gives way to that.
pub fn at_work_base(
    repo: &Repo,
    mut report: CleanReport,
    base: &str,
) -> Result<CleanReport, GitError> {
    const OF_HEAD: [&str; 4] = [
        "missing_base",
        "not_on_base",
        "missing_trunk",
        "detached_head",
    ];
    report.problems.retain(|p| !OF_HEAD.contains(&p.kind));
    let head = repo.head()?.oid.unwrap_or_default();
    let wanted = repo.resolve_commit(base).ok();
    if wanted.as_deref() != Some(head.as_str()) {
        let message = match &wanted {
            Some(w) => format!(
                "HEAD is at {}, not at the commit the issue starts from ({})",
                short(&head),
                short(w)
            ),
            None => format!("the commit the issue starts from ({base}) is not in this repository"),
        };
        report.problems.push(problem(
            "not_at_work_base",
            None,
            message,
            "fetch it and check it out first: `git fetch origin && git checkout --detach <base>`",
        ));
    }
    report.clean = report.problems.is_empty();
    Ok(report)
}

fn short(oid: &str) -> &str {
    &oid[..12.min(oid.len())]
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

    problems.extend(head_problems(repo, config)?);

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
                "`orch resume` continues the run that left it (`orch status` shows which); `orch run <MILESTONE> --fresh` starts that milestone over; `orch worktrees --prune` removes it, first saving uncommitted work under refs/orch/rescue/",
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
            if info.pid == std::process::id() && info.host == crate::util::platform::hostname() => {}
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
            "the orch that held it is gone (it crashed or was killed): `orch resume` continues its run and takes the lock over; to start a new run instead, `orch run <MILESTONE> --fresh --force-unlock`",
        )),
        LockState::Unreadable(why) => problems.push(problem(
            "stale_lock",
            Some(lock::lock_path(&repo.common_dir()).display().to_string()),
            format!("orch lock file cannot be read: {why}"),
            "make sure no orch is running, then `orch resume --force-unlock` (continues the last run) or `orch run <MILESTONE> --force-unlock` takes it over",
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

//! Where an issue's loop runs: its worktree as orch names it, made (or found) and removed,
//! tracked by Graphite when the repository uses it; the issue as its phases see it
//! ([`IssueAt`]); and what a phase cut off by orch's death committed, pinned.

use super::super::context::{IssueAt, RunScope};
use super::super::host::Host;
use super::super::{git, setup, EngineError};
use crate::model::plan::{Plan, PlannedIssue};
use crate::model::state::CurrentPhase;
use crate::workspace::capture::PhaseId;
use crate::workspace::worktrees::{self, IssueWorktree, Prepared};
use std::path::{Path, PathBuf};

/// Where an issue's job runs: the issue, the commit and branch it starts from, its log dir.
pub(super) struct JobAt<'a> {
    issue: &'a PlannedIssue,
    base: &'a str,
    parent: &'a str,
    issue_dir: &'a Path,
}

pub(super) fn job_at<'a>(
    issue: &'a PlannedIssue,
    base: &'a str,
    parent: &'a str,
    issue_dir: &'a Path,
) -> JobAt<'a> {
    JobAt {
        issue,
        base,
        parent,
        issue_dir,
    }
}

/// The issue where its loop runs: what its prompts give as the issue (its doc's body, else
/// a task's description), its base, its log dir and timeout.
pub(super) fn issue_at<'a>(host: Host<'_>, job: &JobAt<'a>, common_dir: PathBuf) -> IssueAt<'a> {
    let issue = job.issue;
    IssueAt {
        issue,
        body: match &issue.spec.description {
            Some(description) if issue.body.is_empty() => description.clone(),
            _ => issue.body.to_string(),
        },
        base: job.base.to_owned(),
        parent: job.parent.to_owned(),
        dir: job.issue_dir,
        common_dir,
        timeout: host.task_timeout(issue),
    }
}

/// The issue's worktree, as orch names it.
pub(in crate::engine) fn worktree_of(plan: &Plan, issue: &PlannedIssue) -> IssueWorktree {
    IssueWorktree {
        scope: plan.scope(),
        id: issue.id.clone(),
        branch: issue.branch.clone(),
        path: issue.worktree.clone(),
    }
}

/// Makes (or finds) the issue's worktree; `Err(reason)` when its branch was left on another
/// base. With the repository's common dir.
pub(super) async fn open(
    host: Host<'_>,
    wt: &IssueWorktree,
    base: &str,
    parent: &str,
) -> Result<Result<(Prepared, PathBuf), String>, EngineError> {
    let (wt, base, parent) = (wt.clone(), base.to_owned(), parent.to_owned());
    git(host.repo_root, move |repo| {
        if let Some(reason) = worktrees::stale_branch(repo, &wt, &base, &parent)? {
            return Ok(Err(reason));
        }
        let prepared = worktrees::prepare(repo, &wt, &base)?;
        Ok(Ok((prepared, repo.common_dir())))
    })
    .await
}

/// A phase that was running when orch died has no record: pins what it committed.
pub(super) async fn pin_interrupted(
    run: &RunScope<'_>,
    at: &IssueAt<'_>,
    current: &CurrentPhase,
) -> Result<(), EngineError> {
    let id = PhaseId {
        run_id: run.opts.run_id.clone(),
        milestone: run.plan.milestone.clone(),
        issue: at.issue.id.clone(),
        seq: current.seq,
        phase: current.phase.name().to_owned(),
    };
    git(&at.issue.worktree, move |repo| {
        if let (Some(head), None) = (repo.head()?.oid, repo.ref_target(&id.pin_ref())?) {
            let why = "orch: pin an interrupted phase's head";
            repo.set_ref(&id.pin_ref(), &head, why)?;
        }
        Ok(())
    })
    .await
}

/// Removes the issue's worktree (after `[worktree] teardown`); the ref holding what it left
/// uncommitted, if anything.
pub(super) async fn remove(
    host: Host<'_>,
    wt: &IssueWorktree,
    issue_dir: &Path,
) -> Result<Option<String>, EngineError> {
    let log = issue_dir.join(crate::model::layout::TEARDOWN_LOG);
    setup::tear_down(host, &wt.path, &log).await;
    let wt = wt.clone();
    let removed = git(host.repo_root, move |repo| {
        Ok(worktrees::remove(repo, &wt)?)
    })
    .await?;
    Ok(removed.rescue_ref)
}

/// In a Graphite repository a new branch must be tracked before gt can stack on it.
pub(super) fn track(
    common_dir: &Path,
    wt: &IssueWorktree,
    parent: &str,
    prepared: Prepared,
) -> Result<(), String> {
    use crate::workspace::graphite;
    match (graphite::initialised(common_dir), graphite::find_gt()) {
        (true, Some(gt)) if prepared == Prepared::Created => {
            graphite::track(&gt, &wt.path, &wt.branch, parent)
        }
        (true, None) => Err("Graphite is initialised here but gt is not on PATH".to_owned()),
        _ => Ok(()),
    }
}

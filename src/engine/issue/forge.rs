//! One fix the issue's pull request asked for (failed checks, review threads), after its
//! loop ended: on its worktree, made again from its branch when it was removed, after the
//! phases the run recorded (a fix cut off by orch's death has what it committed pinned);
//! the worktree removed after, as at the end of every loop.

use super::{issue_at, job_at, open, remove, worktree_of, IssueLoop, Planned};
use crate::agent::Runner;
use crate::engine::context::RunScope;
use crate::engine::host::Tools;
use crate::engine::resume::Continuation;
use crate::engine::EngineError;
use crate::model::event::EngineEvent;
use crate::model::forge::Feedback;
use crate::model::phase::PhaseKind;
use crate::model::plan::PlannedIssue;
use crate::model::record::PhaseRecord;
use crate::model::result::PhaseResult;
use std::path::Path;

/// What the fix did: its record, and its result when it finished.
pub(in crate::engine) struct ForgeFixed {
    pub record: PhaseRecord,
    pub result: Option<PhaseResult>,
    /// What it left uncommitted, kept under this ref when its worktree went.
    pub rescue_ref: Option<String>,
}

/// Where the fix runs.
pub(in crate::engine) struct FixAt<'a> {
    pub issue: &'a PlannedIssue,
    /// The commit the issue's branch started from.
    pub base: &'a str,
    /// The branch it stacks on.
    pub parent: &'a str,
    pub issue_dir: &'a Path,
    /// The recorded phases and, after a crash, the phase that was cut off.
    pub continuation: Continuation,
}

/// How a fix went.
pub(in crate::engine) enum FixRun {
    /// It ran to its end (passed or not): its record and result.
    Ran(Box<ForgeFixed>),
    /// It could not start: its worktree cannot be made (its branch moved away from its
    /// base), or set up.
    Refused(String),
    /// It did not run to its end: interrupted (its worktree kept, its work pinned), or the
    /// budget did not let it start. A resume runs it.
    Stopped(String),
}

/// Runs the fix.
pub(in crate::engine) async fn forge_fix<R: Runner>(
    tools: Tools<'_, R>,
    run: &RunScope<'_>,
    at: FixAt<'_>,
    feedback: &Feedback,
) -> Result<FixRun, EngineError> {
    let host = tools.host;
    let issue = at.issue;
    let wt = worktree_of(run.plan, issue);
    let (prepared, common_dir) = match open(host, &wt, at.base, at.parent).await? {
        Ok(opened) => opened,
        Err(reason) => return Ok(FixRun::Refused(reason)),
    };
    host.emit(&EngineEvent::WorktreeReady {
        id: issue.id.clone(),
        path: wt.path.clone(),
        created: prepared == crate::workspace::worktrees::Prepared::Created,
    });
    let job = job_at(issue, at.base, at.parent, at.issue_dir);
    let issue_at = issue_at(host, &job, common_dir);
    let Continuation {
        phases,
        interrupted,
        ..
    } = at.continuation;
    let mut lp = IssueLoop::new(tools, run, issue_at, wt, &phases);
    lp.restore(phases, interrupted).await?;
    if let Err(reason) = lp.set_up(prepared).await? {
        return Ok(FixRun::Refused(reason));
    }
    let (fixes, devs_done) = super::fixes_and_devs(&lp.done());
    let planned = Planned {
        kind: PhaseKind::Fix,
        fixes,
        devs_done,
        review: Some(PhaseResult::from(feedback.as_review())),
        prior_fix: None,
        gate: None,
        forge: Some(feedback.clone()),
    };
    let before = lp.history.len();
    lp.step(planned).await?;
    if lp.history.len() == before {
        // The budget did not let it start (said by the step).
        let why = lp.summary.reason.clone();
        return Ok(FixRun::Stopped(
            why.unwrap_or_else(|| "out of budget".to_owned()),
        ));
    }
    let entry = lp.history.pop().expect("the fix was recorded");
    if entry.record.failure == Some(crate::model::phase::PhaseFailure::Interrupted) {
        // Its worktree stays, as an interrupted loop's does: the resume goes on in it.
        return Ok(FixRun::Stopped(format!(
            "interrupted during {:02}-fix",
            entry.record.seq
        )));
    }
    let rescue_ref = remove(host, &lp.wt, at.issue_dir).await?;
    Ok(FixRun::Ran(Box::new(ForgeFixed {
        record: entry.record,
        result: entry.result,
        rescue_ref,
    })))
}

/// The worktree a fix left when orch died after it finished: removed as the fix would have
/// (what it left uncommitted rescued); its rescue ref, if anything was.
pub(in crate::engine) async fn tidy(
    host: crate::engine::host::Host<'_>,
    run: &RunScope<'_>,
    issue: &PlannedIssue,
    issue_dir: &Path,
) -> Result<Option<String>, EngineError> {
    remove(host, &worktree_of(run.plan, issue), issue_dir).await
}

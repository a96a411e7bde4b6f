//! One fix the issue's pull request asked for (failed checks, review threads), after its
//! loop ended: on its worktree, made again from its branch when it was removed, after the
//! phases the run recorded (a fix cut off by orch's death has what it committed pinned);
//! the worktree removed after, as at the end of every loop.

use super::{issue_at, job_at, open, remove, worktree_of, Entry, IssueLoop, Planned};
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

/// Runs the fix; `Err(reason)` when its worktree cannot be made (its branch moved away
/// from its base).
pub(in crate::engine) async fn forge_fix<R: Runner>(
    tools: Tools<'_, R>,
    run: &RunScope<'_>,
    at: FixAt<'_>,
    feedback: &Feedback,
) -> Result<Result<ForgeFixed, String>, EngineError> {
    let host = tools.host;
    let issue = at.issue;
    let wt = worktree_of(run.plan, issue);
    let (prepared, common_dir) = match open(host, &wt, at.base, at.parent).await? {
        Ok(opened) => opened,
        Err(reason) => return Ok(Err(reason)),
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
        return Ok(Err(reason));
    }
    let counted: Vec<&Entry> = (lp.history.iter())
        .filter(|e| crate::engine::resume::counts(&e.record))
        .collect();
    let fixes = counted
        .iter()
        .filter(|e| e.record.phase == PhaseKind::Fix)
        .count() as u32;
    let devs_done = counted
        .iter()
        .filter(|e| e.record.phase == PhaseKind::Dev)
        .count();
    let planned = Planned {
        kind: PhaseKind::Fix,
        fixes,
        devs_done,
        review: Some(PhaseResult::from(feedback.as_review())),
        prior_fix: None,
        gate: None,
        forge: Some(feedback.clone()),
    };
    lp.step(planned).await?;
    let entry = lp.history.pop().expect("the fix was recorded");
    let rescue_ref = remove(host, &lp.wt, at.issue_dir).await?;
    Ok(Ok(ForgeFixed {
        record: entry.record,
        result: entry.result,
        rescue_ref,
    }))
}

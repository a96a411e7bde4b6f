//! `orch run --on github`: each issue's loop runs on a GitHub Actions runner instead of
//! here. The schedule is the same (the dependency order, `jobs` in flight); an issue's loop
//! is: its base pushed to the remote (`refs/orch/bases/<run>/<issue>`), a share of the
//! budget reserved, the workflow `orch init --ci github` wrote dispatched for it
//! ([`follow`]), followed to its end (Ctrl-C cancels it), and its result fetched, checked
//! and imported ([`import`]): the branch and pins set here, the logs in the issue's log
//! directory, the summary as a local loop's, saying where it ran. Its dependents start from
//! the imported branch's tip.

mod follow;
mod import;
mod verify;

use super::context::RunScope;
use super::host::{Host, Tools};
use super::issue::IssueJob;
use super::EngineError;
use crate::agent::Runner;
use crate::model::budget::Spend;
use crate::model::phase::PhaseKind;
use crate::model::record::{IssueSummary, Outcome};

/// Runs one issue's loop on a runner (see the module doc).
pub(super) async fn run<R: Runner>(
    tools: Tools<'_, R>,
    run: &RunScope<'_>,
    job: IssueJob<'_>,
) -> Result<IssueSummary, EngineError> {
    let host = tools.host;
    let issue = job.issue;
    // What a runner's result left of the issue stays, whatever this turn ends in.
    let last = imported_before(run, &issue.id);
    let mut summary =
        (last.cloned()).unwrap_or_else(|| IssueSummary::new(issue, Outcome::Failed, job.issue_dir));
    summary.base = Some(job.base.to_owned());
    let ended = match super::pull_request::connected(host, run).await {
        Ok(forge) => followed(host, run, forge, &job).await?,
        Err(why) => Err(End::Other(
            Outcome::Failed,
            format!("not dispatched: {why}"),
        )),
    };
    let mut summary = match ended {
        Ok(summary) => summary,
        Err(End::Budget(stop)) => {
            summary.outcome = Outcome::Budget;
            summary.reason = Some(format!(
                "not dispatched: {}; continue with `orch resume {} {} <more>`",
                stop.describe(),
                run.plan.scope(),
                stop.flag()
            ));
            summary.budget = Some(stop);
            return Ok(summary);
        }
        Err(End::Other(outcome, why)) => {
            summary.outcome = outcome;
            summary.reason = Some(why);
            return Ok(summary);
        }
    };
    // What the runner spent counts against the run's budget (what an earlier result of it
    // imported counted already).
    let counted = (last.and_then(|s| s.phases.iter().map(|p| p.seq).max())).unwrap_or(0);
    for phase in summary.phases.iter().filter(|p| p.seq > counted) {
        let stop = (run.budget).settle(&issue.id, phase.phase, Spend::default(), &phase.usage);
        if let (Some(stop), None) = (stop, &summary.budget) {
            summary.budget = Some(stop);
        }
    }
    if summary.outcome == Outcome::Completed {
        drafted(host, run, &mut summary, &job).await?;
    }
    Ok(summary)
}

/// The issue's summary as the run resumed left it, when it was a runner's result imported.
pub(super) fn imported_before<'r>(run: &'r RunScope<'_>, id: &str) -> Option<&'r IssueSummary> {
    (run.opts.resume.as_ref())
        .and_then(|s| s.issue(id))
        .and_then(|i| i.summary.as_ref())
        .filter(|s| s.ran_on.is_some())
}

/// A completed issue's draft, opened here as a local run opens it (`[submit] via =
/// "github"`): its branch is on the remote already (the runner pushed it; orch's push of the
/// same head changes nothing), and its PR stacks on its parent's branch, with the dev and fix
/// summaries the runner's logs hold.
async fn drafted(
    host: Host<'_>,
    run: &RunScope<'_>,
    summary: &mut IssueSummary,
    job: &IssueJob<'_>,
) -> Result<(), EngineError> {
    if !host.config.submits_via_github() {
        if host.config.submits_drafts() {
            // gt submits from a worktree, which the issue never had here.
            let say = || async {
                host.emit(&crate::model::event::EngineEvent::ForgeNote {
                    id: None,
                    message: "no draft pull requests for issues run on runners with `[submit] via = \"graphite\"` (gt submits from a worktree); `[submit] via = \"github\"` opens them".to_owned(),
                });
            };
            run.unsubmitted.get_or_init(say).await;
        } else {
            super::pull_request::say_unsubmitted(host, run).await;
        }
        return Ok(());
    }
    let notes: Vec<(String, String)> = (summary.phases.iter())
        .filter(|p| matches!(p.phase, PhaseKind::Dev | PhaseKind::Fix) && !p.superseded)
        .filter_map(|p| {
            let result = std::fs::read(p.log_dir.join(crate::model::layout::RESULT)).ok()?;
            let result: serde_json::Value = serde_json::from_slice(&result).ok()?;
            Some((
                p.phase.name().to_owned(),
                result["summary"].as_str()?.to_owned(),
            ))
        })
        .collect();
    let stack = [job.issue.branch.clone()];
    let at = super::pull_request::Converged {
        worktree: host.repo_root,
        base: job.base,
        parent: job.parent,
        stack: &stack,
        issue_dir: job.issue_dir,
        notes: &notes,
    };
    super::pull_request::submit(host, run, summary, job.issue, at).await
}

/// What a runner may spend: its share of what the run has left, in tokens and in dollars
/// (`None`: no such limit).
#[derive(Debug, Clone, Copy)]
pub(super) struct Share {
    pub tokens: Option<u64>,
    pub usd: Option<f64>,
}

/// Why an issue's remote loop ended without a result to import.
enum End {
    /// Its share of the budget did not fit: nothing was dispatched.
    Budget(crate::model::budget::BudgetStop),
    Other(Outcome, String),
}

/// The run a resume found followed, else the issue dispatched (its budget share held while
/// it runs); then its result imported.
async fn followed(
    host: Host<'_>,
    run: &RunScope<'_>,
    forge: &crate::forge::Forge,
    job: &IssueJob<'_>,
) -> Result<Result<IssueSummary, End>, EngineError> {
    let issue = job.issue;
    let (attempt, after) = match follow::earlier(host, run, forge, &issue.id).await? {
        Ok(follow::Earlier::Follow(found)) => {
            return imported(host, run, forge, job, (found.workflow_run, found.attempt)).await
        }
        Ok(follow::Earlier::Dispatch { attempt, after }) => (attempt, after),
        Err((outcome, why)) => return Ok(Err(End::Other(outcome, why))),
    };
    let reserve = match run.budget.reserve(&issue.id, PhaseKind::Dev) {
        Ok(reserve) => reserve,
        Err(stop) => return Ok(Err(End::Budget(stop))),
    };
    // Its share: what is left (its reserve counted as its own) split over the issues that
    // may run at once (jobs, or fewer issues), held while it runs, so runners together never
    // pass the budget.
    let jobs = run.opts.jobs.min(run.plan.issues.len()).max(1) as u64;
    let (tokens, usd) = run.budget.left(&issue.id);
    let share = Share {
        tokens: tokens.map(|left| (left + reserve.tokens) / jobs),
        usd: usd.map(|left| (left + reserve.usd) / jobs as f64),
    };
    let extra = run.budget.hold(Spend {
        tokens: share.tokens.map_or(0, |s| s.saturating_sub(reserve.tokens)),
        usd: share.usd.map_or(0.0, |s| (s - reserve.usd).max(0.0)),
    });
    let ended = dispatched(host, run, forge, job, (attempt, after, share)).await;
    run.budget.release(reserve + extra);
    ended
}

/// The base pushed and the issue dispatched as `attempt`, followed, and imported.
async fn dispatched(
    host: Host<'_>,
    run: &RunScope<'_>,
    forge: &crate::forge::Forge,
    job: &IssueJob<'_>,
    (attempt, after, share): (u32, Option<u64>, Share),
) -> Result<Result<IssueSummary, End>, EngineError> {
    if let Err(why) = push_base(host, run, job).await {
        return Ok(Err(End::Other(
            Outcome::Failed,
            format!("not dispatched: {why}"),
        )));
    }
    let order = follow::Order {
        issue: job.issue,
        base: job.base,
        share,
    };
    match follow::dispatch(host, run, forge, &order, (attempt, after)).await? {
        Ok(record) => imported(host, run, forge, job, (record.workflow_run, attempt)).await,
        Err(why) => Ok(Err(End::Other(Outcome::Failed, why))),
    }
}

/// Workflow run `id` (dispatch `attempt`) followed to its end, and its result imported.
async fn imported(
    host: Host<'_>,
    run: &RunScope<'_>,
    forge: &crate::forge::Forge,
    job: &IssueJob<'_>,
    (id, attempt): (u64, u32),
) -> Result<Result<IssueSummary, End>, EngineError> {
    let wf = match follow::until_done(host, forge, id).await {
        follow::Followed::Completed(wf) => wf,
        follow::Followed::Interrupted => {
            let why = format!(
                "interrupted: its workflow run {id} was asked to cancel; `orch resume {}` dispatches it again",
                run.plan.scope()
            );
            return Ok(Err(End::Other(Outcome::Interrupted, why)));
        }
        follow::Followed::Gone(e) => {
            let why = format!(
                "its workflow run {id} cannot be seen any more ({e}); `orch resume` looks again"
            );
            return Ok(Err(End::Other(Outcome::Interrupted, why)));
        }
    };
    let at = import::At {
        issue: job.issue,
        base: job.base,
        issue_dir: job.issue_dir,
        attempt,
    };
    Ok(import::import(host, run, &at, &wf)
        .await?
        .map_err(|(outcome, why)| End::Other(outcome, why)))
}

/// The commit the issue starts from, on the remote for the runner's checkout.
async fn push_base(host: Host<'_>, run: &RunScope<'_>, job: &IssueJob<'_>) -> Result<(), String> {
    let name = crate::model::naming::base_ref(&run.opts.run_id, &job.issue.id);
    let spec = format!("{}:{name}", job.base);
    let git = host.remote_git();
    let log = crate::model::layout::command_log(job.issue_dir, "base-push");
    (git.run(
        &log,
        &["push", "--porcelain", "--force", git.remote(), &spec],
    )
    .await)
        .map_err(|failed| format!("the push of its base failed: {}", failed.said))
}

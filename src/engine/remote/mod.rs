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
use super::host::Tools;
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
    let mut summary = IssueSummary::new(issue, Outcome::Failed, job.issue_dir);
    summary.base = Some(job.base.to_owned());
    let forge = match super::pull_request::connected(host, run).await {
        Ok(forge) => forge,
        Err(why) => return Ok(failed(summary, format!("not dispatched: {why}"))),
    };
    let tokens = run.budget.tokens_left(&issue.id);
    let held = match run.budget.reserve(&issue.id, PhaseKind::Dev) {
        Ok(held) => held,
        Err(stop) => {
            summary.outcome = Outcome::Budget;
            summary.reason = Some(format!("not dispatched: {}", stop.describe()));
            summary.budget = Some(stop);
            return Ok(summary);
        }
    };
    let ended = dispatch_and_import(host, run, forge, &job, tokens).await;
    run.budget.release(held);
    let mut summary = match ended? {
        Ok(summary) => summary,
        Err((outcome, why)) => {
            summary.outcome = outcome;
            summary.reason = Some(why);
            return Ok(summary);
        }
    };
    // What the runner spent counts against the run's budget.
    for phase in &summary.phases {
        let stop = run
            .budget
            .settle(&issue.id, phase.phase, Spend::default(), &phase.usage);
        if let (Some(stop), None) = (stop, &summary.budget) {
            summary.budget = Some(stop);
        }
    }
    summary.id = issue.id.clone();
    Ok(summary)
}

fn failed(mut summary: IssueSummary, why: String) -> IssueSummary {
    summary.outcome = Outcome::Failed;
    summary.reason = Some(why);
    summary
}

type Ended = Result<IssueSummary, (Outcome, String)>;

/// The base pushed, the run dispatched (or found again), followed, and its result imported.
async fn dispatch_and_import(
    host: super::host::Host<'_>,
    run: &RunScope<'_>,
    forge: &crate::forge::Forge,
    job: &IssueJob<'_>,
    tokens: Option<u64>,
) -> Result<Ended, EngineError> {
    if let Err(why) = push_base(host, run, job).await {
        return Ok(Err((Outcome::Failed, format!("not dispatched: {why}"))));
    }
    let order = follow::Order {
        issue: job.issue,
        base: job.base,
        tokens,
    };
    let dispatched = match follow::dispatched(host, run, forge, &order).await? {
        Ok(dispatched) => dispatched,
        Err(why) => return Ok(Err((Outcome::Failed, why))),
    };
    let Some(wf) = follow::until_done(host, forge, dispatched.workflow_run).await? else {
        let why = format!(
            "interrupted: its workflow run was cancelled ({}); `orch resume {}` dispatches it again",
            dispatched.url,
            run.plan.scope()
        );
        return Ok(Err((Outcome::Interrupted, why)));
    };
    let at = import::At {
        issue: job.issue,
        base: job.base,
        issue_dir: job.issue_dir,
    };
    import::import(host, run, &at, &wf).await
}

/// The commit the issue starts from, on the remote for the runner's checkout.
async fn push_base(
    host: super::host::Host<'_>,
    run: &RunScope<'_>,
    job: &IssueJob<'_>,
) -> Result<(), String> {
    use crate::model::naming::ref_component;
    let word = |s: &str| crate::util::process::sh_word(s);
    let name = format!(
        "refs/orch/bases/{}/{}",
        ref_component(&run.opts.run_id),
        ref_component(&job.issue.id)
    );
    let remote = host.config.forge().remote().to_owned();
    let command = format!(
        "GIT_TERMINAL_PROMPT=0 git push --porcelain --force {} {}",
        word(&remote),
        word(&format!("{}:{name}", job.base))
    );
    let log = crate::model::layout::command_log(job.issue_dir, "base-push");
    let timeout = host.config.phase_timeout();
    let ran =
        crate::gates::shell::run_own(&command, host.repo_root, &log, timeout, host.cancel()).await;
    if ran.success() {
        return Ok(());
    }
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    Err(format!(
        "the push of its base failed: {}",
        said.lines().last().unwrap_or("git push failed").trim()
    ))
}

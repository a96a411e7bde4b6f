//! Carrying out a phase's plan: the only part of a phase with effects. The commit range is
//! captured around the agent (with its retries), the confinement made and undone, the guard's
//! shims written, then what the agent did is audited, scanned for secrets and checked.

use super::audit::{self, Audited};
use super::confine;
use super::judge::{self, Checked, Findings};
use super::plan::{Hooks, PhasePlan};
use super::retry::{self, Attempts};
use crate::agent::Runner;
use crate::engine::context::{IssueAt, IssueProgress, RunScope};
use crate::engine::host::{Host, Tools};
use crate::engine::{git, logs, EngineError};
use crate::model::budget::BudgetStop;
use crate::model::event::EngineEvent;
use crate::model::layout;
use crate::model::phase::Usage;
use crate::model::record::GuardCounts;
use crate::workspace::capture;
use std::path::PathBuf;
use std::sync::Arc;

/// What carrying out a phase saw, for its judgement.
pub(in crate::engine) struct Executed {
    /// The agent's outcome, with the audit's and the secret scan's verdict.
    pub outcome: crate::agent::PhaseOutcome,
    /// What attempts before the last spent in other sessions.
    pub retried: Usage,
    /// A retry of the phase did not fit in this budget.
    pub budget_stop: Option<BudgetStop>,
    pub commits: usize,
    pub checks: Checked,
    pub guard: GuardCounts,
}

/// Carries out `plan` for the issue at `at`; `since` is when the phase started on the
/// run's clock (what else ran meanwhile is not this phase's doing).
pub(in crate::engine) async fn execute<R: Runner>(
    tools: Tools<'_, R>,
    run: &RunScope<'_>,
    at: &IssueAt<'_>,
    progress: &mut IssueProgress,
    plan: &PhasePlan,
    since: u64,
) -> Result<Executed, EngineError> {
    let host = tools.host;
    let issue = at.issue;
    let start = git(&issue.worktree, |repo| Ok(capture::begin(repo)?)).await?;
    let confined = confine::confine(plan, host.repo_root)?;
    let env = shim_env(plan, &start, &progress.stack)?;
    let request = plan.request(env, hooks(host, plan));
    let attempts = Attempts {
        issue: &issue.id,
        seq: plan.id.seq,
        budget: run.budget,
        sessions: &progress.sessions,
    };
    let tried = retry::run_with_retries(host, tools.runner, attempts, &request).await;
    // Before anything runs git there again.
    let git_files = confine::unconfine(confined, &plan.dir)?;
    run.budget.release(tried.held);

    let peers: Vec<PathBuf> = run
        .flight
        .others_since(&issue.id, since)
        .into_iter()
        .map(|p| p.worktree)
        .collect();
    let (branch, dir, id) = (issue.branch.clone(), plan.dir.clone(), plan.id.clone());
    let foreign = super::foreign(run, &issue.id);
    let range = git(&issue.worktree, move |repo| {
        let others = (&foreign[..], &peers[..]);
        Ok(capture::finish(repo, &branch, &start, id, &dir, others)?)
    })
    .await?;
    progress.stacked(
        range
            .stack
            .iter()
            .filter(|b| b.created)
            .map(|b| b.name.as_str()),
    );
    let mut violations = git_files;
    let audited = Audited {
        issue,
        scope: run.plan.scope(),
        stack: &progress.stack,
        peers: run.flight.others_since(&issue.id, since),
        range: &range,
        dir: &plan.dir,
    };
    violations.extend(audit::audit(host, audited).await?);
    let approvals = &run.opts.approvals;
    let secrets = audit::secrets(host, issue, approvals, &range, &plan.dir).await?;
    run.flight.phase_ended(&issue.id, &progress.stack);
    let mut outcome = tried.outcome;
    let findings = Findings {
        violations,
        secrets,
    };
    let fails = host.config.audit_fails_phase();
    outcome.result = judge::verdict(outcome.result, findings, fails);
    let checks = acceptance(host, at, plan, &outcome).await?;
    Ok(Executed {
        outcome,
        retried: tried.earlier,
        budget_stop: tried.stop,
        commits: range.commits.len(),
        checks,
        guard: crate::guard::log::counts(&plan.dir.join(layout::GUARD_LOG)),
    })
}

/// Writes the guard's shims for the phase; their environment. They know the issue's stack
/// and every branch that existed when the phase started (a branch stacked on the issue's
/// counts as the issue's only if this phase made it).
fn shim_env(
    plan: &PhasePlan,
    start: &capture::PhaseStart,
    stack: &[String],
) -> Result<Vec<(String, String)>, EngineError> {
    let mut shim = plan.shim.clone();
    shim.preexisting = start
        .refs
        .keys()
        .filter_map(|r| r.strip_prefix("refs/heads/"))
        .filter(|b| !stack.iter().any(|s| s == b))
        .map(str::to_owned)
        .collect();
    crate::guard::shim::prepare(&plan.dir, shim).map_err(|source| {
        EngineError::Io(crate::util::fsutil::IoError {
            action: "write",
            path: plan.dir.join(layout::SHIM_BIN),
            source,
        })
    })
}

/// What the running agent tells the run: that it started (for the run state), each action
/// (for the progress lines), and with each, the guard's refusals since the last (a sandboxed
/// agent's shim writes in its temp dir; the lines join the phase's log after it).
fn hooks(host: Host<'_>, plan: &PhasePlan) -> Hooks {
    let (issue, seq, kind) = (plan.id.issue.clone(), plan.id.seq, plan.kind);
    let (spawned, id) = (host.emitter(), issue.clone());
    let on_spawn = move |agent: &crate::model::phase::AgentProcess| {
        let agent = agent.clone();
        spawned.emit(&EngineEvent::AgentStarted {
            id: id.clone(),
            seq,
            agent,
        })
    };
    let (emitter, guard_log) = (host.emitter(), plan.shim_log().to_owned());
    let guard_read = std::sync::Mutex::new(0u64);
    let activity = move |action: crate::agent::Action<'_>| {
        let mut read = guard_read.lock().unwrap_or_else(|p| p.into_inner());
        let (refused, next) = crate::guard::log::refusals_since(&guard_log, *read);
        *read = next;
        drop(read);
        for (command, rule) in refused {
            let id = issue.clone();
            emitter.emit(&EngineEvent::GuardRefused { id, command, rule });
        }
        emitter.emit(&EngineEvent::Activity {
            id: issue.clone(),
            phase: kind,
            text: action.text.to_owned(),
            done: action.done,
            exit_code: action.exit_code,
        })
    };
    Hooks {
        cancel: host.cancel(),
        on_spawn: Some(Arc::new(on_spawn)),
        activity: Some(Arc::new(activity)),
    }
}

/// The plan's acceptance checks, after a dev or fix phase that succeeded. Checks cut short
/// by Ctrl-C say nothing: the phase is then interrupted and runs again on resume. A shard
/// with no checks of its own is done when its phase is: the event log still says so.
async fn acceptance(
    host: Host<'_>,
    at: &IssueAt<'_>,
    plan: &PhasePlan,
    outcome: &crate::agent::PhaseOutcome,
) -> Result<Checked, EngineError> {
    let checked = |outcomes: &[crate::model::check::CheckOutcome]| {
        host.emit(&EngineEvent::AcceptanceChecked {
            id: at.issue.id.clone(),
            seq: plan.id.seq,
            phase: plan.kind,
            shard: plan.shard.as_ref().map(|s| s.id.clone()),
            outcomes: outcomes.to_vec(),
        })
    };
    if outcome.result.is_err() {
        return Ok(Checked::None);
    }
    if plan.checks.is_empty() {
        if plan.shard.is_some() {
            checked(&[]);
        }
        return Ok(Checked::None);
    }
    let outcomes = crate::gates::acceptance::evaluate(
        &plan.checks,
        &at.issue.spec.workdir(&at.issue.worktree),
        &at.issue.spec.paths,
        &plan.dir.join(layout::ACCEPTANCE_LOGS),
        at.timeout,
        host.cancel(),
    )
    .await;
    logs::write_json(&plan.dir.join(layout::ACCEPTANCE), &outcomes)?;
    if host.cancelled() {
        return Ok(Checked::Interrupted);
    }
    checked(&outcomes);
    Ok(Checked::Ran(outcomes))
}

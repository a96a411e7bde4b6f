//! One phase as plan → execute → judge (the split of git-branchless's `rewrite/plan.rs` and
//! `execute.rs`): its prompt is composed and the host around it read, then [`plan::plan`]
//! decides everything the phase will do (pure), [`execute::execute`] carries it out (the only
//! effects), and [`judge::judge`] makes its record from what was seen (pure).

mod audit;
mod confine;
pub(super) mod execute;
pub(super) mod judge;
pub mod plan;
mod retry;

use super::context::{IssueAt, IssueProgress, RunScope};
use super::host::{Host, Tools};
use super::{git, logs, prompt, EngineError};
use crate::agent::{PhaseOutcome, Runner};
use crate::model::event::EngineEvent;
use crate::model::layout;
use crate::model::phase::{PhaseKind, Usage};
use crate::model::plan::Shard;
use crate::model::record::{GateRecord, PhaseRecord};
use crate::workspace::capture::PhaseId;
use plan::{PhaseInputs, PhasePlan, Surroundings};

/// What a phase did: the agent's outcome, the record kept, and the budget a retry of it did
/// not fit in, if one did not.
pub(super) struct Ran {
    pub outcome: PhaseOutcome,
    pub record: PhaseRecord,
    pub budget_stop: Option<crate::model::budget::BudgetStop>,
}

/// What one step of the loop asks the phase to do.
pub(super) struct StepInput<'s> {
    pub kind: PhaseKind,
    pub cycle: u32,
    /// The review a fix addresses.
    pub review: Option<&'s serde_json::Value>,
    /// The fix a review follows.
    pub prior_fix: Option<&'s serde_json::Value>,
    /// The latest acceptance results (a fix addresses the failed checks too).
    pub gate: Option<&'s GateRecord>,
    /// The shard a dev phase works on.
    pub shard: Option<&'s Shard>,
    /// Run every check of the task after this phase (else only the shard's own).
    pub full_gate: bool,
    /// A fix the pull request's checks and threads asked for (its `review` is this, read as
    /// a review).
    pub forge: Option<&'s crate::model::forge::Feedback>,
}

/// Runs phase number `progress.seq` of the issue at `at`.
pub(super) async fn run<R: Runner>(
    tools: Tools<'_, R>,
    run: &RunScope<'_>,
    at: &IssueAt<'_>,
    progress: &mut IssueProgress,
    step: StepInput<'_>,
) -> Result<Ran, EngineError> {
    let host = tools.host;
    let since = run.flight.phase_started(&at.issue.id);
    let id = phase_id(run, at, progress.seq, step.kind);
    let dir = at.dir.join(id.dir_name());
    logs::create_dir(&dir)?;
    announce(host, at, &step, progress.seq);
    let composed = prompt_for(tools, run, at, &step, &id).await?;
    logs::write_text(&dir.join(layout::PROMPT), &composed.0)?;
    logs::write_json(&dir.join(layout::SCHEMA), &*composed.1.schema)?;
    let host_survey = run
        .host
        .get_or_init(|| plan::HostSurvey::read(&at.common_dir));
    let around = Surroundings::survey(&at.issue.worktree, host_survey)
        .map_err(logs::io_error("read", &at.issue.worktree.join(".git")))?;
    let plan = plan::plan(inputs(
        host,
        run,
        at,
        progress,
        &step,
        &around,
        (id, composed),
    ));
    let done = execute::execute(tools, run, at, progress, &plan, since).await?;
    let session_before =
        (done.outcome.session_id.as_ref()).and_then(|s| progress.sessions.get(s).copied());
    let price = |u: &Usage| run.budget.cost(u);
    let seen = judge::Seen {
        retried: done.retried,
        commits: done.commits,
        checks: done.checks,
        guard: done.guard,
        session_before,
        price: &price,
    };
    let (outcome, record) = judge::judge(&plan, done.outcome, seen);
    if let Some((session, total)) = judge::session_total(&outcome) {
        progress.sessions.insert(session, total);
    }
    match &outcome.result {
        Ok(result) => logs::write_json(&plan.dir.join(layout::RESULT), &result.json)?,
        Err(failure) => logs::write_json(&plan.dir.join(layout::FAILURE), failure)?,
    }
    host.emit(&EngineEvent::PhaseFinished {
        id: at.issue.id.clone(),
        record: record.clone(),
    });
    crate::util::failpoint::hit(&format!("after-{}", step.kind.name()));
    Ok(Ran {
        outcome,
        record,
        budget_stop: done.budget_stop,
    })
}

/// The phase's identity: its run, milestone, issue and number.
fn phase_id(run: &RunScope<'_>, at: &IssueAt<'_>, seq: u32, kind: PhaseKind) -> PhaseId {
    PhaseId {
        run_id: run.opts.run_id.clone(),
        milestone: run.plan.milestone.clone(),
        issue: at.issue.id.clone(),
        seq,
        phase: kind.name().to_owned(),
    }
}

/// What the phase is planned from: the loop's state, the host around it, and its prompt.
fn inputs<'a>(
    host: Host<'a>,
    run: &RunScope<'_>,
    at: &'a IssueAt<'_>,
    progress: &'a IssueProgress,
    step: &StepInput<'a>,
    around: &'a Surroundings,
    (id, (prompt, expected)): (PhaseId, (String, crate::agent::contract::Expected)),
) -> PhaseInputs<'a> {
    let issue = at.issue;
    let approved = crate::gates::approval::covering(
        &run.opts.approvals,
        crate::guard::secrets::GATE,
        &issue.id,
    );
    PhaseInputs {
        dir: at.dir.join(id.dir_name()),
        id,
        kind: step.kind,
        issue,
        base: &at.base,
        config: host.config,
        repo_root: host.repo_root,
        agent: host.agent(issue, step.kind),
        dev_agent: host.agent(issue, PhaseKind::Dev),
        fix_agent: host.agent(issue, PhaseKind::Fix),
        dev_session: progress.dev_session.as_deref(),
        stack: &progress.stack,
        foreign: foreign(run, &issue.id),
        secrets_approved: approved.is_some(),
        shard: step.shard,
        full_gate: step.full_gate,
        prompt,
        expected,
        timeout: at.timeout,
        around,
    }
}

/// Tells the run the phase (and the shard it works on) started.
fn announce(host: Host<'_>, at: &IssueAt<'_>, step: &StepInput<'_>, seq: u32) {
    if let Some(shard) = step.shard {
        host.emit(&EngineEvent::ShardStarted {
            id: at.issue.id.clone(),
            shard: shard.id.clone(),
            title: shard.title.clone(),
        });
    }
    host.emit(&EngineEvent::PhaseStarted {
        id: at.issue.id.clone(),
        seq,
        phase: step.kind,
        agent: host.agent_name(at.issue, step.kind).to_owned(),
    });
}

/// The phase's prompt (with the repository map of the worktree) and the result it asks for.
async fn prompt_for<R>(
    tools: Tools<'_, R>,
    run: &RunScope<'_>,
    at: &IssueAt<'_>,
    step: &StepInput<'_>,
    id: &PhaseId,
) -> Result<(String, crate::agent::contract::Expected), EngineError> {
    let host = tools.host;
    let phase_key = format!(
        "{}/{}",
        crate::model::naming::ref_component(&at.issue.id),
        id.dir_name()
    );
    let repo_map = repo_map(host, at).await;
    let task_context = crate::agent::handoff::task_context(
        &at.issue.spec,
        step.shard,
        step.gate,
        repo_map.as_deref(),
    );
    let input = prompt::PromptInput {
        plan: run.plan,
        issue: at.issue,
        body: &at.body,
        base: &at.base,
        kind: step.kind,
        cycle: step.cycle,
        review: step.review,
        prior_fix: step.prior_fix,
        forge: step.forge,
        task_context,
        phase_key,
        orch_submits: host.orch_submits(at.issue),
    };
    Ok(prompt::compose(
        host.repo_root,
        host.config,
        tools.schemas,
        input,
    )?)
}

/// The repository map of the worktree's HEAD for a phase prompt, the task's preferred paths
/// first (built once per tree, then read from the cache under the git dir). A map that cannot
/// be built is left out, with a warning: it is a help, not a precondition.
async fn repo_map(host: Host<'_>, at: &IssueAt<'_>) -> Option<String> {
    let budget = host.config.repo_map_bytes();
    if budget == 0 {
        return None;
    }
    let (common, hints) = (at.common_dir.clone(), at.issue.spec.paths.clone());
    let built = git(&at.issue.worktree, move |repo| {
        let Some(head) = repo.head()?.oid else {
            return Ok(Err("the worktree has no commit".to_owned()));
        };
        Ok(
            crate::agent::repomap::for_prompt(repo, &common, &head, &hints, budget)
                .map_err(|e| e.to_string()),
        )
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    built
        .inspect_err(|e| tracing::warn!("no repository map for {}: {e}", at.issue.id))
        .ok()
}

/// The branches of the run's other issues (each one's branch, and those its phases made):
/// never part of this issue's stack, even where one starts from the same commit.
fn foreign(run: &RunScope<'_>, id: &str) -> Vec<String> {
    let mut out: Vec<String> = (run.plan.issues.iter())
        .filter(|i| i.id != id)
        .map(|i| i.branch.clone())
        .chain(run.flight.branches_of_others(id))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The plan of a phase the run would run, for the dry run: the same [`plan::plan`], from
/// what the host looks like before any worktree is made. Its prompt is the phase's template
/// as given to the agent, without the repository map (built from the worktree once made).
pub fn foreseen(
    host_config: &crate::input::config::Config,
    repo_root: &std::path::Path,
    schemas: &crate::agent::contract::schema::Schemas,
    what: Foreseen<'_>,
) -> Result<PhasePlan, EngineError> {
    let Foreseen {
        plan: run_plan,
        issue,
        kind,
        agents,
        base,
        run_id,
        issue_dir,
        common_dir,
        worktree_name,
    } = what;
    let id = PhaseId {
        run_id: run_id.to_owned(),
        milestone: run_plan.milestone.clone(),
        issue: issue.id.clone(),
        seq: 1,
        phase: kind.name().to_owned(),
    };
    let agent_of = |k: PhaseKind| crate::agent::choice::phase_agent(issue, k, agents(k));
    let writers = crate::agent::choice::writers(issue, agents);
    let input = prompt::PromptInput {
        plan: run_plan,
        issue,
        body: &issue.body,
        base,
        kind,
        cycle: 1,
        review: None,
        prior_fix: None,
        forge: None,
        task_context: crate::agent::handoff::task_context(&issue.spec, None, None, None),
        phase_key: format!(
            "{}/{}",
            crate::model::naming::ref_component(&issue.id),
            id.dir_name()
        ),
        orch_submits: host_config.orch_submits_drafts(&writers),
    };
    let (prompt, expected) = prompt::compose(repo_root, host_config, schemas, input)?;
    let around = Surroundings::foreseen(common_dir, worktree_name);
    let full_gate = issue.spec.shards.len() <= 1;
    Ok(plan::plan(PhaseInputs {
        dir: issue_dir.join(id.dir_name()),
        id,
        kind,
        issue,
        base,
        config: host_config,
        repo_root,
        agent: agent_of(kind),
        dev_agent: agent_of(PhaseKind::Dev),
        fix_agent: agent_of(PhaseKind::Fix),
        dev_session: None,
        stack: std::slice::from_ref(&issue.branch),
        foreign: Vec::new(),
        secrets_approved: false,
        shard: issue.spec.shards.first(),
        full_gate,
        prompt,
        expected,
        timeout: host_config.phase_timeout(),
        around: &around,
    }))
}

/// Which phase of which issue [`foreseen`] plans, and what the run would start it from.
pub struct Foreseen<'a> {
    pub plan: &'a crate::model::plan::Plan,
    pub issue: &'a crate::model::plan::PlannedIssue,
    pub kind: PhaseKind,
    /// The run's agent CLI per phase.
    pub agents: &'a dyn Fn(PhaseKind) -> Option<crate::input::config::AgentKind>,
    pub base: &'a str,
    pub run_id: &'a str,
    pub issue_dir: &'a std::path::Path,
    pub common_dir: &'a std::path::Path,
    pub worktree_name: &'a str,
}

//! The state recorder: a reporter that builds the run state from the engine's events and
//! writes it at every transition (see `record::state`).

use crate::model::event::{EngineEvent, Report, ReportError, Stamped};
use crate::model::request::RunRequest;
use crate::model::state::{CurrentPhase, IssueState, IssueStatus, RunState};
use std::path::PathBuf;
use std::sync::Mutex;

/// A reporter that keeps the run's state file current.
pub struct StateRecorder {
    common_dir: PathBuf,
    state: Mutex<Option<RunState>>,
    /// What the run was asked for: kept in its state as it is.
    request: RunRequest,
}

impl StateRecorder {
    /// `prior` is the state being resumed, if any: its records are kept.
    pub fn new(common_dir: PathBuf, prior: Option<RunState>) -> Self {
        StateRecorder {
            common_dir,
            state: Mutex::new(prior),
            request: RunRequest::default(),
        }
    }

    /// The state as it stands in memory (written or not).
    pub fn current(&self) -> Option<RunState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// What the run was asked for (see [`RunRequest`]): a resume asks for the same.
    pub fn with_request(mut self, request: RunRequest) -> Self {
        self.request = request;
        self
    }

    /// Takes an event into the state and writes it; the state as written, when the event
    /// changed it (for the reporters that show it, such as the dashboard). A state that
    /// cannot be written is an error the run must stop at: it is what `orch resume`
    /// continues from.
    pub fn record(&self, stamped: &Stamped<'_>) -> Result<Option<RunState>, ReportError> {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = stamped.ts.to_owned();
        match stamped.event {
            EngineEvent::RunStarted {
                run_id,
                project,
                milestone,
                issue_ids,
                budget,
                sandbox,
                base,
                base_commit,
                carried,
                restart,
                ..
            } => {
                let state = guard.get_or_insert_with(|| RunState {
                    run_id: run_id.clone(),
                    project: project.clone(),
                    milestone: milestone.clone(),
                    started_at: now.clone(),
                    updated_at: now.clone(),
                    finished: false,
                    request: self.request.clone(),
                    base: None,
                    base_commit: None,
                    restart: restart.clone(),
                    budget: None,
                    sandbox: None,
                    issues: Vec::new(),
                });
                state.finished = false;
                // `orch watch` of a run started without `--follow`: a resume after it watches
                // on.
                state.request.follow |= self.request.follow;
                state.sandbox = Some(sandbox.clone());
                state.budget = budget.any().then_some(*budget);
                state.base = Some(base.clone());
                state.base_commit = Some(base_commit.clone());
                for id in issue_ids {
                    if state.issue(id).is_none() {
                        let mut issue = IssueState::pending(id);
                        // Carried from an earlier run: ended in the state's first write, so
                        // no crash can leave it looking unstarted.
                        if let Some(summary) = carried.iter().find(|s| &s.id == id) {
                            issue.status = summary.outcome.into();
                            issue.phases = summary.phases.clone();
                            issue.summary = Some(summary.clone());
                        }
                        state.issues.push(issue);
                    }
                }
            }
            EngineEvent::BranchSetAside { id, set_aside } => {
                if let Some(i) = issue_mut(&mut guard, id) {
                    i.set_aside = Some(set_aside.clone());
                }
            }
            EngineEvent::IssueStarted { id, .. } => {
                if let Some(i) = issue_mut(&mut guard, id) {
                    // A task waiting for an approval is looked at again (its gated command
                    // may run now): in progress until it ends again.
                    let waiting = i.summary.as_ref().is_some_and(|s| s.awaits_approval());
                    let reopened =
                        matches!(i.status, IssueStatus::Interrupted | IssueStatus::Budget);
                    if i.summary.is_none() || reopened || waiting {
                        i.status = IssueStatus::InProgress;
                        i.started_at.get_or_insert(now.clone());
                    }
                    if waiting {
                        i.summary = None;
                    }
                }
            }
            EngineEvent::PhaseStarted {
                id,
                seq,
                phase,
                agent,
            } => {
                if let Some(i) = issue_mut(&mut guard, id) {
                    // A fix its pull request asked for runs after the loop ended: the issue
                    // stays as it ended (the watch record says what runs).
                    if i.forge.is_none() {
                        i.status = IssueStatus::InProgress;
                        i.summary = None;
                    }
                    i.current_phase = Some(CurrentPhase {
                        seq: *seq,
                        phase: *phase,
                        started_at: now.clone(),
                        agent: None,
                        agent_name: Some(agent.clone()),
                    });
                }
            }
            EngineEvent::AgentStarted { id, seq, agent } => {
                if let Some(current) = issue_mut(&mut guard, id)
                    .and_then(|i| i.current_phase.as_mut())
                    .filter(|c| c.seq == *seq)
                {
                    current.agent = Some(agent.clone());
                }
            }
            EngineEvent::PhaseFinished { id, record } => {
                if let Some(i) = issue_mut(&mut guard, id) {
                    i.current_phase = None;
                    i.phases.retain(|p| p.seq != record.seq);
                    i.phases.push(record.clone());
                }
            }
            EngineEvent::Verified { id, record, .. } => {
                if let Some(i) = issue_mut(&mut guard, id) {
                    i.phases.retain(|p| p.seq != record.seq);
                    i.phases.push(record.clone());
                }
            }
            EngineEvent::CommandRun { id, record, .. } => {
                if let Some(i) = issue_mut(&mut guard, id) {
                    i.commands.retain(|c| c.name != record.name);
                    i.commands.push(record.clone());
                }
            }
            EngineEvent::Watched { id, record, .. } => {
                if let Some(i) = issue_mut(&mut guard, id) {
                    i.forge = Some(record.clone());
                }
            }
            EngineEvent::Dispatched { id, record, .. } => {
                if let Some(i) = issue_mut(&mut guard, id) {
                    i.dispatched = Some(record.clone());
                }
            }
            // An update after the end (a fix its PR asked for) keeps the outcome it ended with.
            EngineEvent::IssueFinished { summary } | EngineEvent::IssueUpdated { summary } => {
                if let Some(i) = issue_mut(&mut guard, &summary.id) {
                    i.status = summary.outcome.into();
                    i.current_phase = None;
                    i.phases = summary.phases.clone();
                    i.summary = Some(summary.clone());
                }
            }
            EngineEvent::RunFinished { .. } => {
                if let Some(s) = guard.as_mut() {
                    // A task waiting for an approval goes on with `orch resume`: not finished.
                    s.finished = !s.issues.iter().any(|i| {
                        matches!(
                            i.status,
                            IssueStatus::InProgress
                                | IssueStatus::Interrupted
                                | IssueStatus::Budget
                                | IssueStatus::Pending
                        ) || i.summary.as_ref().is_some_and(|s| s.awaits_approval())
                            || i.forge.as_ref().is_some_and(|w| w.outcome.is_none())
                    });
                }
            }
            EngineEvent::WorktreeReady { .. }
            | EngineEvent::Activity { .. }
            | EngineEvent::GuardRefused { .. }
            | EngineEvent::ShardStarted { .. }
            | EngineEvent::AcceptanceChecked { .. }
            | EngineEvent::AwaitingApproval { .. }
            | EngineEvent::BaseFallback { .. }
            | EngineEvent::PullRequest { .. }
            | EngineEvent::ForgeNote { .. }
            | EngineEvent::BudgetReserved { .. }
            | EngineEvent::BudgetExhausted { .. }
            | EngineEvent::PhaseRetry { .. } => return Ok(None),
        }
        let Some(state) = guard.as_mut() else {
            return Ok(None);
        };
        state.updated_at = now;
        super::state::save(&self.common_dir, state).map_err(|source| ReportError {
            what: "the run state",
            path: super::state::path(&self.common_dir, &state.run_id),
            source,
        })?;
        Ok(Some(state.clone()))
    }
}

impl Report for StateRecorder {
    fn write(&self, event: &Stamped<'_>) -> Result<(), ReportError> {
        self.record(event).map(drop)
    }
}

fn issue_mut<'a>(state: &'a mut Option<RunState>, id: &str) -> Option<&'a mut IssueState> {
    state.as_mut()?.issues.iter_mut().find(|i| i.id == id)
}

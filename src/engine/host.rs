//! What every part of a run reads and none owns: the repository, its configuration, where
//! events go, the interrupt, and which agent CLI runs each phase. Copied into the functions
//! that need it (confinement, audit, retries, set-up, verification, commands), so none of them
//! is a method of the engine and each names what else it takes.

use crate::agent::PhaseKind;
use crate::input::config::{AgentKind, Config};
use crate::model::event::{Emitter, EngineEvent};
use crate::model::plan::{Plan, PlannedIssue};
use std::path::Path;
use tokio::sync::watch;

#[derive(Clone, Copy)]
pub(super) struct Host<'a> {
    pub repo_root: &'a Path,
    pub config: &'a Config,
    emitter: &'a Emitter,
    cancel: &'a Option<watch::Receiver<bool>>,
    /// The run's agent CLI for dev, review and fix (`None`: an in-process runner).
    agents: [Option<AgentKind>; 3],
}

impl<'a> Host<'a> {
    pub fn new(
        repo_root: &'a Path,
        config: &'a Config,
        emitter: &'a Emitter,
        cancel: &'a Option<watch::Receiver<bool>>,
        agent: impl Fn(PhaseKind) -> Option<AgentKind>,
    ) -> Host<'a> {
        Host {
            repo_root,
            config,
            emitter,
            cancel,
            agents: PhaseKind::ALL.map(agent),
        }
    }

    /// Tells the reporters (the event stamped once, here).
    pub fn emit(&self, event: &EngineEvent) {
        self.emitter.emit(event)
    }

    /// The same, for what tells them from elsewhere (an agent's callbacks).
    pub fn emitter(&self) -> Emitter {
        self.emitter.clone()
    }

    /// The interrupt, for what runs a process (it stops on it).
    pub fn cancel(&self) -> Option<watch::Receiver<bool>> {
        self.cancel.clone()
    }

    /// orch's own git against `[forge] remote`, from the repository, stopping on the
    /// interrupt.
    pub fn remote_git(&self) -> super::remote_git::RemoteGit<'a> {
        super::remote_git::RemoteGit {
            dir: self.repo_root,
            config: self.config,
            cancel: self.cancel(),
            on_runner: false,
        }
    }

    /// Whether the run was interrupted (SIGINT/SIGTERM).
    pub fn cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(|c| *c.borrow())
    }

    /// The agent CLI that runs `issue`'s phases of `kind`: the task's own choice (a plan
    /// file's `agents:`), else the run's; `None` for an in-process runner.
    pub fn agent(&self, issue: &PlannedIssue, kind: PhaseKind) -> Option<AgentKind> {
        crate::agent::choice::phase_agent(issue, kind, self.agents[kind.index()])
    }

    /// Its name, for the events and records (`agent` for an in-process runner).
    pub fn agent_name(&self, issue: &PlannedIssue, kind: PhaseKind) -> &'static str {
        self.agent(issue, kind).map_or("agent", AgentKind::name)
    }

    /// How it is confined: an in-process runner counts as codex.
    pub fn agent_kind(&self, issue: &PlannedIssue, kind: PhaseKind) -> AgentKind {
        self.agent(issue, kind).unwrap_or_default()
    }

    /// Whether orch submits `issue`'s drafts itself: the agents of its dev and fix phases are
    /// sandboxed without a network.
    pub fn orch_submits(&self, issue: &PlannedIssue) -> bool {
        let writers = crate::agent::choice::writers(issue, |k| self.agents[k.index()]);
        self.config.orch_submits_drafts(&writers)
    }

    /// How the run's agents are confined, for the records: codex's sandbox mode, or
    /// `claude:none` when claude phases run open under codex's worktree profile (or alone).
    pub fn sandbox_name(&self, plan: &Plan) -> String {
        use crate::input::config::{Sandbox, SANDBOX_CLAUDE_OPEN, SANDBOX_WORKTREE};
        let used: Vec<AgentKind> = PhaseKind::ALL
            .iter()
            .flat_map(|k| {
                std::iter::once(self.agents[k.index()].unwrap_or_default())
                    .chain(plan.issues.iter().map(|i| self.agent_kind(i, *k)))
            })
            .collect();
        let codex = self.config.sandbox();
        let codex_used = used.contains(&AgentKind::Codex);
        let claude_open = used.contains(&AgentKind::Claude) && !self.config.claude_sandboxed();
        match (claude_open, codex_used) {
            (true, false) => SANDBOX_CLAUDE_OPEN.to_owned(),
            (true, true) if codex == Sandbox::Worktree => SANDBOX_CLAUDE_OPEN.to_owned(),
            _ if !codex_used => SANDBOX_WORKTREE.to_owned(),
            _ => codex.name().to_owned(),
        }
    }

    /// How long one phase, check or command of a task may run: its timebox, else
    /// `phase_timeout`.
    pub fn task_timeout(&self, issue: &PlannedIssue) -> std::time::Duration {
        issue
            .spec
            .constraints
            .timebox
            .as_deref()
            .and_then(crate::util::timeutil::parse_duration)
            .unwrap_or_else(|| self.config.phase_timeout())
    }
}

/// The host, with the runner that runs the agents and the schemas their results must meet:
/// what a phase needs beyond its own inputs.
pub(super) struct Tools<'a, R> {
    pub host: Host<'a>,
    pub runner: &'a R,
    pub schemas: &'a crate::agent::contract::schema::Schemas,
}

impl<R> Clone for Tools<'_, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for Tools<'_, R> {}

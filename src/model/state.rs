//! The state of a run as data: each issue's status, the phase running now, every finished
//! phase's record, and what the run was limited to. `record::state` keeps it on disk; resume,
//! status and the reports read it.

use super::phase::{AgentProcess, PhaseKind};
use super::record::{CommandRecord, GuardCounts, IssueSummary, Outcome, PhaseRecord};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueStatus {
    Pending,
    InProgress,
    Completed,
    Failed,
    Blocked,
    Capped,
    Deferred,
    Skipped,
    Interrupted,
    Budget,
}

impl From<Outcome> for IssueStatus {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Completed => IssueStatus::Completed,
            Outcome::Failed => IssueStatus::Failed,
            Outcome::Blocked => IssueStatus::Blocked,
            Outcome::Capped => IssueStatus::Capped,
            Outcome::Deferred => IssueStatus::Deferred,
            Outcome::Skipped => IssueStatus::Skipped,
            Outcome::Interrupted => IssueStatus::Interrupted,
            Outcome::Budget => IssueStatus::Budget,
        }
    }
}

/// The phase running right now (no record yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentPhase {
    pub seq: u32,
    pub phase: PhaseKind,
    pub started_at: String,
    /// The agent's process group, once it runs: `orch resume` stops it if a killed orch
    /// left it running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentProcess>,
    /// The agent CLI it runs on (`codex`, `claude`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
}

/// What became of an issue's earlier branch when a run set it aside to run the issue from
/// scratch (`orch run --fresh`, `--retry`): nothing an earlier run made is lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetAside {
    pub branch: String,
    /// The rescue ref now holding the branch's tip; `None` when there was no such branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_to: Option<String>,
    /// The rescue ref holding what its worktree left uncommitted, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncommitted: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssueState {
    pub id: String,
    pub status: IssueStatus,
    pub current_phase: Option<CurrentPhase>,
    /// Every phase that finished, in order (kept across resumes).
    pub phases: Vec<PhaseRecord>,
    /// The issue's summary once its loop ended.
    pub summary: Option<IssueSummary>,
    pub started_at: Option<String>,
    /// Task commands that ran, recorded as each ends: a resume after a crash must not run
    /// a `deploy` that already ran because the summary was never written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<CommandRecord>,
    /// Its earlier branch, set aside before this run ran it from scratch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_aside: Option<SetAside>,
    /// The watch of its pull request (`orch watch`, `orch run --follow`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forge: Option<crate::model::forge::WatchRecord>,
    /// Its last dispatch to a CI runner (`orch run --on github`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatched: Option<crate::model::remote::Dispatched>,
}

impl IssueState {
    /// An issue the run has not started.
    pub fn pending(id: &str) -> IssueState {
        IssueState {
            id: id.to_owned(),
            status: IssueStatus::Pending,
            current_phase: None,
            phases: Vec::new(),
            summary: None,
            started_at: None,
            commands: Vec::new(),
            set_aside: None,
            forge: None,
            dispatched: None,
        }
    }

    /// The log directory its run recorded: its summary's, else the one its last phase's
    /// logs are in. `None` before anything of it was recorded.
    pub fn recorded_log_dir(&self) -> Option<PathBuf> {
        self.summary
            .as_ref()
            .map(|s| s.log_dir.clone())
            .or_else(|| Some(self.phases.last()?.log_dir.parent()?.to_owned()))
    }
}

/// What an issue's recorded phases add up to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssueStats {
    /// Fix cycles (superseded records left out).
    pub cycles: usize,
    pub commits: usize,
    pub tokens: u64,
    pub duration_ms: u64,
    /// The verdict of the last review.
    pub last_review: Option<String>,
    pub guard: GuardCounts,
}

impl IssueState {
    pub fn stats(&self) -> IssueStats {
        let mut stats = IssueStats::default();
        for p in &self.phases {
            if p.phase == PhaseKind::Fix && !p.superseded {
                stats.cycles += 1;
            }
            if p.phase == PhaseKind::Review && p.status.is_some() {
                stats.last_review = p.status.clone();
            }
            stats.commits += p.commits;
            stats.tokens += p.usage.total();
            stats.duration_ms += p.duration_ms;
            stats.guard = stats.guard + p.guard;
        }
        stats
    }

    /// `in_progress`, `completed`, …
    pub fn status_name(&self) -> String {
        serde_json::to_value(self.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    pub run_id: String,
    /// The milestone's project; absent in runs of a tree without projects, of plan files,
    /// and in states written before projects were known (read as such).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    pub milestone: String,
    pub started_at: String,
    pub updated_at: String,
    pub finished: bool,
    /// What the run was asked for (its plan file, what it is limited to, how it runs): a
    /// resume asks for the same. Its keys sit at the top level of the state, as before there
    /// was one value for them.
    #[serde(flatten)]
    pub request: crate::model::request::RunRequest,
    /// The branch the issue branches start from (`--base`, else the branch checked out when
    /// the run started, else the trunk); a resume keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// The commit of `base` the run started from; a resume starts its new issues there too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_commit: Option<String>,
    /// Issues this run runs from scratch, their earlier branches set aside first (`--fresh`,
    /// `--retry`); a resume finishes setting them aside.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restart: Vec<String>,
    /// The budget the run is held to (the last one set); a resume keeps it unless given one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<crate::model::budget::Limits>,
    /// How the agent's commands were confined (`worktree`, or the codex mode named).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<String>,
    /// Issues in plan order.
    pub issues: Vec<IssueState>,
}

impl RunState {
    pub fn issue(&self, id: &str) -> Option<&IssueState> {
        self.issues.iter().find(|i| i.id == id)
    }

    /// What runs are ordered by when the newest is wanted: last written, then run id.
    pub fn recency(&self) -> (&str, &str) {
        (&self.updated_at, &self.run_id)
    }

    /// What the run is of: `ledger-api/M1`, `M1`, or a plan's name.
    pub fn scope(&self) -> crate::model::naming::Scope {
        crate::model::naming::Scope::new(self.project.as_deref(), &self.milestone)
    }
}

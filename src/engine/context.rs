//! What a phase runs within, in three parts that change at different rates: the run
//! ([`RunScope`]: its plan and options, what else is in flight, the budget), the issue
//! ([`IssueAt`]: where it runs and what it starts from), and what its loop has done so far
//! that the next phase depends on ([`IssueProgress`]). Apart from `phase` so that the phase, its
//! confinement, audit, retries and verification read them without reaching into one another.

use super::budget::Budget;
use super::flight::Flight;
use super::RunOptions;
use crate::model::phase::Usage;
use crate::model::plan::{Plan, PlannedIssue};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The run an issue's loop is part of.
pub(super) struct RunScope<'a> {
    pub plan: &'a Plan,
    pub opts: &'a RunOptions,
    /// What else is in flight in the run.
    pub flight: &'a Flight,
    /// The run's budget (and the model's price).
    pub budget: &'a Budget,
    /// What the host offers every phase, read at the first.
    pub host: std::cell::OnceCell<super::phase::plan::HostSurvey>,
    /// The forge drafts are opened on, connected at the first submit (`None`: it could not
    /// be, said once).
    pub forge: tokio::sync::OnceCell<Result<crate::forge::Forge, String>>,
    /// Whether the run said why it opens no drafts (once).
    pub unsubmitted: tokio::sync::OnceCell<()>,
}

/// One issue, where its loop runs.
pub(super) struct IssueAt<'a> {
    pub issue: &'a PlannedIssue,
    /// What the prompts give as the issue: its doc's body, else a task's description.
    pub body: String,
    /// The commit its branch starts from.
    pub base: String,
    /// The branch it stacks on (its blocker's, else the run's base): its PR's base.
    pub parent: String,
    /// Its log directory in this run.
    pub dir: &'a Path,
    /// The repository's common git dir.
    pub common_dir: PathBuf,
    /// The agent's timeout per phase (the task's timebox, else the configured one).
    pub timeout: std::time::Duration,
}

/// What an issue's loop has done that its next phase depends on.
#[derive(Debug, Default)]
pub(super) struct IssueProgress {
    /// The sequence number of the latest phase (the next is one more).
    pub seq: u32,
    /// Last cumulative usage per session, for per-phase deltas.
    pub sessions: BTreeMap<String, Usage>,
    /// The session a fix continues: the last dev phase's.
    pub dev_session: Option<String>,
    /// The issue branch plus branches its phases created on top of it.
    pub stack: Vec<String>,
}

impl IssueProgress {
    /// Adds branches a phase created to the issue's stack.
    pub fn stacked<'n>(&mut self, created: impl IntoIterator<Item = &'n str>) {
        for name in created {
            if !self.stack.iter().any(|s| s == name) {
                self.stack.push(name.to_owned());
            }
        }
    }
}

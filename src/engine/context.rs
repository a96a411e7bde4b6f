//! What the phases of one issue's loop share: where it runs, what it has done so far (the
//! sessions, the stack, the phase count), and the run's shared parts (the budget, what else
//! is in flight). Apart from `phase` so that the phase, its confinement, audit, retries and
//! verification all read it without reaching into one another.

use super::RunOptions;
use crate::model::phase::Usage;
use crate::model::plan::{Plan, PlannedIssue};
use std::collections::BTreeMap;
use std::path::Path;

/// What the phases of one issue's loop share.
pub(super) struct LoopContext<'a> {
    pub plan: &'a Plan,
    pub issue: &'a PlannedIssue,
    pub body: &'a str,
    pub base: &'a str,
    pub issue_dir: &'a Path,
    pub opts: &'a RunOptions,
    pub common_dir: &'a Path,
    pub seq: u32,
    /// Last cumulative usage per session, for per-phase deltas.
    pub sessions: BTreeMap<String, Usage>,
    pub dev_session: Option<String>,
    /// The issue branch plus branches its phases created on top of it.
    pub stack: Vec<String>,
    /// The agent's timeout per phase (the task's timebox, else the configured one).
    pub timeout: std::time::Duration,
    /// What else is in flight in the run, and when this phase started on its clock.
    pub flight: &'a super::flight::Flight,
    /// The run's budget (and the model's price).
    pub budget: &'a super::budget::Budget,
    pub phase_since: u64,
}

//! The records of a run: how each phase and issue ended, what it cost, what the guard saw.
//! Pure data (what the run state, summaries and reports are made of); the engine fills them
//! in, `record` keeps them on disk and `report` renders them.

use super::phase::{PhaseFailure, PhaseKind, Usage};
use super::plan::PlannedIssue;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// How an issue's loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Completed,
    Blocked,
    Failed,
    Capped,
    /// A dev or fix phase said `deferred`: a human must decide or supply something first.
    Deferred,
    Skipped,
    /// Stopped by SIGINT/SIGTERM; the worktree is kept.
    Interrupted,
    /// Its next phase did not fit in the run's or the issue's budget; the worktree is kept,
    /// and a resume with a larger budget continues it.
    Budget,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Blocked => "blocked",
            Outcome::Failed => "failed",
            Outcome::Capped => "capped",
            Outcome::Deferred => "deferred",
            Outcome::Skipped => "skipped",
            Outcome::Interrupted => "interrupted",
            Outcome::Budget => "budget",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseRecord {
    pub seq: u32,
    pub phase: PhaseKind,
    /// The result's `status`, when the phase produced a valid result.
    pub status: Option<String>,
    pub failure: Option<PhaseFailure>,
    pub session_id: Option<String>,
    /// Tokens this phase used (the session's counters are cumulative).
    pub usage: Usage,
    pub commits: usize,
    pub duration_ms: u64,
    pub log_dir: PathBuf,
    /// gt/git attempts the guard allowed and denied, and audit violations.
    #[serde(default)]
    pub guard: GuardCounts,
    /// Set when `orch resume --retry` ran this phase's step again; the loop then ignores it.
    #[serde(default)]
    pub superseded: bool,
    /// The shard a dev phase worked on (plan mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// The acceptance checks run after this (dev or fix) phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance: Option<GateRecord>,
    /// What its usage cost, when the model it ran has a price (`[pricing]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// The agent CLI that ran it (`codex`, `claude`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

/// How the acceptance checks after one phase came out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateRecord {
    /// Every check of the task (the gate a task must pass to converge), rather than only
    /// the checks of the shard just developed.
    pub full: bool,
    pub passed: usize,
    /// The failed checks, each as `<check> — <why>`.
    pub failed: Vec<String>,
}

impl GateRecord {
    pub fn ok(&self) -> bool {
        self.failed.is_empty()
    }
}

/// The checks of an issue's final head in a clean checkout of it (no untracked file of the
/// agent's worktree), and each verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// The commit checked out and verified.
    pub commit: String,
    pub checks: Vec<crate::model::check::CheckOutcome>,
    /// Why the clean room could not be made or set up, if it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.checks.iter().all(|c| c.passed)
    }

    /// The gate a fix addresses when the verification failed.
    pub fn gate(&self) -> GateRecord {
        let mut failed: Vec<String> = self
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| {
                format!(
                    "{} — in a clean checkout of {}: {}",
                    c.check,
                    crate::model::naming::short_oid(&self.commit),
                    c.detail
                )
            })
            .collect();
        if let Some(e) = &self.error {
            failed.push(format!(
                "clean-room verification of {}: {e}",
                crate::model::naming::short_oid(&self.commit)
            ));
        }
        GateRecord {
            full: true,
            passed: self.checks.iter().filter(|c| c.passed).count(),
            failed,
        }
    }
}

/// A task command orch ran after the task converged (`build`, `release`, `deploy`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRecord {
    pub name: String,
    pub command: String,
    pub status: Option<i32>,
    pub log: PathBuf,
    pub duration_ms: u64,
    /// The approval that let it run, when it is gated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardCounts {
    pub allowed: usize,
    pub denied: usize,
    pub violations: usize,
}

impl std::ops::Add for GuardCounts {
    type Output = GuardCounts;

    fn add(self, other: GuardCounts) -> GuardCounts {
        GuardCounts {
            allowed: self.allowed + other.allowed,
            denied: self.denied + other.denied,
            violations: self.violations + other.violations,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssueSummary {
    pub id: String,
    pub title: String,
    pub outcome: Outcome,
    pub reason: Option<String>,
    /// Review/fix cycles used (fix phases run).
    pub cycles: u32,
    pub branch: String,
    pub phases: Vec<PhaseRecord>,
    pub commits: usize,
    pub tokens: Usage,
    /// What the last review still required, when capped or blocked.
    pub remaining_actions: Vec<String>,
    pub rescue_ref: Option<String>,
    pub log_dir: PathBuf,
    /// The commit the issue's branch started from (the trunk, or the branch it stacks on).
    pub base: Option<String>,
    #[serde(default)]
    pub guard: GuardCounts,
    /// Approval gates the task waits for (its outcome is then `blocked`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub awaiting: Vec<String>,
    /// Task commands run after the task converged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<CommandRecord>,
    /// What a `deferred` dev or fix left for a human (its `deferred`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deferred: Vec<String>,
    /// The questions it asked (its `openQuestions`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open_questions: Vec<String>,
    /// Draft pull requests the dev and fix phases submitted (their `draftPrs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub draft_prs: Vec<String>,
    /// The pull request orch opened (or found open) for its branch (`[submit] via = "github"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull: Option<Box<PullRecord>>,
    /// How the watch of its pull request stands (`orch watch`, `orch run --follow`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<Box<crate::model::forge::WatchRecord>>,
    /// The clean-room verification of its final head, when one ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<Verification>,
    /// Why a skipped issue did not run (see [`IssueSummary::skip_kind`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip: Option<SkipKind>,
    /// The budget that stopped it (its outcome is then `budget`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<crate::model::budget::BudgetStop>,
    /// Its branch's final head when it completed: what its dependents start from, also in a
    /// later run (the phases' pinned refs keep it reachable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    /// The run it completed in, when that was an earlier run than the one this summary is
    /// part of (a later run carries it, and does not run it again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_in: Option<String>,
    /// Where it ran, when a CI runner worked it (`orch run --on github`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ran_on: Option<Box<crate::model::remote::RanOn>>,
}

/// An issue's pull request on the forge, as orch opened or found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRecord {
    pub number: u64,
    pub url: String,
    /// The branch it merges into: the branch the issue stacks on, or the run's base.
    pub base: String,
    /// The issue's branch.
    pub head: String,
    /// The commit orch pushed last (what the PR's head was then).
    pub pushed: String,
    /// A restack orch made and is pushing (recorded first): after a crash it is pushed
    /// again, never replayed a second time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restacking: Option<String>,
}

/// Why an issue was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipKind {
    /// Its docs' state is done-like (`landed`, `done`, …): its work is on the trunk, and it
    /// counts as passed.
    Done,
    /// Its docs' state says so (not ready, or done-like in a run recorded before `Done`
    /// was): the user's choice, not a failure.
    State,
    /// A dependency did not pass: a resume looks again once it has.
    Dependency,
}

impl IssueSummary {
    /// Passed for its dependents and the tally: completed, or done by its docs.
    pub fn is_done(&self) -> bool {
        self.outcome == Outcome::Completed || self.skip_kind() == Some(SkipKind::Done)
    }

    /// How its loop ended, in a few words: `failed (review phase failed)`.
    pub fn ended(&self) -> String {
        match &self.reason {
            Some(reason) => format!("{} ({reason})", self.outcome.name()),
            None => self.outcome.name().to_owned(),
        }
    }

    /// The tip orch pushed last of the issue's PR, when it has one.
    pub fn pushed(&self) -> Option<&str> {
        self.pull.as_ref().map(|p| p.pushed.as_str())
    }

    /// Blocked on an approval (not on a review or a failure): a resume looks again.
    pub fn awaits_approval(&self) -> bool {
        self.outcome == Outcome::Blocked && !self.awaiting.is_empty()
    }

    /// Why a skipped issue did not run; summaries written before the kind was recorded
    /// tell it by their reason's words.
    pub fn skip_kind(&self) -> Option<SkipKind> {
        if self.outcome != Outcome::Skipped {
            return None;
        }
        self.skip.or_else(|| {
            let reason = self.reason.as_deref().unwrap_or_default();
            if reason.starts_with("state is") {
                Some(SkipKind::State)
            } else if reason.starts_with("depends on") {
                Some(SkipKind::Dependency)
            } else {
                None
            }
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    pub milestone: String,
    pub started_at: String,
    pub finished_at: String,
    pub issues: Vec<IssueSummary>,
    /// The budget the run was held to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<crate::model::budget::Limits>,
    /// How the agent's commands were confined (`worktree`, or the codex mode named).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<String>,
}

/// The dollars phases cost, when any was priced.
pub fn cost_of<'p>(phases: impl IntoIterator<Item = &'p PhaseRecord>) -> Option<f64> {
    phases
        .into_iter()
        .filter_map(|p| p.cost_usd)
        .fold(None, |sum, c| Some(sum.unwrap_or(0.0) + c))
}

impl RunSummary {
    /// Every issue that ran completed (issues their docs' state skips do not count against it).
    pub fn all_passed(&self) -> bool {
        self.issues.iter().all(|i| {
            i.outcome == Outcome::Completed
                || (matches!(i.skip_kind(), Some(SkipKind::State | SkipKind::Done))
                    && i.phases.is_empty())
        })
    }
}

impl IssueSummary {
    /// A summary with nothing done yet.
    pub fn new(issue: &PlannedIssue, outcome: Outcome, issue_dir: &Path) -> IssueSummary {
        IssueSummary {
            id: issue.id.clone(),
            title: issue.title.clone(),
            outcome,
            reason: None,
            cycles: 0,
            branch: issue.branch.clone(),
            phases: Vec::new(),
            commits: 0,
            tokens: Usage::default(),
            remaining_actions: Vec::new(),
            rescue_ref: None,
            log_dir: issue_dir.to_owned(),
            base: None,
            guard: GuardCounts::default(),
            awaiting: Vec::new(),
            commands: Vec::new(),
            deferred: Vec::new(),
            open_questions: Vec::new(),
            draft_prs: Vec::new(),
            pull: None,
            watch: None,
            ran_on: None,
            verified: None,
            skip: None,
            budget: None,
            head: None,
            completed_in: None,
        }
    }
}

//! The plan of a milestone run: every issue in order with the branch, worktree and phases it
//! will get. This is what `orch plan` shows and what `orch run` will execute.
//!
//! `orch plan --json` serialises [`Plan`]; other tools rely on its shape (README.md).

use crate::model::check::Check;
use crate::model::dag::Dependency;
use crate::model::naming::Scope;
use crate::model::problem::Problem;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A milestone's own doc (see `input::docs::milestone_doc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MilestoneDoc {
    /// As shown to the user (like issue doc paths).
    pub path: PathBuf,
    /// Its front matter's `title`, else its first heading (`# M1: Title` gives `Title`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The project of the milestone (`None` in a tree without projects, and for plan files).
    pub project: Option<String>,
    pub milestone: String,
    /// The milestone's own doc (its goal and sequencing plan), when it has one.
    pub milestone_doc: Option<MilestoneDoc>,
    /// Docs outside this run that have problems (`orch validate` lists them).
    pub problems_elsewhere: usize,
    pub worktree_root: PathBuf,
    pub max_review_cycles: u32,
    /// In execution order.
    pub issues: Vec<PlannedIssue>,
    pub warnings: Vec<Problem>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedIssue {
    /// 1-based place in the execution order.
    pub position: usize,
    pub id: String,
    pub title: String,
    pub path: PathBuf,
    pub state: Option<String>,
    /// Ids this issue waits for (from its own `blocked_by` and others' `blocked`).
    pub blocked_by: Vec<String>,
    /// How each of those stands.
    pub dependencies: Vec<Dependency>,
    pub branch: String,
    pub worktree: PathBuf,
    /// Phases in the order they start; review and fix repeat up to `max_review_cycles`.
    pub phases: Vec<&'static str>,
    pub skipped: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// What a plan task (or an issue doc's `acceptance:`) adds to the bare issue loop.
    #[serde(skip_serializing_if = "TaskSpec::is_empty")]
    pub spec: TaskSpec,
    /// Skipped because its state is done-like: its dependents may proceed.
    #[serde(skip)]
    pub done: bool,
    /// The issue doc's Markdown body (empty for a plan task: its description stands).
    #[serde(skip)]
    pub body: std::sync::Arc<str>,
}

/// The parts of a task beyond id and title: hints and gates from `orchestrator.yml` (plan
/// mode) or an issue doc's front matter. Empty for a plain issue doc.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// `code_change | docs | test | release | deploy | chore`.
    #[serde(skip_serializing_if = "Option::is_none", rename = "type")]
    pub kind: Option<String>,
    /// The task's description (plan mode; an issue doc's body plays this part).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Preferred paths: where the work is expected to happen.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// Named commands (`lint`, `test`, `build`, `release`, `deploy`, `tag`, …), the task's
    /// own over the project's build defaults.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub commands: BTreeMap<String, String>,
    /// Gates checked in the worktree after each dev/fix phase.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub acceptance: Vec<Check>,
    /// Sub-tasks run in order as dev phases in the task's worktree.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<Shard>,
    #[serde(skip_serializing_if = "Constraints::is_empty")]
    pub constraints: Constraints,
    /// Approval gates (the task's own plus the plan's `orchestrator.approvals.required`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<String>,
    /// The task's own agent CLI per phase (`dev`, `review`, `fix`, or `all`), over the run's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub agents: BTreeMap<String, String>,
    /// The project's directory inside the repository (a plan's `project.root`): acceptance
    /// checks and task commands run there, and check paths are relative to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
}

impl TaskSpec {
    pub fn is_empty(&self) -> bool {
        self == &TaskSpec::default()
    }

    /// Where checks and commands run: the worktree, or the project root inside it.
    pub fn workdir(&self, worktree: &Path) -> PathBuf {
        self.root
            .as_deref()
            .and_then(|root| crate::util::fsutil::join_inside(worktree, root))
            .unwrap_or_else(|| worktree.to_owned())
    }

    /// The task's gate: its own checks, then every shard's.
    pub fn all_checks(&self) -> Vec<Check> {
        let mut checks = self.acceptance.clone();
        for shard in &self.shards {
            checks.extend(shard.acceptance.iter().cloned());
        }
        checks
    }

    /// The commands run after the task converged, in order: `build`, `release`, then the
    /// others by name; `lint` and `test` are for the agent and the acceptance checks.
    pub fn finishing_commands(&self) -> Vec<(&str, &str)> {
        let rank = |n: &str| match n {
            "build" => 0,
            "release" => 1,
            _ => 2,
        };
        let mut out: Vec<(&str, &str)> = self
            .commands
            .iter()
            .filter(|(n, _)| runs_after_convergence(n))
            .map(|(n, c)| (n.as_str(), c.as_str()))
            .collect();
        out.sort_by_key(|(n, _)| (rank(n), *n));
        out
    }

    /// The agent this task names for phases of `kind` (`kind`'s own entry, else `all`).
    pub fn agent_for(&self, kind: &str) -> Option<&str> {
        self.agents
            .get(kind)
            .or_else(|| self.agents.get("all"))
            .map(String::as_str)
    }

    /// Whether the approval gate `gate` is one this task must pass.
    pub fn gated(&self, gate: &str) -> bool {
        self.approvals.iter().any(|g| g == gate)
    }
}

/// Whether a task command named `name` runs after the task converged: all do but `lint` and
/// `test`, which are for the agent and the acceptance checks.
pub fn runs_after_convergence(name: &str) -> bool {
    !matches!(name, "lint" | "test")
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Shard {
    pub id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub acceptance: Vec<Check>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Constraints {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Paths the agent must not change (globs); a change there fails the phase's audit.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub forbidden_paths: Vec<String>,
    /// How long the task may take, as written (`30m`, `2h`); enforced as the phase timeout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timebox: Option<String>,
}

impl Constraints {
    pub fn is_empty(&self) -> bool {
        self == &Constraints::default()
    }
}

impl PlannedIssue {
    /// An issue of `p/M1` waiting for `deps` in its milestone, for the pure decisions' table
    /// tests.
    #[cfg(test)]
    pub fn for_test(id: &str, deps: &[&str]) -> PlannedIssue {
        PlannedIssue {
            position: 0,
            id: id.to_owned(),
            title: id.to_owned(),
            path: Default::default(),
            state: None,
            blocked_by: deps.iter().map(|d| d.to_string()).collect(),
            dependencies: deps
                .iter()
                .map(|d| crate::model::dag::Dependency::InMilestone { id: d.to_string() })
                .collect(),
            branch: format!("orch/p/M1/{id}"),
            worktree: Default::default(),
            phases: Vec::new(),
            skipped: false,
            skip_reason: None,
            spec: Default::default(),
            done: false,
            body: Default::default(),
        }
    }

    /// The ids of its dependencies in its own milestone (the others are satisfied or not by
    /// their docs, not by this run).
    pub fn milestone_dependencies(&self) -> impl Iterator<Item = &str> {
        self.dependencies
            .iter()
            .filter(|d| matches!(d, Dependency::InMilestone { .. }))
            .map(Dependency::id)
    }
}

impl Plan {
    /// What the run is of: `ledger-api/M1`, `M1`, or a plan's name.
    pub fn scope(&self) -> Scope {
        Scope::new(self.project.as_deref(), &self.milestone)
    }

    /// Keeps only `id` and every issue it depends on in this plan (transitively), in order.
    pub fn restrict_to(&mut self, id: &str) -> Result<(), String> {
        if !self.issues.iter().any(|i| i.id == id) {
            return Err(format!("`{id}` is not in {}", self.scope()));
        }
        let mut keep = std::collections::BTreeSet::from([id.to_owned()]);
        // Dependencies come first in the order, so one backwards pass finds them all.
        for issue in self.issues.iter().rev() {
            if keep.contains(&issue.id) {
                keep.extend(issue.milestone_dependencies().map(str::to_owned));
            }
        }
        self.issues.retain(|i| keep.contains(&i.id));
        for (n, issue) in self.issues.iter_mut().enumerate() {
            issue.position = n + 1;
        }
        Ok(())
    }
}

/// The approval gate that guards an agent's work on a task (any other gate guards the task
/// command of its name).
pub const APPLY_PATCH: &str = "apply_patch";

/// The phases an issue that runs goes through.
pub const PHASES: [&str; 3] = ["dev", "review", "fix"];

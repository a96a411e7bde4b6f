//! The plan of a milestone run: every issue in order with the branch, worktree and phases it
//! will get. This is what `orch plan` shows and what `orch run` will execute.
//!
//! `orch plan --json` serialises [`Plan`]; other tools rely on its shape (README.md).

use crate::input::config::Config;
use crate::input::docs::index::DocIndex;
use crate::input::docs::milestone_doc::{self, MilestoneDoc};
use crate::input::docs::states::StateRules;
use crate::input::docs::DocSet;
use crate::model::check::Check;
use crate::model::dag::{self, Dependency};
use crate::model::naming::{self, Scope};
use crate::model::problem::{Problem, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
    pub body: String,
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
                for dep in &issue.dependencies {
                    if matches!(dep, Dependency::InMilestone { .. }) {
                        keep.insert(dep.id().to_owned());
                    }
                }
            }
        }
        self.issues.retain(|i| keep.contains(&i.id));
        for (n, issue) in self.issues.iter_mut().enumerate() {
            issue.position = n + 1;
        }
        Ok(())
    }
}

/// The phases an issue that runs goes through.
pub const PHASES: [&str; 3] = ["dev", "review", "fix"];

/// Builds the plan of the milestone `scope`. Any problem in a doc that is (or might be) one of
/// its issues, and a cycle or an ambiguous dependency among them, fails the plan: docs are
/// the source of truth and must be sound first. Problems in other docs do not; they are
/// counted in [`Plan::problems_elsewhere`].
pub fn build(
    set: &DocSet,
    scope: &Scope,
    config: &Config,
    repo_root: &Path,
    rules: &StateRules,
) -> Result<Plan, Vec<Problem>> {
    let started = std::time::Instant::now();
    let scoped = crate::input::docs::scoped::for_scope(set, scope);
    let index = DocIndex::new(&set.docs);
    let indexed = started.elapsed();
    let mut problems = scoped.blocking;
    let blocked_by_docs = !problems.is_empty();
    problems.extend(scoped.warnings);
    let order = match dag::order_milestone(set, &index, scope, rules) {
        Ok(order) => Some(order),
        // With every doc of the milestone broken, "no doc is in it" says nothing new.
        Err(found) if blocked_by_docs && set.members(scope).next().is_none() => {
            problems.extend(found.into_iter().filter(|p| !p.is_error()));
            None
        }
        Err(found) => {
            problems.extend(found);
            None
        }
    };
    let ordered = started.elapsed();
    let milestone_doc = find_milestone_doc(set, scope, &mut problems);
    let Some(order) = order.filter(|_| !problems.iter().any(Problem::is_error)) else {
        crate::model::problem::sort(&mut problems);
        problems.dedup();
        return Err(problems);
    };
    let worktree_root = config.worktree_root(repo_root);
    let mut warnings = problems;
    warnings.extend(order.warnings);
    let members = |d: &crate::input::docs::IssueDoc| d.is_in(scope);
    warnings.extend(
        dag::one_sided(set, &index, members)
            .iter()
            .map(|e| e.problem()),
    );
    crate::model::problem::sort(&mut warnings);
    warnings.dedup();
    let checked = started.elapsed();
    let issues = order
        .issues
        .into_iter()
        .enumerate()
        .map(|(i, o)| {
            let doc = o.doc;
            PlannedIssue {
                position: i + 1,
                id: doc.id.clone(),
                title: doc.title.clone(),
                path: doc.path.clone(),
                state: doc.state.clone(),
                blocked_by: o.dependencies.iter().map(|d| d.id().to_owned()).collect(),
                dependencies: o.dependencies,
                branch: naming::branch_name(scope, &doc.id, &doc.title),
                worktree: naming::worktree_path(&worktree_root, scope, &doc.id),
                phases: if o.skip_reason.is_some() {
                    Vec::new()
                } else {
                    PHASES.to_vec()
                },
                skipped: o.skip_reason.is_some(),
                skip_reason: o.skip_reason,
                spec: TaskSpec {
                    acceptance: doc.acceptance.clone(),
                    ..TaskSpec::default()
                },
                done: o.done,
                body: doc.body.clone(),
            }
        })
        .collect();
    tracing::debug!(
        ?indexed,
        ?ordered,
        ?checked,
        total = ?started.elapsed(),
        "planned milestone {scope}"
    );
    Ok(Plan {
        project: scope.project.clone(),
        milestone: scope.milestone.clone(),
        milestone_doc,
        problems_elsewhere: scoped.elsewhere,
        worktree_root,
        max_review_cycles: config.max_review_cycles(),
        issues,
        warnings,
    })
}

/// The milestone doc of `scope`, beside the issue dirs of its docs; a conflict is an error
/// and no doc a warning (pushed to `problems`).
fn find_milestone_doc(
    set: &DocSet,
    scope: &Scope,
    problems: &mut Vec<Problem>,
) -> Option<MilestoneDoc> {
    let paths = set.members(scope).map(|d| d.path.as_path()).chain(
        set.broken
            .iter()
            .filter(|b| {
                b.project == scope.project
                    && b.milestone
                        == crate::input::docs::issue::Membership::In(scope.milestone.clone())
            })
            .map(|b| b.path.as_path()),
    );
    let dirs = milestone_doc::dirs_for(paths);
    match milestone_doc::find(&dirs, &scope.milestone) {
        Ok(Some(doc)) => Some(doc),
        Ok(None) => {
            let dir = dirs.first().cloned().unwrap_or_default();
            problems.push(
                Problem::warning(
                    &dir,
                    None,
                    format!("milestone {scope} has no milestone doc"),
                )
                .with_hint(format!(
                    "add {} with the milestone's goal and sequencing plan (`{}-<slug>.md` also works)",
                    dir.join(format!("{}.md", scope.milestone)).display(),
                    scope.milestone
                )),
            );
            None
        }
        Err(conflict) => {
            problems.push(conflict);
            None
        }
    }
}

/// Every problem of every milestone (of `project`, when given): doc errors, ids used twice in
/// a milestone, cycles, ambiguous, unknown and one-sided dependencies, unknown states,
/// milestone docs; and, as info, the docs in no milestone yet. Used by `orch validate`.
pub fn validate(set: &DocSet, project: Option<&str>, rules: &StateRules) -> Vec<Problem> {
    let in_project = |p: &Option<String>| project.is_none_or(|want| p.as_deref() == Some(want));
    let mut problems: Vec<Problem> = set
        .broken
        .iter()
        .filter(|b| in_project(&b.project))
        .flat_map(|b| b.problems.iter().cloned())
        .collect();
    let index = DocIndex::new(&set.docs);
    for scope in set.scopes().iter().filter(|s| in_project(&s.project)) {
        if set.members(scope).next().is_none() {
            continue;
        }
        match dag::order_milestone(set, &index, scope, rules) {
            Ok(order) => problems.extend(order.warnings),
            Err(found) => problems.extend(found),
        }
        find_milestone_doc(set, scope, &mut problems);
    }
    let keep = |d: &crate::input::docs::IssueDoc| in_project(&d.project);
    problems.extend(
        dag::one_sided(set, &index, keep)
            .iter()
            .map(|e| e.problem()),
    );
    for doc in set
        .docs
        .iter()
        .filter(|d| d.milestone.is_none() && in_project(&d.project))
    {
        problems.push(Problem {
            severity: Severity::Info,
            ..Problem::error(
                &doc.path,
                doc.line_of("milestone"),
                format!("`{}` is in no milestone yet (`milestone: null`)", doc.id),
            )
            .with_hint("give it a milestone when it is planned; no run picks it up until then")
        });
    }
    crate::model::problem::sort(&mut problems);
    problems.dedup();
    problems
}

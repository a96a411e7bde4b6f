//! The plan of a milestone of issue docs: its issues in order with their branches, worktrees
//! and phases, built after checking the docs that are (or might be) its issues; and
//! `orch validate`'s check of every milestone.

use super::index::DocIndex;
use super::milestone_doc;
use super::states::StateRules;
use super::DocSet;
use crate::input::config::Config;
use crate::model::naming::{self, Scope};
use crate::model::plan::MilestoneDoc;
use crate::model::plan::{Plan, PlannedIssue, TaskSpec, PHASES};
use crate::model::problem::{Problem, Severity};
use std::path::Path;

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
    let order = match super::order::order_milestone(set, &index, scope, rules) {
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
        super::order::one_sided(set, &index, members)
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

/// Where the milestone doc of `scope` may be: beside the issue dirs of its docs (those that
/// read, and broken ones that say they are in it).
fn milestone_doc_dirs(set: &DocSet, scope: &Scope) -> Vec<std::path::PathBuf> {
    let paths = set.members(scope).map(|d| d.path.as_path()).chain(
        set.broken
            .iter()
            .filter(|b| {
                b.may_be_in(&scope.project)
                    && b.milestone
                        == crate::input::docs::issue::Membership::In(scope.milestone.clone())
            })
            .map(|b| b.path.as_path()),
    );
    milestone_doc::dirs_for(paths)
}

/// The milestone doc of `scope`, beside the issue dirs of its docs; a conflict is an error
/// and no doc a warning (pushed to `problems`).
fn find_milestone_doc(
    set: &DocSet,
    scope: &Scope,
    problems: &mut Vec<Problem>,
) -> Option<MilestoneDoc> {
    let dirs = milestone_doc_dirs(set, scope);
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

/// A milestone as `orch plan` lists them: where it is, its doc, how many of its issues a run
/// would run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilestoneEntry {
    pub scope: Scope,
    pub doc: Option<MilestoneDoc>,
    /// Issues a run would run (their state is not done-like or not ready).
    pub to_run: usize,
    pub issues: usize,
}

/// Every milestone the docs name (of `project`, when given), by project then naturally.
pub fn milestones(set: &DocSet, project: Option<&str>, rules: &StateRules) -> Vec<MilestoneEntry> {
    set.scopes()
        .into_iter()
        .filter(|s| project.is_none_or(|p| s.project.as_deref() == Some(p)))
        .map(|scope| {
            let members: Vec<&crate::input::docs::IssueDoc> = set.members(&scope).collect();
            let dirs = milestone_doc_dirs(set, &scope);
            MilestoneEntry {
                doc: milestone_doc::find(&dirs, &scope.milestone).ok().flatten(),
                to_run: members
                    .iter()
                    .filter(|d| rules.skip_reason(d.state.as_deref()).is_none())
                    .count(),
                issues: members.len(),
                scope,
            }
        })
        .collect()
}

/// The milestone doc named after `milestone` in the `milestones/` directory beside any issue
/// directory, when no issue doc is in that milestone yet (a planned milestone).
pub fn doc_without_issues(set: &DocSet, milestone: &str) -> Option<MilestoneDoc> {
    let dirs = milestone_doc::dirs_for(
        set.docs
            .iter()
            .map(|d| d.path.as_path())
            .chain(set.broken.iter().map(|b| b.path.as_path())),
    );
    dirs.iter()
        .find_map(|dir| milestone_doc::find(std::slice::from_ref(dir), milestone).ok()?)
}

/// Every problem of every milestone (of `project`, when given): doc errors, ids used twice in
/// a milestone, cycles, ambiguous, unknown and one-sided dependencies, unknown states,
/// milestone docs; and, as info, the docs in no milestone yet. Used by `orch validate`.
pub fn validate(set: &DocSet, project: Option<&str>, rules: &StateRules) -> Vec<Problem> {
    let in_project = |p: &Option<String>| project.is_none_or(|want| p.as_deref() == Some(want));
    let mut problems: Vec<Problem> = set
        .broken
        .iter()
        .filter(|b| project.is_none_or(|p| b.may_be_in(&Some(p.to_owned()))))
        .flat_map(|b| b.problems.iter().cloned())
        .collect();
    let index = DocIndex::new(&set.docs);
    for scope in set.scopes().iter().filter(|s| in_project(&s.project)) {
        if set.members(scope).next().is_none() {
            continue;
        }
        match super::order::order_milestone(set, &index, scope, rules) {
            Ok(order) => problems.extend(order.warnings),
            Err(found) => problems.extend(found),
        }
        find_milestone_doc(set, scope, &mut problems);
    }
    let keep = |d: &crate::input::docs::IssueDoc| in_project(&d.project);
    problems.extend(
        super::order::one_sided(set, &index, keep)
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

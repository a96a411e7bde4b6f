//! A checked [`PlanFile`] as the engine's [`Plan`]: tasks in dependency order with their
//! branches, worktrees, phases and full [`TaskSpec`].

use super::{schema, PlanFile};
use crate::input::config::Config;
use crate::model::dag::Dependency;
use crate::model::naming;
use crate::model::natural;
use crate::model::plan::{Plan, PlannedIssue, TaskSpec, PHASES};
use crate::model::problem::Problem;
use petgraph::graphmap::DiGraphMap;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Orders the plan's tasks (dependencies first, ties by natural id) into a [`Plan`].
/// With `only = Some(id)`, just that task and everything it transitively depends on.
///
/// The milestone is `project.name` made ref-safe, or the plan file's stem.
pub fn to_plan(
    file: &PlanFile,
    config: &Config,
    repo_root: &Path,
    only: Option<&str>,
) -> Result<Plan, Vec<Problem>> {
    let mut tasks: Vec<&super::Task> = file.tasks.iter().collect();
    tasks.sort_by(|a, b| natural::compare(&a.id, &b.id));
    let index: BTreeMap<&str, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.as_str(), i))
        .collect();
    let mut graph = DiGraphMap::<usize, ()>::new();
    for (i, task) in tasks.iter().enumerate() {
        graph.add_node(i);
        for dep in &task.dependencies {
            if let Some(&j) = index.get(dep.as_str()) {
                graph.add_edge(j, i, ());
            }
        }
    }
    let order =
        crate::model::dag::topological(&graph, &vec![false; tasks.len()]).map_err(|stuck| {
            let names: Vec<&str> = stuck.iter().map(|&i| tasks[i].id.as_str()).collect();
            vec![Problem::error(
                &file.path,
                None,
                format!("dependency cycle among tasks {}", names.join(", ")),
            )]
        })?;

    if let Some(id) = only.filter(|id| !index.contains_key(id)) {
        let known: Vec<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
        let mut message = format!("the plan has no task `{id}`");
        if let Some(near) = schema::closest(id, &known) {
            message.push_str(&format!(" (did you mean `{near}`?)"));
        }
        return Err(vec![Problem::error(&file.path, None, message)
            .with_hint(format!("tasks: {}", known.join(", ")))]);
    }

    let milestone = milestone_name(file);
    let scope = naming::Scope::new(None, &milestone);
    let worktree_root = config.worktree_root(repo_root);
    let mut approvals_plan = file.orchestrator.approvals.clone();
    dedup(&mut approvals_plan);
    let issues = order
        .into_iter()
        .enumerate()
        .map(|(pos, i)| {
            let task = tasks[i];
            let mut commands = file.project.build.clone();
            commands.extend(task.commands.clone());
            let mut approvals = approvals_plan.clone();
            approvals.extend(task.approvals.iter().cloned());
            dedup(&mut approvals);
            PlannedIssue {
                position: pos + 1,
                id: task.id.clone(),
                title: task.title.clone(),
                path: file.path.clone(),
                state: None,
                blocked_by: task.dependencies.clone(),
                dependencies: task
                    .dependencies
                    .iter()
                    .map(|d| Dependency::InMilestone { id: d.clone() })
                    .collect(),
                branch: naming::branch_name(&scope, &task.id, &task.title),
                worktree: naming::worktree_path(&worktree_root, &scope, &task.id),
                phases: PHASES.to_vec(),
                skipped: false,
                skip_reason: None,
                spec: TaskSpec {
                    root: file
                        .project
                        .root
                        .clone()
                        .filter(|r| r.trim_matches('/') != "." && !r.is_empty()),
                    kind: task.kind.clone(),
                    description: task.description.clone(),
                    paths: task.paths.clone(),
                    commands,
                    acceptance: task.acceptance.clone(),
                    shards: task.shards.clone(),
                    // The project's language stands for a task that names none.
                    constraints: crate::model::plan::Constraints {
                        language: task
                            .constraints
                            .language
                            .clone()
                            .or_else(|| file.project.language.clone()),
                        ..task.constraints.clone()
                    },
                    approvals,
                    agents: task.agents.clone(),
                },
                done: false,
                body: Default::default(),
            }
        })
        .collect();
    let mut plan = Plan {
        project: None,
        milestone,
        milestone_doc: None,
        problems_elsewhere: 0,
        worktree_root,
        max_review_cycles: config.max_review_cycles(),
        issues,
        warnings: Vec::new(),
    };
    if let Some(id) = only {
        // The task and everything it depends on (known to be there: checked above).
        plan.restrict_to(id)
            .map_err(|e| vec![Problem::error(&file.path, None, e)])?;
    }
    Ok(plan)
}

/// `project.name` (or the file stem) as one ref-safe component.
pub fn milestone_name(file: &PlanFile) -> String {
    let raw = file
        .project
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| {
            file.path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "plan".to_owned())
        });
    naming::ref_component(&raw)
}

/// Keeps the first of each repeated entry.
fn dedup(list: &mut Vec<String>) {
    let mut seen = BTreeSet::new();
    list.retain(|x| seen.insert(x.clone()));
}

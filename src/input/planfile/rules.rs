//! The checks a schema cannot make: ids unique across the plan and its included files,
//! dependencies that exist and form no cycle, acceptance lines that parse, gates that guard
//! something.

use super::located::{at, Node, Pos};
use super::{parse_timebox, schema};
use crate::model::check::Check;
use crate::model::natural;
use crate::model::problem::Problem;
use petgraph::graphmap::DiGraphMap;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Where an id is defined, for duplicate and dependency messages.
struct IdDef<'a> {
    file: &'a Path,
    pos: Pos,
    /// The task a shard belongs to (`None` for a task).
    shard_of: Option<String>,
    /// Index into the task list (tasks only).
    task: Option<usize>,
}

fn place(file: &Path, pos: Pos) -> String {
    format!("{}:{}:{}", file.display(), pos.line, pos.col)
}

/// Checks the schema cannot make, over every task of the plan and its included files.
pub(super) fn semantics(tasks: &[(&Path, &Node)], problems: &mut Vec<Problem>) {
    let mut ids: BTreeMap<String, IdDef> = BTreeMap::new();
    // Ids first (tasks, then their shards), so dependencies can be resolved.
    let mut task_ids: Vec<Option<String>> = Vec::new();
    for (i, (file, task)) in tasks.iter().enumerate() {
        task_ids.push(define(
            task.get("id"),
            file,
            None,
            Some(i),
            problems,
            &mut ids,
        ));
    }
    for (i, (file, task)) in tasks.iter().enumerate() {
        let owner = task_ids[i].clone().unwrap_or_default();
        for shard in task
            .get("shards")
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            define(
                shard.get("id"),
                file,
                Some(&owner),
                None,
                problems,
                &mut ids,
            );
        }
    }

    let task_names: Vec<&str> = ids
        .iter()
        .filter(|(_, d)| d.task.is_some())
        .map(|(id, _)| id.as_str())
        .collect();
    let mut graph = DiGraphMap::<usize, ()>::new();
    for (i, (file, task)) in tasks.iter().enumerate() {
        graph.add_node(i);
        let own = task_ids[i].as_deref();
        for dep in task
            .get("dependencies")
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            let Some(name) = dep.as_str() else { continue };
            let who = own.unwrap_or("this task");
            if Some(name) == own {
                problems.push(
                    at(file, dep.pos, format!("task `{name}` depends on itself"))
                        .with_hint("remove it from its own `dependencies`"),
                );
                continue;
            }
            match ids.get(name) {
                Some(IdDef { task: Some(j), .. }) => {
                    graph.add_edge(i, *j, ());
                }
                Some(IdDef {
                    shard_of: Some(owner),
                    ..
                }) => problems.push(
                    at(
                        file,
                        dep.pos,
                        format!("task `{who}` depends on `{name}`, a shard of task `{owner}`; tasks can only depend on tasks"),
                    )
                    .with_hint(format!("depend on `{owner}` instead")),
                ),
                _ => {
                    let mut message = format!("task `{who}` depends on unknown task `{name}`");
                    if let Some(near) = schema::closest(name, &task_names) {
                        message.push_str(&format!(" (did you mean `{near}`?)"));
                    }
                    problems.push(at(file, dep.pos, message));
                }
            }
        }
        check_acceptance(file, task, problems);
        for shard in task
            .get("shards")
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            check_acceptance(file, shard, problems);
        }
        if let Some(constraints) = task.get("constraints") {
            if let Some(tb) = constraints.get("timebox") {
                if let Some(text) = tb.as_str() {
                    if parse_timebox(text).is_none() {
                        problems.push(
                            at(file, tb.pos, format!("bad timebox `{text}`: expected a duration like 90s, 45m, 2h or 1h30m")),
                        );
                    }
                }
            }
            for glob in constraints
                .get("forbidden_paths")
                .and_then(Node::as_seq)
                .unwrap_or_default()
            {
                if let Some(text) = glob.as_str() {
                    if let Err(e) = globset::Glob::new(text) {
                        problems.push(at(
                            file,
                            glob.pos,
                            format!("forbidden path `{text}` is not a valid glob: {}", e.kind()),
                        ));
                    }
                }
            }
        }
    }
    cycles(tasks, &task_ids, &graph, problems);
}

/// Records one task or shard id; a bad or repeated id is a problem (and `None`).
fn define<'a>(
    id_node: Option<&Node>,
    file: &'a Path,
    shard_of: Option<&str>,
    task: Option<usize>,
    problems: &mut Vec<Problem>,
    ids: &mut BTreeMap<String, IdDef<'a>>,
) -> Option<String> {
    let node = id_node?;
    let id = node.as_str().filter(|id| !id.is_empty())?;
    let what = if shard_of.is_some() { "shard" } else { "task" };
    if let Err(why) = crate::input::docs::issue::check_identifier(id) {
        problems.push(
            at(
                file,
                node.pos,
                format!("{what} id `{}` {why}", id.escape_debug()),
            )
            .with_hint(
                "ids become branch and directory names: use letters, digits, `-`, `_` and `.`",
            ),
        );
        return None;
    }
    if let Some(first) = ids.get(id) {
        let other = match &first.shard_of {
            Some(t) => format!("shard of task `{t}`"),
            None => "task".to_owned(),
        };
        problems.push(
            at(
                file,
                node.pos,
                format!(
                    "duplicate id `{id}`: already used by the {other} at {}",
                    if first.file == file {
                        format!("line {}, column {}", first.pos.line, first.pos.col)
                    } else {
                        place(first.file, first.pos)
                    }
                ),
            )
            .with_hint("tasks and shards share one id space; give each a unique id"),
        );
        return None;
    }
    ids.insert(
        id.to_owned(),
        IdDef {
            file,
            pos: node.pos,
            shard_of: shard_of.map(str::to_owned),
            task,
        },
    );
    Some(id.to_owned())
}

fn check_acceptance(file: &Path, owner: &Node, problems: &mut Vec<Problem>) {
    for line in owner
        .get("acceptance")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        if let Some(text) = line.as_str() {
            if let Err(why) = Check::parse(text) {
                problems.push(at(file, line.pos, why));
            }
        }
    }
}

/// One error per dependency cycle, naming it in dependency order.
fn cycles(
    tasks: &[(&Path, &Node)],
    task_ids: &[Option<String>],
    graph: &DiGraphMap<usize, ()>,
    problems: &mut Vec<Problem>,
) {
    for scc in petgraph::algo::tarjan_scc(graph) {
        if scc.len() < 2 {
            continue;
        }
        let members: BTreeSet<usize> = scc.iter().copied().collect();
        let start = *members
            .iter()
            .min_by(|a, b| {
                natural::compare(
                    task_ids[**a].as_deref().unwrap_or_default(),
                    task_ids[**b].as_deref().unwrap_or_default(),
                )
            })
            .expect("non-empty component");
        let cycle = crate::model::dag::shortest_cycle(graph, &members, start);
        let names: Vec<&str> = cycle
            .iter()
            .map(|&n| task_ids[n].as_deref().unwrap_or("?"))
            .collect();
        let (file, task) = tasks[start];
        let pos = task.entry("dependencies").map_or(task.pos, |(k, _)| k.pos);
        problems.push(
            at(
                file,
                pos,
                format!("dependency cycle: {} → {}", names.join(" → "), names[0]),
            )
            .with_hint("each task depends on the next; remove one of these dependencies"),
        );
    }
}

/// A task's own approval gate must guard something: `apply_patch` (the agent's work) or a
/// command the task runs after it converges (its own or the project's build defaults). A gate
/// naming nothing would be a gate that silently lets everything through.
pub(super) fn gates_guard_something(
    tree: &Node,
    tasks: &[(&Path, &Node)],
    problems: &mut Vec<Problem>,
) {
    let names = |node: Option<&Node>| -> Vec<String> {
        node.and_then(Node::as_map)
            .map(|m| m.iter().map(|(k, _)| k.name.clone()).collect())
            .unwrap_or_default()
    };
    let project = names(tree.get("project").and_then(|p| p.get("build")));
    for (file, task) in tasks {
        let mut commands = project.clone();
        commands.extend(names(task.get("commands")));
        commands.retain(|c| crate::model::plan::runs_after_convergence(c));
        commands.sort();
        commands.dedup();
        let list = match task.get("approvals") {
            Some(n) if n.as_map().is_some() => n.get("required"),
            other => other,
        };
        for gate in list.and_then(Node::as_seq).unwrap_or_default() {
            let Some(name) = gate.as_str() else { continue };
            if name == crate::model::plan::APPLY_PATCH || commands.iter().any(|c| c == name) {
                continue;
            }
            let id = task.get("id").and_then(Node::as_str).unwrap_or("?");
            problems.push(
                at(
                    file,
                    gate.pos,
                    format!("approval gate `{name}` of task `{id}` guards nothing: the task has no `{name}` command"),
                )
                .with_hint(format!(
                    "a gate is `apply_patch` (the agent's work) or the name of a command the task runs after it converges ({}); add `commands.{name}` or drop the gate",
                    if commands.is_empty() {
                        "it has none".to_owned()
                    } else {
                        commands.join(", ")
                    }
                )),
            );
        }
    }
}

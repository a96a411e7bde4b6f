//! Plan files (`orchestrator.yml`, or the same structure in JSON): loading, validation and
//! conversion into the [`crate::model::plan::Plan`] the engine runs.
//!
//! A plan file is read into a located tree ([`located`]) so that every problem can name its
//! file, line and column. The tree is checked against `schemas/plan.schema.json`
//! ([`schema`]), then for what a schema cannot say (ids, dependencies, cycles, acceptance
//! lines, timeboxes, globs): every problem of the plan and of its included task files is
//! reported at once. Only a plan without errors becomes a [`PlanFile`]; [`to_plan`] orders it.

pub mod located;
pub mod schema;

mod convert;

pub use convert::{milestone_name as convert_milestone, to_plan};

use crate::model::check::Check;
use crate::model::natural;
use crate::model::plan::{Constraints, Shard};
use crate::model::problem::Problem;
use located::{Node, Pos};
use petgraph::graphmap::DiGraphMap;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The plan file looked for at the repository root when none is named.
pub const DEFAULT_FILE: &str = "orchestrator.yml";

/// The plan format version this orch reads.
pub const VERSION: u64 = 1;

/// Files larger than this are refused before parsing.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// A plan file that passed every check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanFile {
    /// The plan file, as the user named it.
    pub path: PathBuf,
    pub version: u64,
    pub project: Project,
    pub orchestrator: Orchestrator,
    /// The task files pulled in by `include:`, in the order their tasks were added.
    pub included: Vec<PathBuf>,
    /// In file order: the plan's own tasks, then each included file's.
    pub tasks: Vec<Task>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Project {
    pub name: Option<String>,
    pub root: Option<String>,
    pub language: Option<String>,
    /// Default commands (`lint`, `test`, `build`, `release`, …) every task starts from.
    pub build: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Orchestrator {
    pub strategy: Option<String>,
    /// Plan-level approval gates, required for every task.
    pub approvals: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    /// `code_change | docs | test | release | deploy | chore`.
    pub kind: Option<String>,
    pub paths: Vec<String>,
    /// The task's own commands (not yet overlaid on the project's build defaults).
    pub commands: BTreeMap<String, String>,
    pub acceptance: Vec<Check>,
    pub dependencies: Vec<String>,
    pub shards: Vec<Shard>,
    pub constraints: Constraints,
    /// The task's own gates (without the plan-level ones).
    pub approvals: Vec<String>,
    /// The file the task is written in, and where.
    pub source: PathBuf,
    pub line: usize,
    pub column: usize,
}

/// Reads, checks and returns the plan at `path` (shown to the user as given), or every
/// problem found in it and in its included files, sorted.
pub fn load(path: &Path) -> Result<PlanFile, Vec<Problem>> {
    let tree = read_tree(path).map_err(|p| vec![p])?;
    let mut problems = tree.1;
    let tree = tree.0;
    problems.extend(schema::check(&tree, path, schema::Shape::Plan));

    let base = path.parent().unwrap_or(Path::new(""));
    let mut files: Vec<(PathBuf, Node)> = Vec::new();
    if let Some(globs) = tree.get("include").and_then(Node::as_seq) {
        let mut seen = BTreeSet::from([path.to_owned()]);
        for glob in globs {
            let Some(pattern) = glob.as_str() else {
                continue;
            };
            match expand_include(base, pattern) {
                Err(why) => problems.push(at(path, glob.pos, why)),
                Ok(found) if found.is_empty() => problems.push(
                    at(
                        path,
                        glob.pos,
                        format!("include `{pattern}` matches no file"),
                    )
                    .with_hint(format!(
                        "include globs are matched from {}",
                        if base.as_os_str().is_empty() {
                            "the plan file's directory".to_owned()
                        } else {
                            format!("`{}`", base.display())
                        }
                    )),
                ),
                Ok(found) => {
                    for file in found {
                        if !seen.insert(file.clone()) {
                            continue;
                        }
                        match read_tree(&file) {
                            Ok((node, flaws)) => {
                                problems.extend(flaws);
                                problems.extend(schema::check(
                                    &node,
                                    &file,
                                    schema::Shape::TaskFile,
                                ));
                                files.push((file, node));
                            }
                            Err(p) => problems.push(p),
                        }
                    }
                }
            }
        }
    }

    let mut tasks: Vec<(&Path, &Node)> = Vec::new();
    for node in tree.get("tasks").and_then(Node::as_seq).unwrap_or_default() {
        tasks.push((path, node));
    }
    for (file, node) in &files {
        let list = node
            .as_seq()
            .or_else(|| node.get("tasks").and_then(Node::as_seq));
        for task in list.unwrap_or_default() {
            tasks.push((file, task));
        }
    }
    if tasks.is_empty() {
        let pos = tree
            .entry("tasks")
            .map_or(Pos { line: 1, col: 1 }, |(k, _)| k.pos);
        problems.push(
            at(path, pos, "the plan has no tasks")
                .with_hint("add at least one task under `tasks:` (or in an included file)"),
        );
    }
    semantics(&tasks, &mut problems);
    gates_guard_something(&tree, &tasks, &mut problems);
    if let Some(root) = tree.get("project").and_then(|p| p.get("root")) {
        if let Some(text) = root.as_str() {
            if !crate::util::fsutil::is_inside(text) {
                problems.push(
                    at(
                        path,
                        root.pos,
                        format!("project root `{text}` must be a directory inside the repository"),
                    )
                    .with_hint(
                        "write it relative to the repository root, without `..`: `.`, `crates/app`",
                    ),
                );
            }
        }
    }

    if problems.iter().any(Problem::is_error) {
        crate::model::problem::sort(&mut problems);
        problems.dedup();
        return Err(problems);
    }
    Ok(typed(path, &tree, &files, &tasks))
}

/// A problem at a position of a file.
fn at(path: &Path, pos: Pos, message: impl Into<String>) -> Problem {
    Problem::error(path, Some(pos.line), message).at_column(pos.col)
}

/// The located tree of one file, with its tolerable flaws as problems.
fn read_tree(path: &Path) -> Result<(Node, Vec<Problem>), Problem> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Problem::error(path, None, format!("cannot read plan file: {e}")))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(Problem::error(
            path,
            None,
            format!(
                "plan file is {} bytes, more than the {MAX_FILE_BYTES} bytes orch reads",
                meta.len()
            ),
        ));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| Problem::error(path, None, format!("cannot read plan file: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Problem::error(
            path,
            None,
            format!(
                "plan file is not UTF-8 (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let (node, flaws) = located::parse(text).map_err(|e| at(path, e.pos, e.message))?;
    Ok((
        node,
        flaws
            .into_iter()
            .map(|f| at(path, f.pos, f.message))
            .collect(),
    ))
}

/// The files (as `base/<relative>`) matching an include glob, sorted.
fn expand_include(base: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
    if !crate::util::fsutil::is_inside(pattern) {
        return Err(format!(
            "include `{pattern}` must be relative to the plan file and stay below it"
        ));
    }
    let matcher = globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| format!("include `{pattern}` is not a valid glob: {}", e.kind()))?
        .compile_matcher();
    let literal: Vec<&str> = pattern
        .split('/')
        .take_while(|c| !c.contains(['*', '?', '[', '{', '\\']))
        .collect();
    let start_rel: PathBuf = if literal.len() == pattern.split('/').count() {
        literal[..literal.len() - 1].iter().collect()
    } else {
        literal.iter().collect()
    };
    let root = if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base.to_owned()
    };
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(root.join(&start_rel))
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
    {
        let Ok(rel) = entry.path().strip_prefix(&root) else {
            continue;
        };
        let rel_text = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if matcher.is_match(&rel_text) {
            found.push(base.join(rel));
        }
    }
    found.sort_by(|a, b| natural::compare(&a.to_string_lossy(), &b.to_string_lossy()));
    Ok(found)
}

/// Parses a timebox: `90s`, `45m`, `2h`, `1h30m`, `1h30m15s` (units in that order, each once).
pub fn parse_timebox(text: &str) -> Option<std::time::Duration> {
    crate::util::timeutil::parse_duration(text)
}

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
fn semantics(tasks: &[(&Path, &Node)], problems: &mut Vec<Problem>) {
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

/// The checked trees as typed values (only called when there are no errors).
fn typed(
    path: &Path,
    tree: &Node,
    files: &[(PathBuf, Node)],
    tasks: &[(&Path, &Node)],
) -> PlanFile {
    let project = tree.get("project");
    let orchestrator = tree.get("orchestrator");
    PlanFile {
        path: path.to_owned(),
        version: VERSION,
        project: Project {
            name: text(project, "name"),
            root: text(project, "root"),
            language: text(project, "language"),
            build: commands(project.and_then(|p| p.get("build"))),
        },
        orchestrator: Orchestrator {
            strategy: text(orchestrator, "strategy"),
            approvals: gates(orchestrator.and_then(|o| o.get("approvals"))),
        },
        included: files.iter().map(|(f, _)| f.clone()).collect(),
        tasks: tasks
            .iter()
            .map(|(file, node)| Task {
                id: text(Some(node), "id").unwrap_or_default(),
                title: text(Some(node), "title").unwrap_or_default(),
                description: text(Some(node), "description"),
                kind: text(Some(node), "type"),
                paths: match node.get("paths") {
                    Some(p) if p.as_map().is_some() => strings(p.get("preferred")),
                    other => strings(other),
                },
                commands: commands(node.get("commands")),
                acceptance: checks(node.get("acceptance")),
                dependencies: strings(node.get("dependencies")),
                shards: node
                    .get("shards")
                    .and_then(Node::as_seq)
                    .unwrap_or_default()
                    .iter()
                    .map(|s| Shard {
                        id: text(Some(s), "id").unwrap_or_default(),
                        title: text(Some(s), "title").unwrap_or_default(),
                        description: text(Some(s), "description"),
                        acceptance: checks(s.get("acceptance")),
                    })
                    .collect(),
                constraints: {
                    let c = node.get("constraints");
                    Constraints {
                        style: text(c, "style"),
                        language: text(c, "language"),
                        forbidden_paths: strings(c.and_then(|c| c.get("forbidden_paths"))),
                        timebox: text(c, "timebox"),
                    }
                },
                approvals: gates(node.get("approvals")),
                source: file.to_path_buf(),
                line: node.pos.line,
                column: node.pos.col,
            })
            .collect(),
    }
}

fn text(map: Option<&Node>, key: &str) -> Option<String> {
    map?.get(key)?.as_str().map(str::to_owned)
}

fn strings(list: Option<&Node>) -> Vec<String> {
    list.and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|n| n.as_str().map(str::to_owned))
        .collect()
}

fn commands(map: Option<&Node>) -> BTreeMap<String, String> {
    map.and_then(Node::as_map)
        .unwrap_or_default()
        .iter()
        .filter_map(|(k, v)| Some((k.name.clone(), v.as_str()?.to_owned())))
        .collect()
}

/// A task's own approval gate must guard something: `apply_patch` (the agent's work) or a
/// command the task runs after it converges (its own or the project's build defaults). A gate
/// naming nothing would be a gate that silently lets everything through.
fn gates_guard_something(tree: &Node, tasks: &[(&Path, &Node)], problems: &mut Vec<Problem>) {
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

/// `approvals: [a, b]` or `approvals: {required: [a, b]}`.
fn gates(node: Option<&Node>) -> Vec<String> {
    match node {
        Some(n) if n.as_map().is_some() => strings(n.get("required")),
        other => strings(other),
    }
}

fn checks(list: Option<&Node>) -> Vec<Check> {
    strings(list)
        .iter()
        .filter_map(|l| Check::parse(l).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeboxes() {
        let secs = |t: &str| parse_timebox(t).map(|d| d.as_secs());
        assert_eq!(secs("90s"), Some(90));
        assert_eq!(secs("45m"), Some(2700));
        assert_eq!(secs("2h"), Some(7200));
        assert_eq!(secs("1h30m"), Some(5400));
        for bad in [
            "",
            "45",
            "m",
            "30m1h",
            "1h1h",
            "0m",
            "1.5h",
            "45 minutes",
            "-3m",
        ] {
            assert_eq!(secs(bad), None, "{bad}");
        }
    }
}

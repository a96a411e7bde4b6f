//! Reading a plan file and its includes into located trees, checking them (the schema, then
//! [`super::rules`]), and turning the checked trees into a [`PlanFile`].

use super::located::{at, Node, Pos};
use super::rules::{gates_guard_something, semantics};
use super::{located, schema, Orchestrator, PlanFile, Project, Task, MAX_FILE_BYTES, VERSION};
use crate::model::check::Check;
use crate::model::natural;
use crate::model::plan::{Constraints, Shard};
use crate::model::problem::Problem;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

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
                agents: commands(node.get("agents")),
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

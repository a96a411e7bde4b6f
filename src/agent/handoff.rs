//! What an agent is told about its task beyond the issue text: where to work, the rules,
//! the exact commands, the checks orch will run, which shard is next, which checks failed,
//! and a map of the repository — so it starts where the work is instead of searching.

use crate::model::plan::{Shard, TaskSpec};
use crate::model::record::GateRecord;
use std::fmt::Write;

/// The `{{task_context}}` section of a phase prompt; empty when there is nothing to add.
pub fn task_context(
    spec: &TaskSpec,
    shard: Option<&Shard>,
    gate: Option<&GateRecord>,
    repo_map: Option<&str>,
) -> String {
    let mut out = String::new();
    let mut details = String::new();
    if let Some(kind) = &spec.kind {
        let _ = writeln!(details, "- Type: {kind}");
    }
    if let Some(root) = &spec.root {
        let _ = writeln!(
            details,
            "- Project root: `{root}` (commands and checks run there; check paths are relative to it)"
        );
    }
    if !spec.paths.is_empty() {
        let _ = writeln!(
            details,
            "- Where the work is (preferred paths): {}",
            code_list(&spec.paths)
        );
    }
    let c = &spec.constraints;
    if let Some(language) = &c.language {
        let _ = writeln!(details, "- Language: {language}");
    }
    if let Some(style) = &c.style {
        let _ = writeln!(details, "- Style: {style}");
    }
    if !c.forbidden_paths.is_empty() {
        let _ = writeln!(
            details,
            "- Do not change: {} (a change there fails the phase)",
            code_list(&c.forbidden_paths)
        );
    }
    if let Some(timebox) = &c.timebox {
        let _ = writeln!(details, "- Timebox: {timebox} per phase");
    }
    for (name, command) in &spec.commands {
        let _ = writeln!(details, "- `{name}` command: `{command}`");
    }
    if !details.is_empty() {
        let _ = writeln!(out, "## Task details\n\n{details}");
    }
    let checks = spec.all_checks();
    if !checks.is_empty() {
        let _ = writeln!(
            out,
            "## Acceptance checks\n\norch runs these in the worktree after each dev and fix \
             phase; the task is done only when the review passes and every check passes.\n"
        );
        for check in &checks {
            let _ = writeln!(out, "- {check}");
        }
        out.push('\n');
    }
    if !spec.shards.is_empty() {
        let _ = writeln!(out, "## Shards (developed in this order, one phase each)\n");
        for s in &spec.shards {
            let mark = if shard.is_some_and(|cur| cur.id == s.id) {
                "  ← this phase"
            } else {
                ""
            };
            let _ = writeln!(out, "- {}: {}{mark}", s.id, s.title);
        }
        out.push('\n');
    }
    if let Some(shard) = shard {
        let _ = writeln!(
            out,
            "## This phase: shard {} — {}\n\nDo this shard only; later shards get their own phases.\n",
            shard.id, shard.title
        );
        if let Some(description) = &shard.description {
            let _ = writeln!(out, "{}\n", description.trim());
        }
        if !shard.acceptance.is_empty() {
            let _ = writeln!(out, "Checks for this shard:\n");
            for check in &shard.acceptance {
                let _ = writeln!(out, "- {check}");
            }
            out.push('\n');
        }
    }
    if let Some(gate) = gate.filter(|g| !g.ok()) {
        let _ = writeln!(
            out,
            "## Failing acceptance checks\n\nThese failed when orch last ran the checks; fix \
             every one (they count like required review actions).\n"
        );
        for failed in &gate.failed {
            let _ = writeln!(out, "- {}", failed.replace('\n', "\n  "));
        }
        out.push('\n');
    }
    if let Some(map) = repo_map.filter(|m| !m.trim().is_empty()) {
        let _ = writeln!(
            out,
            "## Repository map\n\nFiles with their sizes and top-level definitions, to start \
             from instead of searching:\n\n{}\n",
            map.trim_end()
        );
    }
    out.trim_end().to_owned()
}

fn code_list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::check::Check;

    #[test]
    fn an_empty_spec_adds_nothing() {
        assert_eq!(task_context(&TaskSpec::default(), None, None, None), "");
    }

    #[test]
    fn names_the_shard_the_checks_and_what_failed() {
        let spec = TaskSpec {
            kind: Some("code_change".into()),
            paths: vec!["src/error.rs".into()],
            acceptance: vec![Check::parse("File exists: src/error.rs").unwrap()],
            shards: vec![
                Shard {
                    id: "A".into(),
                    title: "first".into(),
                    acceptance: vec![Check::parse("Contains: enum E").unwrap()],
                    ..Shard::default()
                },
                Shard {
                    id: "B".into(),
                    title: "second".into(),
                    ..Shard::default()
                },
            ],
            ..TaskSpec::default()
        };
        let gate = GateRecord {
            full: true,
            passed: 1,
            failed: vec!["Contains: enum E — `enum E` not found".into()],
        };
        let text = task_context(
            &spec,
            spec.shards.get(1),
            Some(&gate),
            Some("src/ (1 file)"),
        );
        for want in [
            "- Type: code_change",
            "`src/error.rs`",
            "- File exists: src/error.rs\n- Contains: enum E",
            "- B: second  ← this phase",
            "## This phase: shard B — second",
            "## Failing acceptance checks",
            "`enum E` not found",
            "## Repository map",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
    }
}

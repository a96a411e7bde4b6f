//! The summary a run ends with: one row per issue (outcome, the agents its phases ran on when
//! not only codex, cycles, commits, tokens, the cost when known, what the guard saw, where the
//! logs are), with each issue's reason and what is still required.

use super::columns::lay_out;
use super::style::Styler;
use crate::model::naming::Scope;
use crate::model::record::{Outcome, RunSummary};
use std::fmt::Write;
use std::path::Path;

pub fn render(summary: &RunSummary, scope: &Scope, repo_root: &Path, style: &Styler) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{}",
        style.bold(&format!("Run {} of milestone {scope}", summary.run_id))
    );
    let phases = || summary.issues.iter().flat_map(|i| &i.phases);
    let (agents, costs) = super::header::optional_columns(phases());
    let mut header = vec!["ISSUE", "OUTCOME"];
    header.extend(agents.then_some("AGENTS"));
    header.extend(["CYCLES", "COMMITS", "TOKENS"]);
    header.extend(costs.then_some("COST"));
    header.extend(["GUARD", "LOGS"]);
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for i in &summary.issues {
        let outcome = match i.outcome {
            Outcome::Completed => style.green("completed"),
            // Done by its docs: its work is on the trunk.
            Outcome::Skipped if i.is_done() => style.green("done"),
            Outcome::Skipped => style.dim("skipped"),
            other => style.red(other.name()),
        };
        let mut row = vec![i.id.clone(), outcome];
        row.extend(agents.then(|| super::header::agents_of(&i.phases)));
        row.extend([
            i.cycles.to_string(),
            i.commits.to_string(),
            match summary.budget.and_then(|b| b.issue_tokens) {
                Some(limit) => format!("{}/{limit}", i.tokens.total()),
                None => i.tokens.total().to_string(),
            },
        ]);
        row.extend(costs.then(|| super::header::cost_cell(&i.phases)));
        row.extend([
            format!(
                "{}✓ {}✗ {}!",
                i.guard.allowed, i.guard.denied, i.guard.violations
            ),
            i.log_dir
                .strip_prefix(repo_root)
                .unwrap_or(&i.log_dir)
                .display()
                .to_string(),
        ]);
        rows.push(row);
    }
    let lines = lay_out(&rows);
    let _ = writeln!(out, "{}", style.bold(&lines[0]));
    for (line, issue) in lines[1..].iter().zip(&summary.issues) {
        let _ = writeln!(out, "{line}");
        if let Some(reason) = &issue.reason {
            let _ = writeln!(out, "    {}", style.dim(reason));
        }
        for action in &issue.remaining_actions {
            let _ = writeln!(out, "    - {action}");
        }
        if let Some(r) = &issue.rescue_ref {
            let _ = writeln!(out, "    uncommitted work saved as {r}");
        }
    }
    if let Some(line) = super::header::sandbox_line(summary.sandbox.as_deref()) {
        let _ = writeln!(out, "{}", style.yellow(&line));
    }
    if let Some(budget) = &summary.budget {
        let phases = summary.issues.iter().flat_map(|i| &i.phases);
        let spent = super::header::spent_of(budget, phases);
        let _ = writeln!(out, "BUDGET: {spent}; {}", budget.describe());
    }
    out.push_str("GUARD: gt/git calls allowed ✓, denied ✗, and audit violations !. Attempts: orch guard log <ISSUE>\n");
    out.push_str("See what each phase changed: orch diff <ISSUE>\n");
    out
}

//! The human view of a plan: a table in execution order.

use crate::model::plan::Plan;
use crate::report::style::Styler;
use std::fmt::Write;
use unicode_width::UnicodeWidthStr;

const TITLE_MAX: usize = 44;

pub fn plan(plan: &Plan, style: &Styler) -> String {
    let running = plan.issues.iter().filter(|i| !i.skipped).count();
    let skipped = plan.issues.len() - running;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} — {} issue{} ({running} to run, {skipped} skipped)",
        style.bold(&format!("Milestone {}", plan.scope())),
        plan.issues.len(),
        if plan.issues.len() == 1 { "" } else { "s" },
    );
    if let Some(doc) = &plan.milestone_doc {
        let _ = writeln!(
            out,
            "Milestone doc: {}{}",
            doc.path.display(),
            doc.title
                .as_deref()
                .map(|t| format!(" — {t}"))
                .unwrap_or_default()
        );
    }
    let wt_root = plan.worktree_root.join(plan.scope().dir());
    let _ = writeln!(out, "Worktrees under {}", wt_root.display());
    let _ = writeln!(
        out,
        "Phases: dev, then review ⇄ fix until the review passes (at most {} cycle{})",
        plan.max_review_cycles,
        if plan.max_review_cycles == 1 { "" } else { "s" }
    );
    out.push('\n');

    let header = ["#", "ID", "TITLE", "DEPENDS ON", "BRANCH", "WORKTREE"];
    let rows: Vec<[String; 6]> = plan
        .issues
        .iter()
        .map(|issue| {
            let deps = if issue.dependencies.is_empty() {
                "—".to_owned()
            } else {
                issue
                    .dependencies
                    .iter()
                    .map(|d| super::dependency_label(d, plan.project.as_deref(), "!"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let worktree = issue
                .worktree
                .strip_prefix(&wt_root)
                .unwrap_or(&issue.worktree)
                .display()
                .to_string();
            let (branch, worktree) = match &issue.skip_reason {
                Some(reason) => (format!("skipped: {reason}"), String::new()),
                None => (issue.branch.clone(), worktree),
            };
            [
                issue.position.to_string(),
                issue.id.clone(),
                truncate(&issue.title, TITLE_MAX),
                deps,
                branch,
                worktree,
            ]
        })
        .collect();
    let mut table: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    table.extend(rows.iter().map(|r| r.to_vec()));
    let lines = super::columns::lay_out(&table);
    let _ = writeln!(out, "{}", style.bold(&lines[0]));
    for (text, issue) in lines[1..].iter().zip(&plan.issues) {
        let _ = writeln!(
            out,
            "{}",
            if issue.skipped {
                style.dim(text)
            } else {
                text.clone()
            }
        );
    }
    if !plan.warnings.is_empty() {
        out.push('\n');
        out.push_str(&super::problems::render(&plan.warnings, style));
    }
    out
}

fn truncate(text: &str, max: usize) -> String {
    if text.width() <= max {
        return text.to_owned();
    }
    let mut out = String::new();
    for c in text.chars() {
        if out.width() + c.to_string().width() > max - 1 {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// `orch plan` without a milestone: the milestones there are, a row each (project,
/// milestone, issues to run of all, the milestone doc's title), and how to plan one.
pub fn milestones(listed: &[crate::input::docs::plan::MilestoneEntry], style: &Styler) -> String {
    if listed.is_empty() {
        return "No issue doc names a milestone.\n".to_owned();
    }
    let mut rows = vec![vec![
        "MILESTONE".to_owned(),
        "TO RUN".to_owned(),
        "TITLE".to_owned(),
    ]];
    for m in listed {
        rows.push(vec![
            m.scope.to_string(),
            format!("{} of {}", m.to_run, m.issues),
            m.doc
                .as_ref()
                .and_then(|d| d.title.clone())
                .unwrap_or_else(|| "-".to_owned()),
        ]);
    }
    let lines = super::columns::lay_out(&rows);
    let mut out = format!("{}\n", style.bold(&lines[0]));
    for line in &lines[1..] {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&format!("Plan one: orch plan {}\n", listed[0].scope));
    out
}

//! The human view of a plan: a table in execution order.

use crate::model::plan::Plan;
use crate::report::style::Styler;
use std::fmt::Write;
use unicode_width::UnicodeWidthStr;

/// How wide `orch plan`'s table is by default (`--wide`: as wide as it takes).
pub const DEFAULT_WIDTH: usize = 120;

/// The narrowest a shortened title or branch gets.
const SHORTEST: usize = 16;

/// The plan as a table in execution order, fit into `width` columns (titles and branches
/// shortened with `…`), or as wide as it takes (`None`).
pub fn plan(plan: &Plan, style: &Styler, width: Option<usize>) -> String {
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
    // Every branch is `orch/<milestone>/<id>-<slug>`: the table shows what differs.
    let prefix = format!("orch/{}/", plan.scope().ref_path());
    let prefixed = plan.issues.iter().all(|i| i.branch.starts_with(&prefix));
    if prefixed && !plan.issues.is_empty() {
        let _ = writeln!(out, "Branches under {prefix}");
    }
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
            // In plan order: the dependencies in the milestone as they run, then the others.
            let mut deps: Vec<&crate::model::dag::Dependency> = issue.dependencies.iter().collect();
            deps.sort_by_key(|d| {
                plan.issues
                    .iter()
                    .position(|i| {
                        matches!(d, crate::model::dag::Dependency::InMilestone { .. })
                            && i.id == d.id()
                    })
                    .unwrap_or(usize::MAX)
            });
            let deps = if deps.is_empty() {
                "—".to_owned()
            } else {
                deps.iter()
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
                None if prefixed => (issue.branch[prefix.len()..].to_owned(), worktree),
                None => (issue.branch.clone(), worktree),
            };
            [
                issue.position.to_string(),
                issue.id.clone(),
                issue.title.clone(),
                deps,
                branch,
                worktree,
            ]
        })
        .collect();
    let mut table: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    table.extend(rows.iter().map(|r| r.to_vec()));
    if let Some(width) = width {
        fit(&mut table, width, [2, 3, 4]);
    }
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

/// Shortens the cells of columns `shrink` (title, dependencies, branch) with `…` until the
/// table's lines fit in `width`: always the widest of them, so they end up alike; none under
/// [`SHORTEST`].
fn fit<const N: usize>(table: &mut [Vec<String>], width: usize, shrink: [usize; N]) {
    let widest = |table: &[Vec<String>], c: usize| {
        table
            .iter()
            .filter_map(|r| r.get(c))
            .map(|s| s.width())
            .max()
            .unwrap_or(0)
    };
    let columns = table.iter().map(Vec::len).max().unwrap_or(0);
    let total: usize = (0..columns).map(|c| widest(table, c) + 2).sum::<usize>();
    let mut over = total.saturating_sub(2).saturating_sub(width);
    let mut limits = shrink.map(|c| widest(table, c));
    while over > 0 {
        let (at, &now) = limits
            .iter()
            .enumerate()
            .max_by_key(|(i, w)| (**w, std::cmp::Reverse(*i)))
            .expect("columns to shrink");
        if now <= SHORTEST {
            break;
        }
        limits[at] -= 1;
        over -= 1;
    }
    for (column, limit) in shrink.into_iter().zip(limits) {
        for row in table.iter_mut().skip(1) {
            if let Some(cell) = row.get_mut(column) {
                *cell = truncate(cell, limit);
            }
        }
    }
}

/// `text` cut to `max` columns of display width, the cut marked with `…`.
pub(super) fn truncate(text: &str, max: usize) -> String {
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

//! `orch report`: a run as a document — per issue its outcome, every phase with its range and
//! diffstat, the review's findings, guard events, tokens and time — in Markdown or JSON.

use crate::model::state::RunState;
use serde_json::{json, Value};
use std::fmt::Write;

/// The report as JSON: the run state enriched with each phase's range and review findings.
pub fn json(state: &RunState) -> Value {
    let issues: Vec<Value> = state
        .issues
        .iter()
        .map(|issue| {
            let phases: Vec<Value> = issue
                .phases
                .iter()
                .map(|p| {
                    let range = crate::record::phase_logs::range(&p.log_dir);
                    let result = crate::record::phase_logs::result(&p.log_dir);
                    json!({
                        "seq": p.seq, "phase": p.phase, "status": p.status, "failure": p.failure,
                        "superseded": p.superseded, "commits": p.commits, "usage": p.usage,
                        "duration_ms": p.duration_ms, "guard": p.guard, "log_dir": p.log_dir,
                        "range": range.as_ref().map(|r| json!({"base": r.base, "head": r.head, "pinned_ref": r.pinned_ref,
                            "files_changed": r.diffstat.files_changed, "insertions": r.diffstat.insertions, "deletions": r.diffstat.deletions,
                            "files": r.diffstat.files})),
                        "findings": result.as_ref().and_then(|r| r.get("issues").cloned()),
                        "shard": p.shard, "acceptance": p.acceptance,
                    })
                })
                .collect();
            json!({
                "id": issue.id, "status": issue.status,
                "outcome": issue.summary.as_ref().map(|s| s.outcome),
                "reason": issue.summary.as_ref().and_then(|s| s.reason.clone()),
                "remaining_actions": issue.summary.as_ref().map(|s| s.remaining_actions.clone()).unwrap_or_default(),
                "branch": issue.summary.as_ref().map(|s| s.branch.clone()),
                "awaiting": issue.summary.as_ref().map(|s| s.awaiting.clone()).unwrap_or_default(),
                "commands": issue.summary.as_ref().map(|s| s.commands.clone()).unwrap_or_default(),
                "phases": phases,
            })
        })
        .collect();
    json!({"run_id": state.run_id, "project": state.project, "milestone": state.milestone, "started_at": state.started_at,
           "updated_at": state.updated_at, "finished": state.finished, "issues": issues})
}

/// The report as Markdown.
pub fn markdown(state: &RunState) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}\n", super::header::run_header("Run report", state));
    if let Some(line) = super::header::sandbox_line(state.sandbox.as_deref()) {
        let _ = writeln!(out, "{line}\n");
    }
    if let Some(line) = super::header::budget_line(state) {
        let _ = writeln!(out, "{line}\n");
    }
    let phases = || state.issues.iter().flat_map(|i| &i.phases);
    let (agents, costs) = super::header::optional_columns(phases());
    let (agents_head, cost_head) = (
        if agents { " Agents |" } else { "" },
        if costs { " Cost |" } else { "" },
    );
    let _ = writeln!(out, "| Issue | Outcome |{agents_head} Cycles | Commits | Tokens |{cost_head} Guard (allowed/denied/violations) | Time |");
    let columns = 7 + usize::from(agents) + usize::from(costs);
    let _ = writeln!(out, "|{}", " --- |".repeat(columns));
    for issue in &state.issues {
        let st = issue.stats();
        let (fixes, commits, tokens, ms) = (st.cycles, st.commits, st.tokens, st.duration_ms);
        let (a, d, v) = (st.guard.allowed, st.guard.denied, st.guard.violations);
        let outcome = issue.status_name();
        let on = if agents {
            format!(" {} |", super::header::agents_of(&issue.phases))
        } else {
            String::new()
        };
        let cost = if costs {
            format!(" {} |", super::header::cost_cell(&issue.phases))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "| {} | {outcome} |{on} {fixes} | {commits} | {tokens} |{cost} {a}/{d}/{v} | {:.1} s |",
            issue.id,
            ms as f64 / 1000.0
        );
    }
    for issue in &state.issues {
        let _ = writeln!(out, "\n## {}\n", issue.id);
        if let Some(summary) = &issue.summary {
            // A branch is named only when the issue has one: a skipped issue never made it.
            let branch = if summary.phases.is_empty() && summary.head.is_none() {
                String::new()
            } else {
                format!(" on branch `{}`", summary.branch)
            };
            let _ = writeln!(
                out,
                "Outcome: **{}**{}{branch}.",
                summary.outcome.name(),
                match (&summary.completed_in, &summary.reason) {
                    (Some(run), _) => format!(" in run `{run}` (carried: not run again)"),
                    (None, Some(r)) => format!(" — {r}"),
                    (None, None) => String::new(),
                },
            );
            if let Some(v) = &summary.verified {
                // The evidence a morning reader wants: what passed, on which commit.
                let at = crate::model::naming::short_oid(&v.commit);
                let _ = writeln!(out);
                for c in &v.checks {
                    let mark = if c.passed { "✓" } else { "✗" };
                    let _ = writeln!(out, "- verified at {at}: {} {mark}", c.check);
                }
                if let Some(e) = &v.error {
                    let _ = writeln!(out, "- not verified at {at}: {e}");
                }
            }
            if let Some(line) = super::pulls::line(issue) {
                let _ = writeln!(out, "\n{line}");
            }
            if let Some(ran) = &summary.ran_on {
                let _ = writeln!(out, "\n{}", ran_on(ran));
            }
            for (heading, list) in [
                ("Still required", &summary.remaining_actions),
                ("Left for a human", &summary.deferred),
                ("Open questions", &summary.open_questions),
                ("Draft pull requests", &summary.draft_prs),
            ] {
                if !list.is_empty() {
                    let _ = writeln!(out, "\n{heading}:");
                    for a in list {
                        let _ = writeln!(out, "- {a}");
                    }
                }
            }
            if !summary.commands.is_empty() {
                out.push_str("\nCommands:\n");
                for c in &summary.commands {
                    let status = c
                        .status
                        .map_or("killed".to_owned(), |s| format!("exit {s}"));
                    let approved = c
                        .approved_by
                        .as_ref()
                        .map(|a| format!(", approved by {a}"))
                        .unwrap_or_default();
                    let _ = writeln!(out, "- `{}`: `{}` → {status}{approved}", c.name, c.command);
                }
            }
        } else {
            let _ = writeln!(out, "Not finished.");
        }
        if issue.phases.is_empty() {
            continue;
        }
        out.push('\n');
        for p in &issue.phases {
            let range = crate::record::phase_logs::range(&p.log_dir);
            let what = match (&p.status, &p.failure) {
                (Some(s), _) => s.clone(),
                (None, Some(f)) => format!("failed: {f}"),
                _ => "-".to_owned(),
            };
            let superseded = if p.superseded {
                " (superseded by a retry)"
            } else {
                ""
            };
            let shard = p
                .shard
                .as_ref()
                .map(|s| format!(" (shard {s})"))
                .unwrap_or_default();
            let on = super::header::on_agent(p.agent.as_deref());
            let _ = writeln!(
                out,
                "### {:02}-{}{shard}{on}: {what}{superseded}\n",
                p.seq,
                p.phase.name()
            );
            if let Some(r) = &range {
                let _ = writeln!(
                    out,
                    "`{}..{}` · {} commit(s) · {} file(s), +{} −{} · pinned as `{}`",
                    crate::model::naming::short_oid(&r.base),
                    crate::model::naming::short_oid(&r.head),
                    r.commits.len(),
                    r.diffstat.files_changed,
                    r.diffstat.insertions,
                    r.diffstat.deletions,
                    r.pinned_ref
                );
                for f in &r.diffstat.files {
                    let _ = writeln!(
                        out,
                        "- `{}` ({}, +{} −{})",
                        f.path, f.status, f.additions, f.deletions
                    );
                }
                if let Some(u) = &r.uncommitted {
                    let names: Vec<&str> = u.files.iter().map(|f| f.path.as_str()).collect();
                    let _ = writeln!(out, "- left uncommitted: {}", names.join(", "));
                }
            }
            if let Some(findings) = crate::record::phase_logs::result(&p.log_dir)
                .and_then(|r| r.get("issues").cloned())
                .and_then(|v| v.as_array().cloned())
            {
                if !findings.is_empty() {
                    out.push_str("\nFindings:\n");
                    for f in findings {
                        let evidence = f["evidence"].as_str().unwrap_or_default();
                        let _ = writeln!(
                            out,
                            "- [{}] {}: {}{}",
                            f["severity"].as_str().unwrap_or("?"),
                            f["title"].as_str().unwrap_or(""),
                            f["details"].as_str().unwrap_or(""),
                            if evidence.is_empty() {
                                String::new()
                            } else {
                                format!(" ({evidence})")
                            }
                        );
                    }
                }
            }
            if let Some(gate) = &p.acceptance {
                let _ = writeln!(
                    out,
                    "\nAcceptance: {} of {} check(s) passed",
                    gate.passed,
                    gate.passed + gate.failed.len()
                );
                for f in &gate.failed {
                    let first = f.lines().next().unwrap_or_default();
                    let _ = writeln!(out, "- failed: {first}");
                }
            }
            if p.guard.denied + p.guard.violations > 0 {
                let _ = writeln!(
                    out,
                    "\nGuard: {} refused, {} violation(s) — `orch guard log {}`",
                    p.guard.denied, p.guard.violations, issue.id
                );
            }
            let cost = p
                .cost_usd
                .map(|c| format!(" · ${c:.4}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "\nTokens: {} in, {} out{cost} · {:.1} s\n",
                p.usage.input_tokens,
                p.usage.output_tokens,
                p.duration_ms as f64 / 1000.0
            );
        }
    }
    out
}

/// `Ran on runner-7 (<url>), orch 0.1.0, codex codex-cli 0.169.0`.
pub fn ran_on(ran: &crate::model::remote::RanOn) -> String {
    let runner = ran.runner.as_deref().unwrap_or(&ran.host);
    let url = (ran.workflow_run.as_deref())
        .map(|u| format!(" ({u})"))
        .unwrap_or_default();
    let agents: Vec<String> = (ran.agents.iter())
        .map(|(name, v)| format!("{name} {}", v.as_deref().unwrap_or("?")))
        .collect();
    let agents = match agents.is_empty() {
        true => String::new(),
        false => format!(", {}", agents.join(", ")),
    };
    format!("Ran on {runner}{url}, orch {}{agents}", ran.orch)
}

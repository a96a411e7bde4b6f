//! `orch status`: where a run stands, from its state — one line on the run, a row per issue
//! (state, the phase running and for how long, the agents when not only codex, cycles, the
//! last review, commits, tokens, the cost when known), then the pull requests orch opened
//! and what their watch saw, and the approvals it waits for.

use super::columns::lay_out;
use super::style::Styler;
use crate::model::state::{IssueStatus, RunState};
use std::fmt::Write;

/// Whether an orch is running the run now (its lock says so).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// An orch holds the lock for this run.
    Running,
    /// No orch runs it: it finished, or the orch that ran it stopped (a crash, a kill, an
    /// interrupt) and it waits for `orch resume`.
    NotRunning,
}

pub fn render(state: &RunState, live: Liveness, style: &Styler) -> String {
    let mut out = String::new();
    let status = match (state.finished, live) {
        (true, _) => "finished",
        (false, Liveness::Running) => "running",
        (false, Liveness::NotRunning) => "not finished, not running",
    };
    let _ = writeln!(
        out,
        "{}",
        style.bold(&format!(
            "Run {} of milestone {} ({status}, updated {})",
            state.run_id,
            state.scope(),
            state.updated_at
        ))
    );
    if !state.finished && live == Liveness::NotRunning {
        let _ = writeln!(
            out,
            "{}",
            style.yellow(&format!(
                "No orch is running it: it stopped (crashed, killed or interrupted) at {}. `orch resume {}` continues it.",
                state.updated_at,
                state.scope()
            ))
        );
    }
    if let Some(line) = super::header::sandbox_line(state.sandbox.as_deref()) {
        let _ = writeln!(out, "{line}");
    }
    if let Some(line) = super::header::budget_line(state) {
        let _ = writeln!(out, "{line}");
    }
    let phases = || state.issues.iter().flat_map(|i| &i.phases);
    let (agents, costs) = super::header::optional_columns(phases());
    let mut header = vec!["ISSUE", "STATE", "PHASE"];
    header.extend(agents.then_some("AGENTS"));
    header.extend(["CYCLES", "LAST REVIEW", "COMMITS", "TOKENS"]);
    header.extend(costs.then_some("COST"));
    let mut rows = vec![header.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    for issue in &state.issues {
        // A phase in flight says for how long; one a stopped orch left says how long it ran
        // before it was cut off (the time since goes on counting nothing).
        let phase = issue
            .current_phase
            .as_ref()
            .map(|c| {
                use crate::util::timeutil::{human_secs, parse_rfc3339, seconds_since};
                let since = match live {
                    Liveness::Running => seconds_since(&c.started_at)
                        .map(|s| format!(" for {}", human_secs(s)))
                        .unwrap_or_default(),
                    Liveness::NotRunning => {
                        match (
                            parse_rfc3339(&c.started_at),
                            parse_rfc3339(&state.updated_at),
                        ) {
                            (Some(from), Some(to)) => {
                                format!(" cut off after {}", human_secs(to.saturating_sub(from)))
                            }
                            _ => " cut off".to_owned(),
                        }
                    }
                };
                let on = super::header::on_agent(c.agent_name.as_deref());
                format!("{:02}-{}{on}{since}", c.seq, c.phase.name())
            })
            .unwrap_or_else(|| "-".to_owned());
        let stats = issue.stats();
        let label = issue.status_name();
        let label = match issue.status {
            IssueStatus::Completed => style.green(&label),
            IssueStatus::Failed
            | IssueStatus::Blocked
            | IssueStatus::Capped
            | IssueStatus::Deferred
            | IssueStatus::Interrupted
            | IssueStatus::Budget => style.red(&label),
            _ => label,
        };
        let mut row = vec![issue.id.clone(), label, phase];
        row.extend(agents.then(|| super::header::agents_of(&issue.phases)));
        row.extend([
            stats.cycles.to_string(),
            stats.last_review.unwrap_or_else(|| "-".to_owned()),
            stats.commits.to_string(),
            stats.tokens.to_string(),
        ]);
        row.extend(costs.then(|| super::header::cost_cell(&issue.phases)));
        rows.push(row);
    }
    for line in lay_out(&rows) {
        let _ = writeln!(out, "{line}");
    }
    let carried: Vec<String> = state
        .issues
        .iter()
        .filter_map(|i| {
            let run = i.summary.as_ref()?.completed_in.as_ref()?;
            Some(format!("{} (run {run})", i.id))
        })
        .collect();
    if !carried.is_empty() {
        let _ = writeln!(
            out,
            "Completed in earlier runs, not run again: {}",
            carried.join(", ")
        );
    }
    // Issues dispatched to runners and not ended (a resumed one keeps its last summary until
    // it ends again): where to look at them.
    let dispatched: Vec<String> = (state.issues.iter())
        .filter(|i| i.status == IssueStatus::InProgress)
        .filter_map(|i| {
            let d = i.dispatched.as_ref()?;
            Some(format!("  {}: attempt {}, {}", i.id, d.attempt, d.url))
        })
        .collect();
    if !dispatched.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("On GitHub Actions runners:"));
        for line in dispatched {
            let _ = writeln!(out, "{line}");
        }
    }
    let pulls: Vec<String> = (state.issues.iter())
        .filter_map(|i| Some(format!("  {}: {}", i.id, super::pulls::line(i)?)))
        .collect();
    if !pulls.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Pull requests:"));
        for line in pulls {
            let _ = writeln!(out, "{line}");
        }
    }
    let waiting: Vec<(&str, &String)> = state
        .issues
        .iter()
        .filter_map(|i| Some((i.id.as_str(), i.summary.as_ref()?)))
        .flat_map(|(id, s)| s.awaiting.iter().map(move |g| (id, g)))
        .collect();
    if !waiting.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Awaiting approval:"));
        for (id, gate) in waiting {
            let _ = writeln!(
                out,
                "  {id}: `{gate}` — `orch approve {gate} --task {id}`, then `orch resume`"
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issue_dispatched_again_is_listed_on_its_runner_though_it_has_an_earlier_summary() {
        let summary = serde_json::json!({
            "id": "A-1", "title": "Work item A-1", "outcome": "budget", "reason": "spent",
            "branch": "orch/p/M1/A-1", "log_dir": "/l/A-1", "commits": 1, "cycles": 0,
            "phases": [], "remaining_actions": [],
            "guard": {"allowed": 0, "denied": 0, "violations": 0},
            "tokens": {"input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0, "reasoning_output_tokens": 0}
        });
        let dispatched =
            serde_json::json!({"workflow_run": 7, "url": "https://g/runs/7", "attempt": 2});
        let issue = |status: &str| {
            serde_json::json!({"id": "A-1", "status": status, "current_phase": null, "phases": [],
                "summary": summary, "started_at": null, "dispatched": dispatched})
        };
        let state = |status: &str| -> RunState {
            serde_json::from_value(serde_json::json!({
                "run_id": "R", "milestone": "M1", "started_at": "2026-01-02T03:04:05Z",
                "updated_at": "2026-01-02T03:04:05Z", "finished": false, "issues": [issue(status)]
            }))
            .unwrap()
        };
        let style = Styler::plain();
        let line = "A-1: attempt 2, https://g/runs/7";
        // A resume dispatched it again: in progress, its last summary still recorded.
        assert!(render(&state("in_progress"), Liveness::Running, &style).contains(line));
        // Ended: nothing in flight.
        assert!(!render(&state("budget"), Liveness::NotRunning, &style).contains(line));
    }
}

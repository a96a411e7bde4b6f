//! The run's event log: append-only JSONL, `logs/orch/[<project>/]<milestone>/events-<run-id>.jsonl`,
//! one `{ts, type, task, phase?, …}` object per line, in the event vocabulary of plan mode
//! (`plan_validated`, `task_started`, `task_completed`, `task_failed`, `task_blocked`,
//! `task_deferred`,
//! `skipped`, `resumed`, `completed`, `acceptance_passed`, `awaiting_approval`, …) plus phase
//! events (`phase_started`, `phase_completed`, `guard_denied`, `guard_violation`). A reporter:
//! it renders the engine's events.

use crate::model::event::{EngineEvent, Report, ReportError, Stamped};
use crate::model::record::Outcome;
use serde_json::{json, Value};
use std::io::Write;
use std::sync::Mutex;

/// Opens `events-<run-id>.jsonl` in the run's log directory when the run starts.
#[derive(Default)]
pub struct EventLog {
    /// The open log and its path (for a message when it cannot be written).
    file: Mutex<Option<(std::fs::File, std::path::PathBuf)>>,
}

impl Report for EventLog {
    /// Appends the event's lines; a log that cannot be opened or written says so (the run
    /// may go on without it: it is a record, not the resume point).
    fn write(&self, stamped: &Stamped<'_>) -> Result<(), ReportError> {
        let mut guard = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let file = &mut *guard;
        let lines = match stamped.event {
            EngineEvent::RunStarted {
                run_id,
                project,
                milestone,
                issue_ids,
                resumed,
                log_dir,
                budget,
                base,
                base_commit,
                ..
            } => {
                let dir = log_dir;
                let path = crate::model::layout::event_log(dir, run_id);
                let opened = std::fs::create_dir_all(dir).and_then(|_| {
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&path)
                });
                let opened = opened.map_err(|source| ReportError {
                    what: "the event log",
                    path: path.clone(),
                    source,
                })?;
                *file = Some((opened, path));
                let mut lines = vec![
                    json!({"type": "plan_validated", "task": null, "project": project, "milestone": milestone, "run_id": run_id, "tasks": issue_ids, "base": base, "base_commit": base_commit}),
                ];
                if *resumed {
                    lines.push(json!({"type": "resumed", "task": null, "run_id": run_id}));
                }
                if budget.any() {
                    lines.push(json!({"type": "budget_set", "task": null, "budget": budget}));
                }
                lines
            }
            EngineEvent::BudgetReserved {
                id,
                seq,
                phase,
                reserve,
                spent,
            } => vec![
                json!({"type": "budget_reserved", "task": id, "phase": format!("{seq:02}-{}", phase.name()), "reserve": reserve, "spent": spent}),
            ],
            EngineEvent::BudgetExhausted {
                id,
                stop,
                overshot_by,
            } => vec![
                json!({"type": "budget_exhausted", "task": id, "stop": stop, "overshot_by_phase": overshot_by, "message": stop.describe()}),
            ],
            EngineEvent::IssueStarted {
                id,
                position,
                total,
            } => {
                vec![
                    json!({"type": "task_started", "task": id, "position": position, "total": total}),
                ]
            }
            EngineEvent::WorktreeReady { id, path, created } => {
                vec![
                    json!({"type": "worktree_ready", "task": id, "path": path, "created": created}),
                ]
            }
            EngineEvent::PhaseStarted {
                id,
                seq,
                phase,
                agent,
            } => {
                vec![
                    json!({"type": "phase_started", "task": id, "phase": format!("{seq:02}-{}", phase.name()), "agent": agent}),
                ]
            }
            EngineEvent::Activity { .. }
            | EngineEvent::AgentStarted { .. }
            | EngineEvent::GuardRefused { .. } => Vec::new(),
            EngineEvent::PhaseFinished { id, record } => {
                let phase = format!("{:02}-{}", record.seq, record.phase.name());
                let mut lines = Vec::new();
                use crate::guard::log::{self, Attempt, Decided, GuardLine};
                let guard_log = record.log_dir.join(crate::model::layout::GUARD_LOG);
                for line in log::read(&guard_log) {
                    match &line {
                        GuardLine::Attempt(Attempt {
                            argv,
                            decision: Decided::Deny { rule, .. },
                            ..
                        }) => lines.push(json!({"type": "guard_denied", "task": id, "phase": phase, "argv": argv, "rule": rule})),
                        GuardLine::Violation(_) => lines.push(json!({"type": "guard_violation", "task": id, "phase": phase, "detail": line})),
                        GuardLine::Attempt(_) => {}
                    }
                }
                lines.push(json!({
                    "type": "phase_completed", "task": id, "phase": phase, "status": record.status,
                    "failure": record.failure, "commits": record.commits, "usage": record.usage,
                    "duration_ms": record.duration_ms,
                    "range": record.log_dir.join(crate::model::layout::RANGE),
                }));
                lines
            }
            EngineEvent::ShardStarted { id, shard, title } => {
                vec![json!({"type": "shard_started", "task": id, "shard": shard, "title": title})]
            }
            EngineEvent::Verified {
                id, verification, ..
            } => {
                vec![
                    json!({"type": "verified", "task": id, "commit": verification.commit,
                            "passed": verification.ok(), "error": verification.error,
                            "checks": verification.checks.iter().map(|c| json!({"spec": c.check, "passed": c.passed, "detail": c.detail, "log": c.log})).collect::<Vec<_>>()}),
                ]
            }
            EngineEvent::AcceptanceChecked {
                id,
                seq,
                phase,
                shard,
                outcomes,
            } => {
                let phase = format!("{seq:02}-{}", phase.name());
                let mut lines: Vec<Value> = outcomes
                    .iter()
                    .map(|o| {
                        let kind = if o.passed { "acceptance_passed" } else { "acceptance_failed" };
                        json!({"type": kind, "task": id, "phase": phase, "shard": shard, "check": o.label,
                               "spec": o.check, "detail": o.detail, "log": o.log})
                    })
                    .collect();
                if let Some(shard) = shard {
                    lines.push(
                        json!({"type": "shard_completed", "task": id, "shard": shard,
                                      "passed": outcomes.iter().all(|o| o.passed)}),
                    );
                }
                lines
            }
            EngineEvent::CommandRun { id, name, record } => {
                vec![
                    json!({"type": "command_run", "task": id, "name": name, "cmd": record.command,
                            "status": record.status, "log": record.log, "duration_ms": record.duration_ms,
                            "approved_by": record.approved_by}),
                ]
            }
            EngineEvent::BaseFallback { id, reason } => {
                vec![json!({"type": "base_fallback", "task": id, "reason": reason})]
            }
            EngineEvent::PullRequest { id, pull, created } => {
                vec![
                    json!({"type": "pull_request", "task": id, "number": pull.number,
                            "url": pull.url, "base": pull.base, "head": pull.head,
                            "pushed": pull.pushed, "created": created}),
                ]
            }
            EngineEvent::Dispatched {
                id,
                record,
                attached,
            } => {
                vec![
                    json!({"type": "dispatched", "task": id, "workflow_run": record.workflow_run,
                            "url": record.url, "attempt": record.attempt, "attached": attached}),
                ]
            }
            EngineEvent::Watched { id, record, note } => {
                vec![
                    json!({"type": "watched", "task": id, "note": note, "cycles": record.cycles,
                            "outcome": record.outcome.map(|o| o.name()), "reason": record.reason,
                            "replied": record.replied, "fixing": record.fixing.as_ref().map(|f| f.seq)}),
                ]
            }
            EngineEvent::IssueUpdated { summary } => {
                vec![
                    json!({"type": "task_updated", "task": summary.id, "phases": summary.phases.len(),
                            "commits": summary.commits, "head": summary.pull.as_ref().map(|p| &p.pushed)}),
                ]
            }
            EngineEvent::ForgeNote { id, message } => {
                vec![json!({"type": "forge_note", "task": id, "message": message})]
            }
            EngineEvent::AwaitingApproval { id, gate } => {
                vec![json!({"type": "awaiting_approval", "task": id, "gate": gate})]
            }
            EngineEvent::PhaseRetry {
                id,
                seq,
                phase,
                attempt,
                reason,
                delay_ms,
            } => {
                vec![
                    json!({"type": "phase_retry", "task": id, "phase": format!("{seq:02}-{}", phase.name()),
                            "attempt": attempt, "reason": reason, "delay_ms": delay_ms}),
                ]
            }
            EngineEvent::BranchSetAside { id, set_aside } => vec![
                json!({"type": "branch_set_aside", "task": id, "branch": set_aside.branch, "moved_to": set_aside.moved_to, "uncommitted": set_aside.uncommitted}),
            ],
            EngineEvent::IssueFinished { summary } => {
                let kind = match summary.outcome {
                    Outcome::Completed => "task_completed",
                    Outcome::Skipped => "skipped",
                    // Waiting for a human (an approval, or a review that needs a decision)
                    // is not a failure.
                    Outcome::Blocked => "task_blocked",
                    Outcome::Deferred => "task_deferred",
                    _ => "task_failed",
                };
                vec![
                    json!({"type": kind, "task": summary.id, "outcome": summary.outcome, "reason": summary.reason, "cycles": summary.cycles, "completed_in": summary.completed_in}),
                ]
            }
            EngineEvent::RunFinished { summary } => {
                let count = |o: Outcome| summary.issues.iter().filter(|i| i.outcome == o).count();
                vec![
                    json!({"type": "completed", "task": null, "completed": count(Outcome::Completed), "failed": count(Outcome::Failed),
                            "blocked": count(Outcome::Blocked), "capped": count(Outcome::Capped), "deferred": count(Outcome::Deferred), "skipped": count(Outcome::Skipped),
                            "interrupted": count(Outcome::Interrupted)}),
                ]
            }
        };
        let Some((f, path)) = file.as_mut() else {
            return Ok(());
        };
        let lines: Vec<serde_json::Value> = lines
            .into_iter()
            .map(|mut line| {
                line["ts"] = stamped.ts.into();
                line
            })
            .collect();
        let failpoint = || match crate::util::failpoint::fails("event-log") {
            true => Err(std::io::Error::other(
                "the event log is not written (a test)",
            )),
            false => Ok(()),
        };
        failpoint()
            .and_then(|()| crate::util::fsutil::write_json_lines(f, &lines))
            .and_then(|()| f.flush())
            .map_err(|source| ReportError {
                what: "the event log",
                path: path.clone(),
                source,
            })
    }
}

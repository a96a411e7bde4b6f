//! The milestone loop: for each issue in plan order, one worktree, dev → review ⇄ fix until
//! the review passes or the cycle cap is reached, every phase recorded; then the worktree is
//! removed (rescuing anything uncommitted) and the next issue starts.
//!
//! The engine emits [`EngineEvent`]s and never prints; reporters render them.

use crate::agent::{PhaseRequest, Runner};
use crate::git::{GitError, Repo};
use crate::input::config::Config;
use crate::model::event::{EngineEvent, Reporter};
use crate::model::phase::{PhaseFailure, PhaseKind, Usage};
use crate::model::plan::{Plan, PlannedIssue};
use crate::model::record::{
    CommandRecord, GateRecord, IssueSummary, Outcome, PhaseRecord, RunSummary,
};
use crate::util::redact::redact;
use crate::workspace::capture::{self, PhaseId};
use crate::workspace::worktrees::{self, IssueWorktree};

mod commands;
mod prompt;
mod step;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use step::status_of;
pub use step::{next_step, Done, Step};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum EngineError {
    #[error("the repository is not clean: {0} problem(s); see `orch verify-clean`")]
    NotClean(usize, crate::workspace::verify_clean::CleanReport),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Capture(#[from] capture::CaptureError),
    #[error(transparent)]
    Prompt(#[from] crate::agent::prompts::PromptError),
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("a blocking git task failed: {0}")]
    Join(String),
}

pub struct RunOptions {
    pub run_id: String,
    /// Only this issue (its dependencies are not run).
    pub only_issue: Option<String>,
    /// The state of the run being resumed: finished issues are kept, interrupted ones
    /// continue after their last finished phase.
    pub resume: Option<crate::model::state::RunState>,
    /// Issues whose failed, blocked or capped loop a resume runs again.
    pub retry: Vec<String>,
    /// Skip the tasks' final `build`/`release` commands.
    pub no_build: bool,
    /// Approvals recorded for this milestone (see [`crate::gates::approval`]).
    pub approvals: Vec<crate::gates::approval::Approval>,
}

pub struct Engine<'a, R: Runner> {
    pub repo_root: PathBuf,
    pub config: &'a Config,
    /// The phases' result schemas (the repository's overrides, checked, or the built-in).
    pub schemas: crate::agent::contract::schema::Schemas,
    pub runner: &'a R,
    pub reporter: Reporter,
    /// Turns true on SIGINT/SIGTERM.
    pub cancel: Option<tokio::sync::watch::Receiver<bool>>,
}

impl<R: Runner> Engine<'_, R> {
    pub async fn run(&self, plan: &Plan, opts: &RunOptions) -> Result<RunSummary, EngineError> {
        let root = self.repo_root.clone();
        let config = self.config.clone();
        let report = blocking(move || {
            let repo = Repo::open(&root)?;
            Ok::<_, EngineError>(crate::workspace::verify_clean::verify_clean(
                &repo, &config,
            )?)
        })
        .await?;
        // Resuming: the worktrees of this run's unfinished issues are expected to be there.
        let report = if opts.resume.is_some() {
            let ours: Vec<PathBuf> = plan.issues.iter().map(|i| i.worktree.clone()).collect();
            crate::workspace::verify_clean::tolerate_own_worktrees(report, &ours)
        } else {
            report
        };
        if !report.clean {
            return Err(EngineError::NotClean(report.problems.len(), report));
        }
        let root = self.repo_root.clone();
        let base = blocking(move || {
            Repo::open(&root)?
                .resolve_commit("HEAD")
                .map_err(EngineError::from)
        })
        .await?;
        let root = self.repo_root.clone();
        let config = self.config.clone();
        let trunk = blocking(move || {
            let repo = Repo::open(&root)?;
            let head = repo.head()?.branch;
            Ok(crate::workspace::verify_clean::start_branch(&repo, &config)
                .or(head)
                .unwrap_or_else(|| "main".to_owned()))
        })
        .await?;
        let logs = self
            .config
            .orch_logs(&self.repo_root)
            .join(plan.scope().dir());
        let started_at = crate::util::timeutil::now_rfc3339();
        let issues: Vec<&PlannedIssue> = plan
            .issues
            .iter()
            .filter(|i| opts.only_issue.as_ref().is_none_or(|only| &i.id == only))
            .collect();
        (self.reporter)(&EngineEvent::RunStarted {
            run_id: opts.run_id.clone(),
            project: plan.project.clone(),
            milestone: plan.milestone.clone(),
            issues: issues.len(),
            issue_ids: issues.iter().map(|i| i.id.clone()).collect(),
            log_dir: logs.clone(),
            resumed: opts.resume.is_some(),
        });
        // Done issues count as passed for their dependents.
        let done: BTreeSet<String> = plan
            .issues
            .iter()
            .filter(|i| i.done)
            .map(|i| i.id.clone())
            .collect();
        let mut passed = done.clone();
        let mut outcomes: BTreeMap<String, Outcome> = BTreeMap::new();
        // Branch tips of issues completed in this run: a dependent issue stacks on them.
        let mut tips: BTreeMap<String, (String, String)> = BTreeMap::new();
        let mut summaries = Vec::new();
        for (n, issue) in issues.iter().enumerate() {
            (self.reporter)(&EngineEvent::IssueStarted {
                id: issue.id.clone(),
                position: n + 1,
                total: issues.len(),
            });
            let issue_dir = logs.join(crate::model::naming::ref_component(&issue.id));
            let blocked_on: Vec<String> = issue
                .dependencies
                .iter()
                .filter(|d| matches!(d, crate::model::dag::Dependency::InMilestone { .. }))
                .map(|d| d.id().to_owned())
                .filter(|id| !passed.contains(id) && opts.only_issue.is_none())
                .collect();
            let prior_state = opts
                .resume
                .as_ref()
                .and_then(|s| s.issue(&issue.id))
                .cloned();
            let retry = opts.retry.iter().any(|r| r == &issue.id);
            let kept = prior_state
                .as_ref()
                .and_then(|p| p.summary.clone())
                .filter(|s| {
                    let dependency_skip = s.outcome == Outcome::Skipped
                        && s.reason
                            .as_deref()
                            .is_some_and(|r| r.starts_with("depends on"));
                    !(retry
                        || dependency_skip
                        || s.outcome == Outcome::Interrupted
                        || s.awaits_approval())
                });
            let apply_gate = issue.spec.gated(crate::model::plan::APPLY_PATCH)
                && crate::gates::approval::covering(
                    &opts.approvals,
                    crate::model::plan::APPLY_PATCH,
                    &issue.id,
                )
                .is_none();
            let summary = if let Some(kept) = kept {
                kept
            } else if let Some(reason) = &issue.skip_reason {
                skipped(issue, reason.clone(), &issue_dir)
            } else if !blocked_on.is_empty() {
                let why: Vec<String> = blocked_on
                    .iter()
                    .map(|id| {
                        format!(
                            "{id} ({})",
                            outcomes.get(id).map_or("not run", |o| o.name())
                        )
                    })
                    .collect();
                skipped(
                    issue,
                    format!("depends on {} which did not pass", why.join(", ")),
                    &issue_dir,
                )
            } else if apply_gate {
                let gate = crate::model::plan::APPLY_PATCH;
                (self.reporter)(&EngineEvent::AwaitingApproval {
                    id: issue.id.clone(),
                    gate: gate.to_owned(),
                });
                IssueSummary {
                    reason: Some(format!(
                        "awaiting approval of `{gate}` before any agent works on it: run `orch approve {gate} --task {}`, then `orch resume`",
                        issue.id
                    )),
                    awaiting: vec![gate.to_owned()],
                    ..IssueSummary::new(issue, Outcome::Blocked, &issue_dir)
                }
            } else {
                let body = match &issue.spec.description {
                    Some(description) if issue.body.is_empty() => description.clone(),
                    _ => issue.body.clone(),
                };
                let (base, parent) = match stack_base(issue, &tips, &done) {
                    StackBase::Trunk => (base.clone(), trunk.clone()),
                    StackBase::Branch(tip, branch) => (tip.to_owned(), branch.to_owned()),
                    StackBase::Merge(deps) => {
                        let (root, id) = (self.repo_root.clone(), issue.id.clone());
                        let tips_of: Vec<String> =
                            deps.iter().map(|(t, _)| t.to_string()).collect();
                        let message = format!(
                            "orch: base of {id}: the work of {}",
                            issue.blocked_by.join(", ")
                        );
                        let merged =
                            blocking(
                                move || Ok(Repo::open(&root)?.merge_tips(&tips_of, &message)?),
                            )
                            .await?;
                        match merged {
                            Some(oid) => {
                                // The dependency whose tip it is, when no merge was needed.
                                let parent = deps
                                    .iter()
                                    .find(|(tip, _)| *tip == oid)
                                    .map_or(deps[0].1, |(_, branch)| branch);
                                (oid.clone(), parent.to_owned())
                            }
                            None => {
                                (self.reporter)(&EngineEvent::BaseFallback {
                                    id: issue.id.clone(),
                                    reason: format!(
                                        "the work of {} conflicts when merged; {} starts from {trunk}",
                                        issue.blocked_by.join(", "),
                                        issue.id
                                    ),
                                });
                                (base.clone(), trunk.clone())
                            }
                        }
                    }
                };
                let capped = prior_state
                    .as_ref()
                    .and_then(|p| p.summary.as_ref())
                    .is_some_and(|s| s.outcome == Outcome::Capped);
                // Recorded as each command ended (a crash leaves no summary).
                let prior_commands = prior_state
                    .as_ref()
                    .map(|p| p.commands.clone())
                    .unwrap_or_default();
                // A task whose loop converged but whose command failed (or waits for an
                // approval) retries the commands only: the agent's phases stand.
                let command_failed = prior_state
                    .as_ref()
                    .and_then(|p| p.summary.as_ref())
                    .is_some_and(|s| {
                        s.awaits_approval()
                            || (s.outcome == Outcome::Failed
                                && s.commands.last().is_some_and(|c| c.status != Some(0)))
                    });
                let prior = prior_state.map(|p| {
                    let mut phases = p.phases;
                    // A capped issue gets another round of fixes; any other ended loop runs its
                    // last step again.
                    if retry && !capped && !command_failed {
                        // Run the step that ended the loop again; its record stays, superseded.
                        if let Some(last) = phases.iter_mut().rev().find(|r| !r.superseded) {
                            last.superseded = true;
                        }
                    }
                    (phases, p.current_phase)
                });
                let job = IssueJob {
                    issue,
                    body: &body,
                    base: &base,
                    parent: &parent,
                    issue_dir: &issue_dir,
                    prior,
                    prior_commands,
                    extra_cycles: if retry && capped {
                        plan.max_review_cycles
                    } else {
                        0
                    },
                };
                self.run_issue(plan, job, opts).await?
            };
            write_json(&issue_dir.join("summary.json"), &summary)?;
            if summary.outcome == Outcome::Completed {
                passed.insert(issue.id.clone());
                let (root, branch) = (self.repo_root.clone(), issue.branch.clone());
                if let Some(tip) =
                    blocking(move || Ok(Repo::open(&root)?.branch_tip(&branch)?)).await?
                {
                    tips.insert(issue.id.clone(), (tip, issue.branch.clone()));
                }
            }
            outcomes.insert(issue.id.clone(), summary.outcome);
            (self.reporter)(&EngineEvent::IssueFinished {
                summary: summary.clone(),
            });
            let interrupted = summary.outcome == Outcome::Interrupted;
            summaries.push(summary);
            if interrupted {
                break;
            }
        }
        let summary = RunSummary {
            run_id: opts.run_id.clone(),
            project: plan.project.clone(),
            milestone: plan.milestone.clone(),
            started_at,
            finished_at: crate::util::timeutil::now_rfc3339(),
            issues: summaries,
        };
        write_json(&logs.join(format!("run-{}.json", opts.run_id)), &summary)?;
        (self.reporter)(&EngineEvent::RunFinished {
            summary: summary.clone(),
        });
        Ok(summary)
    }

    async fn run_issue(
        &self,
        plan: &Plan,
        job: IssueJob<'_>,
        opts: &RunOptions,
    ) -> Result<IssueSummary, EngineError> {
        let IssueJob {
            issue,
            body,
            base,
            parent,
            issue_dir,
            prior,
            prior_commands,
            extra_cycles,
        } = job;
        let wt = IssueWorktree {
            scope: plan.scope(),
            id: issue.id.clone(),
            branch: issue.branch.clone(),
            path: issue.worktree.clone(),
        };
        let (root, wt2, base2, parent2) = (
            self.repo_root.clone(),
            wt.clone(),
            base.to_owned(),
            parent.to_owned(),
        );
        let stale = blocking(move || {
            worktrees::stale_branch(&Repo::open(&root)?, &wt2, &base2, &parent2)
                .map_err(EngineError::from)
        })
        .await?;
        if let Some(reason) = stale {
            return Ok(IssueSummary {
                reason: Some(reason),
                base: Some(base.to_owned()),
                ..IssueSummary::new(issue, Outcome::Failed, issue_dir)
            });
        }
        let (root, wt2, base2) = (self.repo_root.clone(), wt.clone(), base.to_owned());
        let prepared = blocking(move || {
            worktrees::prepare(&Repo::open(&root)?, &wt2, &base2).map_err(EngineError::from)
        })
        .await?;
        (self.reporter)(&EngineEvent::WorktreeReady {
            id: issue.id.clone(),
            path: wt.path.clone(),
            created: prepared == worktrees::Prepared::Created,
        });
        let common_dir = Repo::open(&self.repo_root)?.common_dir();
        // In a Graphite repository the new branch must be tracked before gt can stack on it.
        let tracked = match (
            crate::workspace::graphite::initialised(&common_dir),
            crate::workspace::graphite::find_gt(),
        ) {
            (true, Some(gt)) if prepared == worktrees::Prepared::Created => {
                crate::workspace::graphite::track(&gt, &wt.path, &wt.branch, parent)
            }
            (true, None) => Err("Graphite is initialised here but gt is not on PATH".to_owned()),
            _ => Ok(()),
        };

        let mut summary = IssueSummary::new(issue, Outcome::Failed, issue_dir);
        summary.base = Some(base.to_owned());
        let mut ctx = PhaseContext {
            plan,
            issue,
            body,
            base,
            issue_dir,
            opts,
            common_dir: &common_dir,
            seq: 0,
            sessions: BTreeMap::new(),
            dev_session: None,
            stack: vec![issue.branch.clone()],
            timeout: task_timeout(issue, self.config),
        };

        let mut results: Vec<Option<serde_json::Value>> = Vec::new();
        if let Some((phases, current)) = prior {
            // A phase that was running when orch died has no record: pin what it committed.
            if let Some(current) = current {
                let id = PhaseId {
                    run_id: opts.run_id.clone(),
                    milestone: plan.milestone.clone(),
                    issue: issue.id.clone(),
                    seq: current.seq,
                    phase: current.phase.name().to_owned(),
                };
                let wt_path = wt.path.clone();
                blocking(move || {
                    let repo = Repo::open(&wt_path)?;
                    if let (Some(head), None) = (repo.head()?.oid, repo.ref_target(&id.pin_ref())?)
                    {
                        repo.set_ref(
                            &id.pin_ref(),
                            &head,
                            "orch: pin an interrupted phase's head",
                        )?;
                    }
                    Ok(())
                })
                .await?;
                ctx.seq = ctx.seq.max(current.seq);
            }
            // Resume: keep every recorded phase (and its counters); continue after them.
            for record in phases {
                let value = std::fs::read_to_string(record.log_dir.join("result.json"))
                    .ok()
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .filter(|_| record.failure.is_none());
                ctx.seq = ctx.seq.max(record.seq);
                if let Some(session) = &record.session_id {
                    let total = ctx.sessions.entry(session.clone()).or_default();
                    *total = add(*total, record.usage);
                    if record.phase == PhaseKind::Dev && record.failure.is_none() {
                        ctx.dev_session = Some(session.clone());
                    }
                }
                if let Ok(text) = std::fs::read_to_string(record.log_dir.join(capture::RANGE_FILE))
                {
                    if let Ok(range) = serde_json::from_str::<capture::PhaseRange>(&text) {
                        for b in range.stack.iter().filter(|b| b.created) {
                            if !ctx.stack.contains(&b.name) {
                                ctx.stack.push(b.name.clone());
                            }
                        }
                    }
                }
                let _ = self.account(&mut summary, &(phase_outcome_stub(&record), record.clone()));
                results.push(value);
            }
        }

        if let Err(reason) = tracked {
            summary.outcome = Outcome::Failed;
            summary.reason = Some(reason);
            let (root, wt2) = (self.repo_root.clone(), wt.clone());
            let removed = blocking(move || {
                worktrees::remove(&Repo::open(&root)?, &wt2).map_err(EngineError::from)
            })
            .await?;
            summary.rescue_ref = removed.rescue_ref;
            return Ok(summary);
        }
        let max = plan.max_review_cycles + extra_cycles;
        let shards = &issue.spec.shards;
        let devs = shards.len().max(1);
        loop {
            let history: Vec<Done<'_>> = summary
                .phases
                .iter()
                .zip(&results)
                .filter(|(r, _)| r.failure != Some(PhaseFailure::Interrupted) && !r.superseded)
                .map(|(r, v)| Done {
                    kind: r.phase,
                    result: match (v, &r.failure) {
                        (Some(v), _) => Ok(v),
                        (None, Some(f)) => Err(f),
                        (None, None) => Err(&PhaseFailure::NoFinalMessage),
                    },
                    gate: r.acceptance.as_ref(),
                })
                .collect();
            let fixes = history.iter().filter(|d| d.kind == PhaseKind::Fix).count() as u32;
            let devs_done = history.iter().filter(|d| d.kind == PhaseKind::Dev).count();
            summary.cycles = fixes;
            match next_step(&history, devs, max) {
                Step::Finish {
                    outcome,
                    reason,
                    remaining,
                } => {
                    summary.outcome = outcome;
                    summary.reason = reason;
                    summary.remaining_actions = remaining;
                    if outcome == Outcome::Deferred {
                        let last = history.last().and_then(|d| d.result.ok());
                        let list = |key| step::list_of_opt(last, key);
                        summary.deferred = list("deferred");
                        summary.open_questions = list("openQuestions");
                    }
                    break;
                }
                Step::Run(kind) => {
                    let review = match kind {
                        PhaseKind::Fix => history
                            .iter()
                            .rev()
                            .find(|d| d.kind == PhaseKind::Review)
                            .and_then(|d| d.result.ok().cloned()),
                        _ => None,
                    };
                    let prior_fix = match (kind, history.last()) {
                        (PhaseKind::Review, Some(last)) if last.kind == PhaseKind::Fix => {
                            last.result.ok().cloned()
                        }
                        _ => None,
                    };
                    let gate = history
                        .iter()
                        .rev()
                        .find(|d| d.kind != PhaseKind::Review)
                        .and_then(|d| d.gate.cloned());
                    if kind == PhaseKind::Fix {
                        summary.cycles = fixes + 1;
                    }
                    let shard = match kind {
                        PhaseKind::Dev => shards.get(devs_done),
                        _ => None,
                    };
                    let step = StepInput {
                        kind,
                        cycle: fixes + 1,
                        review: review.as_ref(),
                        prior_fix: prior_fix.as_ref(),
                        gate: gate.as_ref(),
                        shard,
                        // The full gate after the last dev and after every fix.
                        full_gate: kind == PhaseKind::Fix || devs_done + 1 >= devs,
                    };
                    let outcome = self.phase(&mut ctx, step).await?;
                    if kind == PhaseKind::Dev {
                        ctx.dev_session = outcome.0.session_id.clone();
                    }
                    let value = self.account(&mut summary, &outcome).ok();
                    results.push(value);
                    if outcome.0.result == Err(PhaseFailure::Interrupted) {
                        break;
                    }
                }
            }
        }

        for result in results.iter().flatten() {
            for url in step::list_of_opt(Some(result), "draftPrs") {
                if !summary.draft_prs.contains(&url) {
                    summary.draft_prs.push(url);
                }
            }
        }
        if summary.outcome == Outcome::Completed {
            self.finish_commands(
                &mut summary,
                issue,
                &wt.path,
                issue_dir,
                opts,
                prior_commands,
            )
            .await?;
        }
        if let Some(last) = summary.phases.last() {
            if last.failure == Some(PhaseFailure::Interrupted) {
                // Keep the worktree and branch as they are: the run can pick up from here.
                summary.outcome = Outcome::Interrupted;
                summary.reason = Some(format!(
                    "interrupted during {:02}-{}",
                    last.seq,
                    last.phase.name()
                ));
                return Ok(summary);
            }
        }
        if summary.awaits_approval() || summary.outcome == Outcome::Interrupted {
            // The gated command runs in this worktree once approved (`orch resume`).
            return Ok(summary);
        }
        let (root, wt2) = (self.repo_root.clone(), wt.clone());
        let removed = blocking(move || {
            worktrees::remove(&Repo::open(&root)?, &wt2).map_err(EngineError::from)
        })
        .await?;
        summary.rescue_ref = removed.rescue_ref;
        Ok(summary)
    }

    /// Adds a phase to the summary; its valid result, or why there is none.
    fn account(
        &self,
        summary: &mut IssueSummary,
        phase: &(crate::agent::PhaseOutcome, PhaseRecord),
    ) -> Result<serde_json::Value, String> {
        let (outcome, record) = phase;
        summary.commits += record.commits;
        summary.guard = summary.guard + record.guard;
        summary.tokens = add(summary.tokens, record.usage);
        summary.phases.push(record.clone());
        outcome
            .result
            .clone()
            .map_err(|f| format!("{} phase failed: {f}", record.phase.name()))
    }

    async fn phase(
        &self,
        ctx: &mut PhaseContext<'_>,
        step: StepInput<'_>,
    ) -> Result<(crate::agent::PhaseOutcome, PhaseRecord), EngineError> {
        let StepInput {
            kind,
            cycle,
            review,
            prior_fix,
            gate,
            shard,
            full_gate,
        } = step;
        ctx.seq += 1;
        let id = PhaseId {
            run_id: ctx.opts.run_id.clone(),
            milestone: ctx.plan.milestone.clone(),
            issue: ctx.issue.id.clone(),
            seq: ctx.seq,
            phase: kind.name().to_owned(),
        };
        let dir = ctx.issue_dir.join(id.dir_name());
        std::fs::create_dir_all(&dir).map_err(|source| EngineError::Write {
            path: dir.clone(),
            source,
        })?;
        if let Some(shard) = shard {
            (self.reporter)(&EngineEvent::ShardStarted {
                id: ctx.issue.id.clone(),
                shard: shard.id.clone(),
                title: shard.title.clone(),
            });
        }
        (self.reporter)(&EngineEvent::PhaseStarted {
            id: ctx.issue.id.clone(),
            seq: ctx.seq,
            phase: kind,
        });
        let phase_key = format!(
            "{}/{}",
            crate::model::naming::ref_component(&ctx.issue.id),
            id.dir_name()
        );
        let repo_map = self.repo_map(ctx).await;
        let task_context =
            crate::agent::handoff::task_context(&ctx.issue.spec, shard, gate, repo_map.as_deref());
        let (prompt, expected) = prompt::compose(
            &self.repo_root,
            self.config,
            &self.schemas,
            prompt::PromptInput {
                plan: ctx.plan,
                issue: ctx.issue,
                body: ctx.body,
                base: ctx.base,
                kind,
                cycle,
                review,
                prior_fix,
                task_context,
                phase_key,
            },
        )?;
        write_text(&dir.join("prompt.md"), &redact(&prompt))?;
        let schema_path = dir.join("schema.json");
        write_text(
            &schema_path,
            &serde_json::to_string_pretty(&*expected.schema).unwrap_or_default(),
        )?;

        let wt_path = ctx.issue.worktree.clone();
        let start =
            blocking(move || capture::begin(&Repo::open(&wt_path)?).map_err(EngineError::from))
                .await?;
        let resume = match kind {
            PhaseKind::Fix if self.config.codex.resume_fix.unwrap_or(true) => {
                ctx.dev_session.clone()
            }
            _ => None,
        };
        let env = crate::guard::shim::prepare(
            &dir,
            crate::guard::shim::ShimContext {
                real_git: crate::util::process::find_real("git", None),
                real_gt: crate::util::process::find_real("gt", None),
                guard_log: dir.join("guard.jsonl"),
                repo_root: self.repo_root.clone(),
                worktree: ctx.issue.worktree.clone(),
                issue_branch: ctx.issue.branch.clone(),
                stack: ctx.stack.clone(),
                preexisting: start
                    .refs
                    .keys()
                    .filter_map(|r| r.strip_prefix("refs/heads/"))
                    .filter(|b| !ctx.stack.iter().any(|s| s == b))
                    .map(str::to_owned)
                    .collect(),
                bin_dir: PathBuf::new(),
            },
        )
        .map_err(|source| EngineError::Write {
            path: dir.join("bin"),
            source,
        })?;
        let (spawn_reporter, spawn_id, seq) =
            (self.reporter.clone(), ctx.issue.id.clone(), ctx.seq);
        let reporter = self.reporter.clone();
        let issue_id = ctx.issue.id.clone();
        let request = PhaseRequest {
            env,
            kind,
            prompt,
            expect: Arc::new(expected),
            worktree: ctx.issue.worktree.clone(),
            writable_dirs: vec![ctx.common_dir.to_owned()],
            schema_path,
            timeout: ctx.timeout,
            resume,
            log_dir: dir.clone(),
            cancel: self.cancel.clone(),
            on_spawn: Some(Arc::new(
                move |agent: &crate::model::phase::AgentProcess| {
                    spawn_reporter(&EngineEvent::AgentStarted {
                        id: spawn_id.clone(),
                        seq,
                        agent: agent.clone(),
                    })
                },
            )),
            activity: Some(Arc::new(move |text: &str| {
                reporter(&EngineEvent::Activity {
                    id: issue_id.clone(),
                    phase: kind,
                    text: text.to_owned(),
                })
            })),
        };
        let mut outcome = self.run_with_retries(ctx, &request).await;

        let (wt_path, branch, dir2) = (
            ctx.issue.worktree.clone(),
            ctx.issue.branch.clone(),
            dir.clone(),
        );
        let range = blocking(move || {
            capture::finish(&Repo::open(&wt_path)?, &branch, &start, id, &dir2)
                .map_err(EngineError::from)
        })
        .await?;
        for b in range.stack.iter().filter(|b| b.created) {
            if !ctx.stack.contains(&b.name) {
                ctx.stack.push(b.name.clone());
            }
        }
        let violations = self.audit(ctx, &range, &dir).await?;
        if !violations.is_empty() && self.config.audit_fails_phase() && outcome.result.is_ok() {
            outcome.result = Err(PhaseFailure::GuardViolation {
                changes: violations,
            });
        }
        let checks: Vec<crate::model::check::Check> = match (kind, &outcome.result) {
            (PhaseKind::Review, _) | (_, Err(_)) => Vec::new(),
            _ if full_gate => ctx.issue.spec.all_checks(),
            _ => shard.map(|s| s.acceptance.clone()).unwrap_or_default(),
        };
        let evaluated = if checks.is_empty() {
            if shard.is_some() && outcome.result.is_ok() {
                // A shard with no checks of its own is done when its phase is: the event log
                // still says so (`shard_completed`).
                (self.reporter)(&EngineEvent::AcceptanceChecked {
                    id: ctx.issue.id.clone(),
                    seq: ctx.seq,
                    phase: kind,
                    shard: shard.map(|s| s.id.clone()),
                    outcomes: Vec::new(),
                });
            }
            None
        } else {
            let outcomes = crate::gates::acceptance::evaluate(
                &checks,
                &ctx.issue.spec.workdir(&ctx.issue.worktree),
                &ctx.issue.spec.paths,
                &dir.join("acceptance"),
                ctx.timeout,
                self.cancel.clone(),
            )
            .await;
            write_json(&dir.join("acceptance.json"), &outcomes)?;
            if self.cancel.as_ref().is_some_and(|c| *c.borrow()) {
                // Checks cut short say nothing (no failed checks in the events, the report or
                // the dashboard): the phase runs again on resume.
                outcome.result = Err(PhaseFailure::Interrupted);
                None
            } else {
                Some(outcomes)
            }
        };
        let acceptance = evaluated.map(|outcomes| {
            (self.reporter)(&EngineEvent::AcceptanceChecked {
                id: ctx.issue.id.clone(),
                seq: ctx.seq,
                phase: kind,
                shard: shard.map(|s| s.id.clone()),
                outcomes: outcomes.clone(),
            });
            GateRecord {
                full: full_gate,
                passed: outcomes.iter().filter(|o| o.passed).count(),
                failed: outcomes
                    .iter()
                    .filter(|o| !o.passed)
                    .map(|o| format!("{} — {}", o.check, o.detail))
                    .collect(),
            }
        });
        match &outcome.result {
            Ok(value) => write_text(
                &dir.join("result.json"),
                &redact(&serde_json::to_string_pretty(value).unwrap_or_default()),
            )?,
            Err(failure) => write_json(&dir.join("failure.json"), failure)?,
        }
        let usage = match (&outcome.session_id, outcome.usage) {
            (Some(session), Some(now)) => {
                let before = ctx
                    .sessions
                    .insert(session.clone(), now)
                    .unwrap_or_default();
                now.since(&before)
            }
            (None, Some(now)) => now,
            _ => Usage::default(),
        };
        let record = PhaseRecord {
            seq: ctx.seq,
            phase: kind,
            status: outcome
                .result
                .as_ref()
                .ok()
                .map(|v| status_of(v).to_owned()),
            failure: outcome.result.as_ref().err().cloned(),
            session_id: outcome.session_id.clone(),
            usage,
            commits: range.commits.len(),
            duration_ms: outcome.duration_ms,
            guard: crate::guard::shim::counts(&dir.join("guard.jsonl")),
            superseded: false,
            shard: shard.map(|s| s.id.clone()),
            acceptance,
            log_dir: dir,
        };
        (self.reporter)(&EngineEvent::PhaseFinished {
            id: ctx.issue.id.clone(),
            record: record.clone(),
        });
        crate::util::failpoint::hit(&format!("after-{}", kind.name()));
        Ok((outcome, record))
    }
}

impl<R: Runner> Engine<'_, R> {
    /// The repository map of the worktree's HEAD for a phase prompt, the task's preferred
    /// paths first (built once per tree, then read from the cache under the git dir). A map
    /// that cannot be built is left out, with a warning: it is a help, not a precondition.
    async fn repo_map(&self, ctx: &PhaseContext<'_>) -> Option<String> {
        let budget = self.config.repo_map_bytes();
        if budget == 0 {
            return None;
        }
        let (worktree, common, hints) = (
            ctx.issue.worktree.clone(),
            ctx.common_dir.to_owned(),
            ctx.issue.spec.paths.clone(),
        );
        let built = tokio::task::spawn_blocking(move || {
            let repo = Repo::open(&worktree).map_err(|e| e.to_string())?;
            let head = repo
                .head()
                .map_err(|e| e.to_string())?
                .oid
                .ok_or("the worktree has no commit")?;
            crate::agent::repomap::for_prompt(&repo, &common, &head, &hints, budget)
                .map_err(|e| e.to_string())
        })
        .await;
        match built {
            Ok(Ok(map)) => Some(map),
            Ok(Err(e)) => {
                tracing::warn!("no repository map for {}: {e}", ctx.issue.id);
                None
            }
            Err(e) => {
                tracing::warn!("no repository map for {}: {e}", ctx.issue.id);
                None
            }
        }
    }

    /// Runs the agent; a transient failure (see [`PhaseFailure::transient_reason`]) is tried
    /// again after a doubling backoff, up to `retry_attempts` tries in all. Each failed
    /// attempt's logs are kept beside the phase's (`events.attempt-1.jsonl`, …). The phase
    /// stays one phase: cycle counters never move.
    async fn run_with_retries(
        &self,
        ctx: &PhaseContext<'_>,
        request: &PhaseRequest,
    ) -> crate::agent::PhaseOutcome {
        let (attempts, backoff) = self.config.retry();
        let mut attempt = 1;
        loop {
            let outcome = self.runner.run(request).await;
            let Err(failure) = &outcome.result else {
                return outcome;
            };
            let tail = crate::util::fsutil::tail(&outcome.stderr_path, 4096);
            let reason = failure.transient_reason(&tail);
            let Some(reason) = reason.filter(|_| attempt < attempts) else {
                return outcome;
            };
            for path in [&outcome.events_path, &outcome.stderr_path] {
                let kept = path.with_extension(format!(
                    "attempt-{attempt}.{}",
                    path.extension().and_then(|e| e.to_str()).unwrap_or("log")
                ));
                let _ = std::fs::rename(path, kept);
            }
            let delay = backoff
                .saturating_mul(1 << (attempt - 1).min(10))
                .min(std::time::Duration::from_secs(300));
            (self.reporter)(&EngineEvent::PhaseRetry {
                id: ctx.issue.id.clone(),
                seq: ctx.seq,
                phase: request.kind,
                attempt: attempt + 1,
                reason,
                delay_ms: delay.as_millis() as u64,
            });
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = crate::util::process::cancelled(self.cancel.clone()) => {
                    return crate::agent::PhaseOutcome {
                        result: Err(PhaseFailure::Interrupted),
                        ..outcome
                    };
                }
            }
            attempt += 1;
        }
    }

    /// Runs the post-phase audit: refs outside the issue's stack and worktrees the agent
    /// added or removed. Every violation goes to the phase's `guard.jsonl`; refs are put back
    /// and added worktrees removed unless `[guard] audit_restore = false`.
    async fn audit(
        &self,
        ctx: &PhaseContext<'_>,
        range: &capture::PhaseRange,
        dir: &Path,
    ) -> Result<Vec<String>, EngineError> {
        let (root, range2, branch, stack) = (
            self.repo_root.clone(),
            range.clone(),
            ctx.issue.branch.clone(),
            ctx.stack.clone(),
        );
        let restore = self.config.audit_restores();
        let refs = blocking(move || {
            Ok(crate::workspace::audit::audit(
                &Repo::open(&root)?,
                &range2,
                &branch,
                &stack,
                restore,
            )?)
        })
        .await?;
        let mut lines = Vec::new();
        let mut changes = Vec::new();
        for v in &refs {
            changes.push(v.name.clone());
            lines.push(serde_json::json!({
                "ts": crate::util::timeutil::now_rfc3339(), "kind": "violation", "ref": v.name,
                "before": v.before, "after": v.after, "restored": v.restored,
            }));
        }
        for path in &range.worktrees_added {
            let (root, p, restore2) = (self.repo_root.clone(), path.clone(), restore);
            let prefix = format!(
                "{}agent-worktrees/",
                worktrees::rescue_prefix(&ctx.plan.scope(), &ctx.issue.id)
            );
            let removed = blocking(move || {
                let repo = Repo::open(&root)?;
                if !restore2 {
                    return Ok(None);
                }
                let Some(entry) = repo.worktrees()?.into_iter().find(|w| w.path == p) else {
                    return Ok(None);
                };
                Ok(Some(worktrees::remove_entry(
                    &repo,
                    &entry,
                    &prefix,
                    "a worktree the agent added",
                )?))
            })
            .await?;
            changes.push(format!("worktree added at {}", path.display()));
            lines.push(serde_json::json!({
                "ts": crate::util::timeutil::now_rfc3339(), "kind": "violation", "worktree_added": path,
                "restored": removed.is_some(), "rescue_ref": removed.and_then(|r| r.rescue_ref),
            }));
        }
        for path in &range.worktrees_removed {
            changes.push(format!("worktree removed at {}", path.display()));
            lines.push(serde_json::json!({
                "ts": crate::util::timeutil::now_rfc3339(), "kind": "violation", "worktree_removed": path, "restored": false,
            }));
        }
        // Written relative to the project root, matched against repository paths.
        let forbidden: Vec<String> = ctx
            .issue
            .spec
            .constraints
            .forbidden_paths
            .iter()
            .map(|p| match &ctx.issue.spec.root {
                Some(root) => format!("{}/{p}", root.trim_end_matches('/')),
                None => p.clone(),
            })
            .collect();
        let forbidden = &forbidden;
        if !forbidden.is_empty() {
            let touched = range
                .diffstat
                .files
                .iter()
                .chain(range.uncommitted.iter().flat_map(|u| &u.files))
                .map(|f| f.path.as_str());
            for (path, pattern) in crate::workspace::audit::forbidden_changes(forbidden, touched) {
                changes.push(format!("{path} (forbidden by `{pattern}`)"));
                lines.push(serde_json::json!({
                    "ts": crate::util::timeutil::now_rfc3339(), "kind": "violation",
                    "forbidden_path": path, "pattern": pattern, "restored": false,
                }));
            }
        }
        if !lines.is_empty() {
            append_lines(&dir.join("guard.jsonl"), &lines)?;
        }
        Ok(changes)
    }
}

fn append_lines(path: &Path, lines: &[serde_json::Value]) -> Result<(), EngineError> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| EngineError::Write {
            path: path.to_owned(),
            source,
        })?;
    for line in lines {
        // One write per line, like the shims appending to the same file.
        let text = format!("{}\n", redact(&line.to_string()));
        file.write_all(text.as_bytes())
            .map_err(|source| EngineError::Write {
                path: path.to_owned(),
                source,
            })?;
    }
    Ok(())
}

/// One issue to run, with where it starts from.
struct IssueJob<'a> {
    issue: &'a PlannedIssue,
    body: &'a str,
    base: &'a str,
    parent: &'a str,
    issue_dir: &'a Path,
    /// Resuming: the phases recorded so far, and the phase that was running, if any.
    prior: Option<(Vec<PhaseRecord>, Option<crate::model::state::CurrentPhase>)>,
    /// Resuming: task commands that already ran (successful ones are not run again).
    prior_commands: Vec<CommandRecord>,
    /// Extra fix cycles (a retried capped issue gets another round).
    extra_cycles: u32,
}

/// What one step of the loop asks the phase to do.
struct StepInput<'s> {
    kind: PhaseKind,
    cycle: u32,
    /// The review a fix addresses.
    review: Option<&'s serde_json::Value>,
    /// The fix a review follows.
    prior_fix: Option<&'s serde_json::Value>,
    /// The latest acceptance results (a fix addresses the failed checks too).
    gate: Option<&'s GateRecord>,
    /// The shard a dev phase works on.
    shard: Option<&'s crate::model::plan::Shard>,
    /// Run every check of the task after this phase (else only the shard's own).
    full_gate: bool,
}

struct PhaseContext<'a> {
    plan: &'a Plan,
    issue: &'a PlannedIssue,
    body: &'a str,
    base: &'a str,
    issue_dir: &'a Path,
    opts: &'a RunOptions,
    common_dir: &'a Path,
    seq: u32,
    /// Last cumulative usage per session, for per-phase deltas.
    sessions: BTreeMap<String, Usage>,
    dev_session: Option<String>,
    /// The issue branch plus branches its phases created on top of it.
    stack: Vec<String>,
    /// The agent's timeout per phase (the task's timebox, else the configured one).
    timeout: std::time::Duration,
}

/// How long one phase, check or command of a task may run: its timebox, else `phase_timeout`.
fn task_timeout(issue: &PlannedIssue, config: &Config) -> std::time::Duration {
    issue
        .spec
        .constraints
        .timebox
        .as_deref()
        .and_then(crate::util::timeutil::parse_duration)
        .unwrap_or_else(|| config.phase_timeout())
}

/// Where an issue's branch starts.
enum StackBase<'t> {
    Trunk,
    /// The tip (and branch) of its one dependency.
    Branch(&'t str, &'t str),
    /// The tips (and branches) of its dependencies, to merge into one base.
    Merge(Vec<(&'t str, &'t str)>),
}

/// An issue whose dependencies in its milestone all completed in this run starts from their
/// work: the branch tip of its one dependency (a stack, as Graphite users expect), or a merge
/// of its dependencies' tips. Dependencies whose docs say they are done (`done`) have their
/// work on the trunk already and count for nothing here. Any other issue starts from the
/// trunk.
fn stack_base<'t>(
    issue: &PlannedIssue,
    tips: &'t BTreeMap<String, (String, String)>,
    done: &BTreeSet<String>,
) -> StackBase<'t> {
    let deps: Option<Vec<(&str, &str)>> = issue
        .dependencies
        .iter()
        .filter(|d| matches!(d, crate::model::dag::Dependency::InMilestone { .. }))
        .filter(|d| !done.contains(d.id()))
        .map(|d| tips.get(d.id()).map(|(t, b)| (t.as_str(), b.as_str())))
        .collect();
    match deps.as_deref() {
        None | Some([]) => StackBase::Trunk,
        Some([(tip, branch)]) => StackBase::Branch(tip, branch),
        Some(_) => StackBase::Merge(deps.unwrap_or_default()),
    }
}

/// A recorded phase seen as an outcome again (for accounting on resume).
fn phase_outcome_stub(record: &PhaseRecord) -> crate::agent::PhaseOutcome {
    crate::agent::PhaseOutcome {
        result: match &record.failure {
            Some(f) => Err(f.clone()),
            None => Ok(serde_json::Value::Null),
        },
        session_id: record.session_id.clone(),
        usage: None,
        exit_code: None,
        events_path: record.log_dir.join("events.jsonl"),
        stderr_path: record.log_dir.join("stderr.log"),
        duration_ms: record.duration_ms,
    }
}

fn skipped(issue: &PlannedIssue, reason: String, issue_dir: &Path) -> IssueSummary {
    IssueSummary {
        reason: Some(reason),
        ..IssueSummary::new(issue, Outcome::Skipped, issue_dir)
    }
}

fn add(a: Usage, b: Usage) -> Usage {
    Usage {
        input_tokens: a.input_tokens + b.input_tokens,
        cached_input_tokens: a.cached_input_tokens + b.cached_input_tokens,
        output_tokens: a.output_tokens + b.output_tokens,
        reasoning_output_tokens: a.reasoning_output_tokens + b.reasoning_output_tokens,
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, EngineError> + Send + 'static,
) -> Result<T, EngineError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| EngineError::Join(e.to_string()))?
}

fn write_text(path: &Path, text: &str) -> Result<(), EngineError> {
    crate::util::fsutil::write_atomically(path, text.as_bytes()).map_err(|source| {
        EngineError::Write {
            path: path.to_owned(),
            source,
        }
    })
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), EngineError> {
    write_text(
        path,
        &redact(&serde_json::to_string_pretty(value).unwrap_or_default()),
    )
}

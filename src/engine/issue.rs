//! One issue's loop in its own worktree: dev → review ⇄ fix until the review passes, says
//! `blocked`, or the cycle cap is reached ([`super::next_step`] decides), then the task's
//! commands; the worktree is removed at the end (anything uncommitted rescued), or kept when
//! the loop was interrupted or waits for an approval.

use super::context::LoopContext;
use super::phase::StepInput;
use super::resume::{self, Continuation};
use super::{git, logs, next_step, step, task_timeout, Done, Engine, EngineError, RunOptions};
use crate::agent::Runner;
use crate::model::phase::{PhaseFailure, PhaseKind};
use crate::model::plan::{Plan, PlannedIssue};
use crate::model::record::{IssueSummary, Outcome, PhaseRecord};
use crate::model::state::CurrentPhase;
use crate::workspace::capture::PhaseId;
use crate::workspace::worktrees::{self, IssueWorktree, Prepared};
use std::collections::BTreeMap;
use std::path::Path;

/// One issue to run, with where it starts from.
pub(super) struct IssueJob<'a> {
    pub issue: &'a PlannedIssue,
    pub base: &'a str,
    /// The branch it stacks on.
    pub parent: &'a str,
    pub issue_dir: &'a Path,
    pub continuation: Continuation,
    pub flight: &'a super::flight::Flight,
    pub budget: &'a super::budget::Budget,
}

impl<R: Runner> Engine<'_, R> {
    pub(super) async fn run_issue(
        &self,
        plan: &Plan,
        job: IssueJob<'_>,
        opts: &RunOptions,
    ) -> Result<IssueSummary, EngineError> {
        let IssueJob {
            issue,
            base,
            parent,
            issue_dir,
            continuation,
            flight,
            budget,
        } = job;
        let wt = IssueWorktree {
            scope: plan.scope(),
            id: issue.id.clone(),
            branch: issue.branch.clone(),
            path: issue.worktree.clone(),
        };
        // A branch left on another base is refused; else the worktree is made (or found).
        let (wt2, base2, parent2) = (wt.clone(), base.to_owned(), parent.to_owned());
        let started = git(&self.repo_root, move |repo| {
            if let Some(reason) = worktrees::stale_branch(repo, &wt2, &base2, &parent2)? {
                return Ok(Err(reason));
            }
            let prepared = worktrees::prepare(repo, &wt2, &base2)?;
            Ok(Ok((prepared, repo.common_dir())))
        })
        .await?;
        let (prepared, common_dir) = match started {
            Ok(started) => started,
            Err(reason) => {
                return Ok(IssueSummary {
                    reason: Some(reason),
                    base: Some(base.to_owned()),
                    ..IssueSummary::new(issue, Outcome::Failed, issue_dir)
                })
            }
        };
        (self.reporter)(&crate::model::event::EngineEvent::WorktreeReady {
            id: issue.id.clone(),
            path: wt.path.clone(),
            created: prepared == Prepared::Created,
        });
        let tracked = track(&common_dir, &wt, parent, prepared);

        let body = match &issue.spec.description {
            Some(description) if issue.body.is_empty() => description.clone(),
            _ => issue.body.clone(),
        };
        let mut summary = IssueSummary::new(issue, Outcome::Failed, issue_dir);
        summary.base = Some(base.to_owned());
        let mut ctx = LoopContext {
            plan,
            issue,
            body: &body,
            base,
            issue_dir,
            opts,
            common_dir: &common_dir,
            seq: 0,
            sessions: BTreeMap::new(),
            dev_session: resume::dev_session(&continuation.phases),
            stack: vec![issue.branch.clone()],
            timeout: task_timeout(issue, self.config),
            flight,
            budget,
            phase_since: 0,
        };
        if let Some(current) = &continuation.interrupted {
            self.pin_interrupted(&ctx, current).await?;
            ctx.seq = ctx.seq.max(current.seq);
        }
        // Resume: keep every recorded phase (and its counters); continue after them.
        let mut results: Vec<Option<serde_json::Value>> = Vec::new();
        for record in continuation.phases {
            ctx.seq = ctx.seq.max(record.seq);
            if let Some(session) = &record.session_id {
                let total = ctx.sessions.entry(session.clone()).or_default();
                *total = *total + record.usage;
            }
            for b in crate::record::phase_logs::range(&record.log_dir)
                .into_iter()
                .flat_map(|r| r.stack)
                .filter(|b| b.created)
            {
                if !ctx.stack.contains(&b.name) {
                    ctx.stack.push(b.name);
                }
            }
            results.push(
                crate::record::phase_logs::result(&record.log_dir)
                    .filter(|_| record.failure.is_none()),
            );
            add_record(&mut summary, record);
        }

        if let Err(reason) = tracked {
            summary.outcome = Outcome::Failed;
            summary.reason = Some(reason);
            summary.rescue_ref = self.remove(&wt, issue_dir).await?;
            return Ok(summary);
        }
        // A new worktree (or one whose set-up never finished) is set up before its first
        // phase; a failing set-up fails the issue, its log named.
        let setup_done = issue_dir.join(crate::model::layout::SETUP_DONE);
        if self.has_setup() && (prepared == Prepared::Created || !setup_done.exists()) {
            let log = issue_dir.join(crate::model::layout::SETUP_LOG);
            if let Err(reason) = self.set_up(&wt.path, &common_dir, &log).await? {
                summary.outcome = Outcome::Failed;
                summary.reason = Some(reason);
                summary.rescue_ref = self.remove(&wt, issue_dir).await?;
                return Ok(summary);
            }
            logs::write_text(&setup_done, &crate::util::timeutil::now_rfc3339())?;
        }
        let max = plan.max_review_cycles + continuation.extra_cycles;
        let shards = &issue.spec.shards;
        let devs = shards.len().max(1);
        loop {
            let history: Vec<Done<'_>> = summary
                .phases
                .iter()
                .zip(&results)
                .filter(|(r, _)| resume::counts(r))
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
            summary.cycles = fixes;
            let kind = match next_step(&history, devs, max) {
                step::Step::Finish {
                    outcome,
                    reason,
                    remaining,
                } => {
                    if outcome == Outcome::Deferred {
                        let last = history.last().and_then(|d| d.result.ok());
                        summary.deferred = step::list_of_opt(last, "deferred");
                        summary.open_questions = step::list_of_opt(last, "openQuestions");
                    }
                    drop(history);
                    if outcome == Outcome::Completed && self.verify_next(&ctx, &mut summary).await?
                    {
                        if self.cancelled() {
                            summary.outcome = Outcome::Interrupted;
                            summary.reason =
                                Some("interrupted during clean-room verification".to_owned());
                            break;
                        }
                        // The verdict is the last review's gate: the loop decides again.
                        continue;
                    }
                    summary.outcome = outcome;
                    summary.reason = reason;
                    summary.remaining_actions = remaining;
                    break;
                }
                step::Step::Run(kind) => kind,
            };
            if kind == PhaseKind::Fix {
                summary.cycles = fixes + 1;
            }
            let (review, prior_fix, gate) = inputs_for(kind, &history);
            let devs_done = history.iter().filter(|d| d.kind == PhaseKind::Dev).count();
            let step = StepInput {
                kind,
                cycle: fixes + 1,
                review: review.as_ref(),
                prior_fix: prior_fix.as_ref(),
                gate: gate.as_ref(),
                shard: match kind {
                    PhaseKind::Dev => shards.get(devs_done),
                    _ => None,
                },
                // The full gate after the last dev and after every fix.
                full_gate: kind == PhaseKind::Fix || devs_done + 1 >= devs,
            };
            // The budget first: a phase that does not fit does not start.
            let reserve = match budget.reserve(&issue.id, kind) {
                Ok(reserve) => reserve,
                Err(stop) => {
                    (self.reporter)(&crate::model::event::EngineEvent::BudgetExhausted {
                        id: issue.id.clone(),
                        stop,
                        overshot_by: None,
                    });
                    stopped_by(&mut summary, stop);
                    summary.cycles = fixes;
                    break;
                }
            };
            if budget.limits().any() {
                (self.reporter)(&crate::model::event::EngineEvent::BudgetReserved {
                    id: issue.id.clone(),
                    seq: ctx.seq + 1,
                    phase: kind,
                    reserve,
                    spent: budget.spent(),
                });
            }
            let super::phase::Ran {
                outcome,
                record,
                budget_stop,
            } = self.phase(&mut ctx, step).await?;
            if let Some(stop) = budget.settle(&issue.id, kind, reserve, &record.usage) {
                // Overshot (usage comes at the end of a turn): recorded; nothing more starts.
                (self.reporter)(&crate::model::event::EngineEvent::BudgetExhausted {
                    id: issue.id.clone(),
                    stop,
                    overshot_by: Some(record.seq),
                });
            }
            if kind == PhaseKind::Dev {
                ctx.dev_session = outcome.session_id.clone();
            }
            add_record(&mut summary, record);
            let interrupted = outcome.result == Err(PhaseFailure::Interrupted);
            results.push(outcome.result.ok());
            if interrupted {
                break;
            }
            if let Some(stop) = budget_stop {
                // Its retry did not fit: the phase runs again once a resume raises the budget.
                stopped_by(&mut summary, stop);
                break;
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
            let prior = continuation.commands;
            self.finish_commands(&mut summary, issue, &wt.path, issue_dir, opts, prior)
                .await?;
        }
        if summary.outcome == Outcome::Completed && self.orch_submits(issue) {
            let place = (
                wt.path.as_path(),
                ctx.base,
                ctx.stack.as_slice(),
                ctx.common_dir,
            );
            self.submit(&mut summary, issue, place, issue_dir, opts)
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
        if summary.awaits_approval()
            || matches!(summary.outcome, Outcome::Interrupted | Outcome::Budget)
        {
            // Out of budget: the worktree stays for the resume that raises it.
            // The gated command runs in this worktree once approved (`orch resume`).
            return Ok(summary);
        }
        summary.rescue_ref = self.remove(&wt, issue_dir).await?;
        Ok(summary)
    }

    /// A phase that was running when orch died has no record: pins what it committed.
    async fn pin_interrupted(
        &self,
        ctx: &LoopContext<'_>,
        current: &CurrentPhase,
    ) -> Result<(), EngineError> {
        let id = PhaseId {
            run_id: ctx.opts.run_id.clone(),
            milestone: ctx.plan.milestone.clone(),
            issue: ctx.issue.id.clone(),
            seq: current.seq,
            phase: current.phase.name().to_owned(),
        };
        git(&ctx.issue.worktree, move |repo| {
            if let (Some(head), None) = (repo.head()?.oid, repo.ref_target(&id.pin_ref())?) {
                repo.set_ref(
                    &id.pin_ref(),
                    &head,
                    "orch: pin an interrupted phase's head",
                )?;
            }
            Ok(())
        })
        .await
    }

    /// Removes the issue's worktree; the ref holding what it left uncommitted, if anything.
    /// A converged issue whose last review has no verdict yet is verified in a clean room;
    /// the verdict becomes that review's gate. Returns whether a verification ran.
    async fn verify_next(
        &self,
        ctx: &LoopContext<'_>,
        summary: &mut IssueSummary,
    ) -> Result<bool, EngineError> {
        let checks = self.verify_checks(ctx);
        let last_review = summary
            .phases
            .iter()
            .rposition(|r| r.phase == PhaseKind::Review && resume::counts(r));
        let Some(pos) =
            last_review.filter(|&p| !checks.is_empty() && summary.phases[p].acceptance.is_none())
        else {
            return Ok(false);
        };
        let review_dir = summary.phases[pos].log_dir.clone();
        let verification = self.verify(ctx, &checks, &review_dir).await?;
        if self.cancelled() {
            return Ok(true);
        }
        summary.phases[pos].acceptance = Some(verification.gate());
        summary.verified = Some(verification.clone());
        (self.reporter)(&crate::model::event::EngineEvent::Verified {
            id: ctx.issue.id.clone(),
            record: summary.phases[pos].clone(),
            verification,
        });
        Ok(true)
    }

    async fn remove(
        &self,
        wt: &IssueWorktree,
        issue_dir: &Path,
    ) -> Result<Option<String>, EngineError> {
        self.tear_down(
            &wt.path,
            &issue_dir.join(crate::model::layout::TEARDOWN_LOG),
        )
        .await;
        let wt = wt.clone();
        let removed = git(&self.repo_root, move |repo| {
            Ok(worktrees::remove(repo, &wt)?)
        })
        .await?;
        Ok(removed.rescue_ref)
    }
}

/// In a Graphite repository a new branch must be tracked before gt can stack on it.
fn track(
    common_dir: &Path,
    wt: &IssueWorktree,
    parent: &str,
    prepared: Prepared,
) -> Result<(), String> {
    use crate::workspace::graphite;
    match (graphite::initialised(common_dir), graphite::find_gt()) {
        (true, Some(gt)) if prepared == Prepared::Created => {
            graphite::track(&gt, &wt.path, &wt.branch, parent)
        }
        (true, None) => Err("Graphite is initialised here but gt is not on PATH".to_owned()),
        _ => Ok(()),
    }
}

/// What a phase of `kind` is given from the loop so far: the review a fix addresses, the fix
/// a review follows, and the latest acceptance results.
fn inputs_for(
    kind: PhaseKind,
    history: &[Done<'_>],
) -> (
    Option<serde_json::Value>,
    Option<serde_json::Value>,
    Option<crate::model::record::GateRecord>,
) {
    let review = match kind {
        PhaseKind::Fix => history
            .iter()
            .rev()
            .find(|d| d.kind == PhaseKind::Review)
            .and_then(|d| d.result.ok().cloned()),
        _ => None,
    };
    let prior_fix = match (kind, history.last()) {
        (PhaseKind::Review, Some(last)) if last.kind == PhaseKind::Fix => last.result.ok().cloned(),
        _ => None,
    };
    let gate = history
        .iter()
        .rev()
        .find(|d| d.kind != PhaseKind::Review || d.gate.is_some())
        .and_then(|d| d.gate.cloned());
    (review, prior_fix, gate)
}

/// The issue ends because its next phase (or retry) does not fit in `stop`'s budget.
fn stopped_by(summary: &mut IssueSummary, stop: crate::model::budget::BudgetStop) {
    summary.outcome = Outcome::Budget;
    summary.reason = Some(format!(
        "{}; continue with `orch resume {} <more>`",
        stop.describe(),
        stop.flag()
    ));
    summary.budget = Some(stop);
}

/// Adds a phase's record and its counts to the summary.
fn add_record(summary: &mut IssueSummary, record: PhaseRecord) {
    summary.commits += record.commits;
    summary.guard = summary.guard + record.guard;
    summary.tokens = summary.tokens + record.usage;
    summary.phases.push(record);
}

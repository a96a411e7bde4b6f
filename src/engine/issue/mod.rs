//! One issue's loop in its own worktree: dev → review ⇄ fix until the review passes, says
//! `blocked`, or the cycle cap is reached ([`super::next_step`] decides), then the task's
//! commands; the worktree is removed at the end (anything uncommitted rescued), or kept when
//! the loop was interrupted or waits for an approval. [`IssueLoop`] owns the loop's history:
//! one vector of its phases, each record with its result.

use super::context::{IssueAt, IssueProgress, RunScope};
use super::host::{Host, Tools};
use super::phase::{self, Ran, StepInput};
use super::resume::{self, Continuation};
use super::{commands, logs, next_step, setup, step, submit, verify, Done, EngineError};
use crate::agent::Runner;
use crate::model::event::EngineEvent;
use crate::model::phase::{PhaseFailure, PhaseKind};
use crate::model::plan::PlannedIssue;
use crate::model::record::{GateRecord, IssueSummary, Outcome, PhaseRecord};
use crate::model::result::PhaseResult;
use crate::model::state::CurrentPhase;
use crate::workspace::worktrees::{IssueWorktree, Prepared};
use std::path::Path;

mod forge;
mod place;
pub(super) use forge::{forge_fix, tidy, FixAt, FixRun, ForgeFixed};
pub(super) use place::worktree_of;
use place::{issue_at, job_at, open, pin_interrupted, remove, track};

/// One issue to run, with where it starts from.
pub(super) struct IssueJob<'a> {
    pub issue: &'a PlannedIssue,
    pub base: &'a str,
    /// The branch it stacks on.
    pub parent: &'a str,
    pub issue_dir: &'a Path,
    pub continuation: Continuation,
}

/// Runs one issue's loop to its end.
pub(super) async fn run<R: Runner>(
    tools: Tools<'_, R>,
    run: &RunScope<'_>,
    job: IssueJob<'_>,
) -> Result<IssueSummary, EngineError> {
    let IssueJob {
        issue,
        base,
        parent,
        issue_dir,
        continuation,
    } = job;
    let host = tools.host;
    let wt = worktree_of(run.plan, issue);
    let (prepared, common_dir) = match open(host, &wt, base, parent).await? {
        Ok(opened) => opened,
        Err(reason) => {
            return Ok(IssueSummary {
                reason: Some(reason),
                base: Some(base.to_owned()),
                ..IssueSummary::new(issue, Outcome::Failed, issue_dir)
            })
        }
    };
    host.emit(&EngineEvent::WorktreeReady {
        id: issue.id.clone(),
        path: wt.path.clone(),
        created: prepared == Prepared::Created,
    });
    let tracked = track(&common_dir, &wt, parent, prepared);
    let at = issue_at(host, &job_at(issue, base, parent, issue_dir), common_dir);
    let Continuation {
        phases,
        interrupted,
        commands,
        extra_cycles,
    } = continuation;
    let mut lp = IssueLoop::new(tools, run, at, wt, &phases);
    lp.restore(phases, interrupted).await?;
    if let Err(reason) = tracked {
        return lp.fail(reason).await;
    }
    if let Err(reason) = lp.set_up(prepared).await? {
        return lp.fail(reason).await;
    }
    lp.cycle(run.plan.max_review_cycles + extra_cycles).await?;
    lp.end(commands).await
}

/// One phase of the loop: its record and, when it succeeded, its result.
struct Entry {
    record: PhaseRecord,
    result: Option<PhaseResult>,
}

/// What the loop runs next, decided from its history.
enum Next {
    Finish {
        outcome: Outcome,
        reason: Option<String>,
        remaining: Vec<String>,
    },
    Run(Box<Planned>),
}

/// A phase to run, with what it is given from the loop so far.
struct Planned {
    kind: PhaseKind,
    /// Fixes so far.
    fixes: u32,
    /// Dev phases so far (the next dev works on the next shard).
    devs_done: usize,
    review: Option<PhaseResult>,
    prior_fix: Option<PhaseResult>,
    gate: Option<GateRecord>,
    /// A fix the pull request's forge asked for (its `review` is this, read as one).
    forge: Option<crate::model::forge::Feedback>,
}

/// One issue's loop.
struct IssueLoop<'a, R> {
    tools: Tools<'a, R>,
    run: &'a RunScope<'a>,
    at: IssueAt<'a>,
    wt: IssueWorktree,
    progress: IssueProgress,
    /// Every phase of the loop, the recorded ones (of the run resumed) first.
    history: Vec<Entry>,
    /// How the issue ends; its phases and their counts come from `history` at the end.
    summary: IssueSummary,
}

impl<'a, R: Runner> IssueLoop<'a, R> {
    fn new(
        tools: Tools<'a, R>,
        run: &'a RunScope<'a>,
        at: IssueAt<'a>,
        wt: IssueWorktree,
        recorded: &[PhaseRecord],
    ) -> Self {
        let mut summary = IssueSummary::new(at.issue, Outcome::Failed, at.dir);
        summary.base = Some(at.base.clone());
        let progress = IssueProgress {
            // An agent session of a runner (an earlier one's, or the one the issue ran on)
            // stayed on that runner: a fix starts afresh.
            dev_session: (run.opts.earlier.is_none() && !run.opts.on_github)
                .then(|| resume::dev_session(recorded))
                .flatten(),
            stack: vec![at.issue.branch.clone()],
            ..IssueProgress::default()
        };
        IssueLoop {
            tools,
            run,
            at,
            wt,
            progress,
            history: Vec::new(),
            summary,
        }
    }

    fn host(&self) -> Host<'a> {
        self.tools.host
    }

    /// Resume: keeps every recorded phase (and its counters), pins what a phase interrupted
    /// by orch's death committed; the loop continues after them.
    async fn restore(
        &mut self,
        recorded: Vec<PhaseRecord>,
        interrupted: Option<CurrentPhase>,
    ) -> Result<(), EngineError> {
        if let Some(current) = &interrupted {
            pin_interrupted(self.run, &self.at, current).await?;
            self.progress.seq = self.progress.seq.max(current.seq);
        }
        for record in recorded {
            self.progress.seq = self.progress.seq.max(record.seq);
            if let Some(session) = &record.session_id {
                let total = self.progress.sessions.entry(session.clone()).or_default();
                *total = *total + record.usage;
            }
            // Branches an earlier runner's agent made stayed on that runner (only the issue's
            // branch came), and its logs are the remote's word: none joins the stack here.
            if self.run.opts.earlier.is_none() {
                let ranges = crate::record::phase_logs::range(&record.log_dir);
                let created = ranges.iter().flat_map(|r| &r.stack).filter(|b| b.created);
                self.progress.stacked(created.map(|b| b.name.as_str()));
            }
            let result = crate::record::phase_logs::result(&record.log_dir)
                .filter(|_| record.failure.is_none())
                .map(PhaseResult::from);
            self.history.push(Entry { record, result });
        }
        Ok(())
    }

    /// A new worktree (or one whose set-up never finished) is set up before its first phase;
    /// `Err(reason)`: its set-up failed (its log named).
    async fn set_up(&self, prepared: Prepared) -> Result<Result<(), String>, EngineError> {
        let host = self.host();
        let done = self.at.dir.join(crate::model::layout::SETUP_DONE);
        if !setup::configured(host.config) || (prepared != Prepared::Created && done.exists()) {
            return Ok(Ok(()));
        }
        let log = self.at.dir.join(crate::model::layout::SETUP_LOG);
        if let Err(reason) = setup::set_up(host, &self.wt.path, &self.at.common_dir, &log).await? {
            return Ok(Err(reason));
        }
        logs::write_text(&done, &crate::util::timeutil::now_rfc3339())?;
        Ok(Ok(()))
    }

    /// The phases as the pure loop sees them (interrupted and superseded ones left out).
    fn done(&self) -> Vec<Done<'_>> {
        (self.history.iter())
            .filter(|e| resume::counts(&e.record))
            .map(|e| Done {
                kind: e.record.phase,
                result: match (&e.result, &e.record.failure) {
                    (Some(v), _) => Ok(v),
                    (None, Some(f)) => Err(f),
                    (None, None) => Err(&PhaseFailure::NoFinalMessage),
                },
                gate: e.record.acceptance.as_ref(),
            })
            .collect()
    }

    /// What runs next: [`next_step`] over the history, and what that phase is given.
    fn next(&mut self, max: u32) -> Next {
        let devs = self.at.issue.spec.shards.len().max(1);
        let history = self.done();
        let (fixes, devs_done) = fixes_and_devs(&history);
        let next = match next_step(&history, devs, max) {
            step::Step::Run(kind) => {
                let (review, prior_fix, gate) = inputs_for(kind, &history);
                Next::Run(Box::new(Planned {
                    kind,
                    fixes,
                    devs_done,
                    review,
                    prior_fix,
                    gate,
                    forge: None,
                }))
            }
            step::Step::Finish {
                outcome,
                reason,
                remaining,
            } => {
                if outcome == Outcome::Deferred {
                    let last = history.last().and_then(|d| d.result.ok());
                    let deferred = last.map(|r| r.deferred.clone()).unwrap_or_default();
                    let open = last.map(|r| r.open_questions.clone()).unwrap_or_default();
                    drop(history);
                    self.summary.deferred = deferred;
                    self.summary.open_questions = open;
                }
                Next::Finish {
                    outcome,
                    reason,
                    remaining,
                }
            }
        };
        self.summary.cycles = fixes;
        next
    }

    /// Runs phases until the loop ends (or is interrupted, or out of budget).
    async fn cycle(&mut self, max: u32) -> Result<(), EngineError> {
        loop {
            let planned = match self.next(max) {
                Next::Run(planned) => planned,
                Next::Finish {
                    outcome,
                    reason,
                    remaining,
                } => {
                    if outcome == Outcome::Completed && self.verify_next().await? {
                        if self.host().cancelled() {
                            self.summary.outcome = Outcome::Interrupted;
                            self.summary.reason =
                                Some("interrupted during clean-room verification".to_owned());
                            return Ok(());
                        }
                        // The verdict is the last review's gate: the loop decides again.
                        continue;
                    }
                    self.summary.outcome = outcome;
                    self.summary.reason = reason;
                    self.summary.remaining_actions = remaining;
                    return Ok(());
                }
            };
            if !self.step(*planned).await? {
                return Ok(());
            }
        }
    }

    /// Runs one phase, its budget reserved first (a phase that does not fit does not start).
    /// Whether the loop goes on.
    async fn step(&mut self, p: Planned) -> Result<bool, EngineError> {
        let (kind, issue, budget) = (p.kind, self.at.issue, self.run.budget);
        if kind == PhaseKind::Fix {
            self.summary.cycles = p.fixes + 1;
        }
        let reserve = match budget.reserve(&issue.id, kind) {
            Ok(reserve) => reserve,
            Err(stop) => {
                self.host().emit(&EngineEvent::BudgetExhausted {
                    id: issue.id.clone(),
                    stop,
                    overshot_by: None,
                });
                stopped_by(&mut self.summary, stop);
                self.summary.cycles = p.fixes;
                return Ok(false);
            }
        };
        self.progress.seq += 1;
        if budget.limits().any() {
            self.host().emit(&EngineEvent::BudgetReserved {
                id: issue.id.clone(),
                seq: self.progress.seq,
                phase: kind,
                reserve,
                spent: budget.spent(),
            });
        }
        let devs = issue.spec.shards.len().max(1);
        let step = StepInput {
            kind,
            cycle: p.fixes + 1,
            review: p.review.as_ref().map(|r| &r.json),
            prior_fix: p.prior_fix.as_ref().map(|r| &r.json),
            gate: p.gate.as_ref(),
            shard: issue
                .spec
                .shards
                .get(p.devs_done)
                .filter(|_| kind == PhaseKind::Dev),
            // The full gate after the last dev and after every fix.
            full_gate: kind == PhaseKind::Fix || p.devs_done + 1 >= devs,
            forge: p.forge.as_ref(),
        };
        let Ran {
            outcome,
            record,
            budget_stop,
        } = phase::run(self.tools, self.run, &self.at, &mut self.progress, step).await?;
        if let Some(stop) = budget.settle(&issue.id, kind, reserve, &record.usage) {
            // Overshot (usage comes at the end of a turn): recorded; nothing more starts.
            self.host().emit(&EngineEvent::BudgetExhausted {
                id: issue.id.clone(),
                stop,
                overshot_by: Some(record.seq),
            });
        }
        if kind == PhaseKind::Dev {
            self.progress.dev_session = outcome.session_id.clone();
        }
        let interrupted = outcome.result == Err(PhaseFailure::Interrupted);
        let result = outcome.result.ok();
        self.history.push(Entry { record, result });
        if let Some(stop) = budget_stop.filter(|_| !interrupted) {
            // Its retry did not fit: the phase runs again once a resume raises the budget.
            stopped_by(&mut self.summary, stop);
            return Ok(false);
        }
        Ok(!interrupted)
    }

    /// A converged issue whose last review has no verdict yet is verified in a clean room;
    /// the verdict becomes that review's gate. Returns whether a verification ran.
    async fn verify_next(&mut self) -> Result<bool, EngineError> {
        let host = self.host();
        let checks = verify::checks(host.config, self.at.issue);
        let last_review = (self.history.iter())
            .rposition(|e| e.record.phase == PhaseKind::Review && resume::counts(&e.record));
        let Some(pos) = last_review
            .filter(|&p| !checks.is_empty() && self.history[p].record.acceptance.is_none())
        else {
            return Ok(false);
        };
        let review_dir = self.history[pos].record.log_dir.clone();
        let run_id = &self.run.opts.run_id;
        let verification = verify::verify(host, &self.at, run_id, &checks, &review_dir).await?;
        if host.cancelled() {
            return Ok(true);
        }
        let record = &mut self.history[pos].record;
        record.acceptance = Some(verification.gate());
        self.summary.verified = Some(verification.clone());
        host.emit(&EngineEvent::Verified {
            id: self.at.issue.id.clone(),
            record: record.clone(),
            verification,
        });
        Ok(true)
    }

    /// The summary with the loop's phases and their counts.
    fn summary(&mut self) -> IssueSummary {
        let mut summary = std::mem::replace(
            &mut self.summary,
            IssueSummary::new(self.at.issue, Outcome::Failed, self.at.dir),
        );
        for entry in std::mem::take(&mut self.history) {
            let record = entry.record;
            summary.commits += record.commits;
            summary.guard = summary.guard + record.guard;
            summary.tokens = summary.tokens + record.usage;
            summary.phases.push(record);
        }
        summary
    }

    /// The loop ends before its phases: failed for `reason`, its worktree removed.
    async fn fail(mut self, reason: String) -> Result<IssueSummary, EngineError> {
        let mut summary = self.summary();
        summary.outcome = Outcome::Failed;
        summary.reason = Some(reason);
        summary.rescue_ref = remove(self.host(), &self.wt, self.at.dir).await?;
        Ok(summary)
    }

    /// After the phases: the draft PRs they named, the task's commands (those that already
    /// ran in the run resumed are not run again) and orch's own submit when the issue
    /// converged; the worktree removed unless the loop was cut short or waits.
    async fn end(
        mut self,
        prior: Vec<crate::model::record::CommandRecord>,
    ) -> Result<IssueSummary, EngineError> {
        let host = self.host();
        let issue = self.at.issue;
        let prs: Vec<String> = (self.history.iter())
            .filter_map(|e| e.result.as_ref())
            .flat_map(|r| r.draft_prs.iter().cloned())
            .collect();
        let notes: Vec<(String, String)> = (self.history.iter())
            .filter(|e| e.record.phase != PhaseKind::Review)
            .filter_map(|e| Some((e.record.phase.name().to_owned(), e.result.as_ref()?)))
            .map(|(phase, r)| (phase, r.summary.clone()))
            .collect();
        let mut summary = self.summary();
        for url in prs {
            if !summary.draft_prs.contains(&url) {
                summary.draft_prs.push(url);
            }
        }
        let (wt, dir, opts) = (&self.wt.path, self.at.dir, self.run.opts);
        if summary.outcome == Outcome::Completed {
            let run = commands::Finishing { opts, prior };
            commands::finish(host, &mut summary, issue, (wt, dir), run).await?;
        }
        // `orch work` submits nothing, but its commits are scanned before they are pushed.
        let submits = host.orch_submits(issue) || opts.work.is_some();
        if summary.outcome == Outcome::Completed && submits {
            let place = submit::Place {
                at: super::pull_request::Converged {
                    worktree: wt,
                    base: &self.at.base,
                    parent: &self.at.parent,
                    stack: &self.progress.stack,
                    issue_dir: dir,
                    notes: &notes,
                },
                common_dir: &self.at.common_dir,
            };
            submit::submit(host, self.run, &mut summary, issue, place, &opts.approvals).await?;
        } else if summary.outcome == Outcome::Completed {
            super::pull_request::say_unsubmitted(host, self.run).await;
        }
        if let Some(last) = summary.phases.last() {
            if last.failure == Some(PhaseFailure::Interrupted) {
                // Keep the worktree and branch as they are: the run can pick up from here.
                let (seq, name) = (last.seq, last.phase.name());
                summary.outcome = Outcome::Interrupted;
                summary.reason = Some(format!("interrupted during {seq:02}-{name}"));
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
        summary.rescue_ref = remove(host, &self.wt, self.at.dir).await?;
        Ok(summary)
    }
}

/// The fix phases and the dev phases among the phases that count.
fn fixes_and_devs(history: &[Done<'_>]) -> (u32, usize) {
    let of = |kind| history.iter().filter(|d| d.kind == kind).count();
    (of(PhaseKind::Fix) as u32, of(PhaseKind::Dev))
}

/// What a phase of `kind` is given from the loop so far: the review a fix addresses, the fix
/// a review follows, and the latest acceptance results.
fn inputs_for(
    kind: PhaseKind,
    history: &[Done<'_>],
) -> (Option<PhaseResult>, Option<PhaseResult>, Option<GateRecord>) {
    let review = match kind {
        PhaseKind::Fix => (history.iter().rev())
            .find(|d| d.kind == PhaseKind::Review)
            .and_then(|d| d.result.ok().cloned()),
        _ => None,
    };
    let prior_fix = match (kind, history.last()) {
        (PhaseKind::Review, Some(last)) if last.kind == PhaseKind::Fix => last.result.ok().cloned(),
        _ => None,
    };
    let gate = (history.iter().rev())
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

//! The loop over a milestone's issues, up to `jobs` in flight at once (`schedule` says which
//! starts next): what each one's branch starts from (the trunk, its dependency's final tip,
//! or a merge of its dependencies' tips), whether it runs at all (skipped by its docs,
//! waiting on a dependency that did not pass, or on an approval), and the summaries written
//! as each ends. The loops in flight are futures on the one task: no threads, no `'static`.

use super::budget::Budget;
use super::context::RunScope;
use super::flight::Flight;
use super::host::{Host, Tools};
use super::issue::IssueJob;
use super::resume::{self, Continuation, Resumption};
use super::schedule::{self, Board, Next};
use super::{git, logs, Engine, EngineError, RunOptions};
use crate::agent::Runner;
use crate::gates::approval::Approval;
use crate::model::event::EngineEvent;
use crate::model::layout;
use crate::model::plan::{Plan, PlannedIssue, APPLY_PATCH};
use crate::model::record::{IssueSummary, Outcome, RunSummary, SkipKind};
use crate::workspace::worktrees;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::Poll;

/// The branch tips (and branches) of issues completed in this run, by id.
type Tips = BTreeMap<String, (String, String)>;

/// One issue's loop in flight, by its index in the run.
type InFlight<'f> = Vec<(
    usize,
    Pin<Box<dyn Future<Output = Result<IssueSummary, EngineError>> + 'f>>,
)>;

/// Whether `id` passed for its dependents: its docs say it is done (its work is on the trunk
/// already), or it completed in this run.
fn passed(done: &BTreeSet<String>, board: &Board, id: &str) -> bool {
    done.contains(id) || board.ended.get(id) == Some(&Outcome::Completed)
}

/// How an issue the schedule starts goes on: it ends at once (held), or its loop runs.
enum Begun {
    Ended(Box<IssueSummary>),
    Run(Continuation),
}

impl<R: Runner> Engine<'_, R> {
    /// Runs the plan: up to `opts.jobs` issues in flight, each started as soon as what it
    /// depends on in the run has ended (in plan order among the ready ones). The summaries
    /// come in plan order, whatever finished first.
    pub async fn run(&self, plan: &Plan, opts: &RunOptions) -> Result<RunSummary, EngineError> {
        let emitter = crate::model::event::Emitter::new(self.reporter.clone());
        let host = self.host(&emitter);
        let (base, trunk) = start(host, plan, opts).await?;
        let logs = host
            .config
            .orch_logs(host.repo_root)
            .join(plan.scope().dir());
        let started_at = crate::util::timeutil::now_rfc3339();
        let issues: Vec<&PlannedIssue> = (plan.issues.iter())
            .filter(|i| opts.only_issue.as_ref().is_none_or(|only| &i.id == only))
            .collect();
        host.emit(&EngineEvent::RunStarted {
            run_id: opts.run_id.clone(),
            project: plan.project.clone(),
            milestone: plan.milestone.clone(),
            issues: issues.len(),
            issue_ids: issues.iter().map(|i| i.id.clone()).collect(),
            log_dir: logs.clone(),
            resumed: opts.resume.is_some(),
            budget: opts.budget,
            sandbox: host.sandbox_name(plan),
            base: trunk.clone(),
            base_commit: base.clone(),
            carried: opts.carried.clone(),
            restart: opts.restart.clone(),
        });
        set_aside_earlier(host, plan, &issues, opts, &logs).await?;
        let flight = Flight::default();
        let price = (host.config.codex_model()).and_then(|m| host.config.pricing.get(&m).copied());
        let pricer =
            price.map(|price| -> super::budget::Pricer { Box::new(move |u| price.cost(u)) });
        let budget = Budget::new(opts.budget, pricer, opts.resume.as_ref());
        let scope = RunScope {
            plan,
            opts,
            flight: &flight,
            budget: &budget,
            host: Default::default(),
            forge: Default::default(),
            unsubmitted: Default::default(),
        };
        let at = Ground {
            tools: self.tools(host),
            scope: &scope,
            logs: &logs,
            base: &base,
            trunk: &trunk,
        };
        let mut summaries = Drain::new(at, issues).run().await?;
        if opts.follow && !host.cancelled() {
            super::watch::follow(at.tools, &scope, &mut summaries).await?;
        }
        let summary = RunSummary {
            run_id: opts.run_id.clone(),
            project: plan.project.clone(),
            milestone: plan.milestone.clone(),
            started_at,
            finished_at: crate::util::timeutil::now_rfc3339(),
            issues: summaries,
            budget: opts.budget.any().then_some(opts.budget),
            sandbox: Some(host.sandbox_name(plan)),
        };
        logs::write_json(&layout::run_summary(&logs, &opts.run_id), &summary)?;
        host.emit(&EngineEvent::RunFinished {
            summary: summary.clone(),
        });
        Ok(summary)
    }
}

/// What every issue of the run shares: the tools, the run, where its logs go, and the commit
/// (and branch) an issue starts from when nothing of the run comes before it.
struct Ground<'a, R> {
    tools: Tools<'a, R>,
    scope: &'a RunScope<'a>,
    logs: &'a Path,
    base: &'a str,
    trunk: &'a str,
}

impl<R> Clone for Ground<'_, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for Ground<'_, R> {}

/// The scheduling loop, and the only owner of the scheduling state: which issues wait, run
/// and ended (the board), the completed ones' tips, the summaries so far.
struct Drain<'a, R> {
    at: Ground<'a, R>,
    issues: Vec<&'a PlannedIssue>,
    /// Issues whose docs say they are done: their work is on the trunk already.
    done: BTreeSet<String>,
    tips: Tips,
    board: Board,
    summaries: BTreeMap<usize, IssueSummary>,
    /// What each issue continues from (taken when it starts).
    continuations: Vec<Option<Continuation>>,
}

impl<'a, R: Runner> Drain<'a, R> {
    fn new(at: Ground<'a, R>, issues: Vec<&'a PlannedIssue>) -> Self {
        let done = (at.scope.plan.issues.iter())
            .filter(|i| i.done)
            .map(|i| i.id.clone())
            .collect();
        Drain {
            board: Board {
                waiting: (0..issues.len()).collect(),
                ..Board::default()
            },
            at,
            issues,
            done,
            tips: Tips::new(),
            summaries: BTreeMap::new(),
            continuations: Vec::new(),
        }
    }

    fn dir(&self, n: usize) -> PathBuf {
        let opts = self.at.scope.opts;
        layout::issue_dir(self.at.logs, &opts.run_id, &self.issues[n].id)
    }

    /// Runs the issues; their summaries in plan order. The first error of an issue's loop
    /// starts nothing more: the others finish and are recorded, then the run returns it.
    async fn run(mut self) -> Result<Vec<IssueSummary>, EngineError> {
        self.end_finished().await?;
        let mut in_flight: InFlight<'a> = Vec::new();
        let mut failure: Option<EngineError> = None;
        loop {
            // A spent run budget starts nothing more; what runs finishes its phase.
            self.board.stopped |= self.at.scope.budget.exhausted();
            let jobs = self.at.scope.opts.jobs;
            let (n, summary) = match schedule::next(&self.issues, &self.board, jobs) {
                Next::Done => break,
                Next::Start(n) => match self.start(n) {
                    Begun::Ended(summary) => (n, *summary),
                    Begun::Run(continuation) => {
                        in_flight.push((n, self.issue_loop(n, continuation)));
                        continue;
                    }
                },
                Next::Wait => match first_done(&mut in_flight).await {
                    // The board and the loops in flight agree; were they not, waiting on
                    // nothing would hang the run.
                    None => break,
                    Some((n, Ok(summary))) => (n, summary),
                    Some((n, Err(e))) => {
                        self.board.running.remove(&n);
                        self.board.stopped = true;
                        failure.get_or_insert(e);
                        continue;
                    }
                },
            };
            self.end(n, summary).await?;
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(self.summaries.into_values().collect()),
        }
    }

    /// What is finished before anything runs (issues their docs skip, issues an earlier run
    /// completed, loops the run being resumed ended) ends now, not at its turn: its
    /// dependents need not wait behind it.
    async fn end_finished(&mut self) -> Result<(), EngineError> {
        for n in 0..self.issues.len() {
            let dir = self.dir(n);
            match at_start(self.at.scope, self.issues[n], &dir) {
                Resumption::Run(continuation) => self.continuations.push(Some(continuation)),
                Resumption::Keep(summary) => {
                    self.continuations.push(None);
                    self.board.waiting.retain(|&w| w != n);
                    self.end(n, *summary).await?;
                }
            }
        }
        Ok(())
    }

    /// Starts issue `n`: it ends at once when held (by a dependency that did not pass, or
    /// waiting for an approval), else its loop runs from where it stopped.
    fn start(&mut self, n: usize) -> Begun {
        let (issue, total, host) = (self.issues[n], self.issues.len(), self.at.tools.host);
        self.board.waiting.retain(|&w| w != n);
        self.board.running.insert(n);
        host.emit(&EngineEvent::IssueStarted {
            id: issue.id.clone(),
            position: total - self.board.waiting.len(),
            total,
        });
        let continuation = self.continuations[n].take().unwrap_or_default();
        let opts = self.at.scope.opts;
        let (done, board) = (&self.done, &self.board);
        let blocked_on: Vec<&str> = (issue.milestone_dependencies())
            .filter(|id| !passed(done, board, id) && opts.only_issue.is_none())
            .collect();
        let dir = self.dir(n);
        if let Some(held) = held(issue, &blocked_on, &board.ended, &opts.approvals, &dir) {
            for gate in &held.awaiting {
                let (id, gate) = (issue.id.clone(), gate.clone());
                host.emit(&EngineEvent::AwaitingApproval { id, gate });
            }
            return Begun::Ended(Box::new(held));
        }
        Begun::Run(continuation)
    }

    /// Issue `n`'s loop, to run beside the others: it starts from its dependencies' work as
    /// it stands now.
    fn issue_loop(
        &self,
        n: usize,
        continuation: Continuation,
    ) -> Pin<Box<dyn Future<Output = Result<IssueSummary, EngineError>> + 'a>> {
        let (at, issue, dir) = (self.at, self.issues[n], self.dir(n));
        let (tips, done) = (self.tips.clone(), self.done.clone());
        Box::pin(async move {
            let flight = at.scope.flight;
            let (start, parent) = issue_base(at, issue, &tips, &done).await?;
            flight.issue_started(&issue.id, &issue.worktree, &issue.branch, &start);
            let job = IssueJob {
                issue,
                base: &start,
                parent: &parent,
                issue_dir: &dir,
                continuation,
            };
            let ended = match at.scope.opts.on_github {
                true => super::remote::run(at.tools, at.scope, job).await,
                false => super::issue::run(at.tools, at.scope, job).await,
            };
            flight.issue_ended(&issue.id);
            ended
        })
    }

    /// Records how issue `n` ended: its summary on disk (with its final head, when it
    /// completed), that head for its dependents, the board, the event.
    async fn end(&mut self, n: usize, mut summary: IssueSummary) -> Result<(), EngineError> {
        let (issue, host) = (self.issues[n], self.at.tools.host);
        if summary.outcome == Outcome::Completed && summary.head.is_none() {
            let branch = issue.branch.clone();
            summary.head = git(host.repo_root, move |repo| Ok(repo.branch_tip(&branch)?)).await?;
        }
        logs::write_json(&self.dir(n).join(layout::ISSUE_SUMMARY), &summary)?;
        if let (Outcome::Completed, Some(head)) = (summary.outcome, &summary.head) {
            (self.tips).insert(issue.id.clone(), (head.clone(), issue.branch.clone()));
        }
        self.board.running.remove(&n);
        self.board.ended.insert(issue.id.clone(), summary.outcome);
        host.emit(&EngineEvent::IssueFinished {
            summary: summary.clone(),
        });
        // Interrupted: nothing more starts; what runs is interrupted too, to be resumed.
        self.board.stopped |= summary.outcome == Outcome::Interrupted;
        self.summaries.insert(n, summary);
        Ok(())
    }
}

/// How an issue stands before anything runs: finished (its docs skip it, an earlier run
/// completed it and it is carried, or the run being resumed ended its loop), or to run from
/// where it stopped.
fn at_start(scope: &RunScope<'_>, issue: &PlannedIssue, issue_dir: &Path) -> Resumption {
    let opts = scope.opts;
    if let Some(skipped) = skipped_by_docs(issue, issue_dir) {
        return Resumption::Keep(Box::new(skipped));
    }
    if let Some(carried) = opts.carried.iter().find(|s| s.id == issue.id) {
        return Resumption::Keep(Box::new(carried.clone()));
    }
    // A resume's record of the issue, else (`orch work`) an earlier runner's.
    let prior = (opts.resume.as_ref().and_then(|s| s.issue(&issue.id)))
        .or_else(|| (opts.earlier.as_ref().map(|e| &e.record)).filter(|r| r.id == issue.id));
    let retry = opts.retry.iter().any(|r| r == &issue.id)
        || (opts.work.as_ref()).is_some_and(|w| w.retry && prior.is_some());
    resume::decide(prior, retry, scope.plan.max_review_cycles)
}

/// Sets aside the earlier branch (and worktree) of every issue the run runs from scratch,
/// before anything runs: its tip under a rescue ref, its uncommitted work rescued as a
/// removal does. A resume sets aside what a crash left unset.
async fn set_aside_earlier(
    host: Host<'_>,
    plan: &Plan,
    issues: &[&PlannedIssue],
    opts: &RunOptions,
    logs: &Path,
) -> Result<(), EngineError> {
    for issue in issues.iter().filter(|i| opts.restart.contains(&i.id)) {
        let recorded = opts.resume.as_ref().and_then(|s| s.issue(&issue.id));
        if recorded.is_some_and(|i| {
            i.set_aside.is_some() || !i.phases.is_empty() || i.current_phase.is_some()
        }) {
            continue;
        }
        if issue.worktree.exists() {
            let log = layout::issue_dir(logs, &opts.run_id, &issue.id).join(layout::TEARDOWN_LOG);
            super::setup::tear_down(host, &issue.worktree, &log).await;
        }
        let wt = super::issue::worktree_of(plan, issue);
        let run_id = opts.run_id.clone();
        let set_aside = git(host.repo_root, move |repo| {
            Ok(worktrees::set_aside(repo, &wt, &run_id)?)
        })
        .await?;
        host.emit(&EngineEvent::BranchSetAside {
            id: issue.id.clone(),
            set_aside,
        });
    }
    Ok(())
}

/// Checks the repository is clean (a resume tolerates its own worktrees, a run from scratch
/// those of the issues whose earlier branches it sets aside) and returns the commit and
/// branch issues start from when nothing of this run comes before them (a resume: those its
/// run started from).
async fn start(
    host: Host<'_>,
    plan: &Plan,
    opts: &RunOptions,
) -> Result<(String, String), EngineError> {
    let config = host.config.clone();
    let ours: Vec<PathBuf> = (plan.issues.iter())
        .filter(|i| opts.resume.is_some() || opts.restart.contains(&i.id))
        .map(|i| i.worktree.clone())
        .collect();
    let recorded =
        (opts.resume.as_ref()).and_then(|s| Some((s.base_commit.clone()?, s.base.clone()?)));
    let work = opts.work.clone();
    git(host.repo_root, move |repo| {
        use crate::workspace::verify_clean as clean;
        let report = clean::verify_clean(repo, &config)?;
        let mut report = clean::tolerate_own_worktrees(report, &ours);
        if let Some(work) = &work {
            report = clean::at_work_base(repo, report, &work.base)?;
        }
        if !report.clean {
            return Err(EngineError::NotClean(report.problems.len(), report));
        }
        match (recorded, work) {
            (Some(recorded), _) => Ok(recorded),
            (None, Some(work)) => {
                let label = clean::trunk(repo, &config).unwrap_or_else(|| "HEAD".to_owned());
                Ok((repo.resolve_commit(&work.base)?, label))
            }
            (None, None) => Ok(clean::run_start(repo, &config)?),
        }
    })
    .await
}

/// The commit an issue's branch starts from, and the branch it stacks on.
async fn issue_base<R>(
    at: Ground<'_, R>,
    issue: &PlannedIssue,
    tips: &Tips,
    done: &BTreeSet<String>,
) -> Result<(String, String), EngineError> {
    let (host, base, trunk) = (at.tools.host, at.base, at.trunk);
    let deps = match stack_base(issue, tips, done) {
        StackBase::Trunk => return Ok((base.to_owned(), trunk.to_owned())),
        StackBase::Branch(tip, branch) => return Ok((tip.to_owned(), branch.to_owned())),
        StackBase::Merge(deps) => deps,
    };
    let tips_of: Vec<String> = deps.iter().map(|(t, _)| t.to_string()).collect();
    let message = format!(
        "orch: base of {}: the work of {}",
        issue.id,
        issue.blocked_by.join(", ")
    );
    let merged = git(host.repo_root, move |repo| {
        Ok(repo.merge_tips(&tips_of, &message)?)
    })
    .await?;
    Ok(match merged {
        Some(oid) => {
            // The dependency whose tip it is, when no merge was needed.
            let parent = (deps.iter())
                .find(|(tip, _)| *tip == oid)
                .map_or(deps[0].1, |(_, branch)| branch);
            (oid.clone(), parent.to_owned())
        }
        None => {
            host.emit(&EngineEvent::BaseFallback {
                id: issue.id.clone(),
                reason: format!(
                    "the work of {} conflicts when merged; {} starts from {trunk}",
                    issue.blocked_by.join(", "),
                    issue.id
                ),
            });
            (base.to_owned(), trunk.to_owned())
        }
    })
}

/// The summary of an issue its docs skip (a done-like state: its work is on the trunk; a
/// not-ready one: the user's choice), finished when the run starts.
fn skipped_by_docs(issue: &PlannedIssue, issue_dir: &Path) -> Option<IssueSummary> {
    let reason = issue.skip_reason.clone()?;
    Some(IssueSummary {
        reason: Some(reason),
        skip: Some(if issue.done {
            SkipKind::Done
        } else {
            SkipKind::State
        }),
        ..IssueSummary::new(issue, Outcome::Skipped, issue_dir)
    })
}

/// Why an issue does not run now, as its summary: a dependency did not pass, or its patch
/// waits for an approval (`apply_patch` gated).
fn held(
    issue: &PlannedIssue,
    blocked_on: &[&str],
    outcomes: &BTreeMap<String, Outcome>,
    approvals: &[Approval],
    issue_dir: &Path,
) -> Option<IssueSummary> {
    let ended = |outcome, reason: String| IssueSummary {
        reason: Some(reason),
        ..IssueSummary::new(issue, outcome, issue_dir)
    };
    if !blocked_on.is_empty() {
        let why: Vec<String> = blocked_on
            .iter()
            .map(|id| {
                let outcome = outcomes.get(*id).map_or("not run", |o| o.name());
                format!("{id} ({outcome})")
            })
            .collect();
        let reason = format!("depends on {} which did not pass", why.join(", "));
        return Some(IssueSummary {
            skip: Some(SkipKind::Dependency),
            ..ended(Outcome::Skipped, reason)
        });
    }
    let approved = crate::gates::approval::covering(approvals, APPLY_PATCH, &issue.id).is_some();
    if issue.spec.gated(APPLY_PATCH) && !approved {
        let reason = format!(
            "awaiting approval of `{APPLY_PATCH}` before any agent works on it: run `orch approve {APPLY_PATCH} --task {}`, then `orch resume`",
            issue.id
        );
        return Some(IssueSummary {
            awaiting: vec![APPLY_PATCH.to_owned()],
            ..ended(Outcome::Blocked, reason)
        });
    }
    None
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
fn stack_base<'t>(issue: &PlannedIssue, tips: &'t Tips, done: &BTreeSet<String>) -> StackBase<'t> {
    let deps: Option<Vec<(&str, &str)>> = issue
        .milestone_dependencies()
        .filter(|id| !done.contains(*id))
        .map(|id| tips.get(id).map(|(t, b)| (t.as_str(), b.as_str())))
        .collect();
    match deps.as_deref() {
        None | Some([]) => StackBase::Trunk,
        Some([(tip, branch)]) => StackBase::Branch(tip, branch),
        Some(_) => StackBase::Merge(deps.unwrap_or_default()),
    }
}

/// Waits for the first of the loops in flight to end; removes it and returns its index and
/// result; `None` when none is in flight. All of them run on the one task (so they share
/// `&self` and the plan, with no `'static`), and a wake-up polls each: they are a handful.
async fn first_done(
    in_flight: &mut InFlight<'_>,
) -> Option<(usize, Result<IssueSummary, EngineError>)> {
    std::future::poll_fn(|cx| {
        if in_flight.is_empty() {
            return Poll::Ready(None);
        }
        for i in 0..in_flight.len() {
            if let Poll::Ready(result) = in_flight[i].1.as_mut().poll(cx) {
                let (n, _) = in_flight.swap_remove(i);
                return Poll::Ready(Some((n, result)));
            }
        }
        Poll::Pending
    })
    .await
}

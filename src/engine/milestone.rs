//! The loop over a milestone's issues, in plan order: what each one's branch starts from
//! (the trunk, its dependency's tip, or a merge of its dependencies' tips), whether it runs
//! at all (skipped by its docs, waiting on a dependency that did not pass, or on an
//! approval), and the summaries written as each ends.

use super::issue::IssueJob;
use super::resume::{self, Decision};
use super::schedule::{self, Board, Next};
use super::{git, logs, Engine, EngineError, RunOptions};
use crate::agent::Runner;
use crate::gates::approval::Approval;
use crate::model::event::EngineEvent;
use crate::model::layout;
use crate::model::plan::{Plan, PlannedIssue, APPLY_PATCH};
use crate::model::record::{IssueSummary, Outcome, RunSummary};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The branch tips (and branches) of issues completed in this run, by id.
type Tips = BTreeMap<String, (String, String)>;

/// What the issues that ended so far mean for the ones to come, beside the board.
struct Ledger {
    /// Issues whose docs say they are done: their work is on the trunk already, and they
    /// count as passed for their dependents.
    done: BTreeSet<String>,
    tips: Tips,
}

impl Ledger {
    fn passed(&self, board: &Board, id: &str) -> bool {
        self.done.contains(id) || board.ended.get(id) == Some(&Outcome::Completed)
    }
}

impl<R: Runner> Engine<'_, R> {
    pub async fn run(&self, plan: &Plan, opts: &RunOptions) -> Result<RunSummary, EngineError> {
        let (base, trunk) = self.start(plan, opts).await?;
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
        let mut ledger = Ledger {
            done: plan
                .issues
                .iter()
                .filter(|i| i.done)
                .map(|i| i.id.clone())
                .collect(),
            tips: Tips::new(),
        };
        let mut summaries = Vec::new();
        let mut board = Board {
            waiting: (0..issues.len()).collect(),
            ..Board::default()
        };
        // One issue at a time: nothing is in flight when the board is asked again, so the
        // answer is a start or the end.
        while let Next::Start(n) = schedule::next(&issues, &board, 1) {
            board.waiting.retain(|&w| w != n);
            board.running.insert(n);
            let issue = issues[n];
            (self.reporter)(&EngineEvent::IssueStarted {
                id: issue.id.clone(),
                position: summaries.len() + 1,
                total: issues.len(),
            });
            let issue_dir = layout::issue_dir(&logs, &issue.id);
            let summary = self
                .issue_outcome(
                    plan,
                    opts,
                    issue,
                    &issue_dir,
                    (&ledger, &board),
                    (&base, &trunk),
                )
                .await?;
            logs::write_json(&issue_dir.join(layout::ISSUE_SUMMARY), &summary)?;
            if summary.outcome == Outcome::Completed {
                let branch = issue.branch.clone();
                if let Some(tip) =
                    git(&self.repo_root, move |repo| Ok(repo.branch_tip(&branch)?)).await?
                {
                    ledger
                        .tips
                        .insert(issue.id.clone(), (tip, issue.branch.clone()));
                }
            }
            board.running.remove(&n);
            board.ended.insert(issue.id.clone(), summary.outcome);
            (self.reporter)(&EngineEvent::IssueFinished {
                summary: summary.clone(),
            });
            // Interrupted: the run stops here, to be resumed.
            board.stopped |= summary.outcome == Outcome::Interrupted;
            summaries.push(summary);
        }
        let summary = RunSummary {
            run_id: opts.run_id.clone(),
            project: plan.project.clone(),
            milestone: plan.milestone.clone(),
            started_at,
            finished_at: crate::util::timeutil::now_rfc3339(),
            issues: summaries,
        };
        logs::write_json(&layout::run_summary(&logs, &opts.run_id), &summary)?;
        (self.reporter)(&EngineEvent::RunFinished {
            summary: summary.clone(),
        });
        Ok(summary)
    }

    /// How one issue ends: kept from the run being resumed, held (skipped by its docs, by a
    /// dependency that did not pass, or waiting for an approval), or run.
    async fn issue_outcome(
        &self,
        plan: &Plan,
        opts: &RunOptions,
        issue: &PlannedIssue,
        issue_dir: &Path,
        (ledger, board): (&Ledger, &Board),
        (base, trunk): (&str, &str),
    ) -> Result<IssueSummary, EngineError> {
        let prior = opts.resume.as_ref().and_then(|s| s.issue(&issue.id));
        let retry = opts.retry.iter().any(|r| r == &issue.id);
        let continuation = match resume::decide(prior, retry, plan.max_review_cycles) {
            Decision::Keep(kept) => return Ok(*kept),
            Decision::Run(continuation) => continuation,
        };
        let blocked_on: Vec<&str> = issue
            .milestone_dependencies()
            .filter(|id| !ledger.passed(board, id) && opts.only_issue.is_none())
            .collect();
        if let Some(held) = held(issue, &blocked_on, &board.ended, &opts.approvals, issue_dir) {
            for gate in &held.awaiting {
                (self.reporter)(&EngineEvent::AwaitingApproval {
                    id: issue.id.clone(),
                    gate: gate.clone(),
                });
            }
            return Ok(held);
        }
        let (start, parent) = self
            .issue_base(issue, &ledger.tips, &ledger.done, base, trunk)
            .await?;
        let job = IssueJob {
            issue,
            base: &start,
            parent: &parent,
            issue_dir,
            continuation,
        };
        self.run_issue(plan, job, opts).await
    }

    /// Checks the repository is clean (a resume tolerates its own worktrees) and returns the
    /// commit and branch issues start from when nothing of this run comes before them.
    async fn start(&self, plan: &Plan, opts: &RunOptions) -> Result<(String, String), EngineError> {
        let config = self.config.clone();
        let ours: Option<Vec<PathBuf>> = opts
            .resume
            .as_ref()
            .map(|_| plan.issues.iter().map(|i| i.worktree.clone()).collect());
        git(&self.repo_root, move |repo| {
            let report = crate::workspace::verify_clean::verify_clean(repo, &config)?;
            let report = match &ours {
                Some(ours) => crate::workspace::verify_clean::tolerate_own_worktrees(report, ours),
                None => report,
            };
            if !report.clean {
                return Err(EngineError::NotClean(report.problems.len(), report));
            }
            let base = repo.resolve_commit("HEAD")?;
            let head = repo.head()?.branch;
            let trunk = crate::workspace::verify_clean::start_branch(repo, &config)
                .or(head)
                .unwrap_or_else(|| "main".to_owned());
            Ok((base, trunk))
        })
        .await
    }

    /// The commit an issue's branch starts from, and the branch it stacks on.
    async fn issue_base(
        &self,
        issue: &PlannedIssue,
        tips: &Tips,
        done: &BTreeSet<String>,
        base: &str,
        trunk: &str,
    ) -> Result<(String, String), EngineError> {
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
        let merged = git(&self.repo_root, move |repo| {
            Ok(repo.merge_tips(&tips_of, &message)?)
        })
        .await?;
        Ok(match merged {
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
                (base.to_owned(), trunk.to_owned())
            }
        })
    }
}

/// Why an issue does not run now, as its summary: its docs skip it, a dependency did not
/// pass, or its patch waits for an approval (`apply_patch` gated).
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
    if let Some(reason) = &issue.skip_reason {
        return Some(ended(Outcome::Skipped, reason.clone()));
    }
    if !blocked_on.is_empty() {
        let why: Vec<String> = blocked_on
            .iter()
            .map(|id| {
                let outcome = outcomes.get(*id).map_or("not run", |o| o.name());
                format!("{id} ({outcome})")
            })
            .collect();
        let reason = format!("depends on {} which did not pass", why.join(", "));
        return Some(ended(Outcome::Skipped, reason));
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

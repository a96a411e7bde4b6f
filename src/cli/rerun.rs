//! A milestone run again: `orch run` after an earlier run of the same milestone (or plan
//! file) asks `engine::rerun` what to carry and what to set aside, and says why it will not
//! start when the earlier run did not finish; `orch resume` of a run with nothing left says
//! so. The decisions are pure (`engine::rerun`); here they meet the repository and the words.

use super::hinted;
use crate::engine::rerun::{self, Asked, Rerun, RerunRefusal};
use crate::model::plan::{Plan, PlannedIssue};
use crate::model::record::{IssueSummary, Outcome};
use crate::model::state::RunState;
use crate::report::style::Styler;

/// What a launch knows before it decides how a run stands to the runs before it.
pub(super) struct Before<'a> {
    pub repo: &'a crate::git::Repo,
    pub plan: &'a Plan,
    /// A plan file's run (its runs are looked up by the plan's name).
    pub plan_file: bool,
    /// `--issue`.
    pub only: Option<&'a str>,
    /// The run watches its pull requests (`--follow`, `orch watch`).
    pub follow: bool,
    /// `orch watch`: watches that ended capped or blocked count as open.
    pub rewatch: bool,
}

impl Before<'_> {
    /// For a new run: what it carries and sets aside, or an error saying why it does not
    /// start. For a resume (`resume`, `--retry` in `retry`): what it sets aside as recorded.
    /// `Ok(Err(code))`: nothing to run, said on stderr, and the exit code.
    pub(super) fn decide(
        &self,
        resume: Option<&RunState>,
        retry: &[String],
        asked: Asked<'_>,
        style: &Styler,
    ) -> anyhow::Result<Result<Rerun, i32>> {
        if let Some(state) = resume {
            let watching =
                self.follow && state.issues.iter().any(|i| still_watched(i, self.rewatch));
            if left_to_resume(self.plan, state, retry).is_empty() && !watching {
                eprint!("{}", say_nothing_left(state, style));
                let all_done = state
                    .issues
                    .iter()
                    .all(|i| i.summary.as_ref().is_some_and(settled));
                return Ok(Err(if all_done {
                    crate::cli::exit::OK
                } else {
                    crate::cli::exit::RUN_FAILED
                }));
            }
            return Ok(Ok(Rerun {
                restart: state.restart.clone(),
                ..Rerun::default()
            }));
        }
        let runs = runs_of(self.repo, self.plan, self.plan_file);
        let rerun = decide(self.repo, self.plan, self.only, &runs, asked)?;
        let issues = run_issues(self.plan, self.only);
        if rerun.earlier.is_some() && rerun.nothing_to_run(&issues) {
            eprint!("{}", say_nothing_to_run(self.plan, &issues, &rerun, style));
            return Ok(Err(crate::cli::exit::OK));
        }
        Ok(Ok(rerun))
    }
}

/// The milestone's (or the plan file's) recorded runs.
fn runs_of(repo: &crate::git::Repo, plan: &Plan, plan_file: bool) -> Vec<RunState> {
    crate::record::state::all(&repo.common_dir())
        .into_iter()
        .filter(|s| s.scope() == plan.scope() && s.request.plan_file.is_some() == plan_file)
        .collect()
}

/// The run's issues: the plan's, or the one `--issue` names.
fn run_issues<'p>(plan: &'p Plan, only: Option<&str>) -> Vec<&'p PlannedIssue> {
    plan.issues
        .iter()
        .filter(|i| only.is_none_or(|o| i.id == o))
        .collect()
}

/// What a new run of `plan` does with what ran before, or an error that says why it does not
/// start and every way on.
fn decide(
    repo: &crate::git::Repo,
    plan: &Plan,
    only: Option<&str>,
    runs: &[RunState],
    asked: Asked<'_>,
) -> anyhow::Result<Rerun> {
    let issues = run_issues(plan, only);
    let has_branch = |i: &PlannedIssue| repo.branch_exists(&i.branch);
    let refusal = match rerun::decide(&issues, runs, &has_branch, asked) {
        Ok(rerun) => return Ok(rerun),
        Err(refusal) => refusal,
    };
    let scope = plan.scope();
    if let crate::workspace::lock::LockState::Held(info) =
        crate::workspace::lock::inspect(&repo.common_dir())
    {
        return Err(hinted(
            format!(
                "a run is in progress here ({}, pid {} on {}, since {})",
                info.command, info.pid, info.host, info.started_at
            ),
            "wait for it to finish (`orch status` shows it)",
        ));
    }
    Err(match refusal {
        RerunRefusal::Unfinished { issues } => {
            let run_id = &issues[0].run_id;
            let one_run = issues.iter().all(|u| &u.run_id == run_id);
            let what: Vec<String> = issues
                .iter()
                .map(|u| match one_run {
                    true => format!("{} {}", u.id, u.how),
                    false => format!("{} {} in run {}", u.id, u.how, u.run_id),
                })
                .collect();
            let first = &issues[0].id;
            hinted(
                match one_run {
                    true => format!(
                        "the last run of {scope} ({run_id}) did not finish: {}",
                        what.join("; ")
                    ),
                    false => format!("runs of {scope} did not finish: {}", what.join("; ")),
                },
                format!(
                    "continue it: `orch resume {scope}` (`--retry {first}` runs the step that ended {first} again); \
                     or redo an issue and its dependents from scratch in a new run: `orch run {scope} --retry {first}`; \
                     or start over: `orch run {scope} --fresh`. Earlier branches are kept under refs/orch/rescue/"
                ),
            )
        }
        RerunRefusal::Untracked { issues } => {
            let what: Vec<String> = issues
                .iter()
                .map(|(id, branch)| format!("{id} (`{branch}`)"))
                .collect();
            let first = &issues[0].0;
            hinted(
                format!(
                    "{} of {scope} already {} a branch that no recorded run of it made: {}",
                    if issues.len() == 1 { "an issue" } else { "issues" },
                    if issues.len() == 1 { "has" } else { "have" },
                    what.join(", ")
                ),
                format!(
                    "orch does not build on work it did not record: `orch run {scope} --retry {first}` sets the branch aside \
                     under refs/orch/rescue/ and runs the issue from scratch (`--fresh` does so for every issue); \
                     or delete the branch if its work is not needed"
                ),
            )
        }
        RerunRefusal::NotInRun { id } => hinted(
            format!("issue `{id}` is not in this run of {scope}"),
            "see `orch plan` for its issues",
        ),
        RerunRefusal::SkippedByDocs { id, reason } => hinted(
            format!("issue `{id}` is skipped by its docs ({reason}); there is nothing to redo"),
            "change its `state:` to run it",
        ),
    })
}

/// Says, issue by issue, that a run would run nothing: each is carried or skipped by its docs.
fn say_nothing_to_run(
    plan: &Plan,
    issues: &[&PlannedIssue],
    rerun: &Rerun,
    style: &Styler,
) -> String {
    let mut out = String::new();
    for issue in issues {
        let line = match rerun.carried.iter().find(|c| c.id == issue.id) {
            Some(c) => format!(
                "completed in run {}; not run again",
                c.completed_in.as_deref().unwrap_or("?")
            ),
            None => format!(
                "skipped: {}",
                issue.skip_reason.as_deref().unwrap_or("by its docs")
            ),
        };
        out.push_str(&format!(
            "{} {line}\n",
            style.bold(&format!("[{}]", issue.id))
        ));
    }
    let scope = plan.scope();
    out.push_str(&format!(
        "Nothing to run: every issue of {scope} is done. `orch run {scope} --retry <ID>` redoes one (and what depends on it); `--fresh` starts over.\n"
    ));
    out
}

/// What a resume of `state` would still run: the issues whose loop is not over (or that
/// `--retry` names) and that nothing that failed holds back. Empty: nothing is left.
fn left_to_resume(plan: &Plan, state: &RunState, retry: &[String]) -> Vec<String> {
    let mut held: Vec<&str> = Vec::new();
    let mut left = Vec::new();
    for issue in run_issues(plan, state.request.only_issue.as_deref()) {
        if issue.skip_reason.is_some() {
            continue;
        }
        let prior = state.issue(&issue.id);
        let runs_again = crate::engine::runs_again(prior, retry.contains(&issue.id));
        let waits_on_failure = issue.milestone_dependencies().any(|d| held.contains(&d));
        if runs_again && !waits_on_failure {
            left.push(issue.id.clone());
        } else if !prior
            .and_then(|i| i.summary.as_ref())
            .is_some_and(|s| s.outcome == Outcome::Completed)
        {
            held.push(issue.id.as_str());
        }
    }
    left
}

/// A completed issue with a pull request orch opened whose watch has not ended (or, with
/// `rewatch`, ended for a human to look: capped or blocked).
fn still_watched(issue: &crate::model::state::IssueState, rewatch: bool) -> bool {
    use crate::model::forge::WatchOutcome;
    let open = (issue.summary.as_ref())
        .is_some_and(|s| s.outcome == Outcome::Completed && s.pull.is_some());
    let ended = issue.forge.as_ref().and_then(|w| w.outcome);
    let again = rewatch && matches!(ended, Some(WatchOutcome::Capped | WatchOutcome::Blocked));
    open && (ended.is_none() || again)
}

/// An issue with nothing to redo: done, or skipped (its docs or its dependencies decide it).
fn settled(summary: &IssueSummary) -> bool {
    summary.is_done() || summary.skip_kind().is_some()
}

/// `orch resume` of a run with nothing left: what became of each issue and how to go on.
fn say_nothing_left(state: &RunState, style: &Styler) -> String {
    let scope = state.scope();
    let mut out = format!(
        "{} run {} of {scope} has nothing left to run:\n",
        style.bold("orch"),
        state.run_id
    );
    let mut failed = Vec::new();
    for issue in &state.issues {
        let how = issue
            .summary
            .as_ref()
            .map_or_else(|| issue.status_name(), IssueSummary::ended);
        if issue.summary.as_ref().is_some_and(|s| !settled(s)) {
            failed.push(issue.id.as_str());
        }
        out.push_str(&format!(
            "  {} {how}\n",
            style.bold(&format!("[{}]", issue.id))
        ));
    }
    match failed.first() {
        Some(first) => out.push_str(&format!(
            "Run the step that ended {first} again: `orch resume {scope} --retry {first}`; redo it from scratch: `orch run {scope} --retry {first}`.\n"
        )),
        None => out.push_str(&format!(
            "Every issue is done; `orch run {scope}` would run nothing either.\n"
        )),
    }
    out
}

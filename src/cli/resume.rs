//! `orch resume [MILESTONE | --file PLAN]`: continue the last run. Finished issues are not
//! run again; an interrupted issue continues in its worktree after its last finished phase
//! (the phase that was cut off runs again); counters continue; a task waiting for an approval
//! that has since been given goes on; a run limited by `--task` or `--issue`, or started
//! with `--no-build`, stays so.
//! `--retry ID` runs a failed, blocked or capped issue's last step again (a task whose
//! command failed, or that waits for an approval, only its commands).

use super::{hinted, GlobalArgs, Workspace};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The milestone: `<project>/<milestone>`, or one with --project (default: the most
    /// recent run's).
    milestone: Option<String>,
    /// The milestone's project (alone: the most recent run of that project).
    #[arg(long, value_name = "PROJECT", conflicts_with = "file")]
    project: Option<String>,
    /// Continue the last run of this plan file (default `orchestrator.yml`).
    #[arg(long, value_name = "PLAN", num_args = 0..=1, conflicts_with_all = ["milestone", "docs"])]
    file: Option<Option<PathBuf>>,
    /// Run this failed, blocked or capped issue again (repeatable).
    #[arg(long, value_name = "ID")]
    retry: Vec<String>,
    /// Base directory the docs glob is matched from (default: the repository root).
    #[arg(long, value_name = "DIR")]
    docs: Option<PathBuf>,
    /// Skip the tasks' final `build` and `release` commands.
    #[arg(long)]
    no_build: bool,
    /// Take over a lock left by an orch process that is gone.
    #[arg(long)]
    force_unlock: bool,
}

pub fn run(global: &GlobalArgs, args: &Args) -> anyhow::Result<i32> {
    continue_run(
        global,
        Continue {
            milestone: args.milestone.clone(),
            project: args.project.clone(),
            file: args.file.clone(),
            docs: args.docs.clone(),
            retry: args.retry.clone(),
            force_unlock: args.force_unlock,
            no_build: args.no_build,
        },
    )
}

/// Which run to continue, and how (`orch resume`'s arguments, or `orch run --resume`'s).
pub(super) struct Continue {
    pub milestone: Option<String>,
    pub project: Option<String>,
    pub file: Option<Option<PathBuf>>,
    pub docs: Option<PathBuf>,
    pub retry: Vec<String>,
    pub force_unlock: bool,
    pub no_build: bool,
}

/// Finds the run to continue (of `milestone`, of the plan `file`, or the latest) and runs it
/// again from its state.
pub(super) fn continue_run(global: &GlobalArgs, how: Continue) -> anyhow::Result<i32> {
    let Continue {
        milestone,
        project,
        file,
        docs,
        retry,
        force_unlock,
        no_build,
    } = how;
    let ws = Workspace::open(global, docs.as_deref())?;
    let repo = ws.git()?;
    let (milestone, state) = match &file {
        Some(file) => {
            let name = super::plan_file_milestone(global, &ws, file.as_deref())?;
            let state = crate::record::state::latest_of_plan(&repo.common_dir(), &name);
            (Some(name), state)
        }
        None => {
            let state = super::latest_state(
                &ws,
                &repo,
                milestone.as_deref(),
                project.as_deref(),
                "orch resume",
            )
            .map_err(|e| match (&milestone, &project) {
                (None, None) => hinted(
                    "no run to resume",
                    "start one with `orch run <MILESTONE>` or `orch run --file <PLAN>`",
                ),
                _ => e,
            })?;
            (milestone, Some(state))
        }
    };
    let Some(state) = state else {
        return Err(hinted(
            match &milestone {
                Some(m) => format!("no run of {m} to resume"),
                None => "no run to resume".to_owned(),
            },
            "start one with `orch run <MILESTONE>` or `orch run --file <PLAN>`",
        ));
    };
    for id in &retry {
        if state.issue(id).is_none() {
            return Err(hinted(
                format!("issue `{id}` is not part of run {}", state.run_id),
                "see `orch status`",
            ));
        }
    }
    let plan_file = match (&file, &state.plan_file) {
        (Some(given), _) => Some(given.clone()),
        (None, Some(recorded)) => Some(Some(recorded.clone())),
        (None, None) => None,
    };
    let run_args = super::run::Args {
        milestone: plan_file.is_none().then(|| state.milestone.clone()),
        project: state.project.clone(),
        include_state: state.include_states.clone(),
        base: state.base.clone(),
        scope: plan_file.is_none().then(|| state.scope()),
        file: plan_file,
        docs,
        issue: state.only_issue.clone(),
        task: state.task.clone(),
        all: false,
        resume: false,
        dry_run: false,
        no_build: no_build || state.no_build,
        force_unlock,
    };
    super::run::launch(global, &run_args, Some(state), retry)
}

//! The one path `orch run` and `orch resume` both take: `prepare` the run (the same for its
//! dry run), then `execute` it; and, for a resume, find the run to continue and launch it
//! again with what its state recorded it was asked for.

use super::{hinted, GlobalArgs, Workspace};
use std::path::PathBuf;

use super::request::{BudgetFlags, Launch};

/// Runs (or, with `resume`, continues) a milestone: prepares it, then shows it (`--dry-run`)
/// or runs it.
pub(super) fn launch(
    global: &GlobalArgs,
    args: &Launch,
    resume: Option<crate::model::state::RunState>,
    retry: Vec<String>,
) -> anyhow::Result<i32> {
    let prepared = match super::prepare::prepare(global, args, resume.as_ref(), &retry)? {
        Ok(prepared) => prepared,
        Err(code) => return Ok(code),
    };
    if args.dry_run {
        return super::dry_run::print(global, &prepared);
    }
    super::execute::execute(global, args, prepared, resume, retry)
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
    pub jobs: Option<usize>,
    pub budget: BudgetFlags,
    pub agents: Vec<String>,
    /// Watch the pull requests after the loops (`orch watch`, `--follow`).
    pub follow: bool,
    /// `orch watch`: watches that ended capped or blocked start again.
    pub rewatch: bool,
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
        jobs,
        budget,
        agents,
        follow,
        rewatch,
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
    let plan_file = match (&file, &state.request.plan_file) {
        (Some(given), _) => Some(given.clone()),
        (None, Some(recorded)) => Some(Some(recorded.clone())),
        (None, None) => None,
    };
    // What the run was asked for, as it asked; a resume may add `--no-build` and choose
    // other agents from now on.
    let mut request = state.request.clone();
    request.no_build |= no_build;
    request.follow |= follow;
    if !agents.is_empty() {
        request.agents = agents;
    }
    let again = Launch {
        milestone: plan_file.is_none().then(|| state.milestone.clone()),
        project: state.project.clone(),
        scope: plan_file.is_none().then(|| state.scope()),
        file: plan_file,
        request,
        base: state.base.clone(),
        docs,
        dry_run: false,
        force_unlock,
        jobs,
        budget,
        fresh: false,
        rewatch,
        again: Vec::new(),
        on_github: Some(state.request.on_github),
    };
    launch(global, &again, Some(state), retry)
}

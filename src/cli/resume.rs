//! `orch resume [MILESTONE]`: continue the last run. Finished issues are not run again; an
//! interrupted issue continues in its worktree after its last finished phase (the phase that
//! was cut off runs again); counters continue. `--retry ID` runs a failed, blocked or capped
//! issue's last step again.

use super::{hinted, GlobalArgs, Workspace};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The milestone (default: the most recent run's).
    milestone: Option<String>,
    /// Run this failed, blocked or capped issue again (repeatable).
    #[arg(long, value_name = "ID")]
    retry: Vec<String>,
    /// Base directory the docs glob is matched from (default: the repository root).
    #[arg(long, value_name = "DIR")]
    docs: Option<PathBuf>,
    /// Take over a lock left by an orch process that is gone.
    #[arg(long)]
    force_unlock: bool,
}

pub fn run(global: &GlobalArgs, args: &Args) -> anyhow::Result<i32> {
    let ws = Workspace::open(global, args.docs.as_deref())?;
    let repo = ws.git()?;
    let Some(state) = crate::state::latest(&repo.common_dir(), args.milestone.as_deref()) else {
        return Err(hinted(
            match &args.milestone {
                Some(m) => format!("no run of milestone {m} to resume"),
                None => "no run to resume".to_owned(),
            },
            "start one with `orch run <MILESTONE>`",
        ));
    };
    for id in &args.retry {
        if state.issue(id).is_none() {
            return Err(hinted(
                format!("issue `{id}` is not part of run {}", state.run_id),
                "see `orch status`",
            ));
        }
    }
    let run_args = super::run::Args {
        milestone: state.milestone.clone(),
        docs: args.docs.clone(),
        issue: None,
        dry_run: false,
        force_unlock: args.force_unlock,
    };
    super::run::launch(global, &run_args, Some(state), args.retry.clone())
}

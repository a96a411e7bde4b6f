//! `orch resume [MILESTONE | --file PLAN]`: continue the last run. Finished issues are not
//! run again; an interrupted issue continues in its worktree after its last finished phase
//! (the phase that was cut off runs again); counters continue; a task waiting for an approval
//! that has since been given goes on; a run limited by `--task` or `--issue`, or started
//! with `--no-build`, stays so.
//! `--retry ID` runs a failed, blocked or capped issue's last step again (a task whose
//! command failed, or that waits for an approval, only its commands).

use super::GlobalArgs;
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
    /// Issues in flight at once (default: orch.toml's `jobs`, else 3; 1 runs them one at a
    /// time, in plan order).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    #[command(flatten)]
    budget: super::request::BudgetFlags,
    /// The agent CLI of a phase from now on (default: the run's): `review=claude`.
    #[arg(long = "agent", value_name = "PHASE=AGENT")]
    agents: Vec<String>,
}

pub fn run(global: &GlobalArgs, args: &Args) -> anyhow::Result<i32> {
    super::launch::continue_run(
        global,
        super::launch::Continue {
            milestone: args.milestone.clone(),
            project: args.project.clone(),
            file: args.file.clone(),
            docs: args.docs.clone(),
            retry: args.retry.clone(),
            force_unlock: args.force_unlock,
            no_build: args.no_build,
            jobs: args.jobs.map(usize::from),
            budget: args.budget,
            agents: args.agents.clone(),
            follow: false,
            rewatch: false,
        },
    )
}

//! `orch watch [MILESTONE]`: the last run of the milestone, continued with its pull requests
//! watched (`orch run --follow` from the start). Each issue with a draft orch opened is
//! looked at every `[forge] poll_interval`: a failed check (its job's log excerpted) or an
//! open review thread starts a fix phase on its branch; orch pushes it and answers each
//! thread; until the PR is green, merged or closed, or `max_forge_cycles` fixes ran, or a
//! fix needs a human. Killed, it continues with `orch watch` or `orch resume`.

use super::GlobalArgs;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The milestone: `<project>/<milestone>`, or one with --project (default: the most
    /// recent run's).
    milestone: Option<String>,
    /// The milestone's project.
    #[arg(long, value_name = "PROJECT")]
    project: Option<String>,
    /// Base directory the docs glob is matched from (default: the repository root).
    #[arg(long, value_name = "DIR")]
    docs: Option<PathBuf>,
    /// Take over a lock left by an orch process that is gone.
    #[arg(long)]
    force_unlock: bool,
    #[command(flatten)]
    budget: super::request::BudgetFlags,
}

pub fn run(global: &GlobalArgs, args: &Args) -> anyhow::Result<i32> {
    super::launch::continue_run(
        global,
        super::launch::Continue {
            milestone: args.milestone.clone(),
            project: args.project.clone(),
            file: None,
            docs: args.docs.clone(),
            retry: Vec::new(),
            force_unlock: args.force_unlock,
            no_build: false,
            jobs: None,
            budget: args.budget,
            agents: Vec::new(),
            follow: true,
            rewatch: true,
        },
    )
}

//! `orch run <MILESTONE>` / `orch run --file orchestrator.yml`: the main job's arguments;
//! the run itself is `launch`.

use super::GlobalArgs;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The milestone to run: `<project>/<milestone>`, or a milestone with --project (or
    /// orch.toml's `project`); a bare one when one project has it; its leading id (`M3` for
    /// `M3-core-…`) when unique. Or run a plan file with --file; with --resume, default the
    /// most recent run's.
    #[arg(required_unless_present_any = ["file", "resume"])]
    pub(super) milestone: Option<String>,
    /// The project the milestone is in.
    #[arg(long, value_name = "PROJECT", conflicts_with = "file")]
    pub(super) project: Option<String>,
    /// Also run issues in this not-ready state (`future`, `backlog`, …; repeatable).
    #[arg(long = "include-state", value_name = "STATE", value_delimiter = ',')]
    pub(super) include_state: Vec<String>,
    /// Start issue branches from this branch instead of the trunk (HEAD must be on it).
    #[arg(long, value_name = "BRANCH")]
    pub(super) base: Option<String>,
    /// Run a plan file instead of a milestone of issue docs (default `orchestrator.yml` at
    /// the repository root).
    #[arg(long, value_name = "PLAN", num_args = 0..=1, conflicts_with_all = ["milestone", "docs", "issue"])]
    pub(super) file: Option<Option<PathBuf>>,
    /// Base directory the docs glob is matched from (default: the repository root).
    #[arg(long, value_name = "DIR")]
    pub(super) docs: Option<PathBuf>,
    /// Run only this issue (its dependencies are not run).
    #[arg(long, value_name = "ID", conflicts_with = "task")]
    pub(super) issue: Option<String>,
    /// Run this task and every task it depends on.
    #[arg(long, value_name = "ID", conflicts_with = "all")]
    pub(super) task: Option<String>,
    /// Run every task (the default).
    #[arg(long)]
    pub(super) all: bool,
    /// Continue the last run of this milestone or plan file (as `orch resume`).
    #[arg(long, conflicts_with_all = ["dry_run", "task", "issue", "fresh", "retry"])]
    pub(super) resume: bool,
    /// Start over: every issue runs from scratch in a new run; the earlier runs' branches
    /// are set aside under refs/orch/rescue/ first (nothing is lost).
    #[arg(long, conflicts_with = "retry")]
    pub(super) fresh: bool,
    /// Run this issue again from scratch in a new run, and every issue that depends on it
    /// (repeatable); its earlier branch is set aside under refs/orch/rescue/. The others the
    /// last run completed are carried.
    #[arg(long, value_name = "ID", value_delimiter = ',')]
    pub(super) retry: Vec<String>,
    /// After the loops, watch the issues' pull requests (as `orch watch`): a failed check or
    /// a reviewer's thread starts a fix.
    #[arg(long)]
    pub(super) follow: bool,
    /// Show everything that would happen; change nothing.
    #[arg(long)]
    pub(super) dry_run: bool,
    /// Skip the tasks' final `build` and `release` commands.
    #[arg(long)]
    pub(super) no_build: bool,
    /// Take over a lock left by an orch process that is gone.
    #[arg(long)]
    pub(super) force_unlock: bool,
    /// Issues in flight at once (default: orch.toml's `jobs`, else 3; 1 runs them one at a
    /// time, in plan order).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub(super) jobs: Option<u16>,
    #[command(flatten)]
    pub(super) budget: super::request::BudgetFlags,
    /// The agent CLI of a phase, over orch.toml's `[agents]`: `review=claude`, `all=codex`
    /// (repeatable).
    #[arg(long = "agent", value_name = "PHASE=AGENT")]
    pub(super) agents: Vec<String>,
    /// Where each issue's loop runs (over orch.toml's `[executor] on`): `github` dispatches
    /// the workflow `orch init --ci github` wrote, one run per issue, and imports each result.
    #[arg(long, value_enum, value_name = "CI", conflicts_with_all = ["file", "task"])]
    pub(super) on: Option<On>,
}

/// Where issues' loops run (over `[executor] on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum On {
    /// Here, in worktrees of this repository.
    Local,
    /// On GitHub Actions runners.
    Github,
}

pub fn run(global: &GlobalArgs, args: &Args) -> anyhow::Result<i32> {
    if args.resume {
        return super::launch::continue_run(
            global,
            super::launch::Continue {
                milestone: args.milestone.clone(),
                project: args.project.clone(),
                file: args.file.clone(),
                docs: args.docs.clone(),
                retry: Vec::new(),
                force_unlock: args.force_unlock,
                no_build: args.no_build,
                jobs: args.jobs.map(usize::from),
                budget: args.budget,
                agents: args.agents.clone(),
                follow: args.follow,
                rewatch: false,
            },
        );
    }
    let launch = super::request::Launch {
        milestone: args.milestone.clone(),
        project: args.project.clone(),
        scope: None,
        file: args.file.clone(),
        request: crate::model::request::RunRequest {
            plan_file: None,
            task: args.task.clone(),
            only_issue: args.issue.clone(),
            no_build: args.no_build,
            include_states: args.include_state.clone(),
            agents: args.agents.clone(),
            follow: args.follow,
            work: None,
            on_github: false,
        },
        base: args.base.clone(),
        docs: args.docs.clone(),
        dry_run: args.dry_run,
        force_unlock: args.force_unlock,
        jobs: args.jobs.map(usize::from),
        budget: args.budget,
        fresh: args.fresh,
        rewatch: false,
        again: args.retry.clone(),
        on_github: args.on.map(|on| on == On::Github),
    };
    super::launch::launch(global, &launch, None, Vec::new())
}

//! `orch debug …` (hidden): direct access to library operations, for benchmarks and
//! troubleshooting. Not a user interface; it may change at any time.

use super::{GlobalArgs, Workspace};
use crate::exit;
use crate::lifecycle::{self, IssueWorktree};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: DebugCommand,
}

#[derive(Debug, clap::Subcommand)]
enum DebugCommand {
    /// Create (or reuse) an issue's branch and worktree at BASE.
    WorktreeAdd {
        milestone: String,
        id: String,
        #[arg(long, default_value = "")]
        title: String,
        #[arg(long, default_value = "HEAD")]
        base: String,
    },
    /// Remove an issue's worktree, rescuing uncommitted work.
    WorktreeRemove { milestone: String, id: String },
}

pub fn run(global: &GlobalArgs, args: &Args) -> anyhow::Result<i32> {
    let ws = Workspace::open(global, None)?;
    let repo = ws.git()?;
    let root = ws.config.worktree_root(&repo.main_root());
    match &args.command {
        DebugCommand::WorktreeAdd {
            milestone,
            id,
            title,
            base,
        } => {
            let wt = IssueWorktree::new(milestone, id, title, &root);
            let base = repo.resolve_commit(base)?;
            let prepared = lifecycle::prepare(&repo, &wt, &base)?;
            println!("{prepared:?} {} {}", wt.branch, wt.path.display());
        }
        DebugCommand::WorktreeRemove { milestone, id } => {
            let wt = IssueWorktree::new(milestone, id, "", &root);
            let removed = lifecycle::remove(&repo, &wt)?;
            println!("{removed:?}");
        }
    }
    Ok(exit::OK)
}

//! `orch debug …` (hidden): direct access to library operations, for benchmarks and
//! troubleshooting. Not a user interface; it may change at any time.

use super::{GlobalArgs, Workspace};
use crate::agent::repomap;
use crate::cli::exit;
use crate::workspace::worktrees::{self, IssueWorktree};

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
    /// Print the repository map of REV as a prompt gets it (cache under the common git dir);
    /// what it cost goes to stderr.
    RepoMap {
        #[arg(default_value = "HEAD")]
        rev: String,
        /// Byte budget of the rendered map.
        #[arg(long, default_value_t = 16_000)]
        budget: usize,
        /// Path hints listed first (repeatable).
        #[arg(long)]
        hint: Vec<String>,
    },
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
            let wt = IssueWorktree::new(
                &crate::model::naming::Scope::new(None, milestone),
                id,
                title,
                &root,
            );
            let base = repo.resolve_commit(base)?;
            let prepared = worktrees::prepare(&repo, &wt, &base)?;
            println!("{prepared:?} {} {}", wt.branch, wt.path.display());
        }
        DebugCommand::WorktreeRemove { milestone, id } => {
            let wt = IssueWorktree::new(
                &crate::model::naming::Scope::new(None, milestone),
                id,
                "",
                &root,
            );
            let removed = worktrees::remove(&repo, &wt)?;
            println!("{removed:?}");
        }
        DebugCommand::RepoMap { rev, budget, hint } => {
            let started = std::time::Instant::now();
            let (map, stats) = repomap::load_or_build(&repo, &repo.common_dir(), rev)?;
            let mapped = started.elapsed();
            print!("{}", repomap::render(&map, hint, *budget));
            eprintln!(
                "repo-map: {} ({} files, {} blobs read) in {:.1} ms, rendered in {:.1} ms",
                if stats.cache_hit {
                    "cache hit"
                } else {
                    "built"
                },
                map.files.len(),
                stats.blobs_read,
                mapped.as_secs_f64() * 1000.0,
                (started.elapsed() - mapped).as_secs_f64() * 1000.0,
            );
        }
    }
    Ok(exit::OK)
}

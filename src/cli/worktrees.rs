//! `orch worktrees [MILESTONE] [--prune]`: orch's worktrees (of one milestone, or of one
//! project), and safe removal of the orphans.

use super::{GlobalArgs, Workspace};
use crate::cli::exit;
use crate::model::naming;
use crate::report::style::Styler;
use crate::workspace::lock::{self, LockState};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this milestone's worktrees: `<project>/<milestone>`, or one with --project.
    milestone: Option<String>,
    /// Only this project's worktrees.
    #[arg(long, value_name = "PROJECT")]
    project: Option<String>,
    /// Remove orch worktrees no run is using (uncommitted work is saved under
    /// refs/orch/rescue/ first) and forget entries whose directory is gone.
    #[arg(long)]
    prune: bool,
}

pub fn run(global: &GlobalArgs, args: &Args) -> anyhow::Result<i32> {
    let ws = if args.prune {
        Workspace::open(global, None)?
    } else {
        Workspace::open_reading(global)?
    };
    let repo = ws.git()?;
    let root = ws.config.worktree_root(&repo.main_root());
    let root = root.canonicalize().unwrap_or(root);
    // Only under `<root>/<project>/<milestone>/` (or `<root>/<project>/`) when one is named.
    let under = match (&args.milestone, &args.project) {
        (Some(text), project) => {
            let mut known = crate::record::state::scopes(&repo.common_dir());
            if let Ok(set) = ws.load_docs() {
                known.extend(set.scopes());
            }
            let scope =
                super::select_scope(&ws, text, project.as_deref(), &known, "orch worktrees")?;
            Some(root.join(scope.dir()))
        }
        (None, Some(p)) => Some(root.join(naming::ref_component(p))),
        (None, None) => None,
    };
    let ours: Vec<_> = repo
        .worktrees()?
        .into_iter()
        .filter(|w| w.stale || crate::workspace::verify_clean::is_orch_worktree(w, &root))
        .filter(|w| under.as_ref().is_none_or(|dir| w.path.starts_with(dir)))
        .collect();
    let style = Styler::stdout(global.color);
    if !args.prune {
        if ours.is_empty() {
            println!("no orch worktrees");
        }
        for w in &ours {
            let state = if w.stale {
                style.yellow("stale")
            } else {
                style.green("present")
            };
            println!(
                "{}  {}  {}",
                w.path.display(),
                w.branch.as_deref().unwrap_or("-"),
                state
            );
        }
        return Ok(exit::OK);
    }
    if let LockState::Held(info) = lock::inspect(&repo.common_dir()) {
        return Err(super::hinted(
            format!(
                "an orch run (pid {} on {}) is using the worktrees",
                info.pid, info.host
            ),
            "prune after the run has finished",
        ));
    }
    for w in &ours {
        let prefix = rescue_prefix(&root, w);
        let removed = crate::workspace::worktrees::remove_entry(
            &repo,
            w,
            &prefix,
            &format!("worktree {}", w.name),
        )?;
        match (&removed.rescue_ref, w.stale) {
            (_, true) => println!("forgot stale worktree {}", w.path.display()),
            (Some(r), _) => println!(
                "removed {} (uncommitted work saved as {r})",
                w.path.display()
            ),
            (None, _) => println!("removed {}", w.path.display()),
        }
    }
    if ours.is_empty() {
        println!("nothing to prune");
    }
    Ok(exit::OK)
}

/// `refs/orch/rescue/[<project>/]<milestone>/<id>/` from a planned path, else keyed by the
/// admin name.
fn rescue_prefix(root: &std::path::Path, w: &crate::git::WorktreeEntry) -> String {
    let parts: Vec<String> = w
        .path
        .strip_prefix(root)
        .map(|rel| {
            rel.iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    match parts.as_slice() {
        [milestone, id] => format!("refs/orch/rescue/{milestone}/{id}/"),
        [project, milestone, id] => format!("refs/orch/rescue/{project}/{milestone}/{id}/"),
        _ => format!(
            "refs/orch/rescue/orphans/{}/",
            naming::ref_component(&w.name)
        ),
    }
}

//! One orchestrator-owned worktree per issue: created once (or reused on resume), shared by
//! every phase, removed when the issue's loop ends — never losing uncommitted work.

use crate::git::{GitError, Repo, WorktreeEntry};
use crate::model::naming::{self, Scope};
use std::path::{Path, PathBuf};

/// What orch needs to know to own one issue's worktree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueWorktree {
    pub scope: Scope,
    pub id: String,
    pub branch: String,
    pub path: PathBuf,
}

impl IssueWorktree {
    pub fn new(scope: &Scope, id: &str, title: &str, worktree_root: &Path) -> Self {
        IssueWorktree {
            scope: scope.clone(),
            id: id.to_owned(),
            branch: naming::branch_name(scope, id, title),
            path: naming::worktree_path(worktree_root, scope, id),
        }
    }

    /// The admin name under `.git/worktrees/`.
    pub fn admin_name(&self) -> String {
        admin_name(&self.scope, &self.id)
    }

    /// Prefix of this issue's rescue refs.
    pub fn rescue_prefix(&self) -> String {
        rescue_prefix(&self.scope, &self.id)
    }
}

pub use crate::model::naming::rescue_prefix;

/// `orch-<milestone>-<id>`, or `orch-<project>--<milestone>-<id>`.
pub fn admin_name(scope: &Scope, id: &str) -> String {
    format!(
        "orch-{}-{}",
        scope.components().join("--"),
        naming::ref_component(id)
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prepared {
    Created,
    Reused,
}

/// Creates the issue's branch at `base` (unless it exists: resume keeps it) and its worktree
/// at the planned path (unless it is already registered there: reused).
pub fn prepare(repo: &Repo, wt: &IssueWorktree, base: &str) -> Result<Prepared, GitError> {
    let action = format!(
        "prepare the worktree of `{}` at {}",
        wt.id,
        wt.path.display()
    );
    let refused = |reason: String| GitError::Refused {
        repo: repo.root().to_owned(),
        action: action.clone(),
        reason,
    };
    let full_ref = format!("refs/heads/{}", wt.branch);
    if !naming::is_valid_branch_name(&wt.branch) || !crate::git::is_valid_ref_name(&full_ref) {
        return Err(refused(format!(
            "`{}` is not a valid branch name",
            wt.branch
        )));
    }
    let planned = canonical(&wt.path);
    let name = wt.admin_name();
    for entry in repo.worktrees()? {
        let same_path = canonical(&entry.path) == planned;
        if entry.name != name && !same_path {
            continue;
        }
        if entry.stale {
            repo.prune_stale_worktree(&entry.name)?;
            continue;
        }
        if entry.name == name && entry.locked {
            match repo.worktree_lock_reason(&entry.name)?.as_deref() {
                // A creation or removal cut off by a crash: start it again.
                Some("initializing" | crate::git::REMOVING) => {
                    repo.discard_unfinished_worktree(&entry.name)?;
                    continue;
                }
                Some(reason) => {
                    return Err(refused(format!(
                        "worktree `{}` is locked ({})",
                        entry.name,
                        if reason.is_empty() {
                            "no reason given"
                        } else {
                            reason
                        }
                    )))
                }
                None => {}
            }
        }
        if entry.name == name && same_path {
            // Ours only if it holds this issue's branch (or work stacked on it): a milestone
            // and a plan of the same name give their issues the same worktree path.
            let head = Repo::open(&entry.path)?.head()?;
            let holds_ours = match (repo.branch_tip(&wt.branch)?, &head.oid) {
                (Some(tip), Some(head)) => repo.descends_from(head, &tip)?,
                _ => false,
            };
            if !holds_ours {
                return Err(refused(format!(
                    "worktree `{}` at {} holds {}, not the work of branch `{}`",
                    entry.name,
                    entry.path.display(),
                    head.branch
                        .map_or("a detached HEAD".to_owned(), |b| format!("branch `{b}`")),
                    wt.branch
                )));
            }
            return Ok(Prepared::Reused);
        }
        return Err(refused(format!(
            "worktree `{}` at {} is in the way",
            entry.name,
            entry.path.display()
        )));
    }
    if wt.path.exists() {
        return Err(refused(format!(
            "{} exists but is not a worktree orch registered; move it away",
            wt.path.display()
        )));
    }
    if repo.branch_tip(&wt.branch)?.is_none() {
        repo.create_branch(&wt.branch, base)?;
    }
    crate::util::failpoint::hit("before-worktree");
    repo.add_worktree(&name, &wt.path, &wt.branch)?;
    Ok(Prepared::Created)
}

/// Why the issue's branch, which exists, cannot be taken up again: a new run (its worktree is
/// gone) finds it without the commit it must start from (`base`, the tip of `parent`), so it
/// was started from another base, or its parent moved on. `None` when there is no such
/// branch, when it holds `base`, or when its worktree is still registered (an interrupted run
/// picks up its own work as it is). orch never reuses or rebases such a branch by itself.
pub fn stale_branch(
    repo: &Repo,
    wt: &IssueWorktree,
    base: &str,
    parent: &str,
) -> Result<Option<String>, GitError> {
    let Some(tip) = repo.branch_tip(&wt.branch)? else {
        return Ok(None);
    };
    let name = wt.admin_name();
    if repo.worktrees()?.iter().any(|e| e.name == name && !e.stale) {
        return Ok(None);
    }
    if repo.descends_from(&tip, base)? {
        return Ok(None);
    }
    Ok(Some(format!(
        "branch `{}` exists from an earlier run but does not contain `{parent}` at {} (where \
         this issue must start): it was started from another base; orch does not reuse or \
         rebase it. Delete it if its work is not needed (`git branch -D {}`), or rebase it onto \
         `{parent}` yourself, then run again",
        wt.branch,
        &base[..12.min(base.len())],
        wt.branch
    )))
}

/// What removing a worktree did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Removed {
    /// Whether a worktree was registered at all.
    pub existed: bool,
    /// The pinned commit holding uncommitted work, if there was any.
    pub rescue_ref: Option<String>,
}

/// Removes the issue's worktree. Uncommitted work (staged, modified, untracked) is first
/// committed on `refs/orch/rescue/<milestone>/<id>/<n>`; branches are never touched.
pub fn remove(repo: &Repo, wt: &IssueWorktree) -> Result<Removed, GitError> {
    let name = wt.admin_name();
    let Some(entry) = repo.worktrees()?.into_iter().find(|e| e.name == name) else {
        return Ok(Removed::default());
    };
    remove_entry(
        repo,
        &entry,
        &wt.rescue_prefix(),
        &format!("{} of milestone {}", wt.id, wt.scope),
    )
}

/// Removes any registered worktree safely (used by `orch worktrees --prune` for orphans).
pub fn remove_entry(
    repo: &Repo,
    entry: &WorktreeEntry,
    rescue_prefix: &str,
    what: &str,
) -> Result<Removed, GitError> {
    if entry.stale {
        repo.prune_stale_worktree(&entry.name)?;
        return Ok(Removed {
            existed: true,
            rescue_ref: None,
        });
    }
    if entry.locked
        && repo.worktree_lock_reason(&entry.name)?.as_deref() == Some(crate::git::REMOVING)
    {
        // A removal cut off by a crash, after its rescue: what is missing was deleted by
        // orch, not by anyone's work. Finish it.
        repo.discard_unfinished_worktree(&entry.name)?;
        return Ok(Removed {
            existed: true,
            rescue_ref: None,
        });
    }
    let wt_repo = Repo::open(&entry.path)?;
    let message = format!(
        "orch rescue: uncommitted work of {what}\n\nLeft in {} on {} when orch removed the worktree.",
        entry.path.display(),
        entry.branch.as_deref().unwrap_or("a detached HEAD")
    );
    // A removal cut off after its rescue (orch was killed) runs again: when the latest
    // rescue already holds the same work on the same commit, it is not saved twice.
    let previous = latest_rescue(repo, rescue_prefix)?;
    let rescue_ref = match wt_repo
        .snapshot_uncommitted(&message, previous.as_ref().map(|(_, oid)| oid.as_str()))?
    {
        Some(oid) if previous.as_ref().is_some_and(|(_, old)| *old == oid) => {
            previous.map(|(name, _)| name)
        }
        Some(oid) => {
            let n = previous
                .as_ref()
                .and_then(|(name, _)| name.strip_prefix(rescue_prefix)?.parse::<u64>().ok())
                .unwrap_or(0)
                + 1;
            let name = format!("{rescue_prefix}{n}");
            repo.set_ref(
                &name,
                &oid,
                "orch: rescue uncommitted work before removing a worktree",
            )?;
            tracing::warn!(
                "uncommitted work in {} saved as {name}",
                entry.path.display()
            );
            Some(name)
        }
        None => None,
    };
    drop(wt_repo);
    crate::util::failpoint::hit("mid-removal");
    repo.remove_worktree(&entry.name)?;
    if let Some(parent) = entry.path.parent() {
        // Tidy the milestone directory when it is left empty; ignore failure (not empty).
        let _ = std::fs::remove_dir(parent);
    }
    Ok(Removed {
        existed: true,
        rescue_ref,
    })
}

/// Sets the issue's earlier branch aside before a run does the issue again from scratch: its
/// worktree is removed (uncommitted work rescued, as [`remove`] does), its tip kept as
/// `refs/orch/rescue/…/<id>/branch-<run-id>`, and the branch deleted, so the run makes it
/// anew. Taken up again after a crash, it finishes what it began and saves nothing twice.
pub fn set_aside(
    repo: &Repo,
    wt: &IssueWorktree,
    run_id: &str,
) -> Result<crate::model::state::SetAside, GitError> {
    let removed = remove(repo, wt)?;
    if let Some(path) = repo.checked_out_at(&wt.branch)? {
        return Err(GitError::Refused {
            repo: repo.root().to_owned(),
            action: format!("set aside branch `{}`", wt.branch),
            reason: format!(
                "it is checked out at {}; switch that checkout to another branch first",
                path.display()
            ),
        });
    }
    let moved_to = match repo.branch_tip(&wt.branch)? {
        Some(tip) => {
            let name = format!(
                "{}branch-{}",
                wt.rescue_prefix(),
                naming::ref_component(run_id)
            );
            if repo.ref_target(&name)?.as_deref() != Some(tip.as_str()) {
                repo.set_ref(
                    &name,
                    &tip,
                    "orch: set an earlier branch aside before running its issue from scratch",
                )?;
            }
            crate::util::failpoint::hit("mid-set-aside");
            repo.delete_ref(&format!("refs/heads/{}", wt.branch))?;
            Some(name)
        }
        None => None,
    };
    Ok(crate::model::state::SetAside {
        branch: wt.branch.clone(),
        moved_to,
        uncommitted: removed.rescue_ref,
    })
}

/// The highest-numbered rescue ref under `prefix` and its commit.
fn latest_rescue(repo: &Repo, prefix: &str) -> Result<Option<(String, String)>, GitError> {
    let last = repo
        .refs_under(prefix)?
        .into_iter()
        .filter_map(|name| {
            let n: u64 = name.strip_prefix(prefix)?.parse().ok()?;
            Some((n, name))
        })
        .max();
    match last {
        Some((_, name)) => Ok(repo.ref_target(&name)?.map(|oid| (name, oid))),
        None => Ok(None),
    }
}

fn canonical(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    // Not created yet: canonicalise the nearest existing ancestor.
    let mut tail = Vec::new();
    let mut cur = path;
    while let Some(parent) = cur.parent() {
        tail.push(cur.file_name().unwrap_or_default().to_owned());
        if let Ok(p) = parent.canonicalize() {
            let mut out = p;
            for part in tail.iter().rev() {
                out.push(part);
            }
            return out;
        }
        cur = parent;
    }
    path.to_owned()
}

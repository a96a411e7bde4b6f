//! Linked worktrees: list, add, and remove without ever losing uncommitted work.

use super::{GitError, ObjectId, Repo};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A registered linked worktree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorktreeEntry {
    /// The admin name (`.git/worktrees/<name>`).
    pub name: String,
    pub path: PathBuf,
    /// The branch checked out there, if any.
    pub branch: Option<String>,
    pub head: Option<ObjectId>,
    /// Its directory is gone (or otherwise invalid): `git worktree prune` material.
    pub stale: bool,
    pub locked: bool,
}

impl Repo {
    /// Every linked worktree registered in this repository.
    pub fn worktrees(&self) -> Result<Vec<WorktreeEntry>, GitError> {
        let names = self.inner.worktrees().map_err(self.err("list worktrees"))?;
        let mut out = Vec::new();
        for name in names.iter().flatten() {
            let wt = self
                .inner
                .find_worktree(name)
                .map_err(self.err(format!("read worktree `{name}`")))?;
            let path = wt.path().to_owned();
            let stale = wt.validate().is_err() || !path.is_dir();
            let locked = matches!(wt.is_locked(), Ok(git2::WorktreeLockStatus::Locked(_)));
            let (branch, head) = if stale {
                (None, None)
            } else {
                match git2::Repository::open_from_worktree(&wt) {
                    Ok(repo) => {
                        let repo = Repo::wrap(repo);
                        match repo.head() {
                            Ok(h) => (h.branch, h.oid),
                            Err(_) => (None, None),
                        }
                    }
                    Err(_) => (None, None),
                }
            };
            let path = path.canonicalize().unwrap_or(path);
            out.push(WorktreeEntry {
                name: name.to_owned(),
                path,
                branch,
                head,
                stale,
                locked,
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Adds a linked worktree `name` at `path` with `branch` (which must exist) checked out.
    pub fn add_worktree(&self, name: &str, path: &Path, branch: &str) -> Result<(), GitError> {
        let action = format!("add worktree `{name}` at {} on `{branch}`", path.display());
        if path.exists() {
            return Err(self.refused(action, "the path already exists"));
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| GitError::Io {
                path: parent.to_owned(),
                action: "create the worktree's parent directory".into(),
                source,
            })?;
        }
        let reference = self
            .inner
            .find_reference(&format!("refs/heads/{branch}"))
            .map_err(self.err(format!("find branch `{branch}`")))?;
        let mut opts = git2::WorktreeAddOptions::new();
        opts.reference(Some(&reference));
        self.inner
            .worktree(name, path, Some(&opts))
            .map_err(self.err(action))?;
        Ok(())
    }

    /// Unregisters worktree `name` and deletes its directory. Callers rescue work first:
    /// see [`Repo::snapshot_uncommitted`].
    pub fn remove_worktree(&self, name: &str) -> Result<(), GitError> {
        let action = format!("remove worktree `{name}`");
        let wt = self
            .inner
            .find_worktree(name)
            .map_err(self.err(action.clone()))?;
        let mut opts = git2::WorktreePruneOptions::new();
        opts.valid(true).working_tree(true).locked(false);
        wt.prune(Some(&mut opts)).map_err(self.err(action))?;
        Ok(())
    }

    /// Forgets a worktree whose directory is gone (`git worktree prune` for one entry).
    pub fn prune_stale_worktree(&self, name: &str) -> Result<(), GitError> {
        let action = format!("prune stale worktree `{name}`");
        let wt = self
            .inner
            .find_worktree(name)
            .map_err(self.err(action.clone()))?;
        let mut opts = git2::WorktreePruneOptions::new();
        opts.valid(false).working_tree(false).locked(false);
        wt.prune(Some(&mut opts)).map_err(self.err(action))?;
        Ok(())
    }

    /// Records everything uncommitted in this (worktree) repository — staged, modified,
    /// deleted and untracked files, not ignored ones — as a commit on top of HEAD, without
    /// touching HEAD, the branch, the index file or any file. Returns the commit, or `None`
    /// when there is nothing to record.
    pub fn snapshot_uncommitted(&self, message: &str) -> Result<Option<ObjectId>, GitError> {
        if self.status()?.is_empty() {
            return Ok(None);
        }
        let head = self.head()?;
        let mut index = self.inner.index().map_err(self.err("read the index"))?;
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .map_err(self.err("stage the working tree in memory"))?;
        index
            .update_all(["*"], None)
            .map_err(self.err("record deletions in memory"))?;
        let tree_oid = index
            .write_tree_to(&self.inner)
            .map_err(self.err("write the rescue tree"))?;
        let tree = self
            .inner
            .find_tree(tree_oid)
            .map_err(self.err("read the rescue tree"))?;
        let parents = match &head.oid {
            Some(oid) => vec![self.find_commit(oid)?],
            None => Vec::new(),
        };
        let parent_refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
        let sig = git2::Signature::now(super::ORCH_NAME, super::ORCH_EMAIL)
            .map_err(self.err("make orch's signature"))?;
        let oid = self
            .inner
            .commit(None, &sig, &sig, message, &tree, &parent_refs)
            .map_err(self.err("write the rescue commit"))?;
        Ok(Some(oid.to_string()))
    }
}

//! Working-tree state: changed files, operations in progress, dirty submodules.

use super::{GitError, QuickStatus, Repo};
use serde::Serialize;

/// One path that is not clean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusEntry {
    pub path: String,
    /// `staged`, `modified`, `untracked`, `conflicted`, or `submodule`.
    pub kind: &'static str,
}

/// A multi-step operation git has not finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InProgress {
    Merge,
    Rebase,
    CherryPick,
    Revert,
    Bisect,
    Am,
}

impl InProgress {
    pub fn name(self) -> &'static str {
        match self {
            InProgress::Merge => "merge",
            InProgress::Rebase => "rebase",
            InProgress::CherryPick => "cherry-pick",
            InProgress::Revert => "revert",
            InProgress::Bisect => "bisect",
            InProgress::Am => "am",
        }
    }
}

/// A change recorded in the index (not committed yet).
const STAGED: git2::Status = git2::Status::INDEX_NEW
    .union(git2::Status::INDEX_MODIFIED)
    .union(git2::Status::INDEX_DELETED)
    .union(git2::Status::INDEX_RENAMED)
    .union(git2::Status::INDEX_TYPECHANGE);

impl Repo {
    /// Every staged, modified, conflicted or untracked (not ignored) path.
    ///
    /// A clean tree is proven clean by [`Repo::quick_status`], as fast as `git status`; when
    /// that is not sure, libgit2's full status ([`Repo::full_status`]) gives the answer.
    pub fn status(&self) -> Result<Vec<StatusEntry>, GitError> {
        let started = std::time::Instant::now();
        let quick = self.quick_status()?;
        tracing::debug!(elapsed = ?started.elapsed(), outcome = ?quick, "quick status");
        match quick {
            QuickStatus::Clean { .. } => Ok(Vec::new()),
            QuickStatus::Unsure { .. } => {
                let started = std::time::Instant::now();
                let full = self.full_status();
                tracing::debug!(elapsed = ?started.elapsed(), "full status");
                full
            }
        }
    }

    /// libgit2's status of the whole tree (the oracle the quick check is tested against).
    pub fn full_status(&self) -> Result<Vec<StatusEntry>, GitError> {
        let mut opts = git2::StatusOptions::new();
        opts.include_untracked(true)
            .recurse_untracked_dirs(false)
            .include_ignored(false)
            .exclude_submodules(false)
            .renames_head_to_index(false);
        let statuses = self
            .inner
            .statuses(Some(&mut opts))
            .map_err(self.err("read the working tree status"))?;
        if statuses.is_empty() {
            return Ok(Vec::new());
        }
        let submodules: Vec<String> = self
            .inner
            .submodules()
            .map(|subs| {
                subs.iter()
                    .map(|s| s.path().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let mut out = Vec::new();
        for entry in statuses.iter() {
            let s = entry.status();
            let path = String::from_utf8_lossy(entry.path_bytes()).into_owned();
            let kind = if s.is_conflicted() {
                "conflicted"
            } else if submodules.iter().any(|p| p == path.trim_end_matches('/')) {
                "submodule"
            } else if s.intersects(STAGED) {
                "staged"
            } else if s.is_wt_new() {
                "untracked"
            } else if s.intersects(
                git2::Status::WT_MODIFIED
                    | git2::Status::WT_DELETED
                    | git2::Status::WT_RENAMED
                    | git2::Status::WT_TYPECHANGE,
            ) {
                "modified"
            } else {
                continue;
            };
            out.push(StatusEntry { path, kind });
        }
        Ok(out)
    }

    /// How one file differs from what is committed: `None` when it is as committed, else
    /// `staged`, `modified` or `untracked` (`rel` is relative to the worktree root).
    pub fn file_status(&self, rel: &std::path::Path) -> Result<Option<&'static str>, GitError> {
        let s = self
            .inner
            .status_file(rel)
            .map_err(self.err("read the status of a file"))?;
        Ok(if s.is_empty() {
            None
        } else if s.is_wt_new() || s.is_ignored() {
            Some("untracked")
        } else if s.intersects(STAGED) {
            Some("staged")
        } else {
            Some("modified")
        })
    }

    /// The operation in progress in this worktree, if any.
    pub fn in_progress(&self) -> Option<InProgress> {
        use git2::RepositoryState as S;
        match self.inner.state() {
            S::Clean => None,
            S::Merge => Some(InProgress::Merge),
            S::Revert | S::RevertSequence => Some(InProgress::Revert),
            S::CherryPick | S::CherryPickSequence => Some(InProgress::CherryPick),
            S::Bisect => Some(InProgress::Bisect),
            S::Rebase | S::RebaseInteractive | S::RebaseMerge => Some(InProgress::Rebase),
            S::ApplyMailbox | S::ApplyMailboxOrRebase => Some(InProgress::Am),
        }
    }
}

//! What changed between two commits (or in a working tree): commits, stats, patches.

use super::{GitError, ObjectId, Repo};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitInfo {
    pub oid: ObjectId,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedFile {
    pub path: String,
    /// `added`, `deleted`, `modified`, `renamed`, `copied`, `typechange`.
    pub status: String,
    pub additions: usize,
    pub deletions: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffStat {
    pub files_changed: usize,
    pub insertions: usize,
    pub deletions: usize,
    pub files: Vec<ChangedFile>,
}

impl Repo {
    /// Commits reachable from `head` but not from `base`, oldest first.
    pub fn commits_between(&self, base: &str, head: &str) -> Result<Vec<CommitInfo>, GitError> {
        let action = format!("list commits {base}..{head}");
        let mut walk = self.inner.revwalk().map_err(self.err(action.clone()))?;
        walk.push(self.oid(head)?)
            .map_err(self.err(action.clone()))?;
        walk.hide(self.oid(base)?)
            .map_err(self.err(action.clone()))?;
        walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
            .map_err(self.err(action.clone()))?;
        let mut out = Vec::new();
        for oid in walk {
            let oid = oid.map_err(self.err(action.clone()))?;
            let commit = self
                .inner
                .find_commit(oid)
                .map_err(self.err(action.clone()))?;
            out.push(CommitInfo {
                oid: oid.to_string(),
                summary: commit.summary().unwrap_or_default().to_owned(),
            });
        }
        Ok(out)
    }

    fn tree_diff(&self, base: &str, head: &str) -> Result<git2::Diff<'_>, GitError> {
        let action = format!("diff {base}..{head}");
        let a = self
            .find_commit(base)?
            .tree()
            .map_err(self.err(action.clone()))?;
        let b = self
            .find_commit(head)?
            .tree()
            .map_err(self.err(action.clone()))?;
        let mut diff = self
            .inner
            .diff_tree_to_tree(Some(&a), Some(&b), None)
            .map_err(self.err(action.clone()))?;
        diff.find_similar(None).map_err(self.err(action))?;
        Ok(diff)
    }

    /// Files changed from `base` to `head`, with line counts.
    pub fn diff_stat(&self, base: &str, head: &str) -> Result<DiffStat, GitError> {
        let diff = self.tree_diff(base, head)?;
        self.stat_of(&diff, &format!("diffstat {base}..{head}"))
    }

    /// What commit `oid` itself changed, as a patch against its first parent (against
    /// nothing for a root commit).
    pub fn commit_patch(&self, oid: &str) -> Result<String, GitError> {
        let action = format!("patch of {oid}");
        let commit = self.find_commit(oid)?;
        let tree = commit.tree().map_err(self.err(action.clone()))?;
        let parent = match commit.parent(0) {
            Ok(p) => Some(p.tree().map_err(self.err(action.clone()))?),
            Err(_) => None,
        };
        let diff = self
            .inner
            .diff_tree_to_tree(parent.as_ref(), Some(&tree), None)
            .map_err(self.err(action.clone()))?;
        self.patch_of(&diff, &action)
    }

    /// The unified patch from `base` to `head` (as `git diff base head`).
    pub fn patch(&self, base: &str, head: &str) -> Result<String, GitError> {
        let diff = self.tree_diff(base, head)?;
        self.patch_of(&diff, &format!("patch {base}..{head}"))
    }

    /// Uncommitted changes of this working tree against HEAD, untracked files included,
    /// as a patch and a stat. `None` when the tree is clean.
    pub fn uncommitted_diff(&self) -> Result<Option<(String, DiffStat)>, GitError> {
        if self.status()?.is_empty() {
            return Ok(None);
        }
        let action = "diff the working tree against HEAD";
        let head_tree = match self.head()?.oid {
            Some(oid) => Some(self.find_commit(&oid)?.tree().map_err(self.err(action))?),
            None => None,
        };
        let mut opts = git2::DiffOptions::new();
        opts.include_untracked(true)
            .recurse_untracked_dirs(true)
            .show_untracked_content(true);
        let diff = self
            .inner
            .diff_tree_to_workdir_with_index(head_tree.as_ref(), Some(&mut opts))
            .map_err(self.err(action))?;
        Ok(Some((
            self.patch_of(&diff, action)?,
            self.stat_of(&diff, action)?,
        )))
    }

    fn stat_of(&self, diff: &git2::Diff<'_>, action: &str) -> Result<DiffStat, GitError> {
        let mut stat = DiffStat::default();
        for idx in 0..diff.deltas().len() {
            let delta = diff.get_delta(idx).expect("delta index in range");
            let path = delta
                .new_file()
                .path()
                .or_else(|| delta.old_file().path())
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            let (additions, deletions) = match git2::Patch::from_diff(diff, idx) {
                Ok(Some(p)) => p
                    .line_stats()
                    .map(|(_, a, d)| (a, d))
                    .map_err(self.err(action.to_owned()))?,
                Ok(None) => (0, 0),
                Err(e) => return Err(self.err(action.to_owned())(e)),
            };
            let status = match delta.status() {
                git2::Delta::Added | git2::Delta::Untracked => "added",
                git2::Delta::Deleted => "deleted",
                git2::Delta::Renamed => "renamed",
                git2::Delta::Copied => "copied",
                git2::Delta::Typechange => "typechange",
                _ => "modified",
            };
            stat.insertions += additions;
            stat.deletions += deletions;
            stat.files.push(ChangedFile {
                path,
                status: status.to_owned(),
                additions,
                deletions,
            });
        }
        stat.files_changed = stat.files.len();
        Ok(stat)
    }

    fn patch_of(&self, diff: &git2::Diff<'_>, action: &str) -> Result<String, GitError> {
        let mut out = Vec::new();
        diff.print(git2::DiffFormat::Patch, |_, _, line| {
            if matches!(line.origin(), '+' | '-' | ' ') {
                out.push(line.origin() as u8);
            }
            out.extend_from_slice(line.content());
            true
        })
        .map_err(self.err(action.to_owned()))?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

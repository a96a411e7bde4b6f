//! Replaying a branch's own commits onto a new base (a restack): each commit cherry-picked
//! in memory onto the last, its author and message kept, nothing checked out and no ref
//! moved. What a dependent of a fixed issue needs to sit on its blocker's new head.

use super::{GitError, ObjectId, Repo};

impl Repo {
    /// The commits `from..tip` (oldest first) replayed onto `onto`: the new tip, or `None`
    /// when one of them conflicts there or is a merge (nothing is written that a ref names).
    pub fn replay(&self, from: &str, tip: &str, onto: &str) -> Result<Option<ObjectId>, GitError> {
        let action = || format!("replay {from}..{tip} onto {onto}");
        let mut walk = self.inner.revwalk().map_err(self.err(action()))?;
        walk.push(self.oid(tip)?).map_err(self.err(action()))?;
        walk.hide(self.oid(from)?).map_err(self.err(action()))?;
        walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
            .map_err(self.err(action()))?;
        let mut base = self.find_commit(onto)?;
        // The committer is whoever replays (as `git rebase` has it), else the original's.
        let replayer = self.inner.signature().ok();
        for oid in walk {
            let oid = oid.map_err(self.err(action()))?;
            let commit = self.inner.find_commit(oid).map_err(self.err(action()))?;
            if commit.parent_count() != 1 {
                return Ok(None);
            }
            let mut index = (self.inner)
                .cherrypick_commit(&commit, &base, 0, None)
                .map_err(self.err(action()))?;
            if index.has_conflicts() {
                return Ok(None);
            }
            let tree = index
                .write_tree_to(&self.inner)
                .and_then(|t| self.inner.find_tree(t))
                .map_err(self.err(action()))?;
            let committer = (replayer.clone()).unwrap_or_else(|| commit.committer().to_owned());
            let message = commit.message_raw().unwrap_or_default();
            let new = (self.inner)
                .commit(None, &commit.author(), &committer, message, &tree, &[&base])
                .map_err(self.err(action()))?;
            base = self.inner.find_commit(new).map_err(self.err(action()))?;
        }
        Ok(Some(base.id().to_string()))
    }
}

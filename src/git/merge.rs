//! Combining branch tips: the base of a task that depends on several finished tasks is one
//! commit holding all their work (an octopus merge orch makes itself), so the agent starts
//! from everything it builds on.

use super::{GitError, ObjectId, Repo};

impl Repo {
    /// A merge commit of `tips` (parents in that order) whose tree is their three-way merge,
    /// written to the object database only (no ref moves, no working tree). `None` when the
    /// tips conflict. One tip — or tips that all lie in one tip's history — is returned as
    /// is. The same tips and message always give the same commit.
    pub fn merge_tips(
        &self,
        tips: &[ObjectId],
        message: &str,
    ) -> Result<Option<ObjectId>, GitError> {
        let action = || format!("merge {}", tips.join(", "));
        if tips.is_empty() {
            return Err(self.refused(action(), "nothing to merge"));
        }
        // A tip that another tip already holds (the same commit, or an ancestor) adds
        // nothing: it is left out, and one tip left needs no merge commit.
        let mut oids: Vec<git2::Oid> = Vec::new();
        for tip in tips {
            let oid = self.oid(tip)?;
            if !oids.contains(&oid) {
                oids.push(oid);
            }
        }
        let mut kept = Vec::new();
        for &oid in &oids {
            let mut redundant = false;
            for &other in oids.iter().filter(|o| **o != oid) {
                if self
                    .inner
                    .graph_descendant_of(other, oid)
                    .map_err(self.err(action()))?
                {
                    redundant = true;
                    break;
                }
            }
            if !redundant {
                kept.push(oid);
            }
        }
        if let [only] = kept.as_slice() {
            return Ok(Some(only.to_string()));
        }
        let mut commits = Vec::new();
        for oid in kept {
            commits.push(self.inner.find_commit(oid).map_err(self.err(action()))?);
        }
        let mut tree = commits[0].tree().map_err(self.err(action()))?;
        let mut so_far = vec![commits[0].id()];
        for theirs in &commits[1..] {
            // The common ancestor of everything merged so far and the next tip.
            let mut bases = so_far.clone();
            bases.push(theirs.id());
            let ancestor = match self.inner.merge_base_many(&bases) {
                Ok(base) => Some(
                    self.inner
                        .find_commit(base)
                        .and_then(|c| c.tree())
                        .map_err(self.err(action()))?,
                ),
                Err(e) if e.code() == git2::ErrorCode::NotFound => None,
                Err(e) => return Err(self.err(action())(e)),
            };
            let their_tree = theirs.tree().map_err(self.err(action()))?;
            let mut index = self
                .inner
                .merge_trees(ancestor.as_ref().unwrap_or(&tree), &tree, &their_tree, None)
                .map_err(self.err(action()))?;
            if index.has_conflicts() {
                return Ok(None);
            }
            let oid = index
                .write_tree_to(&self.inner)
                .map_err(self.err(action()))?;
            tree = self.inner.find_tree(oid).map_err(self.err(action()))?;
            so_far.push(theirs.id());
        }
        // Dated like the newest tip, not now: the same tips and message give the same
        // commit, so a resumed task finds the base its branch was made from.
        let when = commits.iter().map(|c| c.committer().when()).fold(
            commits[0].committer().when(),
            |a, b| {
                if b.seconds() > a.seconds() {
                    b
                } else {
                    a
                }
            },
        );
        let sig = git2::Signature::new(super::ORCH_NAME, super::ORCH_EMAIL, &when)
            .map_err(self.err(action()))?;
        let parents: Vec<&git2::Commit<'_>> = commits.iter().collect();
        let oid = self
            .inner
            .commit(None, &sig, &sig, message, &tree, &parents)
            .map_err(self.err(action()))?;
        Ok(Some(oid.to_string()))
    }
}

//! Committing files of the working tree on the branch checked out, as `git add` and
//! `git commit` would: what `orch init --commit` records.

use super::{GitError, ObjectId, Repo};
use std::path::Path;

impl Repo {
    /// Commits `paths` (relative to the working tree, as they are there now) on HEAD's
    /// branch with `message`, by the user's configured identity; the index is updated for
    /// them. Refused while the index holds other staged changes, which the commit would
    /// otherwise take along. `None` when the paths hold nothing new.
    pub fn commit_files(
        &self,
        paths: &[&Path],
        message: &str,
    ) -> Result<Option<ObjectId>, GitError> {
        let action = || {
            let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            format!("commit {}", names.join(", "))
        };
        let mut index = self.inner.index().map_err(self.err(action()))?;
        let head = self.inner.head().ok().and_then(|h| h.peel_to_commit().ok());
        let head_tree = head
            .as_ref()
            .map(|c| c.tree())
            .transpose()
            .map_err(self.err(action()))?;
        let staged = self
            .inner
            .diff_tree_to_index(head_tree.as_ref(), Some(&index), None)
            .map_err(self.err(action()))?;
        let others: Vec<String> = staged
            .deltas()
            .filter_map(|d| d.new_file().path().map(Path::to_owned))
            .filter(|p| !paths.iter().any(|q| p == *q))
            .map(|p| p.display().to_string())
            .collect();
        if !others.is_empty() {
            return Err(self.refused(
                action(),
                format!(
                    "other changes are staged ({}); commit or unstage them first",
                    others.join(", ")
                ),
            ));
        }
        for path in paths {
            index.add_path(path).map_err(self.err(action()))?;
        }
        index.write().map_err(self.err(action()))?;
        let tree_id = index.write_tree().map_err(self.err(action()))?;
        if head_tree.as_ref().is_some_and(|t| t.id() == tree_id) {
            return Ok(None);
        }
        let tree = self.inner.find_tree(tree_id).map_err(self.err(action()))?;
        let signature = self.user_signature().ok_or_else(|| {
            self.refused(
                action(),
                "git does not know who you are: set `git config user.name` and `user.email` (or GIT_AUTHOR_NAME and GIT_AUTHOR_EMAIL)",
            )
        })?;
        let parents: Vec<&git2::Commit<'_>> = head.iter().collect();
        let oid = self
            .inner
            .commit(
                Some("HEAD"),
                &signature,
                &signature,
                message,
                &tree,
                &parents,
            )
            .map_err(self.err(action()))?;
        Ok(Some(oid.to_string()))
    }
}

impl Repo {
    /// Who commits, as git would say: GIT_AUTHOR_NAME/EMAIL, else `user.name`/`user.email`.
    fn user_signature(&self) -> Option<git2::Signature<'static>> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let config = self.inner.config().ok();
        let from_config = |k: &str| {
            config
                .as_ref()
                .and_then(|c| c.get_string(k).ok())
                .filter(|v| !v.is_empty())
        };
        let name = env("GIT_AUTHOR_NAME").or_else(|| from_config("user.name"))?;
        let email = env("GIT_AUTHOR_EMAIL").or_else(|| from_config("user.email"))?;
        git2::Signature::now(&name, &email).ok()
    }
}

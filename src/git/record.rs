//! Records written as git objects: a commit whose tree holds files given in memory,
//! with no index and no checkout. What `orch work` leaves at a result ref for the orch that
//! dispatched it (a runner's logs and records travel by `git push`, with the branch).

use super::{GitError, ObjectId, Repo};
use std::collections::BTreeMap;

/// A directory being built: its files and subdirectories by name.
#[derive(Default)]
struct Dir {
    files: BTreeMap<String, git2::Oid>,
    dirs: BTreeMap<String, Dir>,
}

impl Repo {
    /// A commit of `files` (`a/b.json` → bytes) with `message`, by orch (the user's identity
    /// when git has one), on `parent` (else an orphan): its id. No ref is moved.
    pub fn record_commit(
        &self,
        files: &[(String, Vec<u8>)],
        message: &str,
        parent: Option<&str>,
    ) -> Result<ObjectId, GitError> {
        let action = || format!("record {} file(s) as a commit", files.len());
        let mut root = Dir::default();
        for (path, bytes) in files {
            let blob = self.inner.blob(bytes).map_err(self.err(action()))?;
            let mut parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
            let Some(name) = parts.pop() else {
                continue;
            };
            let mut dir = &mut root;
            for part in parts {
                dir = dir.dirs.entry(part.to_owned()).or_default();
            }
            dir.files.insert(name.to_owned(), blob);
        }
        let tree = self.write_dir(&root).map_err(self.err(action()))?;
        let tree = self.inner.find_tree(tree).map_err(self.err(action()))?;
        let signature = self
            .inner
            .signature()
            .or_else(|_| git2::Signature::now(super::ORCH_NAME, super::ORCH_EMAIL))
            .map_err(self.err(action()))?;
        let parent = parent.map(|p| self.find_commit(p)).transpose()?;
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        let oid = (self.inner)
            .commit(None, &signature, &signature, message, &tree, &parents)
            .map_err(self.err(action()))?;
        Ok(oid.to_string())
    }

    fn write_dir(&self, dir: &Dir) -> Result<git2::Oid, git2::Error> {
        let mut builder = self.inner.treebuilder(None)?;
        for (name, blob) in &dir.files {
            builder.insert(name, *blob, 0o100644)?;
        }
        for (name, sub) in &dir.dirs {
            let tree = self.write_dir(sub)?;
            builder.insert(name, tree, 0o040000)?;
        }
        builder.write()
    }
}

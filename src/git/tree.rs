//! Reading a commit's tree straight from the object database (no checkout): the files it
//! holds with their sizes, a blob's bytes, and whether a path is ignored.

use super::{GitError, ObjectId, Repo};
use std::path::Path;

/// One regular file (or executable) of a commit's tree. Symlinks and submodules are left out:
/// they have no content of their own to map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeFile {
    /// Slash-separated path from the tree's root (lossy UTF-8 for other names).
    pub path: String,
    /// The blob's size in bytes.
    pub size: u64,
    pub oid: ObjectId,
}

const MODE_BLOB: i32 = 0o100644;
const MODE_BLOB_EXECUTABLE: i32 = 0o100755;
/// Old repositories may record group-writable files.
const MODE_BLOB_GROUP_WRITABLE: i32 = 0o100664;

impl Repo {
    /// The tree id of `commit` (any revision that peels to a commit).
    pub fn commit_tree(&self, commit: &str) -> Result<ObjectId, GitError> {
        let obj = self
            .inner
            .revparse_single(commit)
            .map_err(self.err(format!("resolve `{commit}`")))?;
        let commit_obj = obj
            .peel_to_commit()
            .map_err(self.err(format!("peel `{commit}` to a commit")))?;
        Ok(commit_obj.tree_id().to_string())
    }

    /// Every regular file of `commit`'s tree, in git's tree order (path order, with a
    /// directory sorting as if its name ended in `/`), with its size read from the object
    /// header (the blob itself is not inflated).
    pub fn tree_files(&self, commit: &str) -> Result<Vec<TreeFile>, GitError> {
        let tree_id = self.commit_tree(commit)?;
        let tree = self
            .inner
            .find_tree(self.oid(&tree_id)?)
            .map_err(self.err(format!("read tree {tree_id} of `{commit}`")))?;
        let odb = self
            .inner
            .odb()
            .map_err(self.err("open the object database"))?;
        let mut files = Vec::new();
        let mut failure: Option<GitError> = None;
        let walked = tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            let mode = entry.filemode();
            if !matches!(
                mode,
                MODE_BLOB | MODE_BLOB_EXECUTABLE | MODE_BLOB_GROUP_WRITABLE
            ) {
                return git2::TreeWalkResult::Ok;
            }
            let name = String::from_utf8_lossy(entry.name_bytes());
            let path = format!("{dir}{name}");
            match odb.read_header(entry.id()) {
                Ok((size, _)) => {
                    files.push(TreeFile {
                        path,
                        size: size as u64,
                        oid: entry.id().to_string(),
                    });
                    git2::TreeWalkResult::Ok
                }
                Err(source) => {
                    failure = Some(GitError::Git {
                        repo: self.root.clone(),
                        action: format!("read the size of `{path}` ({}) in `{commit}`", entry.id()),
                        source,
                    });
                    git2::TreeWalkResult::Abort
                }
            }
        });
        if let Some(e) = failure {
            return Err(e);
        }
        walked.map_err(self.err(format!("walk tree {tree_id} of `{commit}`")))?;
        Ok(files)
    }

    /// The bytes of blob `oid`.
    pub fn blob(&self, oid: &str) -> Result<Vec<u8>, GitError> {
        let blob = self
            .inner
            .find_blob(self.oid(oid)?)
            .map_err(self.err(format!("read blob {oid}")))?;
        Ok(blob.content().to_vec())
    }

    /// Whether git ignores `path` (relative to the working directory), by any of its rules:
    /// `.gitignore` files, `info/exclude` and `core.excludesFile`.
    pub fn is_ignored(&self, path: &Path) -> Result<bool, GitError> {
        self.inner
            .is_path_ignored(path)
            .map_err(self.err(format!("check whether `{}` is ignored", path.display())))
    }

    /// Whether an ignore-file entry (`/logs/orch/`, `/TASKS.md`) is ignored already: the path
    /// itself, or, for a directory entry, what would be in it (a rule may name its contents).
    pub fn ignores_entry(&self, entry: &str) -> Result<bool, GitError> {
        let rel = entry.trim_start_matches('/');
        if self.is_ignored(Path::new(rel.trim_end_matches('/')))? {
            return Ok(true);
        }
        Ok(rel.ends_with('/') && self.is_ignored(Path::new(&format!("{rel}orch-probe")))?)
    }
}

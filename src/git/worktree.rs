//! Linked worktrees: list, add, and remove without ever losing uncommitted work.

use super::{checkout, GitError, ObjectId, Repo};
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

/// The lock reason of a worktree whose files are being deleted.
pub const REMOVING: &str = "orch: removing";

impl Repo {
    /// Every linked worktree registered in this repository.
    pub fn worktrees(&self) -> Result<Vec<WorktreeEntry>, GitError> {
        let names = self.inner.worktrees().map_err(self.err("list worktrees"))?;
        let mut out = Vec::new();
        for name in names.iter().flatten() {
            let Some(wt) = self.read_worktree(name)? else {
                continue;
            };
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
    ///
    /// A plain checkout takes orch's own, parallel path (see `checkout.rs` for why it
    /// exists); anything else (filters, sparse checkout, unusual paths…) goes through
    /// libgit2's `git_worktree_add`.
    pub fn add_worktree(&self, name: &str, path: &Path, branch: &str) -> Result<(), GitError> {
        let action = format!("add worktree `{name}` at {} on `{branch}`", path.display());
        self.new_worktree_path(path, &action)?;
        let reference = self
            .inner
            .find_reference(&format!("refs/heads/{branch}"))
            .map_err(self.err(format!("find branch `{branch}`")))?;
        let tree = reference
            .peel_to_tree()
            .map_err(self.err(format!("read the tree of `{branch}`")))?;
        if let Some(plan) = checkout::plan(&self.inner, &tree, &self.root)? {
            return self.add_worktree_fast(name, path, Head::Branch(branch), &plan, action);
        }
        let mut opts = git2::WorktreeAddOptions::new();
        opts.reference(Some(&reference));
        self.inner
            .worktree(name, path, Some(&opts))
            .map_err(self.err(action))?;
        Ok(())
    }

    /// A new worktree's path must not exist; its parent is made.
    fn new_worktree_path(&self, path: &Path, action: &str) -> Result<(), GitError> {
        if path.exists() {
            return Err(self.refused(action.to_owned(), "the path already exists"));
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| GitError::Io {
                path: parent.to_owned(),
                action: "create the worktree's parent directory".into(),
                source,
            })?;
        }
        Ok(())
    }

    /// Adds a linked worktree `name` at `path` with HEAD detached at commit `oid`: a clean
    /// checkout of exactly that commit, no branch made or moved (the clean room of a
    /// verification). Only orch's own checkout path does this; a tree it cannot write
    /// (filters, sparse checkout) is refused.
    pub fn add_detached_worktree(
        &self,
        name: &str,
        path: &Path,
        oid: &str,
    ) -> Result<(), GitError> {
        let action = format!(
            "add worktree `{name}` at {} detached at {oid}",
            path.display()
        );
        self.new_worktree_path(path, &action)?;
        let tree = self
            .find_commit(oid)?
            .tree()
            .map_err(self.err(format!("read the tree of {oid}")))?;
        match checkout::plan(&self.inner, &tree, &self.root)? {
            Some(plan) => self.add_worktree_fast(name, path, Head::Detached(oid), &plan, action),
            None => Err(self.refused(
                action,
                "its files need checkout filters or attributes orch's own checkout does not apply",
            )),
        }
    }

    /// `git worktree add` without its `reset --hard`: registers the worktree exactly as git
    /// does (locked as "initializing" meanwhile), then writes the files and the index with
    /// [`checkout::populate`]. On failure, nothing is left behind.
    fn add_worktree_fast(
        &self,
        name: &str,
        path: &Path,
        head: Head<'_>,
        plan: &checkout::Plan,
        action: String,
    ) -> Result<(), GitError> {
        if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
            return Err(self.refused(action, format!("`{name}` is not a valid worktree name")));
        }
        if let Head::Branch(branch) = head {
            if let Some(at) = self.checked_out_at(branch)? {
                return Err(self.refused(
                    action,
                    format!(
                        "branch `{branch}` is already checked out at {}",
                        at.display()
                    ),
                ));
            }
        }
        let io = |path: &Path, what: &str| {
            let (path, action) = (path.to_owned(), what.to_owned());
            move |source| GitError::Io {
                path,
                action,
                source,
            }
        };
        let common = self.common_dir();
        let admins = common.join("worktrees");
        std::fs::create_dir_all(&admins).map_err(io(&admins, "create the worktrees directory"))?;
        let admin = admins.join(name);
        std::fs::create_dir(&admin).map_err(io(&admin, "create the worktree's admin directory"))?;
        let mut undo = Undo {
            admin: Some(admin.clone()),
            workdir: None,
        };
        let write = |file: PathBuf, contents: &[u8]| {
            std::fs::write(&file, contents).map_err(io(&file, "write worktree metadata"))
        };
        write(admin.join("locked"), b"initializing\n")?;
        create_workdir(path).map_err(io(path, "create the worktree directory"))?;
        undo.workdir = Some(path.to_owned());
        let workdir = path
            .canonicalize()
            .map_err(io(path, "resolve the worktree directory"))?;
        let line = |parts: &[&[u8]]| [parts.concat(), b"\n".to_vec()].concat();
        write(
            workdir.join(".git"),
            &line(&[b"gitdir: ", admin.as_os_str().as_encoded_bytes()]),
        )?;
        write(admin.join("commondir"), b"../..\n")?;
        write(
            admin.join("gitdir"),
            &line(&[workdir.join(".git").as_os_str().as_encoded_bytes()]),
        )?;
        let head_line = match head {
            Head::Branch(branch) => line(&[b"ref: refs/heads/", branch.as_bytes()]),
            Head::Detached(oid) => line(&[oid.as_bytes()]),
        };
        write(admin.join("HEAD"), &head_line)?;
        checkout::populate(&common, &workdir, plan, &admin.join("index"))?;
        let lock = admin.join("locked");
        std::fs::remove_file(&lock).map_err(io(&lock, "unlock the new worktree"))?;
        undo.admin = None;
        undo.workdir = None;
        Ok(())
    }
}

/// What a new worktree's HEAD is.
#[derive(Clone, Copy)]
enum Head<'a> {
    Branch(&'a str),
    Detached(&'a str),
}

impl Repo {
    /// Where `branch` is checked out: the main worktree or a linked one (as libgit2 checks
    /// before adding a worktree).
    pub fn checked_out_at(&self, branch: &str) -> Result<Option<PathBuf>, GitError> {
        let main = git2::Repository::open(self.inner.commondir())
            .map_err(self.err("open the main worktree"))?;
        if !main.is_bare() {
            let target = main
                .find_reference("HEAD")
                .ok()
                .and_then(|h| h.symbolic_target().map(str::to_owned));
            if target.as_deref() == Some(&format!("refs/heads/{branch}")) {
                return Ok(Some(self.main_root()));
            }
        }
        Ok(self
            .worktrees()?
            .into_iter()
            .find(|wt| wt.branch.as_deref() == Some(branch))
            .map(|wt| wt.path))
    }

    /// Unregisters worktree `name` and deletes its directory. Callers rescue work first:
    /// see [`Repo::snapshot_uncommitted`].
    ///
    /// When the directory's `.git` file points back at this worktree (as it does for any
    /// worktree git or orch made), the files are deleted from several threads before libgit2
    /// unregisters it; anything unusual is left to libgit2's prune, as before.
    pub fn remove_worktree(&self, name: &str) -> Result<(), GitError> {
        let action = format!("remove worktree `{name}`");
        let wt = self
            .inner
            .find_worktree(name)
            .map_err(self.err(action.clone()))?;
        if let Ok(git2::WorktreeLockStatus::Locked(reason)) = wt.is_locked() {
            let reason = reason.filter(|r| !r.trim().is_empty());
            return Err(self.refused(
                action,
                format!(
                    "it is locked ({})",
                    reason.as_deref().unwrap_or("no reason given").trim()
                ),
            ));
        }
        let workdir = wt.path().to_owned();
        let admin = self.inner.commondir().join("worktrees").join(name);
        // Marked while its files go: a removal cut off by a crash is recognisable (and
        // finished by `discard_unfinished_worktree`), never mistaken for a worktree whose
        // files the user deleted.
        wt.lock(Some(REMOVING)).map_err(self.err(action.clone()))?;
        if points_back(&workdir, &admin) {
            checkout::remove_tree(&workdir)?;
        }
        let mut opts = git2::WorktreePruneOptions::new();
        opts.valid(true).working_tree(true).locked(true);
        wt.prune(Some(&mut opts)).map_err(self.err(action))?;
        Ok(())
    }

    /// Worktree `name` of a listing, read while other tasks of the run may be adding or
    /// removing worktrees: one removed since the listing is `None`; one half made (its
    /// admin directory there, its files not yet) is read again, a bounded number of times.
    fn read_worktree(&self, name: &str) -> Result<Option<git2::Worktree>, GitError> {
        let admin = self.inner.commondir().join("worktrees").join(name);
        let mut tries = 0;
        loop {
            match self.inner.find_worktree(name) {
                Ok(wt) => return Ok(Some(wt)),
                Err(_) if !admin.exists() => return Ok(None),
                Err(_) if tries < 50 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(e) => return Err(self.err(format!("read worktree `{name}`"))(e)),
            }
        }
    }

    /// Why worktree `name` is locked, if it is (`""` for a lock without a reason).
    pub fn worktree_lock_reason(&self, name: &str) -> Result<Option<String>, GitError> {
        let wt = self
            .inner
            .find_worktree(name)
            .map_err(self.err(format!("read worktree `{name}`")))?;
        match wt.is_locked() {
            Ok(git2::WorktreeLockStatus::Locked(reason)) => {
                Ok(Some(reason.unwrap_or_default().trim().to_owned()))
            }
            Ok(_) => Ok(None),
            Err(e) => Err(self.err(format!("read the lock of worktree `{name}`"))(e)),
        }
    }

    /// Removes a worktree whose creation (still locked "initializing") or removal (locked
    /// [`REMOVING`]) was cut off: nothing in it is anyone's work (not yet, or not any more:
    /// a removal rescues uncommitted work before it starts deleting).
    pub fn discard_unfinished_worktree(&self, name: &str) -> Result<(), GitError> {
        let action = format!("discard the unfinished worktree `{name}`");
        if !matches!(
            self.worktree_lock_reason(name)?.as_deref(),
            Some("initializing" | REMOVING)
        ) {
            return Err(self.refused(action, "it is not an unfinished creation or removal"));
        }
        let wt = self
            .inner
            .find_worktree(name)
            .map_err(self.err(action.clone()))?;
        wt.unlock().map_err(self.err(action))?;
        self.remove_worktree(name)
    }

    /// Forgets a worktree whose directory is gone (`git worktree prune` for one entry).
    pub fn prune_stale_worktree(&self, name: &str) -> Result<(), GitError> {
        let action = format!("prune stale worktree `{name}`");
        // A removal cut off after its directory went is finished; any other lock is kept.
        let ours = self.worktree_lock_reason(name)?.as_deref() == Some(REMOVING);
        let wt = self
            .inner
            .find_worktree(name)
            .map_err(self.err(action.clone()))?;
        let mut opts = git2::WorktreePruneOptions::new();
        opts.valid(false).working_tree(false).locked(ours);
        wt.prune(Some(&mut opts)).map_err(self.err(action))?;
        Ok(())
    }

    /// Records everything uncommitted in this (worktree) repository — staged, modified,
    /// deleted and untracked files, not ignored ones — as a commit on top of HEAD, without
    /// touching HEAD, the branch, the index file or any file. Returns the commit, or `None`
    /// when there is nothing to record. When `same_as` (an earlier snapshot) already holds
    /// exactly this work on this HEAD, no commit is written and `same_as` is returned.
    pub fn snapshot_uncommitted(
        &self,
        message: &str,
        same_as: Option<&str>,
    ) -> Result<Option<ObjectId>, GitError> {
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
        let parents = match &head.oid {
            Some(oid) => vec![self.find_commit(oid)?],
            None => Vec::new(),
        };
        if let Some(earlier) = same_as.and_then(|hex| self.find_commit(hex).ok()) {
            if earlier.tree_id() == tree_oid
                && earlier.parent_ids().eq(parents.iter().map(|p| p.id()))
            {
                return Ok(Some(earlier.id().to_string()));
            }
        }
        let tree = self
            .inner
            .find_tree(tree_oid)
            .map_err(self.err("read the rescue tree"))?;
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

/// Removes what a failed [`Repo::add_worktree`] created, unless disarmed.
struct Undo {
    admin: Option<PathBuf>,
    workdir: Option<PathBuf>,
}

impl Drop for Undo {
    fn drop(&mut self) {
        // Best effort: the error being returned matters more than a leftover directory.
        if let Some(dir) = self.workdir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(dir) = self.admin.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Does `workdir/.git` name `admin` as its git directory (absolute or relative)?
fn points_back(workdir: &Path, admin: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(workdir.join(".git")) else {
        return false;
    };
    let Some(target) = text.strip_prefix("gitdir:").map(str::trim) else {
        return false;
    };
    match (workdir.join(target).canonicalize(), admin.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
/// Creates a new worktree's directory. Its parent (the milestone's directory under the
/// worktree root) may vanish meanwhile: another issue's worktree, removed at the same moment,
/// takes the then empty directory with it. Made again, and tried again.
fn create_workdir(path: &Path) -> std::io::Result<()> {
    let mut tries = 0;
    loop {
        match std::fs::create_dir(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && tries < 8 => {
                tries += 1;
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
            }
            done => return done,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_worktree_directory_whose_parent_vanished_is_made_all_the_same() {
        let dir = tempfile::tempdir().unwrap();
        // As when another issue's removal took the milestone directory with it just now.
        let path = dir.path().join("p/M1/I-5");
        super::create_workdir(&path).unwrap();
        assert!(path.is_dir());
        // One that exists is an error, as before.
        assert_eq!(
            super::create_workdir(&path).unwrap_err().kind(),
            std::io::ErrorKind::AlreadyExists
        );
    }
}

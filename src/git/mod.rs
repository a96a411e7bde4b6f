//! The git facade: the only module that imports `git2`.
//!
//! Every operation orch performs on a repository is a method here, and every failure carries
//! what was attempted, in which repository, on which ref, so the whole of orch's git
//! behaviour can be audited in one place. `git2::Repository` is not `Sync`: callers open a
//! [`Repo`] per thread or task (it is cheap) instead of sharing one.

mod checkout;
mod commit;
mod diff;
mod error;
mod merge;
mod quick_status;
mod record;
mod refs;
mod replay;
mod status;
mod tree;
mod worktree;

pub use diff::{ChangedFile, CommitInfo, DiffStat};
pub use error::{internal_cause, GitError, TaskCancelled};
pub use quick_status::{QuickStatus, MAX_CONTENT_CHECKS};
pub use status::{InProgress, StatusEntry};
pub use tree::TreeFile;
pub use worktree::{WorktreeEntry, REMOVING};

use std::path::{Path, PathBuf};

/// A full object id, as 40 hex characters.
pub type ObjectId = String;

/// Identity orch uses for the commits it makes itself (rescue commits).
pub const ORCH_NAME: &str = "orch";
pub const ORCH_EMAIL: &str = "orch@localhost";

/// An open repository (the main one, or a linked worktree of it).
pub struct Repo {
    inner: git2::Repository,
    /// The working directory (or the git dir of a bare repository).
    root: PathBuf,
}

/// Where HEAD points.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Head {
    /// The branch (short name), when HEAD is symbolic.
    pub branch: Option<String>,
    /// The commit, unless the branch is unborn.
    pub oid: Option<ObjectId>,
    pub detached: bool,
}

impl Repo {
    /// Opens exactly the repository at `path`.
    pub fn open(path: &Path) -> Result<Repo, GitError> {
        let inner = git2::Repository::open(path).map_err(|source| GitError::Git {
            repo: path.to_owned(),
            action: "open the repository".into(),
            source,
        })?;
        Ok(Repo::wrap(inner))
    }

    /// Runs `f` on the repository at `path`, freshly opened on tokio's blocking pool: libgit2
    /// calls block, and a [`Repo`] is opened per task rather than shared. A panic in `f`
    /// propagates as it would from a direct call.
    pub async fn with<T, E>(
        path: impl Into<PathBuf>,
        f: impl FnOnce(&Repo) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<GitError> + Send + 'static,
    {
        let path = path.into();
        let repo = path.clone();
        let task = tokio::task::spawn_blocking(move || f(&Repo::open(&path)?));
        match task.await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(GitError::Cancelled {
                repo,
                source: error::TaskCancelled,
            }
            .into()),
        }
    }

    fn wrap(inner: git2::Repository) -> Repo {
        let root = inner.workdir().unwrap_or_else(|| inner.path()).to_owned();
        let root = root.canonicalize().unwrap_or(root);
        Repo { inner, root }
    }

    /// The working directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The git dir shared by all worktrees (`.git` of the main worktree).
    pub fn common_dir(&self) -> PathBuf {
        let dir = self.inner.commondir();
        dir.canonicalize().unwrap_or_else(|_| dir.to_owned())
    }

    /// The URL of remote `name` (its push URL when it has one), if it exists.
    pub fn remote_url(&self, name: &str) -> Option<String> {
        let remote = self.inner.find_remote(name).ok()?;
        (remote.pushurl().or(remote.url())).map(str::to_owned)
    }

    /// The root of the main worktree, also when opened from a linked one.
    pub fn main_root(&self) -> PathBuf {
        let common = self.common_dir();
        match common.file_name() {
            Some(name) if name == ".git" => common.parent().unwrap_or(&common).to_owned(),
            _ => common,
        }
    }

    fn err(&self, action: impl Into<String>) -> impl FnOnce(git2::Error) -> GitError + '_ {
        let action = action.into();
        move |source| GitError::Git {
            repo: self.root.clone(),
            action,
            source,
        }
    }

    fn refused(&self, action: impl Into<String>, reason: impl Into<String>) -> GitError {
        GitError::Refused {
            repo: self.root.clone(),
            action: action.into(),
            reason: reason.into(),
        }
    }

    pub fn head(&self) -> Result<Head, GitError> {
        let detached = self.inner.head_detached().unwrap_or(false);
        let head_ref = self
            .inner
            .find_reference("HEAD")
            .map_err(self.err("read HEAD"))?;
        let branch = head_ref
            .symbolic_target()
            .map(|t| t.strip_prefix("refs/heads/").unwrap_or(t).to_owned());
        let oid = match self.inner.head() {
            Ok(r) => r.target().map(|o| o.to_string()),
            Err(e) if e.code() == git2::ErrorCode::UnbornBranch => None,
            Err(e) if e.code() == git2::ErrorCode::NotFound => None,
            Err(e) => return Err(self.err("resolve HEAD")(e)),
        };
        Ok(Head {
            branch: if detached { None } else { branch },
            oid,
            detached,
        })
    }

    /// Resolves a revision (`main`, `HEAD~2`, an oid) to a commit id.
    pub fn resolve_commit(&self, rev: &str) -> Result<ObjectId, GitError> {
        let obj = self
            .inner
            .revparse_single(rev)
            .map_err(self.err(format!("resolve `{rev}`")))?;
        let commit = obj
            .peel_to_commit()
            .map_err(self.err(format!("peel `{rev}` to a commit")))?;
        Ok(commit.id().to_string())
    }

    pub fn branch_exists(&self, branch: &str) -> bool {
        self.inner
            .find_branch(branch, git2::BranchType::Local)
            .is_ok()
    }

    /// The branch's tip, if the branch exists.
    pub fn branch_tip(&self, branch: &str) -> Result<Option<ObjectId>, GitError> {
        match self.inner.find_branch(branch, git2::BranchType::Local) {
            Ok(b) => Ok(b.get().target().map(|o| o.to_string())),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(self.err(format!("look up branch `{branch}`"))(e)),
        }
    }

    /// Creates `branch` at `at`; refuses to move an existing branch.
    pub fn create_branch(&self, branch: &str, at: &str) -> Result<(), GitError> {
        let action = format!("create branch `{branch}` at {at}");
        if !git2::Branch::name_is_valid(branch).unwrap_or(false) {
            return Err(self.refused(action, "not a valid branch name"));
        }
        let commit = self.find_commit(at)?;
        refs::when_unlocked(|| self.inner.branch(branch, &commit, false))
            .map_err(self.err(action))?;
        Ok(())
    }

    fn oid(&self, hex: &str) -> Result<git2::Oid, GitError> {
        git2::Oid::from_str(hex).map_err(self.err(format!("parse object id `{hex}`")))
    }

    fn find_commit(&self, hex: &str) -> Result<git2::Commit<'_>, GitError> {
        let oid = self.oid(hex)?;
        self.inner
            .find_commit(oid)
            .map_err(self.err(format!("find commit {hex}")))
    }

    /// True when `commit` is `ancestor` or descends from it.
    pub fn descends_from(&self, commit: &str, ancestor: &str) -> Result<bool, GitError> {
        if commit == ancestor {
            return Ok(true);
        }
        let (c, a) = (self.oid(commit)?, self.oid(ancestor)?);
        self.inner
            .graph_descendant_of(c, a)
            .map_err(self.err(format!("check whether {commit} descends from {ancestor}")))
    }

    /// Does the object exist in the repository (for checking pinned history)?
    pub fn has_commit(&self, hex: &str) -> bool {
        git2::Oid::from_str(hex)
            .ok()
            .and_then(|o| self.inner.find_commit(o).ok())
            .is_some()
    }
}

/// Process-wide libgit2 settings for a CLI run, set once at startup: libgit2 re-hashes every
/// object it reads (git's checkout does not), which was a quarter of orch's CPU in a worktree
/// checkout of 60,000 files. This matches what git itself verifies when it checks files out.
pub fn tune_for_cli() {
    git2::opts::strict_hash_verification(false);
}

/// Is `name` a valid full ref name (`refs/heads/x`)?
pub fn is_valid_ref_name(name: &str) -> bool {
    git2::Reference::is_valid_name(name)
}

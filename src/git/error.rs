//! The git facade's error: always says what was attempted and where.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot {action} (repository {})", repo.display())]
    Git {
        repo: PathBuf,
        action: String,
        #[source]
        source: git2::Error,
    },
    #[error("refused to {action} (repository {}): {reason}", repo.display())]
    Refused {
        repo: PathBuf,
        action: String,
        reason: String,
    },
    #[error("a git task on {} was cancelled", repo.display())]
    Cancelled {
        repo: PathBuf,
        #[source]
        source: TaskCancelled,
    },
    #[error("cannot {action} ({})", path.display())]
    Io {
        path: PathBuf,
        action: String,
        #[source]
        source: std::io::Error,
    },
}

/// Why a git task never ran to its end: the runtime shut down under it. Its own type, so
/// that it shows as internal wherever it sits in an error's chain.
#[derive(Debug, thiserror::Error)]
#[error("the runtime shut down before the task ended")]
pub struct TaskCancelled;

impl GitError {
    /// Whether this failure is not the user's to fix: libgit2 failing without a specific
    /// condition while it reads or writes objects, the index or trees (orch asked for
    /// something it should not have, or the repository is damaged), or a git task cancelled
    /// under orch. Locks, missing refs, bad revisions, permissions, configuration and the
    /// refusals of this facade are the user's.
    pub fn is_internal(&self) -> bool {
        match self {
            GitError::Git { source, .. } => internal(source),
            GitError::Cancelled { .. } => true,
            GitError::Refused { .. } | GitError::Io { .. } => false,
        }
    }
}

/// Whether one link of an error chain is an internal git failure (see
/// [`GitError::is_internal`]). An error that wraps a [`GitError`] transparently hides it
/// from the chain but not its source, so the libgit2 error or [`TaskCancelled`] is judged.
pub fn internal_cause(cause: &(dyn std::error::Error + 'static)) -> bool {
    if let Some(e) = cause.downcast_ref::<GitError>() {
        return e.is_internal();
    }
    cause.is::<TaskCancelled>() || cause.downcast_ref::<git2::Error>().is_some_and(internal)
}

fn internal(e: &git2::Error) -> bool {
    use git2::ErrorClass as C;
    e.code() == git2::ErrorCode::GenericError
        && !matches!(
            e.class(),
            C::Os
                | C::Config
                | C::Repository
                | C::Reference
                | C::Worktree
                | C::Checkout
                | C::Merge
                | C::Filter
                | C::Submodule
                | C::Filesystem
                | C::Net
                | C::Ssh
                | C::Http
                | C::Ssl
                | C::Callback
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(code: git2::ErrorCode, class: git2::ErrorClass) -> GitError {
        GitError::Git {
            repo: PathBuf::from("/r"),
            action: "read".into(),
            source: git2::Error::new(code, class, "x"),
        }
    }

    #[test]
    fn what_is_the_users_and_what_is_not() {
        use git2::{ErrorClass as C, ErrorCode as E};
        let rows = [
            (git(E::GenericError, C::Zlib), true),
            (git(E::GenericError, C::Odb), true),
            (git(E::GenericError, C::Index), true),
            (git(E::GenericError, C::Invalid), true),
            (git(E::NotFound, C::Odb), false),
            (git(E::NotFound, C::Reference), false),
            (git(E::Locked, C::Reference), false),
            (git(E::InvalidSpec, C::Reference), false),
            (git(E::GenericError, C::Os), false),
            (git(E::GenericError, C::Config), false),
            (git(E::Owner, C::Repository), false),
            (
                GitError::Cancelled {
                    repo: PathBuf::from("/r"),
                    source: TaskCancelled,
                },
                true,
            ),
            (
                GitError::Refused {
                    repo: PathBuf::from("/r"),
                    action: "remove".into(),
                    reason: "dirty".into(),
                },
                false,
            ),
        ];
        for (e, want) in rows {
            assert_eq!(e.is_internal(), want, "{e:?}");
            assert_eq!(internal_cause(&e), want, "{e:?}");
        }
    }
}

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
    #[error("a git task on {} was cancelled: the runtime is shutting down", repo.display())]
    Cancelled { repo: PathBuf },
    #[error("cannot {action} ({})", path.display())]
    Io {
        path: PathBuf,
        action: String,
        #[source]
        source: std::io::Error,
    },
}

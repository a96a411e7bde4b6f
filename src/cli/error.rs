//! How an error ends the process: every error a command returns is of one [`Kind`], which
//! decides its exit code and how it is shown. Outcomes that are not errors — a run whose
//! issues did not all pass, an interrupted run — are exit codes the commands return
//! themselves (see [`super::exit`]).

use super::exit;
use crate::report::style::Styler;

/// What kind of failure an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The user's docs, config or repository are not in a state orch can work with.
    User,
    /// The command line itself is wrong (clap's parse errors).
    Usage,
    /// Not the user's to fix: a bug in orch (or a damaged repository), as a git failure
    /// without a user-level condition says (see `GitError::is_internal`); a panic ends with
    /// the same code from its hook.
    Internal,
}

impl Kind {
    pub fn exit_code(self) -> i32 {
        match self {
            Kind::User => exit::USER_ERROR,
            Kind::Usage => exit::USAGE,
            Kind::Internal => exit::INTERNAL,
        }
    }
}

/// An error the user can act on, with what to do about it.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Hinted {
    message: String,
    hint: String,
}

pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    Hinted {
        message: message.into(),
        hint: hint.into(),
    }
    .into()
}

/// The kind of `err`, from the first link of its chain that says.
pub fn kind(err: &anyhow::Error) -> Kind {
    // Also a hint given as context, which the chain shows as the context's own type.
    if err.downcast_ref::<Hinted>().is_some() {
        return Kind::User;
    }
    for cause in err.chain() {
        if cause.is::<Hinted>() {
            return Kind::User;
        }
        if crate::git::internal_cause(cause) {
            return Kind::Internal;
        }
    }
    Kind::User
}

/// Shows `err` on stderr and returns the exit code of its kind: `Error: …`, each cause, then
/// every hint found in the chain; an internal error says it is a bug.
pub fn report(err: &anyhow::Error, style: &Styler) -> i32 {
    #![allow(clippy::print_stderr)]
    let kind = kind(err);
    let label = match kind {
        Kind::Internal => "Internal error:",
        Kind::User | Kind::Usage => "Error:",
    };
    eprintln!("{} {err}", style.red(label));
    for cause in err.chain().skip(1) {
        eprintln!("Caused by: {cause}");
    }
    for hint in err.chain().filter_map(|e| e.downcast_ref::<Hinted>()) {
        eprintln!("{} {}", style.cyan("Hint:"), hint.hint);
    }
    if kind == Kind::Internal {
        eprintln!("{} {BUG}", style.cyan("Hint:"));
    }
    kind.exit_code()
}

/// What an internal error adds, also after a panic.
pub const BUG: &str = "this is a bug in orch (unless the repository itself is damaged: `git fsck` \
tells); please report it with the command you ran and its ORCH_LOG=debug output";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::GitError;
    use std::path::PathBuf;

    fn git(code: git2::ErrorCode, class: git2::ErrorClass) -> GitError {
        GitError::Git {
            repo: PathBuf::from("/r"),
            action: "read the commit".into(),
            source: git2::Error::new(code, class, "corrupt"),
        }
    }

    #[test]
    fn every_kind_has_its_exit_code() {
        use git2::{ErrorClass as C, ErrorCode as E};
        let rows: Vec<(&str, anyhow::Error, i32)> = vec![
            ("hinted", hinted("no such milestone", "see orch plan"), 1),
            (
                "a cancelled git task, behind the engine",
                crate::engine::EngineError::Git(GitError::Cancelled {
                    repo: PathBuf::from("/r"),
                    source: crate::git::TaskCancelled,
                })
                .into(),
                255,
            ),
            ("plain", anyhow::anyhow!("cannot read orch.toml"), 1),
            ("git, internal", git(E::GenericError, C::Zlib).into(), 255),
            ("git, the user's", git(E::Locked, C::Reference).into(), 1),
            (
                "git behind the engine",
                crate::engine::EngineError::Git(git(E::GenericError, C::Odb)).into(),
                255,
            ),
            (
                "git behind capture, behind the engine",
                crate::engine::EngineError::Capture(crate::workspace::capture::CaptureError::Git(
                    git(E::GenericError, C::Object),
                ))
                .into(),
                255,
            ),
            (
                "git, with context",
                anyhow::Error::from(git(E::GenericError, C::Index)).context("cannot start"),
                255,
            ),
            (
                "a hint wins over what it wraps",
                anyhow::Error::from(git(E::GenericError, C::Zlib)).context(Hinted {
                    message: "m".into(),
                    hint: "h".into(),
                }),
                1,
            ),
        ];
        for (name, err, code) in rows {
            assert_eq!(kind(&err).exit_code(), code, "{name}");
        }
    }
}

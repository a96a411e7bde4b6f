//! Clean-room verification: once an issue converged, its pinned final head is checked out
//! into a fresh worktree of its own (HEAD detached, no branch made, nothing untracked from
//! the agent's worktree), set up like any new worktree, and `[verify] commands` (default: the
//! issue's command checks) run there, outside the sandbox. The verdicts are recorded against
//! the commit; a failure is a gate the loop sends to a fix phase, like a review finding.

use super::context::IssueAt;
use super::host::Host;
use super::{git, logs, EngineError};
use crate::input::config::Config;
use crate::model::check::Check;
use crate::model::plan::PlannedIssue;
use crate::model::record::Verification;
use std::path::{Path, PathBuf};

/// The prefix of clean-room worktrees' names and directories: not an agent's doing, so the
/// post-phase audit of another issue in flight leaves them alone.
pub const CLEAN_ROOM_PREFIX: &str = "orch-verify-";

/// Whether `path` is where orch makes its clean rooms.
pub(super) fn is_clean_room(path: &Path) -> bool {
    let temp = std::env::temp_dir();
    let temp = temp.canonicalize().unwrap_or(temp);
    path.parent()
        .is_some_and(|p| p == temp || p == std::env::temp_dir())
        && path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(CLEAN_ROOM_PREFIX))
}

/// Where one verification's files go, in the review phase's directory.
const VERIFY_DIR: &str = "verify";

/// The checks a converged issue must pass in a clean room (none: no verification).
pub(super) fn checks(config: &Config, issue: &PlannedIssue) -> Vec<Check> {
    match &config.verify.commands {
        Some(commands) => commands
            .iter()
            .map(|c| Check::Command { command: c.clone() })
            .collect(),
        None => issue
            .spec
            .all_checks()
            .into_iter()
            .filter(|c| matches!(c, Check::TestsPass { .. } | Check::Command { .. }))
            .collect(),
    }
}

/// Verifies the worktree's HEAD in a clean room; files under `review_dir/verify/`.
pub(super) async fn verify(
    host: Host<'_>,
    at: &IssueAt<'_>,
    run_id: &str,
    checks: &[Check],
    review_dir: &Path,
) -> Result<Verification, EngineError> {
    let dir = review_dir.join(VERIFY_DIR);
    logs::create_dir(&dir)?;
    let commit = git(&at.issue.worktree, |repo| {
        Ok(repo.head()?.oid.unwrap_or_default())
    })
    .await?;
    let name = format!(
        "{CLEAN_ROOM_PREFIX}{}-{}",
        crate::model::naming::ref_component(&at.issue.id),
        crate::model::naming::short_oid(&commit)
    );
    let room: PathBuf = std::env::temp_dir().join(format!(
        "{name}-{}",
        crate::model::naming::ref_component(run_id)
    ));
    let failed = |error: String| Verification {
        commit: commit.clone(),
        checks: Vec::new(),
        error: Some(error),
    };
    let (name2, room2, commit2) = (name.clone(), room.clone(), commit.clone());
    let made = git(host.repo_root, move |repo| {
        // One left by a crash goes first.
        if repo.worktrees()?.iter().any(|w| w.name == name2) {
            repo.remove_worktree(&name2)?;
        }
        let _ = std::fs::remove_dir_all(&room2);
        Ok(repo
            .add_detached_worktree(&name2, &room2, &commit2)
            .map_err(|e| e.to_string()))
    })
    .await?;
    if let Err(e) = made {
        return Ok(failed(format!("cannot check it out: {e}")));
    }
    let setup_log = dir.join(crate::model::layout::SETUP_LOG);
    let verification = match super::setup::set_up(host, &room, &at.common_dir, &setup_log).await? {
        Err(reason) => failed(reason),
        Ok(()) => {
            let outcomes = crate::gates::acceptance::evaluate(
                checks,
                &at.issue.spec.workdir(&room),
                &at.issue.spec.paths,
                &dir,
                at.timeout,
                host.cancel(),
            )
            .await;
            Verification {
                commit: commit.clone(),
                checks: outcomes,
                error: None,
            }
        }
    };
    let name2 = name.clone();
    git(
        host.repo_root,
        move |repo| Ok(repo.remove_worktree(&name2)?),
    )
    .await?;
    let _ = std::fs::remove_dir_all(&room);
    logs::write_json(&dir.join("verification.json"), &verification)?;
    Ok(verification)
}

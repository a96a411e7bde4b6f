//! A phase's confinement on the host side, as its plan says: the private temp dir and the
//! paths the sandbox profile names (made before the agent starts), and right after it ends,
//! before any git call there, the check that the git files deciding which repository git
//! opens and what it runs are as they were (a change is put back and is a guard violation).

use super::plan::PhasePlan;
use crate::engine::{logs, EngineError};
use crate::guard::log::{Found, GuardLine};
use crate::model::layout;
use crate::workspace::gitdirs::Snapshot;
use std::path::{Path, PathBuf};

/// What a phase's confinement leaves to do once the agent ended.
pub(super) struct Confined {
    /// Where the shims write their guard log.
    shim_log: PathBuf,
    tmp_dir: PathBuf,
    snapshot: Snapshot,
}

/// Makes what `plan`'s confinement needs on the host, and takes the snapshot of the guarded
/// git files.
pub(super) fn confine(plan: &PhasePlan, repo_root: &Path) -> Result<Confined, EngineError> {
    let io = logs::io_error;
    let c = &plan.confinement;
    let _ = std::fs::remove_dir_all(&c.tmp_dir);
    std::fs::create_dir_all(&c.tmp_dir).map_err(io("create", &c.tmp_dir))?;
    // Private: Claude Code wants its temp dir 0700, and nobody else needs to look in.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&c.tmp_dir, std::fs::Permissions::from_mode(0o700))
            .map_err(io("chmod", &c.tmp_dir))?;
    }
    // Every path the profile names must exist: bubblewrap cannot mount a missing one, and
    // codex would leave a placeholder of its own that git may later remove.
    for d in &plan.make_dirs {
        std::fs::create_dir_all(d).map_err(io("create", d))?;
    }
    if let Some(homes) = &c.graphite_homes {
        warm_graphite(homes, repo_root);
    }
    if plan.mask_for_claude {
        use crate::agent::claude_sandbox::{MASKED, MASKED_HEADER};
        crate::workspace::excludes::add(&c.common_dir, MASKED_HEADER, MASKED)
            .map_err(io("write", &c.common_dir.join("info/exclude")))?;
    }
    let roots = [
        c.worktree.clone(),
        c.tmp_dir.clone(),
        c.worktree_git.clone(),
    ];
    Ok(Confined {
        snapshot: Snapshot::take(&c.worktree_git, &c.common_dir, &roots),
        shim_log: plan.shim_log().to_owned(),
        tmp_dir: c.tmp_dir.clone(),
    })
}

/// gt's own dirs under HOME, made when missing (a rule on a missing path makes codex mount a
/// placeholder). gt unpacks a native module under `~/.cache/pkg` at its first real command,
/// which the sandbox would refuse: orch runs one read-only gt command outside it first, once
/// per process.
fn warm_graphite(homes: &[PathBuf], repo_root: &Path) {
    for d in homes {
        let _ = std::fs::create_dir_all(d);
    }
    static WARM: std::sync::Once = std::sync::Once::new();
    WARM.call_once(|| {
        let Some(gt) = crate::util::process::find_real("gt") else {
            return;
        };
        // Without an upgrade check: a detached `npm view` orch would leave behind.
        let _ = std::process::Command::new(gt)
            .args(["log", "short", "--no-interactive"])
            .env("GRAPHITE_DISABLE_UPGRADE_PROMPT", "1")
            .current_dir(repo_root)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    });
}

/// After the agent: puts back the guarded git files (each change a violation line in the
/// phase's guard log), moves the shims' log into the phase's, and removes the temp dir.
/// Returns the changes, for the phase's failure.
pub(super) fn unconfine(confined: Confined, dir: &Path) -> Result<Vec<String>, EngineError> {
    let changes = confined.snapshot.restore();
    if confined.shim_log != dir.join(layout::GUARD_LOG) {
        let lines = crate::guard::log::read(&confined.shim_log);
        if !lines.is_empty() {
            logs::append_guard_lines(dir, &lines)?;
        }
    }
    let _ = std::fs::remove_dir_all(&confined.tmp_dir);
    let lines: Vec<GuardLine> = changes
        .iter()
        .map(|c| {
            GuardLine::violation(
                Found::GitFile {
                    git_file: c.path.clone(),
                    change: c.what.to_string(),
                },
                c.restored,
            )
        })
        .collect();
    if !lines.is_empty() {
        logs::append_guard_lines(dir, &lines)?;
    }
    Ok(changes
        .iter()
        .map(|c| {
            let back = if c.restored {
                "put back"
            } else {
                "could not be put back"
            };
            format!("{} {} ({back})", c.path.display(), c.what)
        })
        .collect())
}

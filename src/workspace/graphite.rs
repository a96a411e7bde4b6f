//! Graphite integration: a branch orch creates with libgit2 is unknown to Graphite, and
//! `gt create`/`gt modify` in its worktree fail until it is tracked. In a repository where
//! Graphite is initialised, orch tracks each new issue branch with its parent.

use std::path::{Path, PathBuf};

/// The file `gt init` writes in the shared git dir.
pub const REPO_CONFIG: &str = ".graphite_repo_config";

/// Is Graphite initialised for the repository whose shared git dir is `common_dir`?
pub fn initialised(common_dir: &Path) -> bool {
    common_dir.join(REPO_CONFIG).is_file()
}

/// `gt track <branch> --parent <parent>` in the worktree, with the real gt.
pub fn track(gt: &Path, worktree: &Path, branch: &str, parent: &str) -> Result<(), String> {
    let out = std::process::Command::new(gt)
        .args(["track", branch, "--parent", parent, "--no-interactive"])
        .current_dir(worktree)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", gt.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`gt track {branch} --parent {parent}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The real gt on PATH, if any.
pub fn find_gt() -> Option<PathBuf> {
    crate::util::process::find_real("gt")
}

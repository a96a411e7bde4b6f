//! The run lock: one orch run per repository at a time. The lock file lives in the shared
//! git dir (`.git/orch/lock`) so it never dirties the working tree and is seen from every
//! worktree.

use crate::util::platform::{alive, hostname};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub pid: u32,
    pub host: String,
    /// RFC 3339 UTC.
    pub started_at: String,
    pub command: String,
}

/// What the lock file says, if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockState {
    Free,
    /// Held by a live process.
    Held(LockInfo),
    /// Left by a process that is gone (on this host).
    Stale(LockInfo),
    /// A lock file orch cannot read.
    Unreadable(String),
}

/// What a run of `scope` writes as the lock's command (`orch run p/M1`, a resume too):
/// `orch status` tells by it whether the run it shows is running.
pub fn run_command(scope: &crate::model::naming::Scope) -> String {
    format!("orch run {scope}")
}

pub fn lock_path(common_dir: &Path) -> PathBuf {
    common_dir.join("orch").join("lock")
}

/// Reads the lock in `common_dir` and checks whether its holder is alive.
pub fn inspect(common_dir: &Path) -> LockState {
    let path = lock_path(common_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return LockState::Free,
        Err(e) => return LockState::Unreadable(e.to_string()),
    };
    match serde_json::from_str::<LockInfo>(&text) {
        Ok(info) if info.host == hostname() && !alive(info.pid) => LockState::Stale(info),
        Ok(info) => LockState::Held(info),
        Err(e) => LockState::Unreadable(e.to_string()),
    }
}

/// A held run lock; released (the file removed) when dropped.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another orch run holds the lock: pid {} on {} since {} ({})", .0.pid, .0.host, .0.started_at, .0.command)]
    Held(LockInfo),
    #[error("a stale orch lock was left by pid {} on {} (since {}); that process is gone", .0.pid, .0.host, .0.started_at)]
    Stale(LockInfo),
    #[error("cannot use the lock file {}: {message}", path.display())]
    Io { path: PathBuf, message: String },
}

impl RunLock {
    /// Takes the lock in `common_dir` for `command`. A stale lock is taken over only when
    /// `force_unlock` is set; a live one never.
    pub fn acquire(
        common_dir: &Path,
        command: &str,
        force_unlock: bool,
    ) -> Result<RunLock, LockError> {
        let path = lock_path(common_dir);
        let io = |e: std::io::Error| LockError::Io {
            path: path.clone(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(path.parent().expect("lock has a parent")).map_err(io)?;
        match inspect(common_dir) {
            LockState::Free => {}
            LockState::Held(info) => return Err(LockError::Held(info)),
            LockState::Stale(info) if !force_unlock => return Err(LockError::Stale(info)),
            LockState::Unreadable(message) if !force_unlock => {
                return Err(LockError::Io { path, message })
            }
            LockState::Stale(_) | LockState::Unreadable(_) => {
                std::fs::remove_file(&path).map_err(io)?
            }
        }
        let info = LockInfo {
            pid: std::process::id(),
            host: hostname(),
            started_at: crate::util::timeutil::now_rfc3339(),
            command: command.to_owned(),
        };
        // create_new: of two runs racing here, exactly one wins.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => match inspect(common_dir) {
                    LockState::Held(info) | LockState::Stale(info) => LockError::Held(info),
                    _ => io(e),
                },
                _ => io(e),
            })?;
        use std::io::Write;
        file.write_all(
            serde_json::to_string(&info)
                .expect("lock info serialises")
                .as_bytes(),
        )
        .and_then(|_| file.sync_all())
        .map_err(io)?;
        Ok(RunLock { path })
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_stale_takeover() {
        let dir = tempfile::tempdir().unwrap();
        let lock = RunLock::acquire(dir.path(), "orch run M1", false).unwrap();
        assert!(
            matches!(RunLock::acquire(dir.path(), "orch run M2", false), Err(LockError::Held(i)) if i.command == "orch run M1")
        );
        drop(lock);
        assert_eq!(inspect(dir.path()), LockState::Free);
        let dead = LockInfo {
            pid: u32::MAX - 1,
            host: hostname(),
            started_at: "2026-01-01T00:00:00Z".into(),
            command: "orch run M1".into(),
        };
        std::fs::write(lock_path(dir.path()), serde_json::to_string(&dead).unwrap()).unwrap();
        assert!(matches!(
            RunLock::acquire(dir.path(), "orch run M1", false),
            Err(LockError::Stale(_))
        ));
        let lock = RunLock::acquire(dir.path(), "orch run M1", true).unwrap();
        assert!(matches!(inspect(dir.path()), LockState::Held(i) if i.pid == std::process::id()));
        drop(lock);
    }
}

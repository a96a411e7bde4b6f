//! The run lock: one orch run per repository at a time. The lock file lives in the shared
//! git dir (`.git/orch/lock`) so it never dirties the working tree and is seen from every
//! worktree.

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
        Ok(info) if info.host == hostname() && !process_alive(info.pid) => LockState::Stale(info),
        Ok(info) => LockState::Held(info),
        Err(e) => LockState::Unreadable(e.to_string()),
    }
}

/// Is a process with this pid running on this machine?
pub fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if proc.is_dir() {
        return proc.join(pid.to_string()).exists();
    }
    std::process::Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

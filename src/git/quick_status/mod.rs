//! Proving a working tree clean without libgit2's full status, the way `git status` does.
//!
//! Why this exists: `orch verify-clean` must cost no more than 1.2× `git status --porcelain`.
//! libgit2's status reads the whole HEAD tree object by object to compare it with the index,
//! and walks the working directory from one thread. git instead compares the index's tree
//! with HEAD's and lstat()s every index entry from several threads (preload-index). This
//! module does the same for the common case, a clean tree, and answers only "proven clean"
//! or "not sure": whenever anything might differ, [`Repo::status`](super::Repo::status)
//! falls back to libgit2's full status, so a dirty tree is reported exactly as before.
//!
//! The proof has three parts, all read-only:
//! 1. Staged: the index's root tree id, from its cache-tree extension when that is valid
//!    (as git trusts it), else by hashing the entries into the tree objects git would write
//!    (in memory, nothing is written), is compared with HEAD's tree. No tree is read from
//!    the object database.
//! 2. Modified: every index entry is lstat()ed, from several threads, and must match the stat
//!    data the index recorded for it (type and executable bit, size, mtime and ctime to the
//!    nanosecond, inode, owner), which is stricter than libgit2's own check. An entry whose
//!    mtime is not older than the index file (git's "racily clean" rule: it may have changed
//!    within the same timestamp as the index write) or whose recorded size is the 0 git
//!    writes for such entries is content-checked with libgit2's single-file status.
//! 3. Untracked: the directories holding tracked files are read (one holding exactly the
//!    names the index lists there needs nothing more); a name that is neither tracked nor on
//!    the way to tracked files must be ignored (libgit2's ignore rules) or be a directory
//!    holding nothing but ignored files and empty directories.
//!
//! Anything unusual is "not sure": conflicts, intent-to-add, skip-worktree or assume-unchanged
//! entries, submodules, an unborn HEAD, a missing index, `core.ignorecase`, `core.symlinks =
//! false`, `core.fileMode = false`, sparse checkouts, a nested repository, a split or sparse
//! index, a platform other than Linux or macOS, an error along the way (the full status then
//! reports it properly), and more than [`MAX_CONTENT_CHECKS`] racily clean entries.

use super::{GitError, Repo};

/// Above this many racily clean entries one full status is cheaper than one check each.
pub const MAX_CONTENT_CHECKS: usize = 64;

/// What the quick check concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuickStatus {
    /// Nothing staged, modified, conflicted or untracked. `content_checked` counts the racily
    /// clean entries whose content had to be compared.
    Clean { content_checked: usize },
    /// Not proven clean (maybe dirty, maybe just unusual): run the full status.
    Unsure { reason: String },
}

fn unsure(reason: impl Into<String>) -> Result<QuickStatus, GitError> {
    Ok(QuickStatus::Unsure {
        reason: reason.into(),
    })
}

impl Repo {
    /// Tries to prove the working tree clean cheaply (see the module docs).
    pub fn quick_status(&self) -> Result<QuickStatus, GitError> {
        #[cfg(any(target_os = "linux", target_os = "macos"))]
        {
            quick_status_unix(self)
        }
        #[cfg(not(any(target_os = "linux", target_os = "macos")))]
        {
            unsure("the quick check needs Linux or macOS stat data")
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "macos"))]
mod index;
#[cfg(any(target_os = "linux", target_os = "macos"))]
mod stat;
#[cfg(all(test, any(target_os = "linux", target_os = "macos")))]
mod tests;
#[cfg(any(target_os = "linux", target_os = "macos"))]
mod untracked;

/// What a thread says when another one's finding made it stop.
#[cfg(any(target_os = "linux", target_os = "macos"))]
const STOPPED: &str = "stopped";

#[cfg(any(target_os = "linux", target_os = "macos"))]
use index::{os, parse_index, read_index_file, tree_id};
#[cfg(any(target_os = "linux", target_os = "macos"))]
use stat::compare_stats;
#[cfg(any(target_os = "linux", target_os = "macos"))]
use std::path::Path;
#[cfg(any(target_os = "linux", target_os = "macos"))]
use std::sync::atomic::AtomicBool;
#[cfg(any(target_os = "linux", target_os = "macos"))]
use untracked::{is_ignored, untracked_candidates, untracked_dir_has_files};
#[cfg(any(target_os = "linux", target_os = "macos"))]
fn quick_status_unix(repo: &Repo) -> Result<QuickStatus, GitError> {
    let inner = &repo.inner;
    let Some(workdir) = inner.workdir().map(Path::to_owned) else {
        return unsure("a bare repository has no working tree");
    };
    let config = inner
        .config()
        .and_then(|mut c| c.snapshot())
        .map_err(repo.err("read the configuration"))?;
    let flag = |name: &str, default: bool| config.get_bool(name).unwrap_or(default);
    if flag("core.ignorecase", false) {
        return unsure("core.ignorecase is set");
    }
    if !flag("core.symlinks", true) || !flag("core.filemode", true) {
        return unsure("core.symlinks or core.fileMode is false");
    }
    if flag("core.sparsecheckout", false) {
        return unsure("a sparse checkout");
    }

    // The mtime is that of the very file read (an index written later is another file).
    let index_path = inner.path().join("index");
    let (index_mtime, data) = match read_index_file(&index_path) {
        Ok(read) => read,
        Err(e) => return unsure(format!("cannot read {}: {e}", index_path.display())),
    };
    let (entries, cached_root) = match parse_index(&data) {
        Ok(parsed) => parsed,
        Err(reason) => return unsure(reason),
    };
    drop(data);

    // 1. Staged changes: the index's tree against HEAD's.
    let head_tree = match inner.head().and_then(|h| h.peel_to_tree()) {
        Ok(tree) => tree.id(),
        Err(_) => return unsure("HEAD has no tree (unborn branch?)"),
    };
    // A valid cache-tree extension records the index's root tree, as `git diff-index
    // --cached` trusts it; without one, the entries are hashed into trees in memory.
    tracing::debug!(
        entries = entries.len(),
        cache_tree = cached_root.is_some(),
        "quick status: index read"
    );
    match cached_root.or_else(|| tree_id(&entries, 0)) {
        Some(id) if id == head_tree => {}
        Some(_) => return unsure("the index differs from HEAD"),
        None => return unsure("the index cannot form a tree"),
    }

    // 2 and 3 in parallel: lstat every entry; list the untracked names.
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let chunk = entries.len().div_ceil(threads).max(1);
    let stop = AtomicBool::new(false);
    let (stat_results, walk_result) = std::thread::scope(|s| {
        let workers: Vec<_> = entries
            .chunks(chunk)
            .enumerate()
            .map(|(n, part)| {
                let (workdir, stop) = (&workdir, &stop);
                s.spawn(move || compare_stats(workdir, part, n * chunk, index_mtime, stop))
            })
            .collect();
        let walker = s.spawn(|| untracked_candidates(&workdir, &entries, &stop));
        let stats: Vec<_> = workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err("a stat worker panicked".into()))
            })
            .collect();
        let walk = walker
            .join()
            .unwrap_or_else(|_| Err("the directory walk panicked".into()));
        (stats, walk)
    });
    // A thread that saw a difference stopped the others: report its reason, not theirs.
    let mut racy = Vec::new();
    let mut reasons = Vec::new();
    for result in stat_results {
        match result {
            Ok(mut r) => racy.append(&mut r),
            Err(reason) => reasons.push(reason),
        }
    }
    let candidates = match walk_result {
        Ok(c) => c,
        Err(reason) => {
            reasons.push(reason);
            Vec::new()
        }
    };
    if let Some(first) = reasons.first() {
        let reason = reasons.iter().find(|r| *r != STOPPED).unwrap_or(first);
        return unsure(reason.clone());
    }

    // Untracked names must be ignored, or be directories holding only ignored files.
    for (path, is_dir) in candidates {
        let found = match is_ignored(repo, &path) {
            Ok(true) => continue,
            Ok(false) if !is_dir => Ok(Some(format!(
                "untracked file {}",
                String::from_utf8_lossy(&path)
            ))),
            Ok(false) => untracked_dir_has_files(repo, &workdir, path),
            Err(e) => Err(e),
        };
        match found {
            Ok(None) => {}
            Ok(Some(reason)) => return unsure(reason),
            Err(e) => return unsure(e.to_string()),
        }
    }

    // Racily clean entries: their stat data cannot vouch for their content.
    if racy.len() > MAX_CONTENT_CHECKS {
        return unsure(format!("{} racily clean entries", racy.len()));
    }
    for i in &racy {
        let path = &entries[*i].path;
        match inner.status_file(os(path)) {
            Ok(s) if s == git2::Status::CURRENT => {}
            _ => {
                return unsure(format!(
                    "racily clean entry {} changed",
                    String::from_utf8_lossy(path)
                ))
            }
        }
    }
    Ok(QuickStatus::Clean {
        content_checked: racy.len(),
    })
}

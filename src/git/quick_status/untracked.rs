//! Part 3 of the proof, nothing untracked: the directories holding tracked files are read,
//! and a name the index does not list must be ignored.

use super::index::{os, Tracked};
use super::STOPPED;
use crate::git::{GitError, Repo};
use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// A directory that holds tracked files: how many names the index puts directly in it,
/// and which of them are directories.
#[derive(Default)]
struct TrackedDir<'a> {
    children: usize,
    subdirs: Vec<&'a [u8]>,
}

/// Every directory holding tracked files (the root is `""`), from one pass over the
/// sorted entries; `None` if they are not a tree (a name both a file and a directory).
fn tracked_dirs(entries: &[Tracked]) -> Option<HashMap<&[u8], TrackedDir<'_>>> {
    let mut dirs: HashMap<&[u8], TrackedDir<'_>> = HashMap::new();
    dirs.insert(&[], TrackedDir::default());
    let mut previous: &[u8] = &[];
    for e in entries {
        let path = e.path.as_slice();
        // The entry's names below the deepest directory it shares with the previous
        // entry are new: each is one more child of its parent.
        let differ = previous
            .iter()
            .zip(path)
            .position(|(a, b)| a != b)
            .unwrap_or(previous.len().min(path.len()));
        let mut start = path[..differ]
            .iter()
            .rposition(|&b| b == b'/')
            .map_or(0, |slash| slash + 1);
        loop {
            let parent = &path[..start.saturating_sub(1)];
            let slash = path[start..].iter().position(|&b| b == b'/');
            let info = dirs.get_mut(parent)?;
            info.children += 1;
            let Some(slash) = slash else { break };
            let dir = &path[..start + slash];
            info.subdirs.push(dir);
            if dirs.insert(dir, TrackedDir::default()).is_some() {
                return None;
            }
            start += slash + 1;
        }
        previous = path;
    }
    Some(dirs)
}

/// Reads every directory that holds tracked files and returns the names in them that
/// are neither tracked nor on the way to tracked files (`(path, is a directory)`).
///
/// A directory holding exactly as many names, and as many directories, as the index
/// puts there holds nothing else: the stat pass proves every tracked name is there (a
/// file of the right type, or a directory on the way to one), so only a directory whose
/// counts differ has its names looked up one by one.
pub(super) fn untracked_candidates(
    workdir: &Path,
    entries: &[Tracked],
    stop: &AtomicBool,
) -> Result<Vec<(Vec<u8>, bool)>, String> {
    let dirs = tracked_dirs(entries).ok_or("the index is not a tree")?;
    let mut out = Vec::new();
    let mut pending: Vec<&[u8]> = vec![&[]];
    while let Some(dir) = pending.pop() {
        if stop.load(Ordering::Relaxed) {
            return Err(STOPPED.into());
        }
        let info = dirs.get(dir).ok_or("the index is not a tree")?;
        let read = std::fs::read_dir(workdir.join(os(dir))).map_err(|e| {
            format!(
                "cannot read directory {}: {e}",
                String::from_utf8_lossy(dir)
            )
        })?;
        let mut names = Vec::with_capacity(info.children);
        let mut subdirs = 0;
        for item in read {
            let item = item.map_err(|e| e.to_string())?;
            let name = item.file_name();
            if dir.is_empty() && name.as_bytes() == b".git" {
                continue;
            }
            let is_dir = item.file_type().map_err(|e| e.to_string())?.is_dir();
            subdirs += usize::from(is_dir);
            names.push((name, is_dir));
        }
        pending.extend_from_slice(&info.subdirs);
        if names.len() == info.children && subdirs == info.subdirs.len() {
            continue;
        }
        for (name, is_dir) in names {
            let name = name.as_bytes();
            if name == b".git" {
                return Err(format!(
                    "a .git inside the tracked directory {}",
                    String::from_utf8_lossy(dir)
                ));
            }
            let mut path = dir.to_vec();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(name);
            if is_tracked_file(entries, &path) {
                continue;
            }
            if dirs.contains_key(path.as_slice()) {
                if !is_dir {
                    return Err(format!(
                        "{} should be a directory",
                        String::from_utf8_lossy(&path)
                    ));
                }
                continue;
            }
            out.push((path, is_dir));
        }
    }
    Ok(out)
}

fn is_tracked_file(entries: &[Tracked], path: &[u8]) -> bool {
    entries
        .binary_search_by(|e| e.path.as_slice().cmp(path))
        .is_ok()
}

pub(super) fn is_ignored(repo: &Repo, path: &[u8]) -> Result<bool, GitError> {
    repo.is_ignored(Path::new(os(path)))
}

/// Does the untracked, not ignored directory `dir` hold a file that is not ignored (or a
/// nested repository)? Returns the reason it might count as untracked.
pub(super) fn untracked_dir_has_files(
    repo: &Repo,
    workdir: &Path,
    dir: Vec<u8>,
) -> Result<Option<String>, GitError> {
    let mut pending = vec![dir];
    while let Some(dir) = pending.pop() {
        let full: PathBuf = workdir.join(os(&dir));
        let read = match std::fs::read_dir(&full) {
            Ok(r) => r,
            Err(e) => return Ok(Some(format!("cannot read {}: {e}", full.display()))),
        };
        for item in read {
            let Ok(item) = item else {
                return Ok(Some(format!("cannot read {}", full.display())));
            };
            let name = item.file_name();
            if name.as_bytes() == b".git" {
                return Ok(Some(format!(
                    "untracked repository {}",
                    String::from_utf8_lossy(&dir)
                )));
            }
            let mut path = dir.clone();
            path.push(b'/');
            path.extend_from_slice(name.as_bytes());
            let is_dir = item.file_type().is_ok_and(|t| t.is_dir());
            if is_ignored(repo, &path)? {
                continue;
            }
            if !is_dir {
                return Ok(Some(format!(
                    "untracked file {}",
                    String::from_utf8_lossy(&path)
                )));
            }
            pending.push(path);
        }
    }
    Ok(None)
}

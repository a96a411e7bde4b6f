//! The git files that decide which repository git opens and what code it runs: a linked
//! worktree's `commondir` and `gitdir`, and the common dir's `config`, `hooks/` and
//! `commondir`. An agent that rewrites one of them can make the host's next git call open a
//! repository it planted (whose config runs a command) or run a hook of its own. Each phase
//! takes a [`Snapshot`] before the agent starts; right after the agent ends, before orch or a
//! check runs git there, [`Snapshot::restore`] compares and puts every change back.
//!
//! Also: the placeholders codex leaves in a writable root when a rule names a path below it
//! (empty `.agents`, `.aws`, `.codex`, `.git` directories) are removed when they were not there
//! before the phase.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The git dir of the linked worktree at `worktree` (what its `.git` file points at).
pub fn worktree_git_dir(worktree: &Path) -> std::io::Result<PathBuf> {
    let dot_git = worktree.join(".git");
    if dot_git.is_dir() {
        return Ok(dot_git);
    }
    let text = std::fs::read_to_string(&dot_git)?;
    let target = text
        .lines()
        .find_map(|l| l.strip_prefix("gitdir:"))
        .map(str::trim)
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} names no gitdir", dot_git.display()),
            )
        })?;
    let path = worktree.join(target);
    Ok(path.canonicalize().unwrap_or(path))
}

/// Names codex creates as mount points under writable roots.
const PLACEHOLDERS: &[&str] = &[".agents", ".aws", ".codex", ".git"];

/// The guarded files' contents (`None`: absent) and which placeholder dirs existed.
#[derive(Debug, Clone)]
pub struct Snapshot {
    files: BTreeMap<PathBuf, Option<Vec<u8>>>,
    hooks_dir: PathBuf,
    roots: Vec<PathBuf>,
    placeholders: Vec<PathBuf>,
}

/// One change found after a phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: PathBuf,
    pub what: &'static str,
    pub restored: bool,
}

impl Snapshot {
    /// Reads the guarded files of a worktree whose git dir is `worktree_git`, in the
    /// repository whose common dir is `common`; `writable_roots` are checked for
    /// placeholders.
    pub fn take(worktree_git: &Path, common: &Path, writable_roots: &[PathBuf]) -> Snapshot {
        let hooks_dir = common.join("hooks");
        let mut files = BTreeMap::new();
        for path in [
            worktree_git.join("commondir"),
            worktree_git.join("gitdir"),
            common.join("config"),
            common.join("commondir"),
        ]
        .into_iter()
        .chain(hook_files(&hooks_dir))
        {
            let content = read_state(&path);
            files.insert(path, content);
        }
        let roots = writable_roots.to_vec();
        let placeholders = existing_placeholders(&roots);
        Snapshot {
            files,
            hooks_dir,
            roots,
            placeholders,
        }
    }

    /// Puts back every guarded file that changed (content, removal, or a hook added) and
    /// removes new empty placeholders. Returns the changes to the guarded files.
    pub fn restore(&self) -> Vec<Change> {
        let mut changes = Vec::new();
        for (path, before) in &self.files {
            let now = read_state(path);
            if &now == before {
                continue;
            }
            let (what, restored) = match before {
                Some(content) => {
                    let what = if now.is_some() { "changed" } else { "removed" };
                    // A symlink or directory put in its place goes first.
                    let _ = remove_any(path);
                    (what, write_back(path, content).is_ok())
                }
                None => ("created", remove_any(path).is_ok()),
            };
            changes.push(Change {
                path: path.clone(),
                what,
                restored,
            });
        }
        for hook in hook_files(&self.hooks_dir) {
            if !self.files.contains_key(&hook) {
                changes.push(Change {
                    restored: remove_any(&hook).is_ok(),
                    path: hook,
                    what: "created",
                });
            }
        }
        for dir in existing_placeholders(&self.roots) {
            if !self.placeholders.contains(&dir) {
                // Only an empty one is codex's; anything with content stays for the audit.
                let _ = std::fs::remove_dir(&dir);
            }
        }
        changes
    }
}

/// A file's content; a symlink (to anywhere, even nowhere) reads as its target, marked, so
/// that putting one in place of a file is a change.
fn read_state(path: &Path) -> Option<Vec<u8>> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if meta.is_symlink() {
        let target = std::fs::read_link(path).ok()?;
        return Some(format!("\0symlink {}", target.display()).into_bytes());
    }
    std::fs::read(path).ok()
}

fn write_back(path: &Path, content: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, content)
}

fn remove_any(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Every entry of the hooks dir (one level: git runs `hooks/<name>`).
fn hook_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    files.sort();
    files
}

fn existing_placeholders(roots: &[PathBuf]) -> Vec<PathBuf> {
    roots
        .iter()
        .flat_map(|r| PLACEHOLDERS.iter().map(move |p| r.join(p)))
        .filter(|p| {
            std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir())
                && std::fs::read_dir(p).is_ok_and(|mut d| d.next().is_none())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_to_the_guarded_files_is_found_and_put_back() {
        let tmp = tempfile::tempdir().unwrap();
        let common = tmp.path().join("repo/.git");
        let wtgit = common.join("worktrees/a");
        let wt = tmp.path().join("wt");
        std::fs::create_dir_all(common.join("hooks")).unwrap();
        std::fs::create_dir_all(&wtgit).unwrap();
        std::fs::create_dir_all(&wt).unwrap();
        std::fs::write(common.join("config"), "[core]\n").unwrap();
        std::fs::write(common.join("hooks/pre-commit.sample"), "#!/bin/sh\n").unwrap();
        std::fs::write(wtgit.join("commondir"), "../..\n").unwrap();
        std::fs::write(wtgit.join("gitdir"), format!("{}/.git\n", wt.display())).unwrap();
        std::fs::create_dir(wt.join(".codex")).unwrap();

        let snap = Snapshot::take(&wtgit, &common, std::slice::from_ref(&wt));
        assert!(snap.restore().is_empty(), "nothing changed yet");

        std::fs::write(wtgit.join("commondir"), "/tmp/planted\n").unwrap();
        std::fs::write(common.join("config"), "[core]\nfsmonitor = evil\n").unwrap();
        std::fs::write(common.join("commondir"), "/tmp/planted\n").unwrap();
        std::fs::write(common.join("hooks/post-checkout"), "#!/bin/sh\nevil\n").unwrap();
        std::fs::remove_file(common.join("hooks/pre-commit.sample")).unwrap();
        std::fs::remove_file(wtgit.join("gitdir")).unwrap();
        std::os::unix::fs::symlink("/tmp/planted", wtgit.join("gitdir")).unwrap();
        std::fs::create_dir(wt.join(".aws")).unwrap();
        std::fs::create_dir(wt.join(".agents")).unwrap();
        std::fs::write(wt.join(".agents/kept"), "x").unwrap();

        let mut found: Vec<(String, &str, bool)> = snap
            .restore()
            .into_iter()
            .map(|c| {
                let rel = c
                    .path
                    .strip_prefix(tmp.path())
                    .unwrap()
                    .display()
                    .to_string();
                (rel, c.what, c.restored)
            })
            .collect();
        found.sort();
        assert_eq!(
            found,
            vec![
                ("repo/.git/commondir".to_owned(), "created", true),
                ("repo/.git/config".to_owned(), "changed", true),
                ("repo/.git/hooks/post-checkout".to_owned(), "created", true),
                (
                    "repo/.git/hooks/pre-commit.sample".to_owned(),
                    "removed",
                    true
                ),
                (
                    "repo/.git/worktrees/a/commondir".to_owned(),
                    "changed",
                    true
                ),
                ("repo/.git/worktrees/a/gitdir".to_owned(), "changed", true),
            ]
        );
        assert_eq!(
            std::fs::read_to_string(wtgit.join("commondir")).unwrap(),
            "../..\n"
        );
        assert_eq!(
            std::fs::read_to_string(common.join("config")).unwrap(),
            "[core]\n"
        );
        assert!(!common.join("commondir").exists());
        assert!(!common.join("hooks/post-checkout").exists());
        assert!(common.join("hooks/pre-commit.sample").exists());
        assert!(!std::fs::symlink_metadata(wtgit.join("gitdir"))
            .unwrap()
            .is_symlink());
        // The new empty placeholder goes, the one that was there and one with content stay.
        assert!(!wt.join(".aws").exists());
        assert!(wt.join(".codex").exists() && wt.join(".agents/kept").exists());
        assert!(snap.restore().is_empty(), "all put back");
        assert_eq!(
            worktree_git_dir(&wt).ok(),
            None,
            "no .git file in this fake worktree"
        );
    }
}

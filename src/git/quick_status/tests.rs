//! The racy-git rule needs an index entry whose stat data matches a file whose content
//! differs: only writing the index directly makes one deterministically.
use super::QuickStatus;
use crate::git::Repo;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

fn git(dir: &Path, args: &[&str]) {
    let home = dir.join("..").join("home");
    std::fs::create_dir_all(&home).unwrap();
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "T")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "T")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn set_mtime(path: &Path, to: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(to)
        .unwrap();
}

/// The index records `f`'s current stat data but the id of its old content, and the
/// index file is given mtime `index_mtime` relative to the file's.
fn stale_entry(index_after_file: Duration) -> (tempfile::TempDir, Repo) {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("repo");
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, &["init", "-q", "-b", "main"]);
    std::fs::write(dir.join("f.txt"), "aaa\n").unwrap();
    git(&dir, &["add", "f.txt"]);
    git(&dir, &["commit", "-q", "-m", "one"]);
    std::fs::write(dir.join("f.txt"), "bbb\n").unwrap();
    let md = std::fs::symlink_metadata(dir.join("f.txt")).unwrap();
    let repo = git2::Repository::open(&dir).unwrap();
    let mut index = repo.index().unwrap();
    let mut entry = index.get_path(Path::new("f.txt"), 0).unwrap();
    entry.mtime = git2::IndexTime::new(md.mtime() as i32, md.mtime_nsec() as u32);
    entry.ctime = git2::IndexTime::new(md.ctime() as i32, md.ctime_nsec() as u32);
    entry.ino = md.ino() as u32;
    entry.dev = md.dev() as u32;
    entry.uid = md.uid();
    entry.gid = md.gid();
    entry.file_size = md.size() as u32;
    index.add(&entry).unwrap();
    index.write().unwrap();
    set_mtime(
        &dir.join(".git/index"),
        md.modified().unwrap() + index_after_file,
    );
    let repo = Repo::open(&dir).unwrap();
    (tmp, repo)
}

#[test]
fn racily_clean_entries_are_content_checked() {
    // Same second as the index: the stat data cannot be trusted, the content differs.
    let (_tmp, repo) = stale_entry(Duration::ZERO);
    assert!(
        matches!(&repo.quick_status().unwrap(), QuickStatus::Unsure { reason } if reason.contains("racily clean entry f.txt changed")),
        "{:?}",
        repo.quick_status()
    );
    let full = repo.full_status().unwrap();
    assert_eq!(full.len(), 1, "{full:?}");
    assert_eq!((full[0].path.as_str(), full[0].kind), ("f.txt", "modified"));
    assert_eq!(repo.status().unwrap(), full);
}

#[test]
fn entries_older_than_the_index_are_trusted_by_stat_data_like_libgit2_does() {
    // The same entry, but the index was written well after the file: both the quick
    // check and libgit2 trust the stat data, which is what makes the racy rule matter.
    let (_tmp, repo) = stale_entry(Duration::from_secs(5));
    assert_eq!(
        repo.quick_status().unwrap(),
        QuickStatus::Clean { content_checked: 0 }
    );
    assert_eq!(repo.full_status().unwrap(), vec![]);
}

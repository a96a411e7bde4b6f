//! Populating a new linked worktree, and deleting one, faster than libgit2 does.
//!
//! Why this exists: `git_worktree_add` checks the new worktree out with libgit2's
//! general-purpose checkout. On a large tree (60,000 files, 247 MB) that takes 2.1× as long as
//! `git worktree add` (4.7 s against 2.2 s): it diffs the target tree against the empty working
//! directory, writes every file from one thread, and builds the index by reading back what it
//! wrote. A new worktree needs none of that generality. Its directory is empty and nothing
//! else knows of it yet, so [`Repo::add_worktree`](super::Repo::add_worktree) registers the
//! worktree itself and this module writes the files from several threads, each with its own
//! `git2::Repository` (which is not `Sync`). It then records the index straight from the stat
//! data of what it wrote, so `git status` in the new worktree is clean without re-hashing
//! anything, except, once, the files written in the same second as the index, which git
//! treats as "racily clean" exactly as after `git worktree add`. Removal deletes the files from
//! several threads in the same way. Blob reads keep libgit2's SHA-1 verification (about a
//! quarter of the CPU time here; git does not verify on checkout): it is a process-wide
//! option, not this module's to turn off.
//!
//! Only plain checkouts take this path. [`plan`] returns `None`, and the caller falls back to
//! libgit2's checkout (orch's behaviour before this module), whenever the checkout could
//! transform content or paths:
//! - on a platform other than Unix;
//! - when `core.autocrlf` is true, `core.eol` is `crlf`, `core.symlinks` is false,
//!   `core.ignorecase` is true, or `core.sparseCheckout` is on;
//! - when any attributes file (every `.gitattributes` of the tree, `info/attributes`, the global
//!   or the system file) mentions `eol`, `crlf`, `ident`, `filter` or `working-tree-encoding`;
//! - when the tree has a path git might refuse (`..`, `.git` in any spelling, a backslash, a
//!   symlinked `.gitmodules`), or is malformed (duplicate names, unknown modes).

use super::GitError;
use std::fs::Metadata;
use std::path::{Path, PathBuf};

const MODE_TREE: u32 = 0o040000;
const MODE_FILE: u32 = 0o100644;
const MODE_EXEC: u32 = 0o100755;
const MODE_LINK: u32 = 0o120000;
const MODE_GITLINK: u32 = 0o160000;

/// Entries a worker claims at a time: small enough to balance large files across threads.
const BATCH: usize = 32;

/// What to write: every directory and every index entry of one tree.
pub(super) struct Plan {
    tree: git2::Oid,
    /// Directories to create, parents before children (`/`-separated, relative).
    dirs: Vec<Vec<u8>>,
    /// Blobs, symlinks and gitlinks in index order (sorted by path bytes).
    entries: Vec<Entry>,
}

struct Entry {
    path: Vec<u8>,
    id: git2::Oid,
    /// Normalised as git stores it in the index: 100644, 100755, 120000 or 160000.
    mode: u32,
}

fn git_err(repo: &Path, action: impl Into<String>) -> impl FnOnce(git2::Error) -> GitError {
    let (repo, action) = (repo.to_owned(), action.into());
    move |source| GitError::Git {
        repo,
        action,
        source,
    }
}

fn io_err(path: &Path, action: impl Into<String>) -> impl FnOnce(std::io::Error) -> GitError {
    let (path, action) = (path.to_owned(), action.into());
    move |source| GitError::Io {
        path,
        action,
        source,
    }
}

/// Lists what checking `tree` out writes, or `None` when the fast path does not apply (see the
/// module docs). `root` only labels errors.
pub(super) fn plan(
    repo: &git2::Repository,
    tree: &git2::Tree<'_>,
    root: &Path,
) -> Result<Option<Plan>, GitError> {
    if !cfg!(unix) || !plain_config(repo, root)? {
        return Ok(None);
    }
    let mut dirs = Vec::new();
    let mut entries = Vec::new();
    let mut pending: Vec<(Vec<u8>, git2::Oid)> = vec![(Vec::new(), tree.id())];
    while let Some((prefix, oid)) = pending.pop() {
        let tree = repo
            .find_tree(oid)
            .map_err(git_err(root, format!("read tree {oid}")))?;
        for item in tree.iter() {
            let name = item.name_bytes();
            if !safe_component(name) {
                return Ok(None);
            }
            let mut path = prefix.clone();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(name);
            let mode = match item.filemode() as u32 {
                MODE_TREE => {
                    dirs.push(path.clone());
                    pending.push((path, item.id()));
                    continue;
                }
                MODE_GITLINK => MODE_GITLINK,
                MODE_LINK if protected_link_name(name) => return Ok(None),
                MODE_LINK => MODE_LINK,
                m if m & 0o170000 == 0o100000 && m & 0o100 != 0 => MODE_EXEC,
                m if m & 0o170000 == 0o100000 => MODE_FILE,
                _ => return Ok(None),
            };
            if mode == MODE_FILE && name == b".gitattributes" {
                let blob = repo.find_blob(item.id()).map_err(git_err(
                    root,
                    format!("read {}", String::from_utf8_lossy(&path)),
                ))?;
                if attributes_affect_checkout(blob.content()) {
                    return Ok(None);
                }
            }
            entries.push(Entry {
                path,
                id: item.id(),
                mode,
            });
        }
    }
    dirs.sort_unstable();
    entries.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    // A well-formed tree never repeats a path, nor names one both a file and a directory.
    let dir_set: std::collections::HashSet<&[u8]> = dirs.iter().map(Vec::as_slice).collect();
    if dirs.windows(2).any(|w| w[0] == w[1])
        || entries.windows(2).any(|w| w[0].path == w[1].path)
        || entries.iter().any(|e| dir_set.contains(e.path.as_slice()))
    {
        return Ok(None);
    }
    Ok(Some(Plan {
        tree: tree.id(),
        dirs,
        entries,
    }))
}

/// No configuration that changes what a checkout writes.
fn plain_config(repo: &git2::Repository, root: &Path) -> Result<bool, GitError> {
    let config = repo
        .config()
        .map_err(git_err(root, "read the configuration"))?;
    let is = |key: &str, value: bool| config.get_bool(key).ok() == Some(value);
    if is("core.symlinks", false) || is("core.ignorecase", true) || is("core.sparsecheckout", true)
    {
        return Ok(false);
    }
    // `input` converts only when adding; any other non-false value converts on checkout.
    if let Ok(autocrlf) = config.get_string("core.autocrlf") {
        if !autocrlf.eq_ignore_ascii_case("input")
            && config.get_bool("core.autocrlf").ok() != Some(false)
        {
            return Ok(false);
        }
    }
    if let Ok(eol) = config.get_string("core.eol") {
        if !eol.eq_ignore_ascii_case("lf") && !eol.eq_ignore_ascii_case("native") {
            return Ok(false);
        }
    }
    let mut files = vec![
        repo.commondir().join("info").join("attributes"),
        PathBuf::from("/etc/gitattributes"),
    ];
    match config.get_path("core.attributesfile") {
        Ok(path) => files.push(path),
        Err(_) => {
            let xdg = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty());
            if let Some(dir) = xdg
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))
            {
                files.push(dir.join("git").join("attributes"));
            }
        }
    }
    for file in files {
        match std::fs::read(&file) {
            Ok(text) if attributes_affect_checkout(&text) => return Ok(false),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            // Unreadable: we cannot tell, so let libgit2 decide.
            Err(_) => return Ok(false),
        }
    }
    Ok(true)
}

/// Does an attributes file set anything that converts content on checkout? Only a few
/// attributes do (`text` alone converts to the native LF on Unix, i.e. not at all); macro
/// definitions are lines too, so a macro setting one of them is caught where it is defined.
fn attributes_affect_checkout(text: &[u8]) -> bool {
    const CONVERTING: [&[u8]; 5] = [
        b"eol",
        b"crlf",
        b"ident",
        b"filter",
        b"working-tree-encoding",
    ];
    text.split(|&b| b == b'\n').any(|line| {
        let line = line.trim_ascii();
        !line.starts_with(b"#")
            && line
                .split(|b| b.is_ascii_whitespace())
                .filter(|t| !t.is_empty())
                .any(|token| {
                    let token = token.strip_prefix(b"-").unwrap_or(token);
                    let token = token.strip_prefix(b"!").unwrap_or(token);
                    let name = token.split(|&b| b == b'=').next().unwrap_or(token);
                    CONVERTING.contains(&name)
                })
    })
}

/// A path component this module may write without asking libgit2's path validation: not
/// empty, `.` or `..`, no separator, and nothing a case-folding, NTFS or HFS+ file system
/// could take for `.git` (`.GIT`, `.git.`, `.git::$INDEX_ALLOCATION`, `git~1`,
/// `.g\u{200c}it`, …). Anything else is left to libgit2 (the slow path), which knows the rules.
fn safe_component(name: &[u8]) -> bool {
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'\\') {
        return false;
    }
    let folded: Vec<u8> = name
        .iter()
        .filter(|b| b.is_ascii())
        .map(u8::to_ascii_lowercase)
        .collect();
    if folded.starts_with(b"git~") {
        return false;
    }
    match folded.strip_prefix(b".git") {
        Some(rest) => rest
            .first()
            .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-'),
        None => true,
    }
}

/// Files git refuses (or warns about) as symlinks.
fn protected_link_name(name: &[u8]) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        &b".gitmodules"[..],
        b".gitattributes",
        b".gitignore",
        b".mailmap",
    ]
    .contains(&lower.as_slice())
}

#[cfg(unix)]
fn os_path(bytes: &[u8]) -> &Path {
    use std::os::unix::ffi::OsStrExt;
    Path::new(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(not(unix))]
fn os_path(bytes: &[u8]) -> &Path {
    // `plan` never returns a plan off Unix; this only keeps the module compiling.
    Path::new(std::str::from_utf8(bytes).unwrap_or_default())
}

fn threads() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 8)
}

/// Writes `plan` into the empty directory `workdir` and the matching index to `index_path`.
/// `git_dir` is the repository's common git directory: each worker thread opens it.
pub(super) fn populate(
    git_dir: &Path,
    workdir: &Path,
    plan: &Plan,
    index_path: &Path,
) -> Result<(), GitError> {
    for dir in &plan.dirs {
        let path = workdir.join(os_path(dir));
        std::fs::create_dir(&path).map_err(io_err(&path, "create a directory of the worktree"))?;
    }

    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let work = || -> Result<Vec<(usize, Metadata)>, GitError> {
        let result = write_some(git_dir, workdir, &plan.entries, &next, &failed);
        if result.is_err() {
            failed.store(true, Ordering::Relaxed);
        }
        result
    };
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads()).map(|_| scope.spawn(work)).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut stats: Vec<Option<Metadata>> = Vec::new();
    stats.resize_with(plan.entries.len(), || None);
    for result in results {
        for (i, md) in result? {
            stats[i] = Some(md);
        }
    }
    write_index(git_dir, workdir, plan, stats, index_path)
}

/// One worker: claims batches of entries until none are left (or another worker failed).
fn write_some(
    git_dir: &Path,
    workdir: &Path,
    entries: &[Entry],
    next: &std::sync::atomic::AtomicUsize,
    failed: &std::sync::atomic::AtomicBool,
) -> Result<Vec<(usize, Metadata)>, GitError> {
    use std::sync::atomic::Ordering;
    let repo = git2::Repository::open_bare(git_dir)
        .map_err(git_err(workdir, "open the object database"))?;
    let odb = repo
        .odb()
        .map_err(git_err(workdir, "open the object database"))?;
    let mut out = Vec::new();
    while !failed.load(Ordering::Relaxed) {
        let start = next.fetch_add(BATCH, Ordering::Relaxed);
        if start >= entries.len() {
            break;
        }
        for (i, entry) in entries.iter().enumerate().skip(start).take(BATCH) {
            out.push((i, write_entry(&odb, workdir, entry)?));
        }
    }
    Ok(out)
}

/// Writes one entry and returns the stat data the index records for it.
fn write_entry(odb: &git2::Odb<'_>, workdir: &Path, entry: &Entry) -> Result<Metadata, GitError> {
    let path = workdir.join(os_path(&entry.path));
    let write = |what: &str| io_err(&path, format!("write {what} of the worktree"));
    if entry.mode == MODE_GITLINK {
        // A submodule is not checked out: git and libgit2 leave an empty directory.
        std::fs::create_dir(&path).map_err(write("a submodule directory"))?;
        return std::fs::symlink_metadata(&path).map_err(write("a submodule directory"));
    }
    let blob = odb
        .read(entry.id)
        .map_err(git_err(workdir, format!("read blob {}", entry.id)))?;
    if blob.kind() != git2::ObjectType::Blob {
        return Err(GitError::Io {
            path: path.clone(),
            action: format!("check out {}", entry.id),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("the tree lists a {} where a blob belongs", blob.kind()),
            ),
        });
    }
    write_blob(&path, entry.mode, blob.data()).map_err(write("a file"))
}

#[cfg(unix)]
fn write_blob(path: &Path, mode: u32, data: &[u8]) -> std::io::Result<Metadata> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if mode == MODE_LINK {
        std::os::unix::fs::symlink(os_path(data), path)?;
        return std::fs::symlink_metadata(path);
    }
    // Like git: 0666 or 0777, less the umask; `create_new` never follows a symlink.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if mode == MODE_EXEC { 0o777 } else { 0o666 })
        .open(path)?;
    file.write_all(data)?;
    file.metadata()
}

#[cfg(not(unix))]
fn write_blob(_: &Path, _: u32, _: &[u8]) -> std::io::Result<Metadata> {
    Err(std::io::ErrorKind::Unsupported.into())
}

#[cfg(unix)]
fn index_entry(entry: &Entry, md: &Metadata) -> git2::IndexEntry {
    use std::os::unix::fs::MetadataExt;
    // The index keeps 32 bits of each field, as git does: truncation is the format.
    git2::IndexEntry {
        ctime: git2::IndexTime::new(md.ctime() as i32, md.ctime_nsec() as u32),
        mtime: git2::IndexTime::new(md.mtime() as i32, md.mtime_nsec() as u32),
        dev: md.dev() as u32,
        ino: md.ino() as u32,
        mode: entry.mode,
        uid: md.uid(),
        gid: md.gid(),
        file_size: md.size() as u32,
        id: entry.id,
        flags: 0,
        flags_extended: 0,
        path: entry.path.clone(),
    }
}

#[cfg(not(unix))]
fn index_entry(entry: &Entry, _: &Metadata) -> git2::IndexEntry {
    git2::IndexEntry {
        ctime: git2::IndexTime::new(0, 0),
        mtime: git2::IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode: entry.mode,
        uid: 0,
        gid: 0,
        file_size: 0,
        id: entry.id,
        flags: 0,
        flags_extended: 0,
        path: entry.path.clone(),
    }
}

/// Writes the index of the new worktree: every entry with the stat data of the file just
/// written (so nothing is re-hashed by `git status`), and the cache tree, checked against the
/// tree it was made from.
fn write_index(
    git_dir: &Path,
    workdir: &Path,
    plan: &Plan,
    stats: Vec<Option<Metadata>>,
    index_path: &Path,
) -> Result<(), GitError> {
    let fail = |action: &str| git_err(workdir, action.to_owned());
    // Not owned by a repository: libgit2 then neither re-checks that each blob exists nor
    // diffs "racily clean" entries against the working tree when writing.
    let mut index = git2::Index::open(index_path).map_err(fail("create the index"))?;
    for (entry, md) in plan.entries.iter().zip(stats) {
        let md = md.ok_or_else(|| GitError::Io {
            path: workdir.join(os_path(&entry.path)),
            action: "record a file in the index".into(),
            source: std::io::Error::other("the file was not written"),
        })?;
        index
            .add(&index_entry(entry, &md))
            .map_err(fail("add an entry to the index"))?;
    }
    let repo = git2::Repository::open_bare(git_dir).map_err(fail("open the repository"))?;
    let tree = index
        .write_tree_to(&repo)
        .map_err(fail("compute the index's tree"))?;
    if tree != plan.tree {
        return Err(GitError::Io {
            path: index_path.to_owned(),
            action: "build the index".into(),
            source: std::io::Error::other(format!(
                "the index holds tree {tree}, not the checked-out {}",
                plan.tree
            )),
        });
    }
    index.write().map_err(fail("write the index"))
}

/// Deletes the working tree `root` of a linked worktree: every file from several threads, then
/// the directories, and its `.git` file last, so an interrupted removal leaves a worktree git
/// still recognises. Symlinks are removed, never followed. Falls back to a plain recursive
/// removal for whatever the fast pass could not delete (files appearing meanwhile).
pub(super) fn remove_tree(root: &Path) -> Result<(), GitError> {
    let err = |path: &Path| io_err(path, "delete the worktree");
    let mut dirs = vec![root.to_owned()];
    let mut files = Vec::new();
    let mut i = 0;
    while i < dirs.len() {
        let dir = dirs[i].clone();
        for entry in std::fs::read_dir(&dir).map_err(err(&dir))? {
            let entry = entry.map_err(err(&dir))?;
            let path = entry.path();
            if entry.file_type().map_err(err(&path))?.is_dir() {
                dirs.push(path);
            } else if !(i == 0 && entry.file_name() == ".git") {
                files.push(path);
            }
        }
        i += 1;
    }

    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let unlink = || loop {
        let start = next.fetch_add(256, Ordering::Relaxed);
        if start >= files.len() {
            break;
        }
        for file in files.iter().skip(start).take(256) {
            // A failure here resurfaces below, as a directory that is not empty.
            let _ = std::fs::remove_file(file);
        }
    };
    std::thread::scope(|scope| {
        for _ in 0..threads() {
            scope.spawn(unlink);
        }
    });
    crate::util::failpoint::hit("mid-delete");
    let mut leftovers = false;
    // Breadth-first order reversed: every directory comes before its parent.
    for dir in dirs.iter().skip(1).rev() {
        leftovers |= std::fs::remove_dir(dir).is_err();
    }
    if leftovers {
        for dir in dirs.iter().skip(1) {
            match std::fs::remove_dir_all(dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(dir)(e)),
                _ => {}
            }
        }
    }
    let dot_git = root.join(".git");
    match std::fs::remove_file(&dot_git) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(&dot_git)(e)),
        _ => {}
    }
    std::fs::remove_dir(root)
        .or_else(|_| std::fs::remove_dir_all(root))
        .map_err(err(root))
}

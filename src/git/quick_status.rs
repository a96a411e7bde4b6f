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
            unix::quick_status(self)
        }
        #[cfg(not(any(target_os = "linux", target_os = "macos")))]
        {
            unsure("the quick check needs Linux or macOS stat data")
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "macos"))]
mod unix {
    use super::{unsure, QuickStatus, MAX_CONTENT_CHECKS};
    use crate::git::{GitError, Repo};
    use std::collections::HashMap;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicBool, Ordering};

    const MODE_FILE: u32 = 0o100644;
    const MODE_EXEC: u32 = 0o100755;
    const MODE_LINK: u32 = 0o120000;
    const MODE_GITLINK: u32 = 0o160000;
    /// `flags`: stage bits, assume-unchanged and extended flags present.
    const STAGE_MASK: u16 = 0x3000;
    const EXTENDED: u16 = 0x4000;
    const ASSUME_VALID: u16 = 0x8000;
    /// `flags_extended`: intent-to-add and skip-worktree.
    const INTENT_TO_ADD: u16 = 1 << 13;
    const SKIP_WORKTREE: u16 = 1 << 14;
    /// `git hash-object -t blob /dev/null`.
    const EMPTY_BLOB: &str = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391";

    /// What a thread says when another one's finding made it stop.
    const STOPPED: &str = "stopped";

    /// One index entry, as much of it as the check needs.
    struct Tracked {
        path: Vec<u8>,
        id: git2::Oid,
        mode: u32,
        size: u32,
        mtime: (i32, u32),
        ctime: (i32, u32),
        ino: u32,
        uid: u32,
        gid: u32,
    }

    fn os(bytes: &[u8]) -> &Path {
        Path::new(OsStr::from_bytes(bytes))
    }

    pub(super) fn quick_status(repo: &Repo) -> Result<QuickStatus, GitError> {
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

    fn read_index_file(path: &Path) -> std::io::Result<(i64, Vec<u8>)> {
        use std::io::Read;
        let mut file = std::fs::File::open(path)?;
        let mtime = file.metadata()?.mtime();
        let mut data = Vec::new();
        file.read_to_end(&mut data)?;
        Ok((mtime, data))
    }

    /// The entries of an index file (versions 2 to 4), or why the quick check cannot use them.
    ///
    /// Parsed here rather than by libgit2, whose reading (a hash map of every entry, a
    /// checksum over the whole file, path validation) cost as much as all the lstat()s. The
    /// trailing checksum is not verified: a damaged entry cannot make the check pass, since
    /// every id feeds the tree id compared with HEAD's and every path and stat field is
    /// compared with the file system.
    fn parse_index(data: &[u8]) -> Result<(Vec<Tracked>, Option<git2::Oid>), String> {
        const HASH: usize = 20;
        let bad = |what: &str| format!("unexpected index format: {what}");
        let u32_at = |at: usize| -> Result<u32, String> {
            data.get(at..at + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                .ok_or_else(|| bad("truncated"))
        };
        if data.get(..4) != Some(b"DIRC") {
            return Err(bad("no DIRC signature"));
        }
        let version = u32_at(4)?;
        if !(2..=4).contains(&version) {
            return Err(bad(&format!("version {version}")));
        }
        let count = u32_at(8)? as usize;
        let mut entries: Vec<Tracked> = Vec::with_capacity(count.min(data.len() / 62));
        let mut at = 12;
        let mut previous: Vec<u8> = Vec::new();
        for _ in 0..count {
            let start = at;
            let field = |n: usize| u32_at(start + 4 * n);
            let ctime = (field(0)? as i32, field(1)?);
            let mtime = (field(2)? as i32, field(3)?);
            let (ino, mode, uid, gid, size) =
                (field(5)?, field(6)?, field(7)?, field(8)?, field(9)?);
            let id_at = start + 40;
            let id = data
                .get(id_at..id_at + HASH)
                .and_then(|b| git2::Oid::from_bytes(b).ok())
                .ok_or_else(|| bad("truncated"))?;
            let flags_at = id_at + HASH;
            let flags = data
                .get(flags_at..flags_at + 2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .ok_or_else(|| bad("truncated"))?;
            at = flags_at + 2;
            let mut extended = 0;
            if flags & EXTENDED != 0 {
                if version < 3 {
                    return Err(bad("extended flags in version 2"));
                }
                extended = data
                    .get(at..at + 2)
                    .map(|b| u16::from_be_bytes([b[0], b[1]]))
                    .ok_or_else(|| bad("truncated"))?;
                at += 2;
            }
            let path = if version == 4 {
                // The path is the previous one minus `strip` trailing bytes, plus a suffix.
                let mut strip: usize = 0;
                loop {
                    let c = *data.get(at).ok_or_else(|| bad("truncated"))?;
                    at += 1;
                    strip = (strip << 7) | usize::from(c & 0x7f);
                    if c & 0x80 == 0 {
                        break;
                    }
                    strip += 1;
                    if strip > previous.len() {
                        return Err(bad("path prefix"));
                    }
                }
                let keep = previous
                    .len()
                    .checked_sub(strip)
                    .ok_or_else(|| bad("path prefix"))?;
                let len = data[at..]
                    .iter()
                    .position(|&b| b == 0)
                    .ok_or_else(|| bad("path"))?;
                let mut path = previous[..keep].to_vec();
                path.extend_from_slice(&data[at..at + len]);
                at += len + 1;
                path
            } else {
                let len = data
                    .get(at..)
                    .and_then(|rest| rest.iter().position(|&b| b == 0))
                    .ok_or_else(|| bad("path"))?;
                let path = data[at..at + len].to_vec();
                // Entries are NUL-padded to a multiple of 8 bytes.
                at = start + (at - start + len + 8) / 8 * 8;
                path
            };
            if flags & (STAGE_MASK | ASSUME_VALID) != 0
                || extended & (INTENT_TO_ADD | SKIP_WORKTREE) != 0
            {
                return Err(format!(
                    "index entry {} is conflicted, assumed unchanged, intent-to-add or skip-worktree",
                    String::from_utf8_lossy(&path)
                ));
            }
            match mode {
                MODE_FILE | MODE_EXEC | MODE_LINK => {}
                MODE_GITLINK => return Err("the index has a submodule".into()),
                m => return Err(format!("index entry with mode {m:o}")),
            }
            if path.is_empty() || entries.last().is_some_and(|prev| prev.path >= path) {
                return Err(bad("entries not sorted by path"));
            }
            if version == 4 {
                previous.clone_from(&path);
            }
            entries.push(Tracked {
                path,
                id,
                mode,
                size,
                mtime,
                ctime,
                ino,
                uid,
                gid,
            });
        }
        // Extensions: an upper-case signature is optional (a cache), a lower-case one (a
        // split or sparse index) changes what the entries mean.
        let mut cached_root = None;
        while at + HASH < data.len() {
            let signature = data.get(at..at + 4).ok_or_else(|| bad("truncated"))?;
            if !signature[0].is_ascii_uppercase() {
                return Err(format!(
                    "the index has the {} extension",
                    String::from_utf8_lossy(signature)
                ));
            }
            let size = u32_at(at + 4)? as usize;
            if signature == b"TREE" {
                let body = data
                    .get(at + 8..at + 8 + size)
                    .ok_or_else(|| bad("truncated"))?;
                cached_root = cache_tree_root(body, entries.len());
            }
            at += 8 + size;
        }
        if at + HASH != data.len() {
            return Err(bad("trailing data"));
        }
        Ok((entries, cached_root))
    }

    /// The root tree id the index's cache-tree extension records, if it is valid for all
    /// `count` entries (its first record: an empty path, NUL, the entry count, a space, the
    /// subtree count, a newline and the id; a count of -1 marks it invalid).
    fn cache_tree_root(body: &[u8], count: usize) -> Option<git2::Oid> {
        let rest = body.strip_prefix(b"\0")?;
        let newline = rest.iter().position(|&b| b == b'\n')?;
        let header = std::str::from_utf8(&rest[..newline]).ok()?;
        let (entries, _subtrees) = header.split_once(' ')?;
        if entries.parse::<usize>().ok()? != count {
            return None;
        }
        git2::Oid::from_bytes(rest.get(newline + 1..newline + 21)?).ok()
    }

    /// The id of the tree git would write for `entries` (sorted, all under one directory
    /// whose `/`-terminated prefix is `offset` bytes long), or `None` when they cannot form
    /// one (an empty name, a file and a directory of the same name).
    fn tree_id(entries: &[Tracked], offset: usize) -> Option<git2::Oid> {
        let mut data = Vec::with_capacity(entries.len().min(4096) * 48);
        let mut last: &[u8] = &[];
        let mut i = 0;
        while i < entries.len() {
            let rest = &entries[i].path[offset..];
            let (name, mode, id, next) = match rest.iter().position(|&b| b == b'/') {
                Some(slash) => {
                    let name = &rest[..slash];
                    // Index order keeps a directory's entries together and puts the
                    // directory where git's tree order puts it (as if named `name/`).
                    let end = i + entries[i..]
                        .iter()
                        .take_while(|e| {
                            let r = &e.path[offset..];
                            r.len() > slash && r[slash] == b'/' && &r[..slash] == name
                        })
                        .count();
                    let sub = tree_id(&entries[i..end], offset + slash + 1)?;
                    (name, &b"40000"[..], sub, end)
                }
                None => {
                    let e = &entries[i];
                    let mode: &[u8] = match e.mode {
                        MODE_FILE => b"100644",
                        MODE_EXEC => b"100755",
                        MODE_LINK => b"120000",
                        _ => return None,
                    };
                    (rest, mode, e.id, i + 1)
                }
            };
            if name.is_empty() || name == last {
                return None;
            }
            data.extend_from_slice(mode);
            data.push(b' ');
            data.extend_from_slice(name);
            data.push(0);
            data.extend_from_slice(id.as_bytes());
            last = name;
            i = next;
        }
        git2::Oid::hash_object(git2::ObjectType::Tree, &data).ok()
    }

    /// lstat()s each entry of `part` (which starts at `first` in the whole entry list);
    /// returns the indices of the racily clean ones, or why the entries are not provably
    /// unmodified. Each file is looked up by name in its directory, opened once for all its
    /// files (index order keeps them together), which spares the kernel resolving every
    /// full path again: that path walk was a quarter of the time.
    fn compare_stats(
        workdir: &Path,
        part: &[Tracked],
        first: usize,
        index_mtime: i64,
        stop: &AtomicBool,
    ) -> Result<Vec<usize>, String> {
        let mut racy = Vec::new();
        let empty_blob = git2::Oid::from_str(EMPTY_BLOB).map_err(|e| e.to_string())?;
        let root = Dir::open(None, workdir.as_os_str().as_bytes())
            .ok_or_else(|| format!("cannot open {}", workdir.display()))?;
        let mut current: Option<(&[u8], Option<Dir>)> = None;
        let mut name = Vec::new();
        for (i, e) in part.iter().enumerate() {
            if i % 256 == 0 && stop.load(Ordering::Relaxed) {
                return Err(STOPPED.into());
            }
            let (dir, base) = match e.path.iter().rposition(|&b| b == b'/') {
                Some(slash) => (&e.path[..slash], &e.path[slash + 1..]),
                None => (&e.path[..0], &e.path[..]),
            };
            if current.as_ref().is_none_or(|(d, _)| *d != dir) {
                let fd = if dir.is_empty() {
                    None
                } else {
                    Dir::open(Some(&root), dir)
                };
                current = Some((dir, fd));
            }
            let fd = match &current {
                Some((d, Some(fd))) if !d.is_empty() => Some(fd),
                Some((d, None)) if !d.is_empty() => None,
                _ => Some(&root),
            };
            let same = fd
                .and_then(|fd| fd.lstat(base, &mut name))
                .is_some_and(|st| same_stat(e, &st));
            if !same {
                stop.store(true, Ordering::Relaxed);
                return Err(format!(
                    "{} differs from its index entry",
                    String::from_utf8_lossy(&e.path)
                ));
            }
            // 32-bit seconds, as the index stores them and libgit2 compares them.
            if e.mtime.0 >= index_mtime as i32 || (e.size == 0 && e.id != empty_blob) {
                racy.push(first + i);
            }
        }
        Ok(racy)
    }

    /// An open directory to look names up in.
    struct Dir(std::os::fd::OwnedFd);

    impl Dir {
        /// Opens `path` relative to `parent`, never through a final symlink (a tracked
        /// directory replaced by a link is not the directory), or the working tree itself.
        fn open(parent: Option<&Dir>, path: &[u8]) -> Option<Dir> {
            use std::os::fd::{AsRawFd, FromRawFd};
            let path = std::ffi::CString::new(path).ok()?;
            let at = parent.map_or(libc::AT_FDCWD, |d| d.0.as_raw_fd());
            let mut flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
            if parent.is_some() {
                flags |= libc::O_NOFOLLOW;
            }
            // SAFETY: a valid NUL-terminated path and a directory fd we own (or AT_FDCWD).
            let fd = unsafe { libc::openat(at, path.as_ptr(), flags) };
            // SAFETY: a fresh descriptor that nothing else owns.
            (fd >= 0).then(|| Dir(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }))
        }

        /// lstat() of `name` in this directory (`buf` is scratch space for the C string).
        fn lstat(&self, name: &[u8], buf: &mut Vec<u8>) -> Option<libc::stat> {
            use std::os::fd::AsRawFd;
            if name.contains(&0) {
                return None;
            }
            buf.clear();
            buf.extend_from_slice(name);
            buf.push(0);
            let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
            // SAFETY: `buf` is NUL-terminated, `st` is written by a successful call.
            let rc = unsafe {
                libc::fstatat(
                    self.0.as_raw_fd(),
                    buf.as_ptr().cast(),
                    st.as_mut_ptr(),
                    libc::AT_SYMLINK_NOFOLLOW,
                )
            };
            // SAFETY: fstatat succeeded, so it filled `st`.
            (rc == 0).then(|| unsafe { st.assume_init() })
        }
    }

    /// The stat data the index recorded, field by field, as it records it (32 bits each).
    fn same_stat(e: &Tracked, st: &libc::stat) -> bool {
        // `mode_t` is 16 bits on macOS, 32 on Linux.
        #[allow(clippy::useless_conversion)]
        let mode = u32::from(st.st_mode);
        let kind = match e.mode {
            MODE_LINK => mode & 0o170000 == 0o120000,
            MODE_FILE => mode & 0o170000 == 0o100000 && mode & 0o100 == 0,
            MODE_EXEC => mode & 0o170000 == 0o100000 && mode & 0o100 != 0,
            _ => false,
        };
        kind && st.st_size as u32 == e.size
            && (st.st_mtime as i32, st.st_mtime_nsec as u32) == e.mtime
            && (st.st_ctime as i32, st.st_ctime_nsec as u32) == e.ctime
            && st.st_ino as u32 == e.ino
            && st.st_uid == e.uid
            && st.st_gid == e.gid
    }

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
    fn untracked_candidates(
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

    fn is_ignored(repo: &Repo, path: &[u8]) -> Result<bool, GitError> {
        repo.is_ignored(Path::new(os(path)))
    }

    /// Does the untracked, not ignored directory `dir` hold a file that is not ignored (or a
    /// nested repository)? Returns the reason it might count as untracked.
    fn untracked_dir_has_files(
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
}

#[cfg(all(test, any(target_os = "linux", target_os = "macos")))]
mod tests {
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
}

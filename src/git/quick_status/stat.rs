//! Part 2 of the proof, nothing modified: every index entry lstat()ed from several threads
//! and compared with the stat data the index recorded.

use super::index::{Tracked, MODE_EXEC, MODE_FILE, MODE_LINK};
use super::STOPPED;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// `git hash-object -t blob /dev/null`.
const EMPTY_BLOB: &str = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391";

/// lstat()s each entry of `part` (which starts at `first` in the whole entry list);
/// returns the indices of the racily clean ones, or why the entries are not provably
/// unmodified. Each file is looked up by name in its directory, opened once for all its
/// files (index order keeps them together), which spares the kernel resolving every
/// full path again: that path walk was a quarter of the time.
pub(super) fn compare_stats(
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

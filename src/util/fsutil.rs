//! Small filesystem helpers shared by the state, the dashboard, approvals, logs and caches.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};

/// A file operation that failed: what orch was doing, on which path, and why. Every module's
/// error wraps this one rather than spelling out its own.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}", path.display())]
pub struct IoError {
    pub action: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Writes `bytes` to `path` so a reader (or a crash) sees the old content or the new, never
/// a mix, through a temp file beside it that is unique to this write.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(format!(".tmp-{}-{seq}", std::process::id()));
    replace_via(path, &path.with_file_name(tmp_name), bytes, None)
}

/// Replaces `path` with `bytes` through the temp file `tmp` (in the same directory): write,
/// fsync, rename over, fsync the directory. Callers that recover from a crash name their
/// `tmp`; `crash_point` is the failpoint between the write and the rename (crash tests).
/// A write that fails removes its temp file.
pub fn replace_via(
    path: &Path,
    tmp: &Path,
    bytes: &[u8],
    crash_point: Option<&str>,
) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let written = std::fs::File::create(tmp)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()));
    if let Err(e) = written {
        let _ = std::fs::remove_file(tmp);
        return Err(e);
    }
    if let Some(point) = crash_point {
        crate::util::failpoint::hit(point);
    }
    if let Err(e) = std::fs::rename(tmp, path) {
        let _ = std::fs::remove_file(tmp);
        return Err(e);
    }
    std::fs::File::open(dir)?.sync_all()
}

/// `path` with `.` dropped and `..` applied, without looking at the file system
/// (`/r/repo/../wt` is `/r/wt`); `None` when a relative path climbs above its start (or an
/// absolute one above `/`).
pub fn lexical(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    let mut depth = 0usize;
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if depth == 0 {
                    return None;
                }
                depth -= 1;
                out.pop();
            }
            Component::Normal(n) => {
                depth += 1;
                out.push(n);
            }
            Component::RootDir | Component::Prefix(_) => out.push(c.as_os_str()),
        }
    }
    Some(out)
}

/// The temp file a dashboard write goes through: hidden, beside the dashboard (so the rename
/// stays on one filesystem). A crash can leave it behind; it is orch's output, like the
/// dashboard, and `verify-clean` ignores both.
pub fn hidden_temp(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.orch-tmp"))
}

/// A relative path that stays inside the directory it is joined to: not empty, not
/// absolute, no `..`.
pub fn is_inside(rel: &str) -> bool {
    !rel.is_empty()
        && Path::new(rel)
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// `root/rel` when `rel` stays inside `root` (see [`is_inside`]).
pub fn join_inside(root: &Path, rel: &str) -> Option<PathBuf> {
    let rel = rel.trim_end_matches('/');
    is_inside(rel).then(|| root.join(rel))
}

/// The last `max_bytes` of a file as text (lossy: the cut may fall inside a character, and a
/// log may hold bytes that are not UTF-8); empty when it cannot be read. Only the tail is read.
pub fn tail(path: &Path, max_bytes: u64) -> String {
    let read = || -> std::io::Result<Vec<u8>> {
        let mut file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(max_bytes)))?;
        let mut bytes = Vec::new();
        file.take(max_bytes).read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    String::from_utf8_lossy(&read().unwrap_or_default()).into_owned()
}

/// Writes each JSON value as one redacted line, in one write each: under `O_APPEND`, lines
/// from writers in other processes (the guard's shims) never interleave within a line.
pub fn write_json_lines<'v>(
    out: &mut impl std::io::Write,
    lines: impl IntoIterator<Item = &'v serde_json::Value>,
) -> std::io::Result<()> {
    for line in lines {
        let text = format!("{}\n", crate::util::redact::redact(&line.to_string()));
        out.write_all(text.as_bytes())?;
    }
    Ok(())
}

/// Appends JSON lines to the file at `path` (created if need be), as [`write_json_lines`].
pub fn append_json_lines<'v>(
    path: &Path,
    lines: impl IntoIterator<Item = &'v serde_json::Value>,
) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    write_json_lines(&mut file, lines)
}

/// Redacts a file a child process wrote straight to disk (a log), in place: replaced whole
/// (temp file, rename) when it held a secret, left alone otherwise. Not text, or gone: left
/// alone, as nothing orch could show of it would be read as text either.
pub fn redact_in_place(path: &std::path::Path) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let clean = crate::util::redact::redact(&text);
    if clean != text {
        if let Err(e) = write_atomically(path, clean.as_bytes()) {
            tracing::warn!("cannot redact {}: {e}", path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_reads_the_end_only_and_survives_a_cut_character() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, "abc\u{e9}xyz").unwrap();
        assert_eq!(tail(&path, 4), "\u{fffd}xyz");
        assert_eq!(tail(&path, 100), "abc\u{e9}xyz");
        assert_eq!(tail(&dir.path().join("missing"), 10), "");
    }
}

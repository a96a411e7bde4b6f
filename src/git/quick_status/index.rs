//! Reading the index file (versions 2 to 4) without libgit2, and the tree id its entries
//! would make: part 1 of the proof, nothing staged.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

pub(super) const MODE_FILE: u32 = 0o100644;
pub(super) const MODE_EXEC: u32 = 0o100755;
pub(super) const MODE_LINK: u32 = 0o120000;
const MODE_GITLINK: u32 = 0o160000;
/// `flags`: stage bits, assume-unchanged and extended flags present.
const STAGE_MASK: u16 = 0x3000;
const EXTENDED: u16 = 0x4000;
const ASSUME_VALID: u16 = 0x8000;
/// `flags_extended`: intent-to-add and skip-worktree.
const INTENT_TO_ADD: u16 = 1 << 13;
const SKIP_WORKTREE: u16 = 1 << 14;

/// One index entry, as much of it as the check needs.
pub(super) struct Tracked {
    pub path: Vec<u8>,
    pub id: git2::Oid,
    pub mode: u32,
    pub size: u32,
    pub mtime: (i32, u32),
    pub ctime: (i32, u32),
    pub ino: u32,
    pub uid: u32,
    pub gid: u32,
}

pub(super) fn os(bytes: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(bytes))
}

pub(super) fn read_index_file(path: &Path) -> std::io::Result<(i64, Vec<u8>)> {
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
pub(super) fn parse_index(data: &[u8]) -> Result<(Vec<Tracked>, Option<git2::Oid>), String> {
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
        let (ino, mode, uid, gid, size) = (field(5)?, field(6)?, field(7)?, field(8)?, field(9)?);
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
pub(super) fn tree_id(entries: &[Tracked], offset: usize) -> Option<git2::Oid> {
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

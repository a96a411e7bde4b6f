//! A map as prompt text: compact, deterministic, never over its byte budget.
//!
//! Order: a header, then the files under the path hints (in hint order, each with all its
//! definitions), then every other file in path order (definitions capped per file). When the
//! budget runs out, the files not listed are summarised by directory (`tests/ (42 files,
//! 310.0 KB)`) at the deepest level that still fits, and a last line counts whatever even that
//! could not show. Vendored directories are always one summary line.

use super::{vendored_root, MappedFile, RepoMap};
use std::collections::{BTreeMap, BTreeSet};

/// Definitions listed per file outside the hinted paths.
pub const DEFS_PER_FILE: usize = 30;

/// Directory depth summaries start from (then shallower until they fit).
const SUMMARY_MAX_DEPTH: usize = 4;

/// `1234` → `1.2 KB`.
pub fn size_text(bytes: u64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} B")
    } else if b < KB * KB {
        format!("{:.1} KB", b / KB)
    } else if b < KB * KB * KB {
        format!("{:.1} MB", b / (KB * KB))
    } else {
        format!("{:.1} GB", b / (KB * KB * KB))
    }
}

/// A path hint: a file, a directory (with or without a trailing `/`) or a glob.
enum Hint {
    Path(String),
    Glob(globset::GlobMatcher),
}

impl Hint {
    fn parse(raw: &str) -> Option<(Hint, String)> {
        let shown = raw.trim().trim_start_matches("./").trim_end_matches('/');
        if shown.is_empty() || shown == "." {
            return None;
        }
        if shown.contains(['*', '?', '[', '{']) {
            if let Ok(glob) = globset::GlobBuilder::new(shown)
                .literal_separator(true)
                .build()
            {
                return Some((Hint::Glob(glob.compile_matcher()), shown.to_owned()));
            }
        }
        Some((Hint::Path(shown.to_owned()), shown.to_owned()))
    }

    fn matches(&self, path: &str) -> bool {
        match self {
            Hint::Path(p) => {
                path == p || (path.starts_with(p.as_str()) && path.as_bytes()[p.len()] == b'/')
            }
            Hint::Glob(g) => {
                g.is_match(path) || path.match_indices('/').any(|(i, _)| g.is_match(&path[..i]))
            }
        }
    }
}

/// The output under construction, with its limit.
struct Out {
    text: String,
    budget: usize,
}

impl Out {
    fn room(&self) -> usize {
        self.budget - self.text.len()
    }

    /// Appends `s` if it fits in the budget minus `reserve`.
    fn push(&mut self, s: &str, reserve: usize) -> bool {
        if s.len() + reserve <= self.room() {
            self.text.push_str(s);
            true
        } else {
            false
        }
    }
}

fn file_line(f: &MappedFile) -> String {
    match f.skipped {
        Some(skip) => format!("{} ({}, {})\n", f.path, size_text(f.size), skip.name()),
        None => format!("{} ({})\n", f.path, size_text(f.size)),
    }
}

fn def_line(d: &super::Def) -> String {
    format!("  {} {} {}\n", d.line, d.kind, d.name)
}

fn more_defs_line(n: usize) -> String {
    format!("  … {n} more definitions\n")
}

/// A file with at most `cap` definitions, as one block of text.
fn file_block(f: &MappedFile, cap: usize) -> String {
    let mut s = file_line(f);
    for d in f.defs.iter().take(cap) {
        s.push_str(&def_line(d));
    }
    if f.defs.len() > cap {
        s.push_str(&more_defs_line(f.defs.len() - cap));
    }
    s
}

/// Pushes a hinted file: whole if it fits, else its line and as many definitions as fit.
fn push_hinted(out: &mut Out, f: &MappedFile, reserve: usize) -> bool {
    if out.push(&file_block(f, usize::MAX), reserve) {
        return true;
    }
    if !out.push(&file_line(f), reserve) {
        return false;
    }
    for (i, d) in f.defs.iter().enumerate() {
        let rest = f.defs.len() - i - 1;
        let tail = if rest > 0 {
            more_defs_line(rest).len()
        } else {
            0
        };
        if !out.push(&def_line(d), reserve + tail) {
            out.push(&more_defs_line(f.defs.len() - i), reserve);
            break;
        }
    }
    true
}

/// The first `depth` directories of `path` (`a/b/`), or `./` for a top-level file.
fn dir_key(path: &str, depth: usize) -> String {
    let dirs: Vec<&str> = path.split('/').collect();
    let dirs = &dirs[..dirs.len() - 1];
    if dirs.is_empty() {
        return "./".to_owned();
    }
    let mut key = dirs[..dirs.len().min(depth)].join("/");
    key.push('/');
    key
}

#[derive(Default)]
struct Group {
    files: usize,
    bytes: u64,
    vendored: usize,
}

fn summary_line(key: &str, g: &Group, partly_listed: bool) -> String {
    let more = if partly_listed { " more" } else { "" };
    let noun = if g.files == 1 { "file" } else { "files" };
    let vendored = if g.vendored == g.files {
        ", vendored"
    } else {
        ""
    };
    format!(
        "{key} ({}{more} {noun}, {}{vendored})\n",
        g.files,
        size_text(g.bytes)
    )
}

fn tail_line(files: usize, bytes: u64) -> String {
    let noun = if files == 1 { "file" } else { "files" };
    format!("… {files} more {noun} ({}) not shown\n", size_text(bytes))
}

/// Summary lines of the files not `covered`, grouped `depth` directories deep.
fn summaries(map: &RepoMap, covered: &[bool], depth: usize) -> Vec<String> {
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut listed: BTreeSet<String> = BTreeSet::new();
    for (f, &done) in map.files.iter().zip(covered) {
        let key = dir_key(&f.path, depth);
        if done {
            listed.insert(key);
            continue;
        }
        let g = groups.entry(key).or_default();
        g.files += 1;
        g.bytes += f.size;
        if vendored_root(&f.path).is_some() {
            g.vendored += 1;
        }
    }
    groups
        .iter()
        .map(|(key, g)| summary_line(key, g, listed.contains(key)))
        .collect()
}

/// Renders `map` for a prompt: files under `hints` first, then the rest in path order, then
/// directory summaries once `budget_bytes` runs out. The result is never longer than
/// `budget_bytes` (empty when not even the header fits) and depends only on its inputs.
pub fn render(map: &RepoMap, hints: &[String], budget_bytes: usize) -> String {
    let total_bytes: u64 = map.files.iter().map(|f| f.size).sum();
    let mut out = Out {
        text: String::new(),
        budget: budget_bytes,
    };
    let header = format!(
        "## Repository map (tree {}: {} files, {})\n\
         Each file is `path (size)`, then `line kind name` for its top-level definitions; \
         `dir/ (N files, size)` summarises files not listed.\n",
        &map.tree[..map.tree.len().min(12)],
        map.files.len(),
        size_text(total_bytes),
    );
    if !out.push(&header, 0) {
        return String::new();
    }
    // Room kept for the last line counting what was not shown (a few bytes of slack for
    // the size's width).
    let reserve = tail_line(map.files.len(), total_bytes).len() + 4;
    let mut covered = vec![false; map.files.len()];
    let mut stopped = false;

    // Hinted paths, in hint order.
    let hints: Vec<(Hint, String)> = hints.iter().filter_map(|h| Hint::parse(h)).collect();
    if !hints.is_empty() {
        stopped = !out.push("### Path hints\n", reserve);
        for (hint, shown) in &hints {
            if stopped {
                break;
            }
            let mut any = false;
            for (i, f) in map.files.iter().enumerate() {
                if !hint.matches(&f.path) {
                    continue;
                }
                any = true;
                if covered[i] {
                    continue;
                }
                if !push_hinted(&mut out, f, reserve) {
                    stopped = true;
                    break;
                }
                covered[i] = true;
            }
            if !any && !stopped {
                stopped = !out.push(&format!("{shown} (not in the tree)\n"), reserve);
            }
        }
    }

    // Everything else, in path order.
    if !stopped && covered.iter().any(|c| !c) {
        stopped = !out.push("### Files\n", reserve);
    }
    let mut i = 0;
    while !stopped && i < map.files.len() {
        let f = &map.files[i];
        if covered[i] {
            i += 1;
            continue;
        }
        if let Some(root) = vendored_root(&f.path) {
            let members: Vec<usize> = (i..map.files.len())
                .filter(|&j| !covered[j] && map.files[j].path.starts_with(root))
                .collect();
            let group = Group {
                files: members.len(),
                bytes: members.iter().map(|&j| map.files[j].size).sum(),
                vendored: members.len(),
            };
            let partly =
                (0..map.files.len()).any(|j| covered[j] && map.files[j].path.starts_with(root));
            if !out.push(&summary_line(root, &group, partly), reserve) {
                break;
            }
            for j in members {
                covered[j] = true;
            }
        } else {
            if !out.push(&file_block(f, DEFS_PER_FILE), reserve) {
                break;
            }
            covered[i] = true;
        }
        i += 1;
    }

    // What did not fit: directory summaries, as deep as the budget allows.
    let left: Vec<&MappedFile> = map
        .files
        .iter()
        .zip(&covered)
        .filter(|(_, c)| !**c)
        .map(|(f, _)| f)
        .collect();
    if left.is_empty() {
        return out.text;
    }
    for depth in (1..=SUMMARY_MAX_DEPTH).rev() {
        let lines = summaries(map, &covered, depth);
        let len: usize = lines.iter().map(String::len).sum();
        if len <= out.room() {
            for line in lines {
                out.text.push_str(&line);
            }
            return out.text;
        }
    }
    // Not even one line per top-level directory fits: as many as do, then a count.
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for (f, _) in map.files.iter().zip(&covered).filter(|(_, c)| !**c) {
        let g = groups.entry(dir_key(&f.path, 1)).or_default();
        g.files += 1;
        g.bytes += f.size;
        if vendored_root(&f.path).is_some() {
            g.vendored += 1;
        }
    }
    let (mut left_files, mut left_bytes) = (left.len(), left.iter().map(|f| f.size).sum::<u64>());
    for (key, g) in &groups {
        let partly = map
            .files
            .iter()
            .zip(&covered)
            .any(|(f, c)| *c && dir_key(&f.path, 1) == *key);
        let after = tail_line(left_files - g.files, left_bytes - g.bytes);
        let reserve = if left_files > g.files { after.len() } else { 0 };
        if !out.push(&summary_line(key, g, partly), reserve) {
            break;
        }
        left_files -= g.files;
        left_bytes -= g.bytes;
    }
    if left_files > 0 {
        out.push(&tail_line(left_files, left_bytes), 0);
    }
    out.text
}

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

/// For each index `i`, an upper bound of the length of the one-directory-deep summary of
/// the files from `i` on that are not `covered` (every line counted as if it said "more").
fn suffix_summary_lengths(map: &RepoMap, covered: &[bool]) -> Vec<usize> {
    let mut out = vec![0; map.files.len() + 1];
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut total = 0;
    for i in (0..map.files.len()).rev() {
        if !covered[i] {
            let f = &map.files[i];
            let key = dir_key(&f.path, 1);
            let g = groups.entry(key.clone()).or_default();
            if g.files > 0 {
                total -= summary_line(&key, g, true).len();
            }
            g.files += 1;
            g.bytes += f.size;
            if vendored_root(&f.path).is_some() {
                g.vendored += 1;
            }
            total += summary_line(&key, g, true).len();
        }
        out[i] = total;
    }
    out
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

    // Everything else, in path order, as long as what follows still fits summarised.
    let after = suffix_summary_lengths(map, &covered);
    let first = covered.iter().position(|c| !c);
    if let Some(first) = first {
        stopped = stopped || !out.push("### Files\n", after[first]);
    }
    let mut i = 0;
    while !stopped && i < map.files.len() {
        let f = &map.files[i];
        if covered[i] {
            i += 1;
            continue;
        }
        if let Some(root) = vendored_root(&f.path) {
            // A vendored directory's files are contiguous in path order.
            let end = (i..map.files.len())
                .find(|&j| !map.files[j].path.starts_with(root))
                .unwrap_or(map.files.len());
            let members: Vec<usize> = (i..end).filter(|&j| !covered[j]).collect();
            let group = Group {
                files: members.len(),
                bytes: members.iter().map(|&j| map.files[j].size).sum(),
                vendored: members.len(),
            };
            let partly = (i..end).any(|j| covered[j]);
            if !out.push(&summary_line(root, &group, partly), after[end]) {
                break;
            }
            for j in members {
                covered[j] = true;
            }
            i = end;
        } else {
            if !out.push(&file_block(f, DEFS_PER_FILE), after[i + 1]) {
                break;
            }
            covered[i] = true;
            i += 1;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::repomap::{Def, Lang, Skip};

    fn file(path: &str, size: u64, defs: &[(u32, &str, &str)]) -> MappedFile {
        MappedFile {
            path: path.to_owned(),
            size,
            lang: Some(Lang::Rust),
            skipped: None,
            defs: defs
                .iter()
                .map(|(line, kind, name)| Def {
                    line: *line,
                    kind: (*kind).to_owned(),
                    name: (*name).to_owned(),
                })
                .collect(),
        }
    }

    fn sample() -> RepoMap {
        let mut files = vec![
            file("Cargo.toml", 900, &[]),
            file(
                "src/engine.rs",
                40_000,
                &[(10, "struct", "Engine"), (50, "fn", "run")],
            ),
            file("src/git/mod.rs", 7_000, &[(5, "struct", "Repo")]),
            file("src/lib.rs", 800, &[(1, "mod", "engine")]),
        ];
        for i in 0..40 {
            files.push(file(
                &format!("tests/case_{i:02}.rs"),
                2_000,
                &[(1, "fn", "case")],
            ));
        }
        for i in 0..5 {
            let mut f = file(&format!("vendor/dep/file{i}.rs"), 1_000, &[]);
            f.skipped = Some(Skip::Vendored);
            f.lang = None;
            files.push(f);
        }
        RepoMap {
            tree: "0123456789abcdef0123456789abcdef01234567".to_owned(),
            files,
        }
    }

    #[test]
    fn everything_listed_when_the_budget_allows() {
        let text = render(&sample(), &[], 100_000);
        assert!(text.starts_with("## Repository map (tree 0123456789ab: 49 files, 130.6 KB)\n"));
        assert!(text.contains("### Files\nCargo.toml (900 B)\nsrc/engine.rs (39.1 KB)\n  10 struct Engine\n  50 fn run\n"));
        assert!(text.contains("tests/case_39.rs (2.0 KB)\n  1 fn case\n"));
        assert!(
            text.ends_with("vendor/ (5 files, 4.9 KB, vendored)\n"),
            "{text}"
        );
        assert!(!text.contains("### Path hints"));
    }

    #[test]
    fn hinted_paths_come_first_in_hint_order() {
        let hints = vec![
            "src/git/".to_owned(),
            "./src/engine.rs".to_owned(),
            "src/error.rs".to_owned(),
            "tests/case_0*.rs".to_owned(),
        ];
        let text = render(&sample(), &hints, 100_000);
        let hinted = text
            .split("### Path hints\n")
            .nth(1)
            .unwrap()
            .split("### Files\n")
            .next()
            .unwrap();
        let firsts: Vec<&str> = hinted.lines().filter(|l| !l.starts_with(' ')).collect();
        assert_eq!(
            firsts[..4],
            [
                "src/git/mod.rs (6.8 KB)",
                "src/engine.rs (39.1 KB)",
                "src/error.rs (not in the tree)",
                "tests/case_00.rs (2.0 KB)"
            ]
        );
        assert_eq!(firsts.len(), 3 + 10);
        // Listed once: not repeated among the other files.
        assert_eq!(text.matches("src/engine.rs (").count(), 1);
    }

    #[test]
    fn never_over_budget_and_deterministic() {
        let map = sample();
        let hints = vec!["src/".to_owned()];
        for budget in 0..3_000 {
            let a = render(&map, &hints, budget);
            assert!(a.len() <= budget, "{budget}: {} bytes", a.len());
            assert_eq!(a, render(&map, &hints, budget));
        }
    }

    #[test]
    fn directories_are_summarised_once_the_budget_runs_out() {
        let map = sample();
        let text = render(&map, &["src/engine.rs".to_owned()], 700);
        assert!(text.contains("  50 fn run\n"), "{text}");
        assert!(text.contains("tests/ ("), "{text}");
        // Every file is accounted for: listed, or counted in a summary or the last line.
        let listed = text
            .lines()
            .filter(|l| !l.starts_with([' ', '#', '…']) && !l.starts_with("Each file"))
            .filter(|l| !l.contains(" files, ") && !l.contains(" file, "))
            .count();
        let counted: usize = text
            .lines()
            .filter_map(|l| {
                let rest = l.split_once(" (")?.1;
                let n = rest.split(' ').next()?;
                (rest.contains(" files,") || rest.contains(" file,"))
                    .then(|| n.parse::<usize>().ok())?
            })
            .sum();
        let tail: usize = text
            .lines()
            .filter_map(|l| {
                l.strip_prefix("… ")?
                    .split(' ')
                    .next()?
                    .parse::<usize>()
                    .ok()
            })
            .sum();
        assert_eq!(listed + counted + tail, map.files.len(), "{text}");
    }

    #[test]
    fn summaries_go_as_deep_as_fits() {
        let map = sample();
        let full = render(&map, &[], 100_000);
        let header_len = full.find("### Files").unwrap();
        // Room for the header, the section line and a few summaries only.
        let text = render(&map, &[], header_len + 200);
        assert!(
            text.ends_with(
                "src/engine.rs (39.1 KB)\n  10 struct Engine\n  50 fn run\n\
             src/ (2 more files, 7.6 KB)\ntests/ (40 files, 78.1 KB)\n\
             vendor/ (5 files, 4.9 KB, vendored)\n"
            ),
            "{text}"
        );
        // With more room, the summaries go one directory deeper.
        let roomy = render(&map, &[], text.len() + 60);
        assert!(
            roomy.contains("src/git/mod.rs (6.8 KB)\n  5 struct Repo\n")
                || roomy.contains("src/git/ (1 file, 6.8 KB)\n"),
            "{roomy}"
        );
        assert!(
            roomy.contains("vendor/dep/ (5 files, 4.9 KB, vendored)\n"),
            "{roomy}"
        );
    }

    #[test]
    fn long_definition_lists_are_capped_outside_the_hints() {
        let defs: Vec<(u32, &str, &str)> = (1..=50).map(|i| (i, "fn", "f")).collect();
        let map = RepoMap {
            tree: "abc".to_owned(),
            files: vec![file("big.rs", 10, &defs)],
        };
        let text = render(&map, &[], 100_000);
        assert_eq!(text.matches("  ").count(), DEFS_PER_FILE + 1);
        assert!(text.ends_with("  … 20 more definitions\n"), "{text}");
        let hinted = render(&map, &["big.rs".to_owned()], 100_000);
        assert!(hinted.contains("  50 fn f\n"));
        // A hinted file too big for the budget keeps its line and the definitions that fit.
        let tight = render(&map, &["big.rs".to_owned()], 400);
        assert!(!tight.contains("  50 fn f"), "{tight}");
        assert!(tight.contains("big.rs (10 B)\n  1 fn f\n"), "{tight}");
        assert!(tight.contains("more definitions\n"), "{tight}");
    }

    #[test]
    fn sizes() {
        assert_eq!(size_text(0), "0 B");
        assert_eq!(size_text(1023), "1023 B");
        assert_eq!(size_text(1536), "1.5 KB");
        assert_eq!(size_text(3 * 1024 * 1024), "3.0 MB");
    }
}

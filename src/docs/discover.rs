//! Finds issue docs under a base directory by glob, reads and parses them all, and reports
//! every problem at once (including ids shared by two docs).

use super::issue::{self, IssueDoc, MAX_DOC_BYTES};
use crate::problem::{self, Problem};
use globset::{GlobBuilder, GlobMatcher};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Where issue docs are looked for, relative to the docs base.
pub const DEFAULT_DOCS_GLOB: &str = "docs/projects/**/issues/*.md";

#[derive(Debug, Error)]
pub enum DiscoverError {
    #[error("invalid docs glob `{glob}`: {source}")]
    Glob {
        glob: String,
        #[source]
        source: globset::Error,
    },
    #[error("docs directory `{}` does not exist", dir.display())]
    MissingDir { dir: PathBuf },
}

/// Every issue doc found, parsed, plus every problem found along the way.
#[derive(Debug, Default)]
pub struct DocSet {
    /// Parsed docs, sorted by path.
    pub docs: Vec<IssueDoc>,
    /// Errors and warnings, sorted by file and line.
    pub problems: Vec<Problem>,
    /// How many files matched the glob.
    pub files: usize,
}

impl DocSet {
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(Problem::is_error)
    }

    pub fn by_id(&self) -> BTreeMap<&str, &IssueDoc> {
        self.docs.iter().map(|d| (d.id.as_str(), d)).collect()
    }

    /// Milestones that have at least one doc, naturally sorted.
    pub fn milestones(&self) -> Vec<&str> {
        let mut ms: Vec<&str> = self.docs.iter().map(|d| d.milestone.as_str()).collect();
        ms.sort_by(|a, b| crate::natural::compare(a, b));
        ms.dedup();
        ms
    }
}

/// Loads every doc matching `glob` under `base`. Paths in docs and problems are
/// `base.join(relative)` (just `relative` when `base` is `.`).
pub fn load(base: &Path, glob: &str) -> Result<DocSet, DiscoverError> {
    let matcher = GlobBuilder::new(glob)
        .literal_separator(true)
        .build()
        .map_err(|source| DiscoverError::Glob {
            glob: glob.to_owned(),
            source,
        })?
        .compile_matcher();
    let prefix = literal_prefix(glob);
    let walk_root = base.join(&prefix);
    if !walk_root.is_dir() {
        let dir = if base == Path::new(".") {
            prefix
        } else {
            walk_root
        };
        return Err(DiscoverError::MissingDir { dir });
    }
    let started = std::time::Instant::now();
    let mut problems = Vec::new();
    let files = find(base, &walk_root, &matcher, &mut problems);
    let display = |rel: &Path| -> PathBuf {
        if base == Path::new(".") {
            rel.to_owned()
        } else {
            base.join(rel)
        }
    };
    let parsed = parse_all(base, &files, &display);
    let mut docs = Vec::with_capacity(files.len());
    for result in parsed {
        match result {
            Ok(doc) => docs.push(doc),
            Err(mut ps) => problems.append(&mut ps),
        }
    }
    problems.extend(duplicate_ids(&docs));
    problem::sort(&mut problems);
    tracing::debug!(
        files = files.len(),
        docs = docs.len(),
        problems = problems.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "loaded issue docs from {}",
        walk_root.display()
    );
    Ok(DocSet {
        files: files.len(),
        docs,
        problems,
    })
}

/// The leading part of the glob with no pattern characters: where the walk starts.
fn literal_prefix(glob: &str) -> PathBuf {
    let mut prefix = PathBuf::new();
    let parts: Vec<&str> = glob.split('/').collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        if part.contains(['*', '?', '[', '{']) {
            break;
        }
        prefix.push(part);
    }
    prefix
}

fn find(
    base: &Path,
    walk_root: &Path,
    matcher: &GlobMatcher,
    problems: &mut Vec<Problem>,
) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let walker = walkdir::WalkDir::new(walk_root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !is_hidden_or_vcs(e.file_name()));
    for entry in walker {
        match entry {
            Ok(entry) => {
                if entry.file_type().is_dir() {
                    continue;
                }
                let Ok(rel) = entry.path().strip_prefix(base) else {
                    continue;
                };
                if matcher.is_match(rel) {
                    files.push(rel.to_owned());
                }
            }
            Err(e) => {
                let path = e
                    .path()
                    .map(Path::to_owned)
                    .unwrap_or_else(|| walk_root.to_owned());
                problems.push(
                    Problem::error(path, None, format!("cannot read directory entry: {e}"))
                        .with_hint("check the file permissions"),
                );
            }
        }
    }
    files
}

fn is_hidden_or_vcs(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with('.') || name == "node_modules" || name == "target"
}

/// Reads and parses files on all cores; results come back in input order.
fn parse_all(
    base: &Path,
    files: &[PathBuf],
    display: &(dyn Fn(&Path) -> PathBuf + Sync),
) -> Vec<Result<IssueDoc, Vec<Problem>>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = files.len().div_ceil(threads).max(64);
    std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|rel| read_and_parse(&base.join(rel), &display(rel)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

fn read_and_parse(full: &Path, shown: &Path) -> Result<IssueDoc, Vec<Problem>> {
    let bytes = read_bounded(full).map_err(|message| {
        vec![Problem::error(shown, None, message)
            .with_hint("issue docs must be readable Markdown files smaller than 4 MiB")]
    })?;
    issue::parse(shown, &bytes)
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open file: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_DOC_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read file: {e}"))?;
    if bytes.len() as u64 > MAX_DOC_BYTES {
        return Err(format!(
            "file is larger than {} MiB; not an issue doc",
            MAX_DOC_BYTES / (1024 * 1024)
        ));
    }
    Ok(bytes)
}

fn duplicate_ids(docs: &[IssueDoc]) -> Vec<Problem> {
    let mut first: BTreeMap<&str, &IssueDoc> = BTreeMap::new();
    let mut problems = Vec::new();
    for doc in docs {
        match first.get(doc.id.as_str()) {
            None => {
                first.insert(&doc.id, doc);
            }
            Some(original) => problems.push(
                Problem::error(
                    &doc.path,
                    doc.line_of("id"),
                    format!(
                        "duplicate id `{}`: also used by {}",
                        doc.id,
                        problem::location(&original.path, original.line_of("id"))
                    ),
                )
                .with_hint("give each issue doc its own id"),
            ),
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::literal_prefix;
    use std::path::Path;

    #[test]
    fn walk_starts_at_the_literal_prefix() {
        assert_eq!(
            literal_prefix("docs/projects/**/issues/*.md"),
            Path::new("docs/projects")
        );
        assert_eq!(literal_prefix("*.md"), Path::new(""));
        assert_eq!(literal_prefix("a/b/c.md"), Path::new("a/b"));
    }
}

//! Finds issue docs under a base directory by glob, reads and parses them all, and keeps
//! every problem found, with the project and milestone of the doc it is in: whether a
//! problem blocks a run depends on whose doc it is (see [`crate::model::plan`]).

use super::issue::{self, BrokenDoc, IssueDoc, Membership, MAX_DOC_BYTES};
use crate::model::naming::Scope;
use crate::model::problem::{self, Problem};
use globset::{GlobBuilder, GlobMatcher};
use std::io::Read;
use std::path::{Component, Path, PathBuf};
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

/// Every issue doc found: those that parsed, and those with problems.
#[derive(Debug, Default)]
pub struct DocSet {
    /// Parsed docs, sorted by path.
    pub docs: Vec<IssueDoc>,
    /// Docs (and unreadable directory entries) with problems, sorted by path.
    pub broken: Vec<BrokenDoc>,
    /// How many files matched the glob.
    pub files: usize,
    /// What decides whether a file is read: the glob and the base its paths are relative to
    /// (`None` for docs held in memory).
    reach: Option<(GlobMatcher, PathBuf)>,
}

impl DocSet {
    /// Every problem of every broken doc, sorted by file and line.
    pub fn problems(&self) -> Vec<Problem> {
        let mut all: Vec<Problem> = self
            .broken
            .iter()
            .flat_map(|b| b.problems.iter().cloned())
            .collect();
        problem::sort(&mut all);
        all
    }

    /// Every milestone some doc names (also a broken one), by project, then naturally.
    pub fn scopes(&self) -> Vec<Scope> {
        let broken = self.broken.iter().filter_map(|b| match &b.milestone {
            Membership::In(m) => Some((b.project.as_deref(), m.as_str())),
            _ => None,
        });
        let unique: std::collections::HashSet<(Option<&str>, &str)> = self
            .docs
            .iter()
            .filter_map(|d| Some((d.project.as_deref(), d.milestone.as_deref()?)))
            .chain(broken)
            .collect();
        let mut all: Vec<Scope> = unique.into_iter().map(|(p, m)| Scope::new(p, m)).collect();
        all.sort();
        all
    }

    /// Every project some doc belongs to, sorted.
    pub fn projects(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .docs
            .iter()
            .filter_map(|d| d.project.clone())
            .chain(self.broken.iter().filter_map(|b| b.project.clone()))
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// Whether a doc moved to `shown` (a path as docs are shown) would still be read: the
    /// ways out of a blocking doc suggest `_archive/` only where the glob does not reach.
    pub fn would_read(&self, shown: &Path) -> bool {
        match &self.reach {
            Some((matcher, base)) => {
                let rel = if base == Path::new(".") {
                    shown
                } else {
                    shown.strip_prefix(base).unwrap_or(shown)
                };
                matcher.is_match(rel)
            }
            None => false,
        }
    }

    /// The parsed docs of `scope`.
    pub fn members<'a>(&'a self, scope: &'a Scope) -> impl Iterator<Item = &'a IssueDoc> + 'a {
        self.docs.iter().filter(move |d| {
            d.milestone.as_deref() == Some(scope.milestone.as_str()) && d.project == scope.project
        })
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
    let mut broken: Vec<BrokenDoc> = problems
        .into_iter()
        .map(|p| BrokenDoc {
            project: dir_project(p.path.strip_prefix(base).unwrap_or(&p.path)),
            ..BrokenDoc::unreadable(&p.path.clone(), vec![p])
        })
        .collect();
    for (result, rel) in parsed.into_iter().zip(&files) {
        match placed(result, rel) {
            Ok(doc) => docs.push(doc),
            Err(b) => broken.push(b),
        }
    }
    broken.sort_by(|a, b| a.path.cmp(&b.path));
    attribute(&docs, &mut broken);
    tracing::debug!(
        files = files.len(),
        docs = docs.len(),
        broken = broken.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "loaded issue docs from {}",
        walk_root.display()
    );
    Ok(DocSet {
        files: files.len(),
        docs,
        broken,
        reach: Some((matcher, base.to_owned())),
    })
}

/// A parsed (or broken) doc given the project of its directory when it names none itself.
fn placed(result: Result<IssueDoc, BrokenDoc>, rel: &Path) -> Result<IssueDoc, BrokenDoc> {
    match result {
        Ok(mut doc) => {
            doc.project = doc.project.or_else(|| dir_project(rel));
            Ok(doc)
        }
        Err(mut b) => {
            match &b.project {
                Some(declared) => b.projects = Box::new([Some(declared.clone())]),
                None => b.project = dir_project(rel),
            }
            problem::sort(&mut b.problems);
            Err(b)
        }
    }
}

/// Which projects a broken doc whose own `project:` could not be read may belong to: its
/// directory's, and every one the docs beside it declare. A tree's directory need not be
/// named like its docs' project (`issues/` of `cli-orch` holding docs that say `project:
/// cli-orchestration-v0`), and such a doc blocks that project's runs too.
fn attribute(docs: &[IssueDoc], broken: &mut [BrokenDoc]) {
    // Owned: the broken docs are taken in below.
    let mut declared: std::collections::BTreeMap<PathBuf, Vec<Option<String>>> = Default::default();
    let siblings = docs.iter().map(|d| (d.path.parent(), &d.project)).chain(
        broken
            .iter()
            .filter(|b| !b.projects.is_empty())
            .map(|b| (b.path.parent(), &b.project)),
    );
    for (dir, project) in siblings {
        if let Some(dir) = dir {
            declared
                .entry(dir.to_owned())
                .or_default()
                .push(project.clone());
        }
    }
    for b in broken.iter_mut().filter(|b| b.projects.is_empty()) {
        let mut projects = vec![b.project.clone()];
        if let Some(beside) = b.path.parent().and_then(|dir| declared.get(dir)) {
            projects.extend(beside.iter().cloned());
        }
        projects.sort();
        projects.dedup();
        b.projects = projects.into_boxed_slice();
    }
}

impl DocSet {
    /// The docs of texts held in memory: `(shown path, path relative to the docs base,
    /// bytes)` each, as [`load`] would read them from disk (`orch docs fix` checks the docs
    /// it is about to write this way).
    pub fn from_texts<'a>(
        texts: impl IntoIterator<Item = (&'a Path, &'a Path, &'a [u8])>,
    ) -> DocSet {
        let mut set = DocSet::default();
        for (shown, rel, bytes) in texts {
            set.files += 1;
            let parsed = issue::parse(shown, bytes).map_err(|b| with_fixability(b, bytes));
            match placed(parsed, rel) {
                Ok(doc) => set.docs.push(doc),
                Err(b) => set.broken.push(b),
            }
        }
        set.docs.sort_by(|a, b| a.path.cmp(&b.path));
        set.broken.sort_by(|a, b| a.path.cmp(&b.path));
        attribute(&set.docs, &mut set.broken);
        set
    }
}

/// The project a doc's directory names: `<project>` of `…/projects/<project>/issues/…`.
pub fn dir_project(rel: &Path) -> Option<String> {
    let parts: Vec<&std::ffi::OsStr> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p),
            _ => None,
        })
        .collect();
    parts
        .windows(3)
        .rev()
        .find(|w| w[0] == "projects" && w[2] == "issues")
        .map(|w| w[1].to_string_lossy().into_owned())
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
) -> Vec<Result<IssueDoc, BrokenDoc>> {
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
            // A reader that panicked would leave the results out of step with the paths:
            // its panic goes on, here.
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

fn read_and_parse(full: &Path, shown: &Path) -> Result<IssueDoc, BrokenDoc> {
    let bytes = read_bounded(full).map_err(|message| {
        BrokenDoc::unreadable(
            shown,
            vec![Problem::error(shown, None, message)
                .with_hint("issue docs must be readable Markdown files smaller than 4 MiB")],
        )
    })?;
    issue::parse(shown, &bytes).map_err(|b| with_fixability(b, &bytes))
}

/// Notes whether `orch docs fix` turns the broken doc into one that reads.
fn with_fixability(mut broken: BrokenDoc, bytes: &[u8]) -> BrokenDoc {
    if broken.milestone != issue::Membership::NotAnIssueDoc {
        let fixed = super::fix::fix(bytes, &[]);
        broken.fixable = fixed.changed() && issue::parse(&broken.path, &fixed.bytes).is_ok();
    }
    broken
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open file: {e}"))?;
    // Room for the whole file (and the read that finds its end) at once: no growing buffer,
    // no probing reads.
    let size = file
        .metadata()
        .map_or(0, |m| m.len())
        .min(MAX_DOC_BYTES + 1);
    let mut bytes = Vec::with_capacity(size as usize + 1);
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

#[cfg(test)]
mod tests {
    use super::{dir_project, literal_prefix};
    use std::path::Path;

    #[test]
    fn the_project_is_the_directory_above_issues() {
        let p = |s: &str| dir_project(Path::new(s));
        assert_eq!(
            p("docs/projects/ledger-api/issues/L-1.md").as_deref(),
            Some("ledger-api")
        );
        assert_eq!(
            p("x/docs/projects/a/issues/sub/L-1.md").as_deref(),
            Some("a")
        );
        assert_eq!(p("issues/L-1.md"), None);
        assert_eq!(p("docs/projects/a/L-1.md"), None);
    }

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

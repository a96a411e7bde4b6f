//! The repository map for agent handoff ("index-first"): every file of a commit's tree with
//! its size, and for source files their top-level definitions, so a prompt can tell the agent
//! where things are instead of leaving it to search.
//!
//! A map is built from the object database (no checkout needed), once per tree: it is cached
//! as JSON at `<common_dir>/orch/maps/<tree-oid>.json` (written atomically) and loaded from
//! there while the tree is unchanged. [`render`] turns a map into compact text within a byte
//! budget, hinted paths first; [`for_prompt`] is the one call the engine makes.

mod extract;
mod render;

pub use extract::{defs, detect};
pub use render::render;

use crate::git::{GitError, Repo, TreeFile};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Files larger than this are listed with their size only.
pub const MAX_MAPPED_BYTES: u64 = 512 * 1024;

/// How many trees' maps the cache keeps (the most recently written).
pub const CACHED_MAPS: usize = 16;

/// Bumped whenever extraction changes, so stale caches are rebuilt instead of trusted.
pub const CACHE_FORMAT: u32 = 1;

/// A commit tree's map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoMap {
    /// The tree's object id.
    pub tree: String,
    /// Every regular file, in path order.
    pub files: Vec<MappedFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappedFile {
    pub path: String,
    pub size: u64,
    /// The language definitions were extracted for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<Lang>,
    /// Why the file's content was not looked at, if it was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<Skip>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub defs: Vec<Def>,
}

/// A top-level definition: where, what kind (`fn`, `class`, …) and its name. Stored as
/// `[line, kind, name]`: maps of large trees hold hundreds of thousands of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "(u32, String, String)", from = "(u32, String, String)")]
pub struct Def {
    pub line: u32,
    pub kind: String,
    pub name: String,
}

impl From<Def> for (u32, String, String) {
    fn from(d: Def) -> Self {
        (d.line, d.kind, d.name)
    }
}

impl From<(u32, String, String)> for Def {
    fn from((line, kind, name): (u32, String, String)) -> Self {
        Def { line, kind, name }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Rust,
    Python,
    JavaScript,
    TypeScript,
    Go,
    Java,
    Kotlin,
    CSharp,
    C,
    Cpp,
    Ruby,
    Shell,
}

impl Lang {
    pub fn name(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::JavaScript => "javascript",
            Lang::TypeScript => "typescript",
            Lang::Go => "go",
            Lang::Java => "java",
            Lang::Kotlin => "kotlin",
            Lang::CSharp => "csharp",
            Lang::C => "c",
            Lang::Cpp => "cpp",
            Lang::Ruby => "ruby",
            Lang::Shell => "shell",
        }
    }
}

/// Why a file's content was not mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Skip {
    /// It holds a NUL byte, or its extension says so.
    Binary,
    /// Larger than [`MAX_MAPPED_BYTES`].
    Large,
    /// Under a vendored or dependency directory (`vendor/`, `node_modules/`, …).
    Vendored,
    /// A lock file, minified or generated code.
    Generated,
}

impl Skip {
    pub fn name(self) -> &'static str {
        match self {
            Skip::Binary => "binary",
            Skip::Large => "large",
            Skip::Vendored => "vendored",
            Skip::Generated => "generated",
        }
    }
}

#[derive(Debug, Error)]
pub enum RepoMapError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Io(#[from] crate::util::fsutil::IoError),
}

/// Where a map came from, and what it cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapStats {
    /// Loaded from the cache (nothing read from the object database but the commit's tree id).
    pub cache_hit: bool,
    /// How many blobs were read to build it.
    pub blobs_read: usize,
}

/// Directory names whose contents are dependencies or build output, not the project's code.
const VENDORED_DIRS: &[&str] = &[
    "vendor",
    "vendored",
    "third_party",
    "third-party",
    "thirdparty",
    "node_modules",
    "bower_components",
    "jspm_packages",
    ".yarn",
    "Pods",
    "Carthage",
    ".venv",
    "venv",
    "site-packages",
    "__pycache__",
    "dist",
    "generated",
    "__generated__",
];

/// File names that are always generated.
const GENERATED_NAMES: &[&str] = &[
    "Cargo.lock",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "poetry.lock",
    "Pipfile.lock",
    "Gemfile.lock",
    "composer.lock",
    "go.sum",
    "flake.lock",
];

/// Name endings of generated files.
const GENERATED_SUFFIXES: &[&str] = &[
    ".min.js",
    ".min.css",
    ".js.map",
    ".css.map",
    ".pb.go",
    ".pb.h",
    ".pb.cc",
    "_pb2.py",
    "_pb2_grpc.py",
    ".g.dart",
    ".designer.cs",
    ".generated.cs",
    ".generated.ts",
];

/// Extensions of files that are binary without looking.
const BINARY_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "bmp", "ico", "webp", "tiff", "psd", "pdf", "zip", "gz", "tgz",
    "bz2", "xz", "zst", "7z", "rar", "tar", "jar", "war", "class", "so", "dylib", "dll", "exe",
    "o", "a", "lib", "obj", "wasm", "woff", "woff2", "ttf", "otf", "eot", "mp3", "mp4", "wav",
    "ogg", "flac", "mov", "avi", "webm", "pyc", "pyo", "bin", "dat", "db", "sqlite", "parquet",
];

/// Lines of a file's head searched for a "generated" marker.
const GENERATED_MARKER_LINES: usize = 5;

/// The vendored directory `path` lies under (`a/node_modules/`), if any.
pub fn vendored_root(path: &str) -> Option<&str> {
    let mut offset = 0;
    let mut parts = path.split('/').peekable();
    while let Some(part) = parts.next() {
        offset += part.len() + 1;
        // The last part is the file's own name.
        parts.peek()?;
        if VENDORED_DIRS.contains(&part) {
            return Some(&path[..offset]);
        }
    }
    None
}

fn generated_by_name(name: &str) -> bool {
    GENERATED_NAMES.contains(&name) || GENERATED_SUFFIXES.iter().any(|s| name.ends_with(s))
}

fn binary_by_extension(name: &str) -> bool {
    name.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty() && BINARY_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
    })
}

/// Does the head of a file say it was generated (`@generated`, `DO NOT EDIT`)?
fn generated_by_marker(text: &str) -> bool {
    text.lines()
        .take(GENERATED_MARKER_LINES)
        .any(|l| l.contains("@generated") || l.contains("DO NOT EDIT"))
}

/// Maps one file, reading its blob through `read` only when its content is needed.
fn map_file(
    file: &TreeFile,
    read: &mut dyn FnMut(&str) -> Result<Vec<u8>, GitError>,
) -> Result<MappedFile, GitError> {
    let name = file.path.rsplit('/').next().unwrap_or(&file.path);
    let mut mapped = MappedFile {
        path: file.path.clone(),
        size: file.size,
        lang: None,
        skipped: None,
        defs: Vec::new(),
    };
    let skip = if vendored_root(&file.path).is_some() {
        Some(Skip::Vendored)
    } else if generated_by_name(name) {
        Some(Skip::Generated)
    } else if binary_by_extension(name) {
        Some(Skip::Binary)
    } else if file.size > MAX_MAPPED_BYTES {
        Some(Skip::Large)
    } else {
        None
    };
    if skip.is_some() {
        mapped.skipped = skip;
        return Ok(mapped);
    }
    let by_name = detect(&file.path, None);
    let has_extension = name
        .rsplit_once('.')
        .is_some_and(|(stem, _)| !stem.is_empty());
    if by_name.is_none() && has_extension {
        // Text of a kind we do not index (docs, config, data): its size is what matters.
        return Ok(mapped);
    }
    let bytes = read(&file.oid)?;
    if bytes.contains(&0) {
        mapped.skipped = Some(Skip::Binary);
        return Ok(mapped);
    }
    let lang = by_name.or_else(|| {
        let first = bytes.split(|b| *b == b'\n').next();
        detect(&file.path, first)
    });
    let Some(lang) = lang else {
        return Ok(mapped);
    };
    let text = String::from_utf8_lossy(&bytes);
    if generated_by_marker(&text) {
        mapped.skipped = Some(Skip::Generated);
        return Ok(mapped);
    }
    mapped.lang = Some(lang);
    mapped.defs = defs(lang, &text);
    Ok(mapped)
}

/// Builds the map of `commit`'s tree from the object database.
pub fn build(repo: &Repo, commit: &str) -> Result<(RepoMap, MapStats), RepoMapError> {
    let tree = repo.commit_tree(commit)?;
    let mut files = repo.tree_files(commit)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut blobs_read = 0;
    let mut read = |oid: &str| {
        blobs_read += 1;
        repo.blob(oid)
    };
    let mapped = files
        .iter()
        .map(|f| map_file(f, &mut read))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((
        RepoMap {
            tree,
            files: mapped,
        },
        MapStats {
            cache_hit: false,
            blobs_read,
        },
    ))
}

/// The cache file of `tree`.
pub fn cache_path(common_dir: &Path, tree: &str) -> PathBuf {
    common_dir
        .join("orch")
        .join("maps")
        .join(format!("{tree}.json"))
}

#[derive(Serialize, Deserialize)]
struct CacheFile {
    format: u32,
    map: RepoMap,
}

/// The cached map of `tree`, if there is a readable one of the current format.
fn load_cached(common_dir: &Path, tree: &str) -> Option<RepoMap> {
    let path = cache_path(common_dir, tree);
    let bytes = std::fs::read(&path).ok()?;
    match serde_json::from_slice::<CacheFile>(&bytes) {
        Ok(c) if c.format == CACHE_FORMAT && c.map.tree == tree => Some(c.map),
        Ok(_) => {
            tracing::debug!(path = %path.display(), "repository map cache of another format; rebuilding");
            None
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "unreadable repository map cache; rebuilding");
            None
        }
    }
}

/// Writes the cache atomically (see [`crate::util::fsutil::write_atomically`]).
fn store(common_dir: &Path, map: &RepoMap) -> Result<(), RepoMapError> {
    let path = cache_path(common_dir, &map.tree);
    let body = serde_json::to_vec(&CacheFile {
        format: CACHE_FORMAT,
        map: map.clone(),
    })
    .expect("a repository map serialises");
    crate::util::fsutil::write_atomically(&path, &body).map_err(|source| {
        RepoMapError::Io(crate::util::fsutil::IoError {
            path,
            action: "write the repository map cache",
            source,
        })
    })
}

/// Removes all but the `keep` most recently written maps from the cache. Failures only cost
/// disk space, so they are logged, not returned.
pub fn prune_cache(common_dir: &Path, keep: usize) {
    let dir = common_dir.join("orch").join("maps");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut maps: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    maps.sort_by(|a, b| b.cmp(a));
    for (_, path) in maps.into_iter().skip(keep) {
        if let Err(e) = std::fs::remove_file(&path) {
            tracing::warn!(path = %path.display(), error = %e, "cannot prune a cached repository map");
        }
    }
}

/// The map of `commit`'s tree: from the cache when there is one, else built and cached. A
/// cache that cannot be written is logged and the map is still returned.
pub fn load_or_build(
    repo: &Repo,
    common_dir: &Path,
    commit: &str,
) -> Result<(RepoMap, MapStats), RepoMapError> {
    let tree = repo.commit_tree(commit)?;
    if let Some(map) = load_cached(common_dir, &tree) {
        return Ok((
            map,
            MapStats {
                cache_hit: true,
                blobs_read: 0,
            },
        ));
    }
    let (map, stats) = build(repo, commit)?;
    match store(common_dir, &map) {
        Ok(()) => prune_cache(common_dir, CACHED_MAPS),
        Err(e) => tracing::warn!(error = %e, "repository map not cached"),
    }
    Ok((map, stats))
}

/// The repository map of `commit` for a prompt: hinted paths first, within `budget_bytes`.
pub fn for_prompt(
    repo: &Repo,
    common_dir: &Path,
    commit: &str,
    hints: &[String],
    budget_bytes: usize,
) -> Result<String, RepoMapError> {
    let (map, _) = load_or_build(repo, common_dir, commit)?;
    Ok(render(&map, hints, budget_bytes))
}

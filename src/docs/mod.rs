//! Issue docs: Markdown files with YAML front matter, the single source of truth of a run.

pub mod discover;
pub mod frontmatter;
pub mod issue;

pub use discover::{load, DiscoverError, DocSet, DEFAULT_DOCS_GLOB};
pub use issue::IssueDoc;

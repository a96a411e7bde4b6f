//! Issue docs: Markdown files with YAML front matter, the single source of truth of a run,
//! in a tree of projects (`docs/projects/<project>/issues/*.md`, milestone docs beside them in
//! `milestones/`).

pub mod discover;
pub mod fix;
pub mod frontmatter;
pub mod index;
pub mod issue;
pub mod milestone_doc;
pub mod order;
mod plain_yaml;
pub mod plan;
pub mod scoped;
pub mod select;
pub mod states;
mod values;

pub use discover::{load, DiscoverError, DocSet, DEFAULT_DOCS_GLOB};
pub use issue::IssueDoc;

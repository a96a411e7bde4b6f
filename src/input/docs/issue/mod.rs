//! One issue doc: its front matter fields, checked and typed, plus the body kept for prompts.
//!
//! Parsing never stops at the first problem of a doc: every field is checked and every
//! problem reported, with the line it is on. A doc that fails still says what could be read
//! of it ([`BrokenDoc`]): its project and milestone decide whose runs its problems block.

mod fields;

use super::frontmatter::{self, SplitError};
pub use super::values::{check_identifier, split_reference};
use super::values::{kind, scalar_text};
use crate::model::problem::Problem;
use fields::Fields;
use serde::Serialize;
use serde_norway::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Largest issue doc orch reads; anything bigger is not an issue doc.
pub const MAX_DOC_BYTES: u64 = 4 * 1024 * 1024;

/// Fields orch knows; everything else is the user's and is kept as-is in `extra`.
const KNOWN_FIELDS: &[&str] = &[
    "id",
    "title",
    "state",
    "priority",
    "estimate",
    "project",
    "milestone",
    "assignees",
    "labels",
    "parent",
    "children",
    "blocked_by",
    "blocked",
    "blocking",
    "blocks",
    "related_to",
    "acceptance",
];

/// The keys that say which issues a doc blocks: `blocked`, and its synonyms.
pub const BLOCKED_KEYS: [&str; 3] = ["blocked", "blocking", "blocks"];

#[derive(Debug, Clone, Serialize)]
pub struct IssueDoc {
    /// Where the doc is, as shown to the user.
    pub path: PathBuf,
    pub id: String,
    pub title: String,
    /// `None` for `milestone: null`: the doc is in no milestone yet.
    pub milestone: Option<String>,
    pub state: Option<String>,
    pub priority: Option<serde_json::Value>,
    pub estimate: Option<serde_json::Value>,
    /// The `project:` field, else the `<project>` directory the doc sits in
    /// (`docs/projects/<project>/issues/`); `None` in a tree without projects.
    pub project: Option<String>,
    pub assignees: Vec<String>,
    pub labels: Vec<String>,
    pub parent: Option<String>,
    pub children: Vec<String>,
    /// Issues this one waits for: ids, or `<project>/<id>` for another project's issue.
    pub blocked_by: Vec<String>,
    /// Issues this one blocks (`blocked`, or its synonyms `blocking` and `blocks`).
    pub blocked: Vec<String>,
    pub related_to: Vec<String>,
    /// Acceptance checks (`Tests pass: …`, `File exists: …`, …) gating the issue's loop.
    pub acceptance: Vec<crate::model::check::Check>,
    /// Fields orch does not know, kept for the user (and for prompts).
    pub extra: BTreeMap<String, serde_json::Value>,
    /// The Markdown after the front matter.
    pub body: std::sync::Arc<str>,
    /// 1-based line of each top-level field, for pointing at problems later.
    #[serde(skip)]
    pub lines: FieldLines,
}

/// The line of each top-level field of a doc (a handful: a list is quicker than a map).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldLines(Vec<(String, usize)>);

impl FieldLines {
    pub fn get(&self, field: &str) -> Option<usize> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, line)| *line)
    }
}

impl IssueDoc {
    /// Line of a field in the file, if the field is present.
    pub fn line_of(&self, field: &str) -> Option<usize> {
        self.lines.get(field)
    }

    /// Line of the list of issues this one blocks, under whichever key it is written.
    pub fn blocked_line(&self) -> Option<usize> {
        BLOCKED_KEYS.iter().find_map(|k| self.line_of(k))
    }

    /// Whether the doc is one of the issues of `scope`.
    pub fn is_in(&self, scope: &crate::model::naming::Scope) -> bool {
        self.milestone.as_deref() == Some(scope.milestone.as_str()) && self.project == scope.project
    }

    /// The run this doc belongs to, if it is in a milestone.
    pub fn scope(&self) -> Option<crate::model::naming::Scope> {
        self.milestone
            .as_deref()
            .map(|m| crate::model::naming::Scope::new(self.project.as_deref(), m))
    }
}

/// Which milestone a doc that could not be parsed belongs to, as far as could be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "milestone", rename_all = "snake_case")]
pub enum Membership {
    /// Its fields could not be read (no front matter, invalid YAML, an unusable value): it
    /// may belong to any milestone of its project.
    Unknown,
    /// It has no `milestone` key at all.
    Missing,
    /// `milestone: null`.
    Unassigned,
    /// `milestone: <this>`.
    In(String),
    /// No front matter and nothing that looks like one (a checklist, notes): not an issue
    /// doc at all. Its one problem is a warning; it blocks nothing.
    NotAnIssueDoc,
}

/// A doc with problems, and what could be read of it.
#[derive(Debug, Clone)]
pub struct BrokenDoc {
    pub path: PathBuf,
    /// Its `project:` field when that could be read, else its directory's project.
    pub project: Option<String>,
    /// Every project it may belong to: its `project:` field when that could be read; else
    /// its directory's project and every project the docs in its directory declare (a
    /// directory need not be named like the project its docs say they are in). Filled in by
    /// `discover`; empty means `[project]`.
    pub projects: Box<[Option<String>]>,
    pub milestone: Membership,
    pub problems: Vec<Problem>,
    /// Whether `orch docs fix` repairs it into a doc that reads.
    pub fixable: bool,
}

impl BrokenDoc {
    /// A doc nothing could be read of.
    pub fn unreadable(path: &Path, problems: Vec<Problem>) -> BrokenDoc {
        BrokenDoc {
            path: path.to_owned(),
            project: None,
            projects: Box::default(),
            milestone: Membership::Unknown,
            problems,
            fixable: false,
        }
    }

    /// Whether it may be one of the issues of a milestone of `project`.
    pub fn may_be_in(&self, project: &Option<String>) -> bool {
        if self.projects.is_empty() {
            &self.project == project
        } else {
            self.projects.contains(project)
        }
    }
}

/// Parses one doc from raw bytes; `path` is only used in messages.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<IssueDoc, BrokenDoc> {
    let unreadable = |p: Problem| BrokenDoc::unreadable(path, vec![p]);
    let text = decode(path, bytes).map_err(unreadable)?;
    let split = frontmatter::split(text).map_err(|e| match e {
        SplitError::Empty | SplitError::Missing { .. } if !frontmatter::looks_like_a_doc(text) => {
            not_an_issue_doc(path, &e)
        }
        e => unreadable(split_problem(path, text, e)),
    })?;
    // Most front matter is plain `key: value` lines, read without the YAML parser; the rest
    // (and every doc with a problem) goes through it.
    // The plain reader knows each key's line as it reads it: no second pass over the lines.
    let (value, lines): (Value, FieldLines) = match super::plain_yaml::read_with_lines(split.yaml) {
        Some((mapping, keys)) => {
            let at = |(key, i): (String, usize)| (key, split.yaml_line + i);
            (
                Value::Mapping(mapping),
                FieldLines(keys.into_iter().map(at).collect()),
            )
        }
        None => (
            serde_norway::from_str(split.yaml)
                .map_err(|e| unreadable(yaml_problem(path, &e, split.yaml, split.yaml_line)))?,
            field_lines(split.yaml, split.yaml_line),
        ),
    };
    let mapping = match value {
        Value::Mapping(m) => m,
        Value::Null => serde_norway::Mapping::new(),
        other => {
            return Err(unreadable(
                Problem::error(
                    path,
                    Some(split.yaml_line),
                    format!(
                        "front matter must be a mapping of fields, found {}",
                        kind(&other)
                    ),
                )
                .with_hint("write one `key: value` per line, e.g. `id: PROJ-1`"),
            ))
        }
    };
    // Fields by name: a key YAML read as something else (`1:`, `true:`) by its text.
    let map = match mapping.keys().all(Value::is_string) {
        true => mapping,
        false => mapping
            .into_iter()
            .map(|(key, value)| {
                let key = match key {
                    Value::String(s) => s,
                    other => scalar_text(&other).unwrap_or_else(|| format!("{other:?}")),
                };
                (Value::String(key), value)
            })
            .collect(),
    };
    let mut fields = Fields {
        path,
        lines: &lines,
        fm_line: split.yaml_line,
        problems: Vec::new(),
        map,
    };
    let built = fields.build(split.body.into());
    match built.doc {
        Some(doc) if fields.problems.is_empty() => Ok(IssueDoc { lines, ..doc }),
        _ => Err(BrokenDoc {
            path: path.to_owned(),
            project: built.project,
            projects: Box::default(),
            milestone: built.milestone,
            problems: fields.problems,
            fixable: false,
        }),
    }
}

/// A Markdown file with no front matter and nothing like one: a checklist or notes kept
/// beside the issue docs. One warning, never an error.
fn not_an_issue_doc(path: &Path, e: &SplitError) -> BrokenDoc {
    let what = match e {
        SplitError::Empty => "empty file",
        _ => "no front matter",
    };
    BrokenDoc {
        milestone: Membership::NotAnIssueDoc,
        ..BrokenDoc::unreadable(
            path,
            vec![
                Problem::warning(path, None, format!("not an issue doc: {what}; ignored"))
                    .with_hint(
                        "an issue doc opens with a `---` front matter block (`id:`, `title:`, \
                         `milestone:`); keep other notes outside the docs glob (e.g. under \
                         `_archive/`) to silence this",
                    ),
            ],
        )
    }
}

fn decode<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str, Problem> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
        Problem::error(
            path,
            Some(line),
            format!(
                "file is not valid UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )
        .with_hint("save the file as UTF-8")
    })
}

fn split_problem(path: &Path, text: &str, e: SplitError) -> Problem {
    match e {
        SplitError::Empty => Problem::error(path, None, "file is empty: no front matter")
            .with_hint("start the file with a `---` line, the issue's fields, and another `---`"),
        SplitError::Missing { first_line } => Problem::error(
            path,
            Some(1),
            format!("no front matter: line 1 is `{first_line}`, expected `---`"),
        )
        .with_hint(if frontmatter::lacks_opening_fence(text) {
            "the front matter's opening `---` line is missing: `orch docs fix` adds it"
        } else {
            "front matter must open on the very first line with `---`"
        }),
        SplitError::Unterminated => Problem::error(
            path,
            Some(1),
            "front matter opened with `---` is never closed",
        )
        .with_hint("add a line with `---` after the last field"),
    }
}

fn yaml_problem(path: &Path, e: &serde_norway::Error, yaml: &str, first_line: usize) -> Problem {
    let mut line = e.location().map(|l| first_line + l.line() - 1);
    let mut message = e.to_string();
    if let Some(at) = message.find(" at line ") {
        message.truncate(at);
    }
    // serde_norway points a duplicate key at its mapping; point at the second occurrence instead.
    if let Some(key) = message
        .strip_prefix("duplicate entry with key \"")
        .and_then(|rest| rest.strip_suffix('"'))
    {
        let prefix = format!("{key}:");
        if let Some(i) = yaml
            .lines()
            .enumerate()
            .filter(|(_, l)| l.starts_with(&prefix))
            .nth(1)
            .map(|(i, _)| i)
        {
            line = Some(first_line + i);
        }
    }
    let hint = if message.contains("tab") {
        "indent YAML with spaces; tabs are not allowed"
    } else if message.contains("duplicate") {
        "each field may appear once"
    } else {
        "check the YAML syntax of the front matter (quote titles that contain `: `, `#`, `[` or `{`)"
    };
    Problem::error(
        path,
        line,
        format!("front matter is not valid YAML: {message}"),
    )
    .with_hint(hint)
}

/// Line numbers of top-level keys (`key:` at column 0), first occurrence wins.
pub(super) fn field_lines(yaml: &str, first_line: usize) -> FieldLines {
    let mut lines = FieldLines::default();
    for (i, line) in yaml.lines().enumerate() {
        if line.starts_with([' ', '\t', '#', '-']) {
            continue;
        }
        if let Some((key, _)) = line.split_once(':') {
            let key = key.trim().trim_matches(['"', '\'']);
            if !key.is_empty() && lines.get(key).is_none() {
                lines.0.push((key.to_owned(), first_line + i));
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<IssueDoc, Vec<Problem>> {
        parse(Path::new("doc.md"), s.as_bytes()).map_err(|b| b.problems)
    }

    #[test]
    fn a_fields_line_is_its_first_and_blocked_reads_under_its_synonyms() {
        let text = "---\nid: A-1\ntitle: t\nmilestone: M1\nblocks: [B-1]\n---\n";
        let doc = parse(Path::new("a.md"), text.as_bytes()).unwrap();
        assert_eq!(doc.line_of("id"), Some(2));
        assert_eq!(doc.line_of("blocks"), Some(5));
        assert_eq!(doc.blocked_line(), Some(5), "`blocks` is `blocked`");
        assert_eq!(doc.line_of("estimate"), None);
        // A key written twice is an error, but its line is the first one's.
        let lines = field_lines("id: A\ntitle: t\nid: B\n", 2);
        assert_eq!(lines.get("id"), Some(2));
        assert_eq!(lines.get("title"), Some(3));
    }

    #[test]
    fn parses_a_full_doc() {
        let doc = parse_str(
            "---\nid: P-1\ntitle: \"Do it\"\nstate: planned\npriority: 2\nmilestone: M1\n\
             blocked_by: [P-0]\nblocking: [P-2]\nrisk: high\n---\n\n## TL;DR\nbody\n",
        )
        .unwrap();
        assert_eq!(doc.id, "P-1");
        assert_eq!(doc.blocked, ["P-2"]);
        assert_eq!(doc.blocked_by, ["P-0"]);
        assert_eq!(doc.extra["risk"], "high");
        assert_eq!(doc.line_of("milestone"), Some(6));
        assert!(doc.body.contains("## TL;DR"));
    }

    #[test]
    fn blocks_is_a_synonym_and_references_may_name_a_project() {
        let doc = parse_str(
            "---\nid: P-1\ntitle: t\nmilestone: M1\nblocks: [P-2]\nblocked: [P-3]\n\
             blocked_by: [other/X-1]\n---\n",
        )
        .unwrap();
        assert_eq!(doc.blocked, ["P-3", "P-2"]);
        assert_eq!(doc.blocked_by, ["other/X-1"]);
        assert_eq!(doc.blocked_line(), Some(6));
        let errs = parse_str("---\nid: P-1\ntitle: t\nmilestone: M1\nblocked_by: [a/b/c]\n---\n")
            .unwrap_err();
        assert!(
            errs[0].message.contains("unusable id after the `/`"),
            "{errs:?}"
        );
    }

    #[test]
    fn a_broken_doc_says_where_it_belongs() {
        let broken = |s: &str| parse(Path::new("d.md"), s.as_bytes()).unwrap_err();
        let b = broken("---\ntitle: t\nmilestone: M2\nproject: p\n---\n");
        assert_eq!(b.milestone, Membership::In("M2".into()));
        assert_eq!(b.project.as_deref(), Some("p"));
        assert_eq!(
            broken("---\nid: A\ntitle: t\n---\n").milestone,
            Membership::Missing
        );
        assert_eq!(broken("---\nid: [\n---\n").milestone, Membership::Unknown);
        assert_eq!(
            broken("---\nid: A\nmilestone: null\n---\n").milestone,
            Membership::Unassigned
        );
        let doc = parse_str("---\nid: A\ntitle: t\nmilestone: null\n---\n").unwrap();
        assert_eq!(doc.milestone, None);
    }

    #[test]
    fn reports_every_problem_of_a_doc() {
        let errs = parse_str("---\ntitle: 5\nblocked_by: 5\nlabels: [a, [b]]\n---\n").unwrap_err();
        let text: Vec<String> = errs.iter().map(|p| p.to_string()).collect();
        assert!(
            text.iter().any(|t| t.contains("`id` is missing")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|t| t.contains("`milestone` is missing")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t == "doc.md:3: field `blocked_by` must be a list, found an integer"),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("doc.md:4: field `labels`")),
            "{text:?}"
        );
    }

    #[test]
    fn yaml_error_lines_map_to_the_file() {
        let errs = parse_str("---\nid: A\ntitle: [unclosed\nmilestone: M1\n---\n").unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].line.is_some_and(|l| (3..=5).contains(&l)),
            "{:?}",
            errs[0]
        );
    }
}

//! One issue doc: its front matter fields, checked and typed, plus the body kept for prompts.
//!
//! Parsing never stops at the first problem of a doc: every field is checked and every
//! problem reported, with the line it is on. A doc that fails still says what could be read
//! of it ([`BrokenDoc`]): its project and milestone decide whose runs its problems block.

use super::frontmatter::{self, SplitError};
pub use super::values::{check_identifier, split_reference};
use super::values::{check_reference, id_text, kind, scalar_text, yaml_to_json};
use crate::model::problem::Problem;
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
    pub body: String,
    /// 1-based line of each top-level field, for pointing at problems later.
    #[serde(skip)]
    pub lines: BTreeMap<String, usize>,
}

impl IssueDoc {
    /// Line of a field in the file, if the field is present.
    pub fn line_of(&self, field: &str) -> Option<usize> {
        self.lines.get(field).copied()
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
    let value: Value = serde_norway::from_str(split.yaml)
        .map_err(|e| unreadable(yaml_problem(path, &e, split.yaml, split.yaml_line)))?;
    let lines = field_lines(split.yaml, split.yaml_line);
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
    let mut fields = Fields {
        path,
        lines: &lines,
        fm_line: split.yaml_line,
        problems: Vec::new(),
        map: BTreeMap::new(),
    };
    for (key, value) in mapping {
        let key = match key {
            Value::String(s) => s,
            other => scalar_text(&other).unwrap_or_else(|| format!("{other:?}")),
        };
        fields.map.insert(key, value);
    }
    let built = fields.build(split.body.to_owned());
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
fn field_lines(yaml: &str, first_line: usize) -> BTreeMap<String, usize> {
    let mut lines = BTreeMap::new();
    for (i, line) in yaml.lines().enumerate() {
        if line.starts_with([' ', '\t', '#', '-']) {
            continue;
        }
        if let Some((key, _)) = line.split_once(':') {
            let key = key.trim().trim_matches(['"', '\'']);
            if !key.is_empty() {
                lines.entry(key.to_owned()).or_insert(first_line + i);
            }
        }
    }
    lines
}

/// What [`Fields::build`] could make of a doc.
struct Built {
    doc: Option<IssueDoc>,
    project: Option<String>,
    milestone: Membership,
}

struct Fields<'a> {
    path: &'a Path,
    lines: &'a BTreeMap<String, usize>,
    fm_line: usize,
    problems: Vec<Problem>,
    map: BTreeMap<String, Value>,
}

impl Fields<'_> {
    fn build(&mut self, body: String) -> Built {
        let id = self.required_id("id");
        let title = self.required_text("title");
        let milestone = self.milestone();
        let state = self.optional_text("state");
        let project = self.optional_id("project");
        let priority = self.optional_number("priority");
        let estimate = self.optional_number("estimate");
        let assignees = self.text_list("assignees");
        let labels = self.text_list("labels");
        let parent = self.optional_ref("parent");
        let children = self.ref_list("children");
        let blocked_by = self.ref_list("blocked_by");
        let mut blocked = Vec::new();
        for key in BLOCKED_KEYS {
            for other in self.ref_list(key) {
                if !blocked.contains(&other) {
                    blocked.push(other);
                }
            }
        }
        let related_to = self.ref_list("related_to");
        let acceptance = self.checks("acceptance");
        let extra = self
            .map
            .iter()
            .filter(|(k, _)| !KNOWN_FIELDS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), yaml_to_json(v)))
            .collect();
        let doc = (|| {
            let id = id?;
            self.check_self_reference(&id, "blocked_by", &blocked_by);
            self.check_self_reference(&id, "blocked", &blocked);
            Some(IssueDoc {
                path: self.path.to_owned(),
                id,
                title: title?,
                milestone: match &milestone {
                    Membership::In(m) => Some(m.clone()),
                    Membership::Unassigned => None,
                    Membership::Missing | Membership::Unknown | Membership::NotAnIssueDoc => {
                        return None
                    }
                },
                state,
                priority,
                estimate,
                project: project.clone(),
                assignees,
                labels,
                parent,
                children,
                blocked_by,
                blocked,
                related_to,
                acceptance,
                extra,
                body,
                lines: BTreeMap::new(),
            })
        })();
        Built {
            doc,
            project,
            milestone,
        }
    }

    /// `milestone:` is required, but may be `null` (the doc is in no milestone yet).
    fn milestone(&mut self) -> Membership {
        match self.map.get("milestone").cloned() {
            None => {
                self.missing("milestone", "M1");
                Membership::Missing
            }
            Some(Value::Null) => Membership::Unassigned,
            Some(v) => match self.id_value("milestone", &v) {
                Some(m) => Membership::In(m),
                None => Membership::Unknown,
            },
        }
    }

    fn line(&self, field: &str) -> Option<usize> {
        self.lines.get(field).copied()
    }

    fn wrong_type(&mut self, field: &str, want: &str, found: &Value, example: &str) {
        let line = self.line(field);
        self.problems.push(
            Problem::error(
                self.path,
                line,
                format!("field `{field}` must be {want}, found {}", kind(found)),
            )
            .with_hint(format!("write it as `{field}: {example}`")),
        );
    }

    fn missing(&mut self, field: &str, example: &str) {
        self.problems.push(
            Problem::error(
                self.path,
                Some(self.fm_line),
                format!("required field `{field}` is missing"),
            )
            .with_hint(format!("add `{field}: {example}` to the front matter")),
        );
    }

    fn required_text(&mut self, field: &str) -> Option<String> {
        match self.map.get(field).cloned() {
            None | Some(Value::Null) => {
                self.missing(field, "\"Short description of the work\"");
                None
            }
            Some(v) => match scalar_text(&v) {
                Some(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
                Some(_) => {
                    let line = self.line(field);
                    self.problems.push(
                        Problem::error(self.path, line, format!("field `{field}` is empty"))
                            .with_hint(format!("give `{field}` a value")),
                    );
                    None
                }
                None => {
                    self.wrong_type(field, "text", &v, "\"Short description\"");
                    None
                }
            },
        }
    }

    /// An identifier (`id`, `milestone`): text or a number, usable in branch and path names.
    fn required_id(&mut self, field: &str) -> Option<String> {
        match self.map.get(field).cloned() {
            None | Some(Value::Null) => {
                self.missing(field, if field == "id" { "PROJ-1" } else { "M1" });
                None
            }
            Some(v) => self.id_value(field, &v),
        }
    }

    fn optional_id(&mut self, field: &str) -> Option<String> {
        match self.map.get(field).cloned() {
            None | Some(Value::Null) => None,
            Some(v) => self.id_value(field, &v),
        }
    }

    fn id_value(&mut self, field: &str, v: &Value) -> Option<String> {
        self.checked_value(
            field,
            v,
            ("an identifier (text or a number)", "value"),
            check_identifier,
            "identifiers become branch and directory names: use letters, digits, `-`, `_` and `.`",
        )
    }

    /// Text (or a number) that `check` accepts; else a problem that calls the value `what.1`.
    fn checked_value(
        &mut self,
        field: &str,
        v: &Value,
        what: (&str, &str),
        check: fn(&str) -> Result<(), &'static str>,
        hint: &str,
    ) -> Option<String> {
        let Some(text) = id_text(v) else {
            self.wrong_type(field, what.0, v, "PROJ-1");
            return None;
        };
        match check(&text) {
            Ok(()) => Some(text),
            Err(why) => {
                let line = self.line(field);
                self.problems.push(
                    Problem::error(
                        self.path,
                        line,
                        format!("field `{field}` {} `{}` {why}", what.1, text.escape_debug()),
                    )
                    .with_hint(hint),
                );
                None
            }
        }
    }

    fn optional_text(&mut self, field: &str) -> Option<String> {
        match self.map.get(field).cloned() {
            None | Some(Value::Null) => None,
            Some(v) => match scalar_text(&v) {
                Some(s) => Some(s),
                None => {
                    self.wrong_type(field, "text", &v, "value");
                    None
                }
            },
        }
    }

    fn optional_number(&mut self, field: &str) -> Option<serde_json::Value> {
        match self.map.get(field).cloned() {
            None | Some(Value::Null) => None,
            Some(v @ Value::Number(_)) => Some(yaml_to_json(&v)),
            Some(v) => {
                self.wrong_type(field, "a number", &v, "3");
                None
            }
        }
    }

    fn list(&mut self, field: &str, example: &str) -> Vec<Value> {
        match self.map.get(field).cloned() {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Sequence(items)) => items,
            Some(v) => {
                self.wrong_type(field, "a list", &v, example);
                Vec::new()
            }
        }
    }

    fn text_list(&mut self, field: &str) -> Vec<String> {
        let items = self.list(field, "[first, second]");
        let mut out = Vec::new();
        for item in items {
            match scalar_text(&item) {
                Some(s) => out.push(s),
                None => self.wrong_type(field, "a list of text items", &item, "[first, second]"),
            }
        }
        out
    }

    fn checks(&mut self, field: &str) -> Vec<crate::model::check::Check> {
        let mut out = Vec::new();
        for line in self.text_list(field) {
            match crate::model::check::Check::parse(&line) {
                Ok(check) => out.push(check),
                Err(message) => {
                    let at = self.line(field);
                    self.problems
                        .push(Problem::error(self.path, at, message).with_hint(format!(
                            "write each check as one of: {}",
                            crate::model::check::FORMS.join(", ")
                        )));
                }
            }
        }
        out
    }

    /// A list of issue references: ids, or `<project>/<id>`.
    fn ref_list(&mut self, field: &str) -> Vec<String> {
        let items = self.list(field, "[PROJ-1, PROJ-2]");
        let mut out: Vec<String> = Vec::new();
        for item in items {
            if let Some(id) = self.ref_value(field, &item) {
                if !out.contains(&id) {
                    out.push(id);
                }
            }
        }
        out
    }

    fn optional_ref(&mut self, field: &str) -> Option<String> {
        match self.map.get(field).cloned() {
            None | Some(Value::Null) => None,
            Some(v) => self.ref_value(field, &v),
        }
    }

    /// An issue reference: an id, or `<project>/<id>` naming another project's issue.
    fn ref_value(&mut self, field: &str, v: &Value) -> Option<String> {
        self.checked_value(
            field,
            v,
            ("an issue id (text or a number)", "entry"),
            check_reference,
            "name an issue by its id, or another project's issue as `<project>/<id>`",
        )
    }

    fn check_self_reference(&mut self, id: &str, field: &str, list: &[String]) {
        if list.iter().any(|d| d == id) {
            let line = self.line(field).or(self.line("blocking"));
            self.problems.push(
                Problem::error(
                    self.path,
                    line,
                    format!("issue `{id}` lists itself in `{field}`"),
                )
                .with_hint(format!("remove `{id}` from `{field}`")),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<IssueDoc, Vec<Problem>> {
        parse(Path::new("doc.md"), s.as_bytes()).map_err(|b| b.problems)
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

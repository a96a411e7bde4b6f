//! One issue doc: its front matter fields, checked and typed, plus the body kept for prompts.
//!
//! Parsing never stops at the first problem of a doc: every field is checked and every
//! problem reported, with the line it is on.

use super::frontmatter::{self, SplitError};
use crate::problem::Problem;
use serde::Serialize;
use serde_yaml::Value;
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
    "related_to",
    "acceptance",
];

/// States meaning the issue's work is finished.
const DONE_STATES: &[&str] = &["done", "completed", "complete", "closed", "merged"];
/// States meaning the work will never be done (still satisfies dependents).
const CANCELED_STATES: &[&str] = &["canceled", "cancelled", "wontfix", "duplicate"];

#[derive(Debug, Clone, Serialize)]
pub struct IssueDoc {
    /// Where the doc is, as shown to the user.
    pub path: PathBuf,
    pub id: String,
    pub title: String,
    pub milestone: String,
    pub state: Option<String>,
    pub priority: Option<serde_json::Value>,
    pub estimate: Option<serde_json::Value>,
    pub project: Option<String>,
    pub assignees: Vec<String>,
    pub labels: Vec<String>,
    pub parent: Option<String>,
    pub children: Vec<String>,
    pub blocked_by: Vec<String>,
    /// Issues this one blocks (`blocked`, or its synonym `blocking`).
    pub blocked: Vec<String>,
    pub related_to: Vec<String>,
    /// Acceptance checks (`Tests pass: …`, `File exists: …`, …) gating the issue's loop.
    pub acceptance: Vec<crate::acceptance::Check>,
    /// Fields orch does not know, kept for the user (and for prompts).
    pub extra: BTreeMap<String, serde_json::Value>,
    /// The Markdown after the front matter.
    pub body: String,
    /// 1-based line of each top-level field, for pointing at problems later.
    #[serde(skip)]
    pub lines: BTreeMap<String, usize>,
}

impl IssueDoc {
    pub fn is_done(&self) -> bool {
        self.state_in(DONE_STATES)
    }

    pub fn is_canceled(&self) -> bool {
        self.state_in(CANCELED_STATES)
    }

    /// Done or canceled: nothing left to run, and dependents may proceed.
    pub fn is_closed(&self) -> bool {
        self.is_done() || self.is_canceled()
    }

    fn state_in(&self, set: &[&str]) -> bool {
        self.state.as_deref().is_some_and(|s| {
            let s = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
            set.contains(&s.as_str())
        })
    }

    /// Line of a field in the file, if the field is present.
    pub fn line_of(&self, field: &str) -> Option<usize> {
        self.lines.get(field).copied()
    }
}

/// Parses one doc from raw bytes; `path` is only used in messages.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<IssueDoc, Vec<Problem>> {
    let text = decode(path, bytes).map_err(|p| vec![p])?;
    let split = frontmatter::split(text).map_err(|e| vec![split_problem(path, e)])?;
    let value: Value = serde_yaml::from_str(split.yaml)
        .map_err(|e| vec![yaml_problem(path, &e, split.yaml, split.yaml_line)])?;
    let lines = field_lines(split.yaml, split.yaml_line);
    let mapping = match value {
        Value::Mapping(m) => m,
        Value::Null => serde_yaml::Mapping::new(),
        other => {
            return Err(vec![Problem::error(
                path,
                Some(split.yaml_line),
                format!(
                    "front matter must be a mapping of fields, found {}",
                    kind(&other)
                ),
            )
            .with_hint("write one `key: value` per line, e.g. `id: PROJ-1`")])
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
    let doc = fields.build(split.body.to_owned());
    match doc {
        Some(doc) if fields.problems.is_empty() => Ok(IssueDoc { lines, ..doc }),
        _ => Err(fields.problems),
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

fn split_problem(path: &Path, e: SplitError) -> Problem {
    match e {
        SplitError::Empty => Problem::error(path, None, "file is empty: no front matter")
            .with_hint("start the file with a `---` line, the issue's fields, and another `---`"),
        SplitError::Missing { first_line } => Problem::error(
            path,
            Some(1),
            format!("no front matter: line 1 is `{first_line}`, expected `---`"),
        )
        .with_hint("front matter must open on the very first line with `---`"),
        SplitError::Unterminated => Problem::error(
            path,
            Some(1),
            "front matter opened with `---` is never closed",
        )
        .with_hint("add a line with `---` after the last field"),
    }
}

fn yaml_problem(path: &Path, e: &serde_yaml::Error, yaml: &str, first_line: usize) -> Problem {
    let mut line = e.location().map(|l| first_line + l.line() - 1);
    let mut message = e.to_string();
    if let Some(at) = message.find(" at line ") {
        message.truncate(at);
    }
    // serde_yaml points a duplicate key at its mapping; point at the second occurrence instead.
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

struct Fields<'a> {
    path: &'a Path,
    lines: &'a BTreeMap<String, usize>,
    fm_line: usize,
    problems: Vec<Problem>,
    map: BTreeMap<String, Value>,
}

impl Fields<'_> {
    fn build(&mut self, body: String) -> Option<IssueDoc> {
        let id = self.required_id("id");
        let title = self.required_text("title");
        let milestone = self.required_id("milestone");
        let state = self.optional_text("state");
        let project = self.optional_text("project");
        let priority = self.optional_number("priority");
        let estimate = self.optional_number("estimate");
        let assignees = self.text_list("assignees");
        let labels = self.text_list("labels");
        let parent = self.optional_id("parent");
        let children = self.id_list("children");
        let blocked_by = self.id_list("blocked_by");
        let mut blocked = self.id_list("blocked");
        for other in self.id_list("blocking") {
            if !blocked.contains(&other) {
                blocked.push(other);
            }
        }
        let related_to = self.id_list("related_to");
        let acceptance = self.checks("acceptance");
        let extra = self
            .map
            .iter()
            .filter(|(k, _)| !KNOWN_FIELDS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), yaml_to_json(v)))
            .collect();
        let id = id?;
        self.check_self_reference(&id, "blocked_by", &blocked_by);
        self.check_self_reference(&id, "blocked", &blocked);
        Some(IssueDoc {
            path: self.path.to_owned(),
            id,
            title: title?,
            milestone: milestone?,
            state,
            priority,
            estimate,
            project,
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
        let Some(text) = id_text(v) else {
            self.wrong_type(field, "an identifier (text or a number)", v, "PROJ-1");
            return None;
        };
        match check_identifier(&text) {
            Ok(()) => Some(text),
            Err(why) => {
                let line = self.line(field);
                self.problems.push(
                    Problem::error(
                        self.path,
                        line,
                        format!("field `{field}` value `{}` {why}", text.escape_debug()),
                    )
                    .with_hint(
                        "identifiers become branch and directory names: use letters, digits, `-`, `_` and `.`",
                    ),
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

    fn checks(&mut self, field: &str) -> Vec<crate::acceptance::Check> {
        let mut out = Vec::new();
        for line in self.text_list(field) {
            match crate::acceptance::Check::parse(&line) {
                Ok(check) => out.push(check),
                Err(message) => {
                    let at = self.line(field);
                    self.problems
                        .push(Problem::error(self.path, at, message).with_hint(format!(
                            "write each check as one of: {}",
                            crate::acceptance::FORMS.join(", ")
                        )));
                }
            }
        }
        out
    }

    fn id_list(&mut self, field: &str) -> Vec<String> {
        let items = self.list(field, "[PROJ-1, PROJ-2]");
        let mut out: Vec<String> = Vec::new();
        for item in items {
            if let Some(id) = self.id_value(field, &item) {
                if !out.contains(&id) {
                    out.push(id);
                }
            }
        }
        out
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

/// Why an identifier cannot be used, if it cannot.
pub fn check_identifier(id: &str) -> Result<(), &'static str> {
    if id.trim().is_empty() {
        return Err("is empty");
    }
    if id.chars().any(char::is_control) {
        return Err("contains control characters");
    }
    if id.contains(['/', '\\']) {
        return Err("contains a path separator");
    }
    if id.contains("..") {
        return Err("contains `..`");
    }
    if id.chars().count() > 100 {
        return Err("is longer than 100 characters");
    }
    Ok(())
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        Value::Tagged(t) => id_text(&t.value),
        _ => None,
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Tagged(t) => scalar_text(&t.value),
        _ => None,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a decimal number",
        Value::Number(_) => "an integer",
        Value::String(_) => "text",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(t) => kind(&t.value),
    }
}

/// YAML → JSON for the user's own fields; non-text keys become their text form.
fn yaml_to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                J::from(i)
            } else if let Some(u) = n.as_u64() {
                J::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(J::Null, J::Number)
            }
        }
        Value::String(s) => J::String(s.clone()),
        Value::Sequence(items) => J::Array(items.iter().map(yaml_to_json).collect()),
        Value::Mapping(m) => J::Object(
            m.iter()
                .map(|(k, v)| {
                    let key = scalar_text(k).unwrap_or_else(|| format!("{k:?}"));
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Value::Tagged(t) => yaml_to_json(&t.value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<IssueDoc, Vec<Problem>> {
        parse(Path::new("doc.md"), s.as_bytes())
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

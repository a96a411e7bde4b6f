//! The fields of one issue doc's front matter, each checked and typed where it is read: a
//! field that is wrong is a problem with its line, and the others are still read.

use super::{IssueDoc, Membership, BLOCKED_KEYS, KNOWN_FIELDS};
use crate::input::docs::values::{
    check_identifier, check_reference, id_text, kind, scalar_text, yaml_to_json,
};
use crate::model::problem::Problem;
use serde_norway::Value;
use std::path::Path;

/// What [`Fields::build`] could make of a doc.
pub(super) struct Built {
    pub doc: Option<IssueDoc>,
    pub project: Option<String>,
    pub milestone: Membership,
}

pub(super) struct Fields<'a> {
    pub path: &'a Path,
    pub lines: &'a super::FieldLines,
    pub fm_line: usize,
    pub problems: Vec<Problem>,
    /// The front matter, every key a string.
    pub map: serde_norway::Mapping,
}

impl Fields<'_> {
    pub fn build(&mut self, body: std::sync::Arc<str>) -> Built {
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
        let extra = (self.map.iter())
            .filter_map(|(k, v)| Some((k.as_str()?, v)))
            .filter(|(k, _)| !KNOWN_FIELDS.contains(k))
            .map(|(k, v)| (k.to_owned(), yaml_to_json(v)))
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
                lines: Default::default(),
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
        self.lines.get(field)
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

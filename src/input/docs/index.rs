//! Finding the issue a reference (`blocked_by: [X-1]`, `[other-project/X-1]`) means.
//!
//! Ids are unique only within a milestone: placeholder ids like `LOCAL-TBD` recur across a
//! project and across projects. A bare id resolves in the referring doc's own milestone
//! first, then in its project, then in the whole tree; `<project>/<id>` looks only in that
//! project (its milestone first). What is still ambiguous is reported with the candidates.

use super::issue::{split_reference, IssueDoc};
use std::collections::HashMap;

/// What a reference resolved to: indices into the doc list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    One(usize),
    Unknown,
    Ambiguous(Vec<usize>),
}

pub struct DocIndex<'a> {
    docs: &'a [IssueDoc],
    by_id: HashMap<&'a str, Vec<usize>>,
    /// Every doc's `blocked` lists resolved, once for all the milestones that ask.
    blocked: std::cell::OnceCell<Blocked>,
}

/// The docs' `blocked` lists, resolved: who says it blocks each doc, and the references that
/// name more than one.
#[derive(Debug, Default)]
pub struct Blocked {
    /// By doc: the docs whose `blocked` names it, in natural id order, each once.
    pub by: Vec<Vec<usize>>,
    /// `(doc, reference, candidates)` for each ambiguous reference, in doc order.
    pub ambiguous: Vec<(usize, String, Vec<usize>)>,
}

impl<'a> DocIndex<'a> {
    pub fn new(docs: &'a [IssueDoc]) -> DocIndex<'a> {
        let mut by_id: HashMap<&str, Vec<usize>> = HashMap::with_capacity(docs.len());
        for (i, d) in docs.iter().enumerate() {
            by_id.entry(d.id.as_str()).or_default().push(i);
        }
        DocIndex {
            docs,
            by_id,
            blocked: std::cell::OnceCell::new(),
        }
    }

    /// The docs' `blocked` lists resolved (see [`Blocked`]): read through every doc once,
    /// however many milestones ask.
    pub fn blocked(&self) -> &Blocked {
        self.blocked.get_or_init(|| {
            let mut blocked = Blocked {
                by: vec![Vec::new(); self.docs.len()],
                ambiguous: Vec::new(),
            };
            for (j, other) in self.docs.iter().enumerate() {
                for reference in &other.blocked {
                    match self.resolve(other, reference) {
                        Resolved::One(i) if i != j => blocked.by[i].push(j),
                        Resolved::Ambiguous(candidates) => {
                            blocked.ambiguous.push((j, reference.clone(), candidates))
                        }
                        _ => {}
                    }
                }
            }
            for list in blocked.by.iter_mut().filter(|l| l.len() > 1) {
                let natural = crate::model::natural::compare;
                list.sort_by(|a, b| natural(&self.docs[*a].id, &self.docs[*b].id));
                list.dedup();
            }
            blocked
        })
    }

    pub fn doc(&self, i: usize) -> &'a IssueDoc {
        &self.docs[i]
    }

    /// The doc `reference`, written in `from`, means.
    pub fn resolve(&self, from: &IssueDoc, reference: &str) -> Resolved {
        let (project, id) = split_reference(reference);
        let Some(all) = self.by_id.get(id) else {
            return Resolved::Unknown;
        };
        // The common case: an id only one doc has.
        if let ([one], None) = (all.as_slice(), project) {
            return Resolved::One(*one);
        }
        let docs = self.docs;
        let candidates: Vec<usize> = match project {
            Some(p) => all
                .iter()
                .copied()
                .filter(|&i| docs[i].project.as_deref() == Some(p))
                .collect(),
            None => all.clone(),
        };
        let same_project = |i: &usize| docs[*i].project == from.project;
        let same_milestone = |i: &usize| same_project(i) && docs[*i].milestone == from.milestone;
        let narrowed: Vec<usize> = [
            candidates
                .iter()
                .copied()
                .filter(same_milestone)
                .collect::<Vec<_>>(),
            candidates.iter().copied().filter(same_project).collect(),
            candidates.clone(),
        ]
        .into_iter()
        .find(|c| !c.is_empty())
        .unwrap_or_default();
        match narrowed.as_slice() {
            [] => Resolved::Unknown,
            [one] => Resolved::One(*one),
            _ => Resolved::Ambiguous(narrowed),
        }
    }

    /// The reference that names `target` from `from`: its bare id when that resolves to it,
    /// else `<project>/<id>`.
    pub fn reference_to(&self, from: &IssueDoc, target: usize) -> String {
        let doc = &self.docs[target];
        if self.resolve(from, &doc.id) == Resolved::One(target) {
            return doc.id.clone();
        }
        match &doc.project {
            Some(p) => format!("{p}/{}", doc.id),
            None => doc.id.clone(),
        }
    }

    /// `path (project/milestone)` of each candidate, for a message.
    pub fn describe(&self, candidates: &[usize]) -> String {
        candidates
            .iter()
            .map(|&i| {
                let d = &self.docs[i];
                let place = match (&d.project, &d.milestone) {
                    (Some(p), Some(m)) => format!("{p}/{m}"),
                    (Some(p), None) => format!("{p}, no milestone"),
                    (None, Some(m)) => m.clone(),
                    (None, None) => "no milestone".to_owned(),
                };
                format!("{} ({place})", d.path.display())
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn doc(path: &str, id: &str, project: Option<&str>, milestone: Option<&str>) -> IssueDoc {
        let text = format!(
            "---\nid: {id}\ntitle: t\nmilestone: {}\n---\n",
            milestone.unwrap_or("null")
        );
        let mut d = super::super::issue::parse(Path::new(path), text.as_bytes()).unwrap();
        d.project = project.map(str::to_owned);
        d
    }

    #[test]
    fn resolution_narrows_milestone_then_project_then_tree() {
        let docs = vec![
            doc("a1", "TBD", Some("a"), Some("M1")),
            doc("a2", "TBD", Some("a"), Some("M2")),
            doc("b1", "TBD", Some("b"), Some("M1")),
            doc("b2", "B-1", Some("b"), Some("M1")),
            doc("c1", "C-1", Some("c"), Some("M1")),
            doc("c2", "C-1", Some("c"), None),
        ];
        let index = DocIndex::new(&docs);
        let from = |i: usize| &docs[i];
        assert_eq!(index.resolve(from(0), "TBD"), Resolved::One(0));
        assert_eq!(index.resolve(from(1), "TBD"), Resolved::One(1));
        assert_eq!(index.resolve(from(3), "TBD"), Resolved::One(2));
        assert_eq!(
            index.resolve(from(4), "TBD"),
            Resolved::Ambiguous(vec![0, 1, 2])
        );
        assert_eq!(index.resolve(from(4), "b/TBD"), Resolved::One(2));
        assert_eq!(
            index.resolve(from(4), "a/TBD"),
            Resolved::Ambiguous(vec![0, 1])
        );
        assert_eq!(index.resolve(from(0), "B-1"), Resolved::One(3));
        assert_eq!(index.resolve(from(0), "nope"), Resolved::Unknown);
        assert_eq!(index.resolve(from(0), "x/B-1"), Resolved::Unknown);
        assert_eq!(
            index.resolve(from(0), "C-1"),
            Resolved::Ambiguous(vec![4, 5])
        );
        assert_eq!(index.reference_to(from(0), 3), "B-1");
        assert_eq!(index.reference_to(from(4), 2), "b/TBD");
        assert!(index
            .describe(&[0, 5])
            .contains("a1 (a/M1), c2 (c, no milestone)"));
    }
}

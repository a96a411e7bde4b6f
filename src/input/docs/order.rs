//! A milestone's issues as a dependency graph, and their execution order.
//!
//! Edges come from `blocked_by` and from the other side's `blocked` (or `blocking`, `blocks`),
//! each reference resolved as [`super::index`] says (own milestone, own project, then the
//! tree). The order is topological; among issues ready at the same time, those waiting on
//! unfinished work in other milestones go last, and ties break by natural order of id (`X-2`
//! before `X-10`).

use super::index::{DocIndex, Resolved};
use super::states::{StateClass, StateRules};
use super::{DocSet, IssueDoc};
use crate::model::dag::{shortest_cycle, topological, Dependency};
use crate::model::naming::Scope;
use crate::model::natural;
use crate::model::problem::Problem;
use petgraph::graphmap::DiGraphMap;
use std::collections::{BTreeMap, BTreeSet};

/// One issue in execution order.
#[derive(Debug, Clone)]
pub struct Ordered<'a> {
    pub doc: &'a IssueDoc,
    pub dependencies: Vec<Dependency>,
    /// Why the issue will not run, if it will not.
    pub skip_reason: Option<String>,
    /// Its state is done-like: it counts as passed for its dependents.
    pub done: bool,
}

/// The milestone's issues in execution order, with warnings about their docs.
#[derive(Debug)]
pub struct MilestoneOrder<'a> {
    pub issues: Vec<Ordered<'a>>,
    pub warnings: Vec<Problem>,
}

/// Orders one milestone. Problems that make the order meaningless (an id used twice in the
/// milestone, an ambiguous dependency, a cycle) come back all at once, with the warnings.
pub fn order_milestone<'a>(
    set: &'a DocSet,
    index: &DocIndex<'a>,
    scope: &Scope,
    rules: &StateRules,
) -> Result<MilestoneOrder<'a>, Vec<Problem>> {
    let mut members: Vec<(usize, &IssueDoc)> = set
        .docs
        .iter()
        .enumerate()
        .filter(|(_, d)| d.is_in(scope))
        .collect();
    if members.is_empty() {
        return Err(vec![unknown_milestone(set, scope)]);
    }
    members.sort_by(|a, b| natural::compare(&a.1.id, &b.1.id).then(a.1.path.cmp(&b.1.path)));
    let duplicates = duplicate_ids(&members);
    if !duplicates.is_empty() {
        return Err(duplicates);
    }
    // Where each doc of the tree is among the members (by its index in the tree).
    let mut position: Vec<Option<usize>> = vec![None; set.docs.len()];
    for (pos, (i, _)) in members.iter().enumerate() {
        position[*i] = Some(pos);
    }

    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut deps: Vec<Vec<Dependency>> = vec![Vec::new(); members.len()];
    let mut graph = DiGraphMap::<usize, ()>::new();
    for n in 0..members.len() {
        graph.add_node(n);
    }
    let blockers = reverse_edges(&members, index, &position, &mut errors, &mut warnings);
    for (n, &(me, doc)) in members.iter().enumerate() {
        if rules.class(doc.state.as_deref()) == StateClass::Unknown {
            warnings.push(unknown_state(doc, rules));
        }
        // The docs it depends on so far (a handful: a list is quicker than a set).
        let mut seen: Vec<usize> = Vec::new();
        let declared = (doc.blocked_by.iter()).map(|r| (r.as_str(), index.resolve(doc, r)));
        let reverse = (blockers[n].iter()).map(|&j| (index.doc(j).id.as_str(), Resolved::One(j)));
        for (reference, resolved) in declared.chain(reverse) {
            let dep = match resolved {
                Resolved::One(j) if j == me => continue,
                Resolved::One(j) => {
                    if seen.contains(&j) {
                        continue;
                    }
                    seen.push(j);
                    let other = index.doc(j);
                    match position[j] {
                        Some(m) => {
                            graph.add_edge(m, n, ());
                            Dependency::InMilestone {
                                id: other.id.clone(),
                            }
                        }
                        None if rules.is_done(other.state.as_deref()) => Dependency::Satisfied {
                            id: other.id.clone(),
                            project: other.project.clone(),
                            milestone: other.milestone.clone(),
                        },
                        None => {
                            warnings.push(pending(doc, other));
                            Dependency::Pending {
                                id: other.id.clone(),
                                project: other.project.clone(),
                                milestone: other.milestone.clone(),
                                state: other.state.clone(),
                            }
                        }
                    }
                }
                Resolved::Unknown => {
                    warnings.push(
                        Problem::warning(
                            &doc.path,
                            doc.line_of("blocked_by"),
                            format!("`{}` depends on `{reference}`, which no issue doc defines; that dependency is ignored", doc.id),
                        )
                        .with_hint(format!("fix the id or add a doc for `{reference}`")),
                    );
                    Dependency::Unknown {
                        id: reference.to_owned(),
                    }
                }
                Resolved::Ambiguous(candidates) => {
                    errors.push(ambiguous(doc, "blocked_by", reference, index, &candidates));
                    continue;
                }
            };
            deps[n].push(dep);
        }
    }
    if !errors.is_empty() {
        errors.extend(warnings);
        return Err(errors);
    }

    let deferred: Vec<bool> = deps
        .iter()
        .map(|ds| ds.iter().any(|d| matches!(d, Dependency::Pending { .. })))
        .collect();
    let docs: Vec<&IssueDoc> = members.iter().map(|(_, d)| *d).collect();
    let order = topological(&graph, &deferred).map_err(|stuck| {
        let mut problems = cycle_problems(&graph, &docs, &stuck);
        problems.extend(warnings.iter().cloned());
        problems
    })?;

    let issues = order
        .into_iter()
        .map(|n| {
            let doc = docs[n];
            Ordered {
                doc,
                dependencies: std::mem::take(&mut deps[n]),
                skip_reason: rules.skip_reason(doc.state.as_deref()),
                done: rules.is_done(doc.state.as_deref()),
            }
        })
        .collect();
    Ok(MilestoneOrder { issues, warnings })
}

/// Two docs of the milestone with one id: every pair named.
fn duplicate_ids(members: &[(usize, &IssueDoc)]) -> Vec<Problem> {
    let mut first: BTreeMap<&str, &IssueDoc> = BTreeMap::new();
    let mut problems = Vec::new();
    for (_, doc) in members {
        match first.get(doc.id.as_str()) {
            None => {
                first.insert(&doc.id, doc);
            }
            Some(original) => problems.push(
                Problem::error(
                    &doc.path,
                    doc.line_of("id"),
                    format!(
                        "duplicate id `{}` in milestone {}: also used by {}",
                        doc.id,
                        doc.milestone.as_deref().unwrap_or_default(),
                        crate::model::problem::location(&original.path, original.line_of("id"))
                    ),
                )
                .with_hint("give each issue of a milestone its own id"),
            ),
        }
    }
    problems
}

fn pending(doc: &IssueDoc, other: &IssueDoc) -> Problem {
    let place = place_of(other);
    Problem::warning(
        &doc.path,
        doc.line_of("blocked_by"),
        format!(
            "`{}` depends on `{}` of {place}, which is not done (state: {}); it is ordered as late as its dependents allow",
            doc.id,
            other.id,
            other.state.as_deref().unwrap_or("none")
        ),
    )
    .with_hint(format!("finish {place} first, or mark `{}` done", other.id))
}

/// `milestone M2`, `ledger-api/M2`, or `no milestone`.
fn place_of(doc: &IssueDoc) -> String {
    match (&doc.project, &doc.milestone) {
        (Some(p), Some(m)) => format!("milestone {p}/{m}"),
        (None, Some(m)) => format!("milestone {m}"),
        (Some(p), None) => format!("project {p} (in no milestone)"),
        (None, None) => "no milestone".to_owned(),
    }
}

fn unknown_state(doc: &IssueDoc, rules: &StateRules) -> Problem {
    Problem::warning(
        &doc.path,
        doc.line_of("state"),
        format!(
            "`{}` has state `{}`, which orch does not know; it runs",
            doc.id,
            doc.state.as_deref().unwrap_or_default()
        ),
    )
    .with_hint(format!(
        "known states: {} (`done_states` and `not_ready_states` in orch.toml add more)",
        rules.known().join(", ")
    ))
}

fn ambiguous(
    doc: &IssueDoc,
    field: &str,
    reference: &str,
    index: &DocIndex,
    candidates: &[usize],
) -> Problem {
    let projects: BTreeSet<Option<&str>> = candidates
        .iter()
        .map(|&i| index.doc(i).project.as_deref())
        .collect();
    let hint = if projects.len() > 1 && projects.iter().all(Option::is_some) {
        format!("name one as `<project>/{reference}`, or give the docs distinct ids")
    } else {
        "give the docs distinct ids".to_owned()
    };
    Problem::error(
        &doc.path,
        doc.line_of(field).or(doc.blocked_line()),
        format!(
            "`{}` lists `{reference}` in `{field}`, which matches {} issue docs: {}",
            doc.id,
            candidates.len(),
            index.describe(candidates)
        ),
    )
    .with_hint(hint)
}

/// For each member (by position), the docs anywhere whose `blocked` list names it. A
/// `blocked` entry that is ambiguous and could name a member is an error when its doc is a
/// member, a warning otherwise.
fn reverse_edges<'i>(
    members: &[(usize, &IssueDoc)],
    index: &'i DocIndex,
    position: &[Option<usize>],
    errors: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> Vec<&'i [usize]> {
    let blocked = index.blocked();
    for (j, reference, candidates) in &blocked.ambiguous {
        if !candidates.iter().any(|&c| position[c].is_some()) {
            continue;
        }
        let mut problem = ambiguous(index.doc(*j), "blocked", reference, index, candidates);
        if position[*j].is_some() {
            errors.push(problem);
        } else {
            problem.severity = crate::model::problem::Severity::Warning;
            problem.message.push_str("; the edge is ignored");
            warnings.push(problem);
        }
    }
    (members.iter())
        .map(|(i, _)| blocked.by[*i].as_slice())
        .collect()
}

/// One error per cycle, naming it: `A → B → C → A` (each blocks the next).
fn cycle_problems(
    graph: &DiGraphMap<usize, ()>,
    members: &[&IssueDoc],
    stuck: &BTreeSet<usize>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for scc in petgraph::algo::tarjan_scc(graph) {
        if scc.len() < 2 || !scc.iter().all(|n| stuck.contains(n)) {
            continue;
        }
        let in_scc: BTreeSet<usize> = scc.iter().copied().collect();
        let start = *in_scc.iter().next().expect("non-empty component");
        let cycle = shortest_cycle(graph, &in_scc, start);
        let names: Vec<&str> = cycle.iter().map(|&n| members[n].id.as_str()).collect();
        let doc = members[start];
        problems.push(
            Problem::error(
                &doc.path,
                doc.line_of("blocked_by").or(doc.line_of("blocked")),
                format!("dependency cycle: {} → {}", names.join(" → "), names[0]),
            )
            .with_hint(
                "each issue blocks the next; remove one of these `blocked_by`/`blocked` entries",
            ),
        );
    }
    problems
}

fn unknown_milestone(set: &DocSet, scope: &Scope) -> Problem {
    let known: Vec<String> = set.scopes().iter().map(Scope::to_string).collect();
    let path = set
        .docs
        .first()
        .map(|d| d.path.parent().unwrap_or(&d.path).to_owned())
        .unwrap_or_default();
    let hint = if known.is_empty() {
        "no issue docs were found at all; check `--docs` or `docs_glob`".to_owned()
    } else {
        format!("milestones found: {}", known.join(", "))
    };
    Problem::error(path, None, format!("no issue doc is in milestone {scope}")).with_hint(hint)
}

/// An edge declared on one side only: `doc.field` names `other`, but `other`'s opposite
/// list (`missing`) does not name `doc`.
#[derive(Debug, Clone)]
pub struct OneSided<'a> {
    pub doc: &'a IssueDoc,
    /// `blocked_by` or `blocked`.
    pub field: &'static str,
    pub other: &'a IssueDoc,
    /// `blocked` or `blocked_by`.
    pub missing: &'static str,
    /// How `other` names `doc` when the missing side is added.
    pub reference: String,
}

impl OneSided<'_> {
    pub fn problem(&self) -> Problem {
        let (doc, other) = (&self.doc.id, &self.other.id);
        let line = if self.field == "blocked" {
            self.doc.blocked_line()
        } else {
            self.doc.line_of(self.field)
        };
        Problem::warning(
            &self.doc.path,
            line,
            format!(
                "`{doc}` lists `{other}` in `{}`, but `{other}` does not list `{doc}` in `{}`",
                self.field, self.missing
            ),
        )
        .with_hint(format!(
            "add `{}` to `{}` in {} (`orch docs fix` does)",
            self.reference,
            self.missing,
            self.other.path.display()
        ))
    }
}

/// Edges declared on one side only, of the docs `keep` selects.
pub fn one_sided<'a>(
    set: &'a DocSet,
    index: &DocIndex<'a>,
    keep: impl Fn(&IssueDoc) -> bool,
) -> Vec<OneSided<'a>> {
    let names = |from: &IssueDoc, list: &[String], target: usize| {
        list.iter()
            .any(|r| index.resolve(from, r) == Resolved::One(target))
    };
    let mut out = Vec::new();
    for (i, doc) in set.docs.iter().enumerate().filter(|(_, d)| keep(d)) {
        for (field, list, missing) in [
            ("blocked_by", &doc.blocked_by, "blocked"),
            ("blocked", &doc.blocked, "blocked_by"),
        ] {
            for reference in list {
                let Resolved::One(j) = index.resolve(doc, reference) else {
                    continue;
                };
                let other = index.doc(j);
                if j == i {
                    continue;
                }
                let theirs = if missing == "blocked" {
                    &other.blocked
                } else {
                    &other.blocked_by
                };
                if !names(other, theirs, i) {
                    out.push(OneSided {
                        doc,
                        field,
                        other,
                        missing,
                        reference: index.reference_to(other, i),
                    });
                }
            }
        }
    }
    out
}

//! A milestone's issues as a dependency graph, and their execution order.
//!
//! Edges come from `blocked_by` and from the other side's `blocked`/`blocking`. The order is
//! topological; among issues ready at the same time, those waiting on unfinished work in
//! other milestones go last, and ties break by natural order of id (`X-2` before `X-10`).

use crate::docs::{DocSet, IssueDoc};
use crate::natural;
use crate::problem::Problem;
use petgraph::graphmap::DiGraphMap;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

/// How one dependency of an issue stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Dependency {
    /// Another issue of the same milestone: ordered before this one.
    InMilestone { id: String },
    /// An issue of another milestone that is done or canceled.
    Satisfied { id: String, milestone: String },
    /// An issue of another milestone that is not finished yet.
    Pending {
        id: String,
        milestone: String,
        state: Option<String>,
    },
    /// An id no doc has.
    Unknown { id: String },
}

impl Dependency {
    pub fn id(&self) -> &str {
        match self {
            Dependency::InMilestone { id }
            | Dependency::Satisfied { id, .. }
            | Dependency::Pending { id, .. }
            | Dependency::Unknown { id } => id,
        }
    }
}

/// One issue in execution order.
#[derive(Debug, Clone)]
pub struct Ordered<'a> {
    pub doc: &'a IssueDoc,
    pub dependencies: Vec<Dependency>,
    /// Why the issue will not run, if it will not.
    pub skip_reason: Option<String>,
}

/// The milestone's issues in execution order, with warnings about their docs.
#[derive(Debug)]
pub struct MilestoneOrder<'a> {
    pub milestone: String,
    pub issues: Vec<Ordered<'a>>,
    pub warnings: Vec<Problem>,
}

/// Orders one milestone. Errors (cycles, unknown milestone) come back all at once.
pub fn order_milestone<'a>(
    set: &'a DocSet,
    milestone: &str,
) -> Result<MilestoneOrder<'a>, Vec<Problem>> {
    let by_id = set.by_id();
    let mut members: Vec<&IssueDoc> = set
        .docs
        .iter()
        .filter(|d| d.milestone == milestone)
        .collect();
    if members.is_empty() {
        return Err(vec![unknown_milestone(set, milestone)]);
    }
    members.sort_by(|a, b| natural::compare(&a.id, &b.id));
    let index: BTreeMap<&str, usize> = members
        .iter()
        .enumerate()
        .map(|(i, d)| (d.id.as_str(), i))
        .collect();

    let mut warnings = Vec::new();
    let mut deps: Vec<Vec<Dependency>> = vec![Vec::new(); members.len()];
    let mut graph = DiGraphMap::<usize, ()>::new();
    for i in 0..members.len() {
        graph.add_node(i);
    }
    let blockers = reverse_edges(set);
    for (i, doc) in members.iter().enumerate() {
        for dep_id in dependency_ids(doc, &blockers) {
            let dep = match (index.get(dep_id.as_str()), by_id.get(dep_id.as_str())) {
                (Some(&j), _) => {
                    graph.add_edge(j, i, ());
                    Dependency::InMilestone { id: dep_id }
                }
                (None, Some(other)) if other.is_closed() => Dependency::Satisfied {
                    id: dep_id,
                    milestone: other.milestone.clone(),
                },
                (None, Some(other)) => {
                    warnings.push(
                        Problem::warning(
                            &doc.path,
                            doc.line_of("blocked_by"),
                            format!(
                                "`{}` depends on `{}` of milestone {}, which is not done (state: {}); it is ordered as late as its dependents allow",
                                doc.id,
                                other.id,
                                other.milestone,
                                other.state.as_deref().unwrap_or("none")
                            ),
                        )
                        .with_hint(format!("finish milestone {} first, or mark `{}` done", other.milestone, other.id)),
                    );
                    Dependency::Pending {
                        id: dep_id,
                        milestone: other.milestone.clone(),
                        state: other.state.clone(),
                    }
                }
                (None, None) => {
                    warnings.push(
                        Problem::warning(
                            &doc.path,
                            doc.line_of("blocked_by"),
                            format!("`{}` depends on `{dep_id}`, which no issue doc defines; that dependency is ignored", doc.id),
                        )
                        .with_hint(format!("fix the id or add a doc for `{dep_id}`")),
                    );
                    Dependency::Unknown { id: dep_id }
                }
            };
            deps[i].push(dep);
        }
    }

    let deferred: Vec<bool> = deps
        .iter()
        .map(|ds| ds.iter().any(|d| matches!(d, Dependency::Pending { .. })))
        .collect();
    let order =
        topological(&graph, &deferred).map_err(|stuck| cycle_problems(&graph, &members, &stuck))?;

    let issues = order
        .into_iter()
        .map(|i| {
            let doc = members[i];
            let skip_reason = doc
                .is_closed()
                .then(|| format!("state is `{}`", doc.state.as_deref().unwrap_or_default()));
            Ordered {
                doc,
                dependencies: std::mem::take(&mut deps[i]),
                skip_reason,
            }
        })
        .collect();
    Ok(MilestoneOrder {
        milestone: milestone.to_owned(),
        issues,
        warnings,
    })
}

/// The union of a doc's `blocked_by` and of every other doc whose `blocked` names it,
/// in a stable order (declared first, then reverse edges by natural id).
fn dependency_ids(doc: &IssueDoc, blockers: &BTreeMap<&str, Vec<&str>>) -> Vec<String> {
    let mut ids = doc.blocked_by.clone();
    for &id in blockers.get(doc.id.as_str()).into_iter().flatten() {
        if !ids.iter().any(|x| x == id) {
            ids.push(id.to_owned());
        }
    }
    ids.retain(|id| id != &doc.id);
    ids
}

/// For every id, the docs whose `blocked` list names it, in natural order of their ids.
fn reverse_edges(set: &DocSet) -> BTreeMap<&str, Vec<&str>> {
    let mut map: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for other in &set.docs {
        for blocked in &other.blocked {
            if *blocked != other.id {
                map.entry(blocked.as_str())
                    .or_default()
                    .push(other.id.as_str());
            }
        }
    }
    for list in map.values_mut() {
        list.sort_by(|a, b| natural::compare(a, b));
        list.dedup();
    }
    map
}

/// Kahn's algorithm; ready nodes come out non-deferred first, then by index (natural id).
/// On a cycle, returns the nodes that could not be ordered.
pub(crate) fn topological(
    graph: &DiGraphMap<usize, ()>,
    deferred: &[bool],
) -> Result<Vec<usize>, BTreeSet<usize>> {
    let mut indegree: Vec<usize> = (0..deferred.len())
        .map(|n| {
            graph
                .neighbors_directed(n, petgraph::Direction::Incoming)
                .count()
        })
        .collect();
    let mut ready: BinaryHeap<Reverse<(bool, usize)>> = indegree
        .iter()
        .enumerate()
        .filter(|(_, &d)| d == 0)
        .map(|(n, _)| Reverse((deferred[n], n)))
        .collect();
    let mut order = Vec::with_capacity(deferred.len());
    while let Some(Reverse((_, n))) = ready.pop() {
        order.push(n);
        for m in graph.neighbors_directed(n, petgraph::Direction::Outgoing) {
            indegree[m] -= 1;
            if indegree[m] == 0 {
                ready.push(Reverse((deferred[m], m)));
            }
        }
    }
    if order.len() == deferred.len() {
        Ok(order)
    } else {
        let placed: BTreeSet<usize> = order.into_iter().collect();
        Err((0..deferred.len())
            .filter(|n| !placed.contains(n))
            .collect())
    }
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

/// Breadth-first from `start` back to `start` inside one strongly connected component.
pub(crate) fn shortest_cycle(
    graph: &DiGraphMap<usize, ()>,
    scc: &BTreeSet<usize>,
    start: usize,
) -> Vec<usize> {
    let mut parent: BTreeMap<usize, usize> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        let mut next: Vec<usize> = graph
            .neighbors_directed(n, petgraph::Direction::Outgoing)
            .filter(|m| scc.contains(m))
            .collect();
        next.sort_unstable();
        for m in next {
            if m == start {
                let mut path = vec![n];
                let mut cur = n;
                while cur != start {
                    cur = parent[&cur];
                    path.push(cur);
                }
                path.reverse();
                return path;
            }
            if let std::collections::btree_map::Entry::Vacant(e) = parent.entry(m) {
                e.insert(n);
                queue.push_back(m);
            }
        }
    }
    vec![start]
}

fn unknown_milestone(set: &DocSet, milestone: &str) -> Problem {
    let known = set.milestones();
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
    Problem::error(
        path,
        None,
        format!("no issue doc has `milestone: {milestone}`"),
    )
    .with_hint(hint)
}

/// Warnings for edges declared on one side only: `A.blocked_by` lists `B` but `B.blocked`
/// does not list `A`, or the reverse. Only docs of `milestone` (all docs if `None`) are checked.
pub fn one_sided_edges(set: &DocSet, milestone: Option<&str>) -> Vec<Problem> {
    let by_id = set.by_id();
    let mut warnings = Vec::new();
    for doc in set
        .docs
        .iter()
        .filter(|d| milestone.is_none_or(|m| d.milestone == m))
    {
        for b in &doc.blocked_by {
            if let Some(other) = by_id.get(b.as_str()) {
                if other.id != doc.id && !other.blocked.contains(&doc.id) {
                    warnings.push(
                        Problem::warning(
                            &doc.path,
                            doc.line_of("blocked_by"),
                            format!("`{}` lists `{b}` in `blocked_by`, but `{b}` does not list `{}` in `blocked`", doc.id, doc.id),
                        )
                        .with_hint(format!("add `{}` to `blocked` in {}", doc.id, other.path.display())),
                    );
                }
            }
        }
        for b in &doc.blocked {
            if let Some(other) = by_id.get(b.as_str()) {
                if other.id != doc.id && !other.blocked_by.contains(&doc.id) {
                    warnings.push(
                        Problem::warning(
                            &doc.path,
                            doc.line_of("blocked").or(doc.line_of("blocking")),
                            format!("`{}` lists `{b}` in `blocked`, but `{b}` does not list `{}` in `blocked_by`", doc.id, doc.id),
                        )
                        .with_hint(format!("add `{}` to `blocked_by` in {}", doc.id, other.path.display())),
                    );
                }
            }
        }
    }
    warnings
}

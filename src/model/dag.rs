//! Dependencies between the issues (or tasks) of a plan, and the graph algorithms both kinds
//! of plan are ordered by: topological order with ties broken by a rank, and the shortest
//! cycle through a node, to name a cycle.

use petgraph::graphmap::DiGraphMap;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

/// How one dependency of an issue stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Dependency {
    /// Another issue of the same milestone: ordered before this one.
    InMilestone { id: String },
    /// An issue of another milestone (or of none) that is done.
    Satisfied {
        id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        project: Option<String>,
        milestone: Option<String>,
    },
    /// An issue of another milestone (or of none) that is not finished yet.
    Pending {
        id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        project: Option<String>,
        milestone: Option<String>,
        state: Option<String>,
    },
    /// A reference no doc answers to.
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

    /// A name no other dependency of the plan shares: `<project>/<id>` for an issue of a
    /// project (ids repeat across projects), else the id.
    pub fn key(&self) -> String {
        match self {
            Dependency::Satisfied {
                id,
                project: Some(p),
                ..
            }
            | Dependency::Pending {
                id,
                project: Some(p),
                ..
            } => format!("{p}/{id}"),
            other => other.id().to_owned(),
        }
    }
}

/// Kahn's algorithm; ready nodes come out non-deferred first, then by index (natural id).
/// On a cycle, returns the nodes that could not be ordered.
pub fn topological(
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

/// Breadth-first from `start` back to `start` inside one strongly connected component.
pub fn shortest_cycle(
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

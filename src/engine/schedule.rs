//! Which issue of a milestone starts next, as a pure function: the first waiting issue, in
//! plan order, whose dependencies in this run have all ended — while fewer than `jobs`
//! issues are in flight. With one job that is the plan order itself (dependencies come first
//! in it); with more, independent issues run side by side and a dependent waits for the
//! final tips of what it stacks on. No I/O, so every case is a table row.

use crate::model::plan::PlannedIssue;
use crate::model::record::Outcome;
use std::collections::{BTreeMap, BTreeSet};

/// What the loop does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    /// Start this issue (an index into the run's issues).
    Start(usize),
    /// Wait for an issue in flight to end.
    Wait,
    /// Nothing is left to start or wait for.
    Done,
}

/// Where the run's issues stand.
#[derive(Debug, Clone, Default)]
pub(super) struct Board {
    /// Not started yet, in plan order (indices into the run's issues).
    pub waiting: Vec<usize>,
    /// Started and not ended.
    pub running: BTreeSet<usize>,
    /// Ended, by id, with how.
    pub ended: BTreeMap<String, Outcome>,
    /// Start nothing more (the run was interrupted).
    pub stopped: bool,
}

/// The next move for `issues` (the run's issues, in plan order) given `board`. A dependency
/// counts only when it is one of `issues`: with `--issue`, the one issue runs alone.
pub(super) fn next(issues: &[&PlannedIssue], board: &Board, jobs: usize) -> Next {
    let idle = if board.running.is_empty() {
        Next::Done
    } else {
        Next::Wait
    };
    if board.stopped || board.running.len() >= jobs.max(1) {
        return idle;
    }
    let in_run = |id: &str| issues.iter().any(|i| i.id == id);
    let ready = board.waiting.iter().copied().find(|&n| {
        issues[n]
            .milestone_dependencies()
            .all(|id| !in_run(id) || board.ended.contains_key(id))
    });
    match ready {
        Some(n) => Next::Start(n),
        None => idle,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(id: &str, deps: &[&str]) -> PlannedIssue {
        PlannedIssue::for_test(id, deps)
    }

    /// Plays the whole run: each step starts what `next` allows, and when it says wait, the
    /// earliest started issue ends. Returns the starts, with `|` where the loop waited.
    fn play(issues: &[PlannedIssue], jobs: usize) -> String {
        let refs: Vec<&PlannedIssue> = issues.iter().collect();
        let mut board = Board {
            waiting: (0..issues.len()).collect(),
            ..Board::default()
        };
        let mut order = Vec::new();
        let mut started = Vec::new();
        loop {
            match next(&refs, &board, jobs) {
                Next::Start(n) => {
                    board.waiting.retain(|&w| w != n);
                    board.running.insert(n);
                    started.push(n);
                    order.push(issues[n].id.clone());
                }
                Next::Wait => {
                    let first = started.remove(0);
                    board.running.remove(&first);
                    board
                        .ended
                        .insert(issues[first].id.clone(), Outcome::Completed);
                    order.push("|".to_owned());
                }
                Next::Done => return order.join(" "),
            }
        }
    }

    #[test]
    fn table() {
        let diamond = [
            issue("A", &[]),
            issue("B", &["A"]),
            issue("C", &["A"]),
            issue("D", &["B", "C"]),
        ];
        let chains = [
            issue("A1", &[]),
            issue("B1", &[]),
            issue("C1", &[]),
            issue("A2", &["A1"]),
            issue("B2", &["B1"]),
            issue("C2", &["C1"]),
        ];
        let rows: Vec<(&str, &[PlannedIssue], usize, &str)> = vec![
            ("one job: the plan order", &diamond, 1, "A | B | C | D |"),
            ("a diamond, three jobs", &diamond, 3, "A | B C | | D |"),
            ("no jobs is one", &diamond, 0, "A | B | C | D |"),
            (
                "three chains, one job",
                &chains,
                1,
                "A1 | B1 | C1 | A2 | B2 | C2 |",
            ),
            (
                "three chains, three jobs",
                &chains,
                3,
                "A1 B1 C1 | A2 | B2 | C2 | | |",
            ),
            (
                "three chains, two jobs",
                &chains,
                2,
                "A1 B1 | C1 | A2 | B2 | C2 | |",
            ),
        ];
        for (name, issues, jobs, want) in rows {
            assert_eq!(play(issues, jobs), want, "{name}");
        }
    }

    #[test]
    fn a_dependency_outside_the_run_does_not_hold_it() {
        // `--issue B`: the run is B alone.
        let b = issue("B", &["A"]);
        let board = Board {
            waiting: vec![0],
            ..Board::default()
        };
        assert_eq!(next(&[&b], &board, 1), Next::Start(0));
    }

    #[test]
    fn a_stopped_run_starts_nothing_and_waits_for_what_runs() {
        let (a, b) = (issue("A", &[]), issue("B", &[]));
        let mut board = Board {
            waiting: vec![1],
            running: BTreeSet::from([0]),
            stopped: true,
            ..Board::default()
        };
        assert_eq!(next(&[&a, &b], &board, 3), Next::Wait);
        board.running.clear();
        assert_eq!(next(&[&a, &b], &board, 3), Next::Done);
    }
}

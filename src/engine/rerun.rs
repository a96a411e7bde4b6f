//! A new `orch run` of a milestone that has run before, as a pure function of the plan, the
//! milestone's recorded runs and the flags: never silent, never destructive, never mixed.
//! What counts for an issue is its last run: the newest recorded run of the milestone that
//! had it (a run with `--issue` has only that one).
//!
//! - An issue its last run completed is done: carried, not run again; its recorded final head
//!   is the base of its dependents.
//! - An issue its last run did not finish (failed, interrupted, out of budget, never reached),
//!   or one whose branch exists though no run records it, stops the run: `orch resume`
//!   continues the last run, `--retry ID` redoes that issue, `--fresh` starts over.
//! - `--retry ID` runs the issue again from scratch, and every issue that depends on it (its
//!   base changes); `--fresh` runs every issue from scratch. Their earlier branches are set
//!   aside under rescue refs first (the engine does that).
//!
//! Issues their docs skip (`landed`, `future`, …) are none of this: the docs decide them.

use crate::model::plan::PlannedIssue;
use crate::model::record::{IssueSummary, Outcome, SkipKind};
use crate::model::state::RunState;
use std::collections::BTreeSet;

/// What a new run of the milestone does with the issues of the runs before it.
#[derive(Debug, Clone, Default)]
pub struct Rerun {
    /// The run decided against, if the milestone ran before.
    pub earlier: Option<String>,
    /// Issues an earlier run completed, with the run each completed in (`completed_in`).
    pub carried: Vec<IssueSummary>,
    /// Issues run from scratch, their earlier branches set aside first, in plan order.
    pub restart: Vec<String>,
}

impl Rerun {
    /// Whether the run would run no issue at all: each is carried or skipped by its docs.
    pub fn nothing_to_run(&self, issues: &[&PlannedIssue]) -> bool {
        issues
            .iter()
            .all(|i| i.skip_reason.is_some() || self.carried.iter().any(|c| c.id == i.id))
    }
}

/// Why a new run does not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RerunRefusal {
    /// Their last runs left these issues unfinished: each with what became of it, and in
    /// which run.
    Unfinished { issues: Vec<Unfinished> },
    /// An issue whose branch exists though no run of the milestone records it.
    Untracked { issues: Vec<(String, String)> },
    /// `--retry` names an issue that is not one of the run's.
    NotInRun { id: String },
    /// `--retry` names an issue its docs skip.
    SkippedByDocs { id: String, reason: String },
}

/// An issue its last run did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfinished {
    pub id: String,
    /// What became of it: `failed (dev phase failed)`, `did not finish`, `not started`.
    pub how: String,
    pub run_id: String,
}

/// What `orch run` asked for beyond the milestone.
#[derive(Debug, Clone, Copy, Default)]
pub struct Asked<'a> {
    /// `--fresh`: every issue from scratch.
    pub fresh: bool,
    /// `--retry ID`: these issues (and their dependents) from scratch.
    pub retry: &'a [String],
}

/// The decision for a new run of `issues` (the run's, in plan order), given the milestone's
/// recorded runs `runs` (in any order) and which issues have a branch already (`has_branch`).
pub fn decide(
    issues: &[&PlannedIssue],
    runs: &[RunState],
    has_branch: &dyn Fn(&PlannedIssue) -> bool,
    asked: Asked<'_>,
) -> Result<Rerun, RerunRefusal> {
    let newest = |of: Option<&str>| {
        runs.iter()
            .filter(|r| of.is_none_or(|id| r.issue(id).is_some()))
            .max_by(|a, b| a.recency().cmp(&b.recency()))
    };
    for id in asked.retry {
        match issues.iter().find(|i| &i.id == id) {
            None => return Err(RerunRefusal::NotInRun { id: id.clone() }),
            Some(i) => {
                if let Some(reason) = &i.skip_reason {
                    return Err(RerunRefusal::SkippedByDocs {
                        id: id.clone(),
                        reason: reason.clone(),
                    });
                }
            }
        }
    }
    let again = redone(issues, asked.retry);
    let mut rerun = Rerun {
        earlier: newest(None).map(|p| p.run_id.clone()),
        ..Rerun::default()
    };
    let mut unfinished = Vec::new();
    let mut untracked = Vec::new();
    for issue in issues.iter().filter(|i| i.skip_reason.is_none()) {
        if asked.fresh || again.contains(issue.id.as_str()) {
            rerun.restart.push(issue.id.clone());
            continue;
        }
        let recorded = newest(Some(&issue.id)).and_then(|p| Some((p, p.issue(&issue.id)?)));
        match recorded {
            Some((p, state)) => match &state.summary {
                Some(s) if s.outcome == Outcome::Completed => rerun.carried.push(IssueSummary {
                    completed_in: s.completed_in.clone().or_else(|| Some(p.run_id.clone())),
                    ..s.clone()
                }),
                // Skipped by its docs then, not now: as if that run never had it.
                Some(s) if matches!(s.skip_kind(), Some(SkipKind::State | SkipKind::Done)) => {
                    if has_branch(issue) {
                        untracked.push((issue.id.clone(), issue.branch.clone()));
                    }
                }
                Some(s) => unfinished.push(Unfinished {
                    id: issue.id.clone(),
                    how: s.ended(),
                    run_id: p.run_id.clone(),
                }),
                None => unfinished.push(Unfinished {
                    id: issue.id.clone(),
                    how: if state.current_phase.is_some() || !state.phases.is_empty() {
                        "did not finish"
                    } else {
                        "not started"
                    }
                    .to_owned(),
                    run_id: p.run_id.clone(),
                }),
            },
            None if has_branch(issue) => untracked.push((issue.id.clone(), issue.branch.clone())),
            None => {}
        }
    }
    if !unfinished.is_empty() {
        return Err(RerunRefusal::Unfinished { issues: unfinished });
    }
    if !untracked.is_empty() {
        return Err(RerunRefusal::Untracked { issues: untracked });
    }
    Ok(rerun)
}

/// The issues `--retry` names and every issue that depends on them (in the run), in plan
/// order: dependencies come first in it, so one pass finds them all.
fn redone<'a>(issues: &[&'a PlannedIssue], named: &[String]) -> BTreeSet<&'a str> {
    let mut again: BTreeSet<&str> = BTreeSet::new();
    for issue in issues {
        if named.contains(&issue.id) || issue.milestone_dependencies().any(|d| again.contains(d)) {
            again.insert(issue.id.as_str());
        }
    }
    again
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::state::{IssueState, IssueStatus};

    fn issue(id: &str, deps: &[&str], skip: Option<&str>) -> PlannedIssue {
        PlannedIssue {
            skipped: skip.is_some(),
            skip_reason: skip.map(str::to_owned),
            done: skip.is_some(),
            ..PlannedIssue::for_test(id, deps)
        }
    }

    fn ended_with(id: &str, outcome: Outcome) -> IssueState {
        let issue = issue(id, &[], None);
        IssueState {
            status: outcome.into(),
            summary: Some(IssueSummary::new(&issue, outcome, "d".as_ref())),
            ..IssueState::pending(id)
        }
    }

    fn run(id: &str, issues: Vec<IssueState>) -> RunState {
        serde_json::from_value(serde_json::json!({
            "run_id": id, "milestone": "M1", "started_at": "t", "updated_at": "t",
            "finished": true, "issues": issues,
        }))
        .unwrap()
    }

    /// A, B after A, C after B, D alone; E landed.
    fn plan() -> Vec<PlannedIssue> {
        vec![
            issue("A", &[], None),
            issue("B", &["A"], None),
            issue("C", &["B"], None),
            issue("D", &[], None),
            issue("E", &[], Some("state is `landed`")),
        ]
    }

    /// A case: its name, the last run, which issues have a branch, what was asked, the
    /// decision in a few words.
    type Row<'a> = (
        &'a str,
        &'a [RunState],
        &'a dyn Fn(&PlannedIssue) -> bool,
        Asked<'a>,
        &'a str,
    );

    /// A decision in a few words: `carried [..] restart [..]`, or the refusal.
    fn shape(got: Result<Rerun, RerunRefusal>) -> String {
        match got {
            Ok(r) => {
                let carried: Vec<String> = r
                    .carried
                    .iter()
                    .map(|s| format!("{}@{}", s.id, s.completed_in.as_deref().unwrap_or("?")))
                    .collect();
                format!(
                    "carried [{}] restart [{}]",
                    carried.join(" "),
                    r.restart.join(" ")
                )
            }
            Err(RerunRefusal::Unfinished { issues }) => {
                let what: Vec<String> = issues
                    .iter()
                    .map(|u| format!("{}: {} ({})", u.id, u.how, u.run_id))
                    .collect();
                format!("unfinished {}", what.join("; "))
            }
            Err(RerunRefusal::Untracked { issues }) => {
                let what: Vec<&str> = issues.iter().map(|(i, _)| i.as_str()).collect();
                format!("untracked {}", what.join(" "))
            }
            Err(other) => format!("{other:?}"),
        }
    }

    #[test]
    fn table() {
        use Outcome::*;
        let plan = plan();
        let issues: Vec<&PlannedIssue> = plan.iter().collect();
        let all_done = run(
            "r1",
            vec![
                ended_with("A", Completed),
                ended_with("B", Completed),
                ended_with("C", Completed),
                ended_with("D", Completed),
            ],
        );
        let mut carried_before = all_done.clone();
        carried_before.run_id = "r2".into();
        if let Some(s) = carried_before.issues[0].summary.as_mut() {
            s.completed_in = Some("r0".into());
        }
        let b_failed = run(
            "r1",
            vec![
                ended_with("A", Completed),
                ended_with("B", Failed),
                IssueState {
                    status: IssueStatus::Skipped,
                    summary: Some(IssueSummary {
                        skip: Some(SkipKind::Dependency),
                        reason: Some("depends on B (failed) which did not pass".into()),
                        ..IssueSummary::new(&plan[2], Skipped, "d".as_ref())
                    }),
                    ..IssueState::pending("C")
                },
                ended_with("D", Completed),
            ],
        );
        let crashed = run(
            "r1",
            vec![
                ended_with("A", Completed),
                IssueState {
                    status: IssueStatus::InProgress,
                    current_phase: Some(crate::model::state::CurrentPhase {
                        seq: 1,
                        phase: crate::model::phase::PhaseKind::Dev,
                        started_at: "t".into(),
                        agent: None,
                        agent_name: None,
                    }),
                    ..IssueState::pending("B")
                },
                IssueState::pending("C"),
                ended_with("D", Interrupted),
            ],
        );
        let only_d = run("r1", vec![ended_with("D", Completed)]);
        let mut then_d = run("r3", vec![ended_with("D", Completed)]);
        then_d.updated_at = "u".into();
        let all_then_d = [all_done.clone(), then_d];
        let none = |_: &PlannedIssue| false;
        let d_branch = |i: &PlannedIssue| i.id == "D";
        let a_branch = |i: &PlannedIssue| i.id == "A";
        let retry_b = ["B".to_owned()];
        let retry_d = ["D".to_owned()];
        let fresh = Asked {
            fresh: true,
            retry: &[],
        };
        let plain = Asked::default();
        let rows: Vec<Row<'_>> = vec![
            ("first run", &[], &none, plain, "carried [] restart []"),
            (
                "first run, an issue's branch is already there",
                &[],
                &d_branch,
                plain,
                "untracked D",
            ),
            (
                "all completed: nothing runs",
                std::slice::from_ref(&all_done),
                &none,
                plain,
                "carried [A@r1 B@r1 C@r1 D@r1] restart []",
            ),
            (
                "carried twice keeps the run it completed in",
                std::slice::from_ref(&carried_before),
                &none,
                plain,
                "carried [A@r0 B@r2 C@r2 D@r2] restart []",
            ),
            (
                "all completed, --retry B: B and C after it run again",
                std::slice::from_ref(&all_done),
                &none,
                Asked {
                    fresh: false,
                    retry: &retry_b,
                },
                "carried [A@r1 D@r1] restart [B C]",
            ),
            (
                "a failure stops it",
                std::slice::from_ref(&b_failed),
                &none,
                plain,
                "unfinished B: failed (r1); C: skipped (depends on B (failed) which did not pass) (r1)",
            ),
            (
                "a failure, --retry B: redone with its dependent",
                std::slice::from_ref(&b_failed),
                &none,
                Asked {
                    fresh: false,
                    retry: &retry_b,
                },
                "carried [A@r1 D@r1] restart [B C]",
            ),
            (
                "a failure, --retry of another issue still stops",
                std::slice::from_ref(&b_failed),
                &none,
                Asked {
                    fresh: false,
                    retry: &retry_d,
                },
                "unfinished B: failed (r1); C: skipped (depends on B (failed) which did not pass) (r1)",
            ),
            (
                "a crash stops it",
                std::slice::from_ref(&crashed),
                &none,
                plain,
                "unfinished B: did not finish (r1); C: not started (r1); D: interrupted (r1)",
            ),
            (
                "--fresh runs all from scratch",
                std::slice::from_ref(&crashed),
                &none,
                fresh,
                "carried [] restart [A B C D]",
            ),
            (
                "an earlier run of D alone: the others are new",
                std::slice::from_ref(&only_d),
                &none,
                plain,
                "carried [D@r1] restart []",
            ),
            (
                "all completed, then a run of D alone: each issue's own last run counts",
                &all_then_d,
                &a_branch,
                plain,
                "carried [A@r1 B@r1 C@r1 D@r3] restart []",
            ),
            (
                "an earlier run of D alone, A's branch there from elsewhere",
                std::slice::from_ref(&only_d),
                &a_branch,
                plain,
                "untracked A",
            ),
        ];
        for (name, prior, has_branch, asked, want) in rows {
            assert_eq!(
                shape(decide(&issues, prior, has_branch, asked)),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn retry_names_an_issue_of_the_run_that_runs() {
        let plan = plan();
        let issues: Vec<&PlannedIssue> = plan.iter().collect();
        let asked = |ids: &[String]| {
            decide(
                &issues,
                &[],
                &|_| false,
                Asked {
                    fresh: false,
                    retry: ids,
                },
            )
        };
        assert!(matches!(
            asked(&["Z".to_owned()]),
            Err(RerunRefusal::NotInRun { id }) if id == "Z"
        ));
        assert!(matches!(
            asked(&["E".to_owned()]),
            Err(RerunRefusal::SkippedByDocs { .. })
        ));
    }

    #[test]
    fn nothing_to_run_when_every_issue_is_carried_or_skipped() {
        let plan = plan();
        let issues: Vec<&PlannedIssue> = plan.iter().collect();
        let mut rerun = Rerun::default();
        assert!(!rerun.nothing_to_run(&issues));
        rerun.carried = plan[..4]
            .iter()
            .map(|i| IssueSummary::new(i, Outcome::Completed, "d".as_ref()))
            .collect();
        assert!(rerun.nothing_to_run(&issues));
    }
}

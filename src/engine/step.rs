//! The issue loop as a pure function: given the phases so far (and the acceptance checks after
//! them), what runs next or how the issue ends. No I/O, so every path is a table row.

use crate::model::phase::{PhaseFailure, PhaseKind};
use crate::model::record::{GateRecord, Outcome};
use crate::model::result::{PhaseResult, Status};

/// What an issue's loop does next, given the phases so far (interrupted ones left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Run(PhaseKind),
    Finish {
        outcome: Outcome,
        reason: Option<String>,
        remaining: Vec<String>,
    },
}

/// One finished phase as the loop sees it.
#[derive(Debug, Clone, Copy)]
pub struct Done<'a> {
    pub kind: PhaseKind,
    pub result: Result<&'a PhaseResult, &'a PhaseFailure>,
    /// The acceptance checks run after it (dev and fix phases of tasks that have checks).
    pub gate: Option<&'a GateRecord>,
}

/// The loop as a pure function: one dev phase per shard (one when there are none), then
/// review; `changes_required` leads to a fix and another review, until the review passes,
/// says `blocked`, or `max` fixes have run. A passing review converges only when the task's
/// acceptance checks (run after the last dev or fix) pass too; failing checks lead to a fix
/// like a review finding. A phase failure (or a `failed` dev/fix result) ends the issue, and
/// a `deferred` dev/fix result ends it as deferred: a human must decide first.
pub fn next_step(history: &[Done<'_>], devs: usize, max: u32) -> Step {
    let finish = |outcome, reason: Option<String>, remaining| Step::Finish {
        outcome,
        reason,
        remaining,
    };
    let Some(last) = history.last() else {
        return Step::Run(PhaseKind::Dev);
    };
    let value = match last.result {
        Ok(v) => v,
        Err(f) => {
            return finish(
                Outcome::Failed,
                Some(format!("{} phase failed: {f}", last.kind.name())),
                Vec::new(),
            )
        }
    };
    let fixes = history.iter().filter(|d| d.kind == PhaseKind::Fix).count() as u32;
    let devs_done = history.iter().filter(|d| d.kind == PhaseKind::Dev).count();
    // The gate as of the latest dev/fix phase; a review's gate is the clean-room verification that followed it.
    let gate = history
        .iter()
        .rev()
        .find(|d| d.kind != PhaseKind::Review || d.gate.is_some())
        .and_then(|d| d.gate)
        .filter(|g| g.full && !g.ok());
    match (last.kind, &value.status) {
        (PhaseKind::Dev | PhaseKind::Fix, Status::Failed) => finish(
            Outcome::Failed,
            Some(format!(
                "{} reported failure: {}",
                last.kind.name(),
                value.summary
            )),
            Vec::new(),
        ),
        (PhaseKind::Dev | PhaseKind::Fix, Status::Deferred) => finish(
            Outcome::Deferred,
            Some(format!(
                "{} deferred to a human: {}",
                last.kind.name(),
                value.summary
            )),
            Vec::new(),
        ),
        (PhaseKind::Dev, _) if devs_done < devs => Step::Run(PhaseKind::Dev),
        (PhaseKind::Dev | PhaseKind::Fix, _) => Step::Run(PhaseKind::Review),
        (PhaseKind::Review, Status::Blocked) => finish(
            Outcome::Blocked,
            Some(format!("review blocked: {}", value.summary)),
            value.required_actions.clone(),
        ),
        (PhaseKind::Review, Status::Pass) => match gate {
            None => finish(Outcome::Completed, None, Vec::new()),
            Some(gate) if fixes >= max => finish(
                Outcome::Capped,
                Some(format!(
                    "{} acceptance check(s) still fail after {max} fix cycle(s)",
                    gate.failed.len()
                )),
                gate.failed.clone(),
            ),
            Some(_) => Step::Run(PhaseKind::Fix),
        },
        (PhaseKind::Review, _) if fixes >= max => {
            let mut remaining = value.required_actions.clone();
            remaining.extend(gate.map(|g| g.failed.clone()).unwrap_or_default());
            finish(
                Outcome::Capped,
                Some(format!(
                    "review still requires changes after {max} fix cycle(s)"
                )),
                remaining,
            )
        }
        (PhaseKind::Review, _) => Step::Run(PhaseKind::Fix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gate(full: bool, failed: &[&str]) -> GateRecord {
        GateRecord {
            full,
            passed: 0,
            failed: failed.iter().map(|f| f.to_string()).collect(),
        }
    }

    /// (phase, status or failure, gate after it) → what comes next.
    #[test]
    fn next_step_table() {
        let pass = PhaseResult::from(json!({"status": "pass"}));
        let changes =
            PhaseResult::from(json!({"status": "changes_required", "requiredActions": ["a"]}));
        let blocked = PhaseResult::from(
            json!({"status": "blocked", "summary": "s", "requiredActions": ["ask"]}),
        );
        let failed = PhaseResult::from(json!({"status": "failed", "summary": "no"}));
        let deferred =
            PhaseResult::from(json!({"status": "deferred", "summary": "which currency?"}));
        let failure = PhaseFailure::NoFinalMessage;
        let bad = gate(true, &["File exists: x — missing"]);
        let good = gate(true, &[]);
        let shard_bad = gate(false, &["Contains: y — missing"]);
        use PhaseKind::{Dev, Fix, Review};
        fn d<'a>(kind: PhaseKind, v: &'a PhaseResult, g: Option<&'a GateRecord>) -> Done<'a> {
            Done {
                kind,
                result: Ok(v),
                gate: g,
            }
        }
        let (pass, changes, blocked, failed) = (&pass, &changes, &blocked, &failed);
        let deferred = &deferred;
        let (bad, good, shard_bad) = (&bad, &good, &shard_bad);
        let outcome = |s: Step| match s {
            Step::Run(k) => k.name().to_owned(),
            Step::Finish { outcome, .. } => outcome.name().to_owned(),
        };
        let cases: Vec<(Vec<Done<'_>>, usize, u32, &str)> = vec![
            (vec![], 1, 2, "dev"),
            (vec![d(Dev, pass, None)], 1, 2, "review"),
            (vec![d(Dev, pass, None)], 3, 2, "dev"),
            (
                vec![d(Dev, pass, Some(shard_bad)), d(Dev, pass, None)],
                3,
                2,
                "dev",
            ),
            (
                vec![d(Dev, pass, Some(shard_bad)), d(Dev, pass, Some(good))],
                2,
                2,
                "review",
            ),
            (vec![d(Dev, failed, None)], 3, 2, "failed"),
            // `deferred` needs a human: it ends the issue, also between shards.
            (vec![d(Dev, deferred, None)], 1, 2, "deferred"),
            (vec![d(Dev, deferred, None)], 3, 2, "deferred"),
            (
                vec![
                    d(Dev, pass, None),
                    d(Review, changes, None),
                    d(Fix, deferred, None),
                ],
                1,
                2,
                "deferred",
            ),
            (
                vec![Done {
                    kind: Dev,
                    result: Err(&failure),
                    gate: None,
                }],
                1,
                2,
                "failed",
            ),
            (
                vec![d(Dev, pass, None), d(Review, pass, None)],
                1,
                2,
                "completed",
            ),
            (
                vec![d(Dev, pass, Some(good)), d(Review, pass, None)],
                1,
                2,
                "completed",
            ),
            (
                vec![d(Dev, pass, Some(bad)), d(Review, pass, None)],
                1,
                2,
                "fix",
            ),
            // A shard's own failing checks do not gate: only the full gate does.
            (
                vec![d(Dev, pass, Some(shard_bad)), d(Review, pass, None)],
                1,
                2,
                "completed",
            ),
            (
                vec![d(Dev, pass, Some(bad)), d(Review, pass, None)],
                1,
                0,
                "capped",
            ),
            (
                vec![d(Dev, pass, None), d(Review, changes, None)],
                1,
                2,
                "fix",
            ),
            (
                vec![d(Dev, pass, None), d(Review, changes, None)],
                1,
                0,
                "capped",
            ),
            (
                vec![d(Dev, pass, None), d(Review, blocked, None)],
                1,
                2,
                "blocked",
            ),
            (
                vec![
                    d(Dev, pass, Some(bad)),
                    d(Review, pass, None),
                    d(Fix, pass, Some(good)),
                    d(Review, pass, None),
                ],
                1,
                2,
                "completed",
            ),
            (
                vec![
                    d(Dev, pass, Some(bad)),
                    d(Review, pass, None),
                    d(Fix, pass, Some(bad)),
                    d(Review, pass, None),
                ],
                1,
                1,
                "capped",
            ),
            (
                vec![
                    d(Dev, pass, None),
                    d(Review, changes, None),
                    d(Fix, failed, None),
                ],
                1,
                2,
                "failed",
            ),
            // A review's gate is the clean-room verification after it: a failed one sends
            // the issue to a fix, and counts toward the cap; a passed one completes it.
            (
                vec![d(Dev, pass, None), d(Review, pass, Some(bad))],
                1,
                2,
                "fix",
            ),
            (
                vec![d(Dev, pass, None), d(Review, pass, Some(good))],
                1,
                2,
                "completed",
            ),
            (
                vec![
                    d(Dev, pass, None),
                    d(Review, pass, Some(bad)),
                    d(Fix, pass, None),
                    d(Review, pass, Some(bad)),
                ],
                1,
                1,
                "capped",
            ),
            (
                vec![
                    d(Dev, pass, None),
                    d(Review, pass, Some(bad)),
                    d(Fix, pass, None),
                    d(Review, pass, None),
                ],
                1,
                2,
                "completed",
            ),
        ];
        for (n, (history, devs, max, want)) in cases.into_iter().enumerate() {
            assert_eq!(outcome(next_step(&history, devs, max)), want, "case {n}");
        }
    }
}

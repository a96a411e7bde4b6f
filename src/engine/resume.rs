//! What a resume does with each issue of the run it continues, as a pure function of the
//! issue's recorded state and `--retry`: keep its result, or run it again from where it
//! stopped (its recorded phases kept, the phase that ended a retried loop superseded). No
//! I/O, so every case is a table row.

use crate::model::phase::PhaseKind;
use crate::model::record::{CommandRecord, IssueSummary, Outcome, PhaseRecord};
use crate::model::state::{CurrentPhase, IssueState};

/// What happens to one issue.
#[derive(Debug, Clone)]
pub(super) enum Resumption {
    /// Its loop ended and stands: its summary is kept as it is.
    Keep(Box<IssueSummary>),
    /// Its loop runs, continuing after what is recorded (nothing, in a fresh run).
    Run(Continuation),
}

/// Where an issue's loop picks up.
#[derive(Debug, Clone, Default)]
pub(super) struct Continuation {
    /// The phases recorded so far; a retried step's record stays, marked superseded.
    pub phases: Vec<PhaseRecord>,
    /// The phase that was running when orch stopped (it has no record: its work is pinned).
    pub interrupted: Option<CurrentPhase>,
    /// The task commands that already ran (successful ones are not run again).
    pub commands: Vec<CommandRecord>,
    /// Extra fix cycles: a retried capped issue gets another round.
    pub extra_cycles: u32,
}

/// The decision for one issue, given its state in the run being resumed (`None` in a fresh
/// run or for an issue the run never reached).
///
/// - A loop that ended stays ended, except one that was interrupted, is waiting for an
///   approval, was skipped because a dependency did not pass, or is named by `--retry`.
/// - Retried, a capped loop gets `max_review_cycles` more fixes; a loop whose phases
///   converged but whose command failed (or waits for an approval) runs its commands only;
///   any other loop that ended runs the step that ended it again. A loop that did not end
///   (orch died in it, or it was interrupted) continues where it stopped, retried or not.
pub(super) fn decide(
    prior: Option<&IssueState>,
    retry: bool,
    max_review_cycles: u32,
) -> Resumption {
    let Some(prior) = prior else {
        return Resumption::Run(Continuation::default());
    };
    let ended = prior.summary.as_ref();
    if let Some(summary) = ended.filter(|_| !runs_again(Some(prior), retry)) {
        return Resumption::Keep(Box::new(summary.clone()));
    }
    let capped = ended.is_some_and(|s| s.outcome == Outcome::Capped);
    let command_failed = ended.is_some_and(|s| {
        s.awaits_approval()
            || (s.outcome == Outcome::Failed
                && s.commands.last().is_some_and(|c| c.status != Some(0)))
    });
    // A loop orch stopped (interrupted, or out of budget) continues: it did not end.
    let ended_loop =
        ended.is_some_and(|s| !matches!(s.outcome, Outcome::Interrupted | Outcome::Budget));
    let mut phases = prior.phases.clone();
    if retry && ended_loop && !capped && !command_failed {
        if let Some(last) = phases.iter_mut().rev().find(|r| !r.superseded) {
            last.superseded = true;
        }
    }
    Resumption::Run(Continuation {
        phases,
        interrupted: prior.current_phase.clone(),
        commands: prior.commands.clone(),
        extra_cycles: if retry && capped {
            max_review_cycles
        } else {
            0
        },
    })
}

/// Whether a resume runs the issue again: its loop did not end, it is named by `--retry`,
/// or its loop ended in a way a resume reopens unasked.
pub fn runs_again(prior: Option<&IssueState>, retry: bool) -> bool {
    prior
        .and_then(|p| p.summary.as_ref())
        .is_none_or(|s| retry || reopens(s))
}

/// An ended loop that a resume runs again without being asked.
fn reopens(summary: &IssueSummary) -> bool {
    summary.skip_kind() == Some(crate::model::record::SkipKind::Dependency)
        || matches!(summary.outcome, Outcome::Interrupted | Outcome::Budget)
        || summary.awaits_approval()
}

/// The phases a resumed loop counts: a phase interrupted mid-way has no result, and a
/// superseded one was replaced.
pub(super) fn counts(record: &PhaseRecord) -> bool {
    use crate::model::phase::PhaseFailure;
    !matches!(
        record.failure,
        Some(PhaseFailure::Interrupted | PhaseFailure::OverBudget { .. })
    ) && !record.superseded
}

/// The session a fix resumes: that of the last dev phase that finished.
pub(super) fn dev_session(phases: &[PhaseRecord]) -> Option<String> {
    phases
        .iter()
        .rev()
        .filter(|r| r.phase == PhaseKind::Dev && r.failure.is_none())
        .find_map(|r| r.session_id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::phase::{PhaseFailure, Usage};
    use crate::model::record::GuardCounts;
    use crate::model::state::IssueStatus;
    use std::path::PathBuf;

    fn record(seq: u32, phase: PhaseKind, superseded: bool) -> PhaseRecord {
        PhaseRecord {
            seq,
            phase,
            status: Some("pass".into()),
            failure: None,
            session_id: Some(format!("s{seq}")),
            usage: Usage::default(),
            commits: 0,
            duration_ms: 0,
            log_dir: PathBuf::from(format!("{seq:02}")),
            guard: GuardCounts::default(),
            superseded,
            shard: None,
            acceptance: None,
            cost_usd: None,
            agent: None,
        }
    }

    fn summary(outcome: Outcome, reason: &str) -> IssueSummary {
        IssueSummary {
            id: "A".into(),
            title: "a".into(),
            outcome,
            reason: (!reason.is_empty()).then(|| reason.to_owned()),
            cycles: 0,
            branch: "orch/p/M1/A".into(),
            phases: Vec::new(),
            commits: 0,
            tokens: Usage::default(),
            remaining_actions: Vec::new(),
            rescue_ref: None,
            log_dir: PathBuf::from("A"),
            base: None,
            guard: GuardCounts::default(),
            awaiting: Vec::new(),
            commands: Vec::new(),
            deferred: Vec::new(),
            open_questions: Vec::new(),
            draft_prs: Vec::new(),
            pull: None,
            watch: None,
            ran_on: None,
            verified: None,
            skip: None,
            budget: None,
            head: None,
            completed_in: None,
        }
    }

    fn command(status: i32) -> CommandRecord {
        CommandRecord {
            name: "build".into(),
            command: "make".into(),
            status: Some(status),
            log: PathBuf::from("build.log"),
            duration_ms: 0,
            approved_by: None,
        }
    }

    fn state(summary: Option<IssueSummary>) -> IssueState {
        IssueState {
            id: "A".into(),
            status: IssueStatus::Pending,
            current_phase: None,
            phases: vec![
                record(1, PhaseKind::Dev, false),
                record(2, PhaseKind::Review, false),
            ],
            summary,
            started_at: None,
            commands: Vec::new(),
            set_aside: None,
            forge: None,
            dispatched: None,
        }
    }

    /// What a decision comes to, in a few words: `keep`, or `run` with the superseded
    /// phases' numbers and the extra cycles.
    fn shape(decision: &Resumption) -> String {
        match decision {
            Resumption::Keep(s) => format!("keep {}", s.outcome.name()),
            Resumption::Run(c) => {
                let superseded: Vec<String> = c
                    .phases
                    .iter()
                    .filter(|r| r.superseded)
                    .map(|r| r.seq.to_string())
                    .collect();
                format!(
                    "run phases={} superseded=[{}] extra={}",
                    c.phases.len(),
                    superseded.join(","),
                    c.extra_cycles
                )
            }
        }
    }

    #[test]
    fn table() {
        let awaiting = IssueSummary {
            awaiting: vec!["deploy".into()],
            ..summary(Outcome::Blocked, "awaiting approval")
        };
        let command_failed = IssueSummary {
            commands: vec![command(0), command(2)],
            ..summary(Outcome::Failed, "build failed")
        };
        let command_passed_phase_failed = IssueSummary {
            commands: vec![command(0)],
            ..summary(Outcome::Failed, "review phase failed")
        };
        let rows: Vec<(&str, Option<IssueState>, bool, &str)> = vec![
            ("fresh", None, false, "run phases=0 superseded=[] extra=0"),
            (
                "fresh, retried",
                None,
                true,
                "run phases=0 superseded=[] extra=0",
            ),
            (
                "crashed mid-loop",
                Some(state(None)),
                false,
                "run phases=2 superseded=[] extra=0",
            ),
            (
                "crashed mid-loop, retried: nothing ended, nothing is superseded",
                Some(state(None)),
                true,
                "run phases=2 superseded=[] extra=0",
            ),
            (
                "interrupted, retried: it continues",
                Some(state(Some(summary(Outcome::Interrupted, "")))),
                true,
                "run phases=2 superseded=[] extra=0",
            ),
            (
                "completed",
                Some(state(Some(summary(Outcome::Completed, "")))),
                false,
                "keep completed",
            ),
            (
                "completed, retried: the review runs again",
                Some(state(Some(summary(Outcome::Completed, "")))),
                true,
                "run phases=2 superseded=[2] extra=0",
            ),
            (
                "failed",
                Some(state(Some(summary(Outcome::Failed, "dev phase failed")))),
                false,
                "keep failed",
            ),
            (
                "failed, retried",
                Some(state(Some(summary(Outcome::Failed, "dev phase failed")))),
                true,
                "run phases=2 superseded=[2] extra=0",
            ),
            (
                "capped, retried: another round of fixes",
                Some(state(Some(summary(Outcome::Capped, "")))),
                true,
                "run phases=2 superseded=[] extra=2",
            ),
            (
                "capped",
                Some(state(Some(summary(Outcome::Capped, "")))),
                false,
                "keep capped",
            ),
            (
                "interrupted reopens",
                Some(state(Some(summary(Outcome::Interrupted, "")))),
                false,
                "run phases=2 superseded=[] extra=0",
            ),
            (
                "skipped for a dependency reopens",
                Some(state(Some(IssueSummary {
                    skip: Some(crate::model::record::SkipKind::Dependency),
                    ..summary(Outcome::Skipped, "B did not pass")
                }))),
                false,
                "run phases=2 superseded=[] extra=0",
            ),
            (
                "skipped for a dependency, recorded before the kind was, reopens",
                Some(state(Some(summary(
                    Outcome::Skipped,
                    "depends on B (failed) which did not pass",
                )))),
                false,
                "run phases=2 superseded=[] extra=0",
            ),
            (
                "skipped by its state stays",
                Some(state(Some(IssueSummary {
                    skip: Some(crate::model::record::SkipKind::State),
                    ..summary(Outcome::Skipped, "depends on nothing: state is `future`")
                }))),
                false,
                "keep skipped",
            ),
            (
                "skipped by its docs stays",
                Some(state(Some(summary(Outcome::Skipped, "state: landed")))),
                false,
                "keep skipped",
            ),
            (
                "awaiting an approval reopens, its phases stand",
                Some(state(Some(awaiting.clone()))),
                false,
                "run phases=2 superseded=[] extra=0",
            ),
            (
                "awaiting an approval, retried: its phases still stand",
                Some(state(Some(awaiting))),
                true,
                "run phases=2 superseded=[] extra=0",
            ),
            (
                "a failed command, retried: the commands only",
                Some(state(Some(command_failed))),
                true,
                "run phases=2 superseded=[] extra=0",
            ),
            (
                "a failed phase after a passing command, retried: the phase",
                Some(state(Some(command_passed_phase_failed))),
                true,
                "run phases=2 superseded=[2] extra=0",
            ),
        ];
        for (name, prior, retry, want) in rows {
            assert_eq!(shape(&decide(prior.as_ref(), retry, 2)), want, "{name}");
        }
    }

    #[test]
    fn a_second_retry_supersedes_the_phase_that_replaced_the_first() {
        let mut prior = state(Some(summary(Outcome::Failed, "review phase failed")));
        prior.phases[1].superseded = true;
        prior.phases.push(record(3, PhaseKind::Review, false));
        let Resumption::Run(c) = decide(Some(&prior), true, 2) else {
            panic!("a retried loop runs")
        };
        let superseded: Vec<u32> = c
            .phases
            .iter()
            .filter(|r| r.superseded)
            .map(|r| r.seq)
            .collect();
        assert_eq!(superseded, [2, 3]);
    }

    #[test]
    fn the_running_phase_and_recorded_commands_carry_over() {
        let mut prior = state(None);
        prior.current_phase = Some(CurrentPhase {
            seq: 3,
            phase: PhaseKind::Fix,
            started_at: "t".into(),
            agent: None,
            agent_name: None,
        });
        prior.commands = vec![command(0)];
        let Resumption::Run(c) = decide(Some(&prior), false, 2) else {
            panic!("an unfinished loop runs")
        };
        assert_eq!(c.interrupted.map(|p| p.seq), Some(3));
        assert_eq!(c.commands, vec![command(0)]);
    }

    #[test]
    fn counted_phases_and_the_dev_session() {
        let mut phases = vec![
            record(1, PhaseKind::Dev, false),
            record(2, PhaseKind::Review, true),
            record(3, PhaseKind::Dev, false),
        ];
        phases[2].failure = Some(PhaseFailure::Interrupted);
        let counted: Vec<u32> = phases.iter().filter(|r| counts(r)).map(|r| r.seq).collect();
        assert_eq!(counted, [1]);
        assert_eq!(dev_session(&phases).as_deref(), Some("s1"));
    }
}

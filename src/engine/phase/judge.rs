//! What a phase comes to, as pure functions of what was seen: whether the audit's and the
//! secret scan's findings fail it ([`verdict`]), and its record ([`judge`]): the result's
//! status or the failure, the tokens it used (the agent's counters are cumulative per
//! session), what it cost, the acceptance checks' gate.

use super::plan::PhasePlan;
use crate::agent::PhaseOutcome;
use crate::model::check::CheckOutcome;
use crate::model::phase::{PhaseFailure, Usage};
use crate::model::record::{GateRecord, GuardCounts, PhaseRecord};
use crate::model::result::PhaseResult;

/// What the audit and the secret scan found after a phase.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// Refs, worktrees, git files or forbidden paths the agent changed.
    pub violations: Vec<String>,
    /// Possible secrets in what it added (none once a human approved them).
    pub secrets: Vec<String>,
}

/// The phase's result given its findings: a secret fails a phase that succeeded, and so does
/// a violation unless `[guard] audit_fails_phase = false`. A failed phase stays as it failed.
pub fn verdict(
    result: Result<PhaseResult, PhaseFailure>,
    findings: Findings,
    audit_fails: bool,
) -> Result<PhaseResult, PhaseFailure> {
    let Findings {
        mut violations,
        secrets,
    } = findings;
    let fails = !secrets.is_empty() || (!violations.is_empty() && audit_fails);
    match result {
        Ok(_) if fails => {
            violations.extend(secrets);
            Err(PhaseFailure::GuardViolation {
                changes: violations,
            })
        }
        result => result,
    }
}

/// How the acceptance checks after the phase went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// None ran (a review, a failed phase, or a task with no checks here).
    None,
    Ran(Vec<CheckOutcome>),
    /// Ctrl-C cut them short: they say nothing, and the phase is interrupted.
    Interrupted,
}

/// What else was seen of the phase besides the agent's outcome.
pub struct Seen<'a> {
    /// What the retries before the last attempt spent in other sessions.
    pub retried: Usage,
    /// The commits it made.
    pub commits: usize,
    pub checks: Checked,
    /// Its guard log's counts.
    pub guard: GuardCounts,
    /// The last cumulative usage of the outcome's session before this phase.
    pub session_before: Option<Usage>,
    /// What usage costs when the agent does not say (`[pricing]`).
    pub price: &'a dyn Fn(&Usage) -> Option<f64>,
}

/// The phase's record, and its outcome with the checks' interruption applied.
pub fn judge(
    plan: &PhasePlan,
    mut outcome: PhaseOutcome,
    seen: Seen<'_>,
) -> (PhaseOutcome, PhaseRecord) {
    let acceptance = match seen.checks {
        Checked::None => None,
        Checked::Interrupted => {
            outcome.result = Err(PhaseFailure::Interrupted);
            None
        }
        Checked::Ran(outcomes) => Some(gate(plan.full_gate, &outcomes)),
    };
    let usage = phase_usage(&outcome, seen.session_before) + seen.retried;
    let record = PhaseRecord {
        seq: plan.id.seq,
        phase: plan.kind,
        status: outcome
            .result
            .as_ref()
            .ok()
            .map(|r| r.status.name().to_owned()),
        failure: outcome.result.as_ref().err().cloned(),
        session_id: outcome.session_id.clone(),
        usage,
        commits: seen.commits,
        duration_ms: outcome.duration_ms,
        guard: seen.guard,
        superseded: false,
        shard: plan.shard.as_ref().map(|s| s.id.clone()),
        acceptance,
        log_dir: plan.dir.clone(),
        // What the agent CLI says it cost, else what orch.toml's price says.
        cost_usd: outcome.cost_usd.or_else(|| (seen.price)(&usage)),
        agent: plan.agent.map(|a| a.name().to_owned()),
    };
    (outcome, record)
}

/// The tokens the phase itself used: what the agent reports for it (Claude Code reports each
/// run's apart), else what its session's running total grew by.
fn phase_usage(outcome: &PhaseOutcome, before: Option<Usage>) -> Usage {
    match (&outcome.session_id, outcome.usage) {
        (_, Some(now)) if outcome.usage_is_phase => now,
        (Some(_), Some(now)) => now.since(&before.unwrap_or_default()),
        (None, Some(now)) => now,
        _ => Usage::default(),
    }
}

/// The session total to remember after the phase (none when the agent reports per run).
pub fn session_total(outcome: &PhaseOutcome) -> Option<(String, Usage)> {
    match (&outcome.session_id, outcome.usage) {
        (Some(session), Some(now)) if !outcome.usage_is_phase => Some((session.clone(), now)),
        _ => None,
    }
}

/// The checks' outcomes as the gate the loop reads.
fn gate(full: bool, outcomes: &[CheckOutcome]) -> GateRecord {
    GateRecord {
        full,
        passed: outcomes.iter().filter(|o| o.passed).count(),
        failed: outcomes
            .iter()
            .filter(|o| !o.passed)
            .map(|o| format!("{} — {}", o.check, o.detail))
            .collect(),
    }
}

#[cfg(test)]
mod tests;

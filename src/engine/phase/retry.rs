//! The agent's transient failures (rate limits, dropped connections, overloaded servers; see
//! [`PhaseFailure::transient_reason`]): the phase is tried again after a doubling backoff,
//! each failed attempt's logs kept beside the phase's. A stalled agent (silent past
//! `stall_timeout`) is tried again at once, `stall_retries` times.

use crate::agent::{PhaseOutcome, PhaseRequest, Runner};
use crate::engine::budget::Budget;
use crate::engine::host::Host;
use crate::model::budget::{BudgetStop, Spend};
use crate::model::event::EngineEvent;
use crate::model::phase::{PhaseFailure, Usage};
use std::collections::BTreeMap;
use std::time::Duration;

/// How a phase's tries went.
pub(super) struct Tried {
    /// The last attempt's.
    pub outcome: PhaseOutcome,
    /// What earlier attempts spent in sessions other than the last one's.
    pub earlier: Usage,
    /// What the retries held of the budget (released when the phase ends).
    pub held: Spend,
    /// A retry did not fit in this budget.
    pub stop: Option<BudgetStop>,
}

/// Whose phase is tried: the issue, the phase's number, and the budget it is held to.
pub(super) struct Attempts<'a> {
    pub issue: &'a str,
    pub seq: u32,
    pub budget: &'a Budget,
    /// The sessions' cumulative usage before the phase.
    pub sessions: &'a BTreeMap<String, Usage>,
}

/// The failed attempts' last cumulative usage per session (`None`: no session).
type Spent = BTreeMap<Option<String>, Usage>;

/// Runs the agent; a transient failure is tried again after a doubling backoff, up to
/// `retry_attempts` tries in all. Each failed attempt's logs are kept beside the phase's
/// (`events.attempt-1.jsonl`, …). The phase stays one phase: cycle counters never move.
/// Besides the last attempt's outcome, what the attempts before it spent in sessions other
/// than its own (usage is cumulative per session, so the last attempt's own session counts
/// it already).
pub(super) async fn run_with_retries<R: Runner>(
    host: Host<'_>,
    runner: &R,
    who: Attempts<'_>,
    request: &PhaseRequest,
) -> Tried {
    let (attempts, backoff) = host.config.retry();
    let stall_retries = host.config.stall_retries();
    let (mut attempt, mut stalls) = (1, 0);
    let mut spent = Spent::new();
    // What the retries hold of the budget beyond the phase's own reserve.
    let mut held = Spend::default();
    let end = |outcome: PhaseOutcome, spent: Spent, held, stop| Tried {
        earlier: earlier(&outcome, spent, who.sessions),
        outcome,
        held,
        stop,
    };
    loop {
        let outcome = runner.run(request).await;
        let Err(failure) = &outcome.result else {
            return end(outcome, spent, held, None);
        };
        // A stall has its own allowance, and is tried again at once: nothing suggests a
        // server to wait for.
        let stalled = matches!(failure, PhaseFailure::Stalled { .. });
        let reason = if stalled {
            stalls += 1;
            (stalls <= stall_retries).then(|| format!("{failure}; trying again"))
        } else {
            let tail = crate::util::fsutil::tail(&outcome.stderr_path, 4096);
            (failure.transient_reason(&tail)).filter(|_| attempt - stalls < attempts)
        };
        let Some(reason) = reason else {
            return end(outcome, spent, held, None);
        };
        // A retry is reserved like a phase: one that does not fit does not run.
        match who.budget.reserve(who.issue, request.kind) {
            Ok(more) => held = held + more,
            Err(stop) => {
                host.emit(&EngineEvent::BudgetExhausted {
                    id: who.issue.to_owned(),
                    stop,
                    overshot_by: None,
                });
                let message = format!("{failure}; {}", stop.describe());
                let result = Err(PhaseFailure::OverBudget { message });
                return end(PhaseOutcome { result, ..outcome }, spent, held, Some(stop));
            }
        }
        keep_attempt_logs(&outcome, attempt);
        let delay = match stalled {
            true => Duration::ZERO,
            false => backoff
                .saturating_mul(1 << (attempt - 1 - stalls).min(10))
                .min(Duration::from_secs(300)),
        };
        host.emit(&EngineEvent::PhaseRetry {
            id: who.issue.to_owned(),
            seq: who.seq,
            phase: request.kind,
            attempt: attempt + 1,
            reason,
            delay_ms: delay.as_millis() as u64,
        });
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = crate::util::process::cancelled(host.cancel()) => {
                let result = Err(PhaseFailure::Interrupted);
                return end(PhaseOutcome { result, ..outcome }, spent, held, None);
            }
        }
        count_attempt(&mut spent, &outcome);
        attempt += 1;
    }
}

/// A failed attempt is behind us: what it spent counts (its session's total, or what it
/// said without a session).
fn count_attempt(spent: &mut Spent, outcome: &PhaseOutcome) {
    let Some(now) = outcome.usage else { return };
    match &outcome.session_id {
        Some(s) => {
            spent.insert(Some(s.clone()), now);
        }
        None => {
            let total = spent.entry(None).or_default();
            *total = *total + now;
        }
    }
}

/// A failed attempt's event stream and stderr, kept as `*.attempt-N.*` beside the next.
fn keep_attempt_logs(outcome: &PhaseOutcome, attempt: u32) {
    for path in [&outcome.events_path, &outcome.stderr_path] {
        let kept = path.with_extension(format!(
            "attempt-{attempt}.{}",
            path.extension().and_then(|e| e.to_str()).unwrap_or("log")
        ));
        let _ = std::fs::rename(path, kept);
    }
}

/// What the failed attempts spent in sessions other than the last attempt's, each from its
/// session's usage before the phase.
fn earlier(outcome: &PhaseOutcome, spent: Spent, before: &BTreeMap<String, Usage>) -> Usage {
    spent
        .into_iter()
        .filter(|(s, _)| s.is_none() || *s != outcome.session_id)
        .map(|(s, now)| {
            let was = s.and_then(|s| before.get(&s).copied());
            now.since(&was.unwrap_or_default())
        })
        .fold(Usage::default(), |a, b| a + b)
}

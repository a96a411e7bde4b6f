//! The agent's transient failures (rate limits, dropped connections, overloaded servers; see
//! [`PhaseFailure::transient_reason`]): the phase is tried again after a doubling backoff,
//! each failed attempt's logs kept beside the phase's. A stalled agent (silent past
//! `stall_timeout`) is tried again at once, `stall_retries` times.

use super::context::LoopContext;
use super::Engine;
use crate::agent::{PhaseRequest, Runner};
use crate::model::budget::{BudgetStop, Spend};
use crate::model::event::EngineEvent;
use crate::model::phase::{PhaseFailure, Usage};

/// How a phase's tries went.
pub(super) struct Tried {
    /// The last attempt's.
    pub outcome: crate::agent::PhaseOutcome,
    /// What earlier attempts spent in sessions other than the last one's.
    pub earlier: Usage,
    /// What the retries held of the budget (released when the phase ends).
    pub held: Spend,
    /// A retry did not fit in this budget.
    pub stop: Option<BudgetStop>,
}
use std::collections::BTreeMap;

impl<R: Runner> Engine<'_, R> {
    /// Runs the agent; a transient failure (see [`PhaseFailure::transient_reason`]) is tried
    /// again after a doubling backoff, up to `retry_attempts` tries in all. Each failed
    /// attempt's logs are kept beside the phase's (`events.attempt-1.jsonl`, …). The phase
    /// stays one phase: cycle counters never move. Besides the last attempt's outcome, what
    /// the attempts before it spent in sessions other than its own (usage is cumulative per
    /// session, so the last attempt's own session counts it already).
    pub(super) async fn run_with_retries(
        &self,
        ctx: &LoopContext<'_>,
        request: &PhaseRequest,
    ) -> Tried {
        let (attempts, backoff) = self.config.retry();
        let stall_retries = self.config.stall_retries();
        let (mut attempt, mut stalls) = (1, 0);
        // The failed attempts' last cumulative usage per session (`None`: no session).
        let mut spent: BTreeMap<Option<String>, Usage> = BTreeMap::new();
        let done = |outcome: crate::agent::PhaseOutcome, spent: BTreeMap<Option<String>, Usage>| {
            let earlier = spent
                .into_iter()
                .filter(|(s, _)| s.is_none() || *s != outcome.session_id)
                .map(|(s, now)| {
                    let before = s.and_then(|s| ctx.sessions.get(&s).copied());
                    now.since(&before.unwrap_or_default())
                })
                .fold(Usage::default(), |a, b| a + b);
            (outcome, earlier)
        };
        // What the retries hold of the budget beyond the phase's own reserve.
        let mut held = Spend::default();
        let tried = |(outcome, earlier): (crate::agent::PhaseOutcome, Usage), held, stop| Tried {
            outcome,
            earlier,
            held,
            stop,
        };
        loop {
            let outcome = self.runner.run(request).await;
            let Err(failure) = &outcome.result else {
                return tried(done(outcome, spent), held, None);
            };
            // A stall has its own allowance, and is tried again at once: nothing suggests
            // a server to wait for.
            let stalled = matches!(failure, PhaseFailure::Stalled { .. });
            let reason = if stalled {
                stalls += 1;
                (stalls <= stall_retries).then(|| format!("{failure}; trying again"))
            } else {
                let tail = crate::util::fsutil::tail(&outcome.stderr_path, 4096);
                failure
                    .transient_reason(&tail)
                    .filter(|_| attempt - stalls < attempts)
            };
            let Some(reason) = reason else {
                return tried(done(outcome, spent), held, None);
            };
            // A retry is reserved like a phase: one that does not fit does not run.
            match ctx.budget.reserve(&ctx.issue.id, request.kind) {
                Ok(more) => held = held + more,
                Err(stop) => {
                    (self.reporter)(&EngineEvent::BudgetExhausted {
                        id: ctx.issue.id.clone(),
                        stop,
                        overshot_by: None,
                    });
                    let message = format!("{failure}; {}", stop.describe());
                    let stopped = crate::agent::PhaseOutcome {
                        result: Err(PhaseFailure::OverBudget { message }),
                        ..outcome
                    };
                    return tried(done(stopped, spent), held, Some(stop));
                }
            }
            for path in [&outcome.events_path, &outcome.stderr_path] {
                let kept = path.with_extension(format!(
                    "attempt-{attempt}.{}",
                    path.extension().and_then(|e| e.to_str()).unwrap_or("log")
                ));
                let _ = std::fs::rename(path, kept);
            }
            let delay = if stalled {
                std::time::Duration::ZERO
            } else {
                backoff
                    .saturating_mul(1 << (attempt - 1 - stalls).min(10))
                    .min(std::time::Duration::from_secs(300))
            };
            (self.reporter)(&EngineEvent::PhaseRetry {
                id: ctx.issue.id.clone(),
                seq: ctx.seq,
                phase: request.kind,
                attempt: attempt + 1,
                reason,
                delay_ms: delay.as_millis() as u64,
            });
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = crate::util::process::cancelled(self.cancel.clone()) => {
                    let interrupted = crate::agent::PhaseOutcome {
                        result: Err(PhaseFailure::Interrupted),
                        ..outcome
                    };
                    return tried(done(interrupted, spent), held, None);
                }
            }
            // This attempt is behind us: what it spent counts.
            if let Some(now) = outcome.usage {
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
            attempt += 1;
        }
    }
}

//! The watch loop: every issue of the run whose draft orch opened is looked at every
//! `[forge] poll_interval` ([`super::decide`] says what next), until each has ended (green,
//! merged, closed, capped, blocked) or the run is interrupted. A fix runs on the issue's
//! branch ([`crate::engine::issue::forge_fix`]), then orch pushes it and answers each thread
//! ([`super::answer`]). Every step is in the watch record, written through the run state as
//! it happens: a watch killed at any point continues without running a finished fix again or
//! replying twice.

use super::decide::{self, Look, Next, Rules};
use super::fix::{fix, reconcile, Goes, Watched};
use super::say::{emit, end, note};
use crate::agent::Runner;
use crate::engine::context::RunScope;
use crate::engine::host::{Host, Tools};
use crate::engine::{pull_request, EngineError};
use crate::forge::checks::{Check, Source};
use crate::forge::Forge;
use crate::model::event::EngineEvent;
use crate::model::forge::{CiFailure, Feedback, Sighting, WatchOutcome, WatchRecord};
use crate::model::record::{IssueSummary, Outcome};

/// Watches the run's pull requests (see the module doc); `summaries` get the fixes' phases
/// and pushed heads, and each its watch record.
pub(in crate::engine) async fn follow<R: Runner>(
    tools: Tools<'_, R>,
    run: &RunScope<'_>,
    summaries: &mut [IssueSummary],
) -> Result<(), EngineError> {
    let prior = run.opts.resume.as_ref();
    let mut watched: Vec<Watched> = (summaries.iter().enumerate())
        .filter(|(_, s)| s.outcome == Outcome::Completed && s.pull.is_some())
        .map(|(index, s)| {
            let state = prior.and_then(|p| p.issue(&s.id));
            let mut record: WatchRecord = state.and_then(|i| i.forge.clone()).unwrap_or_default();
            if run.opts.rewatch {
                reopen(&mut record);
            }
            Watched {
                index,
                record,
                interrupted: state.and_then(|i| i.current_phase.clone()),
                recorded: state.map(|i| i.phases.clone()).unwrap_or_default(),
            }
        })
        .collect();
    // A fix cut off before (it has a record in the run state) is one of the issue's phases
    // from the start: counted once, and no later fix takes its number.
    for w in &watched {
        for phase in &w.recorded {
            super::fix::join(&mut summaries[w.index], phase);
        }
    }
    let watching = watch_all(tools, run, summaries, &mut watched).await;
    // Each summary says how its watch stands (ended, or not: the run was interrupted).
    for w in &watched {
        summaries[w.index].watch = Some(Box::new(w.record.clone()));
    }
    watching
}

/// `orch watch` after a human looked: a watch that ended capped or blocked starts again,
/// with a new allowance of fixes.
fn reopen(record: &mut WatchRecord) {
    if matches!(
        record.outcome,
        Some(WatchOutcome::Capped | WatchOutcome::Blocked)
    ) {
        record.outcome = None;
        record.reason = None;
        record.cycles = 0;
        record.last = None;
    }
}

/// Looks at every PR whose watch has not ended, every `poll_interval`, until none is left
/// or the run is interrupted (or out of budget).
async fn watch_all<R: Runner>(
    tools: Tools<'_, R>,
    run: &RunScope<'_>,
    summaries: &mut [IssueSummary],
    watched: &mut [Watched],
) -> Result<(), EngineError> {
    let host = tools.host;
    let open = |w: &&mut Watched| w.record.outcome.is_none();
    if !watched.iter_mut().any(|w| open(&w)) {
        host.emit(&EngineEvent::ForgeNote {
            id: None,
            message: "nothing to watch: no draft orch opened in this run is still open".to_owned(),
        });
        return Ok(());
    }
    let forge = match pull_request::connected(host, run).await {
        Ok(forge) => forge,
        Err(why) => {
            // Said once; each watch ends, for `orch watch` to take up once the forge is there.
            for w in watched.iter_mut().filter(open) {
                let reason = format!("the forge cannot be reached: {why}");
                end(
                    host,
                    &summaries[w.index],
                    &mut w.record,
                    WatchOutcome::Blocked,
                    reason,
                )?;
            }
            return Ok(());
        }
    };
    let interval = host.config.forge().poll_interval();
    // Restacks a crash left undone first.
    let mut told = std::collections::BTreeSet::new();
    super::restack::pending(host, summaries, watched, &mut told).await?;
    loop {
        for i in 0..watched.len() {
            if watched[i].record.outcome.is_some() {
                continue;
            }
            if host.cancelled() {
                return Ok(());
            }
            let waited = forge.client.waits().len();
            let summary = &mut summaries[watched[i].index];
            let goes = step(tools, run, forge, summary, &mut watched[i]).await?;
            pull_request::say_waits(host, forge, waited, Some(&summary.id));
            // What is stacked on a branch a fix moved moves with it.
            super::restack::pending(host, summaries, watched, &mut told).await?;
            if !goes {
                return Ok(());
            }
        }
        if watched.iter().all(|w| w.record.outcome.is_some()) || host.cancelled() {
            return Ok(());
        }
        if !pause(host, interval).await {
            return Ok(());
        }
    }
}

/// Looks in a row at a head that is not what orch pushed before the watch decides on it:
/// GitHub may not have caught up with a push yet.
const LAG_LOOKS: u32 = 3;

/// Whether the PR's head is what orch pushed, or has differed for [`LAG_LOOKS`] looks (then
/// someone else's commit is there, and the rule book sees it).
fn caught_up(summary: &IssueSummary, record: &mut WatchRecord, head: &str) -> bool {
    if summary.pushed().unwrap_or_default() == head {
        record.lag = 0;
        return true;
    }
    record.lag += 1;
    record.lag >= LAG_LOOKS
}

/// Waits `interval`; false when the run was interrupted meanwhile.
async fn pause(host: Host<'_>, interval: std::time::Duration) -> bool {
    let Some(mut cancel) = host.cancel() else {
        tokio::time::sleep(interval).await;
        return true;
    };
    tokio::select! {
        _ = tokio::time::sleep(interval) => true,
        _ = cancel.wait_for(|stop| *stop) => false,
    }
}

/// One look at one PR, and what it starts; false when the watch must stop.
async fn step<R: Runner>(
    tools: Tools<'_, R>,
    run: &RunScope<'_>,
    forge: &Forge,
    summary: &mut IssueSummary,
    w: &mut Watched,
) -> Result<Goes, EngineError> {
    let host = tools.host;
    // A fix in flight whose phase the run state holds as finished (only after a crash).
    if !reconcile(host, run, forge, summary, (&mut w.record, &w.recorded)).await? {
        return Ok(false);
    }
    if let Some(fixing) = w.record.fixing.clone() {
        // orch stopped inside a fix: its push and replies are left, or the fix itself.
        if fixing.fixed {
            super::answer::finish(host, run, forge, summary, &mut w.record).await?;
            return Ok(true);
        }
        return fix(tools, run, forge, summary, w, fixing.feedback).await;
    }
    if w.record.outcome.is_some() {
        return Ok(true);
    }
    let number = summary.pull.as_ref().map_or(0, |p| p.number);
    let (pull, checks, threads, requests) = match look(forge, number).await {
        Ok(looked) => looked,
        Err(e) if matches!(e.status(), Some(401 | 403 | 404)) => {
            let reason = format!("GitHub refused to show PR #{number}: {e}");
            end(host, summary, &mut w.record, WatchOutcome::Blocked, reason)?;
            return Ok(true);
        }
        Err(e) => {
            // Unreachable for now: looked at again next time.
            note(
                host,
                summary,
                format!("could not look at PR #{number}: {e}"),
            );
            return Ok(true);
        }
    };
    if pull.state == "open" && !caught_up(summary, &mut w.record, &pull.head_sha) {
        return Ok(true);
    }
    let rules = Rules {
        max_cycles: host.config.max_forge_cycles(),
        required: host.config.forge().required_checks.as_deref(),
    };
    let view = Look {
        merged: pull.merged,
        open: pull.state == "open",
        head: &pull.head_sha,
        checks: &checks,
        threads: &threads,
        change_requests: &requests,
    };
    match decide::decide(&view, &w.record, &rules) {
        Next::Done(outcome, reason) => {
            end(host, summary, &mut w.record, outcome, reason)?;
            Ok(true)
        }
        Next::Wait(why) => {
            let seen = sighting(&pull.head_sha, &checks, 0);
            wait(host, summary, &mut w.record, seen, why);
            Ok(true)
        }
        Next::Fix {
            ci_failures,
            review_comments,
        } => {
            let seen = Seen {
                head: &pull.head_sha,
                checks: &checks,
            };
            let found = (ci_failures, review_comments);
            take_up(tools, run, forge, summary, w, seen, found).await
        }
    }
}

/// Nothing to do yet: the record keeps what was seen (said when it changed).
fn wait(
    host: Host<'_>,
    summary: &IssueSummary,
    record: &mut WatchRecord,
    seen: Sighting,
    why: String,
) {
    let same_head = record.last.as_ref().is_some_and(|l| l.head == seen.head);
    record.quiet = match (seen.checks.is_empty(), same_head) {
        (true, true) => record.quiet + 1,
        (true, false) => 1,
        (false, _) => 0,
    };
    if record.last.as_ref() != Some(&seen) {
        record.last = Some(seen);
        emit(host, summary, record, why);
    }
}

/// A PR's head and its checks, as one look saw them.
struct Seen<'a> {
    head: &'a str,
    checks: &'a [Check],
}

/// Takes up what the forge reports in a fix, unless the branch moved under orch.
async fn take_up<R: Runner>(
    tools: Tools<'_, R>,
    run: &RunScope<'_>,
    forge: &Forge,
    summary: &mut IssueSummary,
    w: &mut Watched,
    seen: Seen<'_>,
    (ci_failures, review_comments): (Vec<CiFailure>, Vec<crate::model::forge::ReviewComment>),
) -> Result<Goes, EngineError> {
    let host = tools.host;
    if summary.pushed() != Some(seen.head) {
        let reason = format!(
            "its branch on the forge is at {} but orch pushed {}: orch does not fix over \
             commits it did not make; look, then `orch watch`",
            crate::model::naming::short_oid(seen.head),
            crate::model::naming::short_oid(summary.pushed().unwrap_or("nothing"))
        );
        end(host, summary, &mut w.record, WatchOutcome::Blocked, reason)?;
        return Ok(true);
    }
    w.record.last = Some(sighting(seen.head, seen.checks, review_comments.len()));
    let feedback = Feedback {
        ci_failures: evidence(forge, seen.checks, ci_failures).await,
        review_comments,
    };
    fix(tools, run, forge, summary, w, feedback).await
}

type Looked = (
    crate::forge::pulls::Pull,
    Vec<Check>,
    Vec<crate::forge::threads::Thread>,
    Vec<crate::forge::threads::ChangeRequest>,
);

/// The PR, its head's checks, its threads and change requests.
async fn look(forge: &Forge, number: u64) -> Result<Looked, crate::forge::ForgeError> {
    let pull = forge.pull(number).await?;
    let checks = forge.checks(&pull.head_sha).await?;
    let (threads, requests) = forge.threads(number).await?;
    Ok((pull, checks, threads, requests))
}

fn sighting(head: &str, checks: &[Check], open_threads: usize) -> Sighting {
    use crate::forge::checks::State;
    Sighting {
        head: head.to_owned(),
        checks: (checks.iter())
            .map(|c| {
                let state = match &c.state {
                    State::Pending => "pending".to_owned(),
                    State::Passed => "pass".to_owned(),
                    State::Failed(conclusion) => conclusion.clone(),
                };
                (c.name.clone(), state)
            })
            .collect(),
        open_threads,
    }
}

/// Each failed check with its evidence: an Actions job's log, else the check's own output,
/// excerpted around the first error.
async fn evidence(forge: &Forge, checks: &[Check], failures: Vec<CiFailure>) -> Vec<CiFailure> {
    let mut out = Vec::with_capacity(failures.len());
    for mut failure in failures {
        let source = (checks.iter())
            .find(|c| c.name == failure.check)
            .map(|c| &c.source);
        let text = match source {
            Some(Source::Actions { job }) => match forge.job_log(*job).await {
                Ok(log) => log,
                Err(e) => format!("(the job's log could not be read: {e})"),
            },
            Some(Source::CheckRun { output }) => output.clone(),
            Some(Source::Status { description }) => description.clone(),
            None => String::new(),
        };
        failure.log_excerpt = crate::util::redact::redact(&crate::forge::excerpt::excerpt(&text));
        out.push(failure);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_that_is_not_what_orch_pushed_is_given_three_looks() {
        let mut summary = IssueSummary::new(
            &crate::model::plan::PlannedIssue::for_test("A-1", &[]),
            Outcome::Completed,
            std::path::Path::new("/logs"),
        );
        summary.pull = Some(Box::new(crate::model::record::PullRecord {
            number: 1,
            url: "u".into(),
            base: "main".into(),
            head: "b".into(),
            pushed: "NEW".into(),
            restacking: None,
        }));
        let mut record = WatchRecord::default();
        let looks: Vec<bool> = ["OLD", "OLD", "OLD", "NEW", "OLD"]
            .iter()
            .map(|head| caught_up(&summary, &mut record, head))
            .collect();
        assert_eq!(looks, [false, false, true, true, false]);
    }
}

//! The watch loop: every issue of the run whose draft orch opened is looked at every
//! `[forge] poll_interval` ([`super::decide`] says what next), until each has ended (green,
//! merged, closed, capped, blocked) or the run is interrupted. A fix runs on the issue's
//! branch ([`crate::engine::issue::forge_fix`]), then orch pushes it and answers each thread
//! ([`super::answer`]). Every step is in the watch record, written through the run state as
//! it happens: a watch killed at any point continues without running a finished fix again or
//! replying twice.

use super::decide::{self, Look, Next, Rules};
use super::say::{emit, end, save};
use crate::agent::Runner;
use crate::engine::context::RunScope;
use crate::engine::host::{Host, Tools};
use crate::engine::issue::{forge_fix, FixAt};
use crate::engine::resume::Continuation;
use crate::engine::{pull_request, EngineError};
use crate::forge::checks::{Check, Source};
use crate::forge::Forge;
use crate::model::event::EngineEvent;
use crate::model::forge::{CiFailure, Feedback, FixInFlight, Sighting, WatchOutcome, WatchRecord};
use crate::model::record::{IssueSummary, Outcome};
use crate::model::result::Status;
use crate::model::state::CurrentPhase;

/// One issue being watched.
struct Watched {
    /// Its summary's index in the run's.
    index: usize,
    record: WatchRecord,
    /// The phase orch died in, when the run resumed had one (the first fix pins its work).
    interrupted: Option<CurrentPhase>,
}

/// Watches the run's pull requests (see the module doc); `summaries` get the fixes' phases
/// and pushed heads.
pub(in crate::engine) async fn follow<R: Runner>(
    tools: Tools<'_, R>,
    run: &RunScope<'_>,
    summaries: &mut [IssueSummary],
) -> Result<(), EngineError> {
    let host = tools.host;
    let prior = run.opts.resume.as_ref();
    let mut watched: Vec<Watched> = (summaries.iter().enumerate())
        .filter(|(_, s)| s.outcome == Outcome::Completed && s.pull.is_some())
        .map(|(index, s)| {
            let state = prior.and_then(|p| p.issue(&s.id));
            Watched {
                index,
                record: state.and_then(|i| i.forge.clone()).unwrap_or_default(),
                interrupted: state.and_then(|i| i.current_phase.clone()),
            }
        })
        .filter(|w| w.record.outcome.is_none())
        .collect();
    if watched.is_empty() {
        host.emit(&EngineEvent::ForgeNote {
            id: None,
            message: "nothing to watch: no issue of this run has an open draft orch opened"
                .to_owned(),
        });
        return Ok(());
    }
    let Some(forge) = pull_request::forge(host, run).await else {
        return Ok(());
    };
    let interval = host.config.forge().poll_interval();
    loop {
        for w in watched.iter_mut().filter(|w| w.record.outcome.is_none()) {
            if host.cancelled() {
                return Ok(());
            }
            let waited = forge.client.waits().len();
            let summary = &mut summaries[w.index];
            step(tools, run, forge, summary, w).await?;
            pull_request::say_waits(host, forge, waited, Some(&summary.id));
        }
        if watched.iter().all(|w| w.record.outcome.is_some()) || host.cancelled() {
            return Ok(());
        }
        if !pause(host, interval).await {
            return Ok(());
        }
    }
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

/// One look at one PR, and what it starts.
async fn step<R: Runner>(
    tools: Tools<'_, R>,
    run: &RunScope<'_>,
    forge: &Forge,
    summary: &mut IssueSummary,
    w: &mut Watched,
) -> Result<(), EngineError> {
    let host = tools.host;
    if let Some(fixing) = w.record.fixing.clone() {
        // orch stopped inside a fix: its push and replies are left, or the fix itself.
        if fixing.fixed {
            return super::answer::finish(host, run, forge, summary, &mut w.record).await;
        }
        return fix(tools, run, forge, summary, w, fixing.feedback).await;
    }
    let number = summary.pull.as_ref().map_or(0, |p| p.number);
    let looked = look(forge, number).await;
    let (pull, checks, threads, requests) = match looked {
        Ok(looked) => looked,
        Err(e) if e.status() == Some(404) => {
            let reason = format!("PR #{number} is not on the forge any more ({e})");
            return end(host, summary, &mut w.record, WatchOutcome::Blocked, reason);
        }
        Err(e) => {
            // Unreachable for now: looked at again next time.
            host.emit(&EngineEvent::ForgeNote {
                id: Some(summary.id.clone()),
                message: format!("could not look at PR #{number}: {e}"),
            });
            return Ok(());
        }
    };
    let required = host.config.forge().required_checks;
    let rules = Rules {
        max_cycles: host.config.max_forge_cycles(),
        required: required.as_deref(),
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
        Next::Done(outcome, reason) => end(host, summary, &mut w.record, outcome, reason),
        Next::Wait(why) => {
            wait(
                host,
                summary,
                &mut w.record,
                sighting(&pull.head_sha, &checks, 0),
                why,
            );
            Ok(())
        }
        Next::Fix {
            ci_failures,
            review_comments,
        } => {
            let seen = Seen {
                head: &pull.head_sha,
                checks: &checks,
            };
            take_up(
                tools,
                run,
                forge,
                summary,
                w,
                seen,
                (ci_failures, review_comments),
            )
            .await
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
    record.quiet = match seen.checks.is_empty() {
        true => record.quiet + 1,
        false => 0,
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
) -> Result<(), EngineError> {
    let host = tools.host;
    let pushed = summary.pull.as_ref().map(|p| p.pushed.clone());
    if pushed.as_deref() != Some(seen.head) {
        let reason = format!(
            "its branch on the forge is at {} but orch pushed {}: orch does not fix over \
             commits it did not make; look, then `orch watch`",
            crate::model::naming::short_oid(seen.head),
            crate::model::naming::short_oid(pushed.as_deref().unwrap_or("nothing"))
        );
        return end(host, summary, &mut w.record, WatchOutcome::Blocked, reason);
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

/// Runs a fix for `feedback` (the record says so first), and on success pushes and answers.
async fn fix<R: Runner>(
    tools: Tools<'_, R>,
    run: &RunScope<'_>,
    forge: &Forge,
    summary: &mut IssueSummary,
    w: &mut Watched,
    feedback: Feedback,
) -> Result<(), EngineError> {
    let host = tools.host;
    let Some(issue) = run.plan.issues.iter().find(|i| i.id == summary.id) else {
        return Ok(());
    };
    let interrupted = w.interrupted.take();
    let seq = (summary.phases.iter().map(|p| p.seq))
        .chain(interrupted.as_ref().map(|c| c.seq))
        .max()
        .unwrap_or(0)
        + 1;
    if w.record.fixing.is_none() {
        w.record.cycles += 1;
    }
    w.record.fixing = Some(FixInFlight {
        seq,
        feedback: feedback.clone(),
        fixed: false,
        answers: Vec::new(),
    });
    emit(
        host,
        summary,
        &w.record,
        format!("fixing: {}", feedback.headline()),
    );
    let (base, parent) = (
        summary.base.clone().unwrap_or_default(),
        summary
            .pull
            .as_ref()
            .map(|p| p.base.clone())
            .unwrap_or_default(),
    );
    let at = FixAt {
        issue,
        base: &base,
        parent: &parent,
        issue_dir: &summary.log_dir.clone(),
        continuation: Continuation {
            phases: summary.phases.clone(),
            interrupted,
            commands: Vec::new(),
            extra_cycles: 0,
        },
    };
    let fixed = match forge_fix(tools, run, at, &feedback).await? {
        Ok(fixed) => fixed,
        Err(reason) => {
            w.record.fixing = None;
            return end(host, summary, &mut w.record, WatchOutcome::Blocked, reason);
        }
    };
    settle(host, run, forge, summary, &mut w.record, (seq, fixed)).await
}

/// The fix's phase joins the issue's; passed, it is pushed and answered, else the watch
/// ends blocked.
async fn settle(
    host: Host<'_>,
    run: &RunScope<'_>,
    forge: &Forge,
    summary: &mut IssueSummary,
    record: &mut WatchRecord,
    (seq, fixed): (u32, crate::engine::issue::ForgeFixed),
) -> Result<(), EngineError> {
    summary.commits += fixed.record.commits;
    summary.tokens = summary.tokens + fixed.record.usage;
    summary.guard = summary.guard + fixed.record.guard;
    summary.cycles += 1;
    summary.phases.push(fixed.record.clone());
    if fixed.rescue_ref.is_some() {
        summary.rescue_ref = fixed.rescue_ref.clone();
    }
    let result = fixed.result.filter(|r| r.status == Status::Pass);
    let Some(result) = result else {
        record.fixing = None;
        let why = match (&fixed.record.failure, &fixed.record.status) {
            (Some(f), _) => f.to_string(),
            (None, Some(status)) => format!("it said `{status}`"),
            (None, None) => "it gave no result".to_owned(),
        };
        save(host, summary)?;
        let reason = format!("fix {seq:02} did not pass: {why}; see `orch report`");
        return end(host, summary, record, WatchOutcome::Blocked, reason);
    };
    let answers = (result.json.get("threads").cloned())
        .and_then(|t| serde_json::from_value(t).ok())
        .unwrap_or_default();
    if let Some(fixing) = record.fixing.as_mut() {
        fixing.fixed = true;
        fixing.answers = answers;
    }
    save(host, summary)?;
    emit(host, summary, record, format!("fix {seq:02} passed"));
    crate::util::failpoint::hit("forge-fixed");
    super::answer::finish(host, run, forge, summary, record).await
}

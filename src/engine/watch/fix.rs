//! One fix the forge asked for, as the watch runs it: recorded as begun (its phase number,
//! its feedback, the head it starts from) before it starts; its phase joins the issue's;
//! passed, recorded as such before its push and replies ([`super::answer`]). After a crash,
//! [`reconcile`] reads what the run state holds of it, so a fix that finished is never run
//! again.

use super::say::{emit, end, note, save};
use crate::agent::Runner;
use crate::engine::context::RunScope;
use crate::engine::host::{Host, Tools};
use crate::engine::issue::{forge_fix, FixAt, FixRun, ForgeFixed};
use crate::engine::resume::Continuation;
use crate::engine::EngineError;
use crate::forge::Forge;
use crate::model::forge::{Feedback, FixInFlight, WatchOutcome, WatchRecord};
use crate::model::phase::PhaseFailure;
use crate::model::record::{IssueSummary, PhaseRecord};
use crate::model::result::{PhaseResult, Status};

/// One issue being watched.
pub(super) struct Watched {
    /// Its summary's index in the run's.
    pub index: usize,
    pub record: WatchRecord,
    /// The phase orch died in, when the run resumed had one (the first fix pins its work).
    pub interrupted: Option<crate::model::state::CurrentPhase>,
    /// The phases the run state held of it when the watch began (a fix that finished
    /// before a crash is among them).
    pub recorded: Vec<PhaseRecord>,
}

/// Whether the watch goes on after a fix (false: interrupted, or out of budget; the fix is
/// still in flight for the resume).
pub(super) type Goes = bool;

/// Runs a fix for `feedback` (the record says so first), and on success pushes and answers.
pub(super) async fn fix<R: Runner>(
    tools: Tools<'_, R>,
    run: &RunScope<'_>,
    forge: &Forge,
    summary: &mut IssueSummary,
    w: &mut Watched,
    feedback: Feedback,
) -> Result<Goes, EngineError> {
    let host = tools.host;
    let Some(issue) = run.plan.issues.iter().find(|i| i.id == summary.id) else {
        return Ok(true);
    };
    let interrupted = w.interrupted.take();
    // The issue's phases and those the run state adds (a fix interrupted before): the next
    // fix is numbered after all of them, and never reuses a phase's logs or pins.
    let mut phases = summary.phases.clone();
    phases.sort_by_key(|p| p.seq);
    let seq = (phases.iter().map(|p| p.seq))
        .chain(interrupted.as_ref().map(|c| c.seq))
        .max()
        .unwrap_or(0)
        + 1;
    let head = match &w.record.fixing {
        Some(fixing) => fixing.head.clone(),
        None => {
            w.record.cycles += 1;
            summary.pushed().unwrap_or_default().to_owned()
        }
    };
    w.record.fixing = Some(FixInFlight {
        seq,
        feedback: feedback.clone(),
        head,
        fixed: false,
        answers: Vec::new(),
    });
    let headline = feedback.headline();
    emit(host, summary, &w.record, format!("fixing: {headline}"));
    let base = summary.base.clone().unwrap_or_default();
    let parent = (summary.pull.as_ref()).map_or_else(String::new, |p| p.base.clone());
    let at = FixAt {
        issue,
        base: &base,
        parent: &parent,
        issue_dir: &summary.log_dir.clone(),
        continuation: Continuation {
            phases,
            interrupted,
            commands: Vec::new(),
            extra_cycles: 0,
        },
    };
    match forge_fix(tools, run, at, &feedback).await? {
        FixRun::Ran(fixed) => settle(host, run, forge, summary, &mut w.record, *fixed).await,
        FixRun::Refused(reason) => {
            w.record.fixing = None;
            end(host, summary, &mut w.record, WatchOutcome::Blocked, reason)?;
            Ok(true)
        }
        FixRun::Stopped(reason) => {
            // The watch stops here; the resume reads the fix's record from the run state.
            note(
                host,
                summary,
                format!("the watch stops: {reason}; `orch resume` goes on with it"),
            );
            Ok(false)
        }
    }
}

/// The fix's phase joins the issue's; passed, it is pushed and answered, else the watch
/// ends blocked.
async fn settle(
    host: Host<'_>,
    run: &RunScope<'_>,
    forge: &Forge,
    summary: &mut IssueSummary,
    record: &mut WatchRecord,
    fixed: ForgeFixed,
) -> Result<Goes, EngineError> {
    join(summary, &fixed.record);
    if fixed.rescue_ref.is_some() {
        summary.rescue_ref = fixed.rescue_ref.clone();
    }
    passed(
        host,
        run,
        forge,
        summary,
        record,
        (&fixed.record, fixed.result),
    )
    .await
}

/// The phase `record` in the issue's summary, counted (once; a fix cut off is no cycle).
pub(super) fn join(summary: &mut IssueSummary, record: &PhaseRecord) {
    if summary.phases.iter().any(|p| p.seq == record.seq) {
        return;
    }
    summary.commits += record.commits;
    summary.tokens = summary.tokens + record.usage;
    summary.guard = summary.guard + record.guard;
    if crate::engine::resume::counts(record) {
        summary.cycles += 1;
    }
    summary.phases.push(record.clone());
}

/// A finished fix: passed, recorded as such, then pushed and answered; else the watch ends
/// blocked.
async fn passed(
    host: Host<'_>,
    run: &RunScope<'_>,
    forge: &Forge,
    summary: &mut IssueSummary,
    record: &mut WatchRecord,
    (phase, result): (&PhaseRecord, Option<PhaseResult>),
) -> Result<Goes, EngineError> {
    let seq = phase.seq;
    let Some(result) = result.filter(|r| r.status == Status::Pass) else {
        record.fixing = None;
        let why = match (&phase.failure, &phase.status) {
            (Some(f), _) => f.to_string(),
            (None, Some(status)) => format!("it said `{status}`"),
            (None, None) => "it gave no result".to_owned(),
        };
        save(host, summary)?;
        let reason = format!(
            "fix {seq:02} did not pass: {why}; see `orch report`, then `orch watch` to watch again"
        );
        end(host, summary, record, WatchOutcome::Blocked, reason)?;
        return Ok(true);
    };
    let answers = (result.json.get("threads").cloned())
        .and_then(|t| serde_json::from_value(t).ok())
        .unwrap_or_default();
    if let Some(fixing) = record.fixing.as_mut() {
        fixing.seq = seq;
        fixing.fixed = true;
        fixing.answers = answers;
    }
    // The fix passed and its phase is in the summary, in one write of the run state.
    save(host, summary)?;
    emit(host, summary, record, format!("fix {seq:02} passed"));
    crate::util::failpoint::hit("forge-fixed");
    super::answer::finish(host, run, forge, summary, record).await?;
    Ok(true)
}

/// After a crash: a fix the record has in flight whose phase the run state holds as
/// finished joins the summary and goes on as finished (pushed, answered), never run again.
pub(super) async fn reconcile(
    host: Host<'_>,
    run: &RunScope<'_>,
    forge: &Forge,
    summary: &mut IssueSummary,
    (record, recorded): (&mut WatchRecord, &[PhaseRecord]),
) -> Result<Goes, EngineError> {
    let Some(fixing) = record.fixing.clone().filter(|f| !f.fixed) else {
        return Ok(true);
    };
    let finished = (recorded.iter()).find(|p| {
        p.seq == fixing.seq
            && p.phase == crate::model::phase::PhaseKind::Fix
            && p.failure != Some(PhaseFailure::Interrupted)
    });
    let Some(phase) = finished.cloned() else {
        return Ok(true);
    };
    if let Some(issue) = run.plan.issues.iter().find(|i| i.id == summary.id) {
        let rescued = crate::engine::issue::tidy(host, run, issue, &summary.log_dir).await?;
        summary.rescue_ref = rescued.or(summary.rescue_ref.take());
    }
    join(summary, &phase);
    let result = (phase.failure.is_none())
        .then(|| crate::record::phase_logs::result(&phase.log_dir))
        .flatten()
        .map(PhaseResult::from);
    passed(host, run, forge, summary, record, (&phase, result)).await
}

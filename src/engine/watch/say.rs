//! What the watch tells: a changed record (the run state keeps it), an updated summary
//! (the run state and `summary.json`), and the end of an issue's watch.

use crate::engine::host::Host;
use crate::engine::EngineError;
use crate::model::event::EngineEvent;
use crate::model::forge::{WatchOutcome, WatchRecord};
use crate::model::record::IssueSummary;

/// The issue's summary with what the watch added (phases, the head pushed), in the run state
/// and its `summary.json`.
pub(super) fn save(host: Host<'_>, summary: &IssueSummary) -> Result<(), EngineError> {
    host.emit(&EngineEvent::IssueUpdated {
        summary: summary.clone(),
    });
    let path = summary.log_dir.join(crate::model::layout::ISSUE_SUMMARY);
    crate::engine::logs::write_json(&path, summary)?;
    Ok(())
}

/// Says something of the forge about `summary`'s issue, once (not in its record).
pub(super) fn note(host: Host<'_>, summary: &IssueSummary, message: String) {
    host.emit(&EngineEvent::ForgeNote {
        id: Some(summary.id.clone()),
        message,
    });
}

/// Says the record changed.
pub(super) fn emit(host: Host<'_>, summary: &IssueSummary, record: &WatchRecord, note: String) {
    host.emit(&EngineEvent::Watched {
        id: summary.id.clone(),
        record: record.clone(),
        note,
    });
}

/// The watch of this issue ends (always `Ok`: a step can end with it).
pub(super) fn end(
    host: Host<'_>,
    summary: &IssueSummary,
    record: &mut WatchRecord,
    outcome: WatchOutcome,
    reason: String,
) -> Result<(), EngineError> {
    record.outcome = Some(outcome);
    record.reason = Some(reason.clone());
    let number = summary.pull.as_ref().map_or(0, |p| p.number);
    emit(
        host,
        summary,
        record,
        format!("PR #{number} {}: {reason}", outcome.name()),
    );
    Ok(())
}

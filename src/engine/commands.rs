//! What runs after a task converged: its commands (`build`, `release`, `deploy`, …) in the
//! worktree, each behind its approval gate when the plan names one.

use super::host::Host;
use super::{EngineError, RunOptions};
use crate::model::event::EngineEvent;
use crate::model::plan::PlannedIssue;
use crate::model::record::{CommandRecord, IssueSummary, Outcome};
use std::path::Path;

/// What the run says about the commands: `--no-build`, the approvals, and what already ran
/// in the run being resumed.
pub(super) struct Finishing<'a> {
    pub opts: &'a RunOptions,
    pub prior: Vec<CommandRecord>,
}

/// After a task converged: its commands other than `lint`/`test` (`build`, `release`,
/// `deploy`, …) in the worktree. A command named by an approval gate runs only once approved;
/// until then the task is `blocked` and waits for `orch approve` + resume. `--no-build`
/// skips `build` and `release`. A failing command fails the task. A command that succeeded
/// in the run resumed is not run again.
pub(super) async fn finish(
    host: Host<'_>,
    summary: &mut IssueSummary,
    issue: &PlannedIssue,
    (worktree, issue_dir): (&Path, &Path),
    Finishing { opts, prior }: Finishing<'_>,
) -> Result<(), EngineError> {
    for (name, command) in issue.spec.finishing_commands() {
        if let Some(done) =
            (prior.iter()).find(|c| c.name == name && c.command == command && c.status == Some(0))
        {
            summary.commands.push(done.clone());
            continue;
        }
        if opts.no_build && matches!(name, "build" | "release") {
            continue;
        }
        let approved_by = match approval(host, summary, issue, name, opts) {
            Ok(approved_by) => approved_by,
            Err(()) => return Ok(()),
        };
        if host.cancelled() {
            // Ctrl-C arrived between two commands: start no new one.
            summary.outcome = Outcome::Interrupted;
            summary.reason = Some(format!("interrupted before running `{name}`"));
            return Ok(());
        }
        let log = crate::model::layout::command_log(issue_dir, name);
        let timeout = host.task_timeout(issue);
        let workdir = issue.spec.workdir(worktree);
        let result =
            crate::gates::shell::run_shell(command, &workdir, &log, timeout, host.cancel()).await;
        let record = CommandRecord {
            name: name.to_owned(),
            command: command.to_owned(),
            status: result.status,
            log,
            duration_ms: result.duration_ms,
            approved_by,
        };
        host.emit(&EngineEvent::CommandRun {
            id: issue.id.clone(),
            name: name.to_owned(),
            record: record.clone(),
        });
        summary.commands.push(record);
        if result.interrupted {
            summary.outcome = Outcome::Interrupted;
            summary.reason = Some(format!("interrupted while running `{name}`"));
            return Ok(());
        }
        if !result.success() {
            summary.outcome = Outcome::Failed;
            summary.reason = Some(format!(
                "command `{name}` (`{command}`) failed: {}",
                result.describe(timeout)
            ));
            return Ok(());
        }
    }
    Ok(())
}

/// Whether command `name` may run: `Ok(approved by whom)` (`None`: it has no gate), or
/// `Err` when its gate waits for an approval (the task is then blocked on it).
fn approval(
    host: Host<'_>,
    summary: &mut IssueSummary,
    issue: &PlannedIssue,
    name: &str,
    opts: &RunOptions,
) -> Result<Option<String>, ()> {
    if !issue.spec.gated(name) {
        return Ok(None);
    }
    if let Some(a) = crate::gates::approval::covering(&opts.approvals, name, &issue.id) {
        return Ok(Some(format!("{} at {}", a.by, a.at)));
    }
    host.emit(&EngineEvent::AwaitingApproval {
        id: issue.id.clone(),
        gate: name.to_owned(),
    });
    summary.outcome = Outcome::Blocked;
    summary.awaiting = vec![name.to_owned()];
    summary.reason = Some(format!(
        "awaiting approval of `{name}`: run `orch approve {name} --task {}`, then `orch resume`",
        issue.id
    ));
    Err(())
}

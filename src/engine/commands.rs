//! What runs after a task converged: its commands (`build`, `release`, `deploy`, …) in the
//! worktree, each behind its approval gate when the plan names one.

use super::{task_timeout, Engine, EngineError, RunOptions};
use crate::agent::Runner;
use crate::model::event::EngineEvent;
use crate::model::plan::PlannedIssue;
use crate::model::record::{CommandRecord, IssueSummary, Outcome};
use std::path::Path;

impl<R: Runner> Engine<'_, R> {
    /// After a task converged: its commands other than `lint`/`test` (`build`, `release`,
    /// `deploy`, …) in the worktree. A command named by an approval gate runs only once
    /// approved; until then the task is `blocked` and waits for `orch approve` + resume.
    /// `--no-build` skips `build` and `release`. A failing command fails the task.
    pub(super) async fn finish_commands(
        &self,
        summary: &mut IssueSummary,
        issue: &PlannedIssue,
        worktree: &Path,
        issue_dir: &Path,
        opts: &RunOptions,
        prior: Vec<CommandRecord>,
    ) -> Result<(), EngineError> {
        for (name, command) in issue.spec.finishing_commands() {
            if let Some(done) = prior
                .iter()
                .find(|c| c.name == name && c.command == command && c.status == Some(0))
            {
                summary.commands.push(done.clone());
                continue;
            }
            if opts.no_build && matches!(name, "build" | "release") {
                continue;
            }
            let mut approved_by = None;
            if issue.spec.gated(name) {
                match crate::gates::approval::covering(&opts.approvals, name, &issue.id) {
                    Some(a) => approved_by = Some(format!("{} at {}", a.by, a.at)),
                    None => {
                        (self.reporter)(&EngineEvent::AwaitingApproval {
                            id: issue.id.clone(),
                            gate: name.to_owned(),
                        });
                        summary.outcome = Outcome::Blocked;
                        summary.awaiting = vec![name.to_owned()];
                        summary.reason = Some(format!(
                            "awaiting approval of `{name}`: run `orch approve {name} --task {}`, then `orch resume`",
                            issue.id
                        ));
                        return Ok(());
                    }
                }
            }
            if self.cancelled() {
                // Ctrl-C arrived between two commands: start no new one.
                summary.outcome = Outcome::Interrupted;
                summary.reason = Some(format!("interrupted before running `{name}`"));
                return Ok(());
            }
            let log = crate::model::layout::command_log(issue_dir, name);
            let timeout = task_timeout(issue, self.config);
            let workdir = issue.spec.workdir(worktree);
            let result = crate::gates::shell::run_shell(
                command,
                &workdir,
                &log,
                timeout,
                self.cancel.clone(),
            )
            .await;
            let record = CommandRecord {
                name: name.to_owned(),
                command: command.to_owned(),
                status: result.status,
                log,
                duration_ms: result.duration_ms,
                approved_by,
            };
            (self.reporter)(&EngineEvent::CommandRun {
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
}

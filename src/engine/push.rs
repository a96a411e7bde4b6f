//! orch's own push of an issue's branch to the forge's remote, outside the sandbox, recorded
//! as the issue's `push` command: fast-forward only, or (a restack) forced with a lease on
//! the tip orch pushed last, so nobody else's commit is ever overwritten.

use super::host::Host;
use crate::model::event::EngineEvent;
use crate::model::record::{CommandRecord, IssueSummary};
use std::path::Path;
use std::time::Duration;

/// How to push the issue's branch, from where.
pub(super) struct Push<'a> {
    /// Where git runs (the issue's worktree, or the repository).
    pub dir: &'a Path,
    pub timeout: Duration,
    /// A restack: the tip the remote branch must still have, and the commit pushed (the
    /// local branch moves only once the remote has it).
    pub lease: Option<(&'a str, &'a str)>,
}

/// How a push failed: how it ended, and the line git said about it.
pub(super) struct Failed {
    pub how: String,
    pub said: String,
}

/// Pushes the issue's branch (and only it) to `[forge] remote`, recorded in its summary.
pub(super) async fn push(
    host: Host<'_>,
    how: Push<'_>,
    summary: &mut IssueSummary,
) -> Result<(), Failed> {
    let (id, branch, issue_dir) = (&summary.id, &summary.branch, &summary.log_dir);
    let remote = host.config.forge().remote().to_owned();
    let source = match how.lease {
        Some((_, commit)) => commit.to_owned(),
        None => format!("refs/heads/{}", branch),
    };
    let refspec = format!("{source}:refs/heads/{}", branch);
    let word = |s: &str| crate::util::process::sh_word(s);
    let lease =
        (how.lease).map(|(tip, _)| format!("--force-with-lease=refs/heads/{}:{tip}", branch));
    let flags = lease
        .clone()
        .map(|l| format!("{} ", word(&l)))
        .unwrap_or_default();
    let command = format!(
        "GIT_TERMINAL_PROMPT=0 git push --porcelain {flags}{} {}",
        word(&remote),
        word(&refspec)
    );
    let name = if how.lease.is_some() {
        "restack-push"
    } else {
        "push"
    };
    let log = crate::model::layout::command_log(issue_dir, name);
    let cancel = host.cancel();
    let ran = crate::gates::shell::run_own(&command, how.dir, &log, how.timeout, cancel).await;
    let shown = match &lease {
        Some(lease) => format!("git push {lease} {remote} {refspec}"),
        None => format!("git push {remote} {refspec}"),
    };
    let record = CommandRecord {
        name: name.to_owned(),
        command: shown,
        status: ran.status,
        log: log.clone(),
        duration_ms: ran.duration_ms,
        approved_by: None,
    };
    host.emit(&EngineEvent::CommandRun {
        id: id.clone(),
        name: name.to_owned(),
        record: record.clone(),
    });
    summary.commands.push(record);
    if ran.success() {
        return Ok(());
    }
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    Err(Failed {
        how: ran.describe(how.timeout),
        said: super::remote_git::said(&output),
    })
}

//! After a fix moved an issue's branch, the issues stacked on it (their PR's base is that
//! branch), and theirs in turn, are replayed onto its new head and pushed with a lease on
//! the tip orch pushed last: only within the stack, and never over a commit orch did not
//! make. A dependent whose commits conflict with the fix ends its watch blocked, its branch
//! as it was.

use super::fix::Watched;
use super::say::{emit, end, note, save};
use crate::engine::host::Host;
use crate::engine::push::{push, Push};
use crate::engine::{git, EngineError};
use crate::model::forge::WatchOutcome;
use crate::model::naming::short_oid;
use crate::model::record::IssueSummary;

/// A branch that moved: its name, where it was, where it is.
pub(super) struct Moved {
    pub branch: String,
    pub old: String,
    pub new: String,
}

/// Restacks every watched issue stacked on `moved`, then on what moved with it.
pub(super) async fn dependents(
    host: Host<'_>,
    summaries: &mut [IssueSummary],
    watched: &mut [Watched],
    moved: Moved,
) -> Result<(), EngineError> {
    let mut queue = vec![moved];
    while let Some(moved) = queue.pop() {
        for w in watched.iter_mut().filter(|w| w.record.outcome.is_none()) {
            let summary = &mut summaries[w.index];
            let Some(pull) = summary.pull.as_ref().filter(|p| p.base == moved.branch) else {
                continue;
            };
            if w.record.fixing.is_some() {
                // Its own fix is in flight (its worktree holds the branch): it stays as it is.
                let why = format!(
                    "not restacked onto {}: its own fix is in flight",
                    moved.branch
                );
                note(host, summary, why);
                continue;
            }
            let tip = pull.pushed.clone();
            match onto(host, summary, &moved, &tip).await? {
                Ok(new) => {
                    let note = format!(
                        "restacked onto {} ({}): {}",
                        moved.branch,
                        short_oid(&moved.new),
                        short_oid(&new)
                    );
                    emit(host, summary, &w.record, note);
                    let branch = summary.branch.clone();
                    queue.push(Moved {
                        branch,
                        old: tip,
                        new,
                    });
                }
                Err(why) if host.cancelled() => {
                    // Interrupted: its branch is as it was; the watch stops as it is.
                    note(host, summary, format!("not restacked: {why}"));
                    return Ok(());
                }
                Err(why) => {
                    let reason = format!("not restacked onto the fixed {}: {why}", moved.branch);
                    end(host, summary, &mut w.record, WatchOutcome::Blocked, reason)?;
                }
            }
        }
    }
    Ok(())
}

/// Replays the issue's commits onto `moved.new`, moves its branch and pushes it with a
/// lease on `tip`; the new tip, or why not.
async fn onto(
    host: Host<'_>,
    summary: &mut IssueSummary,
    moved: &Moved,
    tip: &str,
) -> Result<Result<String, String>, EngineError> {
    let (branch, old, new, pushed) = (
        summary.branch.clone(),
        moved.old.clone(),
        moved.new.clone(),
        tip.to_owned(),
    );
    let replayed = git(host.repo_root, move |repo| {
        let local = repo.branch_tip(&branch)?.unwrap_or_default();
        if local != pushed {
            return Ok(Err(format!(
                "its branch is at {} here but orch pushed {}",
                short_oid(&local),
                short_oid(&pushed)
            )));
        }
        if !repo.descends_from(&pushed, &old)? {
            return Ok(Err(format!("it does not sit on {}", short_oid(&old))));
        }
        let Some(replayed) = repo.replay(&old, &pushed, &new)? else {
            return Ok(Err("its commits conflict with the fix".to_owned()));
        };
        let message = format!("orch: restack onto {}", short_oid(&new));
        repo.set_ref(&format!("refs/heads/{branch}"), &replayed, &message)?;
        Ok(Ok(replayed))
    })
    .await?;
    let replayed = match replayed {
        Ok(replayed) => replayed,
        Err(why) => return Ok(Err(why)),
    };
    let (id, branch, issue_dir) = (
        summary.id.clone(),
        summary.branch.clone(),
        summary.log_dir.clone(),
    );
    let how = Push {
        id: &id,
        branch: &branch,
        dir: host.repo_root,
        issue_dir: &issue_dir,
        timeout: host.config.phase_timeout(),
        lease: Some(tip),
    };
    if let Err(failed) = push(host, how, summary).await {
        // The remote has what it had: so does the branch here.
        let (branch, back) = (summary.branch.clone(), tip.to_owned());
        git(host.repo_root, move |repo| {
            Ok(repo.set_ref(
                &format!("refs/heads/{branch}"),
                &back,
                "orch: restack undone",
            )?)
        })
        .await?;
        return Ok(Err(format!(
            "its push failed ({}: {})",
            failed.how, failed.said
        )));
    }
    if let Some(pull) = summary.pull.as_mut() {
        pull.pushed = replayed.clone();
    }
    // Its branch starts from the fixed head now (a later fix's worktree checks it).
    summary.base = Some(moved.new.clone());
    summary.head = Some(replayed.clone());
    save(host, summary)?;
    Ok(Ok(replayed))
}

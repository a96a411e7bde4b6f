//! When orch moved a branch (a fix it pushed), the issues stacked on it (their PR's base is
//! that branch), and theirs in turn, are replayed onto its new head and pushed with a lease
//! on the tip orch pushed last: only within the stack, and never over a commit orch did not
//! make. What is behind is read from the record alone (an issue's branch starts from an
//! earlier head of its PR's base), so a crash between a fix's push and its dependents'
//! restack is made up on resume; the replayed tip is recorded before it is pushed, so a
//! crash mid-restack pushes that tip again rather than a second replay. A dependent whose
//! commits conflict with the fix ends its watch blocked, its branch as it was; one that was
//! green is watched again (its head changed).

use super::fix::Watched;
use super::say::{emit, end, note, save};
use crate::engine::host::Host;
use crate::engine::push::{push, Push};
use crate::engine::{git, EngineError};
use crate::model::forge::WatchOutcome;
use crate::model::naming::short_oid;
use crate::model::record::IssueSummary;
use std::collections::BTreeSet;

/// The branch an issue's PR merges into, where the issue's branch starts on it (`old`) and
/// where orch moved it since (`new`).
struct Behind {
    branch: String,
    old: String,
    new: String,
    /// `new` descends from `old` (else the issue starts from something else, such as a
    /// merge of its blockers' work, and is not replayed).
    sits: bool,
}

/// Restacks, until nothing more moves, every watched issue (open, or green) that is behind
/// the branch its PR merges into. `told` keeps what was said of issues left behind, said once.
pub(super) async fn pending(
    host: Host<'_>,
    summaries: &mut [IssueSummary],
    watched: &mut [Watched],
    told: &mut BTreeSet<String>,
) -> Result<(), EngineError> {
    // A stack is a tree: each pass settles one more level of it.
    for _ in 0..=watched.len() {
        let mut moved = false;
        for w in watched.iter_mut() {
            if !matches!(w.record.outcome, None | Some(WatchOutcome::Green)) {
                continue;
            }
            let Some(behind) = behind(host, summaries, w.index).await? else {
                continue;
            };
            let summary = &mut summaries[w.index];
            let left = if w.record.fixing.is_some() {
                Some("its own fix is in flight; after it")
            } else if !behind.sits {
                Some("its branch does not start from an earlier head of it")
            } else {
                None
            };
            if let Some(why) = left {
                if told.insert(format!("{} {}", summary.id, behind.new)) {
                    let why = format!("not restacked onto {}: {why}", behind.branch);
                    note(host, summary, why);
                }
                continue;
            }
            match onto(host, summary, &behind).await? {
                Ok(new) => {
                    let was = w.record.outcome.take().map(|o| o.name());
                    w.record.reason = None;
                    let again = was.map_or(String::new(), |was| {
                        w.record.last = None;
                        format!("; it was {was}, and is watched again")
                    });
                    let note = format!(
                        "restacked onto {} ({}): {}{again}",
                        behind.branch,
                        short_oid(&behind.new),
                        short_oid(&new)
                    );
                    emit(host, summary, &w.record, note);
                    moved = true;
                }
                Err(why) if host.cancelled() => {
                    note(host, summary, format!("not restacked: {why}"));
                    return Ok(());
                }
                Err(why) => {
                    let reason = format!("not restacked onto the fixed {}: {why}", behind.branch);
                    end(host, summary, &mut w.record, WatchOutcome::Blocked, reason)?;
                }
            }
        }
        if !moved || host.cancelled() {
            break;
        }
    }
    Ok(())
}

/// Whether `summaries[index]`'s branch starts from an earlier head of its PR's base, which
/// orch opened a PR for and moved since.
async fn behind(
    host: Host<'_>,
    summaries: &[IssueSummary],
    index: usize,
) -> Result<Option<Behind>, EngineError> {
    let issue = &summaries[index];
    let (Some(pull), Some(old)) = (issue.pull.as_ref(), issue.base.clone()) else {
        return Ok(None);
    };
    let parent = (summaries.iter())
        .filter(|s| s.branch == pull.base)
        .find_map(|s| s.pull.as_ref());
    let Some(new) = parent.map(|p| p.pushed.clone()) else {
        return Ok(None);
    };
    if new == old {
        return Ok(None);
    }
    let (from, to) = (old.clone(), new.clone());
    let sits = git(host.repo_root, move |repo| {
        Ok(repo.descends_from(&to, &from).unwrap_or(false))
    })
    .await?;
    Ok(Some(Behind {
        branch: pull.base.clone(),
        old,
        new,
        sits,
    }))
}

/// Replays the issue's commits onto `behind.new` (recorded), pushes them with a lease on the
/// tip orch pushed last, then moves its branch here: the new tip, or why not.
async fn onto(
    host: Host<'_>,
    summary: &mut IssueSummary,
    behind: &Behind,
) -> Result<Result<String, String>, EngineError> {
    let Some(tip) = summary.pushed().map(str::to_owned) else {
        return Ok(Err("it has no PR".to_owned()));
    };
    let replayed = match replay(host, summary, behind, &tip).await? {
        Ok(replayed) => replayed,
        Err(why) => return Ok(Err(why)),
    };
    if let Some(pull) = summary.pull.as_mut() {
        pull.restacking = Some(replayed.clone());
    }
    save(host, summary)?;
    let how = Push {
        dir: host.repo_root,
        timeout: host.config.phase_timeout(),
        lease: Some((&tip, &replayed)),
    };
    let pushed = push(host, how, summary).await;
    if let Some(pull) = summary.pull.as_mut() {
        pull.restacking = None;
    }
    if let Err(failed) = pushed {
        // The remote has what it had: so has the branch here.
        save(host, summary)?;
        let why = format!("its push failed ({}: {})", failed.how, failed.said);
        return Ok(Err(why));
    }
    crate::util::failpoint::hit("restack-pushed");
    let (to, message, branch) = (
        replayed.clone(),
        format!("orch: restack onto {}", short_oid(&behind.new)),
        summary.branch.clone(),
    );
    git(host.repo_root, move |repo| {
        Ok(repo.set_ref(&format!("refs/heads/{branch}"), &to, &message)?)
    })
    .await?;
    if let Some(pull) = summary.pull.as_mut() {
        pull.pushed = replayed.clone();
    }
    // Its branch starts from the fixed head now (a later fix's worktree checks it).
    summary.base = Some(behind.new.clone());
    summary.head = Some(replayed.clone());
    save(host, summary)?;
    Ok(Ok(replayed))
}

/// The issue's commits `behind.old..tip` replayed onto `behind.new`, or the restack recorded
/// before a crash; why not, when its branch here is not what orch pushed or they conflict.
async fn replay(
    host: Host<'_>,
    summary: &IssueSummary,
    behind: &Behind,
    tip: &str,
) -> Result<Result<String, String>, EngineError> {
    let recorded = summary.pull.as_ref().and_then(|p| p.restacking.clone());
    let (branch, old, new, tip) = (
        summary.branch.clone(),
        behind.old.clone(),
        behind.new.clone(),
        tip.to_owned(),
    );
    git(host.repo_root, move |repo| {
        let local = repo.branch_tip(&branch)?.unwrap_or_default();
        if let Some(recorded) = recorded {
            let on_new = repo.descends_from(&recorded, &new).unwrap_or(false);
            if on_new && (local == tip || local == recorded) {
                return Ok(Ok(recorded));
            }
        }
        if local != tip {
            return Ok(Err(format!(
                "its branch is at {} here but orch pushed {}",
                short_oid(&local),
                short_oid(&tip)
            )));
        }
        if !repo.descends_from(&tip, &old)? {
            return Ok(Err(format!("it does not sit on {}", short_oid(&old))));
        }
        Ok(match repo.replay(&old, &tip, &new)? {
            Some(replayed) => Ok(replayed),
            None => Err("its commits conflict with the fix".to_owned()),
        })
    })
    .await
}

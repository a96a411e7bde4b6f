//! After a fix passed: orch pushes the issue's branch (guarded, never forced) and answers
//! each thread the fix named — `addressed` with its commit, `declined` with the reason — in
//! the thread (a change request, which has no thread, on the PR), resolving it only when
//! `[forge] resolve` says so. Each reply is in the watch record before the next: a watch
//! killed here replies to the rest, never twice.

use super::decide::MARK;
use super::say::{emit, end, note, save};
use crate::engine::context::RunScope;
use crate::engine::host::Host;
use crate::engine::pull_request::{self, Converged};
use crate::engine::{git, EngineError};
use crate::forge::Forge;
use crate::model::forge::{ThreadAnswer, WatchOutcome, WatchRecord};
use crate::model::record::IssueSummary;

/// Pushes the fix and answers its threads; the fix in flight is done after.
pub(super) async fn finish(
    host: Host<'_>,
    run: &RunScope<'_>,
    forge: &Forge,
    summary: &mut IssueSummary,
    record: &mut WatchRecord,
) -> Result<(), EngineError> {
    let Some(fixing) = record.fixing.clone() else {
        return Ok(());
    };
    let Some(issue) = run.plan.issues.iter().find(|i| i.id == summary.id) else {
        return Ok(());
    };
    let stack = [issue.branch.clone()];
    let parent = summary
        .pull
        .as_ref()
        .map(|p| p.base.clone())
        .unwrap_or_default();
    let log_dir = summary.log_dir.clone();
    let at = Converged {
        worktree: host.repo_root,
        base: "",
        parent: &parent,
        stack: &stack,
        issue_dir: &log_dir,
        notes: &[],
    };
    if let Err(reason) = pull_request::push(host, issue, &at, summary).await {
        // The fix stays in flight, passed: `orch resume` (interrupted) or `orch watch`
        // pushes it and gives its answers, and no second fix runs over it.
        if host.cancelled() {
            return Ok(());
        }
        return end(host, summary, record, WatchOutcome::Blocked, reason);
    }
    let branch = issue.branch.clone();
    let head = git(host.repo_root, move |repo| {
        Ok(repo.branch_tip(&branch)?.unwrap_or_default())
    })
    .await?;
    let number = summary.pull.as_ref().map_or(0, |p| p.number);
    // The checks it was given were failing on the head it started from: taken up there.
    for failure in &fixing.feedback.ci_failures {
        let key = WatchRecord::taken_key(&fixing.head, &failure.check);
        if !record.taken_up.contains(&key) {
            record.taken_up.push(key);
        }
    }
    if let Some(pull) = summary.pull.as_mut() {
        pull.pushed = head.clone();
    }
    // What a later run's dependents of the issue start from.
    summary.head = Some(head.clone());
    save(host, summary)?;
    crate::util::failpoint::hit("forge-pushed");
    let answered = reply_all(host, forge, summary, record, (&fixing, &head)).await;
    record.fixing = None;
    let note = format!(
        "pushed {} to PR #{number}; answered {answered} thread(s)",
        crate::model::naming::short_oid(&head)
    );
    emit(host, summary, record, note);
    Ok(())
}

/// Answers each thread the fix named (and was given), each reply recorded before the next;
/// how many it answered.
async fn reply_all(
    host: Host<'_>,
    forge: &Forge,
    summary: &IssueSummary,
    record: &mut WatchRecord,
    (fixing, head): (&crate::model::forge::FixInFlight, &str),
) -> usize {
    let number = summary.pull.as_ref().map_or(0, |p| p.number);
    let threads: Vec<&str> = (fixing.feedback.review_comments.iter())
        .filter(|c| !c.path.is_empty())
        .map(|c| c.thread_id.as_str())
        .collect();
    let mut answered = 0;
    for answer in &fixing.answers {
        let in_thread = threads.contains(&answer.thread_id.as_str());
        let key = match in_thread {
            true => format!("{}@{}", answer.thread_id, fixing.seq),
            false => answer.thread_id.clone(),
        };
        let known =
            (fixing.feedback.review_comments.iter()).any(|c| c.thread_id == answer.thread_id);
        if record.replied.contains(&key) || !known {
            continue;
        }
        let body = crate::util::redact::redact(&reply_text(answer, head));
        let said = match in_thread {
            true => forge.reply(&answer.thread_id, &body).await,
            false => forge.comment(number, &body).await,
        };
        if let Err(e) = said {
            note(
                host,
                summary,
                format!("could not answer {}: {e}", answer.thread_id),
            );
            continue;
        }
        // Recorded before anything else can fail or wait: never said twice.
        record.replied.push(key);
        answered += 1;
        emit(
            host,
            summary,
            record,
            format!("answered {}", answer.thread_id),
        );
        crate::util::failpoint::hit("forge-replied");
        if in_thread && answer.status == "addressed" && host.config.forge().resolves() {
            if let Err(e) = forge.resolve(&answer.thread_id).await {
                note(
                    host,
                    summary,
                    format!("could not resolve {}: {e}", answer.thread_id),
                );
            }
        }
    }
    answered
}

/// What orch says in a thread: the fix's answer, marked as orch's.
fn reply_text(answer: &ThreadAnswer, head: &str) -> String {
    let commit = match answer.commit.trim() {
        "" => crate::model::naming::short_oid(head).to_owned(),
        c => c.to_owned(),
    };
    match answer.status.as_str() {
        "addressed" => format!("{MARK}\nAddressed in {commit}: {}", answer.reason.trim()),
        _ => format!("{MARK}\nDeclined: {}", answer.reason.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_name_the_commit_or_the_reason_and_carry_the_mark() {
        let answer = |status: &str, commit: &str| ThreadAnswer {
            thread_id: "T".into(),
            status: status.into(),
            commit: commit.into(),
            reason: "renamed it".into(),
        };
        let addressed = reply_text(&answer("addressed", "abc1234"), "ffff");
        assert_eq!(
            addressed,
            format!("{MARK}\nAddressed in abc1234: renamed it")
        );
        let head = "0123456789abcdef0123";
        let no_commit = reply_text(&answer("addressed", ""), head);
        assert!(no_commit.contains(crate::model::naming::short_oid(head)));
        assert_eq!(
            reply_text(&answer("declined", ""), head),
            format!("{MARK}\nDeclined: renamed it")
        );
    }
}

//! What the watch does next for one PR, decided from one look at the forge and the watch's
//! record: pure, so the table test below is the rule book.
//!
//! - merged or closed: the watch ends;
//! - a failed check on a head no fix took up yet, or a thread whose last word is not orch's
//!   (a change request orch has not answered): a fix, unless `max_forge_cycles` are spent
//!   (capped);
//! - a check still running (a required one not reported yet): wait;
//! - no check at all on the head: wait a few looks, then green (a repository without CI);
//! - else green.

use crate::forge::checks::{Check, State};
use crate::forge::threads::{ChangeRequest, Thread};
use crate::model::forge::{CiFailure, ReviewComment, WatchOutcome, WatchRecord};

/// orch's replies carry this marker: a thread whose last comment has it waits for its
/// reviewer, not for orch.
pub const MARK: &str = "<!-- orch -->";

/// Looks at a head with no check at all before it counts as green.
pub const QUIET_LOOKS: u32 = 3;

/// One look at a PR.
pub struct Look<'a> {
    pub merged: bool,
    pub open: bool,
    pub head: &'a str,
    pub checks: &'a [Check],
    pub threads: &'a [Thread],
    pub change_requests: &'a [ChangeRequest],
}

/// The limits the watch keeps to.
pub struct Rules<'a> {
    pub max_cycles: u32,
    /// The checks that count (`None`: all).
    pub required: Option<&'a [String]>,
}

#[derive(Debug, PartialEq)]
pub enum Next {
    Done(WatchOutcome, String),
    /// Nothing to do yet (why).
    Wait(String),
    /// A fix for these (CI failures without their logs' excerpts yet).
    Fix {
        ci_failures: Vec<CiFailure>,
        review_comments: Vec<ReviewComment>,
    },
}

pub fn decide(look: &Look<'_>, record: &WatchRecord, rules: &Rules<'_>) -> Next {
    if look.merged {
        return Next::Done(WatchOutcome::Merged, "merged".to_owned());
    }
    if !look.open {
        return Next::Done(WatchOutcome::Closed, "closed without merging".to_owned());
    }
    let counts = |c: &&Check| rules.required.is_none_or(|r| r.contains(&c.name));
    let checks: Vec<&Check> = look.checks.iter().filter(counts).collect();
    let failed: Vec<&Check> = (checks.iter().copied())
        .filter(|c| matches!(c.state, State::Failed(_)))
        .collect();
    let taken = |c: &&&Check| {
        let key = WatchRecord::taken_key(look.head, &c.name);
        record.taken_up.contains(&key)
    };
    let ci_failures: Vec<CiFailure> = (failed.iter())
        .filter(|c| !taken(c))
        .map(|c| failure(c))
        .collect();
    let taken_up = failed.iter().any(|c| taken(&c));
    let review_comments = open_threads(look, record);
    if !ci_failures.is_empty() || !review_comments.is_empty() {
        if record.cycles >= rules.max_cycles {
            let what = crate::model::forge::Feedback {
                ci_failures,
                review_comments,
            };
            return Next::Done(
                WatchOutcome::Capped,
                format!(
                    "{} fix(es) ran and the PR still has: {}",
                    record.cycles,
                    what.headline().trim_start_matches("On the pull request: ")
                ),
            );
        }
        return Next::Fix {
            ci_failures,
            review_comments,
        };
    }
    if taken_up && !failed.is_empty() {
        return Next::Done(
            WatchOutcome::Blocked,
            format!(
                "a fix took up the failed checks of {} and pushed nothing new",
                crate::model::naming::short_oid(look.head)
            ),
        );
    }
    let missing: Vec<&String> = (rules.required.into_iter().flatten())
        .filter(|r| !look.checks.iter().any(|c| &c.name == *r))
        .collect();
    let pending: Vec<&str> = (checks.iter())
        .filter(|c| c.state == State::Pending)
        .map(|c| c.name.as_str())
        .chain(missing.iter().map(|s| s.as_str()))
        .collect();
    if !pending.is_empty() {
        return Next::Wait(format!("waiting for {}", pending.join(", ")));
    }
    if look.checks.is_empty() && rules.required.is_none() {
        // Looks at this head only: a new head (a fix pushed) starts counting again.
        let same_head = record.last.as_ref().is_some_and(|l| l.head == look.head);
        let quiet = if same_head { record.quiet } else { 0 };
        if quiet + 1 < QUIET_LOOKS {
            return Next::Wait("no check reported yet".to_owned());
        }
        return Next::Done(
            WatchOutcome::Green,
            format!("no check reported after {QUIET_LOOKS} looks, no open thread"),
        );
    }
    Next::Done(
        WatchOutcome::Green,
        format!("{} check(s) pass, no open thread", checks.len()),
    )
}

/// A failed check, as the fix gets it (its log's excerpt comes later).
fn failure(check: &Check) -> CiFailure {
    CiFailure {
        check: check.name.clone(),
        conclusion: match &check.state {
            State::Failed(conclusion) => conclusion.clone(),
            _ => String::new(),
        },
        url: check.url.clone(),
        log_excerpt: String::new(),
    }
}

/// Threads not resolved whose last comment is not orch's, and change requests orch has not
/// answered, as the fix gets them.
fn open_threads(look: &Look<'_>, record: &WatchRecord) -> Vec<ReviewComment> {
    let mut out = Vec::new();
    for t in look.threads.iter().filter(|t| !t.resolved) {
        let Some((author, _, url)) = t.comments.first() else {
            continue;
        };
        if t.comments
            .last()
            .is_some_and(|(_, body, _)| body.contains(MARK))
        {
            continue;
        }
        let body: Vec<String> = (t.comments.iter())
            .filter(|(_, body, _)| !body.contains(MARK))
            .map(|(who, body, _)| format!("{who}: {body}"))
            .collect();
        out.push(ReviewComment {
            thread_id: t.id.clone(),
            path: t.path.clone(),
            line: t.line,
            author: author.clone(),
            body: body.join("\n\n"),
            url: url.clone(),
        });
    }
    for r in look.change_requests {
        if record.replied.contains(&r.id) || r.body.trim().is_empty() {
            continue;
        }
        out.push(ReviewComment {
            thread_id: r.id.clone(),
            path: String::new(),
            line: None,
            author: r.author.clone(),
            body: format!("{}: {}", r.author, r.body),
            url: r.url.clone(),
        });
    }
    out
}

#[cfg(test)]
mod tests;

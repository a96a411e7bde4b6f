//! Dispatching an issue's workflow run and following it to its end. A resume first looks for
//! the run it dispatched (recorded, else found by its title, for an orch killed between the
//! dispatch and its record): one still running is followed again, one that ended with a new
//! result is imported, and one that ended without one is dispatched again; so is one whose
//! result was imported when a new runner can go on from it (out of budget, or retried).

use crate::engine::context::RunScope;
use crate::engine::host::Host;
use crate::engine::EngineError;
use crate::forge::actions::{self, WorkflowRun};
use crate::forge::Forge;
use crate::model::event::EngineEvent;
use crate::model::plan::PlannedIssue;
use crate::model::record::Outcome;
use crate::model::remote::Dispatched;
use serde_json::json;

/// What the dispatch gives the runner.
pub(super) struct Order<'a> {
    pub issue: &'a PlannedIssue,
    pub base: &'a str,
    /// What the runner may spend (its share of what the run has left).
    pub share: super::Share,
}

/// Dispatches of one issue in one run, at most: a runner that keeps ending without a result
/// (its install fails, its push is refused) is not dispatched forever.
pub const MAX_ATTEMPTS: u32 = 3;

/// What a resume finds of the issue's earlier dispatch.
pub(super) enum Earlier {
    /// Nothing to follow: dispatch this attempt (a run GitHub lists by its title is the
    /// new one only when it is newer than `after`).
    Dispatch { attempt: u32, after: Option<u64> },
    /// A run still going, or ended with its result pushed: followed, not dispatched again.
    Follow(Dispatched),
}

/// The run a resume follows instead of dispatching, else the attempt to dispatch; `Err`:
/// GitHub cannot tell now (the issue waits for the next resume rather than risk a second
/// runner), or the issue has had its attempts.
pub(super) async fn earlier(
    host: Host<'_>,
    run: &RunScope<'_>,
    forge: &Forge,
    id: &str,
) -> Result<Result<Earlier, (Outcome, String)>, EngineError> {
    let Some(resumed) = run.opts.resume.as_ref() else {
        return Ok(Ok(Earlier::Dispatch {
            attempt: 1,
            after: None,
        }));
    };
    let prior = resumed.issue(id);
    let recorded = prior.and_then(|i| i.dispatched.clone());
    let unsure = |e: String| {
        Ok(Err((Outcome::Interrupted, format!("cannot tell whether its earlier run is still going ({e}); `orch resume` looks again"))))
    };
    let (found, attempt) = match newest(forge, &run.opts.run_id, id, recorded.as_ref()).await {
        Ok(found) => found,
        Err(e) => return unsure(e.to_string()),
    };
    let retried = run.opts.retry.iter().any(|r| r == id);
    let last = super::imported_before(run, id);
    let ran = last.and_then(|s| s.ran_on.as_deref());
    if let Some(found) = &found {
        // The run whose result is imported: a new runner goes on from it, when there is
        // more it can do (its budget share was spent, or it is retried); else the issue
        // stays as that result left it (an approval a runner cannot see, say).
        if found.completed() && ran.is_some_and(|r| r.workflow_run.as_deref() == Some(&found.url)) {
            let last = last.expect("imported");
            if !retried && last.outcome != Outcome::Budget {
                let why = last.reason.clone().unwrap_or_default();
                return Ok(Err((last.outcome, why)));
            }
            let after = Some(found.id);
            return Ok(Ok(Earlier::Dispatch {
                attempt: attempt + 1,
                after,
            }));
        }
        // A run that ended is followed (its result imported) when it left a result other
        // than the one imported already.
        let follow = !found.completed()
            || (!retried
                && match super::import::remote_result(host, run, id).await? {
                    Ok(oid) => oid.is_some() && oid != ran.and_then(|r| r.result.clone()),
                    Err(e) => return unsure(e),
                });
        if follow {
            let record = Dispatched {
                workflow_run: found.id,
                url: found.url.clone(),
                attempt,
            };
            say(host, id, &record, true);
            return Ok(Ok(Earlier::Follow(record)));
        }
    }
    // Runners that left no result are counted since the last that did.
    let next = if found.is_some() { attempt + 1 } else { 1 };
    let since = ran.and_then(|r| r.attempt).unwrap_or(0);
    if next.saturating_sub(since) > MAX_ATTEMPTS && !retried {
        let why = format!(
            "{MAX_ATTEMPTS} runners ended without a result (the last: {}); see their logs on GitHub, then `orch resume --retry {id}`",
            found.as_ref().map(|d| d.url.clone()).unwrap_or_default()
        );
        return Ok(Err((Outcome::Failed, why)));
    }
    let after = found.map(|f| f.id);
    Ok(Ok(Earlier::Dispatch {
        attempt: next,
        after,
    }))
}

/// The issue's newest workflow run in this run and the attempt it is: one GitHub lists by
/// its title that is newer than the one recorded (a killed orch dispatched it and did not
/// record it), else the one recorded.
async fn newest(
    forge: &Forge,
    run_id: &str,
    id: &str,
    recorded: Option<&Dispatched>,
) -> Result<(Option<WorkflowRun>, u32), crate::forge::ForgeError> {
    let titled = forge.runs_titled(&actions::title(run_id, id)).await?;
    let newest = titled.into_iter().next();
    Ok(match (recorded, newest) {
        (Some(d), Some(newest)) if newest.id > d.workflow_run => (Some(newest), d.attempt + 1),
        (Some(d), _) => (Some(forge.workflow_run(d.workflow_run).await?), d.attempt),
        (None, newest) => (newest, 1),
    })
}

/// Dispatches the issue's workflow run as `attempt` (recorded), or says why not.
pub(super) async fn dispatch(
    host: Host<'_>,
    run: &RunScope<'_>,
    forge: &Forge,
    order: &Order<'_>,
    (attempt, after): (u32, Option<u64>),
) -> Result<Result<Dispatched, String>, EngineError> {
    let id = &order.issue.id;
    let title = actions::title(&run.opts.run_id, id);
    let mut inputs = json!({
        "run": run.opts.run_id,
        "milestone": run.plan.scope().to_string(),
        "issue": id,
        "base": order.base,
        "agents": run.opts.agents.join(" "),
        "budget": order.share.tokens.map(|t| t.to_string()).unwrap_or_default(),
    });
    // Sent only when there is one: a workflow written before it had this input takes the rest.
    if let Some(usd) = order.share.usd {
        // Rounded down: runners together never pass the budget.
        inputs["budget_usd"] = json!(format!("{:.4}", (usd * 1e4).floor() / 1e4));
    }
    // Sent only when asked for: a workflow written before it had this input takes the rest.
    if run.opts.retry.iter().any(|r| r == id) {
        inputs["retry"] = json!("true");
    }
    let started = match forge.dispatch(&forge.default_branch, &inputs).await {
        Ok(Some(run_id)) => forge.workflow_run(run_id).await,
        // An older server says nothing of the run: it is found by its title.
        Ok(None) => found_by_title(forge, &title, after).await,
        Err(e) => return Ok(Err(format!("GitHub refused the dispatch: {e}"))),
    };
    let started = match started {
        Ok(started) => started,
        Err(e) => return Ok(Err(format!("dispatched, but its run cannot be read: {e}"))),
    };
    let record = Dispatched {
        workflow_run: started.id,
        url: started.url,
        attempt,
    };
    say(host, id, &record, false);
    crate::util::failpoint::hit("dispatched");
    Ok(Ok(record))
}

fn say(host: Host<'_>, id: &str, record: &Dispatched, attached: bool) {
    host.emit(&EngineEvent::Dispatched {
        id: id.to_owned(),
        record: record.clone(),
        attached,
    });
}

/// The newest run titled `title` newer than run `after` (an earlier attempt's), looked for a
/// few times (GitHub lists a run shortly after its dispatch).
async fn found_by_title(
    forge: &Forge,
    title: &str,
    after: Option<u64>,
) -> Result<WorkflowRun, crate::forge::ForgeError> {
    for _ in 0..10 {
        let runs = forge.runs_titled(title).await?;
        if let Some(run) = runs.into_iter().find(|r| Some(r.id) > after) {
            return Ok(run);
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
    Err(crate::forge::ForgeError::Decode {
        request: format!("the workflow run `{title}`"),
        message: "GitHub lists no such run after the dispatch".to_owned(),
    })
}

/// How following a workflow run ended.
pub(super) enum Followed {
    Completed(WorkflowRun),
    /// The run here was interrupted (the workflow run was asked to cancel first).
    Interrupted,
    /// GitHub no longer shows it (gone, or the token may not see it).
    Gone(String),
}

/// Follows workflow run `id` until it completes, the run here is interrupted, or GitHub
/// refuses to show it three looks in a row. A look that fails otherwise is tried again.
pub(super) async fn until_done(host: Host<'_>, forge: &Forge, id: u64) -> Followed {
    let interval = host.config.forge().poll_interval();
    let mut refused = 0;
    loop {
        if host.cancelled() {
            let _ = forge.cancel_run(id).await;
            return Followed::Interrupted;
        }
        match forge.workflow_run(id).await {
            Ok(run) if run.completed() => return Followed::Completed(run),
            Ok(_) => refused = 0,
            Err(e) if matches!(e.status(), Some(401 | 403 | 404)) => {
                refused += 1;
                if refused >= 3 {
                    return Followed::Gone(e.to_string());
                }
            }
            // Unreachable for now: looked at again next time.
            Err(_) => {}
        }
        let Some(mut cancel) = host.cancel() else {
            tokio::time::sleep(interval).await;
            continue;
        };
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = cancel.changed() => {}
        }
    }
}

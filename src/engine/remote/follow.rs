//! Dispatching an issue's workflow run and following it to its end. A resume first looks for
//! the run it dispatched (recorded, else found by its title, for an orch killed between the
//! dispatch and its record): one still running is followed again, one that ended with its
//! result pushed is imported, and only one that ended without a result is dispatched again.

use crate::engine::context::RunScope;
use crate::engine::host::Host;
use crate::engine::EngineError;
use crate::forge::actions::{self, WorkflowRun};
use crate::forge::Forge;
use crate::model::event::EngineEvent;
use crate::model::plan::PlannedIssue;
use crate::model::remote::Dispatched;
use serde_json::json;

/// What the dispatch gives the runner.
pub(super) struct Order<'a> {
    pub issue: &'a PlannedIssue,
    pub base: &'a str,
    /// The issue's share of the run's token budget.
    pub tokens: Option<u64>,
}

/// The workflow run working the issue (recorded), or why there is none.
pub(super) async fn dispatched(
    host: Host<'_>,
    run: &RunScope<'_>,
    forge: &Forge,
    order: &Order<'_>,
) -> Result<Result<Dispatched, String>, EngineError> {
    let id = &order.issue.id;
    let title = actions::title(&run.opts.run_id, id);
    let recorded = (run.opts.resume.as_ref())
        .and_then(|s| s.issue(id))
        .and_then(|i| i.dispatched.clone());
    let earlier = match (&recorded, run.opts.resume.is_some()) {
        (Some(d), _) => forge.workflow_run(d.workflow_run).await.ok(),
        // A killed orch may have dispatched without recording it: found by its title.
        (None, true) => (forge.runs_titled(&title).await.ok()).and_then(|r| r.into_iter().next()),
        (None, false) => None,
    };
    let attempt = recorded.as_ref().map_or(1, |d| d.attempt);
    if let Some(found) = earlier {
        if !found.completed() || super::import::has_result(host, run, id).await? {
            let record = Dispatched {
                workflow_run: found.id,
                url: found.url,
                attempt,
            };
            say(host, id, &record, true);
            return Ok(Ok(record));
        }
    }
    let attempt = if recorded.is_some() { attempt + 1 } else { 1 };
    let inputs = json!({
        "run": run.opts.run_id,
        "milestone": run.plan.scope().to_string(),
        "issue": id,
        "base": order.base,
        "agents": run.opts.agents.join(" "),
        "budget": order.tokens.map(|t| t.to_string()).unwrap_or_default(),
    });
    let started = match forge.dispatch(&forge.default_branch, &inputs).await {
        Ok(Some(run_id)) => forge.workflow_run(run_id).await,
        // An older server says nothing of the run: it is found by its title.
        Ok(None) => found_by_title(forge, &title).await,
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

/// The newest run titled `title`, looked for a few times (GitHub lists a run shortly after
/// its dispatch).
async fn found_by_title(
    forge: &Forge,
    title: &str,
) -> Result<WorkflowRun, crate::forge::ForgeError> {
    for _ in 0..10 {
        if let Some(run) = forge.runs_titled(title).await?.into_iter().next() {
            return Ok(run);
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
    Err(crate::forge::ForgeError::Decode {
        request: format!("the workflow run `{title}`"),
        message: "GitHub lists no such run after the dispatch".to_owned(),
    })
}

/// Follows workflow run `id` until it completes (`Some`), or the run is interrupted (`None`:
/// the workflow run is cancelled first). A look that fails is tried again next time.
pub(super) async fn until_done(
    host: Host<'_>,
    forge: &Forge,
    id: u64,
) -> Result<Option<WorkflowRun>, EngineError> {
    let interval = host.config.forge().poll_interval();
    loop {
        if host.cancelled() {
            let _ = forge.cancel_run(id).await;
            return Ok(None);
        }
        if let Ok(run) = forge.workflow_run(id).await {
            if run.completed() {
                return Ok(Some(run));
            }
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

//! Running a prepared milestone: the agents checked, the lock taken, the reporters (the run
//! state and its dashboard, the event log, the terminal) and the signal handler wired, the
//! engine run, and the summary printed with the exit code it earns.

use super::prepare::ReadyRun;
use super::request::Launch;
use super::{hinted, GlobalArgs};
use crate::cli::exit;
use crate::engine::{Engine, RunOptions};
use crate::model::phase::AgentProcess;
use crate::model::record::{Outcome, RunSummary};
use crate::model::state::RunState;
use crate::report::style::Styler;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The agents running now, by issue (for the signal handler).
type Running = Arc<Mutex<BTreeMap<String, AgentProcess>>>;

/// Runs `prepared` (a resume: of the run `resume`, its issues `retry` run again).
pub(super) fn execute(
    global: &GlobalArgs,
    args: &Launch,
    prepared: ReadyRun,
    resume: Option<RunState>,
    retry: Vec<String>,
) -> anyhow::Result<i32> {
    let repo_root = prepared.repo.main_root();
    let err_style = Styler::stderr(global.color);
    let (ws, repo, plan, request) = (
        &prepared.ws,
        &prepared.repo,
        &prepared.plan,
        &prepared.request,
    );
    // On runners (`--on github`), the agents run there: nothing of them is needed here,
    // unless the run watches its drafts (the forge's fixes run here).
    if !request.on_github || request.follow {
        super::sandbox::binaries(&prepared.runner, plan)?;
        super::sandbox::ensure(&prepared.runner, plan, &ws.config)?;
    }
    let lock = lock(repo, plan, args.force_unlock, resume.as_ref())?;
    if let Some(state) = &resume {
        super::agents::stop_orphaned(state, &err_style);
    }
    keep_outputs_out_of_status(repo, ws, &err_style)?;
    // SIGINT/SIGTERM: stop every running agent's process group, keep the worktrees, exit 130.
    // A second one kills the agents at once and exits: what is left resumes as after a crash.
    // A run state that cannot be written stops the run the same way: it is the resume point.
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    let cancel_tx = Arc::new(cancel_tx);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let agents: Running = Arc::default();
    on_signals(&runtime, cancel_tx.clone(), agents.clone(), err_style)?;
    let state_lost = Arc::new(AtomicBool::new(false));
    let reporters = super::reporters::Reporters {
        agents,
        state: crate::record::recorder::StateRecorder::new(repo.common_dir(), resume.clone())
            .with_request(request.clone()),
        dashboard: dashboard(ws, &repo_root, plan),
        log: crate::record::event_log::EventLog::default(),
        terminal: terminal(global),
        state_lost: state_lost.clone(),
        log_lost: AtomicBool::default(),
        stop: cancel_tx,
        style: err_style,
    };
    let mut opts = options(args, &prepared, resume, retry);
    if let Some(work) = &opts.work {
        let only = opts.only_issue.as_deref();
        let at = (plan, opts.run_id.as_str(), only);
        opts.earlier = earlier(&runtime, (&repo_root, &ws.config), at, work)?;
    }
    let engine = Engine {
        repo_root: repo_root.clone(),
        config: &ws.config,
        schemas: prepared.schemas.clone(),
        runner: &prepared.runner,
        reporter: Arc::new(reporters.into_fn()),
        cancel: Some(cancel_rx),
    };
    let summary = ran(&runtime, &engine, (plan, &opts), err_style)?;
    let delivered = match &opts.work {
        Some(work) => deliver(&runtime, (repo, &ws.config), (plan, work), &opts, &summary)?,
        None => None,
    };
    drop(lock);
    if state_lost.load(Ordering::SeqCst) {
        return Err(hinted(
            format!(
                "the run stopped because its state could not be written to {}",
                crate::record::state::runs_dir(&repo.common_dir()).display()
            ),
            format!(
                "fix the cause (a full disk, permissions), then `orch resume {}` continues from the last transition written",
                plan.scope()
            ),
        ));
    }
    let code = finish(global, &summary, plan, &repo_root);
    Ok(match delivered {
        Some(delivered) => said_delivered(&delivered, code, &err_style),
        None => code,
    })
}

/// TASKS.md, where orch.toml wants it.
fn dashboard(
    ws: &super::Workspace,
    repo_root: &std::path::Path,
    plan: &crate::model::plan::Plan,
) -> Option<crate::report::dashboard::Dashboard> {
    (ws.config.dashboard_path(repo_root)).map(|path| crate::report::dashboard::Dashboard {
        path,
        repo_root: repo_root.to_owned(),
        logs_root: ws.config.orch_logs(repo_root),
        plan: plan.clone(),
    })
}

/// What the engine is asked to do: the prepared run, the run resumed, the issues retried.
fn options(
    args: &Launch,
    prepared: &ReadyRun,
    resume: Option<RunState>,
    retry: Vec<String>,
) -> RunOptions {
    let request = &prepared.request;
    RunOptions {
        run_id: match (&resume, &request.work) {
            (Some(state), _) => state.run_id.clone(),
            (None, Some(work)) => work.run_id.clone(),
            (None, None) => crate::util::timeutil::run_id(),
        },
        only_issue: request.only_issue.clone(),
        resume,
        retry,
        no_build: request.no_build,
        approvals: prepared.approvals.clone(),
        jobs: args.jobs.unwrap_or_else(|| prepared.ws.config.jobs()),
        budget: prepared.budget,
        carried: prepared.rerun.carried.clone(),
        restart: prepared.rerun.restart.clone(),
        follow: request.follow,
        rewatch: args.rewatch,
        work: request.work.clone(),
        earlier: None,
        on_github: request.on_github,
        agents: request.agents.clone(),
    }
}

/// The engine run; a repository that is not clean is an error listing its problems (the
/// engine checks, with the lock held, so ours are no problem).
fn ran<R: crate::agent::Runner>(
    runtime: &tokio::runtime::Runtime,
    engine: &Engine<'_, R>,
    (plan, opts): (&crate::model::plan::Plan, &RunOptions),
    err_style: Styler,
) -> anyhow::Result<RunSummary> {
    match runtime.block_on(engine.run(plan, opts)) {
        Ok(summary) => Ok(summary),
        Err(crate::engine::EngineError::NotClean(_, report)) => {
            for p in &report.problems {
                eprintln!("{}: {}", err_style.yellow(p.kind), p.message);
                eprintln!("  {} {}", err_style.cyan("Hint:"), p.hint);
            }
            Err(hinted(
                format!(
                    "{} is not clean; refusing to start a run",
                    engine.repo_root.display()
                ),
                "fix the problems above (`orch verify-clean` lists them), then run again",
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// `orch work`: the issue's branch, pins and result pushed back (not after an interrupt: the
/// dispatcher gives the issue to another runner).
fn deliver(
    runtime: &tokio::runtime::Runtime,
    (repo, config): (&crate::git::Repo, &crate::input::config::Config),
    (plan, work): (&crate::model::plan::Plan, &crate::model::request::WorkOrder),
    opts: &RunOptions,
    summary: &RunSummary,
) -> anyhow::Result<Option<crate::engine::work::Delivered>> {
    let Some(issue) = summary.issues.first() else {
        return Ok(None);
    };
    if issue.outcome == Outcome::Interrupted {
        return Ok(None);
    }
    let state = crate::record::state::load(&repo.common_dir(), &work.run_id);
    let record = (state.as_ref().and_then(|s| s.issue(&issue.id)))
        .map(serde_json::to_value)
        .transpose()?
        .unwrap_or_default();
    let at = (repo.main_root(), config);
    let delivered = runtime.block_on(crate::engine::work::deliver(
        (&at.0, at.1),
        (plan, work),
        issue,
        (record, opts.earlier.as_ref()),
    ))?;
    Ok(Some(delivered))
}

/// `orch work`: what an earlier runner left of the issue in this run (its loop goes on from
/// there), fetched before anything runs; an error when it is there but cannot be gone on
/// from (nothing is delivered then, and the dispatcher says the runner left no result).
fn earlier(
    runtime: &tokio::runtime::Runtime,
    (repo_root, config): (&std::path::Path, &crate::input::config::Config),
    (plan, run_id, only): (&crate::model::plan::Plan, &str, Option<&str>),
    work: &crate::model::request::WorkOrder,
) -> anyhow::Result<Option<crate::engine::work::Earlier>> {
    let Some(issue) = (plan.issues.iter()).find(|i| only == Some(i.id.as_str())) else {
        return Ok(None);
    };
    let logs = config.orch_logs(repo_root).join(plan.scope().dir());
    let issue_dir = crate::model::layout::issue_dir(&logs, run_id, &issue.id);
    let asked = crate::engine::work::Asked {
        repo_root,
        config,
        work,
        issue,
        issue_dir: &issue_dir,
    };
    match runtime.block_on(crate::engine::work::earlier(&asked))? {
        Ok(earlier) => Ok(earlier),
        Err(why) => Err(hinted(
            format!(
                "{} cannot go on from an earlier runner's work: {why}",
                issue.id
            ),
            "the orch that dispatched it sees this runner end without a result; to start the issue anew, delete its result ref on the remote (`git push origin --delete refs/orch/results/<run>/<issue>`, and its branch and pins), then `orch resume --retry <issue>` there",
        )),
    }
}

/// Says what `orch work` pushed; a push that failed fails the command.
fn said_delivered(delivered: &crate::engine::work::Delivered, code: i32, style: &Styler) -> i32 {
    if let Some(held) = &delivered.held {
        eprintln!("{} {held}", style.yellow("Held:"));
    }
    match &delivered.pushed {
        Ok(()) => {
            println!(
                "delivered: {} ({}) and {} more ref(s)",
                delivered.result.0,
                crate::model::naming::short_oid(&delivered.result.1),
                delivered.refs.len() - 1
            );
            code
        }
        Err(said) => {
            eprintln!(
                "{} the push of {} ref(s) failed: {said}; the result stays at {} here",
                style.red("Error:"),
                delivered.refs.len(),
                delivered.result.0
            );
            exit::RUN_FAILED
        }
    }
}

/// Takes the run lock. A resume takes over a lock whose holder is provably gone (same host,
/// no such process): that is the crash it is resuming from. `orch run` asks for
/// `--force-unlock`.
fn lock(
    repo: &crate::git::Repo,
    plan: &crate::model::plan::Plan,
    force_unlock: bool,
    resume: Option<&RunState>,
) -> anyhow::Result<crate::workspace::lock::RunLock> {
    use crate::workspace::lock::{self, LockError, LockState};
    let mut force_unlock = force_unlock;
    if let (Some(_), LockState::Stale(info)) = (resume, lock::inspect(&repo.common_dir())) {
        eprintln!(
            "Taking over the lock left by pid {} on {} (since {}): that process is gone.",
            info.pid, info.host, info.started_at
        );
        force_unlock = true;
    }
    let command = lock::run_command(&plan.scope());
    match lock::RunLock::acquire(&repo.common_dir(), &command, force_unlock) {
        Ok(lock) => Ok(lock),
        Err(e @ LockError::Stale(_)) => Err(hinted(
            e.to_string(),
            "the orch that held it is gone: `orch resume` continues its run (and takes the lock over); to start this run anyway, add --force-unlock",
        )),
        Err(e @ LockError::Held(_)) => Err(hinted(e.to_string(), "wait for that run to finish")),
        Err(e) => Err(e.into()),
    }
}

/// The terminal's reporter. Between events the live region's clocks go on, and plain output
/// says which agent has gone quiet, until the run lets go of it.
fn terminal(global: &GlobalArgs) -> Arc<crate::report::progress::Progress> {
    let progress = Arc::new(crate::report::progress::Progress::new(
        Styler::stderr(global.color),
        std::io::stderr().is_terminal(),
        Box::new(std::io::stderr()),
    ));
    let ticking = Arc::downgrade(&progress);
    std::thread::spawn(move || loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
        match ticking.upgrade() {
            Some(p) => p.tick(),
            None => break,
        }
    });
    progress
}

/// The first SIGINT/SIGTERM stops the run (its agents, their worktrees kept); a second kills
/// the agents at once.
fn on_signals(
    runtime: &tokio::runtime::Runtime,
    cancel: Arc<tokio::sync::watch::Sender<bool>>,
    running: Running,
    style: Styler,
) -> anyhow::Result<()> {
    let signals = {
        let _entered = runtime.enter();
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        )
    };
    runtime.spawn(async move {
        let (mut sigint, mut sigterm) = signals;
        tokio::select! {
            _ = sigint.recv() => {},
            _ = sigterm.recv() => {},
        }
        let _ = cancel.send(true);
        tokio::select! {
            _ = sigint.recv() => {},
            _ = sigterm.recv() => {},
        }
        super::agents::kill_at_once(&running, &style);
    });
    Ok(())
}

/// Prints the run's summary and what to do next; the exit code it earns.
fn finish(
    global: &GlobalArgs,
    summary: &RunSummary,
    plan: &crate::model::plan::Plan,
    repo_root: &std::path::Path,
) -> i32 {
    let err_style = Styler::stderr(global.color);
    let stdout = Styler::stdout(global.color);
    let text = crate::report::summary::render(summary, &plan.scope(), repo_root, &stdout);
    print!("{text}");
    let watch_cut = |i: &crate::model::record::IssueSummary| {
        (i.watch.as_ref()).is_some_and(|w| w.outcome.is_none())
    };
    if summary
        .issues
        .iter()
        .any(|i| i.outcome == Outcome::Interrupted || watch_cut(i))
    {
        eprintln!(
            "{} the agent was stopped; its worktree and branch are kept. Continue with `orch resume {}`.",
            err_style.yellow("Interrupted:"),
            plan.scope()
        );
        return exit::INTERRUPTED;
    }
    // Out of budget: what was spent of what, and how to go on (once per budget).
    let mut said = Vec::new();
    for stop in summary.issues.iter().filter_map(|i| i.budget) {
        if !said.contains(&(stop.scope, stop.unit)) {
            said.push((stop.scope, stop.unit));
            eprintln!(
                "{} {}. Continue with `orch resume {} {} <more>`.",
                err_style.yellow("Budget:"),
                stop.describe(),
                plan.scope(),
                stop.flag()
            );
        }
    }
    if summary.all_passed() && !summary.issues.iter().any(watch_needs_human) {
        exit::OK
    } else {
        exit::RUN_FAILED
    }
}

/// A pull request whose watch ended capped or blocked: someone must look.
fn watch_needs_human(issue: &crate::model::record::IssueSummary) -> bool {
    use crate::model::forge::WatchOutcome;
    let outcome = issue.watch.as_ref().and_then(|w| w.outcome);
    matches!(outcome, Some(WatchOutcome::Capped | WatchOutcome::Blocked))
}

/// A repository that does not ignore orch's outputs yet gets them in `info/exclude`, said
/// once (the next run finds them ignored).
fn keep_outputs_out_of_status(
    repo: &crate::git::Repo,
    ws: &super::Workspace,
    err_style: &Styler,
) -> anyhow::Result<()> {
    let root = repo.main_root();
    let dashboard = ws.config.dashboard_path(&root).and_then(|p| {
        let rel = p.strip_prefix(&root).ok()?.to_string_lossy().into_owned();
        Some(format!("/{rel}"))
    });
    let entries: Vec<String> = crate::input::scaffold::logs_ignore_entry(&ws.config, &root)
        .into_iter()
        .chain(dashboard)
        .collect();
    let added = crate::workspace::excludes::outputs(repo, &entries)?;
    if !added.is_empty() {
        eprintln!(
            "{} added {} to .git/info/exclude, so `git status` leaves orch's outputs out (`orch init` puts them in .gitignore instead)",
            err_style.bold("orch:"),
            added.join(" and ")
        );
    }
    Ok(())
}

//! The one path `orch run` and `orch resume` both take: plan (from issue docs or a plan
//! file), check, take the lock, run the engine with its reporters (the run state, the
//! dashboard, the event log, the terminal), print the summary; and, for a resume, find the
//! run to continue and launch it again from its state.

use super::{hinted, GlobalArgs, Workspace};
use crate::agent::codex::CodexRunner;
use crate::cli::exit;
use crate::engine::{Engine, RunOptions};
use crate::model::phase::AgentProcess;
use crate::model::record::Outcome;
use crate::report::style::Styler;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use super::request::{BudgetFlags, Launch};

/// Runs (or, with `resume`, continues) a milestone.
pub(super) fn launch(
    global: &GlobalArgs,
    args: &Launch,
    resume: Option<crate::model::state::RunState>,
    retry: Vec<String>,
) -> anyhow::Result<i32> {
    let mut ws = Workspace::open(global, args.docs.as_deref())?;
    if let Some(base) = &args.base {
        ws.config.base = Some(base.clone());
    }
    let repo = ws.git()?;
    let repo_root = repo.main_root();
    let (plan, plan_file) = match &args.file {
        Some(file) => {
            let path = super::plan_file_path(global, &ws, file.as_deref())?;
            let plan = match super::plan_file_or_report(
                global,
                &path,
                &ws.config,
                &repo_root,
                args.task.as_deref(),
                "run",
            ) {
                Ok(plan) => plan,
                Err(code) => return Ok(code),
            };
            let absolute = std::path::absolute(&path).unwrap_or(path);
            (plan, Some(absolute))
        }
        None => {
            let set = ws.load_docs()?;
            let scope = match &args.scope {
                Some(scope) => scope.clone(),
                None => super::select_scope(
                    &ws,
                    args.milestone.as_deref().unwrap_or_default(),
                    args.project.as_deref(),
                    &set.scopes(),
                    "orch run",
                )?,
            };
            let rules = super::state_rules(&ws, &args.include_state)?;
            let mut plan = match super::plan_or_report(
                global, &set, &scope, &ws.config, &repo_root, &rules, "run",
            ) {
                Ok(plan) => plan,
                Err(code) => return Ok(code),
            };
            if let Some(task) = &args.task {
                plan.restrict_to(task)
                    .map_err(|e| hinted(e, "see `orch plan` for the milestone's issues"))?;
            }
            (plan, None)
        }
    };
    if let Some(id) = &args.issue {
        if !plan.issues.iter().any(|i| &i.id == id) {
            return Err(hinted(
                format!("issue `{id}` is not in milestone {}", plan.scope()),
                "see `orch plan` for its issues",
            ));
        }
    }
    // A new run of a milestone that ran before: what is carried, what is set aside, or why
    // it does not start (a dry run refuses as the run would). A resume goes by its record.
    let err_style = Styler::stderr(global.color);
    let asked = crate::engine::rerun::Asked {
        fresh: args.fresh,
        retry: &args.again,
    };
    let how = super::rerun::Before {
        repo: &repo,
        plan: &plan,
        plan_file: plan_file.is_some(),
        only: args.issue.as_deref(),
    };
    let rerun = match how.decide(resume.as_ref(), &retry, asked, &err_style)? {
        Ok(rerun) => rerun,
        Err(code) => return Ok(code),
    };
    // The budget: the flags, over what the resumed run recorded, over orch.toml. A dollar
    // budget needs a price for the model the agent runs; without one it is refused here.
    let recorded = resume.as_ref().and_then(|s| s.budget);
    let budget = args
        .budget
        .apply(recorded.unwrap_or_else(|| ws.config.budget()));
    if budget.uses_dollars() {
        let model = ws.config.codex_model();
        if model
            .as_ref()
            .and_then(|m| ws.config.pricing.get(m))
            .is_none()
        {
            return Err(hinted(
                match &model {
                    Some(m) => format!("a dollar budget is set, but orch.toml has no `[pricing.\"{m}\"]` to price the phases with"),
                    None => "a dollar budget is set, but the model the agent runs is not named, so no phase can be priced".to_owned(),
                },
                match &model {
                    Some(m) => format!("add `[pricing.\"{m}\"]` with `input`, `cached_input` and `output` (dollars per million tokens), or budget tokens instead (--budget-tokens)"),
                    None => "name it in `[codex] args` (`-m <model>`) and price it in `[pricing.\"<model>\"]`, or budget tokens instead (--budget-tokens)".to_owned(),
                },
            ));
        }
    }
    let agents = crate::agent::choice::Agents::choose(&ws.config.agents, &args.agents).map_err(
        |e| hinted(e, "choose per phase with `--agent review=claude` (dev, review, fix or all = codex or claude)"),
    )?;
    let codex = CodexRunner {
        bin: ws.config.codex_bin(&repo_root),
        args: ws.config.codex.args.clone(),
        sandbox: ws.config.sandbox(),
        pass_env: ws.config.agent.pass_env.clone(),
        env: Vec::new(),
    };
    let runner = crate::agent::choice::AnyRunner {
        claude: crate::agent::claude::ClaudeRunner {
            bin: ws.config.claude_bin(&repo_root),
            args: ws.config.claude.args.clone(),
            model: ws.config.claude.model.clone(),
            pass_env: ws.config.agent.pass_env.clone(),
            sandboxed: ws.config.claude_sandboxed(),
        },
        codex,
        agents,
    };
    let approvals = crate::gates::approval::load(&repo.common_dir(), &plan.scope())?;
    let schemas = crate::agent::contract::schema::Schemas::load(&repo_root).map_err(|e| {
        hinted(
            format!("cannot use this phase result schema: {e}"),
            "fix it (it must stay strict and keep the contract's common fields and statuses), or remove it to use the built-in one",
        )
    })?;
    if args.dry_run {
        return super::dry_run::print(
            global,
            args,
            &super::dry_run::DryRunParts {
                ws: &ws,
                repo: &repo,
                plan: &plan,
                schemas: &schemas,
                approvals: &approvals,
                runner: &runner,
                budget,
                rerun: &rerun,
            },
        );
    }
    super::sandbox::binaries(&runner, &plan)?;
    super::sandbox::ensure(&runner, &plan, &ws.config)?;
    // A resume takes over a lock whose holder is provably gone (same host, no such process):
    // that is the crash it is resuming from. `orch run` asks for --force-unlock.
    let mut force_unlock = args.force_unlock;
    if let (Some(_), crate::workspace::lock::LockState::Stale(info)) =
        (&resume, crate::workspace::lock::inspect(&repo.common_dir()))
    {
        eprintln!(
            "Taking over the lock left by pid {} on {} (since {}): that process is gone.",
            info.pid, info.host, info.started_at
        );
        force_unlock = true;
    }
    let lock = match crate::workspace::lock::RunLock::acquire(
        &repo.common_dir(),
        &crate::workspace::lock::run_command(&plan.scope()),
        force_unlock,
    ) {
        Ok(lock) => lock,
        Err(e @ crate::workspace::lock::LockError::Stale(_)) => {
            return Err(hinted(
                e.to_string(),
                "the orch that held it is gone: `orch resume` continues its run (and takes the lock over); to start this run anyway, add --force-unlock",
            ))
        }
        Err(e @ crate::workspace::lock::LockError::Held(_)) => {
            return Err(hinted(e.to_string(), "wait for that run to finish"))
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(state) = &resume {
        super::agents::stop_orphaned(state, &err_style);
    }
    keep_outputs_out_of_status(&repo, &ws, &err_style)?;
    let reporter = Arc::new(crate::report::progress::Progress::new(
        Styler::stderr(global.color),
        std::io::stderr().is_terminal(),
        Box::new(std::io::stderr()),
    ));
    {
        // Between events the live region's clocks go on, and plain output says which agent
        // has gone quiet, until the run lets go of the progress.
        let progress = Arc::downgrade(&reporter);
        std::thread::spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
            match progress.upgrade() {
                Some(p) => p.tick(),
                None => break,
            }
        });
    }
    let dashboard =
        ws.config
            .dashboard_path(&repo_root)
            .map(|path| crate::report::dashboard::Dashboard {
                path,
                repo_root: repo_root.clone(),
                logs_root: ws.config.orch_logs(&repo_root),
                plan: plan.clone(),
            });
    // SIGINT/SIGTERM: stop every running agent's process group, keep the worktrees, exit 130.
    // A second one kills the agents at once and exits: what is left resumes as after a crash.
    // A run state that cannot be written stops the run the same way: it is the resume point.
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    let cancel_tx = Arc::new(cancel_tx);
    let stop_tx = cancel_tx.clone();
    let state_lost = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let recorder = crate::record::recorder::StateRecorder::new(repo.common_dir(), resume.clone())
        .with_plan_file(plan_file)
        .with_selection(crate::record::recorder::Selection {
            task: args.task.clone(),
            only_issue: args.issue.clone(),
            no_build: args.no_build,
            include_states: args.include_state.clone(),
            agents: args.agents.clone(),
        });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let agents: Arc<std::sync::Mutex<std::collections::BTreeMap<String, AgentProcess>>> =
        Arc::default();
    let signals = {
        let _entered = runtime.enter();
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        )
    };
    let running = agents.clone();
    let kill_style = err_style;
    runtime.spawn(async move {
        let (mut sigint, mut sigterm) = signals;
        tokio::select! {
            _ = sigint.recv() => {},
            _ = sigterm.recv() => {},
        }
        let _ = cancel_tx.send(true);
        tokio::select! {
            _ = sigint.recv() => {},
            _ = sigterm.recv() => {},
        }
        super::agents::kill_at_once(&running, &kill_style);
    });
    let engine = Engine {
        repo_root: repo_root.clone(),
        config: &ws.config,
        schemas,
        runner: &runner,
        reporter: Arc::new(
            super::reporters::Reporters {
                agents,
                state: recorder,
                dashboard,
                log: crate::record::event_log::EventLog::default(),
                terminal: reporter,
                state_lost: state_lost.clone(),
                log_lost: Default::default(),
                stop: stop_tx,
                style: err_style,
            }
            .into_fn(),
        ),
        cancel: Some(cancel_rx),
    };
    let opts = RunOptions {
        run_id: resume
            .as_ref()
            .map_or_else(crate::util::timeutil::run_id, |s| s.run_id.clone()),
        only_issue: args.issue.clone(),
        resume,
        retry,
        no_build: args.no_build,
        approvals,
        jobs: args.jobs.unwrap_or_else(|| ws.config.jobs()),
        budget,
        carried: rerun.carried,
        restart: rerun.restart,
    };
    // The engine checks the repository is clean (with the lock held, ours is no problem).
    let summary = match runtime.block_on(engine.run(&plan, &opts)) {
        Ok(summary) => summary,
        Err(crate::engine::EngineError::NotClean(_, report)) => {
            for p in &report.problems {
                eprintln!("{}: {}", err_style.yellow(p.kind), p.message);
                eprintln!("  {} {}", err_style.cyan("Hint:"), p.hint);
            }
            return Err(hinted(
                format!(
                    "{} is not clean; refusing to start a run",
                    repo_root.display()
                ),
                "fix the problems above (`orch verify-clean` lists them), then run again",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    drop(lock);
    if state_lost.load(std::sync::atomic::Ordering::SeqCst) {
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

    print!(
        "{}",
        crate::report::summary::render(
            &summary,
            &plan.scope(),
            &repo_root,
            &Styler::stdout(global.color)
        )
    );
    if summary
        .issues
        .iter()
        .any(|i| i.outcome == Outcome::Interrupted)
    {
        eprintln!(
            "{} the agent was stopped; its worktree and branch are kept. Continue with `orch resume {}`.",
            err_style.yellow("Interrupted:"),
            plan.scope()
        );
        return Ok(exit::INTERRUPTED);
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
    Ok(if summary.all_passed() {
        exit::OK
    } else {
        exit::RUN_FAILED
    })
}

/// Which run to continue, and how (`orch resume`'s arguments, or `orch run --resume`'s).
pub(super) struct Continue {
    pub milestone: Option<String>,
    pub project: Option<String>,
    pub file: Option<Option<PathBuf>>,
    pub docs: Option<PathBuf>,
    pub retry: Vec<String>,
    pub force_unlock: bool,
    pub no_build: bool,
    pub jobs: Option<usize>,
    pub budget: BudgetFlags,
    pub agents: Vec<String>,
}

/// Finds the run to continue (of `milestone`, of the plan `file`, or the latest) and runs it
/// again from its state.
pub(super) fn continue_run(global: &GlobalArgs, how: Continue) -> anyhow::Result<i32> {
    let Continue {
        milestone,
        project,
        file,
        docs,
        retry,
        force_unlock,
        no_build,
        jobs,
        budget,
        agents,
    } = how;
    let ws = Workspace::open(global, docs.as_deref())?;
    let repo = ws.git()?;
    let (milestone, state) = match &file {
        Some(file) => {
            let name = super::plan_file_milestone(global, &ws, file.as_deref())?;
            let state = crate::record::state::latest_of_plan(&repo.common_dir(), &name);
            (Some(name), state)
        }
        None => {
            let state = super::latest_state(
                &ws,
                &repo,
                milestone.as_deref(),
                project.as_deref(),
                "orch resume",
            )
            .map_err(|e| match (&milestone, &project) {
                (None, None) => hinted(
                    "no run to resume",
                    "start one with `orch run <MILESTONE>` or `orch run --file <PLAN>`",
                ),
                _ => e,
            })?;
            (milestone, Some(state))
        }
    };
    let Some(state) = state else {
        return Err(hinted(
            match &milestone {
                Some(m) => format!("no run of {m} to resume"),
                None => "no run to resume".to_owned(),
            },
            "start one with `orch run <MILESTONE>` or `orch run --file <PLAN>`",
        ));
    };
    for id in &retry {
        if state.issue(id).is_none() {
            return Err(hinted(
                format!("issue `{id}` is not part of run {}", state.run_id),
                "see `orch status`",
            ));
        }
    }
    let plan_file = match (&file, &state.plan_file) {
        (Some(given), _) => Some(given.clone()),
        (None, Some(recorded)) => Some(Some(recorded.clone())),
        (None, None) => None,
    };
    let again = Launch {
        milestone: plan_file.is_none().then(|| state.milestone.clone()),
        project: state.project.clone(),
        include_state: state.include_states.clone(),
        base: state.base.clone(),
        scope: plan_file.is_none().then(|| state.scope()),
        file: plan_file,
        docs,
        issue: state.only_issue.clone(),
        task: state.task.clone(),
        dry_run: false,
        no_build: no_build || state.no_build,
        force_unlock,
        jobs,
        budget,
        agents: if agents.is_empty() {
            state.agents.clone()
        } else {
            agents
        },
        fresh: false,
        again: Vec::new(),
    };
    launch(global, &again, Some(state), retry)
}

/// A repository that does not ignore orch's outputs yet gets them in `info/exclude`, said
/// once (the next run finds them ignored).
fn keep_outputs_out_of_status(
    repo: &crate::git::Repo,
    ws: &Workspace,
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

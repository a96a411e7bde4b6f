//! `orch run <MILESTONE>` / `orch run --file orchestrator.yml`: the main job. Plans (from
//! issue docs or a plan file), checks the repository is clean, then runs every issue or task
//! through the Codex CLI and prints a summary.

use super::{hinted, GlobalArgs, Workspace};
use crate::agent::codex::CodexRunner;
use crate::cli::exit;
use crate::engine::{Engine, RunOptions};
use crate::model::event::EngineEvent;
use crate::model::record::Outcome;
use crate::report::style::Styler;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The milestone to run: `<project>/<milestone>`, or a milestone with --project (or
    /// orch.toml's `project`); a bare one when one project has it; its leading id (`M3` for
    /// `M3-core-…`) when unique. Or run a plan file with --file; with --resume, default the
    /// most recent run's.
    #[arg(required_unless_present_any = ["file", "resume"])]
    pub(super) milestone: Option<String>,
    /// The project the milestone is in.
    #[arg(long, value_name = "PROJECT", conflicts_with = "file")]
    pub(super) project: Option<String>,
    /// Also run issues in this not-ready state (`future`, `backlog`, …; repeatable).
    #[arg(long = "include-state", value_name = "STATE", value_delimiter = ',')]
    pub(super) include_state: Vec<String>,
    /// Start issue branches from this branch instead of the trunk (HEAD must be on it).
    #[arg(long, value_name = "BRANCH")]
    pub(super) base: Option<String>,
    /// The exact milestone, when a resume continues a recorded run.
    #[arg(skip)]
    pub(super) scope: Option<crate::model::naming::Scope>,
    /// Run a plan file instead of a milestone of issue docs (default `orchestrator.yml` at
    /// the repository root).
    #[arg(long, value_name = "PLAN", num_args = 0..=1, conflicts_with_all = ["milestone", "docs", "issue"])]
    pub(super) file: Option<Option<PathBuf>>,
    /// Base directory the docs glob is matched from (default: the repository root).
    #[arg(long, value_name = "DIR")]
    pub(super) docs: Option<PathBuf>,
    /// Run only this issue (its dependencies are not run).
    #[arg(long, value_name = "ID", conflicts_with = "task")]
    pub(super) issue: Option<String>,
    /// Run this task and every task it depends on.
    #[arg(long, value_name = "ID", conflicts_with = "all")]
    pub(super) task: Option<String>,
    /// Run every task (the default).
    #[arg(long)]
    pub(super) all: bool,
    /// Continue the last run of this milestone or plan file (as `orch resume`).
    #[arg(long, conflicts_with_all = ["dry_run", "task", "issue"])]
    pub(super) resume: bool,
    /// Show everything that would happen; change nothing.
    #[arg(long)]
    pub(super) dry_run: bool,
    /// Skip the tasks' final `build` and `release` commands.
    #[arg(long)]
    pub(super) no_build: bool,
    /// Take over a lock left by an orch process that is gone.
    #[arg(long)]
    pub(super) force_unlock: bool,
}

pub fn run(global: &GlobalArgs, args: &Args) -> anyhow::Result<i32> {
    if args.resume {
        return super::resume::continue_run(
            global,
            super::resume::Continue {
                milestone: args.milestone.clone(),
                project: args.project.clone(),
                file: args.file.clone(),
                docs: args.docs.clone(),
                retry: Vec::new(),
                force_unlock: args.force_unlock,
                no_build: args.no_build,
            },
        );
    }
    launch(global, args, None, Vec::new())
}

/// Runs (or, with `resume`, continues) a milestone.
pub(super) fn launch(
    global: &GlobalArgs,
    args: &Args,
    resume: Option<crate::model::state::RunState>,
    retry: Vec<String>,
) -> anyhow::Result<i32> {
    let mut ws = Workspace::open(global, args.docs.as_deref())?;
    if let Some(base) = &args.base {
        ws.config.base = Some(base.clone());
    }
    let repo = ws.git()?;
    let repo_root = repo.main_root();
    let err_style = Styler::stderr(global.color);
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
    let runner = CodexRunner {
        bin: ws.config.codex_bin(&repo_root),
        args: ws.config.codex.args.clone(),
        sandbox: ws.config.codex_sandbox().to_owned(),
        env: Vec::new(),
    };
    let approvals = crate::gates::approval::load(&repo.common_dir(), &plan.scope())?;
    let schemas = crate::agent::contract::schema::Schemas::load(&repo_root).map_err(|e| {
        hinted(
            format!("cannot use this phase result schema: {e}"),
            "fix it (it must stay strict and keep the contract's common fields and statuses), or remove it to use the built-in one",
        )
    })?;
    if args.dry_run {
        let report = crate::workspace::verify_clean::verify_clean(&repo, &ws.config)?;
        print!(
            "{}",
            crate::report::table::plan(&plan, &Styler::stdout(global.color))
        );
        println!();
        println!("Dry run: nothing was changed. A run would:");
        if report.clean {
            println!(
                "  - start issue branches from {} at {} (verify-clean passed)",
                crate::workspace::verify_clean::start_branch(&repo, &ws.config)
                    .unwrap_or_else(|| "HEAD".into()),
                repo.resolve_commit("HEAD")?
            );
        } else {
            println!("  - REFUSE to start: the repository is not clean ({} problems; see `orch verify-clean`)", report.problems.len());
        }
        for issue in plan
            .issues
            .iter()
            .filter(|i| args.issue.as_ref().is_none_or(|only| &i.id == only))
        {
            if issue.skipped {
                continue;
            }
            let spec = &issue.spec;
            let devs = if spec.shards.is_empty() {
                "dev".to_owned()
            } else {
                let ids: Vec<&str> = spec.shards.iter().map(|s| s.id.as_str()).collect();
                format!("dev per shard ({})", ids.join(", "))
            };
            println!(
                "  - {}: worktree {} on {}; {devs} → review ⇄ fix (≤{} cycles); logs under {}",
                issue.id,
                issue.worktree.display(),
                issue.branch,
                plan.max_review_cycles,
                ws.config
                    .orch_logs(&repo_root)
                    .join(plan.scope().dir())
                    .join(crate::model::naming::ref_component(&issue.id))
                    .display()
            );
            let gate_state =
                |gate: &str| match crate::gates::approval::covering(&approvals, gate, &issue.id) {
                    Some(a) => format!("approved by {}", a.by),
                    None => "NOT approved: the task will wait".to_owned(),
                };
            if spec.gated(crate::gates::approval::APPLY_PATCH) {
                println!(
                    "      gate apply_patch before any agent works on it ({})",
                    gate_state(crate::gates::approval::APPLY_PATCH)
                );
            }
            for check in spec.all_checks() {
                println!("      check after each dev/fix: {check}");
            }
            for (name, command) in spec.finishing_commands() {
                let skipped = args.no_build && matches!(name, "build" | "release");
                let gated = spec.gated(name);
                println!(
                    "      then `{name}`: {command}{}",
                    if skipped {
                        " (skipped: --no-build)".to_owned()
                    } else if gated {
                        format!(" (gated: {})", gate_state(name))
                    } else {
                        String::new()
                    }
                );
            }
        }
        for kind in [
            crate::model::phase::PhaseKind::Dev,
            crate::model::phase::PhaseKind::Review,
            crate::model::phase::PhaseKind::Fix,
        ] {
            if let Some(path) = &schemas.of(kind).source {
                println!(
                    "  - {} results are checked against {}",
                    kind.name(),
                    path.display()
                );
            }
        }
        let example = crate::agent::PhaseRequest {
            kind: crate::model::phase::PhaseKind::Dev,
            prompt: String::new(),
            expect: std::sync::Arc::new(crate::agent::contract::Expected {
                schema: schemas
                    .of(crate::model::phase::PhaseKind::Dev)
                    .value
                    .clone(),
                phase: crate::model::phase::PhaseKind::Dev,
                issue_id: String::new(),
                milestone_id: String::new(),
                branch: String::new(),
                worktree_path: String::new(),
            }),
            worktree: PathBuf::from("<worktree>"),
            writable_dirs: vec![repo.common_dir()],
            schema_path: PathBuf::from("<phase log dir>/schema.json"),
            timeout: ws.config.phase_timeout(),
            resume: None,
            log_dir: PathBuf::new(),
            activity: None,
            env: Vec::new(),
            cancel: None,
            on_spawn: None,
        };
        println!(
            "  - each phase runs: {} {} (prompt on stdin, timeout {} s)",
            runner.bin.display(),
            runner.argv(&example).join(" "),
            ws.config.phase_timeout().as_secs()
        );
        return Ok(exit::OK);
    }
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
        &format!("orch run {}", plan.scope()),
        force_unlock,
    ) {
        Ok(lock) => lock,
        Err(e @ crate::workspace::lock::LockError::Stale(_)) => {
            return Err(hinted(
                e.to_string(),
                "check no orch is running, then pass --force-unlock",
            ))
        }
        Err(e @ crate::workspace::lock::LockError::Held(_)) => {
            return Err(hinted(e.to_string(), "wait for that run to finish"))
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(state) = &resume {
        stop_orphaned_agents(state, &err_style);
    }
    let reporter = TerminalReporter::new(
        Styler::stderr(global.color),
        std::io::stderr().is_terminal(),
    );
    let dashboard =
        ws.config
            .dashboard_path(&repo_root)
            .map(|path| crate::report::dashboard::Dashboard {
                path,
                repo_root: repo_root.clone(),
                logs_root: ws.config.orch_logs(&repo_root),
                plan: plan.clone(),
            });
    let recorder =
        crate::record::recorder::StateRecorder::new(repo.common_dir(), resume.clone(), dashboard)
            .with_plan_file(plan_file)
            .with_selection(crate::record::recorder::Selection {
                task: args.task.clone(),
                only_issue: args.issue.clone(),
                no_build: args.no_build,
                include_states: args.include_state.clone(),
                base: ws.config.base.clone(),
            });
    let event_log = crate::record::event_log::EventLog::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // SIGINT/SIGTERM: stop the running agent's process group, keep the worktree, exit 130.
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
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
        let _ = cancel_tx.send(true);
    });
    let engine = Engine {
        repo_root: repo_root.clone(),
        config: &ws.config,
        schemas,
        runner: &runner,
        reporter: Arc::new(move |e: &EngineEvent| {
            recorder.on(e);
            event_log.on(e);
            reporter.on(e);
        }),
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

    let style = Styler::stdout(global.color);
    println!();
    println!(
        "{}",
        style.bold(&format!(
            "Run {} of milestone {}",
            summary.run_id,
            plan.scope()
        ))
    );
    let rows: Vec<[String; 7]> = summary
        .issues
        .iter()
        .map(|i| {
            let outcome = match i.outcome {
                Outcome::Completed => style.green("completed"),
                Outcome::Skipped => style.dim("skipped"),
                other => style.red(other.name()),
            };
            [
                i.id.clone(),
                outcome,
                i.cycles.to_string(),
                i.commits.to_string(),
                i.tokens.total().to_string(),
                format!(
                    "{}✓ {}✗ {}!",
                    i.guard.allowed, i.guard.denied, i.guard.violations
                ),
                i.log_dir
                    .strip_prefix(&repo_root)
                    .unwrap_or(&i.log_dir)
                    .display()
                    .to_string(),
            ]
        })
        .collect();
    let header = [
        "ISSUE", "OUTCOME", "CYCLES", "COMMITS", "TOKENS", "GUARD", "LOGS",
    ];
    let width = |col: usize| {
        rows.iter()
            .map(|r| visible_len(&r[col]))
            .chain([header[col].len()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..7).map(width).collect();
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == 6 {
                    c.clone()
                } else {
                    format!("{c}{}", " ".repeat(widths[i] - visible_len(c) + 2))
                }
            })
            .collect::<String>()
    };
    println!(
        "{}",
        style.bold(&line(header.iter().map(|s| s.to_string()).collect()))
    );
    for (row, issue) in rows.iter().zip(&summary.issues) {
        println!("{}", line(row.to_vec()));
        if let Some(reason) = &issue.reason {
            println!("    {}", style.dim(reason));
        }
        for action in &issue.remaining_actions {
            println!("    - {action}");
        }
        if let Some(r) = &issue.rescue_ref {
            println!("    uncommitted work saved as {r}");
        }
    }
    println!("GUARD: gt/git calls allowed ✓, denied ✗, and audit violations !. Attempts: orch guard log <ISSUE>");
    println!("See what each phase changed: orch diff <ISSUE>");
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
    Ok(if summary.all_passed() {
        exit::OK
    } else {
        exit::RUN_FAILED
    })
}

/// A SIGKILLed orch cannot stop its agent: before resuming, stop any agent process group the
/// state records as running that is still alive (and is still that agent), and say so.
fn stop_orphaned_agents(state: &crate::model::state::RunState, err_style: &Styler) {
    use crate::agent::process::Survivors;
    for issue in &state.issues {
        let Some(current) = &issue.current_phase else {
            continue;
        };
        let Some(agent) = &current.agent else {
            continue;
        };
        let what = format!(
            "the agent of {} {:02}-{} (process group {})",
            issue.id,
            current.seq,
            current.phase.name(),
            agent.pgid
        );
        match agent.stop_if_alive(crate::agent::codex::GRACE) {
            Survivors::Alive(pids) => eprintln!(
                "{} {what} outlived the orch that started it ({} process(es)); stopped it before running the phase again",
                err_style.yellow("Stopped:"),
                pids.len()
            ),
            Survivors::Unknown => eprintln!(
                "{} cannot tell whether {what} is still running (no /proc); make sure it is stopped",
                err_style.yellow("Warning:")
            ),
            Survivors::Gone | Survivors::OtherHost => {}
        }
    }
}

fn visible_len(s: &str) -> usize {
    let mut n = 0;
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

/// Progress on stderr: a live line per running phase on a terminal, plain lines otherwise.
struct TerminalReporter {
    style: Styler,
    live: bool,
    state: Mutex<Option<(String, String, std::time::Instant)>>,
}

impl TerminalReporter {
    fn new(style: Styler, live: bool) -> Self {
        TerminalReporter {
            style,
            live,
            state: Mutex::new(None),
        }
    }

    fn on(&self, event: &EngineEvent) {
        let mut err = std::io::stderr().lock();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            EngineEvent::RunStarted {
                run_id,
                milestone,
                issues,
                log_dir,
                resumed,
                ..
            } => {
                if *resumed {
                    let _ = writeln!(err, "{} run {run_id}", self.style.bold("resuming"));
                }
                let _ = writeln!(
                    err,
                    "{} run {run_id}: milestone {milestone}, {issues} issue(s); logs in {}",
                    self.style.bold("orch"),
                    log_dir.display()
                );
            }
            EngineEvent::IssueStarted {
                id,
                position,
                total,
            } => {
                let _ = writeln!(
                    err,
                    "{} {id}",
                    self.style.bold(&format!("[{position}/{total}]"))
                );
            }
            EngineEvent::WorktreeReady { path, created, .. } => {
                let _ = writeln!(
                    err,
                    "  worktree {} ({})",
                    path.display(),
                    if *created { "created" } else { "reused" }
                );
            }
            EngineEvent::PhaseStarted { id, seq, phase } => {
                *state = Some((
                    id.clone(),
                    format!("{seq:02}-{}", phase.name()),
                    std::time::Instant::now(),
                ));
                if !self.live {
                    let _ = writeln!(err, "  {seq:02}-{} started", phase.name());
                }
            }
            EngineEvent::Activity { text, .. } => {
                if let Some((id, phase, started)) = &*state {
                    let text: String = text.chars().take(90).collect::<String>().replace('\n', " ");
                    if self.live {
                        let _ = write!(
                            err,
                            "\r\x1b[2K  {id} {phase} {:>4}s  {}",
                            started.elapsed().as_secs(),
                            self.style.dim(&text)
                        );
                    } else {
                        let _ = writeln!(err, "    {text}");
                    }
                }
            }
            EngineEvent::PhaseFinished { record, .. } => {
                if self.live {
                    let _ = write!(err, "\r\x1b[2K");
                }
                let what = match (&record.status, &record.failure) {
                    (Some(s), _) => self.style.green(s),
                    (None, Some(f)) => self.style.red(&format!("failed: {f}")),
                    _ => String::new(),
                };
                let _ = writeln!(
                    err,
                    "  {:02}-{} {what} ({} commit(s), {:.1}s)",
                    record.seq,
                    record.phase.name(),
                    record.commits,
                    record.duration_ms as f64 / 1000.0
                );
                *state = None;
            }
            EngineEvent::IssueFinished { summary } => {
                let _ = writeln!(
                    err,
                    "  → {}{}",
                    summary.outcome.name(),
                    summary
                        .reason
                        .as_ref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                );
            }
            EngineEvent::ShardStarted { shard, title, .. } => {
                let _ = writeln!(err, "  shard {shard}: {title}");
            }
            EngineEvent::AcceptanceChecked { outcomes, .. } => {
                for o in outcomes {
                    let mark = if o.passed {
                        self.style.green("pass")
                    } else {
                        self.style.red("FAIL")
                    };
                    let detail = o.detail.lines().next().unwrap_or_default();
                    let _ = writeln!(err, "    check {mark} {}: {detail}", o.label);
                }
            }
            EngineEvent::CommandRun { name, record, .. } => {
                let status = match record.status {
                    Some(0) => self.style.green("ok"),
                    Some(code) => self.style.red(&format!("exit {code}")),
                    None => self.style.red("killed"),
                };
                let _ = writeln!(err, "  {name}: `{}` {status}", record.command);
            }
            EngineEvent::BaseFallback { reason, .. } => {
                let _ = writeln!(err, "  {} {reason}", self.style.yellow("note:"));
            }
            EngineEvent::AwaitingApproval { id, gate } => {
                let _ = writeln!(
                    err,
                    "  {} {gate}: `orch approve {gate} --task {id}`, then `orch resume`",
                    self.style.bold("awaiting approval")
                );
            }
            EngineEvent::PhaseRetry {
                seq,
                phase,
                attempt,
                reason,
                delay_ms,
                ..
            } => {
                let _ = writeln!(
                    err,
                    "  {seq:02}-{} {reason}; attempt {attempt} in {:.1}s",
                    phase.name(),
                    *delay_ms as f64 / 1000.0
                );
            }
            EngineEvent::AgentStarted { .. } | EngineEvent::RunFinished { .. } => {}
        }
    }
}

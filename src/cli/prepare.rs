//! Everything a run needs before it starts, made once from a [`Launch`]: the plan (from issue
//! docs or a plan file), what an earlier run of the milestone means for this one, the budget,
//! the agents, the approvals and result schemas. The run and its dry run both start here, so
//! the dry run shows what the run would do, not a copy of its wiring.

use super::request::Launch;
use super::{hinted, GlobalArgs, Workspace};
use crate::agent::choice::AnyRunner;
use crate::model::plan::Plan;
use crate::model::request::RunRequest;
use crate::model::state::RunState;
use crate::report::style::Styler;

/// A run, ready to start (or to be shown by the dry run).
pub(super) struct ReadyRun {
    pub ws: Workspace,
    pub repo: crate::git::Repo,
    pub plan: Plan,
    /// What the run was asked for, with its plan file resolved: stored in its state as is.
    pub request: RunRequest,
    /// What the run does with the milestone's earlier runs.
    pub rerun: crate::engine::rerun::Rerun,
    pub budget: crate::model::budget::Limits,
    pub runner: AnyRunner,
    pub approvals: Vec<crate::gates::approval::Approval>,
    pub schemas: crate::agent::contract::schema::Schemas,
}

/// Prepares `args` (a resume: of the run `resume`, its issues `retry` run again). `Err(code)`:
/// it cannot start, and what says why has been printed.
pub(super) fn prepare(
    global: &GlobalArgs,
    args: &Launch,
    resume: Option<&RunState>,
    retry: &[String],
) -> anyhow::Result<Result<ReadyRun, i32>> {
    let mut ws = Workspace::open(global, args.docs.as_deref())?;
    if let Some(base) = &args.base {
        ws.config.base = Some(base.clone());
    }
    let repo = ws.git()?;
    let (plan, plan_file) = match plan_of(global, &ws, &repo, args)? {
        Ok(planned) => planned,
        Err(code) => return Ok(Err(code)),
    };
    if let Some(id) = &args.request.only_issue {
        if !plan.issues.iter().any(|i| &i.id == id) {
            return Err(hinted(
                format!("issue `{id}` is not in milestone {}", plan.scope()),
                "see `orch plan` for its issues",
            ));
        }
    }
    // A new run of a milestone that ran before: what is carried, what is set aside, or why
    // it does not start (a dry run refuses as the run would). A resume goes by its record.
    let asked = crate::engine::rerun::Asked {
        fresh: args.fresh,
        retry: &args.again,
    };
    let how = super::rerun::Before {
        repo: &repo,
        plan: &plan,
        plan_file: plan_file.is_some(),
        only: args.request.only_issue.as_deref(),
        follow: args.request.follow,
        rewatch: args.rewatch,
    };
    let rerun = match how.decide(resume, retry, asked, &Styler::stderr(global.color))? {
        Ok(rerun) => rerun,
        Err(code) => return Ok(Err(code)),
    };
    let budget = budget(&ws, args, resume)?;
    let runner = runner(&ws, &repo, args)?;
    let approvals = crate::gates::approval::load(&repo.common_dir(), &plan.scope())?;
    let schemas =
        crate::agent::contract::schema::Schemas::load(&repo.main_root()).map_err(|e| {
            hinted(
                format!("cannot use this phase result schema: {e}"),
                "fix it (it must stay strict and keep the contract's common fields and statuses), or remove it to use the built-in one",
            )
        })?;
    // Runners take issue docs' milestones, not plan files (`orch work` says `Some(false)`).
    let on_github =
        (args.on_github).unwrap_or_else(|| ws.config.runs_on_github()) && plan_file.is_none();
    let request = RunRequest {
        plan_file,
        on_github,
        ..args.request.clone()
    };
    Ok(Ok(ReadyRun {
        ws,
        repo,
        plan,
        request,
        rerun,
        budget,
        runner,
        approvals,
        schemas,
    }))
}

/// The plan to run, from the plan file or the milestone's issue docs; with the plan file's
/// absolute path.
fn plan_of(
    global: &GlobalArgs,
    ws: &Workspace,
    repo: &crate::git::Repo,
    args: &Launch,
) -> anyhow::Result<Result<(Plan, Option<std::path::PathBuf>), i32>> {
    let repo_root = repo.main_root();
    let task = args.request.task.as_deref();
    if let Some(file) = &args.file {
        let path = super::plan_file_path(global, ws, file.as_deref())?;
        let planned =
            super::plan_file_or_report(global, &path, &ws.config, &repo_root, task, "run");
        let absolute = std::path::absolute(&path).unwrap_or(path);
        return Ok(planned.map(|plan| (plan, Some(absolute))));
    }
    let set = ws.load_docs()?;
    let scope = match &args.scope {
        Some(scope) => scope.clone(),
        None => super::select_scope(
            ws,
            args.milestone.as_deref().unwrap_or_default(),
            args.project.as_deref(),
            &set.scopes(),
            "orch run",
        )?,
    };
    let rules = super::state_rules(ws, &args.request.include_states)?;
    let planned =
        super::plan_or_report(global, &set, &scope, &ws.config, &repo_root, &rules, "run");
    let mut plan = match planned {
        Ok(plan) => plan,
        Err(code) => return Ok(Err(code)),
    };
    if let Some(task) = task {
        plan.restrict_to(task)
            .map_err(|e| hinted(e, "see `orch plan` for the milestone's issues"))?;
    }
    Ok(Ok((plan, None)))
}

/// The budget: the flags, over what the resumed run recorded, over orch.toml. A dollar
/// budget needs a price for the model the agent runs; without one it is refused here.
fn budget(
    ws: &Workspace,
    args: &Launch,
    resume: Option<&RunState>,
) -> anyhow::Result<crate::model::budget::Limits> {
    let recorded = resume.and_then(|s| s.budget);
    let budget = args
        .budget
        .apply(recorded.unwrap_or_else(|| ws.config.budget()));
    if !budget.uses_dollars() {
        return Ok(budget);
    }
    let model = ws.config.codex_model();
    if model
        .as_ref()
        .and_then(|m| ws.config.pricing.get(m))
        .is_some()
    {
        return Ok(budget);
    }
    Err(hinted(
        match &model {
            Some(m) => format!("a dollar budget is set, but orch.toml has no `[pricing.\"{m}\"]` to price the phases with"),
            None => "a dollar budget is set, but the model the agent runs is not named, so no phase can be priced".to_owned(),
        },
        match &model {
            Some(m) => format!("add `[pricing.\"{m}\"]` with `input`, `cached_input` and `output` (dollars per million tokens), or budget tokens instead (--budget-tokens)"),
            None => "name it in `[codex] args` (`-m <model>`) and price it in `[pricing.\"<model>\"]`, or budget tokens instead (--budget-tokens)".to_owned(),
        },
    ))
}

/// The agent CLIs, and which runs each phase (orch.toml's `[agents]`, then `--agent`).
fn runner(ws: &Workspace, repo: &crate::git::Repo, args: &Launch) -> anyhow::Result<AnyRunner> {
    let repo_root = repo.main_root();
    let agents = crate::agent::choice::Agents::choose(&ws.config.agents, &args.request.agents)
        .map_err(|e| {
            hinted(
                e,
                "choose per phase with `--agent review=claude` (dev, review, fix or all = codex or claude)",
            )
        })?;
    let config = &ws.config;
    Ok(AnyRunner {
        claude: crate::agent::claude::ClaudeRunner {
            bin: config.claude_bin(&repo_root),
            args: config.claude.args.clone(),
            model: config.claude.model.clone(),
            pass_env: config.agent.pass_env.clone(),
            sandboxed: config.claude_sandboxed(),
        },
        codex: crate::agent::codex::CodexRunner {
            bin: config.codex_bin(&repo_root),
            args: config.codex.args.clone(),
            sandbox: config.sandbox(),
            pass_env: config.agent.pass_env.clone(),
            env: Vec::new(),
        },
        agents,
    })
}

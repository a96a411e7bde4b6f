//! `orch run --dry-run`: what the run would do — the plan, where it would start, the checks
//! and gates, each agent's exact command — changing nothing.

use super::{GlobalArgs, Workspace};
use crate::cli::exit;
use crate::model::phase::PhaseKind;
use crate::report::style::Styler;
use std::path::PathBuf;
use std::sync::Arc;

/// What the launch prepared before it would start the run.
pub(super) struct DryRunParts<'a> {
    pub ws: &'a Workspace,
    pub repo: &'a crate::git::Repo,
    pub plan: &'a crate::model::plan::Plan,
    pub schemas: &'a crate::agent::contract::schema::Schemas,
    pub approvals: &'a [crate::gates::approval::Approval],
    pub runner: &'a crate::agent::choice::AnyRunner,
    pub budget: crate::model::budget::Limits,
    /// What the run does with the milestone's earlier runs.
    pub rerun: &'a crate::engine::rerun::Rerun,
}

/// Prints the dry run of `args`.
pub(super) fn print(
    global: &GlobalArgs,
    args: &super::request::Launch,
    p: &DryRunParts<'_>,
) -> anyhow::Result<i32> {
    let DryRunParts {
        ws,
        repo,
        plan,
        schemas,
        approvals,
        runner,
        budget,
        rerun,
    } = *p;
    let repo_root = repo.main_root();
    // The agent CLIs must be there, as for the run.
    let missing =
        super::sandbox::missing_binary(runner, plan).map(|(what, how)| format!("{what}; {how}"));
    let report = crate::workspace::verify_clean::verify_clean(repo, &ws.config)?;
    let start = if report.clean {
        // What the run itself would start from.
        let (base, branch) = crate::workspace::verify_clean::run_start(repo, &ws.config)?;
        Ok((branch, base))
    } else {
        Err(report.problems.len())
    };
    let kinds = [PhaseKind::Dev, PhaseKind::Review, PhaseKind::Fix];
    let example = crate::agent::PhaseRequest {
        kind: PhaseKind::Dev,
        prompt: String::new(),
        expect: Arc::new(crate::agent::contract::Expected {
            schema: schemas.of(PhaseKind::Dev).value.clone(),
            phase: PhaseKind::Dev,
            issue_id: String::new(),
            milestone_id: String::new(),
            branch: String::new(),
            worktree_path: String::new(),
        }),
        worktree: PathBuf::from("<worktree>"),
        agent: None,
        confinement: crate::agent::sandbox::Confinement {
            worktree: PathBuf::from("<worktree>"),
            worktree_git: repo.common_dir().join("worktrees/<name>"),
            common_dir: repo.common_dir(),
            tmp_dir: std::env::temp_dir().join("orch-<run>-<issue>-<NN>"),
            graphite_homes: None,
            other_worktrees: Vec::new(),
            deny_read: Vec::new(),
            network: ws.config.agent_network(),
        },
        schema_path: PathBuf::from("<phase log dir>/schema.json"),
        timeout: ws.config.phase_timeout(),
        stall_timeout: ws.config.stall_timeout(),
        unreachable_timeout: ws.config.unreachable_timeout(),
        max_repeats: ws.config.max_repeats(),
        resume: None,
        log_dir: PathBuf::new(),
        activity: None,
        env: Vec::new(),
        cancel: None,
        on_spawn: None,
    };
    let dry = crate::report::dry_run::DryRun {
        plan,
        only_issue: args.issue.as_deref(),
        start,
        logs_root: ws.config.orch_logs(&repo_root),
        approvals,
        no_build: args.no_build,
        schema_overrides: kinds
            .iter()
            .filter_map(|k| Some((*k, schemas.of(*k).source.clone()?)))
            .collect(),
        agent_commands: agent_commands(runner, plan, &example),
        timeout: ws.config.phase_timeout(),
        budget,
        earlier: rerun.earlier.as_deref(),
        carried: &rerun.carried,
        restart: &rerun.restart,
        missing_agent: missing.as_deref(),
    };
    print!(
        "{}",
        crate::report::dry_run::render(&dry, &Styler::stdout(global.color))
    );
    // A run that would refuse to start is no success.
    Ok(if dry.start.is_ok() && dry.missing_agent.is_none() {
        exit::OK
    } else {
        exit::USER_ERROR
    })
}

/// For the dry run: each agent CLI the run uses, the phases it runs (plan tasks may choose
/// their own), and its command line for a dev phase.
fn agent_commands(
    runner: &crate::agent::choice::AnyRunner,
    plan: &crate::model::plan::Plan,
    example: &crate::agent::PhaseRequest,
) -> Vec<(String, String)> {
    use crate::input::config::AgentKind;
    let kinds = [PhaseKind::Dev, PhaseKind::Review, PhaseKind::Fix];
    [AgentKind::Codex, AgentKind::Claude]
        .into_iter()
        .filter_map(|agent| {
            let mut phases: Vec<&str> = kinds
                .iter()
                .filter(|k| runner.agents.of(**k) == agent)
                .map(|k| k.name())
                .collect();
            let tasks = crate::agent::choice::chosen_by_tasks(plan, agent);
            if phases.is_empty() && !tasks {
                return None;
            }
            if tasks {
                phases.push("a task's own");
            }
            let (bin, argv) = match agent {
                AgentKind::Codex => (runner.codex.bin.display(), runner.codex.argv(example)),
                AgentKind::Claude => (runner.claude.bin.display(), runner.claude.argv(example)),
            };
            let words: Vec<String> = argv
                .iter()
                .map(|a| crate::util::process::sh_word(a))
                .collect();
            Some((
                format!("{} phases ({})", agent.name(), phases.join(", ")),
                format!("{bin} {}", words.join(" ")),
            ))
        })
        .collect()
}

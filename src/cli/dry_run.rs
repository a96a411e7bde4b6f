//! `orch run --dry-run`: what the run would do — the plan, where it would start, the checks
//! and gates, each agent's exact command — changing nothing.

use super::{GlobalArgs, Workspace};
use crate::cli::exit;
use crate::model::phase::PhaseKind;
use crate::report::style::Styler;

/// Prints the dry run of the prepared run `p`.
pub(super) fn print(global: &GlobalArgs, p: &super::prepare::ReadyRun) -> anyhow::Result<i32> {
    let (ws, repo, plan, schemas) = (&p.ws, &p.repo, &p.plan, &p.schemas);
    let (approvals, runner, budget, rerun) = (&p.approvals, &p.runner, p.budget, &p.rerun);
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
    let kinds = PhaseKind::ALL;
    let base = start
        .as_ref()
        .map(|(_, base)| base.clone())
        .unwrap_or_default();
    let logs_root = ws.config.orch_logs(&repo_root);
    let place = Place {
        repo_root: &repo_root,
        common_dir: &repo.common_dir(),
        issue_dirs: &logs_root.join(plan.scope().dir()).join("<run-id>"),
        base: &base,
        only: p.request.only_issue.as_deref(),
    };
    let agent_commands = agent_commands(ws, schemas, runner, plan, &place)?;
    let dry = crate::report::dry_run::DryRun {
        plan,
        only_issue: p.request.only_issue.as_deref(),
        start,
        logs_root,
        approvals,
        no_build: p.request.no_build,
        schema_overrides: kinds
            .iter()
            .filter_map(|k| Some((*k, schemas.of(*k).source.clone()?)))
            .collect(),
        agent_commands,
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

/// Where the run would be: what the dry run plans its phases in.
struct Place<'a> {
    repo_root: &'a std::path::Path,
    common_dir: &'a std::path::Path,
    /// The issues' log dirs of the run (under a `<run-id>` not given yet).
    issue_dirs: &'a std::path::Path,
    /// The commit issues would start from.
    base: &'a str,
    /// `--issue`.
    only: Option<&'a str>,
}

/// For the dry run: each agent CLI the run uses, the phases it runs (plan tasks may choose
/// their own), and its exact command line: that of the engine's plan for the first phase it
/// would run, of the first issue that would run it.
fn agent_commands(
    ws: &Workspace,
    schemas: &crate::agent::contract::schema::Schemas,
    runner: &crate::agent::choice::AnyRunner,
    plan: &crate::model::plan::Plan,
    place: &Place<'_>,
) -> anyhow::Result<Vec<(String, String)>> {
    use crate::agent::choice::phase_agent;
    use crate::input::config::AgentKind;
    let run_agent = |k: PhaseKind| Some(runner.agents.of(k));
    let issues: Vec<&crate::model::plan::PlannedIssue> = (plan.issues.iter())
        .filter(|i| place.only.is_none_or(|only| i.id == only))
        .collect();
    let mut commands = Vec::new();
    for agent in [AgentKind::Codex, AgentKind::Claude] {
        let mut phases: Vec<&str> = (PhaseKind::ALL.iter())
            .filter(|k| runner.agents.of(**k) == agent)
            .map(|k| k.name())
            .collect();
        let tasks = crate::agent::choice::chosen_by_tasks(plan, agent);
        if phases.is_empty() && !tasks {
            continue;
        }
        if tasks {
            phases.push("a task's own");
        }
        // The first phase of the first issue that this agent would run.
        let first = issues.iter().find_map(|issue| {
            let kind = PhaseKind::ALL
                .into_iter()
                .find(|k| phase_agent(issue, *k, run_agent(*k)) == Some(agent))?;
            Some((*issue, kind))
        });
        let Some((issue, kind)) = first else { continue };
        let wt_name = crate::workspace::worktrees::admin_name(&plan.scope(), &issue.id);
        let foreseen = crate::engine::phase::Foreseen {
            plan,
            issue,
            kind,
            agents: &run_agent,
            base: place.base,
            run_id: "<run-id>",
            issue_dir: &place
                .issue_dirs
                .join(crate::model::naming::ref_component(&issue.id)),
            common_dir: place.common_dir,
            worktree_name: &wt_name,
        };
        let phase = crate::engine::phase::foreseen(&ws.config, place.repo_root, schemas, foreseen)?;
        let request = phase.request(Vec::new(), Default::default());
        let (bin, argv) = match agent {
            AgentKind::Codex => (runner.codex.bin.display(), runner.codex.argv(&request)),
            AgentKind::Claude => (runner.claude.bin.display(), runner.claude.argv(&request)),
        };
        let words: Vec<String> = argv
            .iter()
            .map(|a| crate::util::process::sh_word(a))
            .collect();
        commands.push((
            format!("{} phases ({})", agent.name(), phases.join(", ")),
            format!("{bin} {}", words.join(" ")),
        ));
    }
    Ok(commands)
}

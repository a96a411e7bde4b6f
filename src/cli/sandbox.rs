//! Before a run: each agent CLI the run uses must be there, and its sandbox one this agent CLI
//! and machine can provide, or the run does not start (orch never runs an agent open without
//! saying so). A missing binary is said as such, never as a sandbox that failed.

use super::hinted;
use crate::agent::choice::AnyRunner;
use crate::input::config::{AgentKind, Config};
use crate::model::plan::Plan;

/// Whether the run uses `agent`: its choice, or what plan tasks choose for themselves.
fn uses(any: &AnyRunner, plan: &Plan, agent: AgentKind) -> bool {
    any.agents.uses(agent) || crate::agent::choice::chosen_by_tasks(plan, agent)
}

/// The agent CLIs the run uses, each with the binary it would run.
fn used(any: &AnyRunner, plan: &Plan) -> Vec<(AgentKind, std::path::PathBuf)> {
    [
        (AgentKind::Codex, any.codex.bin.clone()),
        (AgentKind::Claude, any.claude.bin.clone()),
    ]
    .into_iter()
    .filter(|(agent, _)| uses(any, plan, *agent))
    .collect()
}

/// Refuses a run whose agent CLI is not there: `codex not found on PATH (set `[codex] bin` or
/// `ORCH_CODEX_BIN`)`, or a configured path that is no executable file.
pub(super) fn binaries(any: &AnyRunner, plan: &Plan) -> anyhow::Result<()> {
    match missing_binary(any, plan) {
        Some((message, hint)) => Err(hinted(message, hint)),
        None => Ok(()),
    }
}

/// The first agent CLI the run uses that is not there: what is wrong, and how to fix it.
pub(super) fn missing_binary(any: &AnyRunner, plan: &Plan) -> Option<(String, String)> {
    for (agent, bin) in used(any, plan) {
        let name = agent.name();
        let is_command = bin.components().count() == 1;
        let found = if is_command {
            crate::util::process::find_real(&bin.to_string_lossy())
        } else {
            Some(bin.clone()).filter(|p| p.is_file())
        };
        let problem = match found {
            None if is_command => format!("{} not found on PATH", bin.display()),
            None => format!("{name} binary {} does not exist", bin.display()),
            Some(p) if !is_executable(&p) => {
                format!("{name} binary {} is not executable", p.display())
            }
            Some(_) => continue,
        };
        let install = match agent {
            AgentKind::Codex => "`npm install -g @openai/codex`",
            AgentKind::Claude => "`npm install -g @anthropic-ai/claude-code`",
        };
        return Some((
            format!("{problem} (set `[{name}] bin` or `ORCH_{}_BIN`): the run's {name} phases cannot start", name.to_uppercase()),
            format!("install it ({install}), or point `[{name}] bin` in orch.toml (or `ORCH_{}_BIN`) at it", name.to_uppercase()),
        ));
    }
    None
}

fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

/// Refuses a sandbox mode that is none, and a sandbox the probe finds does not confine, for
/// each agent that runs phases.
pub(super) fn ensure(any: &AnyRunner, plan: &Plan, config: &Config) -> anyhow::Result<()> {
    if uses(any, plan, AgentKind::Claude) && config.claude_sandboxed() {
        crate::agent::probe::probe_claude().map_err(|e| {
            hinted(
                format!(
                    "Claude Code's sandbox cannot confine the claude phases ({}) here: {}; refusing to run them open",
                    any.agents.describe(),
                    e.0
                ),
                format!(
                    "{}, or set `[claude] sandbox = \"none\"` in orch.toml to run them without it (the summary and the report say so)",
                    crate::util::platform::CLAUDE_SANDBOX_INSTALL
                ),
            )
        })?;
    }
    let runner = &any.codex;
    if !uses(any, plan, AgentKind::Codex) {
        return Ok(());
    }
    // The sandbox is the default; when this codex or machine cannot provide it, the run does
    // not start open without saying so.
    if let Some(mode) = std::env::var("ORCH_CODEX_SANDBOX")
        .ok()
        .filter(|m| !m.is_empty() && !crate::input::config::SANDBOX_MODES.contains(&m.as_str()))
    {
        return Err(hinted(
            format!("ORCH_CODEX_SANDBOX is `{mode}`, which is no sandbox mode"),
            format!(
                "use one of {}",
                crate::input::config::SANDBOX_MODES.join(", ")
            ),
        ));
    }
    if runner.sandbox == crate::input::config::Sandbox::Worktree {
        crate::agent::probe::probe(&runner.bin, config.agent_network()).map_err(|e| {
            hinted(
                format!(
                    "the codex sandbox does not confine the agent here ({}): {}; refusing to run sandboxed",
                    runner.bin.display(),
                    e.0
                ),
                "use a codex that supports permission profiles (0.169.0 is measured) on a kernel with user namespaces, or set `[codex] sandbox = \"danger-full-access\"` in orch.toml to run without it (the summary and the report say so)",
            )
        })?;
    }
    Ok(())
}

//! Before a run: each agent's sandbox must be one this agent CLI and machine can provide, or
//! the run does not start (orch never runs an agent open without saying so).

use super::hinted;
use crate::agent::choice::AnyRunner;
use crate::input::config::{AgentKind, Config};
use crate::model::plan::Plan;

/// Refuses a sandbox mode that is none, and a sandbox the probe finds does not confine, for
/// each agent that runs phases.
pub(super) fn ensure(any: &AnyRunner, plan: &Plan, config: &Config) -> anyhow::Result<()> {
    // The run's choice, and what plan tasks choose for themselves.
    let uses = |agent: AgentKind| {
        any.agents.uses(agent) || crate::agent::choice::chosen_by_tasks(plan, agent)
    };
    if uses(AgentKind::Claude) && config.claude_sandboxed() {
        crate::agent::probe::probe_claude().map_err(|e| {
            hinted(
                format!(
                    "Claude Code's sandbox cannot confine the claude phases ({}) here: {}; refusing to run them open",
                    any.agents.describe(),
                    e.0
                ),
                "install bubblewrap and socat (`apt install bubblewrap socat`; scripts/install-tools.sh puts both in .tools/bin), or set `[claude] sandbox = \"none\"` in orch.toml to run them without it (the summary and the report say so)",
            )
        })?;
    }
    let runner = &any.codex;
    if !uses(AgentKind::Codex) {
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

//! Before a run: the agent's sandbox must be one this codex and machine can provide, or the
//! run does not start (orch never runs an agent open without saying so).

use super::hinted;
use crate::agent::choice::AnyRunner;
use crate::input::config::{AgentKind, Config};

/// Refuses a sandbox mode that is none, a sandbox the probe finds does not confine, and
/// claude phases nobody agreed to run unsandboxed.
pub(super) fn ensure(any: &AnyRunner, config: &Config) -> anyhow::Result<()> {
    if any.agents.uses(AgentKind::Claude) && config.claude.sandbox.as_deref() != Some("none") {
        return Err(hinted(
            format!(
                "claude would run phases ({}) without a filesystem sandbox: orch does not confine Claude Code yet",
                any.agents.describe()
            ),
            "set `[claude] sandbox = \"none\"` in orch.toml to accept that (the guard, the audits, the secret scan and the clean-room verification still hold), or run those phases on codex",
        ));
    }
    let runner = &any.codex;
    if !any.agents.uses(AgentKind::Codex) {
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

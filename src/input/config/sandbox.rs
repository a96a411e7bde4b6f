//! What `orch.toml` says about confining the agents: `[codex] sandbox` and `[claude] sandbox`,
//! and the arguments that may not undo them (each a config error at its line).

use super::{AgentKind, Config, ConfigError, Sandbox, SANDBOX_MODES, SANDBOX_WORKTREE};
use std::path::Path;

/// `[codex] args` that would replace or override the profile (codex lets `-s` win silently).
const SANDBOX_ARGS: &[&str] = &[
    "-s",
    "--sandbox",
    "--dangerously-bypass-approvals-and-sandbox",
    "--yolo",
    "--full-auto",
];

/// `claude` arguments that would undo a confined phase: another permission mode, other
/// settings or setting sources, more directories or tools allowed, MCP servers and plugins
/// (whose tools and hooks run outside the sandbox).
const CLAUDE_OPENING_ARGS: &[&str] = &[
    "--permission-mode",
    "--dangerously-skip-permissions",
    "--allow-dangerously-skip-permissions",
    "--settings",
    "--setting-sources",
    "--add-dir",
    "--allowedTools",
    "--allowed-tools",
    "--mcp-config",
    "--plugin-dir",
];

/// The 1-based line of `key = …` inside the `[table]` table (a key of the same name elsewhere
/// is not it), or of the table's header when the key is written another way.
fn line_in(text: &str, table: &str, key: &str) -> Option<usize> {
    let header = format!("[{table}]");
    let start = text.lines().position(|l| l.trim() == header)?;
    let inside = text
        .lines()
        .enumerate()
        .skip(start + 1)
        .take_while(|(_, l)| !l.trim_start().starts_with('['));
    for (i, l) in inside {
        if l.trim_start()
            .strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
        {
            return Some(i + 1);
        }
    }
    Some(start + 1)
}

/// The sandbox settings of `config` (the text of the file at `path`) are ones orch can keep.
pub(super) fn check(config: &Config, path: &Path, text: &str) -> Result<(), ConfigError> {
    if let Some(mode) = config
        .codex
        .sandbox
        .as_deref()
        .filter(|m| !SANDBOX_MODES.contains(m))
    {
        return Err(ConfigError::Invalid {
            path: path.to_owned(),
            line: line_in(text, "codex", "sandbox"),
            message: format!(
                "`[codex] sandbox` must be one of {}, found `{mode}`",
                SANDBOX_MODES.join(", ")
            ),
        });
    }
    if config.sandbox() == Sandbox::Worktree {
        let args = &config.codex.args;
        if let Some(arg) = args.iter().find(|a| {
            SANDBOX_ARGS
                .iter()
                .any(|s| a == s || a.starts_with(&format!("{s}=")))
                || a.starts_with("sandbox_mode=")
                || a.starts_with("default_permissions=")
        }) {
            return Err(ConfigError::Invalid {
                path: path.to_owned(),
                line: line_in(text, "codex", "args"),
                message: format!(
                    "`[codex] args` has `{arg}`, which would replace orch's sandbox; set `[codex] sandbox = \"danger-full-access\"` (or another mode) to choose codex's own"
                ),
            });
        }
    }
    if let Some(mode) = config
        .claude
        .sandbox
        .as_deref()
        .filter(|m| *m != "none" && *m != SANDBOX_WORKTREE)
    {
        return Err(ConfigError::Invalid {
            path: path.to_owned(),
            line: line_in(text, "claude", "sandbox"),
            message: format!(
                "`[claude] sandbox` is `worktree` (Claude Code's own sandbox, the default) or `none`, found `{mode}`"
            ),
        });
    }
    if config.claude_sandboxed() {
        if let Some(arg) = config.claude.args.iter().find(|a| {
            CLAUDE_OPENING_ARGS
                .iter()
                .any(|s| *a == s || a.starts_with(&format!("{s}=")))
        }) {
            return Err(ConfigError::Invalid {
                path: path.to_owned(),
                line: line_in(text, "claude", "args"),
                message: format!(
                    "`[claude] args` has `{arg}`, which would widen what orch lets a sandboxed claude phase do; set `[claude] sandbox = \"none\"` to run claude open instead"
                ),
            });
        }
    }
    Ok(())
}

impl Config {
    /// How the agent's commands are confined: env `ORCH_CODEX_SANDBOX`, else `[codex]
    /// sandbox`, else the worktree profile.
    pub fn sandbox(&self) -> Sandbox {
        let env = std::env::var("ORCH_CODEX_SANDBOX").ok();
        match env
            .as_deref()
            .filter(|v| !v.is_empty())
            .or(self.codex.sandbox.as_deref())
        {
            None | Some(SANDBOX_WORKTREE) => Sandbox::Worktree,
            Some(mode) => Sandbox::Mode(mode.to_owned()),
        }
    }

    /// Whether claude phases run in Claude Code's own sandbox (`[claude] sandbox`, default
    /// `worktree`; `none` runs them open).
    pub fn claude_sandboxed(&self) -> bool {
        self.claude.sandbox.as_deref() != Some("none")
    }

    /// Whether phases on `agent` run confined to their worktree.
    pub fn sandboxed(&self, agent: AgentKind) -> bool {
        match agent {
            AgentKind::Codex => self.sandbox() == Sandbox::Worktree,
            AgentKind::Claude => self.claude_sandboxed(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_is_on_by_default_and_nothing_in_args_may_replace_it() {
        let read = |text: &str| Config::parse(Path::new("orch.toml"), text);
        assert_eq!(read("").unwrap().sandbox(), Sandbox::Worktree);
        let open =
            read("[codex]\nsandbox = \"danger-full-access\"\nargs = [\"-s\", \"x\"]\n").unwrap();
        assert!(open.sandbox().is_open());
        for args in [
            r#"["-m", "m", "-s", "workspace-write"]"#,
            r#"["--full-auto"]"#,
            r#"["-c", "sandbox_mode=danger-full-access"]"#,
        ] {
            let e = read(&format!("[codex]\nbin = \"codex\"\nargs = {args}\n"))
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("orch.toml:3: `[codex] args` has"), "{e}");
        }
        let e = read("[codex]\nsandbox = \"wide\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("orch.toml:2: `[codex] sandbox` must be one of worktree"),
            "{e}"
        );
    }

    #[test]
    fn claude_is_sandboxed_by_default_and_its_args_may_not_widen_it() {
        let read = |text: &str| Config::parse(Path::new("orch.toml"), text);
        let c = read("").unwrap();
        assert!(c.claude_sandboxed() && c.sandboxed(AgentKind::Claude));
        assert!(!read("[claude]\nsandbox = \"none\"\n")
            .unwrap()
            .sandboxed(AgentKind::Claude));
        // Open, anything goes.
        read("[claude]\nsandbox = \"none\"\nargs = [\"--permission-mode\", \"plan\"]\n").unwrap();
        for arg in [
            "--permission-mode",
            "--dangerously-skip-permissions",
            "--settings",
            "--setting-sources=user",
            "--add-dir",
            "--allowedTools",
            "--mcp-config",
        ] {
            // The line is [claude]'s args, not [codex]'s above it.
            let e = read(&format!(
                "[codex]\nargs = [\"-m\", \"m\"]\n\n[claude]\nmodel = \"x\"\nargs = [\"{arg}\", \"v\"]\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(e.starts_with("orch.toml:6: `[claude] args` has"), "{e}");
        }
        read("[claude]\nargs = [\"--disallowedTools\", \"Bash(curl *)\"]\n").unwrap();
        let e = read("[codex]\nsandbox = \"worktree\"\n[claude]\nsandbox = \"tight\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("orch.toml:4: `[claude] sandbox` is `worktree`"),
            "{e}"
        );
    }
}

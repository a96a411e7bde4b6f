//! The tables of `orch.toml` other than its top-level keys: `[codex]`, `[agent]`,
//! `[worktree]`, `[verify]`, `[guard]`, `[graphite]`, `[review]`, `[pricing.…]`, and what
//! `[codex] sandbox` says. Data only; reading and checking them is the parent module's.

use super::SANDBOX_WORKTREE;
use serde::Deserialize;
use std::path::PathBuf;

/// A model's price: dollars per million tokens.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input: f64,
    /// Cached input (default: the input price).
    pub cached_input: Option<f64>,
    pub output: f64,
}

impl Price {
    /// What `usage` costs (cached input is part of input, priced apart).
    pub fn cost(&self, usage: &crate::model::phase::Usage) -> f64 {
        let cached = usage.cached_input_tokens.min(usage.input_tokens);
        let fresh = usage.input_tokens - cached;
        (fresh as f64 * self.input
            + cached as f64 * self.cached_input.unwrap_or(self.input)
            + usage.output_tokens as f64 * self.output)
            / 1_000_000.0
    }
}

/// `[graphite]` in orch.toml.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GraphiteConfig {
    /// Whether dev and fix phases submit their stack as draft PRs (`gt ss --draft`) and
    /// report the URLs (default `never`).
    pub submit: Option<Submit>,
}

/// What `[graphite] submit` says.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Submit {
    Never,
    Draft,
}

/// `[review]` in orch.toml.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReviewConfig {
    /// Whether each review appends an entry to the milestone's review doc
    /// (`docs/projects/<project>/reviews/REVIEW-<milestone>.md`; default false).
    pub doc: Option<bool>,
}

/// `[codex]` in orch.toml.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CodexConfig {
    /// The codex binary (default `codex` on PATH; env `ORCH_CODEX_BIN` overrides both).
    pub bin: Option<PathBuf>,
    /// Extra arguments for `codex exec`: `-m`, `-p`, `-c key=value`, …
    #[serde(default)]
    pub args: Vec<String>,
    /// `worktree` (default): a permission profile orch builds per phase, writable only the
    /// worktree and the git dirs a commit needs; or a codex `-s` mode (`danger-full-access`,
    /// an explicit opt-out flagged in the summary and the report).
    pub sandbox: Option<String>,
    /// Whether the fix phase resumes the dev phase's session (default true).
    pub resume_fix: Option<bool>,
}

/// Which agent CLI runs a phase.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum AgentKind {
    #[default]
    Codex,
    Claude,
}

impl AgentKind {
    pub fn name(self) -> &'static str {
        match self {
            AgentKind::Codex => "codex",
            AgentKind::Claude => "claude",
        }
    }

    pub fn parse(s: &str) -> Option<AgentKind> {
        match s {
            "codex" => Some(AgentKind::Codex),
            "claude" => Some(AgentKind::Claude),
            _ => None,
        }
    }
}

/// `[agents]` in orch.toml: the agent CLI of each phase (default codex for all).
#[derive(Debug, Default, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AgentsConfig {
    pub dev: Option<AgentKind>,
    pub review: Option<AgentKind>,
    pub fix: Option<AgentKind>,
}

/// `[claude]` in orch.toml.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClaudeConfig {
    /// The claude binary (default `claude` on PATH; env `ORCH_CLAUDE_BIN` overrides both).
    pub bin: Option<PathBuf>,
    /// Extra arguments for `claude -p`.
    #[serde(default)]
    pub args: Vec<String>,
    /// `--model`.
    pub model: Option<String>,
    /// `"worktree"` (the default): Claude Code's own sandbox confines the phase's commands to
    /// the worktree and its git dirs; `"none"`: claude phases run open (said by the summary).
    pub sandbox: Option<String>,
}

/// `[agent]` in orch.toml.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Whether the agent's commands may use the network (default false; true also opens
    /// Unix sockets: ssh-agent, docker).
    pub network: Option<bool>,
    /// Environment variables (names or globs) the agent's commands get besides the core
    /// (HOME, PATH, SHELL, USER, LANG, LC_*, TERM, TZ, TMPDIR).
    #[serde(default)]
    pub pass_env: Vec<String>,
    /// How long an agent may report nothing but connection errors before its phase fails as
    /// unreachable, tried again as a transient failure: a duration, or 0 for never
    /// (default `60s`).
    pub unreachable_timeout: Option<toml::Value>,
    /// How many times in a row an agent may run one command with the same outcome before its
    /// phase fails as looping (default 30; 0: no limit).
    pub max_repeats: Option<u32>,
}

/// `[worktree]` in orch.toml.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WorktreeConfig {
    /// Commands run (`sh -c`, outside the sandbox, with the network) in each new worktree
    /// before its first phase: installs, code generation.
    #[serde(default)]
    pub setup: Vec<String>,
    /// Untracked files or directories of the main checkout copied into each new worktree
    /// (and excluded from git there): `.env.local`, local certificates.
    #[serde(default)]
    pub copy: Vec<String>,
    /// Commands run in a worktree before orch removes it.
    #[serde(default)]
    pub teardown: Vec<String>,
    /// How long the setup may take in all (default `10m`).
    pub setup_timeout: Option<toml::Value>,
}

/// `[verify]` in orch.toml.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VerifyConfig {
    /// Commands a converged issue's final head must pass in a clean checkout (default: the
    /// issue's or task's `Tests pass:`/`Command:` acceptance checks; `[]` with none of those
    /// verifies nothing).
    pub commands: Option<Vec<String>>,
}

/// How the agent's commands are confined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sandbox {
    /// orch's per-phase permission profile.
    Worktree,
    /// A codex `-s` mode, as named.
    Mode(String),
}

impl Sandbox {
    /// Whether the agent may write anywhere (said in the summary and the report).
    pub fn is_open(&self) -> bool {
        matches!(self, Sandbox::Mode(m) if m == "danger-full-access")
    }

    pub fn name(&self) -> &str {
        match self {
            Sandbox::Worktree => SANDBOX_WORKTREE,
            Sandbox::Mode(m) => m,
        }
    }
}

/// `[guard]` in orch.toml: adjustments to the built-in policy.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardConfig {
    /// gt commands to allow whatever the policy says, by canonical name (`sync`, `restack`),
    /// typed form (`rs`, `us o`) or a word the policy does not know. `-f`/`--force`,
    /// `--cwd` outside the worktree and `deny_gt` still apply; git passthrough words
    /// (`push`, …) always go through the git policy.
    pub allow_gt: Vec<String>,
    /// gt commands to deny, matched like `allow_gt` (and also against a user alias's name).
    pub deny_gt: Vec<String>,
    /// git subcommands to deny; an entry of several words (`"remote remove"`) matches the
    /// subcommand followed by those arguments. Also applies to gt's git passthrough.
    pub deny_git: Vec<String>,
    /// Whether `gt submit` must carry `-d/--draft` (default true; `-u/--update-only` needs
    /// none). `--merge-when-ready` stays denied either way.
    pub enforce_draft: bool,
    /// Whether the agent may publish PRs (`gt submit --publish`: ready for review; default
    /// false).
    pub allow_publish: bool,
    /// Whether the post-phase audit puts back refs changed outside the stack and
    /// removes worktrees the agent added (default true).
    pub audit_restore: bool,
    /// Whether an audit violation fails the phase (default true; a secret always does).
    pub audit_fails_phase: bool,
    /// Paths (globs, relative to the repository root) whose added lines are not scanned for
    /// secrets: test fixtures holding fake keys.
    pub secret_allow: Vec<String>,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            allow_gt: Vec::new(),
            deny_gt: Vec::new(),
            deny_git: Vec::new(),
            enforce_draft: true,
            allow_publish: false,
            audit_restore: true,
            audit_fails_phase: true,
            secret_allow: Vec::new(),
        }
    }
}

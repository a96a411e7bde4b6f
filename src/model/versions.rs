//! The agent CLI versions orch is measured against: what `scripts/install-tools.sh` pins for
//! the tests, and what the workflow `orch init --ci github` writes installs on runners (a
//! test keeps the two the same).

/// OpenAI's Codex CLI (`@openai/codex`).
pub const CODEX: &str = "0.169.0";
/// Anthropic's Claude Code (`@anthropic-ai/claude-code`).
pub const CLAUDE: &str = "2.1.328";

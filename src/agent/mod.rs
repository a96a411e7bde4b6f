//! The runner seam: run one agent phase, get back a [`PhaseOutcome`]. The engine never knows
//! which agent CLI it drives; [`codex::CodexRunner`] is the one that exists today.
//!
//! An agent failing (bad output, non-zero exit, timeout) is an outcome, not an error: it is
//! recorded as a [`PhaseFailure`] and the engine decides what to do with the issue.

pub mod choice;
pub mod claude;
pub mod claude_sandbox;
pub mod codex;
pub mod contract;
pub mod drive;
pub mod handoff;
pub mod probe;
pub mod process;
pub mod prompts;
pub mod repomap;
pub mod sandbox;
pub mod stream;

pub use crate::model::phase::{PhaseFailure, PhaseKind, Usage};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Called with what the agent is doing (a command, a file change).
pub type ActivityFn = Arc<dyn Fn(Action<'_>) + Send + Sync>;

/// One thing an agent does: a command (`$ cargo test`) or an edit, as it starts (`done`
/// false) and as it ends (`done`, with the command's exit code when the agent says it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action<'a> {
    pub text: &'a str,
    pub done: bool,
    pub exit_code: Option<i32>,
}

/// Called once the agent's process is running (to record it in the run state).
pub type SpawnFn = Arc<dyn Fn(&process::AgentProcess) + Send + Sync>;

/// Everything a runner needs for one phase.
#[derive(Clone)]
pub struct PhaseRequest {
    pub kind: PhaseKind,
    pub prompt: String,
    /// The agent's working directory.
    pub worktree: PathBuf,
    /// What the agent's commands may write (the worktree, the git dirs a commit needs, a
    /// private temp dir) and reach.
    pub confinement: sandbox::Confinement,
    /// The agent CLI the task names for this phase, over the run's choice (a plan file's
    /// `agents:`).
    pub agent: Option<crate::input::config::AgentKind>,
    /// The schema file passed to the agent.
    pub schema_path: PathBuf,
    /// What the result must be (its schema, and the issue, branch and worktree it is about).
    pub expect: Arc<crate::agent::contract::Expected>,
    pub timeout: Duration,
    /// How long the agent's event stream may stay silent before the phase is stopped as
    /// stalled (`None`: never).
    pub stall_timeout: Option<Duration>,
    /// How long the agent may report nothing but connection errors before its phase fails
    /// as unreachable (transient); `None`: as long as the stall and phase timeouts allow.
    pub unreachable_timeout: Option<Duration>,
    /// How many times in a row the agent may run one command with the same outcome before
    /// its phase fails as looping; `None`: no limit.
    pub max_repeats: Option<u32>,
    /// A session to continue instead of starting a new one.
    pub resume: Option<String>,
    /// Where `events.jsonl` and `stderr.log` go.
    pub log_dir: PathBuf,
    pub activity: Option<ActivityFn>,
    /// Extra environment for this phase (the guard's PATH, BASH_ENV and context).
    pub env: Vec<(String, String)>,
    /// Turns true when the run is interrupted: the agent's process group is stopped.
    pub cancel: Option<tokio::sync::watch::Receiver<bool>>,
    /// Told the agent's process group as soon as it is spawned.
    pub on_spawn: Option<SpawnFn>,
}

/// What one phase produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseOutcome {
    /// The result, typed at the boundary once it met its schema; or how the phase failed.
    pub result: Result<crate::model::result::PhaseResult, PhaseFailure>,
    pub session_id: Option<String>,
    /// Usage as last reported: the session's running total, or this phase's own when
    /// `usage_is_phase`.
    pub usage: Option<Usage>,
    #[serde(default)]
    pub usage_is_phase: bool,
    /// What the agent CLI says the phase cost, when it says.
    #[serde(default)]
    pub cost_usd: Option<f64>,
    pub exit_code: Option<i32>,
    pub events_path: PathBuf,
    pub stderr_path: PathBuf,
    pub duration_ms: u64,
}

/// Runs one phase of an agent.
#[allow(async_fn_in_trait)]
pub trait Runner {
    async fn run(&self, request: &PhaseRequest) -> PhaseOutcome;

    /// The agent CLI that runs phases of `kind`; `None` for a runner that is no agent CLI
    /// (an in-process one: confined as codex would be, recorded under no agent's name).
    fn agent(&self, _kind: PhaseKind) -> Option<crate::input::config::AgentKind> {
        None
    }
}

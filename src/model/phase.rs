//! The phases of an issue's loop, what a phase costs (tokens), why one failed, and the agent
//! process it ran as: the words the engine, the agents and the records share.

use serde::{Deserialize, Serialize};

/// The three phases of an issue's loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhaseKind {
    Dev,
    Review,
    Fix,
}

impl PhaseKind {
    pub const ALL: [PhaseKind; 3] = [PhaseKind::Dev, PhaseKind::Review, PhaseKind::Fix];

    /// Its place in [`PhaseKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            PhaseKind::Dev => "dev",
            PhaseKind::Review => "review",
            PhaseKind::Fix => "fix",
        }
    }

    pub fn prompt(self) -> &'static str {
        match self {
            PhaseKind::Dev => "dev-auto-parallel",
            PhaseKind::Review => "dev-auto-review-linear",
            PhaseKind::Fix => "dev-auto-fix-review",
        }
    }
}

/// Token usage as the agent reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub cached_input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub reasoning_output_tokens: u64,
}

impl std::ops::Add for Usage {
    type Output = Usage;

    fn add(self, other: Usage) -> Usage {
        Usage {
            input_tokens: self.input_tokens + other.input_tokens,
            cached_input_tokens: self.cached_input_tokens + other.cached_input_tokens,
            output_tokens: self.output_tokens + other.output_tokens,
            reasoning_output_tokens: self.reasoning_output_tokens + other.reasoning_output_tokens,
        }
    }
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }

    /// `self - earlier`, for cumulative-per-thread counters.
    pub fn since(&self, earlier: &Usage) -> Usage {
        Usage {
            input_tokens: self.input_tokens.saturating_sub(earlier.input_tokens),
            cached_input_tokens: self
                .cached_input_tokens
                .saturating_sub(earlier.cached_input_tokens),
            output_tokens: self.output_tokens.saturating_sub(earlier.output_tokens),
            reasoning_output_tokens: self
                .reasoning_output_tokens
                .saturating_sub(earlier.reasoning_output_tokens),
        }
    }
}

/// Why a phase did not produce a valid result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PhaseFailure {
    #[error("could not start the agent: {message}")]
    Spawn { message: String },
    #[error("timed out after {seconds} s; the agent's process group was killed")]
    Timeout { seconds: u64 },
    #[error("the turn failed: {message}")]
    TurnFailed { message: String },
    #[error("the agent exited with {}{}", code.map_or("a signal".to_owned(), |c| format!("status {c}")), if message.is_empty() { String::new() } else { format!(": {message}") })]
    Exit { code: Option<i32>, message: String },
    #[error("the agent ended without a final message")]
    NoFinalMessage,
    #[error("the final message is not valid JSON ({error})")]
    InvalidJson { error: String, text: String },
    #[error("the result does not match the phase schema: {}", errors.join("; "))]
    SchemaMismatch { errors: Vec<String> },
    #[error(
        "the result is about another {field}: `{found}`, but this phase was given `{expected}`"
    )]
    IdentityMismatch {
        field: String,
        expected: String,
        found: String,
    },
    #[error("asked to resume session {requested}, but the agent started {started}")]
    SessionMismatch { requested: String, started: String },
    #[error("interrupted")]
    Interrupted,
    /// A transient failure whose retry did not fit in the budget: the phase runs again when
    /// a resume raises it.
    #[error("not tried again: {message}")]
    OverBudget { message: String },
    #[error("stalled: the agent said nothing for {seconds} s (last: {}); its process group was stopped", last_event.as_deref().unwrap_or("no event at all"))]
    Stalled {
        seconds: u64,
        last_event: Option<String>,
    },
    /// Nothing but connection errors from the agent for this long: its model is out of
    /// reach (a typo in a `base_url`, no network); tried again as any transient failure.
    #[error("the agent could not reach its model for {seconds} s (last: {message}); its process group was stopped")]
    Unreachable { seconds: u64, message: String },
    /// The agent ran one command again and again with the same outcome.
    #[error("looping: the agent ran `{command}` {times} times in a row with the same outcome; its process group was stopped")]
    Looping { command: String, times: u32 },
    #[error("changed things outside the issue's stack: {}", changes.join(", "))]
    GuardViolation { changes: Vec<String> },
    /// The agent CLI refused tool calls of its own (Claude Code's permission checks): the run
    /// may end "successfully", but what it was asked to do was not done.
    #[error("the agent's CLI denied {} tool call(s): {}", denied.len(), denied.join("; "))]
    PermissionDenied { denied: Vec<String> },
}

impl PhaseFailure {
    /// Why this failure may pass on another try (a network error, a model server 5xx or
    /// 429, an expired login), or `None` when trying again would fail the same way. The
    /// agent's stderr (`stderr_tail`) is looked at too: codex prints transport errors there.
    pub fn transient_reason(&self, stderr_tail: &str) -> Option<String> {
        let message = match self {
            PhaseFailure::Unreachable { .. } => return Some(format!("transient failure: {self}")),
            PhaseFailure::TurnFailed { message } => message.as_str(),
            PhaseFailure::Exit { message, .. } => message.as_str(),
            PhaseFailure::NoFinalMessage => "",
            _ => return None,
        };
        let text = format!("{message}\n{stderr_tail}").to_ascii_lowercase();
        TRANSIENT_SIGNS
            .iter()
            .find(|sign| text.contains(*sign))
            .map(|sign| format!("transient failure (`{sign}`): {self}"))
    }
}

/// Text that marks a failure as transient (lower case).
const TRANSIENT_SIGNS: &[&str] = &[
    "500 internal server error",
    "502 bad gateway",
    "503 service unavailable",
    "504 gateway timeout",
    "429 too many requests",
    "status 500",
    "status 502",
    "status 503",
    "status 504",
    "status 429",
    // Anthropic's "overloaded" (Claude Code's result: "API error (status 529)").
    "status 529",
    "internal server error",
    "service unavailable",
    "bad gateway",
    "gateway timeout",
    "too many requests",
    "rate limit",
    // codex 0.169.0 turns a model-server 500 into this turn failure (measured).
    "experiencing high demand",
    "temporary errors",
    "overloaded",
    "stream disconnected",
    "error sending request",
    "connection refused",
    "connection reset",
    "connection closed",
    "broken pipe",
    "network is unreachable",
    "temporary failure in name resolution",
    "dns error",
    "token expired",
    "token has expired",
    "session expired",
    "auth expired",
];

/// A running agent's process group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentProcess {
    pub pid: i32,
    pub pgid: i32,
    /// The leader's start time in clock ticks since boot (Linux), when known.
    pub start_time: Option<u64>,
    pub host: String,
    /// `NAME=value` in the environment of every process started for the phase, also of those
    /// that left the group (bubblewrap starts a session of its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_failures_are_told_apart() {
        let turn = |m: &str| PhaseFailure::TurnFailed { message: m.into() };
        assert!(turn("unexpected status 503 Service Unavailable")
            .transient_reason("")
            .is_some());
        assert!(turn("stream disconnected before completion")
            .transient_reason("")
            .is_some());
        let exit = PhaseFailure::Exit {
            code: Some(1),
            message: String::new(),
        };
        assert!(exit
            .transient_reason("ERROR: error sending request for url")
            .is_some());
        assert!(exit.transient_reason("invalid model").is_none());
        assert!(turn("the model refused").transient_reason("").is_none());
        let schema = PhaseFailure::SchemaMismatch {
            errors: vec!["status 500".into()],
        };
        assert!(
            schema.transient_reason("status 500").is_none(),
            "only agent failures"
        );
        assert!(PhaseFailure::Timeout { seconds: 5 }
            .transient_reason("503 service unavailable")
            .is_none());
    }
}

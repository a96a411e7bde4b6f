//! Runs a phase with the real Codex CLI: `codex exec --json --output-schema …` in orch's
//! sandbox profile (see [`super::drive`] for the process, its stream and its limits). The
//! final `agent_message` of the turn is the phase's result; anything else is a
//! [`PhaseFailure`].

use super::stream::{self as events, Event, Item};
use super::{drive, sandbox};
use super::{PhaseFailure, PhaseOutcome, PhaseRequest, Runner, Usage};
use crate::input::config::Sandbox;
use crate::util::redact::redact;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct CodexRunner {
    /// The `codex` binary.
    pub bin: PathBuf,
    /// Extra arguments for `codex exec` (`-m`, `-p`, `-c key=value`, …) from `[codex] args`.
    pub args: Vec<String>,
    /// How the agent's commands are confined (`[codex] sandbox`).
    pub sandbox: Sandbox,
    /// What the agent's commands inherit besides the core (`[agent] pass_env`).
    pub pass_env: Vec<String>,
    /// Extra environment for the agent process.
    pub env: Vec<(String, String)>,
}

impl CodexRunner {
    /// The full argument list for a request (without the binary).
    pub fn argv(&self, req: &PhaseRequest) -> Vec<String> {
        let mut argv: Vec<String> = vec![
            "exec".into(),
            "--json".into(),
            "--skip-git-repo-check".into(),
        ];
        match &self.sandbox {
            Sandbox::Worktree => argv.extend(sandbox::codex_args(&req.confinement)),
            Sandbox::Mode(mode) => {
                argv.extend(["-s".into(), mode.clone()]);
                let common = req.confinement.common_dir.display().to_string();
                argv.extend(["--add-dir".into(), common]);
            }
        }
        argv.extend(["-C".into(), req.worktree.display().to_string()]);
        argv.extend(sandbox::env_args(&self.pass_env));
        // Plain `bash -c` with the PATH orch gives: keeps the gt/git guard visible (a login
        // shell would reset PATH from /etc/profile).
        argv.extend(["-c".into(), "allow_login_shell=false".into()]);
        argv.extend(self.args.iter().cloned());
        if let Some(session) = &req.resume {
            // `-s`, `-C` and `--add-dir` belong to `exec`; the rest may follow `resume`.
            argv.extend(["resume".into(), session.clone()]);
        }
        argv.extend([
            "--output-schema".into(),
            req.schema_path.display().to_string(),
        ]);
        argv.push("-".into());
        argv
    }
}

impl Runner for CodexRunner {
    fn agent(&self, _kind: super::PhaseKind) -> Option<crate::input::config::AgentKind> {
        Some(crate::input::config::AgentKind::Codex)
    }

    async fn run(&self, req: &PhaseRequest) -> PhaseOutcome {
        let started = Instant::now();
        let mut outcome = drive::outcome_for(req);
        if let Err(f) = self.drive(req, &mut outcome).await {
            outcome.result = Err(f);
        }
        // Redact stderr after the fact (it was written straight to disk by the child).
        crate::util::fsutil::redact_in_place(&outcome.stderr_path);
        outcome.duration_ms = started.elapsed().as_millis() as u64;
        outcome
    }
}

impl CodexRunner {
    async fn drive(
        &self,
        req: &PhaseRequest,
        outcome: &mut PhaseOutcome,
    ) -> Result<(), PhaseFailure> {
        let mut cmd = tokio::process::Command::new(&self.bin);
        cmd.args(self.argv(req));
        // Claude Code's keys are not codex's (a runner's step may hold both).
        for var in ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"] {
            cmd.env_remove(var);
        }
        for (k, v) in self.env.iter().chain(&req.env) {
            cmd.env(k, v);
        }
        let mut state = StreamState::default();
        let what = self.bin.display().to_string();
        let ran = drive::run(cmd, &what, req, outcome, |line| {
            let Some(event) = events::parse(line) else {
                return drive::Line::Quiet;
            };
            let kind = line_kind(&event);
            state.apply(event, req);
            kind
        })
        .await;
        outcome.session_id = state.session.clone();
        outcome.usage = state.usage;
        let status = ran?;
        outcome.exit_code = status.code();

        drive::check_session(req, state.session.as_ref())?;
        if let Some(message) = state.turn_failed {
            return Err(PhaseFailure::TurnFailed { message });
        }
        if !status.success() {
            let message = state.last_error.unwrap_or_default();
            return Err(PhaseFailure::Exit {
                code: status.code(),
                message,
            });
        }
        let text = state.final_message.ok_or(PhaseFailure::NoFinalMessage)?;
        let value: serde_json::Value =
            serde_json::from_str(text.trim()).map_err(|e| PhaseFailure::InvalidJson {
                error: e.to_string(),
                text: redact(&text),
            })?;
        req.expect.check(&value)?;
        outcome.result = Ok(value.into());
        Ok(())
    }
}

/// What a codex event says of the phase: the model answered, an action ended (a command the
/// same as before or not), the model could not be reached, or codex about itself.
fn line_kind(event: &Event) -> drive::Line {
    match event {
        Event::Error { message } if unreachable(message) => {
            drive::Line::Unreachable(message.clone())
        }
        Event::ThreadStarted { .. } | Event::TurnStarted | Event::Error { .. } => {
            drive::Line::Quiet
        }
        Event::ItemCompleted {
            item:
                Item::CommandExecution {
                    command,
                    exit_code,
                    aggregated_output,
                    ..
                },
        } => drive::Line::ActionDone {
            same: Some((
                command.clone(),
                format!(
                    "{exit_code:?}\n{}",
                    aggregated_output.as_deref().unwrap_or_default()
                ),
            )),
        },
        Event::ItemCompleted {
            item: Item::Error { .. },
        } => drive::Line::Quiet,
        Event::ItemCompleted { .. } => drive::Line::ActionDone { same: None },
        _ => drive::Line::Event,
    }
}

/// Whether a codex `error` event says it cannot reach the model (it then tries again).
fn unreachable(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "reconnecting",
        "connection failed",
        "error sending request",
        "stream disconnected",
        "connection refused",
        "dns error",
        "timed out",
    ]
    .iter()
    .any(|sign| m.contains(sign))
}

#[derive(Default)]
struct StreamState {
    session: Option<String>,
    usage: Option<Usage>,
    final_message: Option<String>,
    turn_failed: Option<String>,
    last_error: Option<String>,
}

impl StreamState {
    fn apply(&mut self, event: Event, req: &PhaseRequest) {
        match event {
            Event::ThreadStarted { thread_id } => self.session = Some(thread_id),
            Event::TurnStarted => self.final_message = None,
            Event::TurnCompleted { usage } => self.usage = Some(usage),
            Event::TurnFailed { error } => self.turn_failed = Some(error.message),
            Event::Error { message } => {
                // Said as it happens: a model out of reach is seen in seconds, not minutes.
                if let (Some(activity), true) = (&req.activity, unreachable(&message)) {
                    activity(super::Action {
                        text: &format!("model unreachable: {message}"),
                        done: true,
                        exit_code: None,
                    });
                }
                self.last_error = Some(message)
            }
            Event::ItemStarted { item } | Event::ItemUpdated { item } => report(&item, false, req),
            Event::ItemCompleted { item } => {
                report(&item, true, req);
                if let Item::AgentMessage { text } = item {
                    self.final_message = Some(text);
                }
            }
            Event::Unknown => {}
        }
    }
}

/// A command as it starts and as it ends (with its exit code); an edit once it is made.
fn report(item: &Item, done: bool, req: &PhaseRequest) {
    let Some(activity) = &req.activity else {
        return;
    };
    match item {
        Item::CommandExecution {
            command, exit_code, ..
        } => activity(super::Action {
            text: &format!("$ {command}"),
            done,
            exit_code: exit_code.filter(|_| done),
        }),
        Item::FileChange { changes } if done => {
            let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
            activity(super::Action {
                text: &format!("edit {}", paths.join(", ")),
                done,
                exit_code: None,
            });
        }
        _ => {}
    }
}

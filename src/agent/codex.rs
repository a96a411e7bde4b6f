//! Runs a phase with the real Codex CLI: `codex exec --json --output-schema …`, prompt on
//! stdin (then closed: it never waits for a human), in its own process group so a timeout
//! or an interrupt takes down everything it started.
//!
//! stdout is streamed line by line into `events.jsonl` (secrets redacted) while being parsed,
//! so memory stays bounded whatever the stream's size. The final `agent_message` of the turn
//! is the phase's result; anything else is a [`PhaseFailure`].

use super::sandbox;
use super::stream::{self as events, Event, Item};
use super::{PhaseFailure, PhaseOutcome, PhaseRequest, Runner, Usage};
use crate::input::config::Sandbox;
use crate::util::process::{cancelled, kill_group};
use crate::util::redact::redact;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Instant;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

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
    async fn run(&self, req: &PhaseRequest) -> PhaseOutcome {
        let started = Instant::now();
        let events_path = req.log_dir.join(crate::model::layout::EVENTS);
        let stderr_path = req.log_dir.join(crate::model::layout::STDERR);
        let mut outcome = PhaseOutcome {
            result: Err(PhaseFailure::NoFinalMessage),
            session_id: None,
            usage: None,
            exit_code: None,
            events_path: events_path.clone(),
            stderr_path: stderr_path.clone(),
            duration_ms: 0,
        };
        let failure = self.drive(req, &mut outcome).await;
        if let Err(f) = failure {
            outcome.result = Err(f);
        }
        // Redact stderr after the fact (it was written straight to disk by the child).
        crate::util::redact::redact_file(&stderr_path);
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
        let spawn_err = |what: &str, e: std::io::Error| PhaseFailure::Spawn {
            message: format!("{what}: {e}"),
        };
        std::fs::create_dir_all(&req.log_dir)
            .map_err(|e| spawn_err("create the log directory", e))?;
        let stderr = std::fs::File::create(&outcome.stderr_path)
            .map_err(|e| spawn_err("create stderr.log", e))?;
        let mut events_file = tokio::fs::File::create(&outcome.events_path)
            .await
            .map_err(|e| spawn_err("create events.jsonl", e))?;

        let mut cmd = tokio::process::Command::new(&self.bin);
        cmd.args(self.argv(req))
            .current_dir(&req.worktree)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .process_group(0)
            .kill_on_drop(true);
        for (k, v) in self.env.iter().chain(&req.env) {
            cmd.env(k, v);
        }
        // Every process of the phase carries the mark, also one that leaves the group.
        let mark_value = unique_mark();
        cmd.env(sandbox::MARK_ENV, &mark_value);
        let mark = format!("{}={mark_value}", sandbox::MARK_ENV);
        let mut child = cmd
            .spawn()
            .map_err(|e| spawn_err(&format!("run {}", self.bin.display()), e))?;
        let pgid = child.id().map(|p| p as i32);
        if let (Some(pid), Some(on_spawn)) = (pgid, &req.on_spawn) {
            on_spawn(&super::process::AgentProcess::spawned(
                pid,
                Some(mark.clone()),
            ));
        }
        let _left = StopMarked(mark);
        if let Some(mut stdin) = child.stdin.take() {
            // A broken pipe here means codex already exited; its exit status says why.
            let _ = stdin.write_all(req.prompt.as_bytes()).await;
            let _ = stdin.shutdown().await;
        }
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let mut state = StreamState::default();
        let crash_point = format!("mid-{}", req.kind.name());
        let mut items_done = 0usize;

        let stall = req.stall_timeout;
        let mut last_event: Option<String> = None;
        let read_all = async {
            loop {
                let next = match stall {
                    Some(limit) => match tokio::time::timeout(limit, lines.next_line()).await {
                        Ok(next) => next,
                        Err(_) => {
                            return Err(PhaseFailure::Stalled {
                                seconds: limit.as_secs(),
                                last_event: last_event.clone(),
                            })
                        }
                    },
                    None => lines.next_line().await,
                };
                let Ok(Some(line)) = next else { break };
                last_event = Some(describe(&line));
                let _ = events_file.write_all(redact(&line).as_bytes()).await;
                let _ = events_file.write_all(b"\n").await;
                if let Some(event) = events::parse(&line) {
                    if matches!(event, Event::ItemCompleted { .. }) {
                        items_done += 1;
                        if items_done == 1 {
                            let _ = events_file.flush().await;
                            crate::util::failpoint::hit(&crash_point);
                        }
                    }
                    state.apply(event, req);
                }
            }
            Ok(child.wait().await)
        };
        let cancel = cancelled(req.cancel.clone());
        let stop = tokio::select! {
            r = tokio::time::timeout(req.timeout, read_all) => match r {
                Ok(read) => read,
                Err(_) => Err(PhaseFailure::Timeout { seconds: req.timeout.as_secs() }),
            },
            _ = cancel => Err(PhaseFailure::Interrupted),
        };
        let status = match stop {
            Ok(status) => status.map_err(|e| spawn_err("wait for codex", e))?,
            Err(failure) => {
                if let Some(pgid) = pgid {
                    kill_group(pgid, &mut child).await;
                }
                let _ = events_file.flush().await;
                outcome.session_id = state.session.clone();
                outcome.usage = state.usage;
                return Err(failure);
            }
        };
        let _ = events_file.flush().await;
        // The agent may have left background processes in its group: they go too.
        if let Some(pgid) = pgid {
            crate::util::process::signal_group(pgid, libc::SIGKILL);
        }
        outcome.exit_code = status.code();
        outcome.session_id = state.session.clone();
        outcome.usage = state.usage;

        if let (Some(requested), Some(started)) = (&req.resume, &state.session) {
            if requested != started {
                return Err(PhaseFailure::SessionMismatch {
                    requested: requested.clone(),
                    started: started.clone(),
                });
            }
        }
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
        outcome.result = Ok(value);
        Ok(())
    }
}

/// A mark no other phase, run or machine shares.
fn unique_mark() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{}-{}-{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// However the phase ends (a result, a failure, an error, a cancelled future), what is left
/// of its processes is stopped.
struct StopMarked(String);

impl Drop for StopMarked {
    fn drop(&mut self) {
        crate::util::process::stop_marked(&self.0);
    }
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
            Event::Error { message } => self.last_error = Some(message),
            Event::ItemStarted { item } | Event::ItemUpdated { item } => report(&item, req),
            Event::ItemCompleted { item } => {
                report(&item, req);
                if let Item::AgentMessage { text } = item {
                    self.final_message = Some(text);
                }
            }
            Event::Unknown => {}
        }
    }
}

fn report(item: &Item, req: &PhaseRequest) {
    let Some(activity) = &req.activity else {
        return;
    };
    match item {
        Item::CommandExecution { command, .. } => activity(&format!("$ {command}")),
        Item::FileChange { changes } => {
            let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
            activity(&format!("edit {}", paths.join(", ")));
        }
        _ => {}
    }
}

/// One event line, short, for a stalled phase's failure: its type (and its item's type and
/// command, when it has them), redacted.
fn describe(line: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
        return redact(&line.chars().take(120).collect::<String>());
    };
    let kind = v["type"].as_str().unwrap_or("an event");
    let item = &v["item"];
    let text = match (item["type"].as_str(), item["command"].as_str()) {
        (Some(t), Some(c)) => format!("{kind} {t} `{c}`"),
        (Some(t), None) => format!("{kind} {t}"),
        _ => kind.to_owned(),
    };
    redact(&text.chars().take(160).collect::<String>())
}

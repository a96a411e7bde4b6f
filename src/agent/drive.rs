//! What every agent CLI run shares, whichever the CLI: the process in its own group with a
//! mark in its environment, the prompt on stdin (then closed), stdout read line by line into
//! `events.jsonl` (redacted) while the runner parses it, stderr to `stderr.log`, the phase
//! timeout, the stall timeout on the event stream, a model the agent cannot reach (only
//! connection errors for `unreachable_timeout`), an agent looping on one command
//! (`max_repeats`), Ctrl-C, and — however it ends — nothing of it left running.

use super::{PhaseFailure, PhaseOutcome, PhaseRequest};
use crate::util::process::{cancelled, kill_group};
use crate::util::redact::redact;
use std::process::{ExitStatus, Stdio};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// What a runner says about one line of its CLI's stdout.
pub enum Line {
    /// The CLI about itself (starting up, a notice): no word from the model.
    Quiet,
    /// The model answered (a message, a thought, the start of an action).
    Event,
    /// The agent finished an action (a command, an edit): the crash tests' failpoint
    /// `mid-<phase>` fires at the first one. `same` identifies a command with its outcome
    /// (the command, its exit code, its output): the same `same` many times in a row is an
    /// agent going round in circles; `None` (an edit) breaks a run of them.
    ActionDone { same: Option<(String, String)> },
    /// The CLI could not reach its model (it tries again by itself): what it said.
    Unreachable(String),
}

/// An empty outcome for `req`, its files named.
pub fn outcome_for(req: &PhaseRequest) -> PhaseOutcome {
    PhaseOutcome {
        result: Err(PhaseFailure::NoFinalMessage),
        session_id: None,
        usage: None,
        usage_is_phase: false,
        cost_usd: None,
        exit_code: None,
        events_path: req.log_dir.join(crate::model::layout::EVENTS),
        stderr_path: req.log_dir.join(crate::model::layout::STDERR),
        duration_ms: 0,
    }
}

/// Runs `cmd` for `req`, handing each stdout line to `on_line`. The exit status, or why the
/// run was cut short (timeout, stall, interrupt, a spawn error).
pub async fn run(
    mut cmd: tokio::process::Command,
    what: &str,
    req: &PhaseRequest,
    outcome: &PhaseOutcome,
    mut on_line: impl FnMut(&str) -> Line,
) -> Result<ExitStatus, PhaseFailure> {
    let spawn_err = |what: &str, e: std::io::Error| PhaseFailure::Spawn {
        message: format!("{what}: {e}"),
    };
    std::fs::create_dir_all(&req.log_dir).map_err(|e| spawn_err("create the log directory", e))?;
    let stderr = std::fs::File::create(&outcome.stderr_path)
        .map_err(|e| spawn_err("create stderr.log", e))?;
    let mut events_file = tokio::fs::File::create(&outcome.events_path)
        .await
        .map_err(|e| spawn_err("create events.jsonl", e))?;
    cmd.current_dir(&req.worktree)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr))
        .process_group(0)
        .kill_on_drop(true);
    // Every process of the phase carries the mark, also one that leaves the group: its private
    // temp dir, which names no other phase (and which a process started with a cleared
    // environment still names in its command line when the sandbox mounts it).
    let mark_value = req.confinement.tmp_dir.display().to_string();
    cmd.env(super::sandbox::MARK_ENV, &mark_value);
    // The forge's token is orch's, never the agent's: what the agent pushes or opens goes
    // through orch (or gt's own login).
    for var in crate::forge::token::TOKEN_VARS {
        cmd.env_remove(var);
    }
    let mark = format!("{}={mark_value}", super::sandbox::MARK_ENV);
    let mut child = cmd
        .spawn()
        .map_err(|e| spawn_err(&format!("run {what}"), e))?;
    let _left = StopMarked(mark.clone());
    let pgid = child.id().map(|p| p as i32);
    if let (Some(pid), Some(on_spawn)) = (pgid, &req.on_spawn) {
        on_spawn(&super::process::AgentProcess::spawned(pid, Some(mark)));
    }
    if let Some(mut stdin) = child.stdin.take() {
        // A broken pipe here means the agent already exited; its exit status says why.
        let _ = stdin.write_all(req.prompt.as_bytes()).await;
        let _ = stdin.shutdown().await;
    }
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let crash_point = format!("mid-{}", req.kind.name());
    let mut actions = 0usize;
    let stall = req.stall_timeout;
    let mut last_event: Option<String> = None;
    // Since when the agent has reported nothing but connection errors, and the last one.
    let mut unreachable: Option<(tokio::time::Instant, String)> = None;
    let mut repeats = Repeats::default();
    let read_all = async {
        loop {
            let now = tokio::time::Instant::now();
            let stalled_at = stall.map(|limit| (now + limit, limit));
            let cut_off_at = match (&unreachable, req.unreachable_timeout) {
                (Some((since, _)), Some(limit)) => Some(*since + limit),
                _ => None,
            };
            let deadline = [stalled_at.map(|(at, _)| at), cut_off_at]
                .into_iter()
                .flatten()
                .min();
            let next = match deadline {
                Some(at) => match tokio::time::timeout_at(at, lines.next_line()).await {
                    Ok(next) => next,
                    Err(_) => {
                        if let (Some((_, message)), Some(limit)) =
                            (&unreachable, req.unreachable_timeout)
                        {
                            if cut_off_at.is_some_and(|c| c <= tokio::time::Instant::now()) {
                                return Err(PhaseFailure::Unreachable {
                                    seconds: limit.as_secs(),
                                    message: message.clone(),
                                });
                            }
                        }
                        return Err(PhaseFailure::Stalled {
                            seconds: stalled_at.map_or(0, |(_, limit)| limit.as_secs()),
                            last_event: last_event.clone(),
                        });
                    }
                },
                None => lines.next_line().await,
            };
            let Ok(Some(line)) = next else { break };
            last_event = Some(describe(&line));
            let _ = events_file.write_all(redact(&line).as_bytes()).await;
            let _ = events_file.write_all(b"\n").await;
            match on_line(&line) {
                Line::Quiet => {}
                Line::Event => unreachable = None,
                Line::Unreachable(message) => {
                    let since = unreachable.map_or_else(tokio::time::Instant::now, |(s, _)| s);
                    unreachable = Some((since, redact(&message)));
                }
                Line::ActionDone { same } => {
                    unreachable = None;
                    if let Some(looping) = repeats.add(same, req.max_repeats) {
                        return Err(looping);
                    }
                    actions += 1;
                    if actions == 1 {
                        let _ = events_file.flush().await;
                        crate::util::failpoint::hit(&crash_point);
                    }
                }
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
    let result = match stop {
        Ok(status) => status.map_err(|e| spawn_err(&format!("wait for {what}"), e)),
        Err(failure) => {
            if let Some(pgid) = pgid {
                kill_group(pgid, &mut child).await;
            }
            Err(failure)
        }
    };
    let _ = events_file.flush().await;
    // The agent may have left background processes in its group: they go too.
    if let Some(pgid) = pgid {
        crate::util::process::signal_group(pgid, libc::SIGKILL);
    }
    result
}

/// The run of identical actions the agent is in: the same command with the same outcome,
/// one after the other.
#[derive(Default)]
struct Repeats {
    last: Option<(String, String)>,
    times: u32,
}

impl Repeats {
    /// Takes a finished action in; the failure when it makes `limit` in a row.
    fn add(&mut self, same: Option<(String, String)>, limit: Option<u32>) -> Option<PhaseFailure> {
        if same.is_some() && same == self.last {
            self.times += 1;
        } else {
            self.times = u32::from(same.is_some());
            self.last = same;
        }
        let limit = limit.filter(|l| *l > 0)?;
        let (command, _) = self.last.as_ref()?;
        (self.times >= limit).then(|| PhaseFailure::Looping {
            command: redact(&command.chars().take(200).collect::<String>()),
            times: self.times,
        })
    }
}

/// A resumed session must be the one asked for.
pub fn check_session(req: &PhaseRequest, started: Option<&String>) -> Result<(), PhaseFailure> {
    match (&req.resume, started) {
        (Some(requested), Some(started)) if requested != started => {
            Err(PhaseFailure::SessionMismatch {
                requested: requested.clone(),
                started: started.clone(),
            })
        }
        _ => Ok(()),
    }
}

/// However the phase ends (a result, a failure, an error, a cancelled future), what is left
/// of its processes is stopped.
struct StopMarked(String);

impl Drop for StopMarked {
    fn drop(&mut self) {
        crate::util::process::stop_marked(&self.0);
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
        _ => match v["subtype"].as_str() {
            Some(sub) => format!("{kind} {sub}"),
            None => kind.to_owned(),
        },
    };
    redact(&text.chars().take(160).collect::<String>())
}

//! What a run shows while it goes, on stderr: each issue as it starts, each phase as it
//! starts and ends (on a terminal, a live line with the agent's latest activity), checks,
//! commands, retries and what waits for a human.

use super::style::Styler;
use crate::model::event::EngineEvent;
use std::io::Write;
use std::sync::Mutex;

/// Progress as a run goes: a live line per running phase on a terminal, plain lines
/// otherwise, written to the output the CLI gives it (stderr).
pub struct Progress {
    style: Styler,
    live: bool,
    out: Mutex<Box<dyn Write + Send>>,
    /// The phase running now: issue, `NN-phase`, since when.
    state: Mutex<Option<(String, String, std::time::Instant)>>,
}

impl Progress {
    pub fn new(style: Styler, live: bool, out: Box<dyn Write + Send>) -> Self {
        Progress {
            style,
            live,
            out: Mutex::new(out),
            state: Mutex::new(None),
        }
    }

    pub fn on(&self, event: &EngineEvent) {
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let err = &mut *out;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            EngineEvent::RunStarted {
                run_id,
                project,
                milestone,
                issues,
                log_dir,
                resumed,
                ..
            } => {
                if *resumed {
                    let _ = writeln!(err, "{} run {run_id}", self.style.bold("resuming"));
                }
                let scope = crate::model::naming::Scope::new(project.as_deref(), milestone);
                let _ = writeln!(
                    err,
                    "{} run {run_id}: milestone {scope}, {issues} issue(s); logs in {}",
                    self.style.bold("orch"),
                    log_dir.display()
                );
            }
            EngineEvent::IssueStarted {
                id,
                position,
                total,
            } => {
                let _ = writeln!(
                    err,
                    "{} {id}",
                    self.style.bold(&format!("[{position}/{total}]"))
                );
            }
            EngineEvent::WorktreeReady { path, created, .. } => {
                let _ = writeln!(
                    err,
                    "  worktree {} ({})",
                    path.display(),
                    if *created { "created" } else { "reused" }
                );
            }
            EngineEvent::PhaseStarted { id, seq, phase } => {
                *state = Some((
                    id.clone(),
                    format!("{seq:02}-{}", phase.name()),
                    std::time::Instant::now(),
                ));
                if !self.live {
                    let _ = writeln!(err, "  {seq:02}-{} started", phase.name());
                }
            }
            EngineEvent::Activity { text, .. } => {
                if let Some((id, phase, started)) = &*state {
                    let text: String = text.chars().take(90).collect::<String>().replace('\n', " ");
                    if self.live {
                        let _ = write!(
                            err,
                            "\r\x1b[2K  {id} {phase} {:>4}s  {}",
                            started.elapsed().as_secs(),
                            self.style.dim(&text)
                        );
                    } else {
                        let _ = writeln!(err, "    {text}");
                    }
                }
            }
            EngineEvent::PhaseFinished { record, .. } => {
                if self.live {
                    let _ = write!(err, "\r\x1b[2K");
                }
                let what = match (&record.status, &record.failure) {
                    (Some(s), _) => self.style.green(s),
                    (None, Some(f)) => self.style.red(&format!("failed: {f}")),
                    _ => String::new(),
                };
                let _ = writeln!(
                    err,
                    "  {:02}-{} {what} ({} commit(s), {:.1}s)",
                    record.seq,
                    record.phase.name(),
                    record.commits,
                    record.duration_ms as f64 / 1000.0
                );
                *state = None;
            }
            EngineEvent::IssueFinished { summary } => {
                let _ = writeln!(
                    err,
                    "  → {}{}",
                    summary.outcome.name(),
                    summary
                        .reason
                        .as_ref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                );
            }
            EngineEvent::ShardStarted { shard, title, .. } => {
                let _ = writeln!(err, "  shard {shard}: {title}");
            }
            EngineEvent::AcceptanceChecked { outcomes, .. } => {
                for o in outcomes {
                    let mark = if o.passed {
                        self.style.green("pass")
                    } else {
                        self.style.red("FAIL")
                    };
                    let detail = o.detail.lines().next().unwrap_or_default();
                    let _ = writeln!(err, "    check {mark} {}: {detail}", o.label);
                }
            }
            EngineEvent::CommandRun { name, record, .. } => {
                let status = match record.status {
                    Some(0) => self.style.green("ok"),
                    Some(code) => self.style.red(&format!("exit {code}")),
                    None => self.style.red("killed"),
                };
                let _ = writeln!(err, "  {name}: `{}` {status}", record.command);
            }
            EngineEvent::BaseFallback { reason, .. } => {
                let _ = writeln!(err, "  {} {reason}", self.style.yellow("note:"));
            }
            EngineEvent::AwaitingApproval { id, gate } => {
                let _ = writeln!(
                    err,
                    "  {} {gate}: `orch approve {gate} --task {id}`, then `orch resume`",
                    self.style.bold("awaiting approval")
                );
            }
            EngineEvent::PhaseRetry {
                seq,
                phase,
                attempt,
                reason,
                delay_ms,
                ..
            } => {
                let _ = writeln!(
                    err,
                    "  {seq:02}-{} {reason}; attempt {attempt} in {:.1}s",
                    phase.name(),
                    *delay_ms as f64 / 1000.0
                );
            }
            EngineEvent::AgentStarted { .. } | EngineEvent::RunFinished { .. } => {}
        }
    }
}

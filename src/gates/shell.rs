//! Running the user's own commands (acceptance checks like `Tests pass: cargo test`, a task's
//! `build`/`deploy` commands) in a task's worktree: `sh -c`, its own process group, output
//! kept in a log file, a timeout, and Ctrl-C honoured like an agent phase.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CommandResult {
    pub command: String,
    /// Exit status; `None` when it was killed (timeout, signal, interrupt) or could not start.
    pub status: Option<i32>,
    pub timed_out: bool,
    pub interrupted: bool,
    /// Why it could not start, if it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spawn_error: Option<String>,
    /// Combined stdout and stderr.
    pub log: PathBuf,
    pub duration_ms: u64,
}

impl CommandResult {
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }

    /// `exit 0`, `exit 2`, `timed out after 30 s`, … for messages.
    pub fn describe(&self, timeout: Duration) -> String {
        match (self.status, &self.spawn_error) {
            (_, Some(e)) => format!("could not start: {e}"),
            (Some(code), _) => format!("exit {code}"),
            (None, _) if self.timed_out => format!("timed out after {} s", timeout.as_secs()),
            (None, _) if self.interrupted => "interrupted".to_owned(),
            (None, _) => "killed by a signal".to_owned(),
        }
    }

    /// The last `lines` lines of its output (from its last 64 KiB), for a fix prompt or a
    /// message.
    pub fn tail(&self, lines: usize) -> String {
        let text = crate::util::fsutil::tail(&self.log, 64 * 1024);
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

/// Runs `command` with `sh -c` in `dir`, output to `log` (created, parents too; redacted
/// once the command ends). The forge's token and the agents' model keys are not in its
/// environment: the user's checks and commands run what the agent wrote.
pub async fn run_shell(
    command: &str,
    dir: &Path,
    log: &Path,
    timeout: Duration,
    cancel: Option<tokio::sync::watch::Receiver<bool>>,
) -> CommandResult {
    run(command, (dir, log), timeout, cancel, false).await
}

/// The same for orch's own push or submit, which may need the forge's token (a git
/// credential helper such as `gh auth git-credential` reads it from the environment); no
/// model key.
pub async fn run_own(
    command: &str,
    dir: &Path,
    log: &Path,
    timeout: Duration,
    cancel: Option<tokio::sync::watch::Receiver<bool>>,
) -> CommandResult {
    run(command, (dir, log), timeout, cancel, true).await
}

async fn run(
    command: &str,
    (dir, log): (&Path, &Path),
    timeout: Duration,
    cancel: Option<tokio::sync::watch::Receiver<bool>>,
    token: bool,
) -> CommandResult {
    let started = Instant::now();
    let mut result = CommandResult {
        command: command.to_owned(),
        status: None,
        timed_out: false,
        interrupted: false,
        spawn_error: None,
        log: log.to_owned(),
        duration_ms: 0,
    };
    let spawned = (|| {
        if let Some(parent) = log.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let out = std::fs::File::create(log)?;
        let err = out.try_clone()?;
        let mut sh = tokio::process::Command::new("sh");
        if !token {
            for var in crate::util::process::FORGE_TOKEN_VARS {
                sh.env_remove(var);
            }
        }
        for var in crate::util::process::AGENT_KEY_VARS {
            sh.env_remove(var);
        }
        sh.arg("-c")
            .arg(command)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
    })();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            result.spawn_error = Some(e.to_string());
            return result;
        }
    };
    let pgid = child.id().map(|p| p as i32);
    tokio::select! {
        status = child.wait() => {
            result.status = status.ok().and_then(|s| s.code());
        }
        _ = tokio::time::sleep(timeout) => {
            result.timed_out = true;
        }
        _ = crate::util::process::cancelled(cancel) => {
            result.interrupted = true;
        }
    }
    if result.timed_out || result.interrupted {
        if let Some(pgid) = pgid {
            crate::util::process::kill_group(pgid, &mut child).await;
        }
    }
    // The command wrote its output straight to the log: redacted now that it has ended.
    crate::util::fsutil::redact_in_place(log);
    result.duration_ms = started.elapsed().as_millis() as u64;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn the_log_is_redacted_once_the_command_ends() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("x.log");
        let r = rt().block_on(run_shell(
            "echo key sk-proj-abcdefghijklmnopqrstuvwx; echo fine >&2",
            dir.path(),
            &log,
            Duration::from_secs(10),
            None,
        ));
        assert_eq!(r.status, Some(0));
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            "key [REDACTED]\nfine\n"
        );
    }

    #[test]
    fn records_status_and_output() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("logs/x.log");
        let r = rt().block_on(run_shell(
            "echo out; echo err >&2; exit 3",
            dir.path(),
            &log,
            Duration::from_secs(30),
            None,
        ));
        assert_eq!(r.status, Some(3));
        assert!(!r.success());
        assert_eq!(r.tail(5), "out\nerr");
    }

    #[test]
    fn a_timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("x.log");
        let marker = dir.path().join("late");
        let cmd = format!("(sleep 2; touch {}) & sleep 30", marker.display());
        let r = rt().block_on(run_shell(
            &cmd,
            dir.path(),
            &log,
            Duration::from_millis(300),
            None,
        ));
        assert!(r.timed_out);
        assert_eq!(r.status, None);
        std::thread::sleep(Duration::from_millis(2500));
        assert!(
            !marker.exists(),
            "the background child survived the timeout"
        );
    }
}

//! Processes: stopping a process group (an agent's, or a user's command) with a grace
//! period. This host's name and whether a process lives are `util::platform`'s.

/// The variables a forge token may sit in: orch reads the first two, and keeps all four out of
/// every agent's environment and the commands that run what an agent wrote.
pub const FORGE_TOKEN_VARS: &[&str] = &[
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
];

/// The variables an agent CLI's model key sits in (a runner has them from the repository's
/// Actions secrets): handed to the agents, and kept out of every command orch runs itself,
/// above all those that run what an agent wrote (checks, verification, set-up).
pub const AGENT_KEY_VARS: &[&str] = &[
    "OPENAI_API_KEY",
    "CODEX_API_KEY",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
];

use std::path::PathBuf;
use std::time::Duration;

/// How long a process group gets between SIGTERM and SIGKILL.
pub const GRACE: Duration = Duration::from_secs(3);

/// Sends `signal` to the process group `pgid` (never to group 0 or 1: "everyone").
pub fn signal_group(pgid: i32, signal: i32) {
    if pgid > 1 {
        // SAFETY: kill(2) has no memory-safety preconditions; a gone group yields ESRCH.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }
}

/// Resolves when `cancel` turns true; never, without a receiver.
pub async fn cancelled(cancel: Option<tokio::sync::watch::Receiver<bool>>) {
    let Some(mut rx) = cancel else {
        return std::future::pending().await;
    };
    while !*rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// SIGTERM the group, give it [`GRACE`], then SIGKILL, and reap the child.
pub async fn kill_group(pgid: i32, child: &mut tokio::process::Child) {
    signal_group(pgid, libc::SIGTERM);
    if tokio::time::timeout(GRACE, child.wait()).await.is_err() {
        signal_group(pgid, libc::SIGKILL);
        let _ = child.wait().await;
    }
    signal_group(pgid, libc::SIGKILL);
}

/// The first `tool` on PATH (orch's own shims are not on orch's PATH, only the agent's).
pub fn find_real(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

/// Lets SIGPIPE end the process, as it does other CLIs (Rust ignores it by default, and a
/// print to a closed pipe then fails instead).
pub fn default_sigpipe() {
    // SAFETY: setting a signal's disposition to its default, before any thread is started
    // that could be writing.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// `s` as one `sh` word: as it is when no character needs quoting, else single-quoted.
pub fn sh_word(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Live processes whose environment holds `NAME=value` exactly (`mark`): what a phase
/// started, also what left its process group (`setsid`, bubblewrap's own session). When the
/// value is an absolute path (the phase's private temp dir), also those whose command line
/// names it or a path under it: codex starts its file helper in bubblewrap with a cleared
/// environment and the temp dir among its mounts, and such helpers were found outliving their
/// phases. Only processes this user may read are seen.
pub fn marked(mark: &str) -> Vec<i32> {
    use super::platform;
    let me = std::process::id() as i32;
    let needle = mark.as_bytes();
    let path = mark
        .split_once('=')
        .map(|(_, v)| v.as_bytes())
        .filter(|v| v.starts_with(b"/") && v.len() > 1);
    let names_path = |pid: i32| {
        let Some(path) = path else { return false };
        platform::cmdline(pid).is_some_and(|cmd| {
            cmd.split(|b| *b == 0).any(|arg| {
                arg.strip_prefix(path)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(b"/"))
            })
        })
    };
    let mut pids: Vec<i32> = platform::pids()
        .into_iter()
        .filter(|&pid| pid != me)
        .filter(|&pid| {
            platform::environ(pid)
                .is_some_and(|env| env.split(|b| *b == 0).any(|var| var == needle))
                || names_path(pid)
        })
        // A zombie is gone already (its parent has yet to reap it).
        .filter(|&pid| platform::stat(pid).is_some_and(|s| !s.is_zombie()))
        .collect();
    pids.sort_unstable();
    pids
}

/// SIGKILLs every live process carrying `mark` (see [`marked`]) until two scans 20 ms apart
/// find none, for up to two seconds; returns every pid it found. (One empty scan is not
/// proof: a process in the middle of an exec has no readable environment for a moment —
/// seen once in CI under load.)
pub fn stop_marked(mark: &str) -> Vec<i32> {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    let mut found: Vec<i32> = Vec::new();
    let mut quiet = 0;
    while quiet < 2 && std::time::Instant::now() < deadline {
        let left = marked(mark);
        quiet = if left.is_empty() { quiet + 1 } else { 0 };
        for pid in left {
            // SAFETY: kill(2) has no memory-safety preconditions; a gone pid yields ESRCH.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
            if !found.contains(&pid) {
                found.push(pid);
            }
        }
        if quiet < 2 {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    found.sort_unstable();
    found
}

#[cfg(test)]
mod tests {
    #[test]
    fn words_are_quoted_only_when_sh_needs_it() {
        assert_eq!(super::sh_word("--verbose"), "--verbose");
        assert_eq!(super::sh_word("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(super::sh_word("it's"), "'it'\\''s'");
        assert_eq!(super::sh_word(""), "''");
        assert_eq!(super::sh_word("{\"a\":1}"), "'{\"a\":1}'");
    }

    #[test]
    fn a_marked_process_that_left_its_group_is_found_and_stopped() {
        let mark = format!("ORCH_PHASE_MARK=test-{}", std::process::id());
        let (name, value) = mark.split_once('=').unwrap();
        // setsid: its own session and group, as bubblewrap makes.
        let mut child = std::process::Command::new("setsid")
            .args(["sleep", "30"])
            .env(name, value)
            .spawn()
            .unwrap();
        // Until it is `sleep` (exec'd by setsid; mid-exec its environment is unreadable).
        let is_sleep =
            || crate::util::platform::name(child.id() as i32).is_some_and(|c| c == "sleep");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while (!is_sleep() || super::marked(&mark).is_empty())
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(super::marked(&mark).len(), 1);
        assert!(
            super::marked(&format!("{mark}x")).is_empty(),
            "exact match only"
        );
        assert_eq!(super::stop_marked(&mark).len(), 1);
        let _ = child.wait();
        assert!(super::marked(&mark).is_empty());
    }

    #[test]
    fn a_process_with_a_cleared_environment_is_found_by_the_path_it_names() {
        let dir = std::env::temp_dir().join(format!("orch-mark-test-{}", std::process::id()));
        let mark = format!("ORCH_PHASE_MARK={}", dir.display());
        // `env -i`: nothing of the mark in its environment; the path in its command line, as
        // codex's bubblewrap'd file helper has it. It waits on a builtin `read` (a loop of
        // `sleep`s would fork copies of itself, the path in their command line too, for an
        // instant before each exec: a second match now and then).
        let mut child = std::process::Command::new("env")
            .args([
                "-i",
                "sh",
                "-c",
                "read line",
                &format!("{}/inside", dir.display()),
            ])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while super::marked(&mark).is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        // A longer name that merely starts with the path is not it.
        assert!(super::marked(&format!("{mark}0")).is_empty());
        assert_eq!(super::stop_marked(&mark), [child.id() as i32]);
        let _ = child.wait();
    }
}

//! What differs between the platforms orch runs on, in one place: how processes are listed
//! and identified, this host's name, and what Claude Code's sandbox needs. Measured on Linux,
//! where `/proc` answers all of it; elsewhere (macOS: no `/proc`, Seatbelt instead of
//! bubblewrap) what cannot be known here is said to be unknown, never guessed.

/// One process as orch needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessStat {
    /// `R`, `S`, `Z`, …: a zombie (`Z`) is gone already.
    pub state: char,
    pub pgid: i32,
    /// When it started, in this platform's ticks: with the pid, who it is.
    pub start_time: u64,
}

impl ProcessStat {
    pub fn is_zombie(&self) -> bool {
        self.state == 'Z'
    }
}

/// The tools Claude Code's sandbox needs on this platform, on PATH.
#[cfg(target_os = "linux")]
pub const CLAUDE_SANDBOX_TOOLS: &[&str] = &["bwrap", "socat"];
/// The tools Claude Code's sandbox needs on this platform, on PATH (macOS: Seatbelt's).
#[cfg(not(target_os = "linux"))]
pub const CLAUDE_SANDBOX_TOOLS: &[&str] = &["sandbox-exec"];

/// How a user gets [`CLAUDE_SANDBOX_TOOLS`].
#[cfg(target_os = "linux")]
pub const CLAUDE_SANDBOX_INSTALL: &str = "install bubblewrap and socat (`apt install bubblewrap socat`; scripts/install-tools.sh puts both in .tools/bin)";
/// How a user gets [`CLAUDE_SANDBOX_TOOLS`].
#[cfg(not(target_os = "linux"))]
pub const CLAUDE_SANDBOX_INSTALL: &str =
    "Seatbelt's `sandbox-exec` ships with macOS in /usr/bin: put it back on PATH";

/// Whether this platform lets orch list processes and read their environments.
pub fn lists_processes() -> bool {
    // Asked per process while a group is scanned: looked at once.
    static LISTS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *LISTS.get_or_init(|| {
        cfg!(target_os = "linux") && std::path::Path::new("/proc/self/stat").exists()
    })
}

/// This host's name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Every process this user can see (empty where they cannot be listed).
pub fn pids() -> Vec<i32> {
    if !lists_processes() {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .collect()
}

/// Whether a process with this pid runs on this machine.
pub fn alive(pid: u32) -> bool {
    if lists_processes() {
        return std::path::Path::new("/proc").join(pid.to_string()).exists();
    }
    // SAFETY: kill(2) with signal 0 only checks; it has no memory-safety preconditions.
    let sent = unsafe { libc::kill(pid as i32, 0) };
    sent == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// A process's state, group and start time.
pub fn stat(pid: i32) -> Option<ProcessStat> {
    if !lists_processes() {
        return None;
    }
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// A process's environment, `NAME=value` entries NUL-separated.
pub fn environ(pid: i32) -> Option<Vec<u8>> {
    lists_processes()
        .then(|| std::fs::read(format!("/proc/{pid}/environ")).ok())
        .flatten()
}

/// A process's command line, arguments NUL-separated.
pub fn cmdline(pid: i32) -> Option<Vec<u8>> {
    lists_processes()
        .then(|| std::fs::read(format!("/proc/{pid}/cmdline")).ok())
        .flatten()
}

/// A process's executable name (the tests' way to tell a process from a reused pid).
#[cfg(test)]
pub fn name(pid: i32) -> Option<String> {
    lists_processes()
        .then(|| std::fs::read_to_string(format!("/proc/{pid}/comm")).ok())
        .flatten()
        .map(|n| n.trim().to_owned())
}

/// Parses Linux's `/proc/<pid>/stat` (the command name, in parentheses, may hold spaces).
fn parse_stat(text: &str) -> Option<ProcessStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command: field 3 (state) is index 0, field 5 (pgrp) index 2, field 22
    // (starttime) index 19.
    Some(ProcessStat {
        state: fields.first()?.chars().next()?,
        pgid: fields.get(2)?.parse().ok()?,
        start_time: fields.get(19)?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_survive_odd_command_names() {
        let line = "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 50";
        assert_eq!(
            parse_stat(line),
            Some(ProcessStat {
                state: 'S',
                pgid: 4242,
                start_time: 987654
            })
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_is_seen() {
        let me = std::process::id();
        assert!(alive(me));
        assert!(pids().contains(&(me as i32)));
        let stat = stat(me as i32).expect("a stat of this process");
        assert!(!stat.is_zombie());
        assert!(environ(me as i32).is_some_and(|e| !e.is_empty()));
    }
}
